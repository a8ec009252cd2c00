"""Reading contact files for import: CSV (any usual encoding and delimiter) and Excel (.xlsx).

Both give a ``SourceFile``: the header row and an iterator over the data rows as lists of
text, so the rest of the import never knows which format it read. Blank rows are not rows.
Cells are text, never evaluated: a CSV cell "=1+1" stays "=1+1"; an Excel cell's stored
value is read (``data_only``), dates as ISO text, whole numbers without a ".0". NUL
characters are removed from cells: they are never part of a contact's data, and PostgreSQL
text cannot hold them.

Uploads are kept under ``imports_dir()`` (``stored_copy``, ``uploaded_file_path``).

A workbook is untrusted input: before openpyxl reads it, its zip directory must promise no
more than ``XLSX_MAX_EXPANDED`` bytes in all (``XLSX_MAX_SHARED_STRINGS`` for the shared
strings, which openpyxl holds in memory) and no part over 1 MiB expanding more than
``XLSX_MAX_RATIO`` times (real sheets expand 5 to 20 times, zip bombs a thousand); Python's
zipfile never inflates a part beyond its declared size. The XML is parsed by defusedxml
(openpyxl uses it when installed), so a DTD's entities are refused, not expanded. Every
problem reading a workbook is a ``ValidationFailed`` on "file", never a server error.
"""

import contextlib
import csv
import datetime
import io
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from defusedxml import DefusedXmlException
from django.conf import settings

from leadflow.core.errors import FieldError, ValidationFailed

DELIMITERS = ",;\t|"
XLSX_MAGIC = b"PK\x03\x04"  # an .xlsx file is a zip archive
FORMATS = ("csv", "xlsx")
XLSX_MAX_EXPANDED = 2 * 1024**3  # every part of a workbook, inflated
XLSX_MAX_SHARED_STRINGS = 256 * 1024**2  # the shared strings part, held in memory
XLSX_MAX_RATIO = 100  # inflated / compressed size of a part over 1 MiB
XLSX_MAX_PARTS = 10_000


class SourceFile(Protocol):
    headers: list[str]
    kind: str

    def rows(self) -> Iterator[list[str]]: ...


# A cell may be as long as the file (uploads are capped by LEADFLOW_MAX_UPLOAD_BYTES): the
# csv module's default limit (128 KiB) would fail the whole file over one long cell; cleaning
# then reports a value too long for its field like any other bad value.
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))


def _decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        with contextlib.suppress(UnicodeDecodeError):
            return raw.decode("utf-16")
    if raw[:200].count(b"\x00") > len(raw[:200]) // 4:  # UTF-16 without a BOM, or NULs
        with contextlib.suppress(UnicodeDecodeError):
            return raw.decode("utf-16-le" if raw[1:2] == b"\x00" else "utf-16-be")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _without_nul(text: str) -> str:
    return text.replace("\x00", "") if "\x00" in text else text


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


def _unreadable(reason: str) -> ValidationFailed:
    return ValidationFailed([FieldError("file", f"Cannot read the Excel file: {reason}")])


