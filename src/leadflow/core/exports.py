"""Streaming CSV answers shared by every export (API and app alike)."""

import csv
from collections.abc import Iterable
from typing import Any

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> str:
    """Text a spreadsheet shows as text, never runs as a formula (CSV injection): cells
    starting with = + - @, a tab or a carriage return get a leading apostrophe."""
    if isinstance(value, list):
        value = "; ".join(map(str, value))
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(rows: Iterable[list[Any]], filename: str) -> StreamingHttpResponse:
    """Stream rows as CSV (UTF-8 with BOM so spreadsheets read accents), every cell made safe."""
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff"
        for row in rows:
            yield writer.writerow([spreadsheet_safe(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
