"""A hall client run in child processes by the durability tests: ``python -m tests.hallproc``.

Each command opens the hall file the way a kiosk, a counter or a starting server does, in its
own process, and reports on stdout one line per result, flushed as soon as the core returned
it, so that a test killing the process knows exactly what was handed out before the kill.

    issue   DB COUNT [--procedures PA,PB]   issue COUNT tickets (0: until killed), round-robin;
                                            prints "ISSUED <queue> <seq> <number> <id>"
    call    DB COUNTER [COUNTER...]         call_next at these counters (one thread each)
                                            until nothing waits, pausing up to --pause-ms
                                            between calls; prints "CALLED <counter> <id>"
    migrate DB                              Store.migrate(); prints "MIGRATED <json list>"

With ``--go`` a command prints "READY" and waits for a line on stdin before it starts, so a
test can release several processes at the same instant (``spawn``, ``release``, ``finish``: the
test's side).  The hall's clock is frozen at ``AT`` (or ``--at``) so that every process agrees
on the business day.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hall import Hall
from hall.errors import NothingWaiting
from hall.store import Store
from tests.plugins.halls import Catalogue, open_hall

ROOT = Path(__file__).resolve().parent.parent
# Thursday 26 November 2026, 09:00 in the hall: every process of a test lives in this instant.
AT = datetime(2026, 11, 26, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")).timestamp()
QUEUES = {"A": "PA", "B": "PB"}  # queue code -> its procedure
COUNTERS = range(1, 11)
# Queues A and B, procedures PA and PB, counters 1..10 serving both queues, kiosk K1.
CATALOGUE = Catalogue(
    queues={code: {"name": f"Hàng {code}", "prefix": code} for code in QUEUES},
    procedures={procedure: {"name": f"Thủ tục {code}", "field": "Kiểm thử", "queue": code}
                for code, procedure in QUEUES.items()},
    counters={number: {"queues": list(QUEUES)} for number in COUNTERS},
    kiosks={"K1": {"name": "Ki-ốt 1"}},
)


def build(path: str | Path, at: float = AT) -> Hall:
    """Open (creating) a hall with ``CATALOGUE``, its clock frozen at ``at``."""
    return open_hall(path, CATALOGUE, clock=lambda: at)


def open_at(path: str | Path, at: float = AT, migrate: bool = True) -> Hall:
    """Open the hall file at ``path`` with its clock frozen at ``at``."""
    return open_hall(path, clock=lambda: at, migrate=migrate)


def audit(path: str | Path) -> dict[str, list[int]]:
    """Check the numbering invariants on the file at ``path`` with a fresh connection of its own;
    returns the ticket ids of each queue in number order (day after day: a later day's ids
    used to replace an earlier day's, and the 'issued' events check then failed).

    Per (day, queue): sequence numbers 1..N with no gap and no duplicate, labels distinct; one
    'issued' event per ticket and none for a ticket that does not exist; the file intact.
    """
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)], "integrity"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == [], "foreign keys"
        result: dict[str, list[int]] = {}
        for day, queue in conn.execute("SELECT DISTINCT day, issued_queue FROM tickets"
                                       " ORDER BY day"):
            rows = conn.execute("SELECT seq, number, id FROM tickets WHERE day = ? AND"
                                " issued_queue = ? ORDER BY seq", (day, queue)).fetchall()
            seqs = [r[0] for r in rows]
            assert seqs == list(range(1, len(rows) + 1)), f"{day} {queue}: seqs {seqs}"
            assert len({r[1] for r in rows}) == len(rows), f"{day} {queue}: a label twice"
            result.setdefault(queue, []).extend(r[2] for r in rows)  # days in order
        issued = dict(conn.execute(
            "SELECT ticket_id, count(*) FROM events WHERE kind = 'issued' GROUP BY ticket_id"))
        ids = {i for ids in result.values() for i in ids}
        assert set(issued) == ids, f"issued events for {set(issued) ^ ids} without their ticket"
        assert set(issued.values()) <= {1}, "a ticket with two 'issued' events"
        return result
    finally:
        conn.close()


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def issue(hall: Hall, count: int, procedures: list[str]) -> None:
    i = 0
    while count == 0 or i < count:
        ticket = hall.issuing.issue(procedures[i % len(procedures)], kiosk="K1")
        row = (ticket["queue"]["code"], ticket["number"], ticket["id"])
        seq = int("".join(ch for ch in row[1] if ch.isdigit()))
        say(f"ISSUED {row[0]} {seq} {row[1]} {row[2]}")
        i += 1


def call(hall: Hall, counters: list[int], pause: float = 0.0,
         called: Callable[[int, int], None] | None = None) -> None:
    """``call_next`` at these counters, one thread each, until nothing waits, pausing up to
    ``pause`` s after each call; ``called(counter, ticket id)`` (one at a time) says so."""
    lock = threading.Lock()
    called = called or (lambda number, ticket: say(f"CALLED {number} {ticket}"))

    def counter(k: int) -> None:
        number, rng = counters[k], random.Random(counters[k])
        while True:
            try:
                ticket = hall.calling.call_next(number)
            except NothingWaiting:
                return
            with lock:
                called(number, ticket["id"])
            # A moment at the desk; without it the thread that just committed takes the lock
            # again before the others wake up, and one counter calls nearly everything.
            time.sleep(rng.uniform(0, pause))

    run_threads(len(counters), counter)


def run_threads(count: int, target) -> None:
    """Run ``target(k)`` in ``count`` threads released together; re-raise the first failure."""
    start = threading.Barrier(count)
    failures: list[BaseException] = []

    def body(k: int) -> None:
        start.wait()
        try:
            target(k)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            failures.append(exc)

    threads = [threading.Thread(target=body, args=(k,)) for k in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    if failures:
        raise failures[0]


# -- the test's side ---------------------------------------------------------------------------

def spawn(*args: str, go: bool = True) -> subprocess.Popen:
    """Start ``python -m tests.hallproc ARGS``; with ``go`` it waits for ``release``."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.hallproc", *map(str, args), *(["--go"] if go else [])],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, bufsize=1)


def release(procs: list[subprocess.Popen]) -> None:
    """Wait until every process is READY, then let them all start at once."""
    for proc in procs:
        line = proc.stdout.readline()
        assert line == "READY\n", (line, proc.stderr.read() if not line else "")
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()


def finish(proc: subprocess.Popen, timeout: float = 60) -> list[str]:
    """Wait for a process to end well; its stdout lines."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert lines[-1] == "DONE", lines[-3:]
    return lines[:-1]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.hallproc")
    parser.add_argument("command", choices=("issue", "call", "migrate"))
    parser.add_argument("db")
    parser.add_argument("args", nargs="*", type=int)
    parser.add_argument("--procedures", default=",".join(QUEUES.values()))
    parser.add_argument("--at", type=float, default=AT)
    parser.add_argument("--pause-ms", type=float, default=0.0)
    parser.add_argument("--go", action="store_true", help="print READY, wait for a stdin line")
    args = parser.parse_args(argv)

    hall = None
    if args.command != "migrate":
        hall = open_at(args.db, args.at, migrate=False)
        with hall.store.read():  # open a connection before the start line, not after it
            pass
    if args.go:
        say("READY")
        if not sys.stdin.readline():
            return 3
    if args.command == "issue":
        issue(hall, args.args[0] if args.args else 0, args.procedures.split(","))
    elif args.command == "call":
        call(hall, args.args, args.pause_ms / 1000)
    else:
        say("MIGRATED " + json.dumps(Store(args.db).migrate()))
    if hall is not None:
        hall.close()
    say("DONE")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
