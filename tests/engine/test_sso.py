"""Who a person coming through the OpenID provider is in eISO, whether they may come in, and the roles the
provider's claim gives them (engine/org/sso.py), on SQLite and PostgreSQL. The protocol itself is tested
against a real provider in tests/webapp/test_sso.py."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import ExternalIdentity, RoleAssignment, RoleGrant, SsoPolicy, SsoRefused, User, authenticate, sso
from engine.org.models import Department, Unit
from tests.conftest import Clock, make_unit, make_user

ISSUER = "https://sso.daklak.gov.vn/realms/eiso"
THUKY = {"sub": "kc-1", "preferred_username": "thuky", "name": "Lê Thị Mai Anh"}
ROLE_MAP = {
    "thu-ky": (RoleGrant("skhcn-daklak", "iso_secretary"),),
    "qlkh": (RoleGrant("skhcn-daklak", "department_head", "qlkh"),),
    "lanh-dao-bmt": (RoleGrant("ubnd-buonmathuot", "unit_leader"), RoleGrant("ubnd-buonmathuot", "specialist", "vp")),
    "sai": (RoleGrant("khong-co", "specialist"), RoleGrant("skhcn-daklak", "specialist", "khong-co")),
}
CREATE = SsoPolicy(create_users=True, new_user_unit="skhcn-daklak", new_user_department="qlkh")


def counts(session: Session) -> tuple[int, int, int]:
    session.expire_all()
    return (session.scalar(select(func.count(User.id))) or 0,
            session.scalar(select(func.count(RoleAssignment.id))) or 0,
            session.scalar(select(func.count(ExternalIdentity.id))) or 0)  # fmt: skip


def roles(session: Session, username: str) -> set[tuple[str, str, str | None]]:
    session.expire_all()
    rows = session.execute(select(Unit.code, RoleAssignment.role, Department.code)
                           .join(Unit, Unit.id == RoleAssignment.unit_id)
                           .join(User, User.id == RoleAssignment.user_id)
                           .outerjoin(Department, Department.id == RoleAssignment.department_id)
                           .where(User.username == username))  # fmt: skip
    return {(u, r, d) for u, r, d in rows}


def sign_in(session: Session, clock: Clock, claims: dict[str, Any], policy: SsoPolicy | None = None,
            issuer: str = ISSUER) -> sso.SsoSignIn:  # fmt: skip
    return sso.sign_in(session, issuer, claims, policy or SsoPolicy(), clock.now)


def refused(session: Session, clock: Clock, claims: dict[str, Any], policy: SsoPolicy | None = None) -> SsoRefused:
    before = counts(session)
    with pytest.raises(SsoRefused) as caught:
        sign_in(session, clock, claims, policy)
    session.rollback()
    assert counts(session) == before  # a refusal writes nothing
    return caught.value


# --- who ---------------------------------------------------------------------------------------------------------


def test_the_first_sign_in_links_the_account_and_later_ones_follow_the_link(session: Session, users: dict[str, User],
                                                                            clock: Clock) -> None:  # fmt: skip
    first = sign_in(session, clock, {**THUKY, "email": "maianh@daklak.gov.vn"})
    assert first.user.id == users["thuky"].id and first.linked and not first.created
    link = session.scalar(select(ExternalIdentity))
    assert link is not None and (link.issuer, link.subject, link.user_id) == (ISSUER, "kc-1", users["thuky"].id)
    assert users["thuky"].email == "maianh@daklak.gov.vn"  # the profile follows the provider

    later = clock.advance(days=3)
    renamed = {"sub": "kc-1", "preferred_username": "giamdoc", "name": "Lê T. M. Anh"}  # a name eISO gives another
    again = sign_in(session, clock, renamed)
    assert again.user.id == users["thuky"].id and not again.linked
    assert again.user.full_name == "Lê T. M. Anh" and link.last_login_at == later
    assert counts(session)[2] == 1


def test_the_user_name_matches_without_regard_to_case(session: Session, users: dict[str, User], clock: Clock) -> None:
    assert sign_in(session, clock, {"sub": "kc-9", "preferred_username": "ThuKy"}).user.id == users["thuky"].id


def test_matching_by_sub_and_by_e_mail(session: Session, users: dict[str, User], clock: Clock) -> None:
    by_sub = SsoPolicy(match_claim="sub")
    assert sign_in(session, clock, {"sub": "giamdoc", "preferred_username": "x"}, by_sub).user.id == \
        users["giamdoc"].id
    refused(session, clock, {"sub": "GIAMDOC2", "preferred_username": "giamdoc"}, by_sub)  # sub only, and exact

    by_email = SsoPolicy(match_claim="email")
    found = sign_in(session, clock, {"sub": "kc-2", "email": "ChuyenVien@SKHCN.example.vn"}, by_email)
    assert found.user.id == users["chuyenvien"].id  # no email_verified claim: taken as the provider's word
    unverified = {"sub": "kc-3", "email": "truongphong@skhcn.example.vn", "email_verified": False}
    assert refused(session, clock, unverified, by_email).reason == "unverified_email"
    assert refused(session, clock, {"sub": "kc-4", "preferred_username": "thuky"}, by_email).reason == "missing_claim"


def test_an_e_mail_two_accounts_share_finds_nobody(session: Session, users: dict[str, User], clock: Clock) -> None:
    users["chuyenvien2"].email = users["chuyenvien"].email.upper()
    session.commit()
    claims = {"sub": "kc-5", "email": users["chuyenvien"].email}
    assert refused(session, clock, claims, SsoPolicy(match_claim="email")).reason == "ambiguous"


def test_an_account_linked_to_another_provider_account_is_not_taken_over(session: Session, users: dict[str, User],
                                                                         clock: Clock) -> None:  # fmt: skip
    sign_in(session, clock, THUKY)
    newcomer = {"sub": "kc-77", "preferred_username": "thuky"}  # the name given again at the provider
    problem = refused(session, clock, newcomer)
    assert problem.reason == "linked_elsewhere" and "thuky" in problem.message
    other_provider = sign_in(session, clock, newcomer, issuer="https://dichvucong.daklak.gov.vn")
    assert other_provider.user.id == users["thuky"].id  # one link per provider


def test_a_switched_off_account_is_refused_linked_or_not(session: Session, users: dict[str, User],
                                                         clock: Clock) -> None:  # fmt: skip
    users["giamdoc"].is_active = False
    session.commit()
    assert refused(session, clock, {"sub": "kc-6", "preferred_username": "giamdoc"}).reason == "inactive"
    sign_in(session, clock, THUKY)
    users["thuky"].is_active = False
    session.commit()
    assert refused(session, clock, THUKY).reason == "inactive"


def test_a_person_without_sub_is_refused(session: Session, unit: Unit, clock: Clock) -> None:
    assert refused(session, clock, {"preferred_username": "thuky"}).reason == "no_subject"


# --- new people --------------------------------------------------------------------------------------------------


def test_nobody_is_created_unless_the_administrator_allows_it(session: Session, unit: Unit, clock: Clock) -> None:
    problem = refused(session, clock, {"sub": "kc-10", "preferred_username": "nguyenvanb"})
    assert problem.reason == "unknown" and problem.http_status == 403 and "nguyenvanb" in problem.message


def test_a_new_person_joins_the_configured_unit_and_department(session: Session, unit: Unit, clock: Clock) -> None:
    claims = {"sub": "kc-11", "preferred_username": "nguyenvanb", "name": "Nguyễn Văn B", "email": "b@x.vn"}
    made = sign_in(session, clock, claims, CREATE)
    assert made.created and made.linked
    person = made.user
    assert (person.username, person.full_name, person.email) == ("nguyenvanb", "Nguyễn Văn B", "b@x.vn")
    assert person.department is not None and person.department.code == "qlkh" and person.is_active
    assert roles(session, "nguyenvanb") == {("skhcn-daklak", "specialist", "qlkh")}
    assert authenticate(session, "nguyenvanb", "") is None  # no password anybody knows
    assert person.unit_id == unit.id  # the unit's administrators manage the account from now on
    from engine.org.audit import AuditEntry

    logged = session.scalars(select(AuditEntry).where(AuditEntry.subject_id == person.id)).one()
    assert (logged.action, logged.unit_id, logged.actor_id) == ("person.created_by_sign_on", unit.id, person.id)
    leader = sign_in(session, clock, {"sub": "kc-12", "preferred_username": "lanhdao"},
                     SsoPolicy(create_users=True, new_user_unit="skhcn-daklak", new_user_department="qlkh",
                               new_user_role="unit_leader"))  # fmt: skip
    assert roles(session, leader.user.username) == {("skhcn-daklak", "unit_leader", None)}  # a unit-wide role


def test_a_new_persons_name_taken_in_eiso_gets_a_number(session: Session, users: dict[str, User],
                                                        clock: Clock) -> None:  # fmt: skip
    claims = {"sub": "kc-13", "preferred_username": "someone", "email": "Thuky"}
    made = sign_in(session, clock, {**claims, "preferred_username": ""}, SsoPolicy(match_claim="sub", create_users=True,
                                                                                  new_user_unit="skhcn-daklak"))
    assert made.created and made.user.username == "Thuky-2"  # "thuky" is taken, whatever the case
    assert made.user.id != users["thuky"].id


@pytest.mark.parametrize("where", [("khong-co", ""), ("skhcn-daklak", "khong-co")])
def test_a_missing_unit_for_new_people_is_refused_clearly(session: Session, unit: Unit, clock: Clock,
                                                          where: tuple[str, str]) -> None:  # fmt: skip
    policy = SsoPolicy(create_users=True, new_user_unit=where[0], new_user_department=where[1])
    problem = refused(session, clock, {"sub": "kc-14", "preferred_username": "c"}, policy)
    assert problem.reason == "no_unit" and where[0] in problem.message


# --- roles ---------------------------------------------------------------------------------------------------------


def test_mapped_roles_come_and_go_with_the_claim_and_local_ones_stay(
        session: Session, users: dict[str, User], other_unit: Unit, clock: Clock) -> None:  # fmt: skip
    policy = SsoPolicy(role_map=ROLE_MAP)
    local = ("skhcn-daklak", "specialist", "vp")
    assert roles(session, "chuyenvien") == {local}
    person = {"sub": "kc-20", "preferred_username": "chuyenvien"}

    first = sign_in(session, clock, {**person, "groups": ["thu-ky", "not-mapped"]}, policy)
    assert roles(session, "chuyenvien") == {local, ("skhcn-daklak", "iso_secretary", None)}
    assert first.added == [RoleGrant("skhcn-daklak", "iso_secretary")] and first.removed == []

    second = sign_in(session, clock, {**person, "groups": ["lanh-dao-bmt", "qlkh"]}, policy)
    assert roles(session, "chuyenvien") == {local, ("ubnd-buonmathuot", "unit_leader", None),
                                            ("ubnd-buonmathuot", "specialist", "vp"),
                                            ("skhcn-daklak", "department_head", "qlkh")}  # fmt: skip
    assert second.removed == [RoleGrant("skhcn-daklak", "iso_secretary")]

    sign_in(session, clock, {**person, "groups": "qlkh"}, policy)  # one value as a string
    assert roles(session, "chuyenvien") == {local, ("skhcn-daklak", "department_head", "qlkh")}
    sign_in(session, clock, person, policy)  # no claim: in no group
    assert roles(session, "chuyenvien") == {local}


def test_a_local_grant_of_a_mapped_role_is_the_providers_to_take(session: Session, users: dict[str, User],
                                                                 clock: Clock) -> None:  # fmt: skip
    policy = SsoPolicy(role_map=ROLE_MAP)
    assert ("skhcn-daklak", "iso_secretary", None) in roles(session, "thuky")  # granted in eISO, named by the map
    sign_in(session, clock, {**THUKY, "groups": []}, policy)
    assert roles(session, "thuky") == {("skhcn-daklak", "specialist", "vp")}


def test_without_a_role_map_roles_are_left_alone(session: Session, users: dict[str, User], clock: Clock) -> None:
    before = roles(session, "thuky")
    sign_in(session, clock, {**THUKY, "groups": ["thu-ky", "qlkh"]})
    assert roles(session, "thuky") == before


def test_a_role_map_naming_what_eiso_lacks_skips_it_and_says_so(
        session: Session, users: dict[str, User], clock: Clock, caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    result = sign_in(session, clock, {**THUKY, "groups": ["sai", "qlkh"]}, SsoPolicy(role_map=ROLE_MAP))
    assert ("skhcn-daklak", "department_head", "qlkh") in roles(session, "thuky")  # the rest still applies
    assert result.problems == ["the role map names khong-co, which eISO does not have",
                               "the role map names skhcn-daklak/khong-co, which eISO does not have",
                               "the role map names ubnd-buonmathuot, which eISO does not have",
                               "the role map names ubnd-buonmathuot/vp, which eISO does not have"]  # fmt: skip
    assert "khong-co" in caplog.text


def test_a_person_without_a_department_takes_the_first_mapped_one(session: Session, unit: Unit, clock: Clock) -> None:
    make_user(session, "moi", unit, ("internal_auditor",))
    sign_in(session, clock, {"sub": "kc-30", "preferred_username": "moi", "groups": ["qlkh"]},
            SsoPolicy(role_map=ROLE_MAP))  # fmt: skip
    person = session.scalar(select(User).where(User.username == "moi"))
    assert person is not None and person.department is not None and person.department.code == "qlkh"


def test_claims_reached_by_a_dotted_path(unit: Unit) -> None:
    claims = {"realm_access": {"roles": ["a", 3, "b"]}, "groups": "g", "odd": {"x": 1}}
    assert sso.claim_values(claims, "realm_access.roles") == ["a", "b"]
    assert sso.claim_values(claims, "groups") == ["g"]
    assert sso.claim_values(claims, "odd") == [] and sso.claim_values(claims, "realm_access.nothing") == []


def test_two_first_sign_ins_at_once_make_one_link(session: Session, users: dict[str, User], clock: Clock,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    match = sso._match
    raced: list[bool] = []

    def the_other_tab_wins(*args: Any) -> Any:
        found = match(*args)
        if not raced:
            raced.append(True)
            session.add(ExternalIdentity(user_id=found.id, issuer=ISSUER, subject="kc-1", created_at=clock.now,
                                         last_login_at=clock.now))  # fmt: skip
        return found

    monkeypatch.setattr(sso, "_match", the_other_tab_wins)
    assert sign_in(session, clock, THUKY).user.id == users["thuky"].id
    assert raced and counts(session)[2] == 1


def test_another_units_people_are_matched_as_anyone(session: Session, unit: Unit, clock: Clock) -> None:
    other = make_unit(session)
    outsider = make_user(session, "thuky_bmt", other, ("iso_secretary",), "vp")
    policy = SsoPolicy(role_map={"thu-ky": (RoleGrant("ubnd-buonmathuot", "iso_secretary", "vp"),)})
    result = sign_in(session, clock, {"sub": "kc-40", "preferred_username": "thuky_bmt", "groups": ["thu-ky"]}, policy)
    assert result.user.id == outsider.id
    assert roles(session, "thuky_bmt") == {("ubnd-buonmathuot", "iso_secretary", None),  # granted in eISO
                                           ("ubnd-buonmathuot", "iso_secretary", "vp")}  # mapped; none in the demo unit


def test_only_a_verified_e_mail_replaces_the_one_eiso_has(session: Session, users: dict[str, User],
                                                          clock: Clock) -> None:  # fmt: skip
    kept = users["thuky"].email
    sign_in(session, clock, {**THUKY, "email": "lure@example.vn", "email_verified": False, "name": " "})
    assert users["thuky"].email == kept and users["thuky"].full_name == "Lê Thị Mai Anh"
    sign_in(session, clock, {**THUKY, "email": "maianh@daklak.gov.vn", "email_verified": True})
    assert users["thuky"].email == "maianh@daklak.gov.vn"


def test_a_single_sign_on_session_ends_after_its_hours_and_goes_at_the_next_log_in(
        session: Session, users: dict[str, User], clock: Clock) -> None:  # fmt: skip
    from datetime import timedelta

    from engine.org.login_sessions import Lifetime, LoginSession, id_token_of, open_session, session_user

    thuky = users["thuky"]
    started = clock.now
    day = Lifetime(idle=timedelta(hours=11), max_age=timedelta(hours=12))
    token = open_session(session, thuky, started, day, ends_after=timedelta(hours=10), id_token="a.b.c")
    password = open_session(session, thuky, started, day)  # a password log-in keeps the whole lifetime
    assert id_token_of(session, token) == "a.b.c" and id_token_of(session, password) is None
    assert session_user(session, token, started + timedelta(hours=9, minutes=59), day) is thuky
    assert session_user(session, token, started + timedelta(hours=10), day) is None
    assert session_user(session, password, started + timedelta(hours=10, minutes=30), day) is thuky

    open_session(session, thuky, started + timedelta(hours=10), day)  # the ended row (and its ID token) goes
    assert id_token_of(session, token) is None
    assert session_user(session, password, started + timedelta(hours=11), day) is thuky
    assert session.scalar(select(func.count(LoginSession.id))) == 2
