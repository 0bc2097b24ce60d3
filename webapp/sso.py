"""Single sign-on through an OpenID Connect provider (Keycloak, a province's identity server, …).

The authorization-code flow with PKCE (S256), ``state`` and ``nonce``, done by authlib's Flask client: the
provider is found by discovery (``<issuer>/.well-known/openid-configuration``, whose ``issuer`` must be
the configured one), the ID token's signature is checked against the provider's JWKS and its ``iss``,
``aud``, ``exp``, ``iat`` and ``nonce`` claims are checked. Who the verified person is in eISO, and their
roles, is decided by the engine (``engine/org/sso.py``). Logging out of eISO also ends the session at the
provider when it has an ``end_session_endpoint`` (RP-initiated logout).

Every failure (provider unreachable, an answer that is not ours or cannot be verified, consent refused,
a person eISO does not let in) is a page that says what happened and what to do, with its status.
Settings: ``webapp/sso_settings.py``; rules: docs/security.md.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import click
import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.cli import with_appcontext
from flask_babel import gettext as _
from joserfc.errors import JoseError

from engine import SsoRefused, login_sessions, sso

from .auth import safe_next, session_lifetime, start_session
from .errors import translated
from .extensions import now, sa_session
from .security import CONTENT_SECURITY_POLICY
from .sso_settings import OidcSettings

bp = Blueprint("sso", __name__)
log = logging.getLogger(__name__)
CLIENT = "oidc"
EXTENSION = "eiso_oidc"
NEXT = "sso_next"
REQUIRED_METADATA = ("authorization_endpoint", "token_endpoint", "jwks_uri")


class Failure(Exception):
    """A single sign-on that did not happen: the page's status and sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def register(app: Flask) -> None:
    """The provider's client when ``EISO_OIDC_ISSUER`` is set; the log-in page's button; the policy that
    lets the log-out form go on to the provider's sign-out page."""
    settings: OidcSettings | None = app.config["EISO_SETTINGS"].oidc
    app.register_blueprint(bp)
    app.context_processor(_login_choices)
    app.cli.add_command(sso_group)
    if settings is None:
        return
    oauth = OAuth(app)
    app.extensions["eiso_provider_sign_out"] = end_session_url  # called by auth.logout
    app.extensions[EXTENSION] = oauth.register(
        CLIENT, client_id=settings.client_id, client_secret=settings.client_secret,
        server_metadata_url=settings.metadata_url,
        client_kwargs={"scope": settings.scopes, "code_challenge_method": "S256",
                       "default_timeout": settings.timeout_seconds},
    )  # fmt: skip
    app.after_request(_allow_provider_sign_out)


def _settings() -> OidcSettings | None:
    settings: OidcSettings | None = current_app.config["EISO_SETTINGS"].oidc
    return settings


def local_login_allowed() -> bool:
    settings = _settings()
    return settings is None or settings.local_login


def provider_name() -> str:
    settings = _settings()
    return (settings.name if settings else "") or "SSO"


def _login_choices() -> dict[str, Any]:
    return {"sso_login": _settings() is not None, "sso_name": provider_name(), "local_login": local_login_allowed()}


def _client() -> Any:
    client = current_app.extensions.get(EXTENSION)
    if client is None:
        abort(404)
    return client


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _allow_provider_sign_out(response: Response) -> Response:
    """The log-out form is sent to eISO, which sends the browser on to the provider's sign-out page; the
    ``form-action`` policy must allow that address, or the browser stops there."""
    settings, client = _settings(), current_app.extensions[EXTENSION]
    assert settings is not None
    origins = {_origin(settings.issuer)}
    end_session = client.server_metadata.get("end_session_endpoint")
    if isinstance(end_session, str) and end_session.startswith(("https://", "http://")):
        origins.add(_origin(end_session))
    extra = " ".join(sorted(origins))
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {extra}")  # fmt: skip
    return response


def _unreachable() -> Failure:
    message = _("eISO cannot reach the sign-in server (%(name)s) at the moment. Try again in a few minutes; if it "
                "goes on, tell your administrator.", name=provider_name())  # fmt: skip
    if local_login_allowed():
        message += " " + _("People with an eISO password can log in with it meanwhile.")
    return Failure(503, message)


