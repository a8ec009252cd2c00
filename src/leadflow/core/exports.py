"""Streaming CSV answers shared by every export (API and app alike)."""

import csv
import io
import itertools
import re
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A phone number in E.164 (+447911123456) or a plain signed number is data, not a formula
# (the whole text, ASCII digits: the same rule as SPREADSHEET_SAFE_SQL).
PLAIN_NUMBER = re.compile(r"\+[0-9]{6,15}|-?[0-9]+(\.[0-9]+)?")
# spreadsheet_safe in PostgreSQL, for exports the database writes (COPY): {0} is a text
# expression.
SPREADSHEET_SAFE_SQL = (
    r"CASE WHEN left({0}, 1) IN ('=', '+', '-', '@', E'\t', E'\r') "
    r"AND {0} !~ '^(\+[0-9]{{6,15}}|-?[0-9]+(\.[0-9]+)?)$' THEN '''' || {0} ELSE {0} END"
)


def spreadsheet_safe(value: Any) -> str:
    """Text a spreadsheet shows as text, never runs as a formula (CSV injection): cells
    starting with = + - @, a tab or a carriage return get a leading apostrophe, except a
    phone number in E.164 or a plain signed number."""
    if isinstance(value, list):
        value = "; ".join(map(str, value))
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


_FORMULA_FIRST = frozenset("".join(FORMULA_STARTS))


def safe_row(row: Iterable[Any]) -> list[Any]:
    """``spreadsheet_safe`` for every cell, with a fast way through for what it would leave
    as it is (text not starting with a formula character, whole numbers): the CSV writer
    writes those the same."""
    return [
        cell
        if (type(cell) is str and (not cell or cell[0] not in _FORMULA_FIRST)) or type(cell) is int
        else spreadsheet_safe(cell)
        for cell in row
    ]


def safe_rows(rows: Iterable[Iterable[Any]]) -> Iterator[list[Any]]:
    return map(safe_row, rows)


# Rows written per piece of a streamed answer (one piece per row would cost a write each).
STREAM_ROWS = 500


def csv_pieces(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The CSV text of ``rows`` (every cell made safe) in pieces of ``STREAM_ROWS`` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for batch in itertools.batched(safe_rows(rows), STREAM_ROWS):
        writer.writerows(batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def csv_text(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """CSV pieces of ``rows``: the database's own when the rows offer them
    (``rows.csv_pieces()``, cells made safe by SPREADSHEET_SAFE_SQL), else ``csv_pieces``."""
    pieces = rows.csv_pieces() if hasattr(rows, "csv_pieces") else None
    return pieces if pieces is not None else csv_pieces(rows)


def csv_response(rows: Iterable[list[Any]], filename: str) -> StreamingHttpResponse:
    """Stream rows as CSV (UTF-8 with BOM so spreadsheets read accents), every cell made safe."""

    def lines():
        yield "\ufeff"
        yield from csv_text(rows)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
