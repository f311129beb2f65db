"""The counter page in a real Chromium against a real `goiso serve --demo`: sign-in and
take-over, every action by click and by key, live updates, the citizen's rating screen,
sign-out; no console errors and no request leaving the hall's server.

One server for the module; each test works where the others leave nothing behind:

* counter 1 (GPLX, numbers 1001…): sign-in and take-over, clicks, live updates, sign-out;
* counter 3 (clerk "giang"): signing in from the counter's own page;
* counter 5 (TKQ only, D001…): the keyboard;
* counter 6 (HD E001…, and TKQ): a live refresh while the clerk is half-way through;
* counter 4 (DTND C001…, and VT): the rating screen (counter 1 may still be inside the
  30-second rating window of a ticket the click test finished).
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from tests.plugins.chromium import LOCALE, VIEWPORT
from tests.plugins.web import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE_MS = 2000  # a change anywhere in the hall reaches an open page within this
SIGN_IN = "Nhân viên đăng nhập"
NOTHING_CALLED = "Chưa gọi số nào."
PAUSED = "Quầy đang tạm dừng."
IDLE_RATE = "Xin chào quý khách. Sau khi được phục vụ, xin mời đánh giá tại đây."
THANKS = "Cảm ơn quý khách đã đánh giá!"
LEVELS = ["Rất hài lòng", "Hài lòng", "Không hài lòng"]
# Set before any script of a page: the SSE extension's "open" events, counted.
SSE_PROBE = "window.__sseOpen = 0; document.addEventListener('htmx:sseOpen', () => {" \
            " window.__sseOpen += 1; });"


# -- browsing: contexts, and what they must never do --------------------------------------------

@dataclass
class Watched:
    """A page and what it did wrong: console errors, uncaught exceptions, foreign requests."""

    page: Page
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)


class Browsing:
    """Fresh browser contexts (one per person) against ``server``, closed after the test."""

    def __init__(self, browser: Browser, server: LiveServer):
        self.browser = browser
        self.server = server
        self.watched: list[Watched] = []
        self._contexts = []

    def new_page(self) -> Page:
        context = self.browser.new_context(viewport=VIEWPORT, locale=LOCALE)
        self._contexts.append(context)
        page = context.new_page()
        page.add_init_script(SSE_PROBE)
        w = Watched(page)
        host = urlsplit(self.server.base_url).netloc
        page.on("console", lambda m: w.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: w.errors.append(str(exc)))
        page.on("request", lambda r: w.foreign.append(r.url)
                if not r.url.startswith("data:") and urlsplit(r.url).netloc != host else None)
        self.watched.append(w)
        return page

    def check(self, allowed: dict[Page, str] | None = None) -> None:
        """No foreign request on any page; no console error but those ``allowed`` (a regex
        per page: the expected refusals, e.g. a 403 once a colleague took the counter)."""
        allowed = allowed or {}
        for w in self.watched:
            assert w.foreign == [], w.foreign
            pattern = allowed.get(w.page)
            unexpected = [e for e in w.errors if not (pattern and re.search(pattern, e))]
            assert unexpected == [], (w.page.url, unexpected)

    def close(self) -> None:
        for context in self._contexts:
            context.close()


@pytest.fixture
def browse(chromium_browser, live_server) -> Iterator[Browsing]:
    browsing = Browsing(chromium_browser, live_server)
    try:
        yield browsing
    finally:
        browsing.close()


# -- helpers -------------------------------------------------------------------------------------

def fill_sign_in(page: Page, server: LiveServer, login: str, counter: int,
                 take_over: bool = False) -> None:
    """Fill the sign-in form (already open) and submit it."""
    page.fill("input[name=login]", login)
    page.fill("input[name=pin]", server.pins[login])
    page.select_option("select[name=counter]", str(counter))
    if take_over:
        page.check("input[name=take_over]")
    page.get_by_role("button", name="Đăng nhập").click()


def seat(page: Page, server: LiveServer, login: str, counter: int) -> None:
    """Sign ``login`` in at ``counter`` (taking it over) and wait for the live counter page."""
    page.goto(server.url("/counter/"))
    fill_sign_in(page, server, login, counter, take_over=True)
    expect(page).to_have_url(server.url(f"/counter/{counter}"))
    wait_live(page)


def wait_live(page: Page) -> None:
    """Wait until the page's event stream is open (changes from now on reach it)."""
    page.wait_for_function("() => window.__sseOpen > 0")


