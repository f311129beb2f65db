"""Page weight: the bytes each screen costs on the wire with everything it loads (issue 10).

Against a real ``goiso serve --demo`` (gunicorn + gevent) and Debian's Chromium (headless,
driven by Playwright), each screen is opened in a fresh browser context (empty cache, as a
kiosk after a restart) and every response is counted from Chromium's own network log (the
DevTools protocol's Network events, i.e. what the browser really received):

* *transferred*: response headers + body as it came over the socket (compressed or not);
* *uncompressed*: response headers + the body once decoded.

Screens: ``/`` (home), ``/kiosk/k1``, ``/display/main`` (the board) and the board's live
fragment with the stream's frame after one call, ``/counter/1`` (clerk "an" signed in at
counter 1), ``/t/<token>`` (the phone page of a fresh ticket) and ``/admin/`` (supervisor).
A screen is measured once it has loaded and no request has started for half a second.  The
event stream (``/api/v1/events``) stays open; the bytes it carried until then are counted.
Target: each screen ≤ 30 KB transferred.  The call's audio (a chime and the spoken number, WAV
files sent as they are) is shown on a row of its own, without a target.  A screen that loads
anything from another host stops the benchmark.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from tests.liveserver import LiveServer

from . import table
from .board import chromium

TITLE = "Page weight: bytes on the wire per screen with everything it loads, in Chromium"
TARGET_BYTES = 30 * 1024
QUIET_SECONDS = 0.5
CALL_QUIET_SECONDS = 2.5


@dataclass
class Transfer:
    """One response as Chromium received it."""

    url: str
    headers: int = 0  # bytes of the status line and headers
    encoded: int = 0  # body bytes on the wire
    decoded: int = 0  # body bytes once decoded
    encoding: str = ""  # Content-Encoding, if any
    finished: bool = False

    @property
    def transferred(self) -> int:
        if not self.finished and not self.encoding:
            # An open stream (never compressed): Chromium reports its wire bytes a chunk late.
            return self.headers + max(self.encoded, self.decoded)
        return self.headers + self.encoded

    @property
    def uncompressed(self) -> int:
        return self.headers + self.decoded


class NetworkLog:
    """Every response of one page, from the DevTools protocol's Network events."""

    def __init__(self, page):
        self.transfers: dict[str, Transfer] = {}
        self.started = time.monotonic()
        session = page.context.new_cdp_session(page)
        session.on("Network.requestWillBeSent", self._sent)
        session.on("Network.responseReceived", self._response)
        session.on("Network.dataReceived", self._data)
        session.on("Network.loadingFinished", self._finished)
        session.on("Network.loadingFailed", self._failed)
        session.send("Network.enable")

    def _sent(self, event: dict) -> None:
        self.started = time.monotonic()
        key = event["requestId"]
        if "redirectResponse" in event and key in self.transfers:
            # A redirect reuses the request's id: keep the redirect apart, as a whole reply.
            redirect = self.transfers.pop(key)
            redirect.headers = event["redirectResponse"].get("encodedDataLength", 0)
            redirect.finished = True
            self.transfers[f"{key}/{len(self.transfers)}"] = redirect
        self.transfers[key] = Transfer(event["request"]["url"])

    def _response(self, event: dict) -> None:
        transfer = self.transfers.get(event["requestId"])
        if transfer is None:
            return
        response = event["response"]
        # At this point the bytes received are the status line and headers.
        transfer.headers = int(response.get("encodedDataLength", 0))
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        transfer.encoding = headers.get("content-encoding", "")

    def _data(self, event: dict) -> None:
        transfer = self.transfers.get(event["requestId"])
        if transfer is None:
            return
        transfer.decoded += event.get("dataLength", 0)
        transfer.encoded += event.get("encodedDataLength", 0)

    def _finished(self, event: dict) -> None:
        transfer = self.transfers.get(event["requestId"])
        if transfer is None:
            return
        # The total received for the request, headers included: the body is the rest.
        transfer.encoded = max(0, int(event["encodedDataLength"]) - transfer.headers)
        transfer.finished = True

    def _failed(self, event: dict) -> None:
        transfer = self.transfers.get(event["requestId"])
        if transfer is not None:
            transfer.finished = True

    def streaming(self, transfer: Transfer) -> bool:
        return urlsplit(transfer.url).path == "/api/v1/events"

    def settle(self, page, quiet: float = QUIET_SECONDS, timeout: float = 15.0) -> None:
        """Wait until every request but the event stream is done and none began for
        ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            page.wait_for_timeout(100)  # lets Playwright deliver the protocol's events
            pending = [t for t in self.transfers.values()
                       if not t.finished and not self.streaming(t)]
            if not pending and time.monotonic() - self.started >= quiet:
                return
        raise SystemExit(f"{page.url} never settled: still loading "
                         f"{[t.url for t in self.transfers.values() if not t.finished]}")

    def snapshot(self) -> dict[str, tuple[int, int]]:
        """(transferred, uncompressed) per request so far."""
        return {k: (t.transferred, t.uncompressed) for k, t in self.transfers.items()}


@dataclass
class Screen:
    """What one screen cost: its responses, and their totals."""

    name: str
    parts: list[list]  # per response: path, encoding, transferred, uncompressed, done
    target: int | None = TARGET_BYTES

    @property
    def transferred(self) -> int:
        return sum(part[2] for part in self.parts)

    @property
    def uncompressed(self) -> int:
        return sum(part[3] for part in self.parts)

    def row(self) -> list:
        if self.target is None:
            return [self.name, len(self.parts), self.transferred, self.uncompressed,
                    "-", "(audio, as is)"]
        verdict = "meets" if self.transferred <= self.target else "MISSES"
        return [self.name, len(self.parts), self.transferred, self.uncompressed,
                f"<= {self.target // 1024} KB", verdict]


def part(transfer: Transfer, transferred: int, uncompressed: int) -> list:
    return [urlsplit(transfer.url).path, transfer.encoding or "-", transferred, uncompressed,
            "yes" if transfer.finished else "open"]


def whole(name: str, log: NetworkLog) -> Screen:
    return Screen(name, [part(t, t.transferred, t.uncompressed)
                         for t in log.transfers.values()])


def since(name: str, log: NetworkLog, before: dict[str, tuple[int, int]],
          wanted=lambda transfer: True, target: int | None = TARGET_BYTES) -> Screen:
    """What the page received after ``before`` was taken (new requests, and more of old ones),
    of the responses ``wanted`` picks."""
    parts = []
    for key, transfer in log.transfers.items():
        was = before.get(key, (0, 0))
        more = (transfer.transferred - was[0], transfer.uncompressed - was[1])
        if more != (0, 0) and wanted(transfer):
            parts.append(part(transfer, *more))
    return Screen(name, parts, target)


def sign_in(context, server: LiveServer, login: str, pin: str, counter: int | None) -> None:
    """Sign the browser context in through the JSON API (its cookies are the context's)."""
    api = context.request
    token = api.get(server.url("/api/v1/session")).json()["csrf_token"]
    body = {"login": login, "pin": pin} | ({"counter": counter} if counter else {})
    reply = api.post(server.url("/api/v1/session"), data=body,
                     headers={"X-CSRFToken": token})
    if reply.status != 201:
        raise SystemExit(f"sign-in as {login}: HTTP {reply.status}: {reply.text()}")


def open_screen(browser, server: LiveServer, path: str, who: tuple | None = None):
    """A fresh context signed in as ``who`` (login, pin, counter), the page loaded and settled."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    if who:
        sign_in(context, server, *who)
    page = context.new_page()
    log = NetworkLog(page)
    reply = page.goto(server.url(path), wait_until="load")
    if reply is None or reply.status != 200:
        raise SystemExit(f"GET {path}: HTTP {reply and reply.status}")
    log.settle(page)
    return context, page, log


def measure(browser, server: LiveServer) -> list[Screen]:
    """Every screen once, each in a fresh context."""
    staff = server.pins
    ticket = server.issue()
    server.issue()  # one more waiting, for the call below
    screens = []
    for name, path, who in (
        ("/ (home)", "/", None),
        ("/kiosk/k1", "/kiosk/k1", None),
        ("/display/main (board)", "/display/main", None),
        ("/counter/1 (clerk)", "/counter/1", ("an", staff["an"], 1)),
        ("/t/<token> (phone)", f"/t/{ticket['token']}", None),
        ("/admin/ (supervisor)", "/admin/", ("giamsat", staff["giamsat"], None)),
    ):
        context, page, log = open_screen(browser, server, path, who)
        try:
            outside = [t.url for t in log.transfers.values()
                       if not t.url.startswith((server.url("/"), "data:"))]
            if outside:
                raise SystemExit(f"{path} loads from other hosts: {outside}")
            screens.append(whole(name, log))
            if path == "/display/main":
                screens.extend(after_call(page, log, server))
        finally:
            context.close()
    return screens


def audio(transfer: Transfer) -> bool:
    return urlsplit(transfer.url).path.startswith("/display/audio/")


def after_call(page, log: NetworkLog, server: LiveServer) -> list[Screen]:
    """The board's share of one call: the stream's frame and the live fragment it fetches;
    apart, the chime and the spoken call it plays (WAV, sent as they are)."""
    before = log.snapshot()
    with page.expect_response(lambda r: urlsplit(r.url).path == "/display/main/live"):
        server.act(1, "next")
    log.settle(page, quiet=CALL_QUIET_SECONDS)  # the spoken call comes after the chime
    return [since("  board after a call (event + live)", log, before,
                  lambda t: not audio(t)),
            since("  board after a call (chime + voice)", log, before, audio, None)]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench weight", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", action="store_true",
                        help="also list every response of every screen")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    with LiveServer(quick_streams=False) as server, sync_playwright() as playwright:
        browser = chromium(playwright)
        try:
            screens = measure(browser, server)
        finally:
            browser.close()

    print("Bytes received per screen, fresh browser context, Chromium's network log "
          "(headers + body):")
    print(table(["screen", "requests", "bytes transferred", "bytes uncompressed", "target",
                 "verdict"], [s.row() for s in screens], align="<>>><<"))
    if args.requests:
        for screen in screens:
            print(f"\n{screen.name.strip()}:")
            print(table(["response", "encoding", "transferred", "uncompressed", "done"],
                        screen.parts, align="<<>><"))
    heaviest = max((s for s in screens if s.target), key=lambda s: s.transferred)
    verdict = "meets" if heaviest.transferred <= TARGET_BYTES else "MISSES"
    print(f"heaviest: {heaviest.name.strip()} {heaviest.transferred / 1024:.1f} KB {verdict} "
          f"the target of {TARGET_BYTES // 1024} KB per screen")
    return 0 if heaviest.transferred <= TARGET_BYTES else 1
