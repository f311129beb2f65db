"""hall.store on a real file: durable settings, snapshots, rollback, the connection pool, the busy
timeout, online backup and migrations (also from several processes at once)."""

import json
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
import sqlite_utils

from hall.schema import migrations
from hall.store import BUSY_TIMEOUT_MS, Store
from tests.hallproc import audit, build, finish, open_at, release, run_threads, spawn

ALL_MIGRATIONS = [m.name for m in migrations.pending(sqlite_utils.Database(memory=True))]


@pytest.fixture
def hall(hall_file):
    """The hall of ``hall_file`` (queues A and B), not the small one of the other modules."""
    h = open_at(hall_file)
    yield h
    h.close()


def db_handles(path: Path) -> int:
    """How many times this process has the database file open (one per SQLite connection)."""
    target = os.path.realpath(path)
    return sum(1 for f in psutil.Process().open_files() if f.path == target)


# -- settings ----------------------------------------------------------------------------------

def test_every_connection_is_durable(hall, hall_file):
    for borrow in (hall.store.read, hall.store.write):
        with borrow() as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
            assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS
            assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    # WAL is recorded in the file itself (header bytes 18 and 19), not only in a connection.
    assert hall_file.read_bytes()[18:20] == b"\x02\x02"


# -- transactions ------------------------------------------------------------------------------

def count(conn, table: str = "tickets") -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_a_read_is_one_snapshot(hall):
    hall.issuing.issue("PA")
    with hall.store.read() as conn:
        before = count(conn)
        # Another connection commits in the middle of the read...
        other = threading.Thread(target=hall.issuing.issue, args=("PA",))
        other.start()
        other.join()
        # ... and the read does not see it: every query of the block sees one state.
        assert count(conn) == before
        assert count(conn, "events WHERE kind = 'issued'") == before
    with hall.store.read() as conn:
        assert count(conn) == before + 1


@contextmanager
def kiosk_issuing(hall, procedure: str = "PB") -> Iterator[None]:
    """A thread of this process issuing ``procedure`` tickets back to back during the block."""
    stop = threading.Event()

    def kiosk():
        while not stop.is_set():
            hall.issuing.issue(procedure)

    writer = threading.Thread(target=kiosk)
    writer.start()
    try:
        yield
    finally:
        stop.set()
        writer.join()


def test_snapshots_stay_consistent_under_a_stream_of_writes(hall):
    seen = []
    with kiosk_issuing(hall):
        for _ in range(200):
            with hall.store.read() as conn:
                tickets = count(conn)
                time.sleep(0.0005)  # let the writer commit between the two queries
                issued = count(conn, "events WHERE kind = 'issued'")
                numbers = conn.execute("SELECT max(seq) FROM tickets").fetchone()[0] or 0
            assert tickets == issued == numbers  # ticket rows, events and numbers agree
            seen.append(tickets)
    assert seen == sorted(seen) and seen[-1] > seen[0]  # the writer was really writing


def test_write_rolls_back_on_exception(hall, hall_file):
    with hall.store.read() as conn:
        before = count(conn), count(conn, "events")
    with pytest.raises(RuntimeError, match="boom"), hall.store.write() as conn:
        conn.execute("INSERT INTO events (at, day, kind) VALUES (0, '2026-11-26', 'x')")
        conn.execute("UPDATE counters SET name = 'changed'")
        raise RuntimeError("boom")
    fresh = sqlite3.connect(hall_file)
    assert (count(fresh), count(fresh, "events")) == before
    assert fresh.execute("SELECT count(*) FROM counters WHERE name = 'changed'").fetchone()[0] == 0
    fresh.close()
    # Nothing stays open or locked: the next write goes through at once.
    with hall.store.write() as conn:
        assert conn.in_transaction
    assert hall.issuing.issue("PA")["number"] == "A001"


def test_the_error_that_ended_a_transaction_is_the_one_raised(hall):
    """When SQLite (or the body) already ended the transaction, write() must not hide the
    original error behind 'cannot rollback - no transaction is active'."""
    with pytest.raises(LookupError), hall.store.write() as conn:
        conn.execute("ROLLBACK")
        raise LookupError("the real problem")
    assert hall.issuing.issue("PA")["number"] == "A001"


