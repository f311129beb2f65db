"""The screens citizens and clerks see, in a real Chromium against a real `goiso serve --demo`:
axe-core finds no critical or serious violation on the hall board, the counter page (and its
fragments opened on their own), the rating tablet, the home, sign-in and error pages, in every
state they can be in; the board's text is legible from 10 m on a 43" TV; every call is also
shown as the sentence the voice says (in a live region), again when the counter recalls it.

One server for the module; the tests share it and each uses the counters named in it: the
boards counters 1 and 3, the counter page counter 1 (clerk "an"), the rating tablet counter 4,
the recall counter 2 (clerk "binh"), the legibility test fills counters 1, 2, 3, 5 and 6.
"""

from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from display.config import DEFAULT_TEMPLATE
from tests.liveserver import LiveServer
from tests.plugins.accessibility import axe_violations
from tests.plugins.chromium import ASK_FIRST, AUTOPLAY, LOCALE, browser_with_policy
from tests.plugins.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HIGHLIGHT_S = 3
CONFIG = (f"[board]\nhighlight_seconds = {HIGHLIGHT_S}\npoll_seconds = 1\n\n"
          "[voice]\nspeed = 300\n")
TV = {"width": 1920, "height": 1080}
TVS = [TV, {"width": 1366, "height": 768}, {"width": 1280, "height": 720}]
# A counter's procedure in the demo hall (the queue it serves first).
PROCEDURE_OF = {1: "DEMO-GT-001", 2: "DEMO-GT-001", 3: "DEMO-GT-007", 4: "DEMO-GT-015",
                5: "DEMO-GT-021", 6: "DEMO-GT-022"}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[LiveServer]:
    """The demo hall with a short highlight, 1 s polling and the default sentence said fast."""
    with LiveServer(tmp_path_factory.mktemp("access"), config_text=CONFIG) as live:
        yield live


@pytest.fixture(scope="module")
def tv_browser(chromium_browser) -> Iterator[Browser]:
    """Chromium allowed to play sound without a tap (a hall TV's set-up)."""
    with browser_with_policy(chromium_browser, AUTOPLAY) as browser:
        yield browser


@pytest.fixture
def asking_browser(chromium_browser) -> Iterator[Browser]:
    """Chromium that plays sound only after a tap (a browser's ordinary policy)."""
    with browser_with_policy(chromium_browser, ASK_FIRST) as browser:
        yield browser


class Pages:
    """Pages, each in its own browser context (one person or one screen), closed at the end."""

    def __init__(self, browser: Browser, server: LiveServer):
        self.browser = browser
        self.server = server
        self._contexts = []

    def open(self, path: str, viewport: dict = TV, before=None) -> Page:
        context = self.browser.new_context(viewport=viewport, locale=LOCALE)
        self._contexts.append(context)
        page = context.new_page()
        page.add_init_script("window.__sseOpen = 0; document.addEventListener("
                             "'htmx:sseOpen', () => { window.__sseOpen += 1; });")
        if before:
            before(page)
        if path:
            page.goto(self.server.url(path))
        return page

    def close(self) -> None:
        for context in self._contexts:
            context.close()


@pytest.fixture
def pages(tv_browser, server) -> Iterator[Pages]:
    opened = Pages(tv_browser, server)
    try:
        yield opened
    finally:
        opened.close()


def clean(page: Page, state: str) -> None:
    """No critical or serious axe-core violation on ``page`` as it is now."""
    found = axe_violations(page)
    assert not found, f"{state} ({page.url}):\n" + "\n".join(found)


def sign_before(page: Page, selector: str) -> str:
    """What CSS draws before ``selector`` (the sign that tells an error from a success)."""
    return page.evaluate("(s) => getComputedStyle(document.querySelector(s), '::before')"
                         ".content", selector)


def issue(server: LiveServer, procedure: str) -> str:
    response = requests.post(server.url("/api/v1/tickets"), json={"procedure": procedure},
                             timeout=5)
    assert response.status_code == 201, response.text
    return response.json()["number"]


