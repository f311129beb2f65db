"""The phone page in a real Chromium with a phone's screen, against a real ``goiso serve``:
a ticket followed from issue to its call, recall, transfer, finish and rating, with the page
frozen in the background meanwhile; the reminder at N ahead; polling where streams are
blocked; what it weighs; and axe-core on every state.

The tests of this module share one live server and use queues of their own (GPLX and VT for
the journey, TKQ, HD and DTND for the others) so that their orders do not meet."""

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.liveserver import LiveServer
from tests.plugins.accessibility import MODERATE, axe_violations
from tests.plugins.chromium import watch_errors
from tests.plugins.waiting import wait_for

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2, "locale": "en-US"}  # a phone set to English
# What the page hands to the system, watched on the way: notifications and vibrations.
SPY = """
window.__notes = []; window.__buzz = [];
const RealNotification = window.Notification;
function SpyNotification(title, options) {
  window.__notes.push(title);
  try { return new RealNotification(title, options); } catch (e) { return {}; }
}
SpyNotification.requestPermission = (...args) => RealNotification.requestPermission(...args);
Object.defineProperty(SpyNotification, 'permission', {get: () => RealNotification.permission});
window.Notification = SpyNotification;
Object.defineProperty(Navigator.prototype, 'vibrate',
  {configurable: true, value: (pattern) => { window.__buzz.push(pattern); return true; }});
"""


