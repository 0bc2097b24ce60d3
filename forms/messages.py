"""Validation messages and the few interface words of rendered forms, in Vietnamese and English.

Vietnamese is the default; an unknown locale falls back to it. Limits are written into the message
("Tối đa 200 ký tự.") with the locale's decimal separator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

LOCALES = ("vi", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "required": {"vi": "Trường này là bắt buộc.", "en": "This field is required."},
    "min_length": {"vi": "Tối thiểu {limit} ký tự.", "en": "At least {limit} characters."},
    "max_length": {"vi": "Tối đa {limit} ký tự.", "en": "At most {limit} characters."},
    "min": {"vi": "Giá trị nhỏ nhất là {limit}.", "en": "The smallest allowed value is {limit}."},
    "max": {"vi": "Giá trị lớn nhất là {limit}.", "en": "The largest allowed value is {limit}."},
    "pattern": {"vi": "Giá trị không đúng định dạng yêu cầu.", "en": "The value does not have the required format."},
    "email": {"vi": "Địa chỉ email không hợp lệ.", "en": "Enter a valid email address."},
    "phone": {"vi": "Số điện thoại không hợp lệ.", "en": "Enter a valid phone number."},
    "number": {"vi": "Vui lòng nhập một số.", "en": "Enter a number."},
    "integer": {"vi": "Vui lòng nhập số nguyên.", "en": "Enter a whole number."},
    "decimal_digits": {
        "vi": "Tối đa {limit} chữ số sau dấu thập phân.",
        "en": "At most {limit} digits after the decimal point.",
    },
    "increment": {"vi": "Giá trị phải theo bước {limit}.", "en": "The value must be in steps of {limit}."},
    "date": {"vi": "Ngày không hợp lệ.", "en": "Enter a valid date."},
    "time": {"vi": "Giờ không hợp lệ.", "en": "Enter a valid time."},
    "datetime": {"vi": "Ngày giờ không hợp lệ.", "en": "Enter a valid date and time."},
    "past_date": {"vi": "Không được chọn ngày trong quá khứ.", "en": "The date cannot be in the past."},
    "option": {"vi": "Lựa chọn không hợp lệ.", "en": "Choose one of the listed options."},
    "boolean": {"vi": "Giá trị phải là đúng hoặc sai.", "en": "The value must be true or false."},
    "text": {"vi": "Giá trị phải là văn bản.", "en": "The value must be text."},
    "list": {"vi": "Giá trị phải là một danh sách.", "en": "The value must be a list."},
    "row": {"vi": "Mỗi dòng phải là một đối tượng.", "en": "Each row must be an object."},
    "file_type": {"vi": "Chỉ chấp nhận tệp: {limit}.", "en": "Only these file types are accepted: {limit}."},
    "one_file": {"vi": "Chỉ được chọn một tệp.", "en": "Choose only one file."},
}

LABELS: dict[str, dict[str, str]] = {
    "add_row": {"vi": "Thêm dòng", "en": "Add row"},
    "remove_row": {"vi": "Xóa", "en": "Remove"},
    "remove_row_n": {"vi": "Xóa dòng {n}", "en": "Remove row {n}"},
    "row_n": {"vi": "Dòng {n}", "en": "Row {n}"},
    "yes": {"vi": "Có", "en": "Yes"},
    "no": {"vi": "Không", "en": "No"},
    "choose": {"vi": "-- Chọn --", "en": "-- Choose --"},
    "submit": {"vi": "Gửi", "en": "Submit"},
    "reset": {"vi": "Nhập lại", "en": "Reset"},
    "empty": {"vi": "(trống)", "en": "(empty)"},
    "no_rows": {"vi": "Chưa có dòng nào.", "en": "No rows yet."},
    "no_documents": {"vi": "Không có tài liệu.", "en": "No documents."},
    "current_files": {"vi": "Tệp đã có", "en": "Current files"},
    "open_link": {"vi": "Mở trang", "en": "Open page"},
}


@dataclass(frozen=True)
class Refusal:
    """Why a value was refused: a message code and its parameters, or the form's own text."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)
    text: str | None = None


def normalize_locale(locale: str | None) -> str:
    """``"en-US"`` -> ``"en"``; anything we have no messages for -> ``"vi"``."""
    language = (locale or "").replace("_", "-").split("-")[0].lower()
    return language if language in LOCALES else "vi"


def message(problem: Refusal, locale: str) -> str:
    if problem.text:
        return problem.text
    language = normalize_locale(locale)
    params = {name: format_number(value, language) for name, value in problem.params.items()}
    return MESSAGES[problem.code][language].format(**params)


def label(name: str, locale: str, **params: Any) -> str:
    return LABELS[name][normalize_locale(locale)].format(**params)


def labels(locale: str) -> dict[str, str]:
    language = normalize_locale(locale)
    return {name: texts[language] for name, texts in LABELS.items()}


def format_number(value: Any, locale: str) -> str:
    """Numbers as people write them: ``1.500.000,5`` in Vietnamese, ``1,500,000.5`` in English. Numbers of
    four digits are not grouped (a year reads ``2027``, not ``2.027``), as in print."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return str(value)
    try:
        number = Decimal(str(value)).normalize()
    except InvalidOperation:
        return str(value)
    grouping = ",f" if number.is_finite() and abs(number) >= 10_000 else "f"
    text = format(number, grouping) if number.is_finite() else str(value)
    return text.translate(_VIETNAMESE_DIGITS) if normalize_locale(locale) == "vi" else text


_VIETNAMESE_DIGITS = str.maketrans({",": ".", ".": ","})


def format_date(value: str, subtype: str, locale: str) -> str:
    """An ISO date/datetime as read on paper: ``31/12/2025`` and ``31/12/2025 08:30`` in Vietnamese."""
    if normalize_locale(locale) != "vi" or subtype == "time":
        return value
    try:
        if subtype == "date":
            return date.fromisoformat(value).strftime("%d/%m/%Y")
        return datetime.fromisoformat(value).strftime("%d/%m/%Y %H:%M")
    except ValueError:
        return value
