"""The hall board in a real Chromium against a real `goiso serve --demo`: a call shown within a
second and highlighted for ``highlight_seconds``; calls spoken in order, once each, never over
each other (and the 'Bật âm thanh' button when the browser refuses sound); the server
restarting under an open board; polling when the event stream cannot work; no scrollbars on a
1366×768 or 1920×1080 TV; no console errors and no request leaving the hall's server.

Calls are made as a counter device would (``POST /api/v1/counters/<n>/next`` with its token).
One server for the module (short highlight, 1 s polling, a short quick phrase so that speaking
takes about 2 s a call); each test uses the numbers the API gives it, never fixed ones.

Two browsers of the same Debian Chromium: one that may play sound by itself
(``--autoplay-policy=no-user-gesture-required``, as a hall's TV is set up) and one that asks for
a tap first (``document-user-activation-required``, a browser's ordinary policy).
"""

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from tests.liveserver import LiveServer
from tests.plugins.chromium import ASK_FIRST, AUTOPLAY, LOCALE, browser_with_policy

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HIGHLIGHT_S = 2
POLL_S = 1
CONFIG = (f"[board]\nhighlight_seconds = {HIGHLIGHT_S}\npoll_seconds = {POLL_S}\n\n"
          '[voice]\nspeed = 300\ntemplate = "Số {number}, quầy {counter}"\n')
# The only console errors a board may log: its stream failing (the browser's "Failed to load
# resource: net::ERR_…" and htmx logging the failed EventSource's error event).
STREAM_ERRORS = r"^(Failed to load resource: net::ERR_\w+|\[object Event\])$"
# A stream refused by the cap: the browser logs the 503 (and htmx its error event).
REFUSED_STREAM = (r"^(Failed to load resource: the server responded with a status of 503.*"
                  r"|\[object Event\]|EventSource.*)$")
TV = {"width": 1920, "height": 1080}
SMALL_TV = {"width": 1366, "height": 768}
# A counter's procedure: the demo hall's counters and the queue each one serves first.
PROCEDURE_OF = {1: "DEMO-GT-001", 2: "DEMO-GT-001", 3: "DEMO-GT-007", 4: "DEMO-GT-015",
                5: "DEMO-GT-021", 6: "DEMO-GT-022"}
# Before any script of a board: the stream's openings counted, every sound the page plays
# (started, finished) and how many play at once.
PROBE = """
window.__sseOpen = 0;
document.addEventListener('htmx:sseOpen', () => { window.__sseOpen += 1; });
window.__sound = { playing: 0, most: 0, played: [] };
const PlainAudio = window.Audio;
window.Audio = class extends PlainAudio {
  constructor(src) {
    super(src);
    let on = false;
    const off = () => { if (on) { on = false; window.__sound.playing -= 1; } };
    this.addEventListener('playing', () => {
      if (on) { return; }
      on = true;
      const s = window.__sound;
      s.playing += 1;
      s.most = Math.max(s.most, s.playing);
      s.played.push(new URL(this.src).pathname + new URL(this.src).search);
    });
    this.addEventListener('ended', off);
    this.addEventListener('pause', off);
    this.addEventListener('error', off);
  }
};
"""
# What the board's voice did, sampled every frame: said grows one by one, the queue stays short.
VOICE_WATCH = """() => {
  const seen = window.__voice = { said: [], longest: 0 };
  let last = -1;
  const look = () => {
    const b = window.goisoBoard;
    seen.longest = Math.max(seen.longest, b.queue.length);
    if (b.said.length !== last) { last = b.said.length; seen.said.push(b.said.slice()); }
    requestAnimationFrame(look);
  };
  look();
}"""
# For each "number|counter" #newest shows: when (Date.now(), ms) it first showed it, and from
# when to when it carried the highlight ("fresh") while showing it.
SHOWN_WATCH = """() => {
  const w = window.__shown = { at: {}, freshFrom: {}, freshTo: {} };
  const shown = () => {
    const n = document.getElementById('newest-number');
    const c = document.getElementById('newest-counter');
    return n && c ? n.textContent.trim() + '|' + c.textContent.trim() : '';
  };
  new MutationObserver(() => { const k = shown(); if (!(k in w.at)) { w.at[k] = Date.now(); } })
    .observe(document.getElementById('board'),
             { subtree: true, childList: true, characterData: true });
  const look = () => {
    const k = shown(), fresh = !!document.querySelector('#newest.fresh');
    if (fresh && !(k in w.freshFrom)) { w.freshFrom[k] = Date.now(); }
    if (!fresh && k in w.freshFrom && !(k in w.freshTo)) { w.freshTo[k] = Date.now(); }
    requestAnimationFrame(look);
  };
  look();
}"""
LAYOUT_JS = """() => {
  const root = document.documentElement, vw = innerWidth, vh = innerHeight;
  const box = (el) => el.getBoundingClientRect();
  const inside = (r, o) => r.width > 0 && r.height > 0 && r.left >= o.left - 0.5 &&
    r.top >= o.top - 0.5 && r.right <= o.right + 0.5 && r.bottom <= o.bottom + 0.5;
  const screen = { left: 0, top: 0, right: vw, bottom: vh };
  const list = box(document.querySelector('.counters'));
  const recent = box(document.querySelector('.recent'));
  const queues = box(document.querySelector('.queues'));
  return {
    scroll: [root.scrollWidth, root.clientWidth, root.scrollHeight, root.clientHeight],
    font: parseFloat(getComputedStyle(document.getElementById('newest-number')).fontSize),
    counters: [...document.querySelectorAll('.counter')].map(
      (li) => [li.dataset.counter, inside(box(li), screen) && inside(box(li), list)]),
    side: inside(recent, screen) && inside(queues, screen) && recent.bottom <= queues.top,
  };
}"""


