"""Open screens: memory, idle CPU and fan-out latency of ``GET /api/v1/events`` streams.

Against a real ``goiso serve`` subprocess (gunicorn master + one gevent worker) on a fresh demo
hall, with ``--streams`` (200) raw-socket SSE clients held by one thread of this process:

* RSS of the master and of the worker, idle and with the streams open (psutil), and what one
  open stream costs the worker in KB;
* the worker's CPU over ``--idle-seconds`` (5) with the streams open and nothing happening;
* fan-out: ``--calls`` (100) times ``POST /api/v1/counters/1/next``, from just before the
  request is sent to the moment the ``called`` frame of that number has arrived on every open
  stream (the slowest stream), with the calls ``--gap`` (0.2 s) apart as a clerk's would be:
  these are also the "lone call" rows of the event latency (issue 10);
* event latency of two quick calls: ``--pairs`` (100) times counter 1 calls, and counter 2
  calls 5, 15 or 30 ms (in turn) after counter 1 was answered; the same measure for each call,
  the second one being the call that used to wait out the stream's 50 ms coalescing pause;
* ``GET /api/v1/hall`` with the streams open (the server is not frozen by them).
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import psutil

from tests.liveserver import ONE_MACHINE, LiveServer
from tests.sseclient import Streams

from . import percentile, table

TITLE = "SSE: RSS idle and with 200 streams, idle CPU, fan-out latency of a call"

RSS_TARGET_MB = 60.0
IDLE_CPU_TARGET = 2.0  # percent of one core: "about zero"
FANOUT_P99_TARGET_MS = 100.0
EVENT_P99_TARGET_MS = 20.0  # issue 10: a call reaches 200 listeners within 20 ms, quick or not
PAIR_APART = (0.005, 0.015, 0.030)  # seconds from the first call's answer to the second call
MB = 1024 * 1024


class Call:
    """``POST /api/v1/counters/N/next`` in a thread of its own, so the caller keeps reading the
    streams meanwhile; ``began`` is just before the request is sent, ``answered`` when its
    reply is read, ``seen`` when its ``called`` frame has reached the last of the streams."""

    def __init__(self, server: LiveServer, counter: int):
        self.reply: dict = {}
        self.answered = self.seen = float("nan")
        self.began = time.perf_counter()
        self._thread = threading.Thread(target=self._send, args=(server, counter), daemon=True)
        self._thread.start()

    def _send(self, server: LiveServer, counter: int) -> None:
        self.reply["status"], self.reply["body"], _ = server.request(
            "POST", f"/api/v1/counters/{counter}/next", token=server.tokens[counter])
        self.answered = time.perf_counter()

    def done(self) -> bool:
        return "status" in self.reply

    def number(self) -> str:
        """The number called (the call must have been answered 200)."""
        self._thread.join(10)
        if self.reply.get("status") != 200:
            raise RuntimeError(f"POST /counters/N/next answered {self.reply.get('status')}")
        return self.reply["body"]["number"]


def arrived(streams: Streams, call: Call) -> Call:
    """Wait for ``call``'s ``called`` frame on every stream; note when the last one got it."""
    number = call.number()
    frames = streams.wait_for("called", f'"number": "{number}"', 10)
    missing = sum(1 for f in frames if f is None)
    if missing:
        raise RuntimeError(f"{missing} of {len(frames)} streams never got call {number}")
    call.seen = max(f.at for f in frames)
    return call


def issue_tickets(server: LiveServer, streams: Streams, count: int) -> None:
    """Tickets to call, all issued (and their events read) before timing starts."""
    for _ in range(count):
        status, _, _ = server.request("POST", "/api/v1/tickets", {"procedure": "DEMO-GT-001"})
        assert status == 201, status
    streams.pump(lambda: False, 0.5)
    streams.forget_frames()


def fan_out(server: LiveServer, streams: Streams, calls: int, gap: float) -> list[Call]:
    """``calls`` calls of counter 1, ``gap`` seconds apart, each seen on every stream."""
    took = []
    for _ in range(calls):
        time.sleep(gap)
        call = Call(server, 1)
        streams.pump(call.done, 10)
        took.append(arrived(streams, call))
        streams.forget_frames()
    return took


