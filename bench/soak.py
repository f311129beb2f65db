"""The soak: a busy hall for minutes on end, with every screen and phone following it.

Against a real ``goiso serve`` on a fresh demo hall grown to ``--counters`` (30) counters:
``--kiosks`` (8) kiosks each issuing a ticket every ``--issue-every`` (4) s, the counters each
calling the next ticket every ``--call-every`` (10) s (finishing the one before), ``--boards``
(6) board streams and ``--phones`` (2000) phone streams open throughout, for ``--minutes`` (10).

Every stream's event ids are checked as they arrive: each stream follows the whole hall, so it
must see every event once, in order (a gap is a lost event, a repeat a duplicated one), and
end at the log's last event. The server's RSS and open descriptors are sampled every
``--sample`` (10) s: after the warm-up (the first fifth) they must stay flat, and the
descriptors come back to where they were once the streams close.

``tests/test_soak.py`` runs the same for under a minute with fewer streams.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import threading
import time
from dataclasses import dataclass, field

import psutil
import requests

from tests.liveserver import ONE_MACHINE, LiveServer
from tests.sseclient import Streams

from . import percentile, table

TITLE = "Soak: 8 kiosks, 30 counters, 6 boards, 2,000 phones for 10 minutes"

MB = 1024 * 1024
RSS_GROWTH_MB = 8.0  # after warm-up: allocator noise, not a leak
# Descriptors the server may hold beyond its idle count: the database pool opens one more
# connection (the file and its WAL: 2 descriptors) per thread busy at once under load, kept
# for the next burst (4 database threads, the PIN hashing pool, a device worker or two).
FD_SLACK = 12


@dataclass
class Tally:
    """What the load saw: answers by kind, errors with their first few details, and times."""

    answers: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    issue_ms: list[float] = field(default_factory=list)
    call_ms: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, what: str, ms: float | None = None, into: list | None = None) -> None:
        with self.lock:
            self.answers[what] = self.answers.get(what, 0) + 1
            if into is not None and ms is not None:
                into.append(ms)

    def error(self, text: str) -> None:
        with self.lock:
            self.error_count += 1
            if len(self.errors) < 10:
                self.errors.append(text)


@dataclass
class Follower:
    """One stream's view of the event ids: the last one seen, gaps and repeats."""

    last: int | None = None
    lost: int = 0
    doubled: int = 0
    events: int = 0

    def saw(self, event_id: int) -> None:
        self.events += 1
        if self.last is not None:
            if event_id <= self.last:
                self.doubled += 1
                return
            self.lost += event_id - self.last - 1
        self.last = event_id