# -- servers and browsers ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[LiveServer]:
    """The demo hall with a 2 s highlight, 1 s polling and a short phrase said quickly."""
    with LiveServer(tmp_path_factory.mktemp("board"), config_text=CONFIG) as live:
        yield live


@pytest.fixture(scope="module")
def speaking(chromium_browser) -> Iterator[Browser]:
    """Chromium allowed to play sound without a tap (a hall TV's set-up)."""
    with browser_with_policy(chromium_browser, AUTOPLAY) as browser:
        yield browser


@pytest.fixture(scope="module")
def asking(chromium_browser) -> Iterator[Browser]:
    """Chromium with the ordinary policy: no sound before someone taps the page."""
    with browser_with_policy(chromium_browser, ASK_FIRST) as browser:
        yield browser


@dataclass
class Board:
    """An open board page and what it did: console errors, foreign and audio requests."""

    page: Page
    host: str
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    calls_fetched: list[tuple[str, str]] = field(default_factory=list)
    audio_status: list[int] = field(default_factory=list)

    def check(self, allowed: str | None = None) -> None:
        """No request to another host; no console error but those matching ``allowed``."""
        assert self.foreign == [], self.foreign
        unexpected = [e for e in self.errors if not (allowed and re.search(allowed, e))]
        assert unexpected == [], unexpected


class Boards:
    """Board pages, each in its own browser context, closed after the test."""

    def __init__(self):
        self._contexts = []

    def open(self, browser: Browser, server: LiveServer, viewport: dict = TV,
             wait_stream: bool = True, before=None, touch: bool = True) -> Board:
        """A board page, its stream open (``wait_stream``).  ``touch=False`` leaves the page
        alone once loaded: Playwright evaluates (and checks locators) with a user gesture,
        which would allow the page to play sound; look with ``quietly`` instead."""
        context = browser.new_context(viewport=viewport, locale=LOCALE)
        self._contexts.append(context)
        page = context.new_page()
        page.add_init_script(PROBE)
        board = Board(page, urlsplit(server.base_url).netloc)
        page.on("console", lambda m: board.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: board.errors.append(str(exc)))
        page.on("request", lambda r: _seen(board, r.url))
        page.on("response", lambda r: board.audio_status.append(r.status)
                if "/display/audio/" in r.url else None)
        if before:
            before(page)
        # Waiting for the stream by its response, not by evaluating in the page: Playwright
        # evaluates with a user gesture, which would let the page play sound.
        if wait_stream:
            with page.expect_response(lambda r: urlsplit(r.url).path == "/api/v1/events"):
                page.goto(server.url("/display/main"))
        else:
            page.goto(server.url("/display/main"))
        if touch:
            expect(page.locator("#live .counter")).to_have_count(6)
        return board

    def close(self) -> None:
        for context in self._contexts:
            context.close()


