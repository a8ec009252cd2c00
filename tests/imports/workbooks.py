"""Excel workbooks for import tests: a plain one of any size, a zip bomb and an XML entity
bomb (built in memory, a few hundred kilobytes each)."""

import io
import zipfile

from openpyxl import Workbook

SHEET = "xl/worksheets/sheet1.xml"


def workbook(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def people(count: int, *, offset: int = 0) -> bytes:
    """A workbook of ``count`` people (Email, First Name, Company)."""
    numbers = range(offset, offset + count)
    return workbook(
        [["Email", "First Name", "Company"]]
        + [[f"p{n}@initech.com", f"Person {n:07d}", "Initech"] for n in numbers]
    )


def _rewritten(content: bytes, parts: dict[str, object]) -> bytes:
    """``content`` with some parts replaced: bytes, or a callable writing to the part."""
    base = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in base.infolist():
            replacement = parts.get(info.filename)
            if replacement is None:
                archive.writestr(info, base.read(info.filename))
            elif callable(replacement):
                with archive.open(info.filename, "w", force_zip64=True) as part:
                    replacement(part)
            else:
                archive.writestr(info.filename, replacement)
    return out.getvalue()


def zip_bomb(expanded: int = 200 * 1024**2) -> bytes:
    """A real workbook whose sheet inflates to ``expanded`` bytes of blanks (about 1,000 to
    1 compressed): openpyxl would stream through all of it, row counting first."""

    def blanks(part) -> None:
        part.write(b'<?xml version="1.0"?>')
        chunk = b" " * 1024**2
        for _ in range(expanded // len(chunk)):
            part.write(chunk)

    return _rewritten(people(1), {SHEET: blanks})


def entity_bomb() -> bytes:
    """A workbook whose sheet declares "billion laughs" entities (10^9 "lol"s)."""
    content = people(1)
    sheet = zipfile.ZipFile(io.BytesIO(content)).read(SHEET)
    declarations = b"".join(
        b'<!ENTITY lol%d "%s">' % (level, (b"&lol%d;" % (level - 1)) * 10) for level in range(1, 10)
    )
    dtd = b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY lol0 "lol">' + declarations + b"]>"
    bomb = dtd + sheet.replace(b"<t>Person 0000000</t>", b"<t>&lol9;</t>")
    return _rewritten(content, {SHEET: bomb})


def broken_after(content: bytes, row: int) -> bytes:
    """``content`` with its sheet cut off inside row ``row``: the rows before it read."""
    sheet = zipfile.ZipFile(io.BytesIO(content)).read(SHEET)
    cut = sheet.index(b'<row r="%d"' % row) + 20
    return _rewritten(content, {SHEET: sheet[:cut]})
