"""Register exports: the rows a register page shows, as CSV or as an Excel workbook (XLSX, openpyxl).

Every register (``webapp/blueprints/iso/``) exports through ``export_response``: it hands over its column
headings (already translated), its rows as dicts and the format the person asked for. CSV carries a byte
order mark so that Excel opens Vietnamese text correctly; dates are written dd/mm/yyyy as on the pages,
moments in Hà Nội time. A text that starts like a formula (``=``, ``+``, ``-``, ``@``) stays text: a cell typed
as text in the workbook, a leading apostrophe in CSV, so an exported register never runs anything in the
spreadsheet that opens it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response
from werkzeug.exceptions import BadRequest

FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """A value as a register shows it: dates dd/mm/yyyy, moments dd/mm/yyyy HH:MM in Hà Nội, lists joined."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        moment = value.astimezone(LOCAL) if value.tzinfo else value
        return moment.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, list | tuple):
        return "; ".join(str(cell(v)) for v in value)
    return str(value)


def _safe_text(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export_response(name: str, columns: Sequence[tuple[str, str]], rows: Iterable[Mapping[str, Any]],
                    fmt: str) -> Response:  # fmt: skip
    """``columns``: (key in each row, heading). ``name``: the file name without its extension."""
    if fmt not in FORMATS:
        raise BadRequest(f"Unknown export format '{fmt}'; use csv or xlsx.")
    table = [[cell(row.get(key)) for key, _ in columns] for row in rows]
    headings = [heading for _, heading in columns]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(headings)
        writer.writerows([[_safe_text(value) for value in values] for values in table])
        body = ("\ufeff" + out.getvalue()).encode("utf-8")
        mimetype = "text/csv; charset=utf-8"
    else:
        body = _xlsx(name, headings, table)
        mimetype = XLSX_TYPE
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def _xlsx(name: str, headings: list[str], table: list[list[Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=name[:31] or "eISO")

    def cells(values: list[Any]) -> list[Any]:
        out = []
        for value in values:
            written = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                written.data_type = "s"  # text stays text: a leading '=' is never read as a formula
            out.append(written)
        return out

    sheet.append(cells(list(headings)))
    for values in table:
        sheet.append(cells(values))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