@pytest.fixture
def phone(chromium_browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A page in a phone's context (390×844, touch, English), notifications allowed."""
    context = chromium_browser.new_context(**PHONE)
    context.grant_permissions(["notifications"], origin=live_server.base_url)
    context.add_init_script(SPY)
    try:
        yield context.new_page()
    finally:
        context.close()


def follow(page: Page, server: LiveServer, ticket: dict) -> None:
    page.goto(server.url(f"/t/{ticket['token']}"))
    expect(page.locator("h1 .number")).to_have_text(ticket["number"])
    expect(page.locator("#live")).to_have_text("Tự cập nhật trực tiếp.", timeout=5000)


def status(page: Page):
    return page.locator("#status")


def no_violations(page: Page, state: str) -> None:
    found = axe_violations(page, MODERATE)
    assert not found, f"{state}: {found}"


def test_a_ticket_followed_from_issue_to_rating(phone: Page, live_server: LiveServer):
    server, page = live_server, phone
    errors = watch_errors(page)
    first, second = server.issue("DEMO-GT-001"), server.issue("DEMO-GT-002")
    mine = server.issue("DEMO-GT-001")
    follow(page, server, mine)
    expect(page.locator("html")).to_have_attribute("lang", "vi")  # the hall's, not the phone's
    expect(status(page)).to_contain_text("Số người chờ trước bạn: 2")
    assert page.title() == f"Số {mine['number']} · 2 người phía trước"
    no_violations(page, "waiting")

    # The reminder at 1 ahead, with the browser's permission.
    page.locator("#alert-n").select_option("1")
    page.get_by_role("button", name="Bật nhắc").click()
    expect(page.locator("#alert-state")).to_contain_text("sẽ báo khi còn 1 người")
    assert page.evaluate("window.__notes") == []
    began = time.monotonic()
    assert server.act(1)["number"] == first["number"]
    expect(status(page)).to_contain_text("Số người chờ trước bạn: 1", timeout=5000)
    seen = time.monotonic() - began
    wait_for(lambda: page.evaluate("window.__notes").count(
        "Sắp đến lượt của bạn: còn 1 người phía trước.") == 1, "the reminder's notification", 5)
    assert page.evaluate("window.__buzz")  # and it buzzed
    print(f"phone page: a call reached the page {seen * 1000:.0f} ms after the counter's press")

    # Asleep in the background while the ticket is called: awake, the call fills the screen.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Page.setWebLifecycleState", {"state": "frozen"})
    assert server.act(2)["number"] == second["number"]
    server.act(1, "finish")
    assert server.act(1)["number"] == mine["number"]
    cdp.send("Page.setWebLifecycleState", {"state": "active"})
    called = page.locator(".called")
    expect(called).to_be_visible(timeout=5000)
    expect(called).to_contain_text("Mời bạn đến Quầy 1")
    expect(called).to_contain_text(mine["number"])
    box = called.bounding_box()
    assert box["width"] >= 389 and box["height"] >= 843  # the whole screen
    expect(page).to_have_title(f"Mời đến Quầy 1 · số {mine['number']}")
    wait_for(lambda: len(page.evaluate("window.__notes")) == 2, "the call's notification", 5)
    assert len(page.evaluate("window.__buzz")) == 2
    no_violations(page, "called")

    # Understood; a recall brings it back.
    page.get_by_role("button", name="Đã hiểu").click()
    expect(called).to_be_hidden()
    server.act(1, "recall")
    expect(called).to_be_visible(timeout=5000)
    expect(called).to_contain_text("gọi lại lần 1")
    page.get_by_role("button", name="Đã hiểu").click()

    # Sent on to another queue: the new queue and the place in it.
    server.act(1, "transfer", {"queue": "VT"})
    expect(status(page)).to_contain_text("Vé đã được chuyển từ Giấy phép lái xe sang Vận tải"
                                         " đường bộ.", timeout=5000)
    expect(status(page)).to_contain_text("Số người chờ trước bạn: 0")
    expect(called).to_be_hidden()

    # Served at counter 3, then rated from the phone.
    assert server.act(3)["number"] == mine["number"]
    expect(called).to_contain_text("Mời bạn đến Quầy 3", timeout=5000)
    expect(called).to_be_visible()
    page.get_by_role("button", name="Đã hiểu").click()
    server.act(3, "finish")
    expect(status(page)).to_contain_text("Đã phục vụ xong", timeout=5000)
    expect(page.locator("#alert-me")).to_be_hidden()
    no_violations(page, "done, rating asked")
    page.get_by_role("button", name="Hài lòng", exact=True).click()
    expect(status(page)).to_contain_text("Cảm ơn bạn đã đánh giá: Hài lòng.")
    no_violations(page, "rated")
    assert errors == []


def test_polling_where_streams_are_blocked(phone: Page, live_server: LiveServer):
    """A proxy (or the hall's cap) refuses the stream: the page polls and still follows."""
    server, page = live_server, phone
    refused = []

    def refuse(route):
        refused.append(route.request.url)
        route.fulfill(status=503, body="{}", content_type="application/json")

    page.route(re.compile(r".*/t/[^/]+/events.*"), refuse)
    mine = server.issue("DEMO-GT-021")  # TKQ: counter 5
    page.goto(server.url(f"/t/{mine['token']}"))
    expect(status(page)).to_contain_text("Số người chờ trước bạn: 0")
    # The predicate asks the page something: Playwright runs the route handler meanwhile.
    wait_for(lambda: page.evaluate("1") and len(refused) >= 3, "three refused streams", 30)
    expect(page.locator("#live")).to_have_text("Tự cập nhật mỗi 10 giây.")
    server.act(5)
    expect(page.locator(".called")).to_contain_text("Mời bạn đến Quầy 5", timeout=15000)


def test_the_page_weighs_under_20_kb(phone: Page, live_server: LiveServer):
    """Everything the page loads, as sent over the wire (compressed), headers included."""
    page = phone
    loaded = []
    page.on("requestfinished", lambda request: loaded.append(request))
    mine = live_server.issue("DEMO-GT-022")  # HD: counter 6
    follow(page, live_server, mine)
    page.wait_for_load_state("networkidle")
    sizes = {}
    for request in loaded:
        if request.url.split("?")[0].endswith("/events"):
            continue  # the stream stays open; what it sends is measured below
        used = request.sizes()
        sizes[request.url.removeprefix(live_server.base_url)] = \
            used["responseBodySize"] + used["responseHeadersSize"]
    total = sum(sizes.values())
    print(f"phone page: {total} bytes over the wire {sizes}")
    assert any(u.startswith("/t/") for u in sizes) and any(u.endswith(".js") for u in sizes)
    assert total <= 20_000, sizes
    outside = [r.url for r in loaded if not r.url.startswith(live_server.base_url + "/")]
    assert outside == []


def test_the_english_page_and_the_end_of_the_day(phone: Page, live_server: LiveServer):
    page = phone
    mine = live_server.issue("DEMO-GT-015")  # DTND: counter 4
    follow(page, live_server, mine)
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(status(page)).to_contain_text("People ahead of you: 0")
    expect(page.locator("#live")).to_have_text("Updating live.", timeout=5000)
    live_server.act(4)
    expect(page.locator(".called")).to_contain_text("Please go to Quầy 4", timeout=5000)
    no_violations(page, "called, in English")
    page.goto(live_server.url("/t/" + "x" * 22 + "?lang=en"))
    expect(page.locator("h1")).to_have_text("This ticket is no longer valid")
    no_violations(page, "unknown ticket")
