"""Hall screens in a browser that asks for English and lives in UTC (a Raspberry Pi with an en-GB
locale and no time zone set, a headless browser), against a real `goiso serve --demo` (issue 10,
defects 1 and 2).

The kiosk, the board and the rating tablet start in Vietnamese (the hall's ``default_language``)
and show the hall's clock (Asia/Ho_Chi_Minh); ``?lang=en`` or the English link switches; an idle
kiosk comes back to Vietnamese. The counter page and the phone page may follow the browser.
"""

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.liveserver import LiveServer
from tests.plugins.chromium import VIEWPORT, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HALL_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")  # the demo hall's zone (the settings' default)
IDLE_SECONDS = 3
CONFIG = f"[kiosk]\nidle_seconds = {IDLE_SECONDS}\n"
START_VI, START_EN = "Mời chọn lĩnh vực", "Please choose a field"
RATE_IDLE_VI = "Xin chào quý khách. Sau khi được phục vụ, xin mời đánh giá tại đây."
RATE_IDLE_EN = "Welcome. After your service, please rate it here."


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[LiveServer]:
    """A demo hall whose kiosks go back to the start after 3 s untouched."""
    with LiveServer(tmp_path_factory.mktemp("screens"), config_text=CONFIG) as started:
        yield started


@pytest.fixture
def english_utc(chromium_browser: Browser) -> Iterator[BrowserContext]:
    """A browser context that asks for English (en-GB) and lives in UTC."""
    context = chromium_browser.new_context(viewport=VIEWPORT, locale="en-GB", timezone_id="UTC")
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def device(english_utc: BrowserContext) -> Page:
    """A page of that context."""
    return english_utc.new_page()


def html_lang(page: Page) -> str:
    return page.evaluate("document.documentElement.lang")


def hall_times(fmt: str) -> re.Pattern:
    """The hall's wall clock now or a minute ago (the page may have drawn it just before)."""
    now = datetime.now(HALL_ZONE)
    return re.compile("^(" + "|".join(
        re.escape((now - timedelta(minutes=m)).strftime(fmt)) for m in (0, 1, -1)) + ")$")


def assert_the_browser_is_english_and_utc(page: Page) -> None:
    """The context is what it claims: the test would prove nothing otherwise."""
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "UTC"
    assert page.evaluate("navigator.language") == "en-GB"


# -- the kiosk ----------------------------------------------------------------------------------

def test_kiosk_speaks_vietnamese_and_shows_the_hall_clock(server, device):
    errors = watch_errors(device)
    device.goto(server.url("/kiosk/k1"))
    assert_the_browser_is_english_and_utc(device)
    expect(device.locator("h1")).to_have_text(START_VI)
    assert html_lang(device) == "vi"
    expect(device.locator("#clock")).to_have_text(hall_times("%H:%M"))

    # A citizen chooses English: the kiosk switches…
    device.get_by_role("link", name="English").click()
    expect(device.locator("h1")).to_have_text(START_EN)
    assert html_lang(device) == "en"
    expect(device.locator("#clock")).to_have_text(hall_times("%H:%M"))
    # …and, left alone, comes back to the hall's language by itself.
    expect(device.locator("h1")).to_have_text(START_VI, timeout=(IDLE_SECONDS + 5) * 1000)
    assert html_lang(device) == "vi"

    # ?lang=en in the address switches too; the idle return undoes it as well.
    device.goto(server.url("/kiosk/k1?lang=en"))
    expect(device.locator("h1")).to_have_text(START_EN)
    expect(device.locator("h1")).to_have_text(START_VI, timeout=(IDLE_SECONDS + 5) * 1000)
    # Opened again without ?lang=: the hall's language, not the last citizen's nor the browser's.
    device.goto(server.url("/kiosk/k1"))
    expect(device.locator("h1")).to_have_text(START_VI)
    assert errors == []


# -- the board ----------------------------------------------------------------------------------

def test_board_speaks_vietnamese_and_shows_the_hall_date_and_time(server, device):
    errors = watch_errors(device)
    device.goto(server.url("/display/main"))
    assert_the_browser_is_english_and_utc(device)
    assert html_lang(device) == "vi"
    expect(device.locator(".recent h2")).to_have_text("Vừa gọi")
    device.wait_for_function("() => window.goisoBoard !== undefined")
    expect(device.locator("#clock")).to_have_text(hall_times("%H:%M"))
    expect(device.locator("#date")).to_have_text(hall_times("%d/%m/%Y"))

    # A board set up in English says so in its address; its live part stays English.
    device.goto(server.url("/display/main?lang=en"))
    assert html_lang(device) == "en"
    expect(device.locator(".recent h2")).to_have_text("Just called")
    ticket = requests.post(server.url("/api/v1/tickets"), json={"procedure": "DEMO-GT-001"},
                           timeout=5).json()
    response = requests.post(server.url("/api/v1/counters/2/call"), timeout=5,
                             json={"number": ticket["number"]},
                             headers={"Authorization": f"Bearer {server.tokens[2]}"})
    assert response.status_code == 200, response.text
    expect(device.locator("#newest-number")).to_have_text(ticket["number"])
    expect(device.locator(".newest-label")).to_have_text("Number")
    expect(device.locator(".recent h2")).to_have_text("Just called")
    assert errors == []


def test_board_on_a_device_whose_clock_is_wrong_shows_the_hall_time(server, english_utc):
    # A Pi without a real-time clock boots hours behind; the board corrects by the server's.
    english_utc.clock.install(time=datetime.now(HALL_ZONE) - timedelta(hours=5, minutes=17))
    page = english_utc.new_page()
    page.goto(server.url("/display/main"))
    assert abs(page.evaluate("Date.now()") / 1000 - datetime.now().timestamp()) > 5 * 3600
    expect(page.locator("#clock")).to_have_text(hall_times("%H:%M"))
    expect(page.locator("#date")).to_have_text(hall_times("%d/%m/%Y"))


# -- the rating tablet --------------------------------------------------------------------------

def test_rating_tablet_speaks_vietnamese(server, device):
    errors = watch_errors(device)
    device.goto(server.url("/rate/3"))
    assert_the_browser_is_english_and_utc(device)
    expect(device.locator(".rate-idle")).to_have_text(RATE_IDLE_VI)
    assert html_lang(device) == "vi"
    device.goto(server.url("/rate/3?lang=en"))
    expect(device.locator(".rate-idle")).to_have_text(RATE_IDLE_EN)
    assert html_lang(device) == "en"
    assert errors == []


# -- staff and phone pages may follow the browser -----------------------------------------------

def test_the_phone_page_speaks_the_hall_and_sign_in_the_browser(server, device):
    ticket = requests.post(server.url("/api/v1/tickets"), json={"procedure": "DEMO-GT-007"},
                           timeout=5).json()
    device.goto(server.url(f"/t/{ticket['token']}"))
    assert html_lang(device) == "vi"  # the hall's, though the phone is set to English
    device.get_by_role("link", name="English").click()
    assert html_lang(device) == "en"
    # The time it was issued is the hall's (the server writes it), whatever the phone's zone.
    issued = datetime.fromisoformat(ticket["issued_at"]).astimezone(HALL_ZONE)
    expect(device.locator("main")).to_contain_text(f"Issued at {issued:%H:%M}.")
    device.goto(server.url("/login"))
    assert html_lang(device) == "en"
    expect(device.locator("h1")).to_have_text("Staff sign-in")
