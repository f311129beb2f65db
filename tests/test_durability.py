"""The numbering and calling guarantees, proved on a real SQLite file with threads, processes,
injected failures and kill -9.

* A number is never issued twice in a queue on a day, never skipped by a failure and never
  reused after a crash; kiosks issuing at the same instant get different numbers.
* Counters calling at the same instant never get the same ticket.
* A failure inside the transaction leaves nothing behind and burns no number.
* What a killed process handed out is on disk, and the next number follows it.

Child processes run ``tests/hallproc.py``; the hall's clock is frozen, so "the same instant"
is literal.
"""

import os
import random
import signal
import sqlite3
import subprocess
import threading
from collections import Counter
from pathlib import Path

import pytest

from hall.errors import HallError
from tests.hallproc import (
    COUNTERS,
    QUEUES,
    audit,
    call,
    finish,
    open_at,
    release,
    run_threads,
    spawn,
)

# -- helpers -----------------------------------------------------------------------------------

def issued(lines: list[str]) -> list[tuple[str, int, str, int]]:
    """(queue, seq, number, id) of each ISSUED line."""
    found = []
    for line in lines:
        word, queue, seq, number, ticket = line.split()
        assert word == "ISSUED", line
        found.append((queue, int(seq), number, int(ticket)))
    return found


def assert_handed_out(results: list[tuple[str, int, str, int]], path: Path) -> None:
    """Every number handed out is distinct, is in the file under its id, and nothing else is."""
    per_queue = audit(path)
    for queue in QUEUES:
        mine = [r for r in results if r[0] == queue]
        assert len({r[2] for r in mine}) == len(mine), f"a number of {queue} handed out twice"
        assert sorted(r[1] for r in mine) == list(range(1, len(mine) + 1))
        assert sorted(r[3] for r in mine) == sorted(per_queue.get(queue, []))


# -- issuing -----------------------------------------------------------------------------------

def test_kiosks_in_threads_get_distinct_consecutive_numbers(hall_file):
    hall = open_at(hall_file)
    results: list[list] = [[] for _ in range(8)]

    def kiosk(k: int) -> None:
        for i in range(200):
            ticket = hall.issuing.issue(list(QUEUES.values())[(i + k) % 2], kiosk="K1")
            seq = int(ticket["number"][1:])
            results[k].append((ticket["queue"]["code"], seq, ticket["number"], ticket["id"]))

    run_threads(8, kiosk)
    hall.close()
    flat = [r for part in results for r in part]
    assert len(flat) == 1600
    assert_handed_out(flat, hall_file)
    assert {q: len(ids) for q, ids in audit(hall_file).items()} == {"A": 800, "B": 800}


@pytest.mark.slow
def test_kiosks_in_processes_and_threads_get_distinct_consecutive_numbers(hall_file):
    procs = [spawn("issue", hall_file, 200) for _ in range(4)]
    release(procs)
    # Meanwhile, in this process, two more kiosks share one Hall.
    hall = open_at(hall_file)
    local: list[tuple] = []
    lock = threading.Lock()

    def kiosk(k: int) -> None:
        for i in range(100):
            ticket = hall.issuing.issue(("PA", "PB")[(i + k) % 2])
            with lock:
                local.append((ticket["queue"]["code"], int(ticket["number"][1:]),
                              ticket["number"], ticket["id"]))

    run_threads(2, kiosk)
    hall.close()
    results = local + [r for proc in procs for r in issued(finish(proc))]
    assert len(results) == 4 * 200 + 2 * 100
    assert_handed_out(results, hall_file)


# -- calling -----------------------------------------------------------------------------------

def fill(path: Path, count: int) -> set[int]:
    """Issue ``count`` tickets (every fifth one with priority); their ids."""
    hall = open_at(path)
    ids = set()
    for i in range(count):
        ids.add(hall.issuing.issue(("PA", "PB")[i % 2],
                                   priority="elderly" if i % 5 == 0 else None)["id"])
    hall.close()
    return ids


def assert_called_once(path: Path, ids: set[int], calls: list[tuple[int, int]]) -> None:
    """Each ticket called exactly once (by the results and by the event log); the counters'
    current tickets distinct; every other ticket finished once."""
    called_ids = [ticket for _, ticket in calls]
    assert len(called_ids) == len(set(called_ids)), "a ticket was called twice"
    assert set(called_ids) == ids
    conn = sqlite3.connect(path)
    try:
        events = Counter(r[0] for r in conn.execute(
            "SELECT ticket_id FROM events WHERE kind = 'called'"))
        assert set(events) == ids and set(events.values()) == {1}
        current = dict(conn.execute(
            "SELECT number, current_ticket_id FROM counters WHERE current_ticket_id IS NOT NULL"))
        # Each counter that called keeps its last ticket; no ticket is at two counters.
        assert len(set(current.values())) == len(current)
        last = {}
        for counter, ticket in calls:  # in each counter's own order
            last[counter] = ticket
        assert current == last
        current = set(current.values())
        status = dict(conn.execute("SELECT id, status FROM tickets"))
        assert {i for i, s in status.items() if s == "called"} == current
        assert {i for i, s in status.items() if s == "done"} == ids - current
        finished = Counter(r[0] for r in conn.execute(
            "SELECT ticket_id FROM events WHERE kind = 'finished'"))
        assert set(finished) == ids - current and set(finished.values()) == {1}
        # The counter that called a ticket is the one recorded on it.
        by = dict(conn.execute("SELECT id, counter_number FROM tickets"))
        assert all(by[ticket] == counter for counter, ticket in calls)
    finally:
        conn.close()