def test_a_failed_commit_rolls_back_and_frees_the_file(hall, hall_file):
    """An error raised by COMMIT itself (here a deferred foreign key SQLite checks only then)
    leaves nothing behind and no transaction open."""
    with pytest.raises(sqlite3.IntegrityError), hall.store.write() as conn:
        conn.execute("PRAGMA defer_foreign_keys = ON")
        conn.execute("UPDATE counters SET current_ticket_id = 999 WHERE number = 1")
    fresh = sqlite3.connect(hall_file)
    assert fresh.execute("SELECT current_ticket_id FROM counters WHERE number = 1"
                         ).fetchone()[0] is None
    fresh.close()
    assert hall.issuing.issue("PA")["number"] == "A001"


# -- the pool ----------------------------------------------------------------------------------

def test_connections_are_reused(hall_file):
    store = Store(hall_file)
    with store.read() as first:
        pass
    with store.write() as second:
        pass
    assert first is second
    with store.read() as outer, store.read() as inner:  # lent to one user at a time
        assert outer is not inner
    store.close()


def test_the_pool_does_not_grow_with_the_work(hall_file):
    hall = open_at(hall_file)
    for _ in range(200):
        hall.issuing.issue("PA")
        hall.screens.snapshot()
    assert db_handles(hall_file) == 1

    def kiosk(k):
        for _ in range(50):
            hall.issuing.issue(("PA", "PB")[k % 2])

    run_threads(8, kiosk)
    assert 1 <= db_handles(hall_file) <= 8  # at most one per thread that was ever busy at once
    hall.close()
    assert db_handles(hall_file) == 0


# -- busy timeout ------------------------------------------------------------------------------

def test_a_writer_waits_for_another_instead_of_failing(hall):
    holding = threading.Event()

    def long_transaction():
        with hall.store.write() as conn:
            conn.execute("UPDATE counters SET name = name")
            holding.set()
            time.sleep(0.6)

    slow = threading.Thread(target=long_transaction)
    slow.start()
    holding.wait(5)
    started = time.monotonic()
    ticket = hall.issuing.issue("PA")  # must wait for the lock, not raise 'database is locked'
    waited = time.monotonic() - started
    slow.join()
    assert ticket["number"] == "A001"
    assert waited > 0.3


