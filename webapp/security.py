"""What every answer says to the browser (CSP, framing, sniffing, referrer, HTTPS), session cookies
marked ``Secure`` over HTTPS, and the guard that keeps other sites from using a browser's cached
HTTP Basic credentials against the JSON API and /engine-rest.

Pages load scripts, styles, fonts and images (and ``data:`` images, bpmn-js's logo) from this site
only, with no inline script or style: page behaviours live in ``static/*.js``. bpmn-js styles its
elements through the CSSOM, which the policy allows.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, abort, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])  # fmt: skip
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000"
API_PREFIXES = ("/api/", "/engine-rest/")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Bodies a browser sends cross-site without asking the server first (no CORS preflight).
PREFLIGHT_FREE_TYPES = {"", "application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
# Deployments are multipart by nature (Camunda Modeler's Deploy comes from its desktop pages, Origin null).
DEPLOY_PATHS = ("/api/v1/deployments", "/engine-rest/deployment/create")


class SessionInterface(SecureCookieSessionInterface):
    """The session cookie is ``Secure`` when the request came over HTTPS (also through a trusted
    proxy, see ``EISO_PROXY_COUNT``) or eISO's public address is https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or request.is_secure


def security_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def _foreign_origin() -> bool:
    origin = request.headers.get("Origin")
    return origin is not None and origin.rstrip("/") != request.host_url.rstrip("/")


def _from_other_site() -> bool:
    return request.headers.get("Sec-Fetch-Site") in ("cross-site", "same-site") or _foreign_origin()


def guard_api() -> Any:
    """Refuse state-changing API requests that another site's page could have made the browser send
    with its cached credentials: a form or page navigation, or a cross-site request of a kind that
    needs no CORS preflight. Clients that are not browsers send neither ``Sec-Fetch-*`` nor ``Origin``
    and are not affected; browser scripts of other sites send JSON, which needs a preflight."""
    if not request.path.startswith(API_PREFIXES) or request.method in SAFE_METHODS:
        return None
    if request.headers.get("Sec-Fetch-Mode") in ("navigate", "nested-navigate", "no-cors"):
        abort(403, _("The API does not accept forms or page loads from a browser; send JSON from a program."))
    deploy_from_app = request.path in DEPLOY_PATHS and request.mimetype == "multipart/form-data"
    if _from_other_site() and request.mimetype in PREFLIGHT_FREE_TYPES and not deploy_from_app:
        abort(403, _("Requests from other sites must send their body as JSON (Content-Type: application/json)."))
    return None


def basic_challenge_allowed() -> bool:
    """Ask for HTTP Basic credentials (``WWW-Authenticate``) only where no browser would show its
    log-in dialog and keep what is typed: never for a page load or a request of eISO's own pages."""
    if request.headers.get("Sec-Fetch-Mode") in ("navigate", "nested-navigate"):
        return False
    return request.headers.get("Sec-Fetch-Site") not in ("same-origin", "none")


def register(app: Flask) -> None:
    app.session_interface = SessionInterface()
    app.before_request(guard_api)
    app.after_request(security_headers)