def test_counters_in_threads_never_call_the_same_ticket(hall_file):
    ids = fill(hall_file, 400)
    hall = open_at(hall_file)
    calls: list[tuple[int, int]] = []
    call(hall, COUNTERS, pause=0.002, called=lambda number, ticket: calls.append((number, ticket)))
    hall.close()
    assert_called_once(hall_file, ids, calls)
    assert len({c for c, _ in calls}) >= len(COUNTERS) // 2, Counter(c for c, _ in calls)


@pytest.mark.slow
def test_counters_in_processes_never_call_the_same_ticket(hall_file):
    ids = fill(hall_file, 400)
    procs = [spawn("call", hall_file, number, "--pause-ms", 2) for number in COUNTERS]
    release(procs)
    calls = []
    for proc in procs:
        for line in finish(proc):
            word, counter, ticket = line.split()
            assert word == "CALLED"
            calls.append((int(counter), int(ticket)))
    assert_called_once(hall_file, ids, calls)
    assert len({c for c, _ in calls}) >= len(COUNTERS) // 2, Counter(c for c, _ in calls)


# -- failures inside the transaction -----------------------------------------------------------

class Faulty(sqlite3.Connection):
    """A connection that fails the next statement starting with ``fail_on`` (once)."""

    fail_on: str | None = None

    def execute(self, sql, *args):
        if Faulty.fail_on is not None and sql.startswith(Faulty.fail_on):
            Faulty.fail_on = None
            raise sqlite3.OperationalError("disk I/O error (injected)")
        return super().execute(sql, *args)


def state(path: Path) -> tuple:
    conn = sqlite3.connect(path)
    try:
        return (conn.execute("SELECT count(*) FROM tickets").fetchone()[0],
                conn.execute("SELECT count(*) FROM events").fetchone()[0],
                conn.execute("SELECT count(*) FROM queue_days").fetchone()[0])
    finally:
        conn.close()


FAILURES = {
    # The driver fails under the core: after the ticket row, on its event, on commit.
    "insert of the ticket": ("sql", "INSERT INTO tickets"),
    "insert of the event": ("sql", "INSERT INTO events"),
    "commit": ("sql", "COMMIT"),
    # SQLite itself refuses the event: the statement aborts, the transaction stays open...
    "trigger ABORT": ("trigger", "ABORT"),
    # ... or SQLite rolls the whole transaction back on its own.
    "trigger ROLLBACK": ("trigger", "ROLLBACK"),
    # Python fails after the number was chosen, before the row is written.
    "labelling": ("label", None),
}


@pytest.mark.parametrize("where", FAILURES)
def test_a_failed_issue_leaves_nothing_and_burns_no_number(hall_file, monkeypatch, where):
    how, what = FAILURES[where]
    real_connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect",
                        lambda *a, **k: real_connect(*a, **{"factory": Faulty, **k}))
    hall = open_at(hall_file)
    assert [hall.issuing.issue("PA")["number"] for _ in range(3)] == ["A001", "A002", "A003"]
    before = state(hall_file)
    if how == "sql":
        Faulty.fail_on = what
        expected = sqlite3.OperationalError
    elif how == "trigger":
        with hall.store.write() as conn:
            conn.execute("CREATE TABLE fault (armed INTEGER)")
            conn.execute("INSERT INTO fault VALUES (1)")
            conn.execute("CREATE TRIGGER fault BEFORE INSERT ON events WHEN NEW.kind = 'issued'"
                         " AND (SELECT armed FROM fault) BEGIN"
                         f" SELECT RAISE({what}, 'refused by a trigger'); END")
        expected = sqlite3.IntegrityError
    else:
        def broken(*args, **kwargs):
            raise RuntimeError("label failed (injected)")
        monkeypatch.setattr("hall.numbering.label", broken)
        expected = RuntimeError

    with pytest.raises(expected):
        hall.issuing.issue("PA")
    assert state(hall_file) == before, "the failed issue left something behind"
    assert Faulty.fail_on is None  # the injected fault did fire

    if how == "trigger":
        with hall.store.write() as conn:
            conn.execute("UPDATE fault SET armed = 0")
    monkeypatch.undo()  # real connections and labels again (the open ones stay Faulty)
    # The next issue, through the same hall and through a fresh one, continues at A004.
    assert hall.issuing.issue("PA")["number"] == "A004"
    hall.close()
    other = open_at(hall_file)
    assert other.issuing.issue("PA")["number"] == "A005"
    other.close()
    assert len(audit(hall_file)["A"]) == 5


