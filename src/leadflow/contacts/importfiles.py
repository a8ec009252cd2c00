"""Reading contact files for import: CSV (any usual encoding and delimiter) and Excel (.xlsx).

Both give a ``SourceFile``: the header row and an iterator over the data rows as lists of
text, so the rest of the import never knows which format it read. Blank rows are not rows.
Cells are text, never evaluated: a CSV cell "=1+1" stays "=1+1"; an Excel cell's stored
value is read (``data_only``), dates as ISO text, whole numbers without a ".0".
"""

import csv
import datetime
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from leadflow.core.errors import FieldError, ValidationFailed

DELIMITERS = ",;\t|"
XLSX_MAGIC = b"PK\x03\x04"  # an .xlsx file is a zip archive
FORMATS = ("csv", "xlsx")


class SourceFile(Protocol):
    headers: list[str]
    kind: str

    def rows(self) -> Iterator[list[str]]: ...


def _decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    if raw[:200].count(b"\x00") > len(raw[:200]) // 4:  # UTF-16 without a BOM
        return raw.decode("utf-16-le" if raw[1:2] == b"\x00" else "utf-16-be")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _delimiter(text: str) -> str:
    sample = text[:65536]
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first = sample.split("\n", 1)[0]
        counts = {mark: first.count(mark) for mark in DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _no_header() -> ValidationFailed:
    return ValidationFailed([FieldError("file", "The file is empty or has no header row.")])


@dataclass
class CsvFile:
    headers: list[str]
    delimiter: str
    text: str
    kind: str = "csv"

    def rows(self) -> Iterator[list[str]]:
        """Data rows after the header; blank lines are not rows."""
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)
        next(reader, None)
        for row in reader:
            if any(cell.strip() for cell in row):
                yield row


def _xlsx_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


@dataclass
class XlsxFile:
    """The first worksheet of an .xlsx workbook, read in openpyxl's streaming mode."""

    path: Path
    headers: list[str]
    kind: str = "xlsx"

    def _sheet_rows(self) -> Iterator[list[str]]:
        from openpyxl import load_workbook

        workbook = load_workbook(self.path, read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            for values in sheet.iter_rows(values_only=True):
                yield [_xlsx_text(value) for value in values]
        finally:
            workbook.close()

    def rows(self) -> Iterator[list[str]]:
        rows = self._sheet_rows()
        next(rows, None)
        for row in rows:
            if any(cell.strip() for cell in row):
                yield row


def csv_open(path: str | Path) -> CsvFile:
    """Read and decode a CSV file; ValidationFailed("file") when it has no header row."""
    try:
        text = _decode(Path(path).read_bytes()).replace("\r\n", "\n").replace("\r", "\n")
    except OSError as error:
        raise ValidationFailed(
            [FieldError("file", f"Cannot read the file: {error.strerror}.")]
        ) from None
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    headers = [header.strip() for header in next(reader, [])]
    if not any(headers):
        raise _no_header()
    return CsvFile(headers=headers, delimiter=delimiter, text=text)


def xlsx_open(path: str | Path) -> XlsxFile:
    """Open an .xlsx workbook's first sheet; ValidationFailed("file") when it cannot be read
    or has no header row."""
    from zipfile import BadZipFile

    path = Path(path)
    file = XlsxFile(path=path, headers=[])
    try:
        header = next(file._sheet_rows(), [])
    except (BadZipFile, KeyError, OSError, ValueError) as error:
        raise ValidationFailed(
            [FieldError("file", f"Cannot read the Excel file: {error}.")]
        ) from None
    while header and not header[-1].strip():
        header.pop()  # trailing empty cells of a formatted row
    file.headers = [cell.strip() for cell in header]
    if not any(file.headers):
        raise _no_header()
    return file


def source_open(path: str | Path) -> SourceFile:
    """A CSV or .xlsx file, told apart by its first bytes (not by its name)."""
    try:
        with open(path, "rb") as file:
            magic = file.read(4)
    except OSError as error:
        raise ValidationFailed(
            [FieldError("file", f"Cannot read the file: {error.strerror}.")]
        ) from None
    if magic == XLSX_MAGIC:
        return xlsx_open(path)
    return csv_open(path)
