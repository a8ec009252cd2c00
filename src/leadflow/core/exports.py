"""Streaming CSV answers shared by every export (API and app alike)."""

import csv
import re
from collections.abc import Iterable
from typing import Any

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A phone number in E.164 (+447911123456) or a plain signed number is data, not a formula.
PLAIN_NUMBER = re.compile(r"^(\+\d{6,15}|-?\d+(\.\d+)?)$")


def spreadsheet_safe(value: Any) -> str:
    """Text a spreadsheet shows as text, never runs as a formula (CSV injection): cells
    starting with = + - @, a tab or a carriage return get a leading apostrophe, except a
    phone number in E.164 or a plain signed number."""
    if isinstance(value, list):
        value = "; ".join(map(str, value))
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def safe_row(row: Iterable[Any]) -> list[str]:
    return [spreadsheet_safe(cell) for cell in row]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(rows: Iterable[list[Any]], filename: str) -> StreamingHttpResponse:
    """Stream rows as CSV (UTF-8 with BOM so spreadsheets read accents), every cell made safe."""
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff"
        for row in rows:
            yield writer.writerow(safe_row(row))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
