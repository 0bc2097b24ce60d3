"""Register exports open in a spreadsheet as the register page shows them, and never run a formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from openpyxl import load_workbook

from webapp.exports import export_response

COLUMNS = [("code", "Mã"), ("title", "Nội dung"), ("due", "Hạn"), ("at", "Lúc"), ("score", "Điểm"), ("tags", "Nhãn")]
ROWS = [
    {"code": "NC-01", "title": "Thiếu hồ sơ lưu trữ", "due": date(2027, 1, 5),
     "at": datetime(2026, 12, 5, 1, 30, tzinfo=UTC), "score": 12, "tags": ["vp", "qlkh"]},
    {"code": "NC-02", "title": "=HYPERLINK(\"http://x\")", "due": None, "at": None, "score": 3.5, "tags": []},
]  # fmt: skip


def test_csv_keeps_vietnamese_dates_as_read_and_formulas_as_text(app: Flask) -> None:
    with app.test_request_context():
        response = export_response("su-khong-phu-hop", COLUMNS, ROWS, "csv")
    assert response.headers["Content-Disposition"] == 'attachment; filename="su-khong-phu-hop.csv"'
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["Mã", "Nội dung", "Hạn", "Lúc", "Điểm", "Nhãn"]
    assert rows[1] == ["NC-01", "Thiếu hồ sơ lưu trữ", "05/01/2027", "05/12/2026 08:30", "12", "vp; qlkh"]
    assert rows[2][1] == "'=HYPERLINK(\"http://x\")" and rows[2][2:4] == ["", ""]


def test_xlsx_holds_the_same_cells_and_text_is_never_a_formula(app: Flask) -> None:
    with app.test_request_context():
        response = export_response("su-khong-phu-hop", COLUMNS, ROWS, "xlsx")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1] == ["NC-01", "Thiếu hồ sơ lưu trữ", "05/01/2027", "05/12/2026 08:30", 12, "vp; qlkh"]
    formula_like = sheet.cell(row=3, column=2)
    assert formula_like.value == "=HYPERLINK(\"http://x\")" and formula_like.data_type == "s"


def test_an_unknown_format_is_refused_by_name(app: Flask) -> None:
    from werkzeug.exceptions import BadRequest

    with app.test_request_context(), pytest.raises(BadRequest, match="pdf"):
        export_response("x", COLUMNS, ROWS, "pdf")
