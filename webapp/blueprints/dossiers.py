"""The dossiers of administrative procedures (``engine.dossiers``): the staff's list and dossier page, the
one-stop desk's way in to receive a dossier, the official forms as printable pages and as PDF, and the
public lookup by dossier code and the applicant's phone number with its satisfaction rating.

Who sees which dossier is the engine's rule (``dossiers.visibility``): another unit's dossier, or one a
person had nothing to do with, is not found (404). Lists come from the ``dossiers`` table, never from the
workflows. PDFs are made by WeasyPrint from the same templates the browser prints, with DejaVu Sans named
by its file so that every Vietnamese diacritic is in the font whatever fontconfig would choose.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, flash, g, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.exceptions import TooManyRequests

from engine import EngineError, NotFound, ProcessInstance, Unit, dossiers, login_guard, queries, unit_ids_of

from .. import paging
from ..auth import login_required
from ..errors import N_, translated
from ..exports import export_response
from ..extensions import now, sa_session
from ..views import local_time
from .iso.register_pages import link, one_of, whole_number

bp = Blueprint("dossiers", __name__)

STATUS_NAMES = {
    1: N_("Newly registered"), 2: N_("Accepted for processing"), 3: N_("Not accepted"), 4: N_("Being processed"),
    5: N_("Supplement requested"), 6: N_("Financial obligation requested"),
    7: N_("Withdrawal requested by the applicant"), 8: N_("Processing stopped"), 9: N_("Processing finished"),
    10: N_("Result returned"),
}  # fmt: skip
"""The national portal's dossier statuses (``dossiers.STATUSES``); the Vietnamese catalogue gives their official
names."""
TIMINGS = {"early": N_("Early"), "on_time": N_("On time"), "late": N_("Late"), "open": N_("Not finished yet")}
RATING_NAMES = {3: N_("Very satisfied"), 2: N_("Satisfied"), 1: N_("Dissatisfied")}
CHANNEL_NAMES = {1: N_("In person"), 2: N_("Online"), 3: N_("By post")}
FORMS = {"receipt": N_("Receipt and appointment slip"), "supplement": N_("Request to supplement the dossier"),
         "refusal": N_("Refusal to receive the dossier"), "apology": N_("Apology letter and new appointment"),
         "stop": N_("Notice of stopping the processing"), "control-slip": N_("Process control slip")}
NUMBERS = {"receipt": ("01", "01"), "supplement": ("02", "02"), "refusal": ("03", "03"), "apology": ("04", "04"),
           "stop": ("05", ""), "control-slip": ("06", "05")}
"""Each form's number in TT 03/2025/TT-VPCP and in TT 01/2018/TT-VPCP (which had no stopping notice)."""

OFFICIAL_LANGUAGE = "vi"


def forms_of(dossier: dossiers.Dossier) -> list[str]:
    """The forms this dossier has: a supplement request once one was asked for, a refusal when refused…"""
    has = {"receipt": True, "supplement": dossier.supplements > 0, "refusal": dossier.status == 3,
           "apology": dossier.new_appointment_at is not None, "stop": dossier.status == 8, "control-slip": True}
    return [kind for kind in FORMS if has[kind]]
TT03_FROM = date(2025, 7, 1)  # TT 03/2025/TT-VPCP numbers the forms of dossiers received from this day on
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FACES = (("DejaVuSans.ttf", "normal", "normal"), ("DejaVuSans-Bold.ttf", "bold", "normal"),
         ("DejaVuSans-Oblique.ttf", "normal", "italic"), ("DejaVuSans-BoldOblique.ttf", "bold", "italic"))
FONTS = {name for name, _weight, _style in FACES}
"""DejaVu Sans, named by its files: it has every Vietnamese letter with its diacritics."""


def _font_faces() -> str:
    faces = [f'@font-face {{ font-family: "Form Sans"; src: url("{(FONT_DIR / name).as_uri()}"); '
             f"font-weight: {weight}; font-style: {style}; }}" for name, weight, style in FACES]  # fmt: skip
    return "\n".join([*faces, 'body { font-family: "Form Sans"; }'])  # in the PDF nothing but these files
