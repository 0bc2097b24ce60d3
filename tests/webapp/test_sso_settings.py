"""The EISO_OIDC_* settings: read once at the start; a wrong value stops the start with the variable named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import RoleGrant
from webapp.settings import Settings, SettingsError

BASE = {"EISO_OIDC_ISSUER": "https://sso.daklak.gov.vn/realms/eiso", "EISO_OIDC_CLIENT_ID": "eiso",
        "EISO_OIDC_CLIENT_SECRET": "s3cret"}  # fmt: skip


def _settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(env, instance_path=tmp_path, secret_key="x")


def test_without_an_issuer_there_is_no_single_sign_on(tmp_path: Path) -> None:
    assert _settings(tmp_path).oidc is None


def test_the_defaults(tmp_path: Path) -> None:
    oidc = _settings(tmp_path, **BASE).oidc
    assert oidc is not None
    assert oidc.metadata_url == "https://sso.daklak.gov.vn/realms/eiso/.well-known/openid-configuration"
    assert (oidc.scopes, oidc.local_login, oidc.session_hours, oidc.name) == ("openid profile email", True, 10, "")
    policy = oidc.policy
    assert (policy.match_claim, policy.create_users, policy.roles_claim, dict(policy.role_map)) == \
        ("preferred_username", False, "groups", {})


def test_every_setting_read(tmp_path: Path) -> None:
    roles = tmp_path / "roles.json"
    roles.write_text(json.dumps({"/g/thu-ky": {"unit": "skhcn-daklak", "role": "iso_secretary"},
                                 "lanh-dao": [{"unit": "u1", "role": "unit_leader"},
                                              {"unit": "u1", "role": "specialist", "department": "vp"}]}))  # fmt: skip
    oidc = _settings(tmp_path, **BASE, EISO_OIDC_SCOPES=" openid  email groups ", EISO_OIDC_NAME="Keycloak tỉnh",
                     EISO_OIDC_LOCAL_LOGIN="off", EISO_OIDC_SESSION_HOURS="8", EISO_OIDC_MATCH_CLAIM="email",
                     EISO_OIDC_CREATE_USERS="on", EISO_OIDC_NEW_USER_UNIT="skhcn-daklak",
                     EISO_OIDC_NEW_USER_DEPARTMENT="vp", EISO_OIDC_NEW_USER_ROLE="internal_auditor",
                     EISO_OIDC_ROLES_CLAIM="realm_access.roles", EISO_OIDC_ROLE_MAP_FILE=str(roles)).oidc  # fmt: skip
    assert oidc is not None
    assert (oidc.scopes, oidc.name, oidc.local_login, oidc.session_hours) == ("openid email groups", "Keycloak tỉnh",
                                                                              False, 8)  # fmt: skip
    p = oidc.policy
    assert (p.match_claim, p.create_users, p.new_user_unit, p.new_user_department, p.new_user_role, p.roles_claim) == \
        ("email", True, "skhcn-daklak", "vp", "internal_auditor", "realm_access.roles")
    assert dict(p.role_map) == {"/g/thu-ky": (RoleGrant("skhcn-daklak", "iso_secretary"),),
                                "lanh-dao": (RoleGrant("u1", "unit_leader"), RoleGrant("u1", "specialist", "vp"))}


@pytest.mark.parametrize(("env", "named"), [
    ({"EISO_OIDC_CLIENT_ID": "eiso"}, "EISO_OIDC_ISSUER"),  # a client without a provider
    ({**BASE, "EISO_OIDC_ISSUER": "http://sso.daklak.gov.vn"}, "https://"),  # plain HTTP off this machine
    ({**BASE, "EISO_OIDC_ISSUER": "https://sso.daklak.gov.vn/?realm=x"}, "EISO_OIDC_ISSUER"),
    ({**BASE, "EISO_OIDC_CLIENT_SECRET": ""}, "EISO_OIDC_CLIENT_SECRET"),
    ({**BASE, "EISO_OIDC_SCOPES": "profile email"}, "EISO_OIDC_SCOPES"),
    ({**BASE, "EISO_OIDC_MATCH_CLAIM": "name"}, "EISO_OIDC_MATCH_CLAIM"),
    ({**BASE, "EISO_OIDC_CREATE_USERS": "on"}, "EISO_OIDC_NEW_USER_UNIT"),
    ({**BASE, "EISO_OIDC_CREATE_USERS": "maybe"}, "EISO_OIDC_CREATE_USERS"),
    ({**BASE, "EISO_OIDC_LOCAL_LOGIN": "disabled"}, "EISO_OIDC_LOCAL_LOGIN"),
    ({**BASE, "EISO_OIDC_SESSION_HOURS": "0"}, "EISO_OIDC_SESSION_HOURS"),
    ({**BASE, "EISO_OIDC_SESSION_HOURS": "721"}, "EISO_OIDC_SESSION_HOURS"),
    ({**BASE, "EISO_OIDC_NEW_USER_ROLE": "boss"}, "EISO_OIDC_NEW_USER_ROLE"),
])  # fmt: skip
def test_a_wrong_value_stops_the_start(tmp_path: Path, env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        _settings(tmp_path, **env)


def test_plain_http_is_allowed_on_this_machine(tmp_path: Path) -> None:
    oidc = _settings(tmp_path, **{**BASE, "EISO_OIDC_ISSUER": "http://127.0.0.1:8080/realms/eiso"}).oidc
    assert oidc is not None and oidc.issuer == "http://127.0.0.1:8080/realms/eiso"


@pytest.mark.parametrize("content", ['{"g": ', '["g"]', '{"g": {"unit": "u"}}', '{"g": {"unit": "u", "role": "boss"}}',
                                     '{"g": {"unit": " ", "role": "admin"}}', '{"g": {"unit": "u", "role": "admin",'
                                     ' "dept": "vp"}}', '{"g": {"unit": "u", "role": "admin", "department": 3}}',
                                     '{"g": ["u"]}', None])  # fmt: skip
def test_an_unusable_role_map_stops_the_start(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "roles.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SettingsError, match="EISO_OIDC_ROLE_MAP_FILE") as refused:
        _settings(tmp_path, **BASE, EISO_OIDC_ROLE_MAP_FILE=str(path))
    assert str(path) in str(refused.value)