def act(server: LiveServer, counter: int, action: str = "next") -> dict:
    """A counter's action with its device token; the ticket it concerns."""
    response = requests.post(server.url(f"/api/v1/counters/{counter}/{action}"), json={},
                             headers={"Authorization": f"Bearer {server.tokens[counter]}"},
                             timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def call(server: LiveServer, counter: int) -> str:
    """Issue a ticket the counter serves and call the next one there; the number called."""
    issue(server, PROCEDURE_OF[counter])
    return act(server, counter)["number"]


def sentence(number: str, counter: int) -> str:
    """What the voice says for a call, written with digits (the default template)."""
    return DEFAULT_TEMPLATE.format(number=number, counter=counter)


def seat(page: Page, server: LiveServer, login: str, counter: int) -> None:
    """Sign ``login`` in at ``counter`` (taking it over) and wait for the live counter page."""
    page.goto(server.url("/counter/"))
    page.fill("input[name=login]", login)
    page.fill("input[name=pin]", server.pins[login])
    page.select_option("select[name=counter]", str(counter))
    page.check("input[name=take_over]")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(server.url(f"/counter/{counter}"))
    page.wait_for_function("() => window.__sseOpen > 0")


def live_board(pages: Pages, path: str = "/display/main", **options) -> Page:
    page = pages.open("", **options)
    with page.expect_response(lambda r: "/api/v1/events" in r.url):
        page.goto(pages.server.url(path))
    return page


# -- 1: the board in every state -----------------------------------------------------------------

def test_the_board_passes_axe_in_every_state(server, pages):
    board = live_board(pages)
    expect(board.locator("#newest.empty")).to_be_visible()
    clean(board, "board, nothing called yet")
    number = call(server, 1)
    expect(board.locator("#newest-number")).to_have_text(number)
    expect(board.locator("#newest.fresh")).to_be_visible()
    expect(board.locator("#caption")).to_have_text(sentence(number, 1))
    clean(board, "board, a call highlighted and its sentence shown")
    # The highlight is a thicker frame as well as a colour.
    assert board.evaluate("getComputedStyle(document.getElementById('newest')).boxShadow") \
        != "none"
    expect(board.locator("#newest.fresh")).to_have_count(0, timeout=(HIGHLIGHT_S + 5) * 1000)
    clean(board, "board with calls")
    english = live_board(pages, "/display/main?lang=en")
    clean(english, "board in English")

    # The stream blocked: the reconnecting banner, then polling.
    offline = pages.open("", before=lambda p: p.route("**/api/v1/events**",
                                                      lambda route: route.abort()))
    with offline.expect_request(lambda r: "/api/v1/hall" in r.url, timeout=30000):
        offline.goto(server.url("/display/main"))
        expect(offline.locator("#offline")).to_be_visible()
        clean(offline, "board reconnecting")
    clean(offline, "board polling")
    number = call(server, 3)
    expect(offline.locator("#caption")).to_have_text(sentence(number, 3), timeout=5000)
    clean(offline, "board polling, a call written out")

    # Its fragment on its own, and the chooser.
    fragment = pages.open("/display/main/live")
    clean(fragment, "the board's live fragment")
    clean(pages.open("/display/"), "the board chooser")


def test_a_board_that_may_not_play_sound_still_writes_the_call(server, asking_browser):
    context = asking_browser.new_context(viewport=TV, locale=LOCALE)
    try:
        board = context.new_page()
        with board.expect_response(lambda r: "/api/v1/events" in r.url):
            board.goto(server.url("/display/main"))
        number = call(server, 3)
        # Asked through the DevTools protocol: Playwright's own evaluate is a user gesture,
        # which would let the board play sound.
        session = context.new_cdp_session(board)

        def quietly(expression: str):
            return session.send("Runtime.evaluate", {"expression": expression,
                                                     "returnByValue": True})["result"]["value"]

        wait_for(lambda: quietly("!document.getElementById('sound-on').hidden"),
                 "the sound button", timeout=10)
        assert quietly("document.getElementById('caption').textContent.trim()") == \
            sentence(number, 3)
        clean(board, "board waiting for a tap to play sound, the call written out")
    finally:
        context.close()


def test_a_board_without_a_voice_writes_each_call(tmp_path, pages):
    """A hall that turned the voice off: every call written out all the same."""
    with LiveServer(tmp_path / "data", config_text="[voice]\nenabled = false\n") as quiet:
        board = pages.open("")
        with board.expect_response(lambda r: "/api/v1/events" in r.url):
            board.goto(quiet.url("/display/main"))
        number = call(quiet, 3)
        expect(board.locator("#caption")).to_have_text(sentence(number, 3))
        assert board.evaluate("window.goisoBoard.said.length") == 0
        clean(board, "a board without a voice, the call written out")

# -- 2: the counter page -------------------------------------------------------------------------

def test_the_counter_page_passes_axe_in_every_state(server, pages):
    page = pages.open("", viewport={"width": 1366, "height": 768})
    seat(page, server, "an", 1)
    clean(page, "counter page, idle")
    issue(server, PROCEDURE_OF[1])
    page.locator("#panel button[data-action=next]").click()
    expect(page.locator("#said")).to_be_visible()
    clean(page, "counter page, serving, with a message")
    assert "✓" in sign_before(page, "#said")
    page.locator("#panel button[data-action=recall]").click()
    expect(page.locator("#said")).to_contain_text("gọi lại")
    page.locator("#panel summary[data-action=transfer]").click()
    clean(page, "counter page, transfer open")
    page.fill("#call-number", "ZZ999")
    page.locator("#panel button[data-action=call]").click()
    expect(page.locator("#said.notice-error")).to_be_visible()
    clean(page, "counter page, an error")
    # Not by colour alone: an error carries a sign, a success another.
    assert "⚠" in sign_before(page, "#said")
    page.locator("#panel button[data-action=finish]").click()
    page.locator("#panel button[data-action=pause]").click()
    expect(page.locator("#panel .current[data-status=paused]")).to_be_visible()
    clean(page, "counter page, paused")

    # Its fragments opened on their own, in the same clerk's browser.
    fragment = page.context.new_page()
    for path in ("/counter/1/panel", "/admin/alerts"):
        fragment.goto(server.url(path))
        clean(fragment, f"{path} on its own")
    fragment.goto(server.url("/counter/2/panel"))  # another clerk's counter
    expect(fragment.locator("h1")).to_be_visible()
    clean(fragment, "403 page")
    page.locator("#panel button[data-action=resume]").click()
    expect(page.locator("#panel .current[data-status=open]")).to_be_visible()


# -- 3: the rating tablet ------------------------------------------------------------------------

def test_the_rating_tablet_passes_axe_in_every_state(server, pages):
    tablet = pages.open("/rate/4", viewport={"width": 1280, "height": 800})
    tablet.wait_for_function("() => window.__sseOpen > 0")
    # A second tablet that will not hear that the prompt was answered: its press fails.
    late = pages.open("", viewport={"width": 1280, "height": 800})
    late.goto(server.url("/rate/4"))
    clean(tablet, "rating tablet, idle")
    issue(server, PROCEDURE_OF[4])
    act(server, 4, "next")
    act(server, 4, "finish")
    expect(tablet.locator(".rate-button").first).to_be_visible()
    clean(tablet, "rating tablet, the question")
    late.reload()
    expect(late.locator(".rate-button").first).to_be_visible()
    late.route("**/rate/4", lambda route: route.abort() if route.request.method == "GET"
               else route.continue_())
    tablet.locator(".rate-button").first.click()
    expect(tablet.locator(".rate-thanks")).to_be_visible()
    clean(tablet, "rating tablet, thanks")
    late.locator(".rate-button").first.click()
    expect(late.locator(".notice-error")).to_be_visible()
    clean(late, "rating tablet, an error")


# -- 4: home, sign-in, errors --------------------------------------------------------------------

def test_home_sign_in_and_error_pages_pass_axe(server, pages):
    page = pages.open("/", viewport={"width": 1366, "height": 768})
    clean(page, "home")
    page.goto(server.url("/login"))
    clean(page, "sign-in")
    page.fill("input[name=login]", "an")
    page.fill("input[name=pin]", "000000")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator("input[name=login]")).to_have_value("an")
    clean(page, "sign-in, a wrong PIN")
    assert "⚠" in sign_before(page, "p.error")
    page.goto(server.url("/no/such/page"))
    clean(page, "404 page")
    page.goto(server.url("/login?lang=en"))
    clean(page, "sign-in in English")