@dataclass
class Report:
    """The soak's outcome."""

    minutes: float
    streams: int
    tally: Tally
    followers: list[Follower]
    last_event: int
    samples: list[tuple[float, float, int]]  # (seconds, RSS MB, descriptors)
    fds_idle: int
    fds_after: int

    @property
    def lost(self) -> int:
        return sum(f.lost for f in self.followers) + sum(
            self.last_event - f.last for f in self.followers if f.last is not None)

    @property
    def doubled(self) -> int:
        return sum(f.doubled for f in self.followers)

    @property
    def rss_growth(self) -> float:
        """RSS at the end minus RSS at the end of the warm-up (the first fifth), in MB."""
        warm = self.samples[max(0, len(self.samples) // 5)]
        return max(s[1] for s in self.samples[len(self.samples) // 5:]) - warm[1]

    @property
    def fds_growth(self) -> int:
        """Descriptors at the end of the load minus after the warm-up."""
        warm = self.samples[max(0, len(self.samples) // 5)]
        return self.samples[-1][2] - warm[2]


def grow_hall(server: LiveServer, counters: int) -> dict[int, str]:
    """Counters up to ``counters`` (each serving two queues), each with a device token; the
    tokens by counter (an admin's session does it, as the catalogue page would)."""
    admin = requests.Session()
    csrf = admin.get(server.url("/api/v1/session"), timeout=10).json()["csrf_token"]
    signed = admin.post(server.url("/api/v1/session"), timeout=10,
                        json={"login": "quantri", "pin": server.pins["quantri"]},
                        headers={"X-CSRFToken": csrf})
    signed.raise_for_status()
    admin.headers["X-CSRFToken"] = signed.json()["csrf_token"]
    queues = [q["code"] for q in server.request("GET", "/api/v1/queues")[1]]
    tokens = dict(server.tokens)
    for number in range(len(tokens) + 1, counters + 1):
        serves = [queues[number % len(queues)], queues[(number + 1) % len(queues)]]
        admin.put(server.url(f"/api/v1/counters/{number}"), timeout=10,
                  json={"name": f"Quầy {number}", "queues": serves}).raise_for_status()
        made = admin.post(server.url(f"/api/v1/counters/{number}/tokens"), json={}, timeout=10)
        made.raise_for_status()
        tokens[number] = made.json()["token"]
    return tokens


def run(*, minutes: float, kiosks: int = 8, counters: int = 30, boards: int = 6,
        phones: int = 2000, issue_every: float = 4.0, call_every: float = 10.0,
        sample_every: float = 10.0, seed: int = 13, say=print,
        quick_streams: bool = False) -> Report:
    """Soak a fresh demo hall; the report (nothing asserted here). ``quick_streams``: a
    keep-alive each second (the suite's short soak), so closed streams are noticed soon."""
    streams_total = boards + phones
    env = {**ONE_MACHINE, "GOISO_MAX_STREAMS": str(max(2000, streams_total))}
    tally = Tally()
    stop = threading.Event()
    with LiveServer(quick_streams=quick_streams, env=env) as server:
        process = psutil.Process(server.worker)
        tokens = grow_hall(server, counters)
        procedures = [p["code"] for p in server.request("GET", "/api/v1/procedures")[1]]
        server.request("GET", "/api/v1/hall")
        fds_idle = process.num_fds()
        say(f"goiso serve pid {server.worker}: opening {streams_total} streams")
        # The streams are read in a process of their own: parsing 2,000 streams in this one
        # held its GIL so long that the kiosks' and counters' timings measured the client's
        # wait for it, not the server (p99 1 s here; 13 ms with the reader apart).
        ours, theirs = multiprocessing.get_context("fork").Pipe()
        reader = multiprocessing.get_context("fork").Process(
            target=_follow, args=(theirs, server.port, streams_total), daemon=True)
        reader.start()
        if not ours.poll(240) or ours.recv() != "open":
            raise RuntimeError("the streams did not open")

        def kiosk(k: int) -> None:
            local = random.Random(seed * 100 + k)
            while not stop.wait(local.uniform(0.5, 1.5) * issue_every):
                status, body, took = server.request(
                    "POST", "/api/v1/tickets", {"procedure": local.choice(procedures)})
                if status == 201:
                    tally.note("issued", took * 1000, tally.issue_ms)
                elif status == 409:  # a queue's day is full or closed: an answer, not a fault
                    tally.note(f"refused {body['error']['code']}")
                else:
                    tally.error(f"issue {status} {body}")

        def counter(number: int) -> None:
            local = random.Random(seed * 1000 + number)
            while not stop.wait(local.uniform(0.5, 1.5) * call_every):
                status, body, took = server.request("POST", f"/api/v1/counters/{number}/next",
                                                    {}, token=tokens[number])
                if status == 200:
                    tally.note("called", took * 1000, tally.call_ms)
                elif status == 204:  # nothing waiting for this counter: an answer
                    tally.note("nothing waiting")
                else:
                    tally.error(f"call {number}: {status} {body}")

        samples: list[tuple[float, float, int]] = []
        began = time.monotonic()

        def sampler() -> None:
            while True:
                samples.append((time.monotonic() - began, process.memory_info().rss / MB,
                                process.num_fds()))
                if stop.wait(sample_every):
                    return

        workers = [threading.Thread(target=kiosk, args=(k,), daemon=True) for k in range(kiosks)]
        workers += [threading.Thread(target=counter, args=(n,), daemon=True)
                    for n in sorted(tokens)[:counters]]
        workers.append(threading.Thread(target=sampler, daemon=True))
        for worker in workers:
            worker.start()

        end = began + minutes * 60
        next_say = began + 60
        while not stop.wait(max(0.0, min(1.0, end - time.monotonic()))):
            if time.monotonic() >= end:
                break
            if time.monotonic() >= next_say:
                say(f"  {round((time.monotonic() - began) / 60)} min: {tally.answers}, "
                    f"{tally.error_count} errors, RSS {samples[-1][1]:.1f} MB, "
                    f"{samples[-1][2]} fds")
                next_say += 60
        stop.set()
        for worker in workers:
            worker.join(15)
        last_event = server.request("GET", "/api/v1/hall")[1]["last_event_id"]
        ours.send(last_event)  # the reader waits for it on every stream, then closes them
        if not ours.poll(120):
            raise RuntimeError("the streams' reader did not report")
        followers = ours.recv()
        reader.join(10)
        settle = time.monotonic() + 60
        while process.num_fds() > fds_idle + FD_SLACK and time.monotonic() < settle:
            server.request("GET", "/api/v1/hall")
            time.sleep(1)
        fds_after = process.num_fds()
    return Report(minutes, streams_total, tally, followers, last_event,
                  samples, fds_idle, fds_after)


def _follow(conn, port: int, count: int) -> None:
    """The streams' reader (a process of its own): open ``count`` streams, say "open", check
    every event id until the last event id comes down ``conn``, then send the followers back."""
    with Streams(port) as streams:
        opened = streams.open(count, timeout=180)
        followers = {id(s): Follower() for s in opened}

        def fed(stream) -> None:
            follower = followers[id(stream)]
            for frame in stream.frames:
                if frame.id is not None and frame.kind not in (None, "state"):
                    follower.saw(frame.id)
            stream.forget()

        conn.send("open")
        while not conn.poll():
            streams.pump(lambda: False, 1.0, fed)
        last_event = conn.recv()
        # What is still on its way reaches every stream.
        streams.pump_until_all(lambda s: followers[id(s)].last == last_event or fed(s),
                               opened, 30)
        for s in opened:
            fed(s)
        streams.close()
        conn.send([followers[id(s)] for s in opened])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--kiosks", type=int, default=8)
    parser.add_argument("--counters", type=int, default=30)
    parser.add_argument("--boards", type=int, default=6)
    parser.add_argument("--phones", type=int, default=2000)
    parser.add_argument("--issue-every", type=float, default=4.0)
    parser.add_argument("--call-every", type=float, default=10.0)
    parser.add_argument("--sample", type=float, default=10.0)
    args = parser.parse_args(argv)
    report = run(minutes=args.minutes, kiosks=args.kiosks, counters=args.counters,
                 boards=args.boards, phones=args.phones, issue_every=args.issue_every,
                 call_every=args.call_every, sample_every=args.sample)
    tally = report.tally
    print("\nRSS and descriptors over time:")
    print(table(["s", "RSS MB", "fds"], [[round(t), rss, fds] for t, rss, fds in
                                          report.samples], align=">>>"))
    checks = {
        "errors": tally.error_count == 0,
        "lost": report.lost == 0,
        "doubled": report.doubled == 0,
        "rss": report.rss_growth <= RSS_GROWTH_MB,
        "fds": report.fds_growth <= FD_SLACK and report.fds_after <= report.fds_idle + FD_SLACK,
    }
    rows = [
        ["answers", json.dumps(tally.answers, ensure_ascii=False), "", ""],
        ["errors", tally.error_count, "0", _ok(checks["errors"])],
        ["ticket answered p50 / p99 ms", f"{percentile(tally.issue_ms, 50):.1f} / "
         f"{percentile(tally.issue_ms, 99):.1f}", "", ""],
        ["call answered p50 / p99 ms", f"{percentile(tally.call_ms, 50):.1f} / "
         f"{percentile(tally.call_ms, 99):.1f}", "", ""],
        [f"events seen by {report.streams} streams", sum(f.events for f in report.followers),
         "", ""],
        ["events lost on some stream", report.lost, "0", _ok(checks["lost"])],
        ["events duplicated on some stream", report.doubled, "0", _ok(checks["doubled"])],
        ["RSS growth after warm-up, MB", report.rss_growth, f"<= {RSS_GROWTH_MB:g}",
         _ok(checks["rss"])],
        ["descriptors: growth after warm-up / idle -> after", f"{report.fds_growth} / "
         f"{report.fds_idle} -> {report.fds_after}", f"<= {FD_SLACK}", _ok(checks["fds"])],
    ]
    print(table(["measure", "value", "target", "verdict"], rows, align="<><<"))
    for text in tally.errors:
        print("error:", text)
    return 0 if all(checks.values()) else 1


def _ok(ok: bool) -> str:
    return "met" if ok else "NOT met"