STYLESHEET = Path(__file__).resolve().parents[1] / "static" / "dossier-forms.css"


def status_name(code: int) -> str:
    return _(STATUS_NAMES[code]) if code in STATUS_NAMES else str(code)


def timing_name(code: str | None) -> str:
    return _(TIMINGS[code or "open"])


def _date(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400, _("The filter “%(name)s” must be a date written YYYY-MM-DD, not “%(value)s”.", name=name,
                     value=raw[:40]))  # fmt: skip


def _filters() -> dossiers.DossierFilter:
    status = whole_number("status")
    if status is not None and status not in STATUS_NAMES:
        abort(400, _("The filter “status” must be a dossier status from 1 to 10, not “%(value)s”.", value=status))
    received_from, received_to = _date("from"), _date("to")
    if received_from and received_to and received_to < received_from:
        abort(400, _("The period ends before it starts: “to” must not come before “from”."))
    procedure = request.args.get("procedure", "").strip()[:60] or None
    unit = whole_number("unit")
    if unit is not None and unit not in unit_ids_of(sa_session(), g.user):
        abort(404, _("Unit %(id)s does not exist or you are not one of its members.", id=unit))
    return dossiers.DossierFilter(unit_id=unit, status=status, procedure=procedure,
                                  received_from=received_from, received_to=received_to,
                                  timing=one_of("timing", TIMINGS))  # fmt: skip


def _columns() -> list[tuple[str, str]]:
    return [
        ("code", _("Dossier code")), ("procedure", _("Administrative procedure")), ("applicant", _("Applicant")),
        ("received_at", _("Received")), ("appointment_at", _("Appointment")), ("due_at", _("Due (after pauses)")),
        ("finished_at", _("Processing finished")), ("returned_at", _("Result returned")),
        ("status_code", _("Status code")), ("status", _("Status")), ("supplements", _("Supplement requests")),
        ("timing", _("On-time result")), ("rating", _("Satisfaction")),
    ]  # fmt: skip


def _row(dossier: dossiers.Dossier) -> dict[str, Any]:
    return {
        "code": dossier.code, "procedure": f"{dossier.procedure_code} – {dossier.procedure_name}",
        "applicant": dossier.applicant_name, "received_at": dossier.received_at,
        "appointment_at": dossier.new_appointment_at or dossier.appointment_at, "due_at": dossier.due_at,
        "finished_at": dossier.finished_at, "returned_at": dossier.returned_at, "status_code": dossier.status,
        "status": status_name(dossier.status), "supplements": dossier.supplements,
        "timing": timing_name(dossier.timing) if dossier.status not in dossiers.CLOSED or dossier.timing else "",
        "rating": _(RATING_NAMES[dossier.rating]) if dossier.rating in RATING_NAMES else "",
    }  # fmt: skip


@bp.get("/dossiers")
@login_required
def index() -> Any:
    filters, fmt = _filters(), request.args.get("format", "").strip() or None
    if fmt is not None:
        found, _total = dossiers.find_dossiers(sa_session(), g.user, filters)
        return export_response("ho-so-thu-tuc-hanh-chinh", _columns(), [_row(d) for d in found], fmt)
    after, size = paging.newest_first_page("dossiers", g.user)
    found, key = dossiers.dossier_page(sa_session(), g.user, filters, after, size)
    following = paging.next_link("dossiers", g.user, key)
    units = _my_units()
    return render_template("dossiers/index.html", dossiers=found, filters=filters, paged=after is not None,
                           next_page=url_for("dossiers.index", **paging.with_after(following)) if following else None,
                           first_page=url_for("dossiers.index", **paging.without_after()),
                           count=dossiers.count_dossiers(sa_session(), g.user, filters),
                           count_cap=dossiers.DOSSIER_COUNT_CAP,
                           link=link, units=units, statuses=STATUS_NAMES, timings=TIMINGS,
                           procedures=dossiers.procedures_of(sa_session(), {u.id for u in units}),
                           status_name=status_name, timing_name=timing_name,
                           may_receive=bool(_receivable()))  # fmt: skip


def _my_units() -> list[Unit]:
    ids = unit_ids_of(sa_session(), g.user)
    return list(sa_session().scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.name)))