# -- 5: the call written out, and said again ---------------------------------------------------

SAID_TIMES = "(call) => window.goisoBoard.said.filter((c) => c === call).length"
SHOWN_TIMES = "(text) => window.goisoBoard.shown.filter((t) => t === text).length"


def test_each_call_is_written_out_and_said_again_when_the_counter_recalls(server, pages):
    board = live_board(pages)
    english = live_board(pages, "/display/main?lang=en")
    clerk = pages.open("", viewport={"width": 1366, "height": 768})
    seat(clerk, server, "binh", 2)
    issue(server, PROCEDURE_OF[2])
    clerk.locator("#panel button[data-action=next]").click()
    expect(clerk.locator("#said")).to_contain_text("Đã gọi số")
    number = clerk.locator("#current-number").inner_text().strip()
    words = sentence(number, 2)

    # The sentence the voice says, big, in a live region (a screen reader says it as well).
    caption = board.locator("#caption")
    expect(caption).to_have_text(words)
    assert caption.get_attribute("aria-live") == "assertive"
    expect(english.locator("#caption")).to_have_text(
        f"Citizen number {number}, please come to counter 2")
    board.wait_for_function(f"() => ({SAID_TIMES})('{number}→2') === 1")
    # …and gone once said and highlighted, so that an old call is never read as a new one.
    expect(caption).to_be_empty(timeout=(HIGHLIGHT_S + 10) * 1000)

    # The clerk asks for it again: the board says it and writes it again, nothing else changes.
    clerk.locator("#panel button[data-action=recall]").click()
    expect(clerk.locator("#said")).to_have_text(f"Đã gọi lại số {number}.")
    expect(caption).to_have_text(words)
    expect(board.locator("#newest.fresh #newest-number")).to_have_text(number)
    board.wait_for_function(f"() => ({SAID_TIMES})('{number}→2') === 2")
    assert board.evaluate(SHOWN_TIMES, words) == 2
    expect(clerk.locator("#current-number")).to_have_text(number)  # still served, not a no-show


