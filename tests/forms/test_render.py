from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader

from forms import Form, load_form_js, render_form_html
from forms.render import TEMPLATES

from .factories import CORPUS, FIXTURES, PLAN_DATA, TODAY, fake_feel, load, parse_html, plan_post

FORM_FILES = [CORPUS / "start-form.form", CORPUS / "task-form.form", *sorted(FIXTURES.glob("*.form"))]

DISPLAY_DATA: dict[str, Any] = {
    "applicant": {"name": "Nguyễn <b>Văn</b> An"},
    "dossierCode": "000.00.01.H22-250602-0001",
    "history": [
        {"step": "Tiếp nhận", "actor": {"name": "Trần Thị Lan"}, "result": "Đúng hạn"},
        {"step": "Thẩm định", "actor": {"name": "Lê Minh"}, "result": "Trễ hạn"},
    ],
    "fees": [{"kind": "Lệ phí", "amount": 50000}],
    "feeColumns": [{"label": "Loại", "key": "kind"}, {"label": "Số tiền", "key": "amount"}],
    "documents": [
        {"documentId": "u1", "endpoint": "https://vanban.gov.vn/u1", "metadata": {"fileName": "QĐ 123.pdf"}},
        {"name": "Tờ trình", "url": "javascript:alert(1)"},
    ],
}


def page_of(form: Form, values: Any, errors: Any = None, **options: Any) -> Any:
    options.setdefault("evaluate", fake_feel)
    return parse_html(render_form_html(form, values, errors or {}, **options))


@pytest.mark.parametrize("path", FORM_FILES, ids=lambda path: path.name)
def test_every_input_has_an_id_and_a_label(path: Path) -> None:
    form = load(path)
    page = page_of(form, form.initial_values({}))

    controls = page.xpath("//input[not(@type='hidden')] | //select | //textarea")
    ids = [control.get("id") for control in controls]
    assert controls and all(ids) and len(set(ids)) == len(ids)
    for control_id in ids:
        assert page.xpath(f"//label[@for='{control_id}']/text()"), control_id


@pytest.mark.parametrize("path", FORM_FILES, ids=lambda path: path.name)
def test_every_error_is_shown_next_to_its_input(path: Path) -> None:
    form = load(path)
    result = form.validate_post({}, {}, evaluate=fake_feel, today=TODAY)
    assert result.errors, "each form has required fields"

    page = page_of(form, result.raw, result.errors)

    for name, text in result.errors.items():
        inputs = page.xpath(f"//*[@name='{name}']")
        assert inputs, name
        for control in inputs:
            error_id = control.get("aria-describedby").split()[-1]
            assert control.get("aria-invalid") == "true"
            error = page.xpath(f"//p[@id='{error_id}']")[0]
            assert (error.text, error.get("role"), error.get("class")) == (text, "alert", "field-error")
            # "Next to": inside the same field wrapper as the input.
            assert error.getparent() is control.xpath("ancestor::*[contains(@class, 'form-field')][1]")[0]


def test_required_fields_are_marked(plan_form: Form) -> None:
    page = page_of(plan_form, plan_form.initial_values(PLAN_DATA), data=PLAN_DATA)

    title = page.xpath("//input[@name='title']")[0]
    assert title.get("aria-required") == "true"
    assert page.xpath("//label[@for='f-title']/span[@class='required-marker']/text()") == ["*"]
    assert page.xpath("//input[@name='contact.phone']")[0].get("aria-required") is None


def test_layout_rows_and_columns(plan_form: Form) -> None:
    page = page_of(plan_form, plan_form.initial_values(PLAN_DATA), data=PLAN_DATA)

    row = page.xpath("//input[@name='unitName']/ancestor::div[@class='form-row'][1]")[0]
    assert row.xpath(".//input/@name") == ["unitName", "documentCode"]
    assert row.xpath("./div/@class") == ["form-field field-textfield col-8"] * 2
    dates = page.xpath("//input[@name='deadline']/ancestor::div[@class='form-row'][1]/div/@class")
    assert [css.split()[-1] for css in dates] == ["col-6", "col-4", "col-6"]


