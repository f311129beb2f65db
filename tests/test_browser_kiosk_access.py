"""The kiosk for everyone, in a real Chromium against a real `goiso serve`: axe-core finds no
critical or serious violation in any state, touch targets are at least 48 × 48 CSS px with room
between them, nothing spills sideways at 1024×600, 1920×1080 and both portraits, large text /
high contrast is a pressed button reset for the next citizen, and "Đọc to" plays real audio.
"""

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import Page, expect

from hall.rules import Rules
from tests.liveserver import LiveServer
from tests.plugins.accessibility import axe_violations
from tests.plugins.chromium import LOCALE, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MIN_TARGET_PX = 48
MIN_GAP_PX = 8
SIZES = [(1024, 600), (1920, 1080), (600, 1024), (1080, 1920)]
GPLX = "Giấy phép lái xe"
NO_PRINTER = '[printers.k1]\nconnection = "none"\n'

# Every target's box, the pairs too close, sideways overflow, targets out of reach, clipped text.
GEOMETRY_JS = """([minTarget, minGap]) => {
  const root = document.documentElement, screen = document.getElementById("screen");
  const shown = (el) => !el.closest("[hidden]") && el.getClientRects().length > 0;
  const name = (el) => `${el.tagName.toLowerCase()}.${el.className} "${
      (el.textContent || el.value || el.placeholder || "").trim().slice(0, 24)}"`;
  const targets = [...document.querySelectorAll(
      "button, a[href], input:not([type=hidden]), [role=button]")].filter(shown);
  const boxes = targets.map((el) => [el, el.getBoundingClientRect()]);
  const small = [], close = [], unreachable = [], clipped = [];
  for (const [el, r] of boxes) {
    if (r.width < minTarget || r.height < minTarget) {
      small.push(`${name(el)} ${Math.round(r.width)}x${Math.round(r.height)}`);
    }
    // Sideways: always on the screen. Up and down: on the screen, or inside #screen, which
    // scrolls (a finger reaches it).
    const inScreen = screen.contains(el);
    if (r.left < -1 || r.right > innerWidth + 1
        || (!inScreen && (r.top < -1 || r.bottom > innerHeight + 1))) {
      unreachable.push(`${name(el)} at ${Math.round(r.left)},${Math.round(r.top)}`);
    }
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, ra] = boxes[i], [b, rb] = boxes[j];
      // Inside #screen distances do not change as it scrolls; its content and the header
      // never share a place on the screen.
      if (a.contains(b) || b.contains(a) || screen.contains(a) !== screen.contains(b)) {
        continue;
      }
      const dx = Math.max(rb.left - ra.right, ra.left - rb.right);
      const dy = Math.max(rb.top - ra.bottom, ra.top - rb.bottom);
      const gap = Math.max(dx, dy);
      if (gap < minGap - 0.5) { close.push(`${name(a)} / ${name(b)}: ${gap.toFixed(1)} px`); }
    }
  }
  for (const el of document.querySelectorAll(
      "h1, p, button, a, .choice, .choice-name, .choice-note, .banner, .printing, label")) {
    if (shown(el) && el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0) {
      clipped.push(`${name(el)} ${el.scrollWidth}>${el.clientWidth}`);
    }
  }
  const screenBox = screen.getBoundingClientRect();
  return {
    small, close, unreachable, clipped,
    docOverflow: root.scrollWidth - root.clientWidth,
    screenOverflow: screen.scrollWidth - screen.clientWidth,
    screenHeight: Math.round(Math.min(screenBox.bottom, innerHeight) - screenBox.top),
    targets: boxes.length,
  };
}"""


def geometry(page: Page) -> dict:
    """What GEOMETRY_JS finds on the page now."""
    return page.evaluate(GEOMETRY_JS, [MIN_TARGET_PX, MIN_GAP_PX])


