"""Bulk move of 500 waiting tickets: the core's one change beside the raw SQL it stands for, and
the time until a board's event stream has the 500th ticket's event.

1. Core: a hall file (``tests.hallproc.CATALOGUE``, queues A and B) with ``--tickets`` (500)
   waiting in A; ``hall.bulk.apply("move", {"queue": …}, to_queue=…)`` back and forth between A
   and B, ``--rounds`` (30) times: the selection read again inside ``BEGIN IMMEDIATE``, one
   ``transferred`` event per ticket and one ``bulk_applied``, committed with
   ``synchronous=FULL``. Beside it, on the same file and the same tickets, the least raw SQL
   that does the same: one ``UPDATE`` of the tickets, one ``INSERT … SELECT`` of their events,
   one more event, in one durable transaction.
2. Live: a real ``goiso serve --demo`` with ``--tickets`` waiting in GPLX and one board stream
   (``/api/v1/events``, read by ``tests.sseclient``): a supervisor's ``POST /api/v1/bulk``
   moving them to VT and back, ``--live-rounds`` (5) times; from just before the request to
   the arrival of the stream's 500th ``transferred`` event, and to the API's answer.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path

from tests.hallproc import build
from tests.liveserver import LiveServer
from tests.sseclient import Streams

from . import percentile, table

TITLE = "Bulk move of 500 tickets: core vs raw SQL (p50/p99), API → 500th event on a board stream"
CORE_P99_TARGET_MS = 200.0
STREAM_TARGET_MS = 300.0

RAW_MOVE = (
    "UPDATE tickets SET queue_code = :to, transfers = transfers + 1"
    " WHERE day = :day AND queue_code = :source AND status = 'waiting'")
RAW_EVENTS = (
    "INSERT INTO events (at, day, kind, ticket_id, queue_code, data)"
    " SELECT :now, day, 'transferred', id, queue_code, json_object('number', number,"
    " 'from_queue', :source, 'to_queue', :to, 'bulk', 1) FROM tickets"
    " WHERE day = :day AND queue_code = :to AND status = 'waiting' ORDER BY order_at, id")
RAW_AUDIT = ("INSERT INTO events (at, day, kind, data) VALUES (:now, :day, 'bulk_applied',"
             " json_object('action', 'move', 'count', :count))")


def core_and_raw(folder: Path, tickets: int, rounds: int) -> list[list]:
    """Milliseconds per bulk move: the core's, then the raw SQL's, on the same file."""
    hall = build(folder / "bulk.db")
    for _ in range(tickets):
        hall.issuing.issue("PA")
    core = []
    places = ("A", "B")
    for i in range(rounds):
        source, to = places[i % 2], places[(i + 1) % 2]
        began = time.perf_counter()
        done = hall.bulk.apply("move", {"queue": source}, to_queue=to)
        core.append((time.perf_counter() - began) * 1000)
        assert done["count"] == tickets, done["count"]
    day = hall.today()
    hall.close()
    conn = sqlite3.connect(folder / "bulk.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    raw = []
    for i in range(rounds):
        source, to = places[(rounds + i) % 2], places[(rounds + i + 1) % 2]
        args = {"source": source, "to": to, "day": day, "now": time.time()}
        began = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        moved = conn.execute(RAW_MOVE, args).rowcount
        conn.execute(RAW_EVENTS, args)
        conn.execute(RAW_AUDIT, {**args, "count": moved})
        conn.execute("COMMIT")
        raw.append((time.perf_counter() - began) * 1000)
        assert moved == tickets, moved
    conn.close()
    return [["core Bulk.apply(move)", tickets, percentile(core, 50), percentile(core, 99),
             max(core), f"<= {CORE_P99_TARGET_MS:.0f}",
             "met" if percentile(core, 99) <= CORE_P99_TARGET_MS else "NOT met"],
            ["raw UPDATE + INSERT…SELECT", tickets, percentile(raw, 50), percentile(raw, 99),
             max(raw), "", ""]]


def supervisor_session(server: LiveServer) -> tuple[str, str]:
    """A supervisor's session cookie and CSRF token, signed in through the API."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/api/v1/session")
    reply = conn.getresponse()
    cookie = reply.getheader("Set-Cookie").split(";")[0]
    token = json.loads(reply.read())["csrf_token"]
    conn.request("POST", "/api/v1/session", json.dumps(
        {"login": "giamsat", "pin": server.pins["giamsat"]}),
        {"Content-Type": "application/json", "Cookie": cookie, "X-CSRFToken": token})
    reply = conn.getresponse()
    body = json.loads(reply.read())
    if reply.status != 201:
        raise SystemExit(f"sign-in refused: {reply.status} {body}")
    cookie = reply.getheader("Set-Cookie").split(";")[0]
    conn.close()
    return cookie, body["csrf_token"]


def live(tickets: int, rounds: int) -> list[list]:
    """Milliseconds from the bulk request to its answer and to the stream's last event."""
    with LiveServer() as server:
        for _ in range(tickets):
            server.issue("DEMO-GT-001")
        cookie, token = supervisor_session(server)
        headers = {"Content-Type": "application/json", "Cookie": cookie,
                   "X-CSRFToken": token, "Accept": "application/json"}
        answered, streamed = [], []
        places = ("GPLX", "VT")
        with Streams(server.port) as streams:
            stream = streams.open_one()
            for i in range(rounds):
                stream.forget()
                body = json.dumps({"action": "move", "tickets": {"queue": places[i % 2]},
                                   "to_queue": places[(i + 1) % 2], "dry_run": False})
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                conn.connect()
                began = time.perf_counter()
                conn.request("POST", "/api/v1/bulk", body, headers)
                reply = conn.getresponse()
                reply.read()
                answered.append((time.perf_counter() - began) * 1000)
                conn.close()
                if reply.status != 200:
                    raise SystemExit(f"POST /api/v1/bulk answered {reply.status}")

                def moved():
                    return sum(1 for f in stream.frames if f.kind == "transferred")

                if not streams.pump(lambda: moved() >= tickets, 30):
                    raise SystemExit(f"the stream got {moved()} of {tickets} events")
                last = [f for f in stream.frames if f.kind == "transferred"][tickets - 1]
                streamed.append((last.at - began) * 1000)
    return [["POST /api/v1/bulk answered", tickets, percentile(answered, 50),
             percentile(answered, 99), max(answered), "", ""],
            ["request → 500th event on stream", tickets, percentile(streamed, 50),
             percentile(streamed, 99), max(streamed), f"<= {STREAM_TARGET_MS:.0f}",
             "met" if percentile(streamed, 99) <= STREAM_TARGET_MS else "NOT met"]]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench bulk", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=500, help="waiting tickets moved (500)")
    parser.add_argument("--rounds", type=int, default=30, help="core and raw moves (30)")
    parser.add_argument("--live-rounds", type=int, default=5, help="moves over HTTP (5)")
    args = parser.parse_args(argv)
    print(f"SQLite {sqlite3.sqlite_version}; load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="goiso-bench-bulk-") as folder:
        rows = core_and_raw(Path(folder), args.tickets, args.rounds)
        size = (Path(folder) / "bulk.db").stat().st_size
    rows += live(args.tickets, args.live_rounds)
    print(table(["scenario", "tickets", "p50 ms", "p99 ms", "max ms", "target", "verdict"],
                rows))
    print(f"database after the core rounds: {size / 1e6:.2f} MB (+ WAL)")
    return 0
