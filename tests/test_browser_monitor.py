"""The monitor page and the counter's dossier box in a real Chromium against a real
`goiso serve --demo`: the monitor follows a ticket issued and called without a reload, and a
barcode scanner's Enter in the dossier box adds a line instead of finishing the ticket."""

import re
import sqlite3

import pytest
from playwright.sync_api import Page, expect

from tests.plugins.chromium import watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE_MS = 3000
SSE_PROBE = "window.__sseOpen = 0; document.addEventListener('htmx:sseOpen', () => {" \
            " window.__sseOpen += 1; });"


def sign_in(page: Page, server, login: str, next_path: str, counter: int | None = None):
    page.add_init_script(SSE_PROBE)
    page.goto(server.url(f"/login?next={next_path}"))
    page.fill("input[name=login]", login)
    page.fill("input[name=pin]", server.pins[login])
    if counter is not None:
        page.select_option("select[name=counter]", str(counter))
        page.check("input[name=take_over]")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(server.url(next_path))
    page.wait_for_function("() => window.__sseOpen > 0")


def test_the_monitor_follows_an_issue_and_a_call_live(page, live_server):
    errors = watch_errors(page)
    sign_in(page, live_server, "giamsat", "/admin/monitor")
    waiting = page.locator("#monitor-queues tr[data-queue=GPLX] .waiting")
    before = int(re.match(r"\d+", waiting.inner_text())[0])
    ticket = live_server.issue("DEMO-GT-001")
    expect(waiting).to_have_text(re.compile(rf"^{before + 1}\b"), timeout=LIVE_MS)
    called = live_server.act(1, "next")
    expect(page.locator("#monitor-counters tr[data-counter='1'] .current")).to_have_text(
        called["number"], timeout=LIVE_MS)
    assert called["number"] == ticket["number"] or before > 0
    assert page.evaluate("() => window.__sseOpen") == 1  # one stream, not one per part
    assert errors == []


def test_enter_in_the_dossier_box_adds_a_line_and_finish_records_the_codes(page, live_server):
    errors = watch_errors(page)
    sign_in(page, live_server, "binh", "/counter/2", counter=2)
    ticket = live_server.issue("DEMO-GT-007")
    page.locator("#panel [data-action=next]").click()
    expect(page.locator("#current-number")).to_have_text(ticket["number"], timeout=LIVE_MS)
    box = page.locator("#dossiers")
    box.click()
    page.keyboard.type("HS-001")
    page.keyboard.press("Enter")  # a scanner ends each code with Enter
    # A change in the hall refreshes the panel meanwhile: what was scanned stays, focused.
    other = live_server.issue("DEMO-GT-007")["number"]
    expect(page.locator("#panel .next-list[data-queue=VT]")).to_contain_text(other, timeout=LIVE_MS)
    expect(box).to_have_value("HS-001\n")
    expect(box).to_be_focused()
    page.keyboard.type("HS-002")
    page.keyboard.press("Enter")
    expect(box).to_have_value("HS-001\nHS-002\n")
    expect(page.locator("#current-number")).not_to_have_text("—")  # not finished by Enter
    page.locator("#panel [data-action=finish]").click()
    expect(page.locator("#said")).to_contain_text("Đã hoàn thành", timeout=LIVE_MS)
    with sqlite3.connect(live_server.data_dir / "goiso.db") as db:
        codes = [r[0] for r in db.execute(
            "SELECT d.code FROM dossiers d JOIN tickets t ON t.id = d.ticket_id"
            " WHERE t.token = ? ORDER BY d.id", (ticket["token"],))]
    assert codes == ["HS-001", "HS-002"]
    assert errors == []