def xlsx_check(path: str | Path) -> None:
    """ValidationFailed("file") unless the workbook's zip directory stays within the limits
    (see the module's docstring); reads the directory only, never a part."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise _unreadable(f"{error}.") from None
    if len(parts) > XLSX_MAX_PARTS:
        raise _unreadable(f"it has {len(parts):,} parts (at most {XLSX_MAX_PARTS:,}).")
    expanded = 0
    for part in parts:
        expanded += part.file_size
        if part.file_size > 1024**2 and part.file_size > XLSX_MAX_RATIO * max(
            part.compress_size, 1
        ):
            raise _unreadable(
                f"{part.filename} expands {part.file_size // max(part.compress_size, 1):,} "
                f"times (at most {XLSX_MAX_RATIO}): it looks like a zip bomb."
            )
        if part.filename.lower().endswith("sharedstrings.xml") and (
            part.file_size > XLSX_MAX_SHARED_STRINGS
        ):
            raise _unreadable(
                f"its shared strings take {part.file_size // 1024**2:,} MiB "
                f"(at most {XLSX_MAX_SHARED_STRINGS // 1024**2:,}); save it as CSV."
            )
    if expanded > XLSX_MAX_EXPANDED:
        raise _unreadable(
            f"it expands to {expanded // 1024**2:,} MiB (at most "
            f"{XLSX_MAX_EXPANDED // 1024**2:,}); save it as CSV or split it."
        )


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
    return _without_nul(str(value))


@dataclass
class XlsxFile:
    """The first worksheet of an .xlsx workbook, read in openpyxl's streaming mode."""

    path: Path
    headers: list[str]
    kind: str = "xlsx"

    def _sheet_rows(self) -> Iterator[list[str]]:
        """The sheet's rows; a workbook openpyxl cannot read (a broken or hostile part, an
        XML entity) is a ValidationFailed("file") wherever the reading stops."""
        # openpyxl is heavy; imported only when a workbook is read.
        import openpyxl
        from openpyxl import load_workbook

        if not openpyxl.DEFUSEDXML:  # OPENPYXL_DEFUSEDXML=False in the environment
            raise _unreadable("Excel files are read only with defusedxml enabled.")
        # An open file, not a path: openpyxl refuses paths not ending in .xlsx, and an
        # upload's temporary copy ends in ".upload".
        with open(self.path, "rb") as file:
            try:
                workbook = load_workbook(file, read_only=True, data_only=True)
                rows = workbook.worksheets[0].iter_rows(values_only=True)
            except Exception as error:  # any failure of openpyxl is the file's
                raise _unreadable(_reason(error, self.path)) from None
            try:
                while True:
                    try:
                        values = next(rows, None)
                    except Exception as error:  # as above
                        raise _unreadable(_reason(error, self.path)) from None
                    if values is None:
                        return
                    yield [_xlsx_text(value) for value in values]
            finally:
                workbook.close()

    def rows(self) -> Iterator[list[str]]:
        rows = self._sheet_rows()
        next(rows, None)
        for row in rows:
            if any(cell.strip() for cell in row):
                yield row


def _reason(error: Exception, path: Path) -> str:
    """Why openpyxl could not read a workbook, without the server's path to the file."""
    cause: BaseException | None = error
    while cause is not None:  # openpyxl wraps a parser's error in its own
        if isinstance(cause, DefusedXmlException):
            return "it declares XML entities, which Excel never writes (an XML bomb?)."
        cause = cause.__cause__ or cause.__context__
    if isinstance(error, IndexError):
        return "it has no worksheet."
    text = str(error).replace(str(path), "the file").replace(path.name, "the file")
    text = text.strip().rstrip(".") or type(error).__name__
    return f"{text[:200]}."


def csv_open(path: str | Path) -> CsvFile:
    """Read and decode a CSV file; ValidationFailed("file") when it has no header row."""
    try:
        text = _decode(Path(path).read_bytes())
    except OSError as error:
        raise ValidationFailed(
            [FieldError("file", f"Cannot read the file: {error.strerror}.")]
        ) from None
    text = _without_nul(text).replace("\r\n", "\n").replace("\r", "\n")
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    headers = [header.strip() for header in next(reader, [])]
    if not any(headers):
        raise _no_header()
    return CsvFile(headers=headers, delimiter=delimiter, text=text)


def xlsx_open(path: str | Path) -> XlsxFile:
    """Open an .xlsx workbook's first sheet; ValidationFailed("file") when it cannot be read
    or has no header row."""
    path = Path(path)
    xlsx_check(path)
    file = XlsxFile(path=path, headers=[])
    with contextlib.closing(file._sheet_rows()) as rows:
        header = next(rows, [])
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


# --- where uploads are kept ----------------------------------------------------------------


def imports_dir() -> Path:
    """Where uploaded files are kept: ``LEADFLOW_DATA_DIR/uploads/imports/``."""
    path = Path(settings.DATA_DIR) / "uploads" / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def stored_copy(path: str | Path, kind: str) -> Path:
    """A copy of the file at ``path`` among the kept uploads, the import reads from there."""
    stored = imports_dir() / f"{uuid.uuid4().hex}.{kind}"
    shutil.copyfile(path, stored)
    return stored


@contextlib.contextmanager
def uploaded_file_path(upload) -> Iterator[str]:
    """A path to read an uploaded file from: Django's own temporary file for a large upload,
    else a copy of the small in-memory one, deleted afterwards (``import_upload`` keeps its
    own copy)."""
    if hasattr(upload, "temporary_file_path"):
        yield upload.temporary_file_path()
        return
    with tempfile.NamedTemporaryFile(dir=imports_dir(), suffix=".upload", delete=False) as out:
        for chunk in upload.chunks():
            out.write(chunk)
    try:
        yield out.name
    finally:
        Path(out.name).unlink(missing_ok=True)
