"""The hall core against the raw limit of a durable SQLite file.

Every scenario has its own fresh file in a temporary directory, with the durability settings of
``hall.store`` (WAL, ``synchronous=FULL``, a busy timeout), so every commit waits for fsync:

* ``raw``: a bare ``BEGIN IMMEDIATE; UPDATE counter; INSERT ticket; COMMIT`` loop on a minimal
  table: the most any durable numbering can do on this disk.  The ratio ``core/raw`` and the
  target are measured against it;
* ``raw, hall schema``: the least SQL a durable issue needs on the hall's real tables (next
  number, the ticket row, its event row, with all their indexes), for comparison: the gap
  between the two raw rows is the price of the schema, not of the Python around it;
* ``issue``: ``Tickets.issue()`` round-robin over 4 queues (event log, view, wait estimate);
* ``call_next``: ``Tickets.call_next()`` by 8 counters serving the 4 queues, over tickets issued
  beforehand with ``issue()`` (each call also finishes the counter's previous ticket).

Each runs in one thread (counters take turns) and in ``--threads`` threads sharing one ``Hall``
as a server process would.  Latency is per operation, waiting for the write lock included.
Disks of shared machines are noisy, so the scenarios of one thread count run interleaved, in
``--rounds`` slices each, and a ratio compares rates measured in the same minutes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import secrets
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from hall import Hall
from hall.errors import NothingWaiting
from hall.store import BUSY_TIMEOUT_MS

from . import Result, table

TITLE = "hall core (issue, call_next) vs a raw durable SQLite loop"

QUEUES = ("A", "B", "C", "D")
COUNTERS = 8
TARGET = 0.5  # the issue asks the core to reach at least half of the raw rate


# -- running -----------------------------------------------------------------------------------

class Scenario:
    """Something measured: ``op(t)`` gives thread t a callable doing operation number i."""

    name = ""
    kind = ""
    note = ""

    def __init__(self, directory: Path, threads: int):
        self.directory = directory
        self.threads = threads
        self.done = 0
        self.seconds = 0.0
        self.latencies: list[float] = []
        self._ops: list[Callable[[int], object]] = []

    def prepare(self, ops: int) -> None:
        """Create the file and whatever the operations need (not timed)."""

    def op(self, t: int) -> Callable[[int], object]:
        raise NotImplementedError

    def check(self) -> None:
        """Verify the operations did what they should (not timed)."""

    def close(self) -> None:
        pass

    def run(self, ops: int) -> None:
        """Run ``ops`` more operations over ``self.threads`` threads, timed."""
        if not self._ops:
            self._ops = [self.op(t) for t in range(self.threads)]
        threads = self.threads
        first = self.done
        shares = [ops // threads + (1 if t < ops % threads else 0) for t in range(threads)]
        latencies: list[list[float]] = [[] for _ in range(threads)]
        errors: list[BaseException] = []
        start = threading.Barrier(threads + 1 if threads > 1 else 1)
        clock = time.perf_counter

        def worker(t: int) -> None:
            op, out = self._ops[t], latencies[t]
            start.wait()
            try:
                for k in range(shares[t]):
                    began = clock()
                    op(first + k * threads + t)
                    out.append(clock() - began)
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                errors.append(exc)

        if threads == 1:  # in the calling thread, so that a profiler running there sees it
            began = clock()
            worker(0)
            seconds = clock() - began
        else:
            pool = [threading.Thread(target=worker, args=(t,), daemon=True)
                    for t in range(threads)]
            for thread in pool:
                thread.start()
            start.wait()
            began = clock()
            for thread in pool:
                thread.join()
            seconds = clock() - began
        if errors:
            raise RuntimeError(f"{self.name} ({threads} threads) failed") from errors[0]
        self.done += ops
        self.seconds += seconds
        for part in latencies:
            self.latencies.extend(part)

    def result(self) -> Result:
        return Result(self.name, self.threads, self.done, self.seconds, self.latencies, self.note)


def measure(scenarios: list[Scenario], ops: int, rounds: int) -> None:
    """``ops`` operations of every scenario, interleaved in ``rounds`` slices."""
    for scenario in scenarios:
        scenario.prepare(ops)
    for r in range(rounds):
        for scenario in scenarios:
            scenario.run(ops * (r + 1) // rounds - ops * r // rounds)
    for scenario in scenarios:
        scenario.check()
        scenario.close()


# -- raw -------------------------------------------------------------------------------------

RAW_SCHEMA = """
CREATE TABLE counters (day TEXT NOT NULL, queue TEXT NOT NULL, last INTEGER NOT NULL,
                       PRIMARY KEY (day, queue));