def test_inputs_get_the_right_html_types_and_values(plan_form: Form) -> None:
    result = plan_form.validate_post(plan_post(), PLAN_DATA, evaluate=fake_feel, today=TODAY)
    page = page_of(plan_form, result.values, data=PLAN_DATA)

    def attribute(name: str, attribute: str) -> str:
        return str(page.xpath(f"//*[@name='{name}']/@{attribute}")[0])

    assert attribute("contact.email", "type") == "email"
    assert attribute("contact.phone", "type") == "tel"
    assert (attribute("deadline", "type"), attribute("deadline", "value")) == ("date", "2025-12-31")
    assert attribute("kickoffTime", "type") == "time"
    assert (attribute("reviewAt", "type"), attribute("reviewAt", "value")) == ("datetime-local", "2025-06-15T14:00")
    assert (attribute("targetRate", "inputmode"), attribute("targetRate", "value")) == ("decimal", "95.5")
    assert attribute("title", "maxlength") == "200"
    assert page.xpath("//select[@name='department']/option[@selected]/text()") == ["Văn phòng Sở"]
    assert page.xpath("//input[@name='standards'][@checked]/@value") == ["iso9001", "iso27001"]
    assert page.xpath("//select[@name='tags']/@multiple")
    assert page.xpath("//input[@name='confirmed']/@checked")


def test_options_from_data_are_rendered(plan_form: Form) -> None:
    page = page_of(plan_form, plan_form.initial_values(PLAN_DATA), data=PLAN_DATA)

    assert page.xpath("//select[@name='department']/option/text()") == ["-- Chọn --", "Văn phòng Sở", "Phòng Bưu chính"]
    assert page.xpath("//select[@name='tags']/option/@value") == ["cai-cach", "cds"]


def test_readonly_field_shows_the_stored_value_not_the_posted_one(plan_form: Form) -> None:
    posted = plan_form.validate_post(
        plan_post({"unitName": ["Giả mạo"], "title": [""]}), PLAN_DATA, evaluate=fake_feel, today=TODAY
    )
    page = page_of(plan_form, posted.raw, posted.errors, data=PLAN_DATA)

    unit = page.xpath("//input[@name='unitName']")[0]
    assert unit.get("value") == "Sở Thông tin và Truyền thông"
    assert unit.get("readonly") is not None


def test_hidden_fields_wait_in_the_page_and_vanish_from_records(plan_form: Form) -> None:
    values = plan_form.validate_post(plan_post(), PLAN_DATA, evaluate=fake_feel, today=TODAY).values

    editing = page_of(plan_form, values, data=PLAN_DATA)
    record = page_of(plan_form, values, data=PLAN_DATA, readonly=True)

    wrapper = editing.xpath("//textarea[@name='returnReason']/ancestor::div[1]")[0]
    assert wrapper.get("hidden") is not None
    assert "Lý do trả lại" not in record.text_content()


def test_readonly_mode_reads_like_a_record(plan_form: Form) -> None:
    values = plan_form.validate_post(plan_post(), PLAN_DATA, evaluate=fake_feel, today=TODAY).values

    page = page_of(plan_form, values, data=PLAN_DATA, readonly=True)
    english = page_of(plan_form, values, data=PLAN_DATA, readonly=True, locale="en")

    assert not page.xpath("//input | //select | //textarea | //button")
    shown = dict(
        zip(
            page.xpath("//div[@class='field-label']/text()"),
            page.xpath("//div[contains(@class, 'field-value')]"),
            strict=True,
        )
    )
    assert shown["Hạn hoàn thành"].text == "31/12/2025"
    assert shown["Kinh phí (đồng)"].text == "150.000.000"
    assert shown["Tỷ lệ hồ sơ đúng hạn (%)"].text == "95,5"
    assert shown["Phòng chủ trì"].text == "Văn phòng Sở"
    assert shown["Tiêu chuẩn áp dụng"].text == "TCVN ISO 9001:2015, TCVN ISO/IEC 27001:2019"
    assert shown["Tôi xác nhận thông tin trên là chính xác"].text == "Có"
    assert "Yes" in english.text_content() and "1,500" not in english.text_content()
    assert page.xpath("//fieldset[@id='f-plan-objectives--1']/legend/text()") == ["Dòng 2"]


