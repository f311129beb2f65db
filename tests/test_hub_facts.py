"""The hub's facts job: a batch notes its tickets, the job counts them after the commit, and
nothing noted is lost or counted twice, whatever commits meanwhile."""

import threading
import time

import psycopg
import pytest

from hub import facts
from hub.halls import add_hall
from hub.ingest import store
from tests.plugins.waiting import wait_for
from tests.test_hub_ingest import batch, event


@pytest.fixture
def hall(hub_db) -> int:
    return add_hall(hub_db, "Xã A")[0]


def counted(conn, hall: int) -> list[int]:
    return [r[0] for r in conn.execute(
        "SELECT ticket FROM hub_facts WHERE hall_id = %s ORDER BY ticket", (hall,))]


def test_a_batch_notes_its_tickets_and_the_job_counts_them(hub_db, hall):
    store(hub_db, hall, batch(hall, 0, 40))
    assert counted(hub_db, hall) == []  # the push stored events only
    assert facts.pending(hub_db)["tickets"] == 40
    assert facts.pending(hub_db)["oldest_s"] >= 0
    assert facts.catch_up(hub_db) == 40
    assert counted(hub_db, hall) == list(range(1, 41))
    assert facts.pending(hub_db) == {"tickets": 0, "oldest_s": None, "rollup_days": 0}
    assert hub_db.execute("SELECT sum(issued) FROM hub_rollups WHERE hall_id = %s"
                          " AND dimension = 'all'", (hall,)).fetchone()[0] == 40
    assert facts.catch_up(hub_db) == 0


def test_big_backlogs_go_in_chunks(hub_db, hall, monkeypatch):
    monkeypatch.setattr(facts, "CHUNK", 7)
    store(hub_db, hall, batch(hall, 0, 30))
    assert facts.catch_up_hall(hub_db, hall, chunk=7) == 7
    assert facts.catch_up(hub_db) == 23
    assert counted(hub_db, hall) == list(range(1, 31))


def test_a_batch_committed_while_counting_is_counted_next(hub_db, hub_dsn, hall, monkeypatch):
    store(hub_db, hall, batch(hall, 0, 10))
    real = facts.update_tickets
    pushed = []

    def push():
        with psycopg.connect(hub_dsn, autocommit=True) as other:
            # A later event of ticket 3 (its call) and a new ticket.
            pushed.append(store(other, hall, {"hall": hall, "after": 10, "events": [
                [11, 1_796_000_100.0, "2026-12-04", "called", 3, 2, 7, "GPLX", None, None,
                 None], event(12)]}))

    def blocked() -> bool:
        with psycopg.connect(hub_dsn, autocommit=True) as watcher:
            return watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'").fetchone()[0] > 0

    def count_while_a_push_lands(conn, hall_id, tickets, **how):
        # The push lands while this count runs: its note of ticket 3 waits for the count's
        # transaction (which took the old note), then is written.
        thread.start()
        wait_for(blocked, "the push waiting on the count's notes")
        return real(conn, hall_id, tickets, **how)

    thread = threading.Thread(target=push)
    monkeypatch.setattr(facts, "update_tickets", count_while_a_push_lands)
    assert facts.catch_up_hall(hub_db, hall) == 10
    thread.join(timeout=30)
    assert pushed == [12]
    monkeypatch.setattr(facts, "update_tickets", real)
    assert facts.pending(hub_db)["tickets"] == 2  # 3 again, and 12
    facts.catch_up(hub_db)
    assert counted(hub_db, hall) == list(range(1, 11)) + [12]
    wait = hub_db.execute("SELECT wait_ms, counter FROM hub_facts WHERE hall_id = %s"
                          " AND ticket = 3", (hall,)).fetchone()
    assert wait == (97_000, 2)


def test_one_counter_of_a_hall_at_a_time(hub_db, hub_dsn, hall):
    store(hub_db, hall, batch(hall, 0, 5))
    with psycopg.connect(hub_dsn, autocommit=True) as other, other.transaction():
        other.execute("SELECT pg_advisory_xact_lock(%s, %s)", (facts.DIRTY_LOCK, hall))
        assert facts.catch_up_hall(hub_db, hall) is None
        assert facts.catch_up(hub_db) == 0
    assert facts.catch_up(hub_db) == 5


