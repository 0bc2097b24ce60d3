"""The ``EISO_OIDC_*`` settings of single sign-on through an OpenID Connect provider (docs/security.md).

Single sign-on is on when ``EISO_OIDC_ISSUER`` is set; every other variable then has a default except the
client's id and secret. A wrong value stops the start with the variable named.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from engine import ROLES, RoleGrant, SsoPolicy, sso

PREFIX = "EISO_OIDC_"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
BOOLEANS = {"on": True, "true": True, "yes": True, "1": True, "off": False, "false": False, "no": False, "0": False}


class OidcSettingsError(ValueError):
    pass


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    """The provider's issuer URL; its ``/.well-known/openid-configuration`` describes the rest."""
    client_id: str
    client_secret: str
    scopes: str = "openid profile email"
    name: str = ""
    """What the log-in button names: "Đăng nhập bằng <name>" (empty: SSO)."""
    local_login: bool = True
    """Whether the password form of the log-in page stays (HTTP Basic of programs is not affected)."""
    session_hours: int = 10
    """How long an eISO session started through the provider lasts (a working day)."""
    timeout_seconds: int = 10
    policy: SsoPolicy = field(default_factory=SsoPolicy)

    @property
    def metadata_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def parse(env: Mapping[str, str]) -> OidcSettings | None:
    issuer = env.get(PREFIX + "ISSUER", "").strip()
    if not issuer:
        stray = sorted(k for k, v in env.items() if k.startswith(PREFIX) and v.strip())
        if stray:
            raise OidcSettingsError(f"{', '.join(stray)} set, but EISO_OIDC_ISSUER is empty: set the provider's "
                                    "issuer URL too, or remove them.")  # fmt: skip
        return None
    parts = urlsplit(issuer)
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK):
        raise OidcSettingsError(f"EISO_OIDC_ISSUER must be an https:// URL (http only on this machine), "
                                f"not '{issuer}'.")
    if parts.query or parts.fragment:
        raise OidcSettingsError(f"EISO_OIDC_ISSUER must have no query or fragment: '{issuer}'.")
    client_id, secret = env.get(PREFIX + "CLIENT_ID", "").strip(), env.get(PREFIX + "CLIENT_SECRET", "")
    if not client_id or not secret:
        raise OidcSettingsError("EISO_OIDC_CLIENT_ID and EISO_OIDC_CLIENT_SECRET are needed with EISO_OIDC_ISSUER: "
                                "the client registered for eISO at the provider.")  # fmt: skip
    scopes = " ".join(env.get(PREFIX + "SCOPES", "openid profile email").split())
    if "openid" not in scopes.split():
        raise OidcSettingsError(f"EISO_OIDC_SCOPES must contain 'openid', not '{scopes}'.")
    return OidcSettings(
        issuer=issuer,
        client_id=client_id,
        client_secret=secret,
        scopes=scopes,
        name=env.get(PREFIX + "NAME", "").strip(),
        local_login=_bool(env, "LOCAL_LOGIN", True),
        session_hours=_whole(env, "SESSION_HOURS", 10, 720),
        timeout_seconds=_whole(env, "TIMEOUT_SECONDS", 10, 120),
        policy=_policy(env),
    )


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(PREFIX + name, "").strip().lower()
    if not raw:
        return default
    if raw not in BOOLEANS:
        raise OidcSettingsError(f"{PREFIX}{name} must be 'on' or 'off', not '{raw}'.")
    return BOOLEANS[raw]


def _whole(env: Mapping[str, str], name: str, default: int, most: int) -> int:
    raw = env.get(PREFIX + name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise OidcSettingsError(f"{PREFIX}{name} must be a whole number from 1 to {most}, not '{raw}'.")
    return int(raw)


def _role(value: str, where: str) -> str:
    if value not in ROLES:
        raise OidcSettingsError(f"{where}: '{value}' is not a role; use one of {', '.join(ROLES)}.")
    return value


def _policy(env: Mapping[str, str]) -> SsoPolicy:
    match = env.get(PREFIX + "MATCH_CLAIM", "").strip() or "preferred_username"
    if match not in sso.MATCH_CLAIMS:
        raise OidcSettingsError(f"EISO_OIDC_MATCH_CLAIM must be one of {', '.join(sso.MATCH_CLAIMS)}, not '{match}'.")
    create = _bool(env, "CREATE_USERS", False)
    unit = env.get(PREFIX + "NEW_USER_UNIT", "").strip()
    if create and not unit:
        raise OidcSettingsError("EISO_OIDC_CREATE_USERS is on: set EISO_OIDC_NEW_USER_UNIT to the code of the unit "
                                "new people join.")  # fmt: skip
    role = _role(env.get(PREFIX + "NEW_USER_ROLE", "").strip() or "specialist", PREFIX + "NEW_USER_ROLE")
    roles_claim = env.get(PREFIX + "ROLES_CLAIM", "").strip() or "groups"
    department = env.get(PREFIX + "NEW_USER_DEPARTMENT", "").strip()
    role_map = _role_map(env.get(PREFIX + "ROLE_MAP_FILE", "").strip())
    return SsoPolicy(match_claim=match, create_users=create, new_user_unit=unit, new_user_department=department,
                     new_user_role=role, roles_claim=roles_claim, role_map=role_map)


def _role_map(path: str) -> dict[str, tuple[RoleGrant, ...]]:
    """``{"claim value": {"unit": "…", "role": "…", "department": "…"} or a list of them}``."""
    if not path:
        return {}
    where = f"EISO_OIDC_ROLE_MAP_FILE '{path}'"
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OidcSettingsError(f"{where}: cannot read it as JSON: {exc}.")
    if not isinstance(raw, dict):
        raise OidcSettingsError(f'{where} must hold one JSON object, e.g. {{"/eiso/thu-ky": {{"unit": '
                                '"skhcn-daklak", "role": "iso_secretary"}}.')  # fmt: skip
    return {str(value): tuple(_grant(g, f"{where}, '{value}'") for g in (grants if isinstance(grants, list)
                                                                          else [grants]))
            for value, grants in raw.items()}  # fmt: skip


def _grant(item: Any, where: str) -> RoleGrant:
    if not isinstance(item, dict) or not set(item) <= {"unit", "role", "department"}:
        raise OidcSettingsError(f"{where}: each role is an object with 'unit', 'role' and optionally 'department'.")
    unit, role, department = item.get("unit"), item.get("role"), item.get("department")
    if not isinstance(unit, str) or not unit.strip() or not isinstance(role, str):
        raise OidcSettingsError(f"{where}: 'unit' and 'role' must be given as text.")
    if department is not None and (not isinstance(department, str) or not department.strip()):
        raise OidcSettingsError(f"{where}: 'department' must be a department code.")
    return RoleGrant(unit.strip(), _role(role.strip(), where), department.strip() if department else None)