def assert_usable(page: Page, state: str, *, axe: bool = True) -> None:
    """No serious axe violation, big targets with room between them, nothing out of reach."""
    found = geometry(page)
    where = f"{state} at {page.viewport_size}"
    assert found["targets"] > 0, where
    assert found["small"] == [], (where, found["small"])
    assert found["close"] == [], (where, found["close"])
    assert found["unreachable"] == [], (where, found["unreachable"])
    assert found["clipped"] == [], (where, found["clipped"])
    assert found["docOverflow"] <= 0 and found["screenOverflow"] <= 0, (where, found)
    assert found["screenHeight"] >= MIN_TARGET_PX * 2, (where, found)  # room to scroll in
    if axe:
        assert axe_violations(page) == [], where


# -- helpers -------------------------------------------------------------------------------------

def open_kiosk(page: Page, server: LiveServer, lang: str = "vi") -> None:
    page.goto(server.url(f"/kiosk/k1?lang={lang}"))
    expect(page.locator("[data-screen=fields]")).to_be_visible()


def tap_field(page: Page, name: str = GPLX) -> None:
    # force: a field whose procedures are all closed is aria-disabled yet opens (to say why).
    page.get_by_role("button", name=re.compile("^" + re.escape(name))).click(force=True)
    expect(page.locator("[data-screen=procedures]")).to_be_visible()


def home(page: Page) -> None:
    page.get_by_role("button", name=re.compile("Làm lại từ đầu")).click()
    expect(page.locator("[data-screen=fields]")).to_be_visible()


def open_search(page: Page) -> None:
    page.get_by_role("button", name=re.compile("Tìm thủ tục")).click()
    expect(page.locator("[data-screen=search] .keyboard")).to_be_visible()


def type_keys(page: Page, text: str) -> None:
    def of_text(response) -> bool:
        query = parse_qs(urlsplit(response.url).query).get("q", [None])[0]
        return "/search?" in response.url and query == text

    with page.expect_response(of_text):
        for char in text:
            page.locator(f'.key[data-key="{char}"]').click()


def tap(page: Page, code: str, status: int | None = None) -> None:
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.locator(f"[data-procedure={code}]").click()
    if status is not None:
        assert posted.value.status == status


def large_on(page: Page) -> None:
    button = page.locator("#large-text")
    if button.get_attribute("aria-pressed") != "true":
        button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(page.locator("body")).to_have_class(re.compile(r"\blarge\b"))


def stale_tap(page: Page, code: str) -> None:
    """A tap on a procedure the screen still offered as the hall changed (the refused screen)."""
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.evaluate("""(code) => htmx.ajax("POST", "/kiosk/k1/tickets", {target: "#screen",
            values: {procedure: code, key: "stale-tap-" + Date.now()}})""", code)
    expect(page.locator("[data-screen=refused]")).to_be_visible()


def closed_window() -> tuple[str, str]:
    """Business hours that do not hold the hall's time now (the default zone)."""
    now = datetime.now(ZoneInfo(Rules.timezone))
    return ("00:00", "00:30") if now.hour >= 1 else ("12:00", "12:30")


def supervisor(server: LiveServer) -> requests.Session:
    """A session signed in as the demo supervisor, with its form token in the headers."""
    session = requests.Session()
    token = session.get(server.url("/api/v1/session"), timeout=5).json()["csrf_token"]
    signed = session.post(server.url("/api/v1/session"), timeout=5,
                          json={"login": "giamsat", "pin": server.pins["giamsat"]},
                          headers={"X-CSRFToken": token})
    assert signed.status_code == 201, signed.text
    session.headers["X-CSRFToken"] = signed.json()["csrf_token"]
    return session


def put_queue(server: LiveServer, code: str, **changes) -> None:
    session = supervisor(server)
    queues = session.get(server.url("/api/v1/queues"), timeout=5).json()
    queues = queues.get("queues", queues) if isinstance(queues, dict) else queues
    queue = next(q for q in queues if q["code"] == code)
    body = {k: v for k, v in queue.items() if k not in ("code", "counters", "waiting", "issued")}
    reply = session.put(server.url(f"/api/v1/queues/{code}"), json={**body, **changes},
                        timeout=5)
    assert reply.status_code == 200, reply.text


@pytest.fixture
def kiosk_page(chromium_browser) -> Iterator[Callable[[int, int], Page]]:
    """Pages of a given size (closed after the test)."""
    contexts = []

    def make(width: int, height: int) -> Page:
        context = chromium_browser.new_context(viewport={"width": width, "height": height},
                                               locale=LOCALE)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


