"""Local accounts: session login for pages, HTTP Basic for the API, both under the same log-in limits.

A page session is a row in ``login_sessions`` named by a random token in the signed cookie: logging
out or changing the password ends it for whoever holds a copy of the cookie.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import TooManyRequests

from engine import EngineError, User, authenticate, login_guard, login_sessions
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


def sign_in(username: str, password: str) -> User | None:
    """The account these credentials name, or None; raises ``LockedOut`` (429) while the account name
    or the client's address is locked, before the password is even looked at."""
    db, address, current = sa_session(), request.remote_addr or "", now()
    until = login_guard.locked_until(db, username, address, current)
    if until is not None:
        raise LockedOut(until, current)
    user = authenticate(db, username, password)
    if user is None:
        until = login_guard.record_failure(db, username, address, current)
        if until is not None:
            raise LockedOut(until, current)
        return None
    login_guard.record_success(db, username)
    return user


def load_user() -> None:
    token = session.get(SESSION_TOKEN)
    g.user = login_sessions.session_user(sa_session(), token, now()) if isinstance(token, str) else None


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
    try:
        user = sign_in(request.form.get("username", "").strip(), request.form.get("password", ""))
    except LockedOut as exc:
        flash(str(exc.description), "error")
        return render_template("login.html"), 429, dict(exc.get_headers())
    if user is None:
        flash(_("Wrong username or password."), "error")
        return render_template("login.html"), 401
    start_session(login_sessions.open_session(sa_session(), user, now()))
    if user.locale and "locale" not in session:  # the language the person chose before, on a new browser
        session["locale"] = user.locale
    return redirect(safe_next(request.args.get("next")))


@bp.post("/logout")
def logout() -> Any:
    token = session.get(SESSION_TOKEN)
    if isinstance(token, str):
        login_sessions.close_session(sa_session(), token)
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    return redirect(url_for("auth.login"))


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
        token = login_sessions.change_password(sa_session(), g.user, new, now())
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