CREATE TABLE tickets (id INTEGER PRIMARY KEY, day TEXT NOT NULL, queue TEXT NOT NULL,
                      seq INTEGER NOT NULL, number TEXT NOT NULL, issued_at REAL NOT NULL,
                      UNIQUE (day, queue, seq));
"""


def raw_connect(path: Path) -> sqlite3.Connection:
    """A connection with the pragmas of ``hall.store.Store`` (``main`` checks they match)."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


PRAGMAS = ("journal_mode", "synchronous", "busy_timeout", "foreign_keys", "wal_autocheckpoint")


def pragmas(conn: sqlite3.Connection) -> tuple:
    return tuple(conn.execute(f"PRAGMA {name}").fetchone()[0] for name in PRAGMAS)


def transaction(conn: sqlite3.Connection, body: Callable[[], object]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        body()
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class Raw(Scenario):
    name = "raw BEGIN/UPDATE/INSERT/COMMIT"
    kind = "raw"

    def prepare(self, ops: int) -> None:
        self.path = self.directory / f"raw-{self.threads}.db"
        self.conn = raw_connect(self.path)
        self.conn.executescript(RAW_SCHEMA)
        self.day = time.strftime("%Y-%m-%d")
        self.conn.executemany("INSERT INTO counters VALUES (?, ?, 0)",
                              [(self.day, q) for q in QUEUES])

    def op(self, t: int):
        conn, day = raw_connect(self.path), self.day

        def op(i: int) -> None:
            queue = QUEUES[i % len(QUEUES)]

            def body():
                seq = conn.execute(
                    "UPDATE counters SET last = last + 1 WHERE day = ? AND queue = ?"
                    " RETURNING last", (day, queue)).fetchone()[0]
                conn.execute(
                    "INSERT INTO tickets (day, queue, seq, number, issued_at)"
                    " VALUES (?, ?, ?, ?, ?)", (day, queue, seq, f"{queue}{seq:03d}", time.time()))
            transaction(conn, body)
        return op

    def check(self) -> None:
        for queue in QUEUES:
            seqs = [r[0] for r in self.conn.execute(
                "SELECT seq FROM tickets WHERE queue = ? ORDER BY seq", (queue,))]
            assert seqs == list(range(1, len(seqs) + 1)), f"raw numbering broken in {queue}"
        total = self.conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
        assert total == self.done, (total, self.done)

    def close(self) -> None:
        self.conn.close()


# -- core ------------------------------------------------------------------------------------

def open_hall(path: Path) -> Hall:
    """A hall of 4 queues (one procedure each) and 8 counters serving all of them."""
    hall = Hall.open(path)
    for code in QUEUES:
        hall.catalogue.put_queue(code, name=f"Hàng {code}", prefix=code)
        hall.catalogue.put_procedure(f"P{code}", name=f"Thủ tục {code}", field="Bench",
                                     queue=code)
    for number in range(1, COUNTERS + 1):
        hall.catalogue.put_counter(number, queues=list(QUEUES))
    return hall


def check_numbering(hall: Hall, issued: int) -> None:
    with hall.store.read() as conn:
        for queue in QUEUES:
            seqs = [r[0] for r in conn.execute(
                "SELECT seq FROM tickets WHERE issued_queue = ? ORDER BY seq", (queue,))]
            assert seqs == list(range(1, len(seqs) + 1)), f"numbering broken in {queue}"
        tickets = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
        events = conn.execute("SELECT count(*) FROM events WHERE kind = 'issued'").fetchone()[0]
        assert tickets == events == issued, (tickets, events, issued)


class RawHall(Scenario):
    name = "raw, hall schema (ticket + event)"
    kind = "raw-hall"

    def prepare(self, ops: int) -> None:
        self.hall = open_hall(self.directory / f"raw-hall-{self.threads}.db")
        self.day = self.hall.today()

    def op(self, t: int):
        conn, day = raw_connect(self.hall.store.path), self.day

        def op(i: int) -> None:
            queue = QUEUES[i % len(QUEUES)]

            def body():
                now = time.time()
                seq = conn.execute(
                    "SELECT coalesce(max(seq), 0) + 1 FROM tickets WHERE day = ?"
                    " AND issued_queue = ?", (day, queue)).fetchone()[0]
                ticket = conn.execute(
                    "INSERT INTO tickets (day, issued_queue, seq, number, queue_code,"
                    " procedure_code, issued_at, order_at, token) VALUES (?,?,?,?,?,?,?,?,?)",
                    (day, queue, seq, f"{queue}{seq:03d}", queue, f"P{queue}", now, now,
                     secrets.token_urlsafe(16))).lastrowid
                conn.execute(
                    "INSERT INTO events (at, day, kind, ticket_id, queue_code, data)"
                    " VALUES (?, ?, 'issued', ?, ?, '{}')", (now, day, ticket, queue))
            transaction(conn, body)
        return op

    def check(self) -> None:
        check_numbering(self.hall, self.done)

    def close(self) -> None:
        self.hall.close()


class Issue(Scenario):
    name = "core Tickets.issue()"
    kind = "issue"

    def prepare(self, ops: int) -> None:
        self.hall = open_hall(self.directory / f"issue-{self.threads}.db")

    def op(self, t: int):
        issue = self.hall.issuing.issue
        return lambda i: issue(f"P{QUEUES[i % len(QUEUES)]}")

    def check(self) -> None:
        check_numbering(self.hall, self.done)

    def close(self) -> None:
        self.hall.close()


class CallNext(Scenario):
    name = "core Tickets.call_next()"
    kind = "call"
    note = f"{COUNTERS} counters"

    def prepare(self, ops: int) -> None:
        self.hall = open_hall(self.directory / f"call-{self.threads}.db")
        for i in range(ops):
            self.hall.issuing.issue(f"P{QUEUES[i % len(QUEUES)]}")
        self.called: list[int] = []

    def op(self, t: int):
        call_next, called, threads = self.hall.calling.call_next, self.called, self.threads

        def op(i: int) -> None:
            counter = (i if threads == 1 else t) % COUNTERS + 1
            called.append(call_next(counter)["id"])
        return op

    def check(self) -> None:
        assert len(set(self.called)) == len(self.called) == self.done, "a ticket called twice"
        try:
            self.hall.calling.call_next(1)
        except NothingWaiting:
            pass
        else:
            raise AssertionError("tickets left waiting after the bench")

    def close(self) -> None:
        self.hall.close()


# -- main ------------------------------------------------------------------------------------

def profile(directory: Path, what: str, ops: int) -> str:
    """cProfile of one single-thread core scenario, top functions by own time."""
    directory = directory / "profile"
    directory.mkdir()
    scenario = (Issue if what == "issue" else CallNext)(directory, 1)
    scenario.prepare(ops)
    profiler = cProfile.Profile()
    profiler.enable()
    scenario.run(ops)
    profiler.disable()
    scenario.check()
    scenario.close()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    return out.getvalue()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench core", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=3000,
                        help="operations per scenario (default 3000)")
    parser.add_argument("--threads", type=int, default=8,
                        help="threads of the parallel runs (default 8)")
    parser.add_argument("--rounds", type=int, default=10,
                        help="slices the scenarios are interleaved in (default 10)")
    parser.add_argument("--dir", type=Path, default=None,
                        help="directory for the database files (default: a temp dir)")
    parser.add_argument("--profile", choices=("issue", "call"),
                        help="also print a cProfile of the single-thread scenario")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="goiso-bench-", dir=args.dir) as tmp:
        directory = Path(tmp)
        probe = open_hall(directory / "probe.db")
        with probe.store.read() as conn:
            core_pragmas = pragmas(conn)
        probe.close()
        raw_probe = raw_connect(directory / "probe-raw.db")
        raw_pragmas = pragmas(raw_probe)
        raw_probe.close()
        assert core_pragmas == raw_pragmas, f"raw {raw_pragmas} != core {core_pragmas}"
        print(f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}, files in "
              f"{directory}; " + ", ".join(f"{n}={v}" for n, v in zip(PRAGMAS, core_pragmas,
                                                                       strict=True))
              + " (synchronous 2 = FULL)", flush=True)

        results: list[Scenario] = []
        for threads in (1, args.threads):
            group = [kind(directory, threads) for kind in (Raw, RawHall, Issue, CallNext)]
            measure(group, args.ops, args.rounds)
            results += group

        raw_rate = {s.threads: s.result().rate for s in results if s.kind == "raw"}
        rows = []
        for s in results:
            r = s.result()
            ratio = None if s.kind == "raw" else r.rate / raw_rate[r.threads]
            rows.append([r.name, r.threads, r.ops, r.rate, r.p50_ms, r.p99_ms, ratio, r.note])
        print(table(["scenario", "threads", "ops", "ops/s", "p50 ms", "p99 ms", "core/raw",
                     "note"], rows, align="<>>>>>><"))
        for threads in (1, args.threads):
            issue = next(s.result() for s in results if s.kind == "issue"
                         and s.threads == threads)
            ratio = issue.rate / raw_rate[threads]
            verdict = "met" if ratio >= TARGET else "NOT met"
            print(f"target: core issue >= {TARGET:.0%} of raw ({threads} thread"
                  f"{'s' if threads > 1 else ''}): {ratio:.2f}, {verdict}")

        if args.profile:
            print(profile(directory, args.profile, args.ops))
    return 0
