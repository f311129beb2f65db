"""Tickets over HTTP: ``POST /api/v1/tickets`` against a real ``goiso serve`` subprocess.

``--clients`` threads (8) each keep one HTTP/1.1 keep-alive connection (``http.client``) and
issue tickets back to back until ``--tickets`` (3000) are issued or ``--seconds`` (10) pass.
Latency is per request, from sending to the last byte of the reply.  The run is repeated with
``--streams`` (200) SSE screens open, since every issued ticket wakes every open stream; the
screens are read by a thread of this process so their sockets never back up.

The server is the product as deployed (gunicorn, one gevent worker, SQLite in native threads,
``synchronous=FULL``) on a fresh demo hall; client and server share this machine's CPUs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import threading
import time

import psutil

from tests.liveserver import HOST, ONE_MACHINE, LiveServer
from tests.sseclient import Streams

from . import Result, table

TITLE = "POST /api/v1/tickets over HTTP, 8 keep-alive clients (p50/p99, tickets/s)"

P99_TARGET_MS = 50.0
RATE_TARGET = 300.0
# One procedure of each demo queue, taken in turn: a queue holds 999 numbers a day.
PROCEDURES = ("DEMO-GT-001", "DEMO-GT-007", "DEMO-GT-015", "DEMO-GT-021", "DEMO-GT-022")


def issue_load(server: LiveServer, clients: int, tickets: int, seconds: float,
               name: str, note: str = "", streams: Streams | None = None) -> Result:
    """Issue up to ``tickets`` tickets from ``clients`` threads for at most ``seconds``."""
    bodies = [json.dumps({"procedure": p}).encode() for p in PROCEDURES]
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    latencies: list[list[float]] = [[] for _ in range(clients)]
    numbers: list[list[int]] = [[] for _ in range(clients)]
    errors: list[str] = []
    budget = threading.Semaphore(tickets)
    start = threading.Barrier(clients + 1)
    stop = threading.Event()
    clock = time.perf_counter

    def client(t: int) -> None:
        conn = http.client.HTTPConnection(HOST, server.port, timeout=10)
        out, got = latencies[t], numbers[t]
        start.wait()
        try:
            while not stop.is_set() and budget.acquire(blocking=False):
                body = bodies[(len(out) + t) % len(bodies)]
                began = clock()
                conn.request("POST", "/api/v1/tickets", body=body, headers=headers)
                reply = conn.getresponse()
                raw = reply.read()
                out.append(clock() - began)
                if reply.status != 201:
                    errors.append(f"{reply.status} {raw[:200]!r}")
                    return
                got.append(json.loads(raw)["id"])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            conn.close()

    pool = [threading.Thread(target=client, args=(t,), daemon=True) for t in range(clients)]
    for thread in pool:
        thread.start()
    drain = None
    if streams is not None:
        drain = threading.Thread(target=_drain, args=(streams, stop), daemon=True)
        drain.start()
    worker = psutil.Process(server.worker)
    start.wait()
    cpu = worker.cpu_times()
    began = clock()
    deadline = time.monotonic() + seconds
    for thread in pool:
        thread.join(max(0.0, deadline - time.monotonic()))
    stop.set()
    for thread in pool:
        thread.join(15)
    elapsed = clock() - began
    after = worker.cpu_times()
    used = (after.user - cpu.user) + (after.system - cpu.system)
    note = f"{note}; worker CPU {used / elapsed:.0%}".lstrip("; ")
    if drain is not None:
        drain.join(5)
    if errors:
        raise RuntimeError(f"{name}: {len(errors)} failed requests, first: {errors[0]}")
    issued = [n for part in numbers for n in part]
    if len(set(issued)) != len(issued):
        raise RuntimeError(f"{name}: a ticket id was issued twice")
    return Result(name, clients, len(issued), elapsed,
                  [x for part in latencies for x in part], note)


def _drain(streams: Streams, stop: threading.Event) -> None:
    """Keep reading the SSE sockets (dropping the bytes) while the load runs."""
    streams.drain(stop.is_set, 120)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench http", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (8)")
    parser.add_argument("--tickets", type=int, default=3000, help="tickets per run (3000)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="at most this long per run (10)")
    parser.add_argument("--streams", type=int, default=200,
                        help="SSE streams open during the second run (200; 0 skips it)")
    args = parser.parse_args(argv)

    results: list[Result] = []
    for streams_open in (0, args.streams) if args.streams else (0,):
        # A fresh server (and hall) per run: each queue holds 999 numbers a day.
        with LiveServer(quick_streams=False, env=ONE_MACHINE) as server, \
                Streams(server.port) as streams:
            print(f"goiso serve on {server.base_url} (master pid {server.master}, worker pid "
                  f"{server.worker}), {streams_open} SSE streams", flush=True)
            if streams_open:
                streams.open(streams_open)
            # Warm up: imports, the first connections of the SQLite pool, the feed.
            issue_load(server, args.clients, 50, 5, "warm-up", streams=streams)
            results.append(issue_load(
                server, args.clients, args.tickets, args.seconds, "POST /tickets",
                f"{streams_open} SSE streams open", streams if streams_open else None))

    print(f"load average now {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (client and "
          "server share them)")
    rows = []
    for r in results:
        ok = r.p99_ms <= P99_TARGET_MS and r.rate >= RATE_TARGET
        rows.append([r.name, r.threads, r.ops, r.seconds, r.rate, f">= {RATE_TARGET:.0f}",
                     r.p50_ms, r.p99_ms, f"<= {P99_TARGET_MS:.0f}", "met" if ok else "NOT met",
                     r.note])
    print(table(["scenario", "clients", "tickets", "s", "tickets/s", "target", "p50 ms",
                 "p99 ms", "target", "verdict", "note"], rows, align="<>>>>>>>><<"))
    return 0 if all(row[9] == "met" for row in rows) else 1