def test_the_job_counts_in_the_background(hub_db, hub_dsn, hall):
    from psycopg_pool import ConnectionPool

    with ConnectionPool(hub_dsn, min_size=1, max_size=2, kwargs={"autocommit": True}) as pool:
        job = facts.counter(pool, period=0.05).start()
        try:
            store(hub_db, hall, batch(hall, 0, 25))
            wait_for(lambda: len(counted(hub_db, hall)) == 25, "the tickets counted",
                     timeout=10)
        finally:
            job.stop()


def test_the_job_gives_way_to_batches_being_stored(hub_db, hub_dsn, hall):
    """While its worker stores a batch the job waits (acknowledging a hall comes first), then
    counts what was noted; it never waits longer than it is told."""
    from psycopg_pool import ConnectionPool

    from hub.jobs import Traffic

    traffic = Traffic(settle=0.05)
    with ConnectionPool(hub_dsn, min_size=1, max_size=2, kwargs={"autocommit": True}) as pool:
        job = facts.counter(pool, period=0.05, traffic=traffic, give_way=60).start()
        try:
            with traffic.carrying():
                store(hub_db, hall, batch(hall, 0, 25))
                time.sleep(0.5)  # the job looks ten times meanwhile
                assert counted(hub_db, hall) == []
            wait_for(lambda: len(counted(hub_db, hall)) == 25, "the tickets counted",
                     timeout=10)
        finally:
            job.stop()


def test_giving_way_has_an_end():
    from hub.jobs import Traffic

    traffic = Traffic(settle=0.05)
    assert traffic.give_way(10) < 1  # nothing in flight: at once
    with traffic.carrying():
        waited = traffic.give_way(0.3)  # a batch that never ends (here): 0.3 s, no more
    assert 0.3 <= waited < 5
    done = []
    with traffic.carrying():
        waiter = threading.Thread(target=lambda: done.append(traffic.give_way(30)))
        waiter.start()
        time.sleep(0.2)
        assert done == []
    waiter.join(10)
    assert done and done[0] < 10  # the batch ended: the work goes on


def rollup_issued(conn, hall: int) -> int:
    return conn.execute("SELECT coalesce(sum(issued), 0) FROM hub_rollups WHERE hall_id = %s"
                        " AND dimension = 'all'", (hall,)).fetchone()[0]


def test_a_days_rollups_are_rebuilt_at_once_then_at_most_every_few_seconds(hub_db, hall):
    """However often a hall pushes, its day is rebuilt (the whole day's cost) at most every
    ``every`` seconds; its tickets' facts are counted at every look."""
    store(hub_db, hall, batch(hall, 0, 10))
    assert facts.catch_up(hub_db, every=60) == 10  # a quiet day: rebuilt at once
    assert rollup_issued(hub_db, hall) == 10
    store(hub_db, hall, batch(hall, 10, 5))
    assert facts.catch_up(hub_db, every=60) == 5  # the facts, not the day
    assert len(counted(hub_db, hall)) == 15 and rollup_issued(hub_db, hall) == 10
    assert facts.pending(hub_db)["rollup_days"] == 1
    store(hub_db, hall, batch(hall, 15, 5))
    assert facts.catch_up(hub_db, every=60) == 5
    # A minute later (the spacing over): rebuilt with both batches, as from scratch.
    hub_db.execute("UPDATE hub_rollups_due SET due_at = now() - interval '1 second'")
    assert facts.catch_up(hub_db, every=60) == 0  # no ticket: the day
    assert rollup_issued(hub_db, hall) == 20
    assert facts.pending(hub_db) == {"tickets": 0, "oldest_s": None, "rollup_days": 0}
    built = hub_db.execute("SELECT dimension, key, issued, waits FROM hub_rollups"
                           " WHERE hall_id = %s ORDER BY 1, 2", (hall,)).fetchall()
    facts.rebuild_hall(hub_db, hall)
    assert hub_db.execute("SELECT dimension, key, issued, waits FROM hub_rollups"
                          " WHERE hall_id = %s ORDER BY 1, 2", (hall,)).fetchall() == built
    # The spacing over and nothing changed since: the day's row goes.
    hub_db.execute("UPDATE hub_rollups_due SET due_at = now() - interval '1 second'")
    store(hub_db, hall, batch(hall, 20, 1))
    facts.catch_up(hub_db, every=60)
    assert hub_db.execute("SELECT count(*) FROM hub_rollups_due WHERE changed").fetchone()[0] == 0