def issue(server: LiveServer, procedure: str) -> str:
    """Issue a ticket through the JSON API (as a kiosk would); its number."""
    return issue_ticket(server, procedure)["number"]


def issue_ticket(server: LiveServer, procedure: str) -> dict:
    """Issue a ticket through the JSON API; the ticket (number, token, …)."""
    response = requests.post(server.url("/api/v1/tickets"), json={"procedure": procedure},
                             timeout=5)
    assert response.status_code == 201, response.text
    return response.json()


def ticket_state(server: LiveServer, token: str) -> dict:
    response = requests.get(server.url(f"/api/v1/tickets/{token}"), timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def counter_api(server: LiveServer, counter: int, action: str, **body) -> dict:
    """An action of ``counter`` through the API, with the counter's device token."""
    response = requests.post(server.url(f"/api/v1/counters/{counter}/{action}"), json=body,
                             headers={"Authorization": f"Bearer {server.tokens[counter]}"},
                             timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def button(page: Page, words: str):
    """An action button of the panel by its words (its key follows them in a <kbd>)."""
    return page.locator("#panel").get_by_role("button", name=re.compile("^" + re.escape(words)))


def current(page: Page):
    return page.locator("#current-number")


def said(page: Page):
    """What the page says about the last press."""
    return page.locator("#said")


def waiting_list(page: Page, queue: str):
    return page.locator(f"#panel ul.next-list[data-queue={queue}]")


def acted(page: Page, posts: list[str]) -> None:
    """Record every action the page posts into ``posts``."""
    page.on("request", lambda r: posts.append(r.url)
            if r.method == "POST" and "/act/" in r.url else None)


# -- 1: sign-in, refusal, take-over ------------------------------------------------------------

def test_sign_in_and_take_over(live_server, browse):
    first = browse.new_page()
    first.goto(live_server.url("/counter/"))
    expect(first).to_have_url(re.compile(r"/login\?next=(/|%2F)counter(/|%2F)$"))
    expect(first.locator("h1")).to_have_text(SIGN_IN)
    fill_sign_in(first, live_server, "an", 1)
    expect(first).to_have_url(live_server.url("/counter/1"))
    expect(first.locator("h1")).to_have_text("Quầy 1")
    expect(first.locator(".counter-head .who")).to_have_text("Nguyễn Văn An")
    expect(current(first)).to_have_text("—")
    wait_live(first)

    # A colleague asks for the same counter: refused, and told who holds it.
    second = browse.new_page()
    second.goto(live_server.url("/counter/"))
    fill_sign_in(second, live_server, "binh", 1)
    expect(second.get_by_role("alert")).to_have_text("Quầy 1 đang do Nguyễn Văn An phụ trách.")
    expect(second.locator("h1")).to_have_text(SIGN_IN)
    expect(second.locator("input[name=login]")).to_have_value("binh")
    expect(second.locator("select[name=counter]")).to_have_value("1")
    assert second.evaluate("fetch('/api/v1/session').then(r => r.json())")["role"] == "public"
    # The first clerk keeps working meanwhile.
    first.reload()
    expect(first).to_have_url(live_server.url("/counter/1"))
    expect(first.locator(".counter-head .who")).to_have_text("Nguyễn Văn An")
    wait_live(first)

    # With "take over" the colleague gets the counter…
    fill_sign_in(second, live_server, "binh", 1, take_over=True)
    expect(second).to_have_url(live_server.url("/counter/1"))
    expect(second.locator("h1")).to_have_text("Quầy 1")
    expect(second.locator(".counter-head .who")).to_have_text("Trần Thị Bình")

    # …and the first clerk's page, live, lands on the sign-in form for that counter.
    expect(first.locator("h1")).to_have_text(SIGN_IN, timeout=5000)
    expect(first).to_have_url(re.compile(r"/login\?"))
    expect(first.locator("select[name=counter]")).to_have_value("1")
    # Even a reload does not bring the counter back.
    first.goto(live_server.url("/counter/1"))
    expect(first.locator("h1")).to_have_text(SIGN_IN)
    # Refused once the seat was gone: the panel's refresh (403), reported by the browser and
    # by htmx before counter.js sends the page to sign-in.
    browse.check({first: r"status of 403|Error Code 403 from /counter/1/panel",
                  second: r"status of 401"})


def test_signing_in_from_a_counter_page_lands_on_it(live_server, browse):
    # Counter 3 and clerk "giang" are this test's alone.
    page = browse.new_page()
    page.goto(live_server.url("/counter/3"))
    expect(page.locator("h1")).to_have_text(SIGN_IN)
    expect(page.locator("select[name=counter]")).to_have_value("3")
    page.fill("input[name=login]", "giang")
    page.fill("input[name=pin]", live_server.pins["giang"])
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(live_server.url("/counter/3"))
    expect(page.locator("h1")).to_have_text("Quầy 3")
    expect(page.locator(".counter-head .who")).to_have_text("Hoàng Văn Giang")
    wait_live(page)
    assert page.evaluate("fetch('/api/v1/session').then(r => r.json())")["counter"] == 3
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.locator("h1")).to_have_text(SIGN_IN)
    browse.check()


# -- 2: every action by clicking --------------------------------------------------------------

def test_every_action_by_clicking(live_server, browse):
    page = browse.new_page()
    seat(page, live_server, "an", 1)

    # Before any call: the buttons that need a ticket are disabled and say why.
    expect(current(page)).to_have_text("—")
    for words in ("Gọi lại", "Vắng mặt", "Hoàn thành"):
        expect(button(page, words)).to_be_disabled()
        expect(button(page, words)).to_have_accessible_description(NOTHING_CALLED)
    expect(page.locator("#panel summary[data-action=transfer]")) \
        .to_have_attribute("aria-disabled", "true")

    numbers = [issue(live_server, "DEMO-GT-001") for _ in range(3)]
    assert numbers == ["1001", "1002", "1003"]
    expect(waiting_list(page, "GPLX").locator("strong")).to_have_text(numbers, timeout=LIVE_MS)

    button(page, "Gọi tiếp").click()
    expect(current(page)).to_have_text("1001")
    expect(said(page)).to_have_text("Đã gọi số 1001.")
    expect(waiting_list(page, "GPLX").locator("strong")).to_have_text(numbers[1:])

    button(page, "Gọi lại").click()
    expect(said(page)).to_have_text("Đã gọi lại số 1001.")
    expect(page.locator("#panel .current")).to_contain_text("Đã gọi lại 1 lần")

    page.locator("#panel select[name=outcome]").select_option(label="Hồ sơ chưa đủ")
    button(page, "Hoàn thành").click()
    expect(said(page)).to_have_text("Đã hoàn thành số 1001.")
    expect(current(page)).to_have_text("—")
    expect(page.locator("#served")).to_have_text("1")

    button(page, "Gọi tiếp").click()
    expect(current(page)).to_have_text("1002")
    button(page, "Vắng mặt").click()
    expect(said(page)).to_have_text("Số 1002 vắng mặt.")
    expect(current(page)).to_have_text("—")

    page.locator("#call-number").fill("1003")
    button(page, "Gọi số").click()
    expect(current(page)).to_have_text("1003")
    expect(said(page)).to_have_text("Đã gọi số 1003.")

    page.locator("#panel summary[data-action=transfer]").click()
    transfer = page.locator("#panel details.transfer")
    expect(transfer).to_have_attribute("open", "")
    transfer.get_by_role("button", name="Vận tải đường bộ").click()
    expect(said(page)).to_have_text("Đã chuyển số 1003.")
    expect(current(page)).to_have_text("—")

    button(page, "Tạm dừng").click()
    expect(said(page)).to_have_text("Quầy tạm dừng.")
    expect(page.locator("#panel .desk-status")).to_have_text("Quầy đang tạm dừng")
    expect(button(page, "Gọi tiếp")).to_be_disabled()
    expect(button(page, "Gọi tiếp")).to_have_accessible_description(PAUSED)
    expect(page.locator("#why-next")).to_have_text(PAUSED)
    expect(page.locator("#call-number")).to_be_disabled()

    button(page, "Tiếp tục").click()
    expect(said(page)).to_have_text("Quầy tiếp tục làm việc.")
    expect(page.locator("#panel .desk-status")).to_have_text("Quầy đang mở")
    expect(button(page, "Tạm dừng")).to_be_enabled()
    expect(page.locator("#call-number")).to_be_enabled()
    # Nobody waits for counter 1 now: "next" is disabled again, for that reason.
    expect(button(page, "Gọi tiếp")).to_have_accessible_description("Không còn ai chờ.")
    browse.check()


# -- 3: keyboard (a USB numeric keypad) --------------------------------------------------------

def test_keyboard_shortcuts(live_server, browse):
    page = browse.new_page()
    posts: list[str] = []
    seat(page, live_server, "giang", 5)
    numbers = [issue(live_server, "DEMO-GT-021") for _ in range(3)]  # TKQ: D001…
    first, second, third = numbers
    expect(page.locator("#panel ul.next-list[data-queue=TKQ] strong")) \
        .to_have_text(numbers, timeout=LIVE_MS)
    acted(page, posts)

    page.keyboard.press("NumpadAdd")
    expect(current(page)).to_have_text(first)
    expect(said(page)).to_have_text(f"Đã gọi số {first}.")
    page.keyboard.press("*")
    expect(said(page)).to_have_text(f"Đã gọi lại số {first}.")
    page.keyboard.press("-")
    expect(said(page)).to_have_text(f"Số {first} vắng mặt.")
    expect(current(page)).to_have_text("—")
    assert len(posts) == 3, posts

    # "." goes to the number field; what is typed there is text, never a shortcut.
    page.keyboard.press(".")
    field = page.locator("#call-number")
    expect(field).to_be_focused()
    page.keyboard.press("+")
    page.keyboard.press("NumpadAdd")
    page.keyboard.press("-")
    page.keyboard.press("*")
    page.keyboard.press("/")
    expect(field).to_have_value("++-*/")
    page.wait_for_timeout(300)  # room for a wrong press to go out
    assert len(posts) == 3, posts
    expect(current(page)).to_have_text("—")
    field.press("Control+a")
    page.keyboard.type(third)
    expect(field).to_have_value(third)
    page.keyboard.press("Enter")  # submits the field's form: calls that number, not "finish"
    expect(current(page)).to_have_text(third)
    expect(said(page)).to_have_text(f"Đã gọi số {third}.")
    assert len(posts) == 4, posts
    assert posts[-1].endswith("/counter/5/act/call"), posts
    # The call is made: the keypad's keys are shortcuts again.
    expect(field).not_to_be_focused()

    page.keyboard.press("Enter")
    expect(said(page)).to_have_text(f"Đã hoàn thành số {third}.")
    expect(current(page)).to_have_text("—")

    page.keyboard.press("/")
    expect(said(page)).to_have_text("Quầy tạm dừng.")
    expect(button(page, "Gọi tiếp")).to_be_disabled()
    expect(button(page, "Gọi tiếp")).to_have_accessible_description(PAUSED)
    # Paused: "+" and "." do nothing.
    page.keyboard.press("+")
    page.keyboard.press(".")
    expect(field).not_to_be_focused()
    page.keyboard.press("/")
    expect(said(page)).to_have_text("Quầy tiếp tục làm việc.")
    expect(button(page, "Gọi tiếp")).to_be_enabled()
    assert [p.rsplit("/", 1)[1] for p in posts] == \
        ["next", "recall", "no-show", "call", "finish", "pause", "resume"]

    # The one still waiting, called by the keypad, and finished: TKQ is left empty.
    page.keyboard.press("+")
    expect(current(page)).to_have_text(second)
    page.keyboard.press("Enter")
    expect(current(page)).to_have_text("—")
    browse.check()


# -- 4: live updates --------------------------------------------------------------------------

def test_live_update_without_reload(live_server, browse):
    page = browse.new_page()
    seat(page, live_server, "an", 1)
    page.evaluate("window.__stillHere = true")
    gplx = waiting_list(page, "GPLX")
    before = current(page).inner_text()

    number = issue(live_server, "DEMO-GT-002")
    expect(gplx).to_contain_text(number, timeout=LIVE_MS)

    called = counter_api(live_server, 2, "call", number=number)
    assert (called["number"], called["counter"]["number"]) == (number, 2)
    expect(gplx.locator("strong", has_text=number)).to_have_count(0, timeout=LIVE_MS)
    expect(gplx).to_contain_text("Không có ai chờ.")
    expect(current(page)).to_have_text(before)
    assert page.evaluate("window.__stillHere") is True
    counter_api(live_server, 2, "finish")
    browse.check()


# -- 5: a live refresh keeps what the clerk is doing ------------------------------------------

def test_live_refresh_keeps_what_the_clerk_is_doing(live_server, browse):
    page = browse.new_page()
    seat(page, live_server, "hoa", 6)
    served = issue_ticket(live_server, "DEMO-GT-022")  # HD: E001…
    number = served["number"]
    hd = waiting_list(page, "HD")
    expect(hd).to_contain_text(number, timeout=LIVE_MS)
    field = page.locator("#call-number")
    field.fill(number)
    button(page, "Gọi số").click()
    expect(current(page)).to_have_text(number)

    # Half-way through: an outcome chosen, the transfer panel open, a number being typed…
    page.locator("#panel select[name=outcome]").select_option(label="Hướng dẫn nơi khác")
    page.locator("#panel summary[data-action=transfer]").click()
    page.keyboard.press(".")
    page.keyboard.type("12")
    # …when someone takes a ticket: the panel refreshes (the new number shows up)…
    other = issue(live_server, "DEMO-GT-022")
    expect(hd).to_contain_text(other, timeout=LIVE_MS)
    # …and all of it is still there, with what the last press did.
    expect(field).to_have_value("12")
    expect(field).to_be_focused()
    expect(page.locator("#panel details.transfer")).to_have_attribute("open", "")
    expect(page.locator("#panel select[name=outcome]")).to_have_value("referred")
    expect(said(page)).to_have_text(f"Đã gọi số {number}.")
    # The keypad still types into the field; Escape leaves it, and the keys act again.
    page.keyboard.press("+")
    expect(field).to_have_value("12+")
    page.keyboard.press("Escape")
    expect(field).not_to_be_focused()
    page.keyboard.press("Enter")
    expect(said(page)).to_have_text(f"Đã hoàn thành số {number}.")
    ticket = ticket_state(live_server, served["token"])
    assert (ticket["status"], ticket["outcome"]) == ("done", "referred")
    browse.check()


# -- 6: the citizen's rating screen --------------------------------------------------------------

def test_rating_screen(live_server, browse):
    screen = browse.new_page()  # the screen facing the citizen: nobody signed in
    screen.goto(live_server.url("/rate/4"))
    expect(screen.locator("h1")).to_have_text("Quầy 4")
    expect(screen.locator(".rate-idle")).to_have_text(IDLE_RATE)
    wait_live(screen)

    clerk = browse.new_page()
    seat(clerk, live_server, "dung", 4)
    number = issue(live_server, "DEMO-GT-015")  # DTND: C001…
    expect(clerk.locator("#panel ul.next-list[data-queue=DTND]")).to_contain_text(
        number, timeout=LIVE_MS)
    clerk.locator("#call-number").fill(number)
    button(clerk, "Gọi số").click()
    expect(current(clerk)).to_have_text(number)
    # Calling is not finishing: the screen stays idle.
    expect(screen.locator(".rate-idle")).to_be_visible()
    button(clerk, "Hoàn thành").click()
    expect(current(clerk)).to_have_text("—")

    levels = screen.locator(".rate-button")
    expect(levels).to_have_text(LEVELS, timeout=LIVE_MS)
    expect(screen.locator(".rate-question")).to_contain_text(number)
    levels.filter(has_text=LEVELS[0]).click()
    thanks = screen.locator(".rate-thanks")
    expect(thanks).to_have_text(THANKS)
    expect(levels).to_have_count(0)
    # The thanks stays up long enough to be read (the "rated" event refreshes the screen).
    screen.wait_for_timeout(1000)
    expect(thanks).to_be_visible()
    expect(levels).to_have_count(0)
    # The clerk's page counts it, live.
    totals = clerk.locator("#panel .totals")
    expect(totals.locator("dt", has_text=re.compile(f"^{LEVELS[0]}$"))
           .locator("xpath=following-sibling::dd[1]")).to_have_text("1", timeout=LIVE_MS)
    browse.check()


# -- 7: sign-out --------------------------------------------------------------------------------

def test_sign_out_frees_the_counter(live_server, browse):
    page = browse.new_page()
    seat(page, live_server, "an", 1)
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.locator("h1")).to_have_text(SIGN_IN)
    expect(page).to_have_url(re.compile(r"/login\?"))
    assert page.evaluate("fetch('/api/v1/session').then(r => r.json())")["role"] == "public"
    page.goto(live_server.url("/counter/1"))
    expect(page.locator("h1")).to_have_text(SIGN_IN)

    # The seat is free: a colleague sits down without taking over.
    other = browse.new_page()
    other.goto(live_server.url("/counter/"))
    fill_sign_in(other, live_server, "cuong", 1)
    expect(other).to_have_url(live_server.url("/counter/1"))
    expect(other.locator(".counter-head .who")).to_have_text("Lê Văn Cường")
    other.get_by_role("button", name="Đăng xuất").click()
    expect(other.locator("h1")).to_have_text(SIGN_IN)
    browse.check()