def _metadata(client: Any, settings: OidcSettings) -> dict[str, Any]:
    """The provider's discovery document, checked: its issuer is the configured one and it names the
    endpoints eISO uses. A wrong one is forgotten, so it is asked for again next time."""
    try:
        metadata: dict[str, Any] = client.load_server_metadata()
    except (requests.RequestException, ValueError) as exc:
        client.server_metadata.pop("_loaded_at", None)
        log.warning("single sign-on: cannot read %s: %s", settings.metadata_url, exc)
        raise _unreachable()
    problem = ""
    if str(metadata.get("issuer", "")).rstrip("/") != settings.issuer.rstrip("/"):
        problem = f"issuer {metadata.get('issuer')!r}"
    missing = [key for key in REQUIRED_METADATA if not metadata.get(key)]
    if missing:
        problem = ", ".join(missing) + " missing"
    if problem:
        client.server_metadata.clear()
        log.error("single sign-on: the discovery document at %s does not fit: %s", settings.metadata_url, problem)
        raise Failure(502, _("The sign-in server's description does not match eISO's settings (%(problem)s). Tell "
                             "your administrator.", problem=problem))  # fmt: skip
    return metadata


def _callback_url() -> str:
    public = current_app.config["EISO_SETTINGS"].public_url.rstrip("/")
    return public + url_for("sso.callback")


def _failure_page(failure: Failure) -> Any:
    return render_template("sso_error.html", status=failure.status, message=failure.message,
                           sso_name=provider_name()), failure.status  # fmt: skip


@bp.get("/login/oidc")
def start() -> Any:
    """Send the browser to the provider to sign in (a fresh state, nonce and PKCE verifier each time)."""
    client, settings = _client(), _settings()
    assert settings is not None
    try:
        _metadata(client, settings)
        session[NEXT] = safe_next(request.args.get("next"))
        locale = session.get("locale")
        extra = {"ui_locales": locale} if locale in ("vi", "en") else {}
        return client.authorize_redirect(_callback_url(), **extra)
    except Failure as failure:
        return _failure_page(failure)


@bp.get("/login/oidc/callback")
def callback() -> Any:
    """Where the provider sends the browser back: check everything, then let the engine decide who it is."""
    client, settings = _client(), _settings()
    assert settings is not None
    try:
        metadata = _metadata(client, settings)
        claims, id_token = _verified_claims(client, metadata)
        result = sso.sign_in(sa_session(), metadata["issuer"], claims, settings.policy, now())
    except Failure as failure:
        return _failure_page(failure)
    except SsoRefused as refused:
        sa_session().rollback()
        log.info("single sign-on refused (%s): %s", refused.reason, refused.message)
        return _failure_page(Failure(refused.http_status, translated(refused)))
    return _open_session(result.user, id_token, settings)


def _open_session(user: Any, id_token: str, settings: OidcSettings) -> Any:
    target = safe_next(session.get(NEXT))
    start_session(login_sessions.open_session(sa_session(), user, now(), session_lifetime(),
                                               ends_after=timedelta(hours=settings.session_hours),
                                               id_token=id_token))  # fmt: skip
    return redirect(target)


def _verified_claims(client: Any, metadata: dict[str, Any]) -> tuple[dict[str, Any], str]:
    error = request.args.get("error")
    if error == "access_denied":
        raise Failure(403, _("You did not allow eISO to use your account at the sign-in server, so you are not "
                             "logged in. To log in, start again and allow it."))  # fmt: skip
    if error:
        detail = request.args.get("error_description") or error
        raise Failure(400, _("The sign-in server did not log you in: %(detail)s. Start again; if it happens again, "
                             "tell your administrator.", detail=detail[:300]))  # fmt: skip
    if "iss" in request.args and request.args["iss"] != metadata["issuer"]:  # RFC 9207: an answer of another server
        raise Failure(400, _("This answer comes from another sign-in server than the one eISO asked. Start the "
                             "log-in again from eISO's log-in page."))  # fmt: skip
    try:
        token = client.authorize_access_token()
    except MismatchingStateError:
        raise Failure(400, _("This log-in was not started in this browser, was already used, or is too old. Start "
                             "the log-in again from eISO's log-in page."))  # fmt: skip
    except OAuthError as exc:  # the token endpoint refused the code
        raise Failure(400, _("The sign-in server did not accept the log-in (%(detail)s); it may have taken too long. "
                             "Start the log-in again.", detail=exc.error or exc.description))  # fmt: skip
    except requests.RequestException as exc:
        log.warning("single sign-on: token request failed: %s", exc)
        raise _unreachable()
    except (AuthlibBaseError, JoseError, ValueError) as exc:  # the ID token: signature, iss, aud, exp, nonce
        log.warning("single sign-on: ID token refused: %s", exc)
        raise Failure(400, _("eISO could not verify the sign-in server's answer, so you are not logged in. Start "
                             "again; if it happens again, tell your administrator."))  # fmt: skip
    if not token.get("userinfo") or not token.get("id_token"):
        raise Failure(502, _("The sign-in server sent no ID token. Tell your administrator (eISO must be allowed "
                             "the 'openid' scope)."))  # fmt: skip
    claims = dict(token["userinfo"])
    if metadata.get("userinfo_endpoint"):
        claims.update(_userinfo(client, token, claims["sub"]))
    return claims, str(token["id_token"])


