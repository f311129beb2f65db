"""Kiosk read aloud: how long "Đọc to" takes to answer, first time (espeak-ng) and from the cache.

Against a real ``goiso serve --demo``: every kiosk screen's reading (the start, each field's
procedure list, priority, search results for a few queries, ``--tickets`` (10) ticket screens,
in Vietnamese and English) is fetched once never asked before (synthesised) and once again
(cached), with the WAV's size and length. The kiosk plays the audio as soon as the reply is in.
New readings are limited per address (20 a minute): the run waits when told to, which is not
counted in the times.
"""

from __future__ import annotations

import argparse
import html
import re
import time
import wave
from io import BytesIO

import requests

from tests.liveserver import LiveServer

from . import percentile, table

TITLE = "Kiosk read aloud: first (espeak-ng) and cached replies, WAV size and length"
READ = re.compile(r'data-read="([^"]+)"')
HX = {"HX-Request": "true"}
QUERIES = ("doi gplx", "phu hieu", "tau ca", "dang ky xe")


def screen_readings(server: LiveServer, session: requests.Session, tickets: int) -> list[str]:
    """The reading address of every kiosk screen (the last on each, as the button reads)."""
    def last(response) -> str:
        return html.unescape(READ.findall(response.text)[-1])

    urls = [last(session.get(server.url("/kiosk/k1"), headers=HX)),
            last(session.get(server.url("/kiosk/k1/priority"), headers=HX)),
            last(session.get(server.url("/kiosk/k1/search"), headers=HX))]
    for field in range(1, 6):
        reply = session.get(server.url(f"/kiosk/k1/fields/{field}"), headers=HX)
        if reply.status_code == 200 and READ.search(reply.text):
            urls.append(last(reply))
    for query in QUERIES:
        urls.append(last(session.get(server.url("/kiosk/k1/search"), params={"q": query},
                                     headers={**HX, "HX-Target": "results"})))
    for _ in range(tickets):
        ticket = server.issue("DEMO-GT-001")
        urls.append(last(session.get(server.url(f"/kiosk/k1/tickets/{ticket['token']}"),
                                     headers=HX)))
    return urls


def fetch(session: requests.Session, url: str) -> tuple[float, int, float]:
    """(seconds, bytes, seconds of audio) of one reading. A kiosk may have only so many new
    readings made a minute (services.readaloud): past that, wait as told and time the retry."""
    while True:
        began = time.perf_counter()
        reply = session.get(url, timeout=60)
        took = time.perf_counter() - began
        if reply.status_code != 429:
            break
        time.sleep(int(reply.headers["Retry-After"]))
    reply.raise_for_status()
    with wave.open(BytesIO(reply.content)) as audio:
        length = audio.getnframes() / audio.getframerate()
    return took, len(reply.content), length


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench readaloud", description=TITLE)
    parser.add_argument("--tickets", type=int, default=10)
    args = parser.parse_args(argv)
    rows = []
    with LiveServer() as server:
        for lang in ("vi", "en"):
            session = requests.Session()
            session.get(server.url(f"/kiosk/k1?lang={lang}"))
            urls = screen_readings(server, session, args.tickets)
            first = [fetch(session, server.url(url)) for url in urls]
            again = [fetch(session, server.url(url)) for url in urls]
            for name, runs in (("first (synthesised)", first), ("again (cached)", again)):
                times = [t for t, _, _ in runs]
                rows.append([lang, name, len(runs), percentile(times, 50) * 1000,
                             percentile(times, 90) * 1000, max(times) * 1000,
                             sum(b for _, b, _ in runs) / len(runs) / 1024,
                             max(s for _, _, s in runs)])
    print(table(["lang", "reply", "screens", "p50 ms", "p90 ms", "max ms", "mean KB",
                 "longest s"], rows))
    return 0