def _receivable() -> list[tuple[Any, list[Unit]]]:
    """The procedures the person may receive dossiers for, each with the units they may receive it in."""
    units = {u.id: u for u in _my_units()}
    out = []
    for definition, unit_ids in queries.startable(sa_session(), g.user):
        properties = (definition.elements or {}).get("process", {}).get("properties") or {}
        if properties.get("procedureCode"):
            out.append((definition, [units[u] for u in unit_ids if u in units]))
    return sorted(out, key=lambda pair: pair[0].name)


def _logbook_columns() -> list[tuple[str, str]]:
    return [
        ("n", _("No.")), ("code", _("Dossier code")), ("procedure", _("Administrative procedure")),
        ("count", _("Number of dossiers")),
        ("applicant", _("Applicant")), ("contact", _("Address, phone number")), ("body", _("Deciding body")),
        ("received_at", _("Received")), ("appointment_at", _("Appointment")),
        ("forwarded_at", _("Forwarded to the deciding body")), ("finished_at", _("Result received from it")),
        ("returned_at", _("Result returned")), ("note", _("Note")),
    ]  # fmt: skip


@bp.get("/dossiers/logbook")
@login_required
def logbook() -> Any:
    """The tracking logbook (sổ theo dõi hồ sơ) of a period, as a workbook: the dossiers received in it."""
    filters = _filters()
    if filters.received_from is None or filters.received_to is None:
        abort(400, _("Give the logbook's period: from=YYYY-MM-DD and to=YYYY-MM-DD."))
    found, _total = dossiers.find_dossiers(sa_session(), g.user, filters)
    found.reverse()  # a logbook runs in the order the dossiers came in
    rows = []
    for n, d in enumerate(found, start=1):
        notes = [status_name(d.status)] + ([timing_name(d.timing)] if d.timing else [])
        if d.result_number:
            notes.append(_("No. %(number)s", number=d.result_number))
        if d.new_appointment_at:
            notes.append(_("New appointment (apology letter)") + " " + local_time(d.new_appointment_at))
        rows.append({"n": n, "code": d.code, "procedure": d.procedure_name, "count": 1, "applicant": d.applicant_name,
                     "contact": ", ".join(x for x in (d.applicant_address, d.applicant_phone) if x),
                     "body": d.unit.name, "received_at": d.received_at, "appointment_at": d.appointment_at,
                     "forwarded_at": d.accepted_at, "finished_at": d.finished_at, "returned_at": d.returned_at,
                     "note": "; ".join(notes)})  # fmt: skip
    name = f"so-theo-doi-ho-so-{filters.received_from:%Y%m%d}-{filters.received_to:%Y%m%d}"
    return export_response(name, _logbook_columns(), rows, request.args.get("format", "").strip() or "xlsx")


@bp.get("/dossiers/receive")
@login_required
def receive() -> Any:
    """The one-stop desk's way in: the procedures it may receive a dossier for; each opens the start form."""
    return render_template("dossiers/receive.html", procedures=_receivable())


def _dossier(code: str) -> dossiers.Dossier:
    try:
        return dossiers.dossier_for(sa_session(), g.user, code)
    except NotFound as exc:
        abort(404, translated(exc))


@bp.get("/dossiers/<code>")
@login_required
def dossier(code: str) -> Any:
    found = _dossier(code)
    instance = sa_session().get(ProcessInstance, found.instance_id)
    return render_template("dossiers/dossier.html", dossier=found, steps=dossiers.steps(sa_session(), found),
                           instance=instance, status_name=status_name, timing_name=timing_name,
                           channels=CHANNEL_NAMES, ratings=RATING_NAMES, forms=FORMS,
                           available=forms_of(found))  # fmt: skip


# --- the official forms ---------------------------------------------------------------------------


def _form_number(kind: str, received: datetime) -> str:
    """The form's number in the circular in force when the dossier was received (TT 03/2025 or TT 01/2018)."""
    old = received.date() < TT03_FROM and bool(NUMBERS[kind][1])
    number = NUMBERS[kind][1] if old else NUMBERS[kind][0]
    circular = "01/2018/TT-VPCP" if old else "03/2025/TT-VPCP"
    return _("Form no. %(number)s, Circular %(circular)s", number=number, circular=circular)