# -- 6: legible from 10 m ------------------------------------------------------------------------
# The rule: ISO 9241-3 (kept in ISO 9241-303:2011, and in NUREG-0700 §1.3.1-4) asks a character
# height — an unaccented capital, top to bottom — of at least 16 minutes of arc at the reader's
# eye (20–22′ preferred for reading). On a 43-inch 16:9 panel the picture is 43 × 9/√337 in =
# 535.4 mm high, whatever its pixels; from 10 m, 16′ is 10 000 mm × tan(16′) = 46.5 mm.
# What a citizen must read from across the hall is the call: the number, its counter, the
# sentence, and each counter's current number. The rest (names, headings, the list of recent
# calls, who waits, the clock) is read walking up to the board: 16′ from 3 m (14 mm).
PANEL_MM = 43 * 25.4 * 9 / (16 ** 2 + 9 ** 2) ** 0.5
FAR_M, NEAR_M = 10, 3
ARC_16 = 16 / 60  # degrees
FAR = ("#newest-number", "#newest-counter", ".caption-text", ".status-open .counter-number")
NEAR = (".newest-label", ".counter-name", ".counter-number", ".recent-list li",
        ".queue-list li", "h2", ".hall-name", ".clock", ".date")
# The cap height of each element's font as Chromium draws it ("H" measured on a canvas with
# the element's computed font), in CSS px; the smallest over the elements a selector matches.
CAP_HEIGHTS = """(selectors) => {
  const ctx = document.createElement('canvas').getContext('2d');
  const out = {};
  for (const sel of selectors) {
    for (const el of document.querySelectorAll(sel)) {
      if (!el.getClientRects().length) { continue; }
      const s = getComputedStyle(el);
      ctx.font = `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
      const m = ctx.measureText('H');
      const cap = m.actualBoundingBoxAscent + m.actualBoundingBoxDescent;
      out[sel] = Math.min(out[sel] ?? Infinity, cap);
    }
  }
  return out;
}"""


def smallest_distance_m(cap_px: float, screen_px: int) -> float:
    """How far away a capital of ``cap_px`` pixels still subtends 16′ on a 43" panel."""
    import math

    return cap_px * PANEL_MM / screen_px / math.tan(math.radians(ARC_16)) / 1000


@pytest.mark.parametrize("viewport", TVS, ids=lambda v: f"{v['width']}x{v['height']}")
def test_the_board_is_legible_from_10_m_on_a_43_inch_tv(server, pages, viewport):
    for counter in (1, 3, 5, 6):
        call(server, counter)
    board = live_board(pages, viewport=viewport)
    number = call(server, 2)
    expect(board.locator("#caption")).to_have_text(sentence(number, 2))
    caps = board.evaluate(CAP_HEIGHTS, [*FAR, *NEAR])
    assert set(caps) == {*FAR, *NEAR}, caps
    reach = {sel: round(smallest_distance_m(px, viewport["height"]), 1)
             for sel, px in caps.items()}
    print(f"\n{viewport}: 16′ reached up to (m) {reach}")
    assert all(reach[sel] >= FAR_M for sel in FAR), reach
    assert all(reach[sel] >= NEAR_M for sel in NEAR), reach
    # The sentence stays on the screen, under the bar with the hall's name.
    box = board.locator(".caption-text").bounding_box()
    bar = board.locator(".board-bar").bounding_box()
    assert box["y"] >= bar["y"] + bar["height"] and box["y"] + box["height"] <= viewport["height"]
