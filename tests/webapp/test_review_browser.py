"""A real Chromium walks the management review with three people, each in a browser of their own: the ISO
secretary drafts the notice, the leader returns it once and approves it, a department head reports (the two
other heads report through the API), the secretary consolidates and records the meeting, the leader approves
the conclusion; then the head finds the review in the register and marks their department's action."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from tests.webapp.test_browser import CHROMIUM, server  # noqa: F401 - the live server fixture

pytestmark = pytest.mark.browser
TOPICS = ("c2) Mức độ đạt được các mục tiêu chất lượng", "f) Các cơ hội cải tiến")


@pytest.fixture
def browser(server: str) -> Iterator[Any]:  # noqa: F811 - the fixture imported above
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium on this machine")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )  # fmt: skip
        yield launched, server
        launched.close()


def person(browser: Any, username: str) -> Any:
    """A browser window of this person's own (own cookies), logged in."""
    launched, address = browser
    page = launched.new_context(base_url=address, locale="vi-VN").new_page()
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill("demo")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/")
    return page


def open_task(page: Any, name: str) -> None:
    page.goto("/")
    page.get_by_role("link", name=name).first.click()
    page.wait_for_url("**/tasks/*")


def complete(page: Any) -> None:
    page.get_by_role("button", name="Hoàn thành công việc").click()
    page.wait_for_url("**/instances/*")
    assert page.get_by_text("Đã hoàn thành công việc").is_visible()