def _render_form(found: dossiers.Dossier, kind: str, *, pdf: bool) -> str:
    """An official form is a Vietnamese administrative document (NĐ 30/2020): its words are Vietnamese whatever
    language the person printing it reads eISO in."""
    with force_locale(OFFICIAL_LANGUAGE):
        return _render_official_form(found, kind, pdf=pdf)


def _render_official_form(found: dossiers.Dossier, kind: str, *, pdf: bool) -> str:
    instance = sa_session().get(ProcessInstance, found.instance_id)
    receiver = instance.started_by.full_name if instance is not None and instance.started_by else ""
    days = ((instance.definition.elements or {}).get("process", {}).get("properties") or {}).get(
        "timeLimitWorkingDays", "") if instance is not None else ""  # fmt: skip
    return render_template(f"dossiers/form_{kind.replace('-', '_')}.html", staff=g.user, dossier=found, unit=found.unit,
                           steps=dossiers.steps(sa_session(), found), receiver=receiver, legal_days=days,
                           form_number=_form_number(kind, found.received_at), title=_(FORMS[kind]), pdf=pdf,
                           status_name=status_name, timing_name=timing_name,
                           channels=CHANNEL_NAMES, printed_at=now(), kind=kind)  # fmt: skip


def _check_form(found: dossiers.Dossier, kind: str) -> None:
    if kind not in FORMS:
        abort(404, _("There is no form “%(kind)s”; the forms are: %(kinds)s.", kind=kind[:40],
                     kinds=", ".join(FORMS)))  # fmt: skip
    if kind not in forms_of(found):
        abort(404, _("Dossier %(code)s has no “%(form)s”: nothing in its processing called for one.",
                     code=found.code, form=_(FORMS[kind])))  # fmt: skip


@bp.get("/dossiers/<code>/forms/<kind>")
@login_required
def form(code: str, kind: str) -> Any:
    found = _dossier(code)
    _check_form(found, kind)
    return _render_form(found, kind, pdf=False)


@bp.get("/dossiers/<code>/forms/<kind>.pdf")
@login_required
def form_pdf(code: str, kind: str) -> Any:
    found = _dossier(code)
    _check_form(found, kind)
    from weasyprint import CSS, HTML  # imported when a PDF is asked for: it loads Pango

    missing = [name for name in sorted(FONTS) if not (FONT_DIR / name).is_file()]
    if missing:  # a PDF in another font could lose the diacritics: say so rather than print it
        abort(503, _("The PDF cannot be made: the font files %(files)s are missing from %(folder)s (install the "
                     "package fonts-dejavu-core). Print the page from the browser meanwhile.",
                     files=", ".join(missing), folder=str(FONT_DIR)))  # fmt: skip
    html = _render_form(found, kind, pdf=True)
    fonts = CSS(string=_font_faces(), url_fetcher=_fonts_only)
    layout = CSS(filename=str(STYLESHEET), url_fetcher=_fonts_only)
    document = HTML(string=html, base_url=request.url_root, url_fetcher=_fonts_only).write_pdf(
        stylesheets=[layout, fonts])
    name = f"{kind}-{found.code}.pdf"
    return Response(document, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})  # fmt: skip


@bp.get("/dossiers/<code>/forms/control-slip.xlsx")
@login_required
def control_slip_xlsx(code: str) -> Any:
    """The process control slip as a workbook: one row per hand-over, as on the printed slip."""
    found = _dossier(code)
    with force_locale(OFFICIAL_LANGUAGE):  # an official form, in Vietnamese (see _render_form)
        return _control_slip_workbook(found)


