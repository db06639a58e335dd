"""Tables as downloads: CSV or JSON, streamed a row at a time (a campaign's tokens never sit in memory at once).

``?format=csv`` or ``?format=json`` on a page's own URL answers that page's table: the dashboard's
campaigns, a campaign's token list (the open tab or search, every page of it) or its error tables.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header

FORMATS = ("csv", "json")


class _Line:
    """What ``csv.writer`` writes into: the line it just wrote."""

    def write(self, text: str) -> str:
        return text


# A cell a spreadsheet would run as a formula: a pilot's text must stay text.
_FORMULA_START = re.compile(r"[=+@\t\r]|-(?![0-9.]*$)")


def _cell(value) -> str:
    if value is None:
        return ""
    text = str(value)
    return "'" + text if _FORMULA_START.match(text) else text


def _csv(columns: tuple[str, ...], rows: Iterable[dict]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([_cell(row.get(column)) for column in columns])


def _json(columns: tuple[str, ...], rows: Iterable[dict]) -> Iterator[str]:
    yield "["
    for number, row in enumerate(rows):
        yield ("," if number else "") + "\n" + json.dumps({column: row.get(column) for column in columns})
    yield "\n]\n"


def download(name: str, export_format: str, columns: tuple[str, ...], rows: Iterable[dict]) -> StreamingHttpResponse:
    """``rows`` (dicts with at least ``columns``) as a streamed ``name.csv`` or ``name.json``."""
    stream, content_type = (_csv, "text/csv") if export_format == "csv" else (_json, "application/json")
    response = StreamingHttpResponse(stream(columns, rows), content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"{name}.{export_format}")
    return response