def test_text_is_markdown_with_escaped_data_and_no_scripts(display_form: Form) -> None:
    page = page_of(display_form, display_form.initial_values(DISPLAY_DATA), data=DISPLAY_DATA)

    text = page.xpath("//div[@id='c-Text_greeting']")[0]
    assert text.xpath("./h2/text()") == ["Hồ sơ của Nguyễn <b>Văn</b> An"]  # the data's tags stay text
    assert text.xpath(".//em/text()") == ["kỹ"]
    assert not page.xpath("//script")
    assert "alert" not in text.text_content()


def test_html_component_is_sanitised(display_form: Form) -> None:
    page = page_of(display_form, {}, data=DISPLAY_DATA)

    html = page.xpath("//div[@id='c-Html_guide']")[0]
    assert html.xpath(".//a/@href") == ["https://isoquocgia.vn/huong-dan"]
    assert "Mã: 000.00.01.H22-250602-0001" in html.text_content()
    assert "steal" not in html.text_content()


def test_images_links_and_iframes_only_point_to_safe_places(display_form: Form) -> None:
    page = page_of(display_form, {}, data=DISPLAY_DATA)

    assert page.xpath("//img/@src") == ["https://isoquocgia.vn/logo.png"]
    assert page.xpath("//img/@alt") == ["Biểu trưng ISO điện tử"]
    assert page.xpath("//figure[@id='c-Image_bad']/figcaption/text()") == ["Ảnh không an toàn"]
    assert not page.xpath("//iframe")
    assert page.xpath("//p[@id='c-Iframe_portal']/a/@href") == ["https://dichvucong.gov.vn/"]
    assert not page.xpath("//p[@id='c-Iframe_bad']/a")
    assert not [href for href in page.xpath("//@href | //@src") if "javascript" in href]


def test_tables_and_document_lists_come_from_data(display_form: Form) -> None:
    page = page_of(display_form, {}, data=DISPLAY_DATA)

    history = page.xpath("//div[@id='c-Table_history']/table")[0]
    assert history.xpath("./caption/text()") == ["Quá trình xử lý"]
    assert history.xpath(".//th/text()") == ["Bước", "Người xử lý", "Kết quả"]
    assert history.xpath(".//tbody/tr[2]/td/text()") == ["Thẩm định", "Lê Minh", "Trễ hạn"]
    assert page.xpath("//div[@id='c-Table_fees']//tbody/tr/td/text()") == ["Lệ phí", "50.000"]
    documents = page.xpath("//section[@id='c-Documents_attached']")[0]
    assert documents.xpath(".//h3/text()") == ["Tài liệu đính kèm"]
    assert documents.xpath(".//a/@href") == ["https://vanban.gov.vn/u1"]
    assert documents.xpath(".//li/descendant-or-self::text()") == ["QĐ 123.pdf", "Tờ trình"]


def test_filepicker_and_buttons(display_form: Form, plan_form: Form) -> None:
    page = page_of(display_form, {"attachments": ["to-trinh.pdf"]}, data=DISPLAY_DATA)

    picker = page.xpath("//input[@type='file'][@name='attachments']")[0]
    assert picker.get("multiple") is not None and picker.get("accept") == ".pdf,.docx"
    assert page.xpath("//ul[@class='current-files']/li/text()") == ["to-trinh.pdf"]
    assert page.xpath("//input[@name='scan']/@multiple") == []
    assert page.xpath("//button[@class='form-button']/@type") == ["reset"]
    assert display_form.has_files and not display_form.has_submit_button
    submit = page_of(plan_form, {}).xpath("//button[@class='form-button']")[0]
    assert (submit.get("type"), submit.get("value"), submit.text) == ("submit", "submit", "Gửi duyệt")


def test_labels_can_be_templates_and_feel() -> None:
    form = load_form_js(
        {
            "components": [
                {"type": "textfield", "key": "a", "label": "Ý kiến của {{ role }}"},
                {"type": "textfield", "key": "b", "label": "=upper"},
            ]
        }
    )

    page = parse_html(render_form_html(form, {}, {}, data={"role": "<Trưởng phòng>"}, evaluate=lambda e, v: "FEEL"))

    assert page.xpath("//label/text()") == ["Ý kiến của <Trưởng phòng>", "FEEL"]


def test_english_interface_words(plan_form: Form) -> None:
    page = page_of(plan_form, plan_form.initial_values(PLAN_DATA), locale="en")

    assert page.xpath("//button[@class='row-add']/text()")[-1] == "Add row"
    assert page.xpath("//select[@name='priority']/option[1]/text()") == ["-- Choose --"]


