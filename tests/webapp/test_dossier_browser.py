"""In a real Chromium: the one-stop desk receives a dossier, opens its page and prints its control slip; a
citizen looks it up on a phone-sized page."""

from __future__ import annotations

import re

import pytest

from tests.webapp.test_browser import page, server  # noqa: F401 - the browser and the live server

pytestmark = pytest.mark.browser


def test_the_desk_receives_a_dossier_and_a_citizen_looks_it_up(page) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page.goto("/")
    page.get_by_label("Tên đăng nhập").fill("chuyenvien")
    page.get_by_label("Mật khẩu").fill("demo")
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("link", name="Hồ sơ", exact=True).click()
    page.get_by_role("link", name="Tiếp nhận hồ sơ").click()
    row = page.locator("#procedures tr", has_text="X-quang chẩn đoán trong y tế").first
    row.get_by_role("link").first.click()

    page.get_by_label("Tổ chức, cá nhân nộp hồ sơ").fill("Phòng khám Đa khoa Hòa Bình")
    page.get_by_label("Số điện thoại").fill("0912345678")
    page.get_by_label("Địa chỉ").fill("12 Lê Duẩn, Buôn Ma Thuột")
    page.get_by_label(re.compile("Phiếu khai báo thiết bị X-quang")).first.check()
    page.get_by_role("button", name="Khởi tạo").click()
    page.wait_for_load_state()

    page.goto("/dossiers")
    link = page.locator("#dossiers a").first
    code = link.inner_text().strip()
    assert re.fullmatch(r"SKHCN-\d{6}-0001", code), code
    link.click()
    assert "Phòng khám Đa khoa Hòa Bình" in page.locator("#summary").inner_text()
    assert "1 – Mới đăng ký" in page.locator("#status").inner_text()

    page.locator("#forms li", has_text="Phiếu kiểm soát").get_by_role("link", name="bản in").click()
    heading = page.locator(".heading")
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in heading.inner_text()
    assert "Sở Khoa học và Công nghệ tỉnh Đắk Lắk".upper() in heading.inner_text().upper()
    assert "Kiểm tra tính đầy đủ, hợp lệ của hồ sơ" in page.locator("#slip").inner_text()
    page.emulate_media(media="print")
    assert not page.get_by_role("button", name="In", exact=True).is_visible()  # the print button stays off the paper
    assert page.locator("h1").is_visible()
    page.emulate_media(media="screen")

    citizen = page.context.browser.new_context(base_url=page.url.split("/dossiers")[0], locale="vi-VN",
                                               viewport={"width": 390, "height": 844})  # fmt: skip
    phone = citizen.new_page()
    phone.goto("/units")
    phone.get_by_role("link", name="Tra cứu hồ sơ bằng mã hồ sơ và số điện thoại của bạn").click()
    phone.get_by_label("Mã hồ sơ").fill(code)
    phone.get_by_label("Số điện thoại").fill("0912 345 678")
    phone.get_by_role("button", name="Tra cứu").click()
    assert phone.locator("#lookup-status").inner_text() == "Mới đăng ký"
    assert "Kiểm tra tính đầy đủ, hợp lệ của hồ sơ" in phone.locator("#lookup-steps").inner_text()
    assert "Phòng khám" not in phone.locator("main").inner_text()  # no personal data on the public page
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    phone.get_by_label("Số điện thoại").fill("0912000000")
    phone.get_by_role("button", name="Tra cứu").click()
    assert "hãy kiểm tra lại cả hai" in phone.locator("#lookup-error").inner_text()
    assert phone.locator("#result").count() == 0
    citizen.close()
