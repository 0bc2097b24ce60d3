"""No page speaks English to a Vietnamese reader.

- Every page of the app (each GET rule of Flask's URL map that answers HTML, as ``ROUTES`` of the
  permission suite names it, in the permission suite's world full of data) is rendered in Vietnamese by
  the person it is for; no visible text (text nodes, and the ``title``, ``placeholder``, ``alt``,
  ``aria-label`` and button ``value`` attributes) may be an English message of the catalogue, nor read as
  English (two or more English function words in one text). A page added by anyone is walked as soon as
  its route has a permission entry, which the permission suite demands.
- Templates hold no literal visible text outside ``_()``: every word a template writes itself goes through
  the catalogues (names, codes and numbers come from the data).
- Deploy problems are Vietnamese: a broken BPMN uploaded in Vietnamese is explained in Vietnamese.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from lxml import html

from tests.webapp.permission_world import World, build
from tests.webapp.test_permissions import Case, cases, is_api
from webapp.i18n import TRANSLATIONS

TEMPLATES = Path(__file__).resolve().parents[2] / "webapp" / "templates"
VISIBLE_ATTRIBUTES = ("title", "placeholder", "alt", "aria-label")
NOT_READ = ("script", "style", "template", "pre", "code", "textarea", "svg")  # code and data, not words of ours
# English function words that do not occur as Vietnamese words (so "to", "an", "in", "no" are left out).
ENGLISH_WORDS = frozenset({
    "the", "is", "are", "was", "were", "be", "been", "being", "of", "and", "or", "not", "with", "for", "from",
    "this", "that", "these", "those", "there", "which", "will", "would", "should", "must", "can", "cannot", "could",
    "has", "have", "had", "your", "you", "please", "into", "only", "any", "their", "them", "than", "then", "when",
    "where", "what", "who", "how", "does", "did", "done", "yet", "already", "first", "again", "here", "it", "its",
    "by", "at", "as", "if", "but", "so", "such", "each", "every", "other", "more", "most"
})  # fmt: skip
WORD = re.compile(r"(?<![\w.\-/@#:])[A-Za-z]+(?![\w.\-/@:(])")
# Words the product writes the same in every language: its own name and Camunda's, file kinds, standards.
SAME_IN_EVERY_LANGUAGE = frozenset({"eISO", "ISO", "Camunda", "Modeler", "BPMN", "DMN", "FEEL", "JUEL", "PDF",
                                    "Email", "OK", "API", "ID", "KB", "MB"})  # fmt: skip


def english_messages() -> set[str]:
    """The catalogue's English sentences and labels that have a Vietnamese translation of their own."""
    with (TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalogue = read_po(fh)
    return {str(m.id) for m in catalogue if isinstance(m.id, str) and m.string and m.string != m.id
            and m.id not in SAME_IN_EVERY_LANGUAGE and re.search(r"[A-Za-z]{2}", m.id)}  # fmt: skip


def visible_texts(page: str) -> Iterator[str]:
    """What a reader sees of an HTML page: its text nodes and the attributes shown as text."""
    document = html.fromstring(page)
    for element in document.iter():
        if not isinstance(element.tag, str) or element.tag in NOT_READ:
            continue
        if element.get("translate") == "no":  # what people typed, codes and names: not ours to translate
            continue
        hidden = any(a.tag in NOT_READ or a.get("translate") == "no" for a in element.iterancestors())
        if hidden:
            continue
        for name in VISIBLE_ATTRIBUTES:
            if element.get(name):
                yield element.get(name, "")
        if element.tag == "input" and element.get("type") in ("submit", "button") and element.get("value"):
            yield element.get("value", "")
        for text in (element.text, *(child.tail for child in element)):
            if text and text.strip():
                yield text


def english_in(texts: Iterable[str], messages: set[str]) -> list[str]:
    found = []
    for raw in texts:
        text = " ".join(raw.split())
        words = {w.lower() for w in WORD.findall(text)}
        if text in messages or len(words & ENGLISH_WORDS) >= 2:
            found.append(text)
    return found


# --- every page, in Vietnamese, by the person it is for -------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build(tmp_path_factory.mktemp("untranslated"))
    yield built
    built.close()


def page_cases() -> Iterator[Any]:
    for endpoint, rule, method, case in cases():
        if method == "GET" and not is_api(case.path) and case.access != "unknown":
            name = f"{endpoint}:{case.variant}" if case.variant else endpoint
            yield pytest.param(rule, case, id=name)


def test_the_walk_covers_the_pages() -> None:
    walked = {p.values[0] for p in page_cases()}
    assert {"/", "/tasks/<task_id>", "/processes/<key>/start", "/definitions", "/definitions/upload", "/login",
            "/units", "/units/<code>/processes/<key>", "/notices", "/admin/calendar"} <= walked  # fmt: skip


@pytest.mark.parametrize(("rule", "case"), list(page_cases()))
def test_every_page_speaks_vietnamese(world: World, rule: str, case: Case) -> None:
    made = case.make(world) if case.make else {}
    path = case.path.format(**{**world.ids, **made})
    client = world.client(None if case.access == "public" else case.person())
    response = client.get(path, headers={"Accept-Language": "vi"})
    assert response.status_code == 200, f"{path}: {response.status_code}"
    if response.mimetype != "text/html":
        return  # a file download or a diagram's XML: the person's own content
    page = response.get_data(as_text=True)
    assert '<html lang="vi"' in page
    assert english_in(visible_texts(page), english_messages()) == [], f"untranslated on {path}"


@pytest.mark.parametrize(("who", "method", "path", "status"), [
    (None, "GET", "/no-such-page", 404),
    ("khach", "GET", "/admin/calendar", 403),
    ("thuky", "GET", "/tasks/no-such-task", 404),
    ("thuky_bmt", "GET", "/instances/{file_instance}", 404),
    (None, "DELETE", "/login", 405),
    ("thuky", "POST", "/processes/no_such_process/start", 400),  # no unit chosen
])  # fmt: skip
def test_error_pages_speak_vietnamese(world: World, who: str | None, method: str, path: str, status: int) -> None:
    response = world.client(who).open(path.format(**world.ids), method=method)
    page = response.get_data(as_text=True)
    assert response.status_code == status and '<html lang="vi"' in page
    assert english_in(visible_texts(page), english_messages()) == []


def test_the_check_sees_an_untranslated_label_and_an_english_sentence() -> None:
    page = ('<html lang="vi"><body><main><h1>Hộp thư</h1><button>Save</button><p>Nothing was deployed: 2 problem(s) '
            'to fix</p><p title="The file is empty and cannot be read">x</p><p translate="no">The user typed this '
            'and it is fine</p><pre>for x in the list</pre></main></body></html>')  # fmt: skip
    messages = {"Save", "Nothing was deployed: 2 problem(s) to fix"}
    assert english_in(visible_texts(page), messages) == [
        "Save", "Nothing was deployed: 2 problem(s) to fix", "The file is empty and cannot be read"]  # fmt: skip
    assert english_in(["Biên bản họp của phòng Tổ chức", "Quy trình ISO 9001", "evidence.bpmn"], messages) == []


# --- deploy problems ------------------------------------------------------------------------------------------------

BROKEN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="hong" name="Quy trình hỏng" isExecutable="true">
    <bpmn:startEvent id="batdau" />
    <bpmn:userTask id="duyet" name="Duyệt" camunda:formKey="embedded:app:forms/duyet.html"
                   camunda:candidateGroups="ban_giam_doc" camunda:dueDate="ngày mai">
      <bpmn:extensionElements><camunda:taskListener event="create" class="vn.Listener" /></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="re" />
    <bpmn:scriptTask id="tinh" scriptFormat="groovy"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:task id="lac" name="Bước lạc" />
    <bpmn:endEvent id="ketthuc" />
    <bpmn:sequenceFlow id="f1" sourceRef="batdau" targetRef="duyet" />
    <bpmn:sequenceFlow id="f2" sourceRef="duyet" targetRef="re" />
    <bpmn:sequenceFlow id="f3" sourceRef="re" targetRef="tinh" />
    <bpmn:sequenceFlow id="f4" sourceRef="re" targetRef="ketthuc"><bpmn:conditionExpression>${a +}
      </bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f5" sourceRef="tinh" targetRef="khongco" />
  </bpmn:process>
</bpmn:definitions>
""".encode()
BROKEN_FORM = b'{"components": [{"type": "textfield", "id": "a", "key": "x", "validate": {"pattern": "(a)\\\\1"}}]}'
BROKEN_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="x">
  <decision id="muc" name="Mức"><decisionTable hitPolicy="SOMETIMES"><input id="i" label="Điểm">
    <inputExpression typeRef="number"><text>diem +</text></inputExpression></input>
    <output id="o" name="muc" typeRef="string" /></decisionTable></decision>
</definitions>
""".encode()


def upload(world: World, language: str, files: dict[str, bytes]) -> tuple[int, list[list[str]]]:
    client = world.client("admin")
    client.post(f"/language/{language}", data={"next": "/"})
    sent = {"files": [(io.BytesIO(content), name) for name, content in files.items()]}
    response = client.post("/definitions/upload", data=sent, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    rows = html.fromstring(page).xpath("//table[contains(@class, 'problems-table')]//tbody/tr")
    return response.status_code, [[" ".join(td.text_content().split()) for td in row.xpath("td")] for row in rows]


def test_a_broken_upload_is_explained_in_vietnamese_and_in_english(world: World) -> None:
    files = {"hong.bpmn": BROKEN, "mau.form": BROKEN_FORM, "quyet-dinh.dmn": BROKEN_DMN}
    status, vietnamese = upload(world, "vi", files)
    assert status == 422 and len(vietnamese) >= 8
    messages = english_messages()
    problems = [row[4] for row in vietnamese]
    assert english_in(problems, messages) == [], problems
    assert all(re.search("[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹáàãéèíìóòõúùý]", p) for p in problems)
    said = " ".join(problems)
    for words in ("Task listener chạy Java", "Nhóm ứng viên 'ban_giam_doc'", "không phải ngày",
                  "Không có nhánh nào dẫn đến phần tử này", "không có điều kiện", "Lỗi cú pháp JUEL",
                  "tham chiếu ngược", "chính sách khớp 'SOMETIMES'", "HTML hoặc JSF"):  # fmt: skip
        assert words in said, words
    status, english = upload(world, "en", files)
    assert status == 422 and len(english) == len(vietnamese)
    said = " ".join(row[4] for row in english)
    assert "Task listeners run Java" in said and "No path leads to this element" in said


# --- templates write no words of their own --------------------------------------------------------------------------

TAG = re.compile(r"<[^>]*>", re.S)
ATTRIBUTE = re.compile(r"""\b(title|placeholder|alt|aria-label)\s*=\s*(["'])(.*?)\2""", re.S)
ENTITY = re.compile(r"&[#\w]+;")
# attributes a macro writes for a tag it does not open itself (``{% set attrs %}class="…" hidden{% endset %}``)
LOOSE_ATTRIBUTES = re.compile(r"""[\w-]+=(["']).*?\1|\b(?:hidden|checked|selected|required|disabled|readonly"""
                              r"""|multiple)\b""")
# What a template may write as it is: symbols, and the product's and standards' names.
LITERAL_ALLOWED = re.compile(r"^(?:[\W\d_]|" + "|".join(sorted(SAME_IN_EVERY_LANGUAGE, key=len, reverse=True))
                             + r"|v(?=[\0\d]))*$")  # fmt: skip


JINJA = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.S)


def literal_words(source: str) -> list[tuple[int, str]]:
    """Words a template writes outside ``{{ … }}`` and ``{% … %}``: in text between tags, and in the values of
    the attributes a reader sees. Each with its line."""
    skeleton = JINJA.sub(lambda m: "\0" + "\n" * m.group().count("\n"), source)  # what Jinja fills in: no words

    def line_of(position: int) -> int:
        return skeleton.count("\n", 0, position) + 1

    found = []
    for attribute in ATTRIBUTE.finditer(skeleton):
        text = ENTITY.sub(" ", attribute.group(3)).strip()
        if text and not LITERAL_ALLOWED.match(text):
            found.append((line_of(attribute.start()), text))
    start = 0
    for tag in [*TAG.finditer(skeleton), None]:
        end = tag.start() if tag else len(skeleton)
        between = skeleton[start:end]
        words = " ".join(LOOSE_ATTRIBUTES.sub(" ", ENTITY.sub(" ", between)).split())
        if words and not LITERAL_ALLOWED.match(words):
            found.append((line_of(start + len(between) - len(between.lstrip())), words))
        start = tag.end() if tag else end
    return sorted(found)


def template_sources() -> Iterator[Path]:
    yield from sorted(TEMPLATES.rglob("*.html"))
    yield from sorted((TEMPLATES.parents[1] / "forms" / "templates").rglob("*.html"))


def test_templates_write_no_words_outside_the_catalogue() -> None:
    found = {f"{path.relative_to(TEMPLATES.parents[1])}:{line}": text for path in template_sources()
             for line, text in literal_words(path.read_text(encoding="utf-8"))}  # fmt: skip
    assert found == {}, "wrap these in {{ _(\"…\") }} and run scripts/i18n-update"


def test_the_template_check_sees_a_literal_word() -> None:
    source = ('<h1>{{ _("Hộp thư") }}</h1>\n<p>Nothing here</p>\n<button title="Close">×</button>\n'
              '<span>{{ n }} · v{{ version }} (eISO)</span> <a aria-label="{{ _(\'Next\') }}">→</a>')  # fmt: skip
    assert literal_words(source) == [(2, "Nothing here"), (3, "Close")]
