"""Contact exports as files: Excel (write-only openpyxl, via a temporary file) and CSV.

Both apply ``core.exports.spreadsheet_safe`` to text, so a cell such as ``=1+1`` is shown
as text and never run as a formula. The selector ``contacts.selectors.contact_export_rows``
decides the rows; the API, the app and the command line only choose the format.
"""

import tempfile
from collections.abc import Iterable
from typing import IO, Any

from django.http import FileResponse, HttpResponse

from leadflow.core.exports import csv_response, csv_text, spreadsheet_safe

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")


def _xlsx_cell(value: Any) -> Any:
    """Numbers stay numbers; text is made formula-safe and stripped of the control
    characters an .xlsx file cannot hold."""
    # openpyxl is heavy; imported only when a workbook is written.
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return ILLEGAL_CHARACTERS_RE.sub("", spreadsheet_safe(value))


def xlsx_write(rows: Iterable[list[Any]], file: IO[bytes], *, title: str = "Contacts") -> None:
    """Write rows to ``file`` as one .xlsx sheet; memory stays flat (write-only mode)."""
    # openpyxl is heavy; imported only when a workbook is written.
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title)
    for row in rows:
        sheet.append([_xlsx_cell(value) for value in row])
    workbook.save(file)


def csv_write(rows: Iterable[list[Any]], file: IO[str]) -> None:
    """Write rows as CSV with every cell made safe (same cells as ``csv_response``)."""
    for piece in csv_text(rows):
        file.write(piece)


def export_response(rows: Iterable[list[Any]], *, fmt: str, filename: str) -> HttpResponse:
    """A download of ``rows``: CSV streamed as it is read, Excel built in a temporary file
    (an .xlsx is a zip, written whole) then streamed from disk and deleted on close."""
    if fmt == "csv":
        return csv_response(rows, f"{filename}.csv")
    file = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes (and so deletes) it
    try:
        xlsx_write(rows, file)
        file.seek(0)
    except BaseException:
        file.close()
        raise
    return FileResponse(
        file, as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_TYPE
    )
