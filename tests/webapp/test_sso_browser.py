"""A real Chromium logs in to eISO through a real OpenID provider, works a task, logs out of both, and
cannot get in again once the provider's administrator removed the person."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Clock
from tests.webapp.oidc_provider import OidcProvider, eiso_server, sso_env

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.browser


@pytest.fixture
def server(provider: OidcProvider, tmp_path: Path, clock: Clock) -> Iterator[str]:
    for url, _app in eiso_server(provider, tmp_path, clock, sso_env(provider)):
        yield url


@pytest.fixture
def page(server: str) -> Iterator[object]:
    if not CHROMIUM.exists():
        if os.environ.get("EISO_REQUIRE_BROWSER") == "1":
            pytest.fail("/usr/bin/chromium is required (apt-get install chromium)")
        pytest.skip("no /usr/bin/chromium on this machine")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )  # fmt: skip
        context = browser.new_context(base_url=server, locale="vi-VN")
        yield context.new_page()
        browser.close()


def test_log_in_through_the_provider_work_a_task_log_out_and_be_removed(page, server: str,  # type: ignore[no-untyped-def]
                                                                         provider: OidcProvider) -> None:  # fmt: skip
    provider.add("kc-0001", "mat-khau-tinh", preferred_username="thuky", name="Lê Thị Mai Anh",
                 email="thuky@skhcn.example.vn", email_verified=True)  # fmt: skip
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)

    page.goto("/")
    page.get_by_role("link", name="Đăng nhập bằng Keycloak tỉnh").click()
    page.wait_for_url(f"{provider.issuer}/interaction/**")
    page.get_by_label("Login").fill("thuky")
    page.get_by_label("Password").fill("mat-khau-tinh")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Allow").click()

    page.wait_for_url(f"{server}/")
    assert page.locator("a.who").inner_text() == "Lê Thị Mai Anh"
    page.get_by_role("link", name="Khởi tạo quy trình").click()
    page.locator("[data-start=quality_objectives]").click()
    page.get_by_label("Năm áp dụng").fill("2027")
    page.get_by_label("Tên bộ mục tiêu").fill("Mục tiêu chất lượng năm 2027")
    page.get_by_label("Mục tiêu*", exact=True).fill("100% hồ sơ giải quyết đúng hạn")
    page.get_by_label("Chỉ tiêu và cách đo lường").fill("Tỷ lệ đúng hạn ≥ 100%")
    page.get_by_label("Phòng chịu trách nhiệm").select_option("vp")
    page.get_by_label("Thời hạn hoàn thành").fill("2027-12-31")
    page.get_by_role("button", name="Hoàn thành công việc").click()
    page.wait_for_url("**/instances/*")
    assert page.get_by_text("Đã hoàn thành công việc").is_visible()
    assert page.locator("tr.task-open").get_by_text("Xem xét, phê duyệt mục tiêu").is_visible()

    page.get_by_role("button", name="Đăng xuất").click()  # eISO's session ends, then the provider's
    page.wait_for_url(f"{provider.issuer}/session/end**")
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{server}/login**")
    assert page.locator("a.who").count() == 0
    assert refused == []  # the log-out form may go on to the provider's sign-out page

    provider.remove("kc-0001")  # the provider's administrator removes the person
    page.get_by_role("link", name="Đăng nhập bằng Keycloak tỉnh").click()
    page.get_by_label("Login").fill("thuky")
    page.get_by_label("Password").fill("mat-khau-tinh")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "Invalid login or password."
    page.goto("/instances")
    page.wait_for_url(f"{server}/login**")
    assert page.locator("a.who").count() == 0