def _seen(board: Board, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("data", "blob") and parts.netloc != board.host:
        board.foreign.append(url)
    if parts.path == "/display/audio/call.wav":
        query = parse_qs(parts.query)
        call = (query["number"][0], query["counter"][0])
        if call not in board.calls_fetched[-1:]:  # a media element may ask again (ranges)
            board.calls_fetched.append(call)


@pytest.fixture
def boards() -> Iterator[Boards]:
    opened = Boards()
    try:
        yield opened
    finally:
        opened.close()


# -- the hall, through the API -------------------------------------------------------------------

def issue(server: LiveServer, procedure: str = "DEMO-GT-001") -> str:
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


def hall(server: LiveServer) -> dict:
    response = requests.get(server.url("/api/v1/hall?board=main"), timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def quietly(page: Page, expression: str, timeout: float = 10.0):
    """Wait until ``expression`` is truthy in the page, asking through the DevTools protocol
    without a user gesture (so the page stays without user activation); its value."""
    session = page.context.new_cdp_session(page)
    try:
        end = time.monotonic() + timeout
        while True:
            reply = session.send("Runtime.evaluate",
                                 {"expression": expression, "returnByValue": True})
            value = reply["result"].get("value")
            if value or time.monotonic() > end:
                assert value, f"{expression} still false after {timeout} s"
                return value
            time.sleep(0.05)
    finally:
        session.detach()


def said(page: Page) -> list[str]:
    return page.evaluate("window.goisoBoard.said.slice()")


def shows_hall(page: Page, state: dict) -> None:
    """The board shows what the API says: the newest call and every counter's number."""
    newest = state["recent_calls"][0]
    expect(page.locator("#newest-number")).to_have_text(newest["number"])
    expect(page.locator("#newest-counter")).to_have_text(
        newest["counter_name"] or f"Quầy {newest['counter']}")
    for desk in state["counters"]:
        if desk["status"] != "open":
            words = "Tạm nghỉ"
        else:
            words = desk["current"]["number"] if desk["current"] else "—"
        expect(page.locator(f".counter[data-counter='{desk['number']}'] .counter-number")) \
            .to_have_text(words)


# -- 1: a call on the board ------------------------------------------------------------------

def test_a_call_shows_within_a_second_and_stays_highlighted(server, speaking, boards):
    board = boards.open(speaking, server, TV)
    page = board.page
    page.evaluate(SHOWN_WATCH)
    issue(server)
    ticket = act(server, 1)
    returned = time.time() * 1000
    key = f"{ticket['number']}|Quầy 1"
    page.wait_for_function("(k) => k in window.__shown.at", arg=key, timeout=5000)
    latency = page.evaluate("(k) => window.__shown.at[k]", key) - returned
    print(f"\ncall → board shows it: {latency:.0f} ms after the API call returned")
    assert latency < 1000
    expect(page.locator("#newest")).to_have_class(re.compile(r"\bfresh\b"))

    # Highlighted for highlight_seconds, through the refreshes that follow the call, then not.
    page.wait_for_function("(k) => k in window.__shown.freshTo", arg=key,
                           timeout=(HIGHLIGHT_S + 3) * 1000)
    lit = page.evaluate("(k) => window.__shown.freshTo[k] - window.__shown.freshFrom[k]",
                        key) / 1000
    assert HIGHLIGHT_S - 0.3 <= lit <= HIGHLIGHT_S + 1, lit
    expect(page.locator("#newest")).not_to_have_class(re.compile(r"\bfresh\b"))
    expect(page.locator("#newest-number")).to_have_text(ticket["number"])
    board.check()


# -- 2: the voice ----------------------------------------------------------------------------

def test_calls_in_one_second_are_all_shown_and_spoken_in_order(server, speaking, boards):
    board = boards.open(speaking, server, TV)
    page = board.page
    page.evaluate(VOICE_WATCH)
    for counter in (1, 2, 1):
        issue(server, PROCEDURE_OF[counter])
    began = time.monotonic()
    calls = [(act(server, counter)["number"], counter) for counter in (1, 2, 1)]
    assert time.monotonic() - began < 1
    words = [f"{number}→{counter}" for number, counter in calls]

    # All three on the board: the newest large, the two before it first in the recent list.
    expect(page.locator("#newest-number")).to_have_text(calls[2][0])
    expect(page.locator(".recent-list .recent-number").nth(0)).to_have_text(calls[1][0])
    expect(page.locator(".recent-list .recent-number").nth(1)).to_have_text(calls[0][0])

    # Spoken one after the other, in call order, each after the chime, never two at once.
    page.wait_for_function("(n) => window.goisoBoard.said.length >= n", arg=3, timeout=20000)
    assert said(page) == words
    voice = page.evaluate("window.__voice")
    assert voice["said"] == [words[:n] for n in range(4)], voice["said"]
    assert voice["longest"] <= 3
    sound = page.evaluate("window.__sound")
    assert sound["most"] == 1, sound
    chime = "/display/audio/chime.wav"
    assert sound["played"] == [
        s for number, counter in calls
        for s in (chime, f"/display/audio/call.wav?number={number}&counter={counter}")]
    assert board.calls_fetched == [(number, str(counter)) for number, counter in calls]

    # A recall is spoken again (a new event, the same words).
    act(server, 1, "recall")
    page.wait_for_function("() => window.goisoBoard.said.length >= 4", timeout=10000)
    assert said(page) == [*words, words[2]]
    assert page.evaluate("window.__sound.most") == 1
    assert board.audio_status and set(board.audio_status) <= {200, 206}, board.audio_status
    board.check()


def test_without_autoplay_the_sound_button_speaks_what_waits(server, asking, boards):
    board = boards.open(asking, server, TV, touch=False)
    page = board.page
    button = page.locator("#sound-on")
    assert quietly(page, "document.getElementById('sound-on').hidden")
    number = call(server, 3)
    # The board tried to speak, the browser refused, the button asks for a tap.
    quietly(page, "!document.getElementById('sound-on').hidden")
    assert quietly(page, "navigator.userActivation.hasBeenActive ? 'touched' : 'alone'") == "alone"
    expect(page.locator("#newest-number")).to_have_text(number)
    expect(button).to_be_visible()
    expect(button).to_have_text(re.compile("Bật âm thanh"))
    assert said(page) == []
    assert page.evaluate("window.goisoBoard.queue.map((c) => c.number)") == [number]

    button.click()
    expect(button).to_be_hidden()
    page.wait_for_function("() => window.goisoBoard.said.length >= 1", timeout=10000)
    assert said(page) == [f"{number}→3"]
    assert page.evaluate("window.goisoBoard.queue.length") == 0
    board.check()


# -- 3: the server goes away and comes back ------------------------------------------------------

def test_the_board_rides_out_a_server_restart(tmp_path, speaking, boards):
    data_dir = tmp_path / "data"
    live = LiveServer(data_dir, config_text=CONFIG).start()
    try:
        before = call(live, 1)
        board = boards.open(speaking, live, TV)
        page = board.page
        expect(page.locator("#newest-number")).to_have_text(before)
        offline = page.locator("#offline")
        expect(offline).to_be_hidden()

        live.stop()
        expect(offline).to_be_visible(timeout=10000)
        expect(offline).to_contain_text("Đang kết nối lại")

        live.start()  # the same folder, port and tokens
        # At once, most likely before the board is back: it must catch up by itself.
        missed = [call(live, 2), call(live, 5)]
        expect(offline).to_be_hidden(timeout=15000)
        shows_hall(page, hall(live))
        assert page.locator("#newest-number").inner_text() == missed[-1]

        # Live again: a call made now shows up (and the missed ones were spoken once each).
        after = call(live, 6)
        expect(page.locator("#newest-number")).to_have_text(after)
        shows_hall(page, hall(live))
        page.wait_for_function("() => window.goisoBoard.said.length >= 3", timeout=15000)
        assert said(page) == [f"{missed[0]}→2", f"{missed[1]}→5", f"{after}→6"]
        board.check(allowed=STREAM_ERRORS)
    finally:
        live.close()


# -- 4: no stream, polling -------------------------------------------------------------------

def test_the_board_polls_when_the_stream_is_blocked(server, speaking, boards):
    def block_stream(page: Page) -> None:
        page.route("**/api/v1/events**", lambda route: route.abort())

    board = boards.open(speaking, server, TV, wait_stream=False, before=block_stream)
    page = board.page
    # After a few failures the board asks /api/v1/hall every poll_seconds.
    with page.expect_request(lambda r: urlsplit(r.url).path == "/api/v1/hall", timeout=30000):
        pass
    number = call(server, 4)
    began = time.monotonic()
    expect(page.locator("#newest-number")).to_have_text(number, timeout=(POLL_S + 2) * 1000)
    print(f"\npolling board shows a call after {time.monotonic() - began:.2f} s")
    expect(page.locator("#newest-counter")).to_have_text("Quầy 4")
    shows_hall(page, hall(server))
    page.wait_for_function("() => window.goisoBoard.said.length >= 1", timeout=10000)
    assert said(page) == [f"{number}→4"]
    assert page.evaluate("window.__sseOpen") == 0
    board.check(allowed=STREAM_ERRORS)


def test_the_board_polls_when_the_server_refuses_streams(tmp_path, speaking, boards):
    """Every stream place taken (here: none allowed): 503 + Retry-After, and the board polls."""
    live = LiveServer(tmp_path / "data", config_text=CONFIG,
                      env={"GOISO_MAX_STREAMS": "0"}).start()
    try:
        board = boards.open(speaking, live, TV, wait_stream=False)
        page = board.page
        with page.expect_request(lambda r: urlsplit(r.url).path == "/api/v1/hall",
                                 timeout=30000):
            pass
        number = call(live, 3)
        expect(page.locator("#newest-number")).to_have_text(number, timeout=(POLL_S + 2) * 1000)
        expect(page.locator("#newest-counter")).to_have_text("Quầy 3")
        assert page.evaluate("window.__sseOpen") == 0
        board.check(allowed=REFUSED_STREAM)
    finally:
        live.close()


# -- 5: the TV's screen --------------------------------------------------------------------------

def fill_board(server: LiveServer) -> None:
    """A busy hall: every counter serving someone, ten recent calls, people in every queue."""
    state = hall(server)
    for desk in state["counters"]:
        if desk["current"] is None:
            call(server, desk["number"])
    for _ in range(10 - len(hall(server)["recent_calls"])):
        call(server, 1)
    for procedure in set(PROCEDURE_OF.values()):
        issue(server, procedure)


@pytest.mark.parametrize("viewport", [SMALL_TV, TV], ids=["1366x768", "1920x1080"])
def test_the_board_fits_the_tv(server, speaking, boards, viewport):
    fill_board(server)
    board = boards.open(speaking, server, viewport)
    page = board.page
    state = hall(server)
    assert len(state["recent_calls"]) == 10
    shows_hall(page, state)
    expect(page.locator(".recent-list li")).to_have_count(9)
    layout = page.evaluate(LAYOUT_JS)
    scroll_width, client_width, scroll_height, client_height = layout["scroll"]
    assert scroll_width <= client_width and scroll_height <= client_height, layout["scroll"]
    assert layout["counters"] == [[str(n), True] for n in range(1, 7)], layout["counters"]
    assert layout["side"], "the recent calls and the queues must both show, apart"
    if viewport == TV:
        assert layout["font"] >= 100, layout["font"]
    board.check()