# -- every state, axe and touch targets ------------------------------------------------------------

def walk_citizen_states(page: Page, server: LiveServer, check: Callable[[str], None]) -> None:
    """Every state of a citizen's visit, ``check``ed in each."""
    open_kiosk(page, server)
    check("start")
    tap_field(page)
    check("a field's procedure list")
    home(page)
    open_search(page)
    check("search, on-screen keyboard open")
    type_keys(page, "doi gplx")
    expect(page.locator("#results .procedure").first).to_be_visible()
    check("search with results")
    page.locator('.key[data-key="clear"]').click()
    type_keys(page, "zzq")
    expect(page.locator("#results .big")).to_be_visible()
    check("search without results")
    home(page)
    page.get_by_role("button", name="Tôi thuộc diện ưu tiên").click()
    expect(page.locator("[data-screen=priority]")).to_be_visible()
    check("priority choice")
    page.locator("[data-reason=disability]").click()
    expect(page.locator(".priority-on")).to_be_visible()
    check("start with a priority chosen")
    tap_field(page)
    tap(page, "DEMO-GT-002", 200)
    expect(page.locator("#printing.ok")).to_be_visible(timeout=5000)
    check("ticket printed")
    # A ticket the kiosk has not printed (issued elsewhere): "printing…", as while it prints.
    waiting = server.issue("DEMO-GT-003")
    page.goto(server.url(f"/kiosk/k1/tickets/{waiting['token']}"))
    expect(page.locator("#printing.pending")).to_be_visible()
    check("ticket printing")


def test_every_state_passes_axe_and_has_big_targets(live_server, kiosk_page):
    page = kiosk_page(1024, 600)
    errors = watch_errors(page)
    seen = []

    def check(state):
        seen.append(state)
        assert_usable(page, state)

    walk_citizen_states(page, live_server, check)
    assert len(seen) == 9
    assert errors == []


def test_every_state_in_large_text_passes_axe(live_server, kiosk_page):
    page = kiosk_page(1024, 600)
    errors = watch_errors(page)
    normal = {}

    def check(state):
        large_on(page)
        assert_usable(page, f"{state} (large text)")
        normal.setdefault(state, page.locator("h1, .ticket-title").first.evaluate(
            "el => parseFloat(getComputedStyle(el).fontSize)"))

    walk_citizen_states(page, live_server, check)
    # Large text is large: the start screen's title against the normal one.
    open_kiosk(page, live_server)
    page.locator("#large-text").click()
    expect(page.locator("#large-text")).to_have_attribute("aria-pressed", "false")
    plain = page.locator("h1").evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert normal["start"] >= 1.25 * plain, (normal["start"], plain)
    assert errors == []


def test_kiosk_fragments_opened_on_their_own_pass_axe(live_server, page):
    """The parts htmx swaps in (the status banner, a ticket's printing), opened by a bookmark or
    a technician, come in a page of their own."""
    ticket = live_server.issue("DEMO-GT-006")
    for path in ("/kiosk/k1/banner", f"/kiosk/k1/tickets/{ticket['token']}/printing"):
        page.goto(live_server.url(path))
        expect(page.locator("h1")).to_contain_text("Ki-ốt")
        assert axe_violations(page) == [], path
    page.goto(live_server.url(f"/kiosk/k1/tickets/{ticket['token']}/printing"))
    expect(page.locator("#printing.pending")).to_contain_text("Đang in vé")


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_fits_landscape_and_portrait_screens(live_server, kiosk_page, width, height):
    page = kiosk_page(width, height)
    errors = watch_errors(page)

    def check(state):
        assert_usable(page, state, axe=False)
        page.locator("#large-text").click()
        assert_usable(page, f"{state} (large text)", axe=False)
        page.locator("#large-text").click()

    walk_citizen_states(page, live_server, check)
    assert errors == []