def test_a_writer_waits_for_another_process(hall_file, tmp_path):
    """A process holding the write lock (a raw connection in BEGIN IMMEDIATE) delays, but does
    not fail, a kiosk of another process."""
    kiosk = spawn("issue", hall_file, 0)  # issues in a loop until killed
    release([kiosk])
    assert kiosk.stdout.readline().startswith("ISSUED")
    blocker = sqlite3.connect(hall_file, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the kiosk's next BEGIN IMMEDIATE has to wait
    time.sleep(0.3)
    blocker.execute("COMMIT")
    blocker.close()
    lines = [kiosk.stdout.readline() for _ in range(5)]
    os.kill(kiosk.pid, signal.SIGKILL)
    _, err = kiosk.communicate(timeout=30)
    assert all(line.startswith("ISSUED") for line in lines), err  # it went on after the wait
    audit(hall_file)


# -- backup ------------------------------------------------------------------------------------

@pytest.mark.slow
def test_backup_is_a_valid_copy_while_writers_are_active(hall, hall_file, tmp_path):
    kiosk_process = spawn("issue", hall_file, 0)
    release([kiosk_process])
    sizes = []
    try:
        with kiosk_issuing(hall):
            for i in range(4):
                time.sleep(0.15)
                copy = tmp_path / f"backup-{i}.db"
                hall.store.backup(copy)
                per_queue = audit(copy)  # intact, 1..N per queue, one event per ticket
                sizes.append(sum(len(ids) for ids in per_queue.values()))
                conn = sqlite3.connect(copy)
                assert conn.execute("SELECT count(*) FROM counters").fetchone()[0] == 10
                conn.close()
                restored = open_at(copy)  # a copy a hall can run on
                assert restored.store.migrate() == []
                restored.close()
    finally:
        os.kill(kiosk_process.pid, signal.SIGKILL)
        kiosk_process.communicate(timeout=30)
    assert sizes == sorted(sizes) and sizes[0] > 0 and sizes[-1] > sizes[0], sizes
    total = sum(len(ids) for ids in audit(hall_file).values())
    assert total >= sizes[-1]


# -- migrations --------------------------------------------------------------------------------

def schema(path: Path) -> list:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    finally:
        conn.close()


def test_migrate_is_idempotent(tmp_path, hall_file):
    fresh = Store(tmp_path / "new" / "hall.db")
    assert fresh.migrate() == ALL_MIGRATIONS
    shape = schema(fresh.path)
    assert fresh.migrate() == []
    assert schema(fresh.path) == shape
    # On a hall in use: nothing applied, nothing lost, and a kiosk process keeps issuing.
    kiosk = spawn("issue", hall_file, 50)
    release([kiosk])
    before = schema(hall_file)
    for _ in range(5):
        assert Store(hall_file).migrate() == []
    assert len(finish(kiosk)) == 50
    assert schema(hall_file) == before
    assert len(audit(hall_file)["A"]) == 25


@pytest.mark.slow
@pytest.mark.parametrize("attempt", range(2))
def test_migrate_from_processes_starting_together(tmp_path, attempt):
    path = tmp_path / "hall.db"
    procs = [spawn("migrate", path) for _ in range(4)]
    release(procs)
    applied = []
    for proc in procs:
        (line,) = finish(proc)
        assert line.startswith("MIGRATED ")
        applied.append(line.removeprefix("MIGRATED "))
    # Exactly one process applied the migrations, all of them, once; the others found none.
    assert sorted(applied) == sorted(["[]"] * 3 + [json.dumps(ALL_MIGRATIONS)])
    conn = sqlite3.connect(path)
    names = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid")]
    assert names == ALL_MIGRATIONS
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    build(path).close()  # and the result is a working hall
    assert audit(path) == {}


# -- upgrades ----------------------------------------------------------------------------------

def with_migrations(monkeypatch, *functions):
    """Pretend a newer goiso added these migrations (after the real ones)."""
    from sqlite_utils import Migrations

    added = [Migrations._Migration(f.__name__, f) for f in functions]
    monkeypatch.setattr(migrations, "_migrations", [*migrations._migrations, *added])


def m998_good(db):
    db.executescript("CREATE TABLE upgraded (x); INSERT INTO upgraded VALUES (1);")


def m999_broken(db):
    db.executescript("CREATE TABLE half_done (x);")
    db.execute("SELECT * FROM no_such_table")


def test_a_failed_upgrade_leaves_the_file_byte_identical_and_says_why(hall_file, monkeypatch):
    from hall.store import MigrationFailed

    before = hall_file.read_bytes()
    with_migrations(monkeypatch, m998_good, m999_broken)
    with pytest.raises(MigrationFailed) as failed:
        Store(hall_file).migrate()
    assert failed.value.name == "m999_broken" and "no_such_table" in str(failed.value)
    assert hall_file.read_bytes() == before
    assert failed.value.backup.exists() and "pre-migrate-m998_good" in failed.value.backup.name
    assert not list(hall_file.parent.glob(".*migrating*"))


def test_an_upgrade_backs_up_first_and_keeps_every_ticket(hall_file, monkeypatch):
    hall = open_at(hall_file)
    numbers = [hall.issuing.issue("PA")["number"] for _ in range(5)]
    hall.close()
    with_migrations(monkeypatch, m998_good)
    store = Store(hall_file)
    assert store.migrate() == ["m998_good"]
    with store.read() as conn:
        assert conn.execute("SELECT x FROM upgraded").fetchone()[0] == 1
        assert [r[0] for r in conn.execute("SELECT number FROM tickets ORDER BY id")] == numbers
    store.close()
    saved = list((hall_file.parent / "backups").glob("goiso-pre-migrate-m998_good-*.db"))
    assert len(saved) == 1
    with sqlite3.connect(saved[0]) as conn:
        assert conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == 5
        assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'upgraded'").fetchone()


def test_a_refused_change_gives_its_connection_back(hall):
    """Refusals are frequent (a counter calling when nobody waits): each used to drop its
    connection, left open with its file descriptors, and open a new one next time."""
    from hall import errors

    opened = []
    real_open = hall.store._open
    hall.store._open = lambda: opened.append(1) or real_open()
    for _ in range(50):
        with pytest.raises(errors.HallError):
            hall.calling.call_next(1)
    assert len(opened) <= 1
