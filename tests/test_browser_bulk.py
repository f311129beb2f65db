"""A bulk move made on /admin/bulk in a real Chromium, against a real `goiso serve --demo`, is
seen on an open hall board within a second (the board follows the per-ticket events)."""

import time

import pytest
from playwright.sync_api import Page, expect

from tests.liveserver import LiveServer
from tests.plugins.chromium import watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with LiveServer(tmp_path_factory.mktemp("bulk-live")) as live:
        yield live


def sign_in(page: Page, server: LiveServer) -> None:
    page.goto(server.url("/login?next=/admin/bulk"))
    page.fill("input[name=login]", "giamsat")
    page.fill("input[name=pin]", server.pins["giamsat"])
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(server.url("/admin/bulk"))


def waiting_on(board: Page, queue: str):
    return board.locator(f"li[data-queue={queue}] strong")


def test_a_bulk_move_is_on_the_board_within_a_second(server: LiveServer, page: Page,
                                                     chromium_browser):
    for _ in range(5):
        server.issue("DEMO-GT-001")  # GPLX
    board = chromium_browser.new_page()
    try:
        board.goto(server.url("/display/main"))
        board.wait_for_function("() => window.goisoBoard !== undefined")
        expect(waiting_on(board, "GPLX")).to_have_text("5")
        expect(waiting_on(board, "VT")).to_have_text("0")
        errors = watch_errors(page)
        sign_in(page, server)
        page.select_option("select[name=queue]", "GPLX")
        page.select_option("select[name=action]", "move")
        page.select_option("select[name=to_queue]", "VT")
        page.get_by_role("button", name="Xem trước").first.click()
        expect(page.locator(".bulk-sentence")).to_have_text(
            "5 vé sẽ chuyển từ Giấy phép lái xe sang Vận tải đường bộ.")
        expect(waiting_on(board, "GPLX")).to_have_text("5")  # a preview changes nothing
        confirm = page.get_by_role("button", name="Xác nhận")
        expect(confirm).to_be_focused()  # Enter confirms: the keyboard is enough
        began = time.monotonic()
        page.keyboard.press("Enter")
        expect(waiting_on(board, "VT")).to_have_text("5", timeout=1000)
        expect(waiting_on(board, "GPLX")).to_have_text("0", timeout=1000)
        seen = time.monotonic() - began
        expect(page.locator("#bulk-message")).to_have_text("Đã xong: 5 vé.")
        assert seen < 1.0, seen
        assert errors == []
    finally:
        board.close()


def test_a_refused_preview_shows_the_error_at_its_field_and_keeps_the_form(
        server: LiveServer, page: Page):
    server.issue("DEMO-GT-007")  # VT
    errors = watch_errors(page)
    sign_in(page, server)
    page.select_option("select[name=queue]", "VT")
    page.select_option("select[name=action]", "cancel")
    page.get_by_role("button", name="Xem trước").first.click()
    reason = page.locator("input[name=reason]")
    expect(page.locator("#error-reason")).to_contain_text("Hãy nêu lý do")
    expect(reason).to_be_focused()
    expect(page.locator("select[name=queue]")).to_have_value("VT")
    reason.fill("khách đã về")
    reason.press("Enter")  # the form's first button: the preview again
    expect(page.locator(".bulk-sentence")).to_contain_text("sẽ bị hủy, lý do: khách đã về")
    assert [e for e in errors if "409" not in e and "400" not in e] == []
