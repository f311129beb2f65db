"""Open screens: memory, idle CPU and fan-out latency of ``GET /api/v1/events`` streams.

Against a real ``goiso serve`` subprocess (gunicorn master + one gevent worker) on a fresh demo
hall, with ``--streams`` (200) raw-socket SSE clients held by one thread of this process:

* RSS of the master and of the worker, idle and with the streams open (psutil), and what one
  open stream costs the worker in KB;
* the worker's CPU over ``--idle-seconds`` (5) with the streams open and nothing happening;
* fan-out: ``--calls`` (30) times ``POST /api/v1/counters/1/next``, from just before the
  request is sent to the moment the ``called`` frame of that number has arrived on every open
  stream (the slowest stream), with the calls ``--gap`` (0.2 s) apart as a clerk's would be;
* ``GET /api/v1/hall`` with the streams open (the server is not frozen by them).
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import psutil

from tests.sseclient import LiveServer, Streams, request

from . import percentile, table

TITLE = "SSE: RSS idle and with 200 streams, idle CPU, fan-out latency of a call"

RSS_TARGET_MB = 60.0
IDLE_CPU_TARGET = 2.0  # percent of one core: "about zero"
FANOUT_P99_TARGET_MS = 100.0
MB = 1024 * 1024


def fan_out(server: LiveServer, streams: Streams, calls: int, gap: float) -> list[float]:
    """Seconds from sending each call to its ``called`` frame on the last of the streams."""
    token = server.tokens[1]
    for _ in range(calls):  # the tickets to call, all issued (and seen) before timing starts
        status, _, _ = request(server, "POST", "/api/v1/tickets", {"procedure": "DEMO-GT-001"})
        assert status == 201, status
    streams.pump(lambda: False, 0.5)
    streams.forget_frames()
    took = []
    for _ in range(calls):
        time.sleep(gap)
        reply: dict = {}

        def call(reply=reply) -> None:
            reply["status"], reply["body"], _ = request(
                server, "POST", "/api/v1/counters/1/next", token=token)

        caller = threading.Thread(target=call, daemon=True)
        began = time.perf_counter()
        caller.start()  # this thread keeps reading the streams meanwhile
        streams.pump(lambda reply=reply: "status" in reply, 10)
        caller.join(10)
        if reply.get("status") != 200:
            raise RuntimeError(f"POST /counters/1/next answered {reply.get('status')}")
        number = reply["body"]["number"]
        frames = streams.wait_for("called", f'"number": "{number}"', 10)
        missing = sum(1 for f in frames if f is None)
        if missing:
            raise RuntimeError(f"{missing} of {len(frames)} streams never got call {number}")
        took.append(max(f.at for f in frames) - began)
        streams.forget_frames()
    return took


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench sse", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=200, help="open SSE streams (200)")
    parser.add_argument("--calls", type=int, default=30, help="calls timed for fan-out (30)")
    parser.add_argument("--gap", type=float, default=0.2, help="seconds between calls (0.2)")
    parser.add_argument("--idle-seconds", type=float, default=5.0,
                        help="how long idle CPU is measured (5)")
    args = parser.parse_args(argv)

    with LiveServer() as server, Streams(server.port) as streams:
        print(f"goiso serve on {server.url} (master pid {server.master}, worker pid "
              f"{server.worker})", flush=True)
        for _ in range(3):  # imports and the first database connections, as a hall's day would
            request(server, "GET", "/api/v1/hall")
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

        hall_ms = [request(server, "GET", "/api/v1/hall")[2] * 1000 for _ in range(10)]
        took = fan_out(server, streams, args.calls, args.gap)
        _, worker_after = server.rss()

    print(f"load average now {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (client and "
          "server share them)")
    fan_ms = [t * 1000 for t in took]
    p99 = percentile(fan_ms, 99)
    rows = [
        ["RSS master, idle", master_idle / MB, "MB", "", ""],
        ["RSS worker, idle", worker_idle / MB, "MB", "", ""],
        ["RSS master, streams open", master_open / MB, "MB", "", ""],
        [f"RSS worker, {args.streams} streams open", worker_open / MB, "MB",
         f"<= {RSS_TARGET_MB:.0f}", _verdict(worker_open / MB <= RSS_TARGET_MB)],
        ["worker KB per open stream", per_stream_kb, "KB", "", ""],
        [f"RSS worker after {args.calls} calls", worker_after / MB, "MB", "", ""],
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
    return 0 if all(v == "met" for v in verdicts) else 1


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"