def quick_pairs(server: LiveServer, streams: Streams, pairs: int,
                gap: float) -> tuple[list[Call], list[Call]]:
    """Counter 1 calls, then counter 2 calls 5, 15 or 30 ms after counter 1 was answered;
    (first calls, second calls), each seen on every stream."""
    firsts, seconds = [], []
    for i in range(pairs):
        time.sleep(gap)
        first = Call(server, 1)
        streams.pump(first.done, 10)
        streams.pump(lambda: False, PAIR_APART[i % len(PAIR_APART)])
        second = Call(server, 2)
        streams.pump(second.done, 10)
        firsts.append(arrived(streams, first))
        seconds.append(arrived(streams, second))
        streams.forget_frames()
    return firsts, seconds


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench sse", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=200, help="open SSE streams (200)")
    parser.add_argument("--calls", type=int, default=100,
                        help="lone calls timed for fan-out (100)")
    parser.add_argument("--pairs", type=int, default=100,
                        help="pairs of quick calls timed (100)")
    parser.add_argument("--gap", type=float, default=0.2,
                        help="seconds between lone calls, and between pairs (0.2)")
    parser.add_argument("--idle-seconds", type=float, default=5.0,
                        help="how long idle CPU is measured (5)")
    args = parser.parse_args(argv)

    with LiveServer(quick_streams=False, env=ONE_MACHINE) as server, \
            Streams(server.port) as streams:
        print(f"goiso serve on {server.base_url} (master pid {server.master}, worker pid "
              f"{server.worker})", flush=True)
        for _ in range(3):  # imports and the first database connections, as a hall's day would
            server.request("GET", "/api/v1/hall")
        time.sleep(1)
        master_idle, worker_idle = server.rss()

        began = time.perf_counter()
        streams.open(args.streams)
        opened = time.perf_counter() - began
        time.sleep(1)
        master_open, worker_open = server.rss()
        per_stream_kb = (worker_open - worker_idle) / args.streams / 1024

        worker = psutil.Process(server.worker)
        worker.cpu_percent(None)
        streams.pump(lambda: False, args.idle_seconds)  # answer nothing, read what comes
        idle_cpu = worker.cpu_percent(None)

        hall_ms = [server.request("GET", "/api/v1/hall")[2] * 1000 for _ in range(10)]
        issue_tickets(server, streams, args.calls + 2 * args.pairs)
        took = fan_out(server, streams, args.calls, args.gap)
        firsts, seconds = quick_pairs(server, streams, args.pairs, args.gap)
        _, worker_after = server.rss()

    print(f"load average now {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (client and "
          "server share them)")
    fan_ms = [(c.seen - c.began) * 1000 for c in took]
    p99 = percentile(fan_ms, 99)
    rows = [
        ["RSS master, idle", master_idle / MB, "MB", "", ""],
        ["RSS worker, idle", worker_idle / MB, "MB", "", ""],
        ["RSS master, streams open", master_open / MB, "MB", "", ""],
        [f"RSS worker, {args.streams} streams open", worker_open / MB, "MB",
         f"<= {RSS_TARGET_MB:.0f}", _verdict(worker_open / MB <= RSS_TARGET_MB)],
        ["worker KB per open stream", per_stream_kb, "KB", "", ""],
        [f"RSS worker after {args.calls + 2 * args.pairs} calls", worker_after / MB, "MB", "", ""],
        [f"open {args.streams} streams (to their state frame)", opened * 1000, "ms", "", ""],
        [f"worker CPU, {args.streams} streams idle {args.idle_seconds:g} s", idle_cpu,
         "% of a core", f"<= {IDLE_CPU_TARGET:g}", _verdict(idle_cpu <= IDLE_CPU_TARGET)],
        ["GET /api/v1/hall with streams open, p50", percentile(hall_ms, 50), "ms", "", ""],
        ["GET /api/v1/hall with streams open, max", max(hall_ms), "ms", "", ""],
        [f"fan-out call -> all {args.streams} streams, p50", percentile(fan_ms, 50), "ms", "",
         ""],
        [f"fan-out call -> all {args.streams} streams, p99", p99, "ms",
         f"<= {FANOUT_P99_TARGET_MS:.0f}", _verdict(p99 <= FANOUT_P99_TARGET_MS)],
        ["fan-out, max", max(fan_ms), "ms", "", ""],
    ]
    print(table(["measure", "value", "unit", "target", "verdict"], rows, align="<><<<"))
    verdicts = [row[4] for row in rows if row[4]]

    print(f"\nEvent latency (issue 10): call sent -> its 'called' frame on all {args.streams}"
          " streams")
    latency = []
    for name, calls in (
            [f"lone call ({args.gap:g} s apart)", took],
            ["first of two quick calls", firsts],
            ["second of two quick calls (5/15/30 ms after)", seconds]):
        ms = [(c.seen - c.began) * 1000 for c in calls]
        answered = [(c.answered - c.began) * 1000 for c in calls]
        p99 = percentile(ms, 99)
        latency.append([name, len(ms), percentile(ms, 50), p99, max(ms),
                        f"<= {EVENT_P99_TARGET_MS:.0f}", _verdict(p99 <= EVENT_P99_TARGET_MS),
                        percentile(answered, 50), percentile(answered, 99)])
    print(table(["calls", "n", "p50 ms", "p99 ms", "max ms", "p99 target", "verdict",
                 "answered p50", "answered p99"], latency, align="<>>>><<>>"))
    print("answered: the call's own HTTP reply (its SQLite commit included), the part of the "
          "latency before any stream is written")
    verdicts += [row[6] for row in latency]
    return 0 if all(v == "met" for v in verdicts) else 1


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"