def test_refused_issues_burn_no_number(hall_file):
    """Refusals inside the transaction (an unknown kiosk; the daily limit, checked after the
    next number was worked out) write nothing, and the numbers stay consecutive."""
    hall = open_at(hall_file)
    hall.catalogue.put_queue("A", name="Hàng A", prefix="A", daily_limit=3)
    before = state(hall_file)
    outcomes = []
    for kiosk in ("nowhere", "K1", "nowhere", "K1", "K1", "K1", "nowhere", "K1"):
        try:
            outcomes.append(hall.issuing.issue("PA", kiosk=kiosk)["number"])
        except HallError as exc:
            outcomes.append(exc.code)
    assert outcomes == ["unknown_kiosk", "A001", "unknown_kiosk", "A002", "A003",
                        "daily_limit_reached", "unknown_kiosk", "daily_limit_reached"]
    assert state(hall_file)[0] == before[0] + 3
    hall.catalogue.put_queue("A", name="Hàng A", prefix="A", daily_limit=10)
    assert hall.issuing.issue("PA", kiosk="K1")["number"] == "A004"
    hall.close()
    assert len(audit(hall_file)["A"]) == 4


# -- kill -9 -----------------------------------------------------------------------------------

def read_until_killed(proc: subprocess.Popen, count: int, rng: random.Random) -> list[str]:
    """Read ``count`` lines, let the process run on a few more milliseconds, SIGKILL it, and
    return every line it printed (those still in the pipe too)."""
    lines = [proc.stdout.readline() for _ in range(count)]
    assert all(line.startswith("ISSUED") for line in lines), (lines, proc.stderr.read())
    threading.Event().wait(rng.uniform(0, 0.03))
    os.kill(proc.pid, signal.SIGKILL)
    rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return [line.strip() for line in lines] + rest.splitlines()


def wal_size(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size if wal.exists() else 0


def committed_without_wal(path: Path, tmp: Path) -> int:
    """Tickets in the main file alone: a copy without its WAL, opened as immutable."""
    copy = tmp / "main-only.db"
    copy.write_bytes(path.read_bytes())
    conn = sqlite3.connect(f"file:{copy}?immutable=1", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
    finally:
        conn.close()
        copy.unlink()


@pytest.mark.slow
def test_kill_9_while_issuing_loses_no_number_and_reuses_none(hall_file, tmp_path):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    printed: list[tuple[str, int, str, int]] = []
    needed_the_wal = 0
    unprinted: set[int] = set()
    for round_ in range(4):
        proc = spawn("issue", hall_file, 0, go=False)
        got = issued(read_until_killed(proc, rng.randint(1, 120), rng))
        printed += got
        assert wal_size(hall_file) > 0, "the killed process should leave its WAL behind"
        in_main_file = committed_without_wal(hall_file, tmp_path)

        # Open the file as a restarting server would: SQLite recovers the WAL.
        per_queue = audit(hall_file)  # integrity ok, 1..N without gap or duplicate, one event each
        in_db = {i for ids in per_queue.values() for i in ids}
        missing = [r for r in printed if r[3] not in in_db]
        assert not missing, f"seed {seed} round {round_}: handed out but lost: {missing[:5]}"
        needed_the_wal += in_main_file < len(in_db)
        # At most one ticket more than printed: committed, but killed before its line.
        extra = in_db - {r[3] for r in printed} - unprinted
        assert len(extra) <= 1 and all(x > max(r[3] for r in got) for x in extra), seed
        unprinted |= extra

        # The next number continues after the last one on disk: nothing is reused.
        hall = open_at(hall_file)
        with hall.store.read() as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        ticket = hall.issuing.issue("PA")
        hall.close()
        assert ticket["number"] == f"A{len(per_queue.get('A', [])) + 1:03d}", seed
        printed.append(("A", int(ticket["number"][1:]), ticket["number"], ticket["id"]))
    assert needed_the_wal, "no round had committed tickets that lived only in the WAL"
    conn = sqlite3.connect(hall_file)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert_handed_out_subset(printed, hall_file)


def assert_handed_out_subset(printed, path: Path) -> None:
    """No number was handed out twice over all the rounds."""
    for queue in QUEUES:
        numbers = [r[2] for r in printed if r[0] == queue]
        assert len(numbers) == len(set(numbers)), f"a number of {queue} handed out twice"
    audit(path)


@pytest.mark.slow
def test_kill_9_of_one_writer_does_not_disturb_another(hall_file):
    rng = random.Random()
    survivor = spawn("issue", hall_file, 300)
    victim = spawn("issue", hall_file, 0)
    release([survivor, victim])
    killed = issued(read_until_killed(victim, rng.randint(10, 150), rng))
    lived = issued(finish(survivor))
    assert len(lived) == 300
    per_queue = audit(hall_file)
    in_db = {i for ids in per_queue.values() for i in ids}
    assert {r[3] for r in killed + lived} <= in_db
    assert len(in_db) - len(killed + lived) <= 1  # one commit may beat its line to the pipe
    for queue in QUEUES:
        mine = [r[2] for r in killed + lived if r[0] == queue]
        assert len(mine) == len(set(mine))
