"""Local accounts: session login for pages, HTTP Basic for the API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from engine import User, authenticate

from .extensions import sa_session

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])


def load_user() -> None:
    user_id = session.get("user_id")
    user = sa_session().get(User, user_id) if user_id else None
    g.user = user if user is not None and user.is_active else None


def login_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path))
        return view(*args, **kwargs)

    return cast(F, wrapped)


def _safe_next(target: str | None) -> str:
    # Only local paths: never redirect a user to another site after login.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("inbox.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "POST":
        user = authenticate(sa_session(), request.form.get("username", "").strip(), request.form.get("password", ""))
        if user is not None:
            session.clear()
            session["user_id"] = user.id
            return redirect(_safe_next(request.args.get("next")))
        flash(_("Wrong username or password."), "error")
        return render_template("login.html"), 401
    return render_template("login.html")


@bp.post("/logout")
def logout() -> Any:
    session.pop("user_id", None)
    return redirect(url_for("auth.login"))


@bp.post("/language/<code>")
def set_language(code: str) -> Any:
    if code in ("vi", "en"):
        session["locale"] = code
    return redirect(_safe_next(request.form.get("next")))