def _control_slip_workbook(found: dossiers.Dossier) -> Any:
    columns = [("body", _("Body handling the dossier")), ("step", _("Step")), ("handed_at", _("Handed over")),
               ("received_at", _("Received")), ("handed_by", _("Handed over by")), ("handler", _("Received by")),
               ("due_at", _("Deadline")), ("completed_at", _("Done")),
               ("result", _("Result (early / on time / late)"))]  # fmt: skip
    rows = [{"body": s.body, "step": s.name, "handed_at": s.handed_at, "received_at": s.received_at,
             "handed_by": s.handed_by, "handler": s.handler, "due_at": s.due_at, "completed_at": s.completed_at,
             "result": timing_name(s.timing) if s.timing else (_("In progress") if s.state == "open" else "")}
            for s in dossiers.steps(sa_session(), found)]  # fmt: skip
    return export_response(f"phieu-kiem-soat-{found.code}", columns, rows, "xlsx")


def _fonts_only(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """What a form's PDF may load: the two font files, nothing else (no file, no address on the network)."""
    for font in FONTS:
        if url == (FONT_DIR / font).as_uri():
            return {"string": (FONT_DIR / font).read_bytes(), "mime_type": "font/ttf"}
    raise ValueError(f"A form loads nothing but its fonts, not {url[:80]}")


# --- the public lookup and rating -----------------------------------------------------------------


class LookupLocked(TooManyRequests):
    def __init__(self, until: datetime, current: datetime) -> None:
        minutes = max(1, math.ceil((until - current).total_seconds() / 60))
        message = _("Too many lookups found nothing. Try again after %(time)s (in %(minutes)s minutes).",
                    time=local_time(until, "%H:%M"), minutes=minutes)  # fmt: skip
        super().__init__(message, retry_after=minutes * 60)


def _looked_up(code: str, phone: str) -> dossiers.Dossier | None:
    """The dossier with this code and phone, or None; every miss is counted against the client's address."""
    session, address, current = sa_session(), request.remote_addr or "", now()
    until = login_guard.lookup_locked_until(session, address, current)
    if until is not None:
        raise LookupLocked(until, current)
    try:
        return dossiers.lookup(session, code, phone)
    except NotFound:
        until = login_guard.record_lookup_failure(session, address, current)
        if until is not None:
            raise LookupLocked(until, current) from None
        return None


def _render_lookup(found: dossiers.Dossier | None, code: str, phone: str, status: int = 200,
                   error: str = "") -> Any:  # fmt: skip
    public_steps = dossiers.steps(sa_session(), found) if found is not None else []
    return render_template("dossiers/lookup.html", dossier=found, steps=public_steps, code=code, phone=phone,
                           status_name=status_name, timing_name=timing_name, ratings=RATING_NAMES,
                           error=error, returned=dossiers.RETURNED), status  # fmt: skip


@bp.get("/lookup")
def lookup_form() -> Any:
    return _render_lookup(None, "", "")


@bp.post("/lookup")
def lookup() -> Any:
    code, phone = request.form.get("code", "").strip()[:80], request.form.get("phone", "").strip()[:30]
    if not code or not phone:
        return _render_lookup(None, code, phone, 400, _("Enter both the dossier code and the phone number "
                                                        "written on the receipt."))  # fmt: skip
    found = _looked_up(code, phone)
    if found is None:
        return _render_lookup(None, code, phone, 404, _("No dossier has this code and phone number; check both "
                                                        "as written on the receipt."))  # fmt: skip
    return _render_lookup(found, code, phone)


@bp.post("/lookup/rating")
def rate() -> Any:
    code, phone = request.form.get("code", "").strip()[:80], request.form.get("phone", "").strip()[:30]
    raw = request.form.get("rating", "").strip()
    found = _looked_up(code, phone) if code and phone else None
    if found is None:
        return _render_lookup(None, code, phone, 404, _("No dossier has this code and phone number; check both "
                                                        "as written on the receipt."))  # fmt: skip
    try:
        dossiers.rate(sa_session(), code, phone, int(raw) if raw.isdigit() else 0,
                      request.form.get("comment", ""), now())  # fmt: skip
    except EngineError as exc:
        sa_session().rollback()
        status = 409 if exc.http_status == 409 else 400
        return _render_lookup(dossiers.lookup(sa_session(), code, phone), code, phone, status, translated(exc))
    sa_session().commit()
    flash(_("Thank you: your rating has been recorded."), "success")
    return _render_lookup(found, code, phone)

