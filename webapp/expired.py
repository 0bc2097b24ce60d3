"""A form sent after its security code ran out keeps what the person typed.

A page's form carries a CSRF code that is good for an hour (``WTF_CSRF_TIME_LIMIT``) and only in the
browser session it was made for. Sent later, or after the session ended (logged out elsewhere, the
password changed, the browser restarted), the form is refused: nothing is saved. Instead of an error that
loses the work, the person gets a page that says so in their language, shows what they typed, and sends
it again with a fresh code at one click; when they are no longer logged in, the same page logs them in
first (``/login/resume``) and keeps the form.

Passwords are never written back into a page: the person types them again. Chosen files cannot be kept
by any page; the person is told which ones to choose again. A form that did not come from one of our own
pages (another site's) is never offered for sending again.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from engine import login_sessions

from .auth import LockedOut, load_user, safe_next, sign_in, start_session
from .errors import error_payload
from .extensions import now, sa_session

bp = Blueprint("expired", __name__)

SECRET = ("password",)  # fields never written back into a page
NOT_KEPT = ("csrf_token", "_resend_to", "_resume_username", "_resume_password")
PUBLIC = {"auth.login", "auth.logout", "auth.set_language", "expired.resume"}  # forms that need no log-in


def _secret(name: str) -> bool:
    return any(word in name.lower() for word in SECRET)


def came_from_our_pages() -> bool:
    """The refused form was sent from a page of this site (not from another site's page)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = request.headers.get("Origin") or request.headers.get("Referer") or ""
    return origin == request.host_url.rstrip("/") or origin.startswith(request.host_url)


def kept_form(resend_to: str, status: int, *, signed_out: bool, same_site: bool = True) -> Any:
    """The page that keeps a refused form: what was typed, and a way to send it again (after logging in
    again when ``signed_out``)."""
    fields = [(name, value) for name, value in request.form.items(multi=True) if name not in NOT_KEPT]
    kept = [(name, value) for name, value in fields if not _secret(name)]
    retype = list(dict.fromkeys(name for name, _value in fields if _secret(name)))
    files = [f.filename for name in request.files for f in request.files.getlist(name) if f.filename]
    page = render_template("errors/expired.html", kept=kept, retype=retype, files=files, resend_to=resend_to,
                           signed_out=signed_out, same_site=same_site)  # fmt: skip
    return page, status


def _expired(exc: CSRFError) -> Any:
    if request.path.startswith("/api/"):
        message = _("The security code of this request is missing or out of date; send it again.")
        return jsonify(error_payload(400, message)), 400
    if "user" not in g:  # the code is checked before the person is looked up
        load_user()
    resend_to = request.full_path.rstrip("?") if request.query_string else request.path
    signed_out = g.user is None and request.endpoint not in PUBLIC
    return kept_form(resend_to, 400, signed_out=signed_out, same_site=came_from_our_pages())


@bp.post("/login/resume")
def resume() -> Any:
    """Log in again from the page that kept a refused form; the form stays kept, to be sent with one more
    click."""
    resend_to = safe_next(request.form.get("_resend_to"))
    try:
        user = sign_in(request.form.get("_resume_username", "").strip(), request.form.get("_resume_password", ""))
    except LockedOut as exc:
        flash(str(exc.description), "error")
        return kept_form(resend_to, 429, signed_out=True)
    if user is None:
        flash(_("Wrong username or password."), "error")
        return kept_form(resend_to, 401, signed_out=True)
    start_session(login_sessions.open_session(sa_session(), user, now()))
    g.user = user
    flash(_("You are logged in again. Check what you typed, then send it."), "success")
    return kept_form(resend_to, 200, signed_out=False)


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_error_handler(CSRFError, _expired)