def _userinfo(client: Any, token: dict[str, Any], subject: str) -> dict[str, Any]:
    """The provider's UserInfo answer (many providers put the profile and groups there, not in the ID
    token); it must be about the same person as the ID token."""
    try:
        info = dict(client.userinfo(token=token))
    except requests.RequestException as exc:
        log.warning("single sign-on: UserInfo request failed: %s", exc)
        raise _unreachable()
    except ValueError as exc:
        log.warning("single sign-on: UserInfo answer is not JSON: %s", exc)
        raise Failure(502, _("The sign-in server's answer about you could not be read. Tell your administrator."))
    if info.get("sub") != subject:
        raise Failure(400, _("eISO could not verify the sign-in server's answer, so you are not logged in. Start "
                             "again; if it happens again, tell your administrator."))  # fmt: skip
    return info


def end_session_url(id_token: str) -> str | None:
    """Where to send the browser after eISO's own session ended, so the provider's ends too (RP-initiated
    logout with ``id_token_hint`` and ``post_logout_redirect_uri``); None when the provider cannot be told."""
    settings, client = _settings(), current_app.extensions.get(EXTENSION)
    if settings is None or client is None:
        return None
    try:
        metadata = _metadata(client, settings)
    except Failure:
        flash(_("You are logged out of eISO. The sign-in server (%(name)s) could not be reached: log out there too, "
                "or close the browser.", name=provider_name()), "error")  # fmt: skip
        return None
    endpoint = metadata.get("end_session_endpoint")
    if not endpoint:
        flash(_("You are logged out of eISO. To end your session at the sign-in server (%(name)s) too, close the "
                "browser.", name=provider_name()), "success")  # fmt: skip
        return None
    public = current_app.config["EISO_SETTINGS"].public_url.rstrip("/")
    params = {"id_token_hint": id_token, "post_logout_redirect_uri": public + url_for("auth.login"),
              "client_id": settings.client_id}  # fmt: skip
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"


@click.group("sso")
def sso_group() -> None:
    """Single sign-on through an OpenID Connect provider."""


@sso_group.command("check")
@with_appcontext
def sso_check() -> None:
    """Read the provider's discovery document and check the EISO_OIDC_* settings against it and the units."""
    settings: OidcSettings | None = current_app.config["EISO_SETTINGS"].oidc
    if settings is None:
        raise click.ClickException("Single sign-on is not set: EISO_OIDC_ISSUER is empty.")
    public = current_app.config["EISO_SETTINGS"].public_url.rstrip("/")
    click.echo(f"Provider {settings.issuer} (client {settings.client_id}, scopes '{settings.scopes}')")
    click.echo(f"  register at the provider: redirect URI {public}/login/oidc/callback, "
               f"post-logout redirect URI {public}/login")  # fmt: skip
    problems = sso.policy_problems(sa_session(), settings.policy)
    client = current_app.extensions[EXTENSION]
    try:
        metadata = client.load_server_metadata()
    except (requests.RequestException, ValueError) as exc:
        problems.append(f"cannot read {settings.metadata_url}: {exc}")
        metadata = {}
    if metadata:
        if str(metadata.get("issuer", "")).rstrip("/") != settings.issuer.rstrip("/"):
            problems.append(f"the discovery document names the issuer {metadata.get('issuer')!r}")
        problems += [f"the discovery document has no {key}" for key in REQUIRED_METADATA if not metadata.get(key)]
        unsupported = set(settings.scopes.split()) - set(metadata.get("scopes_supported") or settings.scopes.split())
        problems += [f"the provider does not list the scope {scope!r}" for scope in sorted(unsupported)]
        if "S256" not in (metadata.get("code_challenge_methods_supported") or ["S256"]):
            problems.append("the provider does not list PKCE with S256")
        ends = metadata.get("end_session_endpoint")
        click.echo("  sign-out at the provider: " + (ends or "not offered (people close the browser)"))
    policy = settings.policy
    click.echo(f"  people matched by '{policy.match_claim}'; "
               + (f"new people join {policy.new_user_unit}" if policy.create_users else "nobody is created")
               + f"; {len(policy.role_map)} values of '{policy.roles_claim}' mapped to roles")  # fmt: skip
    for problem in problems:
        click.echo(f"  problem: {problem}", err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in the single sign-on settings.")
    click.echo("  all good")