def _basic(user: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:demo".encode()).decode()}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_three_people_walk_the_management_review(browser: Any, db_url: str) -> None:
    secretary, leader, head = person(browser, "thuky"), person(browser, "giamdoc"), person(browser, "truongphong2")
    meeting_day = date.today() + timedelta(days=20)

    secretary.get_by_role("link", name="Khởi tạo quy trình").click()
    secretary.locator("[data-start=management_review]").click()
    secretary.get_by_label("Năm xem xét").fill(str(meeting_day.year))
    secretary.get_by_label("Số thông báo").fill("15/TB-SKHCN")
    secretary.get_by_label("Tên cuộc xem xét").fill("Xem xét của lãnh đạo năm nay")
    secretary.get_by_label("Ngày họp dự kiến").fill(meeting_day.isoformat())
    for box in secretary.locator("input[name=topics]").all():
        box.set_checked(False)
    for topic in TOPICS:
        secretary.get_by_role("checkbox", name=topic).check()
    secretary.get_by_label("Nội dung thông báo").fill("Họp tại phòng họp số 2; các phòng gửi báo cáo trước 3 ngày.")
    complete(secretary)

    open_task(leader, "Phê duyệt thông báo xem xét")
    assert leader.get_by_text("Xem xét của lãnh đạo năm nay").first.is_visible()
    leader.get_by_label("Trả lại để chỉnh sửa").check()
    leader.get_by_label("Lý do trả lại").fill("Ghi rõ giờ họp")
    complete(leader)

    open_task(secretary, "Soạn thông báo và nội dung cần báo cáo")
    assert secretary.get_by_text("Ghi rõ giờ họp").is_visible()  # the leader's reason, on the returned draft
    secretary.get_by_label("Nội dung thông báo").fill("Họp lúc 8 giờ tại phòng họp số 2.")
    complete(secretary)
    open_task(leader, "Phê duyệt thông báo xem xét")
    leader.get_by_label("Phê duyệt, gửi thông báo").check()
    complete(leader)

    head.goto("/notices")
    assert head.get_by_text("Thông báo xem xét của lãnh đạo: Xem xét của lãnh đạo năm nay").first.is_visible()
    open_task(head, "Lãnh đạo phòng báo cáo")
    assert head.get_by_text("Phòng Quản lý Khoa học").first.is_visible()
    assert not head.get_by_label("a) Tình trạng các hành động từ những lần xem xét trước").is_visible()  # not asked
    head.get_by_label(TOPICS[0]).fill("Đạt 4/5 mục tiêu; mục tiêu đúng hạn đạt 97%")
    head.get_by_label(TOPICS[1]).fill("Số hóa hồ sơ lưu trữ")
    complete(head)
    for other in ("truongphong", "truongphong3"):  # the two other heads report from their own systems
        [task] = [t for t in secretary.request.get("/api/v1/tasks", headers=_basic(other)).json()["claimable"]
                  if t["name"] == "Lãnh đạo phòng báo cáo"]  # fmt: skip
        done = secretary.request.post(f"/api/v1/tasks/{task['id']}/complete", headers=_basic(other), data={
            "variables": {"report": {"objectives": "Đạt", "improvement": "Không có"}}})  # fmt: skip
        assert done.ok, done.text()

    open_task(secretary, "Tổng hợp báo cáo xem xét")
    assert secretary.get_by_text("Đạt 4/5 mục tiêu; mục tiêu đúng hạn đạt 97%").is_visible()
    secretary.get_by_label(TOPICS[0]).fill("Các phòng đạt phần lớn mục tiêu")
    secretary.get_by_label(TOPICS[1]).fill("Số hóa hồ sơ")
    complete(secretary)
    open_task(secretary, "Tổ chức họp và ghi kết luận cuộc họp")
    secretary.get_by_label("Ngày họp*", exact=True).fill(meeting_day.isoformat())
    secretary.get_by_label("Thành phần tham dự").fill("Ban Giám đốc, lãnh đạo các phòng")
    secretary.get_by_label("Kết luận cuộc họp").fill("Hệ thống phù hợp và có hiệu lực")
    secretary.get_by_label("Quyết định*", exact=True).fill("Duy trì mục tiêu chất lượng")
    secretary.get_by_label("Hành động*", exact=True).fill("Số hóa hồ sơ lưu trữ năm trước")
    secretary.get_by_label("Một phòng").check()
    department = secretary.get_by_label("Phòng chịu trách nhiệm")
    department.wait_for(state="visible")  # shown once the owner is a department
    department.select_option("qlkh")
    secretary.get_by_label("Hạn hoàn thành").fill((meeting_day + timedelta(days=60)).isoformat())
    complete(secretary)

    open_task(leader, "Kết luận và phê duyệt báo cáo xem xét")
    assert leader.get_by_role("cell", name="Phòng Quản lý Khoa học").is_visible()  # the owner by name, not code
    leader.get_by_label("Phê duyệt báo cáo xem xét").check()
    leader.get_by_label("Kết luận của lãnh đạo đơn vị").fill("Phê duyệt; các phòng thực hiện đúng hạn")
    complete(leader)

    head.goto("/")
    head.get_by_role("link", name="Hệ thống ISO").click()  # the registers are listed on the ISO home page
    head.locator("#iso-registers").get_by_role("link", name="Xem xét của lãnh đạo", exact=True).click()
    head.get_by_role("link", name="Xem xét của lãnh đạo năm nay").click()
    assert head.get_by_text("Phê duyệt; các phòng thực hiện đúng hạn").is_visible()
    row = head.locator("#actions tr[data-action]")
    row.get_by_label("Trạng thái").select_option("in_progress")
    row.get_by_label("Ghi chú").fill("Đã giao chuyên viên Bùi Thị Thu Hà")
    row.get_by_role("button", name="Lưu").click()
    assert head.get_by_text("Hành động đã chuyển sang “Đang thực hiện”").is_visible()
    assert head.locator("#actions").get_by_text("Đã giao chuyên viên Bùi Thị Thu Hà").is_visible()

    head.set_viewport_size({"width": 390, "height": 844})  # the register pages fit a phone too
    for path in ("/iso/reviews", head.url.split("#")[0], "/iso/reviews/actions", "/iso/assignments"):
        head.goto(path)
        assert head.evaluate("document.documentElement.scrollWidth") <= 390, path