def test_errors_pass_axe_refused_too_many_and_printer_error(tmp_path, kiosk_page):
    config = "[rules]\nkiosk_tickets_per_minute = 1\n[kiosk]\nprinter_down = \"screen\"\n"
    with LiveServer(tmp_path / "limits", config_text=config, issue_limits=True) as server:
        page = kiosk_page(1024, 600)
        open_kiosk(page, server)
        tap_field(page)
        tap(page, "DEMO-GT-001", 200)
        open_kiosk(page, server)
        tap_field(page)
        tap(page, "DEMO-GT-001", 429)
        expect(page.locator("[data-screen=refused]")).to_be_visible()
        assert_usable(page, "429 refused")
        large_on(page)
        assert_usable(page, "429 refused (large text)")

    config = NO_PRINTER + "[kiosk]\nprinter_down = \"screen\"\n"
    with LiveServer(tmp_path / "screen", config_text=config) as server:
        page = kiosk_page(1024, 600)
        open_kiosk(page, server)
        expect(page.locator("#banner")).to_contain_text("Máy in chưa sẵn sàng")
        assert_usable(page, "printer down, tickets on the screen")
        tap_field(page)
        tap(page, "DEMO-GT-001", 200)
        expect(page.locator("#printing.failed")).to_contain_text("Chưa in được vé")
        # Not by colour alone: a warning sign with the words.
        expect(page.locator("#printing.failed")).to_contain_text("⚠")
        expect(page.locator("#banner")).to_contain_text("⚠")
        assert_usable(page, "ticket with a printer error")
        large_on(page)
        assert_usable(page, "ticket with a printer error (large text)")


def test_errors_pass_axe_printer_down_hall_closed_queue_full(tmp_path, kiosk_page):
    config = NO_PRINTER + "[kiosk]\nprinter_down = \"refuse\"\n"
    with LiveServer(tmp_path / "refuse", config_text=config) as server:
        page = kiosk_page(1024, 600)
        open_kiosk(page, server)
        expect(page.locator("#banner")).to_contain_text("Ki-ốt tạm ngừng cấp số")
        assert_usable(page, "printer down, refusing")
        tap_field(page)
        tap(page, "DEMO-GT-001", 503)
        expect(page.locator("[data-screen=refused]")).to_contain_text("chưa sẵn sàng")
        assert_usable(page, "refused: printer down")

    with LiveServer(tmp_path / "full") as server:
        page = kiosk_page(1024, 600)
        put_queue(server, "GPLX", daily_limit=1)
        server.issue("DEMO-GT-001")
        open_kiosk(page, server)
        tap_field(page)
        expect(page.locator(".choice.closed").first).to_contain_text("hết số")
        assert_usable(page, "queue full: procedures greyed")
        stale_tap(page, "DEMO-GT-001")
        assert_usable(page, "refused: queue full")

    opens, closes = closed_window()
    config = f'[rules]\nopens_at = "{opens}"\ncloses_at = "{closes}"\n'
    with LiveServer(tmp_path / "closed", config_text=config) as server:
        page = kiosk_page(1024, 600)
        open_kiosk(page, server)
        expect(page.locator(".choice.field[aria-disabled=true]").first).to_contain_text(
            "Tạm ngừng cấp số")
        assert_usable(page, "hall closed: start")
        tap_field(page)
        expect(page.locator(".choice.closed").first).to_contain_text(opens)
        # Greyed is also said with a mark and words; the chosen language has a check mark.
        expect(page.locator(".choice.closed .choice-note").first).to_contain_text("✖")
        expect(page.locator(".lang.on .mark")).to_be_visible()
        expect(page.locator(".lang:not(.on) .mark")).to_be_hidden()
        assert_usable(page, "hall closed: procedures greyed")
        stale_tap(page, "DEMO-GT-002")
        expect(page.locator("[data-screen=refused]")).to_contain_text(opens)
        assert_usable(page, "refused: hall closed")
        large_on(page)
        assert_usable(page, "refused: hall closed (large text)")


# -- large text / high contrast ------------------------------------------------------------------

SHORT_TIMES = "[kiosk]\nidle_seconds = 3\nticket_seconds = 3\nfailed_ticket_seconds = 3\n"


