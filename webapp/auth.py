"""Local accounts: session login for pages, HTTP Basic for the API, both under the same log-in limits.

A page session is a row in ``login_sessions`` named by a random token in the signed cookie: logging
out or changing the password ends it for whoever holds a copy of the cookie.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import TooManyRequests

from engine import EngineError, User, VerifiedCredentials, authenticate, login_guard, login_sessions
from engine import set_language as remember_language

from .errors import translated
from .extensions import now, sa_session

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])
SESSION_TOKEN = "sid"  # noqa: S105 - the name of the session key, not a secret


class LockedOut(TooManyRequests):
    """Too many failed log-ins for this account name or from this address: try again later."""

    def __init__(self, until: datetime, current: datetime) -> None:
        from .views import local_time

        minutes = max(1, math.ceil((until - current).total_seconds() / 60))
        message = _("Too many failed log-in attempts. Try again after %(time)s (in %(minutes)s minutes).",
                    time=local_time(until, "%H:%M"), minutes=minutes)  # fmt: skip
        super().__init__(message, retry_after=minutes * 60)


def sign_in(username: str, password: str, remembered: VerifiedCredentials | None = None) -> User | None:
    """The account these credentials name, or None; raises ``LockedOut`` (429) while the account name
    or the client's address is locked, before the password is even looked at. With ``remembered`` (the API's
    HTTP Basic), credentials verified a moment ago skip the password hash."""
    db, address, current = sa_session(), request.remote_addr or "", now()
    until = login_guard.locked_until(db, username, address, current)
    if until is not None:
        raise LockedOut(until, current)
    user = remembered.user(db, username, password) if remembered is not None else None
    if user is not None:
        return user
    user = authenticate(db, username, password)
    if user is None:
        until = login_guard.record_failure(db, username, address, current)
        if until is not None:
            raise LockedOut(until, current)
        return None
    login_guard.record_success(db, username)
    if remembered is not None:
        remembered.remember(username, password, user)
    return user


def session_lifetime() -> login_sessions.Lifetime:
    settings = current_app.config["EISO_SETTINGS"]
    return login_sessions.Lifetime(idle=timedelta(minutes=settings.session_idle_minutes),
                                   max_age=timedelta(hours=settings.session_max_hours))  # fmt: skip


def load_user() -> None:
    token = session.get(SESSION_TOKEN)
    found = isinstance(token, str) and login_sessions.session_user(sa_session(), token, now(), session_lifetime())
    g.user = found or None


def login_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path))
        return view(*args, **kwargs)

    return cast(F, wrapped)


def safe_next(target: str | None) -> str:
    """A path on this site to go on to, else the inbox: never a redirect to another site, whatever
    browsers make of backslashes, tabs, new lines or a second slash."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("inbox.index")
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in target):
        return url_for("inbox.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("inbox.index")
    return target


def start_session(token: str) -> None:
    """A new session for a log-in: nothing of the old one is kept but the chosen language."""
    locale = session.get("locale")
    session.clear()
    session[SESSION_TOKEN] = token
    if locale:
        session["locale"] = locale


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        return render_template("login.html")
    oidc = current_app.config["EISO_SETTINGS"].oidc  # single sign-on may switch the password form off
    if oidc is not None and not oidc.local_login:
        flash(_("Log-in with an eISO password is switched off here; use the button above."), "error")
        return render_template("login.html"), 403
    try:
        user = sign_in(request.form.get("username", "").strip(), request.form.get("password", ""))
    except LockedOut as exc:
        flash(str(exc.description), "error")
        return render_template("login.html"), 429, dict(exc.get_headers())
    if user is None:
        flash(_("Wrong username or password."), "error")
        return render_template("login.html"), 401
    start_session(login_sessions.open_session(sa_session(), user, now(), session_lifetime()))
    if user.locale and "locale" not in session:  # the language the person chose before, on a new browser
        session["locale"] = user.locale
    if user.must_change_password:  # an administrator gave this password: the person now chooses their own
        flash(_("Your password was set by an administrator; choose your own now."), "info")
        return redirect(url_for("auth.change_password"))
    return redirect(safe_next(request.args.get("next")))


@bp.post("/logout")
def logout() -> Any:
    token = session.get(SESSION_TOKEN)
    id_token = None
    if isinstance(token, str):
        id_token = login_sessions.id_token_of(sa_session(), token)
        login_sessions.close_session(sa_session(), token)
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    sign_out_there = current_app.extensions.get("eiso_provider_sign_out")  # webapp/sso.py, when a provider is set
    return redirect((id_token and sign_out_there and sign_out_there(id_token)) or url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    if request.method == "GET":
        return render_template("account/password.html")
    new = request.form.get("new_password", "")
    if new != request.form.get("confirm_password", ""):
        flash(_("The two new passwords differ; type the same one twice."), "error")
        return render_template("account/password.html"), 422
    try:
        if sign_in(g.user.username, request.form.get("current_password", "")) is None:
            flash(_("The current password is wrong."), "error")
            return render_template("account/password.html"), 422
        token = login_sessions.change_password(sa_session(), g.user, new, now(), session_lifetime())
    except LockedOut as exc:
        flash(str(exc.description), "error")
        return render_template("account/password.html"), 429, dict(exc.get_headers())
    except EngineError as exc:
        flash(translated(exc), "error")
        return render_template("account/password.html"), 422
    start_session(token)
    flash(_("Your password is changed. Every other session of your account has been logged out."), "success")
    return redirect(url_for("inbox.index"))


@bp.post("/language/<code>")
def set_language(code: str) -> Any:
    if code in ("vi", "en"):
        session["locale"] = code
        if g.user is not None:  # remembered for the mails eISO sends the person
            remember_language(sa_session(), g.user, code)
    return redirect(safe_next(request.form.get("next")))