def test_the_macro_works_from_another_jinja_environment(plan_form: Form) -> None:
    # The web app adds forms/templates to its own loader and imports the macro.
    app_env = Environment(loader=FileSystemLoader([str(TEMPLATES)]), autoescape=True)
    page_template = app_env.from_string(
        '{% from "forms/macros.html" import render_form %}'
        '<form method="post">{{ render_form(form, values, {}) }}</form>'
    )

    html = page_template.render(form=plan_form, values=plan_form.initial_values(PLAN_DATA))

    assert parse_html(html).xpath("//form//input[@name='title']")


def test_a_data_value_cannot_become_a_script_link() -> None:
    from forms import load_form_js, render_form_html

    form = load_form_js({"type": "default", "id": "x", "components": [
        {"type": "text", "id": "t", "text": "[Mở hồ sơ]({{link}}) và <a href=\"{{link}}\">đây</a>"}]})  # fmt: skip
    html = str(render_form_html(form, {}, {}, data={"link": "javascript:alert(document.cookie)"}))
    assert "javascript:" not in html and "Mở hồ sơ" in html
    safe = str(render_form_html(form, {}, {}, data={"link": "https://dichvucong.gov.vn/h/1"}))
    assert 'href="https://dichvucong.gov.vn/h/1"' in safe


def test_a_year_reads_as_written_and_large_amounts_are_grouped() -> None:
    from forms.messages import format_number

    assert format_number(2027, "vi") == "2027" and format_number(2027, "en") == "2027"
    assert format_number(12_500, "vi") == "12.500" and format_number(12_500, "en") == "12,500"
    assert format_number(1_500_000.5, "vi") == "1.500.000,5" and format_number(2.5, "vi") == "2,5"


def test_prefix_and_suffix_adorners_stand_beside_the_input_and_beside_the_stored_value() -> None:
    form = load_form_js({"type": "default", "components": [
        {"type": "number", "key": "fee", "label": "Lệ phí", "appearance": {"prefixAdorner": "VNĐ"}},
        {"type": "textfield", "key": "share", "label": "Tỷ lệ", "appearance": {"suffixAdorner": "%"}},
        {"type": "textfield", "key": "plain", "label": "Ghi chú"},
    ]})  # fmt: skip
    page = page_of(form, {"fee": 50000, "share": "95", "plain": "x"})
    fee = page.xpath("//input[@name='fee']")[0]
    assert [s.text for s in fee.getparent().xpath("span[@class='adorner']")] == ["VNĐ"]
    assert fee.getprevious().text == "VNĐ"  # before the input
    share = page.xpath("//input[@name='share']")[0]
    assert share.getnext().text == "%"  # after it
    assert page.xpath("//input[@name='plain']/parent::div[@class='adorned']") == []
    shown = page_of(form, {"fee": 50000, "share": "95", "plain": "x"}, readonly=True)
    values = [" ".join(v.text_content().split()) for v in shown.xpath("//div[contains(@class, 'field-value')]")]
    assert values[0].startswith("VNĐ 50") and values[1] == "95 %"


@pytest.mark.parametrize("appearance", ["VNĐ", {"prefixAdorner": 5}])
def test_an_adorner_that_is_not_text_is_refused_naming_the_field(appearance: Any) -> None:
    from forms import FormSchemaError

    with pytest.raises(FormSchemaError, match="'fee'.*appearance"):
        load_form_js({"type": "default", "components": [
            {"type": "number", "key": "fee", "id": "fee", "label": "Lệ phí", "appearance": appearance}]})  # fmt: skip


def test_markdown_headings_sit_under_the_pages_own_heading() -> None:
    """A form's ``### Title`` under the page's ``h1`` would skip a level: the highest heading of a text
    becomes ``h2`` and the others keep their distance to it."""
    from forms.display import _render_markdown

    assert re.findall(r"<(h\d)>", _render_markdown("### A\n\ntext\n\n#### B\n\n### C")) == ["h2", "h3", "h2"]
    assert re.findall(r"<(h\d)>", _render_markdown("# A\n\n## B")) == ["h2", "h3"]
    assert re.findall(r"<(h\d)>", _render_markdown("## A\n\n###### B")) == ["h2", "h6"]