def test_large_text_is_pressed_kept_for_the_citizen_and_reset_for_the_next(tmp_path, page):
    with LiveServer(tmp_path / "short", config_text=SHORT_TIMES) as server:
        errors = watch_errors(page)
        open_kiosk(page, server)
        button = page.get_by_role("button", name=re.compile("Chữ to"))
        expect(button).to_have_attribute("aria-pressed", "false")
        expect(button.locator(".mark")).to_be_hidden()
        button.click()
        expect(button).to_have_attribute("aria-pressed", "true")
        expect(button.locator(".mark")).to_be_visible()  # pressed shows a ✓, not only colour
        expect(page.locator("body")).to_have_class(re.compile(r"\blarge\b"))

        # The same citizen: it stays on every screen, and across a language switch.
        tap_field(page)
        expect(page.locator("#large-text")).to_have_attribute("aria-pressed", "true")
        page.get_by_role("link", name="English").click()
        expect(page.locator("h1")).to_have_text("Please choose a field")
        expect(page.get_by_role("button", name=re.compile("Large text"))).to_have_attribute(
            "aria-pressed", "true")
        # Left alone: back to the start in Vietnamese, normal text, for the next citizen.
        expect(page.locator("h1")).to_have_text("Mời chọn lĩnh vực", timeout=8000)
        expect(page.locator("#large-text")).to_have_attribute("aria-pressed", "false")
        expect(page.locator("body")).not_to_have_class(re.compile(r"\blarge\b"))

        # "Done" after a ticket: the citizen leaves, the next one starts with normal text.
        page.locator("#large-text").click()
        tap_field(page)
        page.locator("[data-procedure=DEMO-GT-002]").click()
        expect(page.locator("[data-screen=ticket]")).to_be_visible()
        page.get_by_role("button", name=re.compile("Xong")).click()
        expect(page.locator("[data-screen=fields]")).to_be_visible()
        expect(page.locator("#large-text")).to_have_attribute("aria-pressed", "false")

        # The ticket screen giving way by itself resets it too.
        page.locator("#large-text").click()
        tap_field(page)
        page.locator("[data-procedure=DEMO-GT-002]").click()
        expect(page.locator("[data-screen=ticket]")).to_be_visible()
        expect(page.locator("[data-screen=fields]")).to_be_visible(timeout=8000)
        expect(page.locator("#large-text")).to_have_attribute("aria-pressed", "false")
        assert errors == []


# -- read aloud ------------------------------------------------------------------------------------

def press_read_aloud(page: Page) -> bytes:
    """Press "Đọc to"; the WAV it fetched, once it played."""
    button = page.get_by_role("button", name=re.compile("Đọc to"))
    with page.expect_response(lambda r: "/kiosk/k1/read?" in r.url) as got:
        button.click()
    response = got.value
    assert response.status in (200, 206), response.status  # 206: the media element asks a range
    assert response.headers["content-type"] == "audio/wav"
    body = response.body()
    assert body[:4] == b"RIFF" and body[8:12] == b"WAVE" and len(body) > 20_000, body[:16]
    expect(page.locator("#read-aloud")).to_have_attribute("data-state", re.compile(
        "playing|ended"), timeout=10_000)
    return body


def test_read_aloud_plays_each_screen(live_server, page):
    errors = watch_errors(page)
    open_kiosk(page, live_server)
    heard = {"start": press_read_aloud(page)}
    expect(page.locator("#read-aloud")).to_have_attribute("data-state", "ended", timeout=60_000)
    tap_field(page)
    heard["field"] = press_read_aloud(page)
    # Pressed again while it reads: it stops.
    page.locator("#read-aloud").click()
    expect(page.locator("#read-aloud")).to_have_attribute("data-state", "idle")
    home(page)
    open_search(page)
    type_keys(page, "phu hieu taxi")
    expect(page.locator("#results .procedure")).to_have_count(1)
    heard["results"] = press_read_aloud(page)
    home(page)
    tap_field(page)
    tap(page, "DEMO-GT-004", 200)
    expect(page.locator("#printing.ok")).to_be_visible(timeout=5000)
    heard["ticket"] = press_read_aloud(page)
    # Each screen says its own words.
    assert len(set(heard.values())) == len(heard)
    # A new screen stops what the old one was reading.
    page.get_by_role("button", name=re.compile("Xong")).click()
    expect(page.locator("#read-aloud")).to_have_attribute("data-state", "idle")
    assert errors == []
