"""Closed days packed into one row per hall and day: every event kept exactly, read back by
the facts, nothing lost or doubled by a second look, a re-sent batch or a crash."""

from datetime import date, timedelta

import psycopg
import pytest

from hub import facts, packing
from hub.halls import add_hall
from hub.ingest import store

DAY = "2026-11-02"
NEXT = "2026-11-03"
AT = 1_793_500_000.0


def ticket_day(first: int, day: str = DAY) -> list[list]:
    """A few tickets' events: issued, called, finished, rated, one transferred; odd values."""
    events, seq = [], first
    for ticket in range(first, first + 6):
        at = AT + ticket * 60.123457
        events.append([seq, at, day, "issued", ticket, None, None, "GPLX", "DEMO-GT-001",
                       f"B{ticket:03d}", {"kiosk": "k1", "ghi chú": "Hồ sơ đất đai ①"}])
        events.append([seq + 1, at + 30.5, day, "called", ticket, 2, 7, "GPLX", None, None,
                       {"waited_seconds": 30.5, "out_of_order": False}])
        if ticket % 3 == 0:
            events.append([seq + 2, at + 40, day, "transferred", ticket, 2, 7, "TKQ", None,
                           None, {"from_queue": "GPLX"}])
        else:
            events.append([seq + 2, at + 95.25, day, "finished", ticket, 2, 7, "GPLX", None,
                           None, {"dossiers": ["H000001-0001"] if ticket % 2 else []}])
        seq += 3
    events.append([seq, AT + 999, day, "device_state", None, 3, None, None, None, None, None])
    return events


def batch(hall: int, after: int, events: list[list]) -> dict:
    return {"hall": hall, "after": after, "events": events}


ROWS = ("SELECT seq, at, ticket, clerk, procedure, kind, counter, queue, number, data::text"
        " FROM events WHERE hall_id = %s ORDER BY seq")


def unpacked(conn, hall: int) -> list[tuple]:
    """Every packed event of a hall as the ``events`` columns of ``ROWS``."""
    out = []
    for payload, low in conn.execute("SELECT payload, min_ticket FROM events_packed"
                                     " WHERE hall_id = %s ORDER BY day, first_seq", (hall,)):
        out += [(seq, packing.as_time(at), *rest)
                for seq, at, *rest in packing.unpack(payload, low)]
    return out


@pytest.fixture
def hall(hub_db) -> int:
    return add_hall(hub_db, "Xã A")[0]


def test_packing_keeps_every_column_exactly(hub_db, hall):
    events = ticket_day(1) + ticket_day(100, NEXT)
    store(hub_db, hall, batch(hall, 0, events))
    before = hub_db.execute(ROWS, (hall,)).fetchall()
    assert any(r[9] and "①" in r[9] for r in before) and any(r[9] is None for r in before)
    assert packing.pack_closed(hub_db, keep_days=-1) == len(events)
    assert hub_db.execute(ROWS, (hall,)).fetchall() == []
    assert unpacked(hub_db, hall) == before
    assert hub_db.execute("SELECT day, first_seq, last_seq, events_count, min_ticket, max_ticket"
                          " FROM events_packed WHERE hall_id = %s ORDER BY day",
                          (hall,)).fetchall() == [
        (date(2026, 11, 2), 1, 19, 19, 1, 6), (date(2026, 11, 3), 100, 118, 19, 100, 105)]
    # A second look finds nothing to do and changes nothing.
    packed = hub_db.execute("SELECT * FROM events_packed ORDER BY day").fetchall()
    assert packing.pack_closed(hub_db, keep_days=-1) == 0
    assert hub_db.execute("SELECT * FROM events_packed ORDER BY day").fetchall() == packed


def test_only_days_older_than_kept_are_packed(hub_db, hall):
    today = date.today()
    old, recent = (today - timedelta(days=40)).isoformat(), today.isoformat()
    store(hub_db, hall, batch(hall, 0, ticket_day(1, old) + ticket_day(100, recent)))
    assert packing.pack_closed(hub_db) == 19
    assert {r[0] for r in hub_db.execute("SELECT DISTINCT day FROM events")} == {today}
    assert hub_db.execute("SELECT day FROM events_packed").fetchall() == [
        (today - timedelta(days=40),)]


def late(first: int) -> list[list]:
    """Events for tickets of ``DAY`` arriving after it was packed: a transferred ticket
    called and finished, another rated."""
    return [[first, AT + 3 * 60.123457 + 200, DAY, "called", 3, 4, 9, "TKQ", None, None, {}],
            [first + 1, AT + 3 * 60.123457 + 260, DAY, "finished", 3, 4, 9, "TKQ", None,
             None, {"dossiers": ["H000002-0002"]}],
            [first + 2, AT + 999.5, DAY, "rated", 1, 2, 7, None, None, None,
             {"level": 4, "levels": 5}]]


def counted(conn, hall: int) -> tuple[list, list]:
    facts.catch_up(conn)
    fact_rows = conn.execute("SELECT * FROM hub_facts WHERE hall_id = %s ORDER BY ticket",
                             (hall,)).fetchall()
    rollups = conn.execute("SELECT * FROM hub_rollups WHERE hall_id = %s"
                           " ORDER BY day, dimension, key", (hall,)).fetchall()
    return [r[1:] for r in fact_rows], [r[1:] for r in rollups]


def test_a_late_event_into_a_packed_day_counts_its_ticket_from_all_its_events(hub_db, hall):
    plain = add_hall(hub_db, "Xã B")[0]
    first = ticket_day(1)
    for h in (hall, plain):
        store(hub_db, h, batch(h, 0, first))
    facts.catch_up(hub_db)
    assert packing.pack_day(hub_db, hall, date(2026, 11, 2)) == len(first)
    for h in (hall, plain):
        store(hub_db, h, batch(h, len(first), late(len(first) + 1)))
    # Read from the packed row and the late rows together: the same facts as from rows.
    packed_facts = counted(hub_db, hall)
    assert packed_facts == counted(hub_db, plain)
    assert any(r[8] == 1 and r[0] == 3 for r in packed_facts[0])  # ticket 3 served at last
    # The next look merges the late events into the day's one packed row.
    assert packing.pack_closed(hub_db, keep_days=-1) == 3 + len(first) + 3
    assert hub_db.execute("SELECT count(*), sum(events_count) FROM events_packed"
                          " WHERE hall_id = %s", (hall,)).fetchone() == (1, len(first) + 3)
    # Every fact recounted from packed events alone is the same again.
    assert facts.rebuild_hall(hub_db, hall) == 6
    assert counted(hub_db, hall) == packed_facts
    # A batch sent again for the packed day stores nothing and answers the same.
    assert store(hub_db, hall, batch(hall, 0, first)) == len(first) + 3
    assert hub_db.execute("SELECT count(*) FROM events WHERE hall_id = %s",
                          (hall,)).fetchone()[0] == 0
    assert facts.pending(hub_db)["tickets"] == 0


def test_a_crash_mid_pack_leaves_the_events_as_they_were(hub_db, hub_dsn, hall):
    events = ticket_day(1)
    store(hub_db, hall, batch(hall, 0, events))
    before = hub_db.execute(ROWS, (hall,)).fetchall()
    with psycopg.connect(hub_dsn, autocommit=True) as packer:
        pid = packer.info.backend_pid
        with pytest.raises(psycopg.OperationalError), packer.transaction():
            assert packing.pack_day(packer, hall, date(2026, 11, 2)) == len(events)
            # Ingest of the hall's other days, and of other halls, goes on meanwhile.
            other = add_hall(hub_db, "Xã C")[0]
            assert store(hub_db, other, batch(other, 0, ticket_day(1))) == 19
            assert store(hub_db, hall, batch(hall, 19, ticket_day(100, NEXT))) == 118
            hub_db.execute("SELECT pg_terminate_backend(%s)", (pid,))
            packer.execute("SELECT 1")
    assert hub_db.execute(ROWS + " LIMIT 19", (hall,)).fetchall() == before
    assert hub_db.execute("SELECT count(*) FROM events_packed").fetchone()[0] == 0
    assert hub_db.execute("SELECT count(*) FROM events").fetchone()[0] == 3 * 19


def test_an_event_stored_while_its_day_is_packed_is_kept(hub_db, hub_dsn, hall):
    events = ticket_day(1)
    store(hub_db, hall, batch(hall, 0, events))
    with psycopg.connect(hub_dsn, autocommit=True) as packer, packer.transaction():
        assert packing.pack_day(packer, hall, date(2026, 11, 2)) == len(events)
        # Not seen by the packer's DELETE: it stays a row, read beside the packed ones.
        assert store(hub_db, hall, batch(hall, 19, late(20))) == 22
    assert [r[0] for r in hub_db.execute(ROWS, (hall,))] == [20, 21, 22]
    assert [e[0] for e in packing.ticket_events(hub_db, hall, [3])] == [3] * 5
    assert packing.pack_closed(hub_db, keep_days=-1) == 3
    assert [e[0] for e in unpacked(hub_db, hall)] == list(range(1, 23))


def test_a_closed_month_left_empty_is_truncated_unless_in_use(hub_db, hub_dsn, hall,
                                                                monkeypatch):
    monkeypatch.setattr(packing, "EMPTY_BYTES", 0)
    store(hub_db, hall, batch(hall, 0, ticket_day(1)))
    after_november = date(2026, 12, 1)
    assert packing.truncate_empty_months(hub_db, after_november) == []  # it holds events
    assert packing.pack_day(hub_db, hall, date(2026, 11, 2)) == 19
    assert packing.truncate_empty_months(hub_db, date(2026, 11, 30)) == []  # not closed yet
    with psycopg.connect(hub_dsn, autocommit=True) as reader, reader.transaction():
        reader.execute("SELECT count(*) FROM events_2026_11")
        assert packing.truncate_empty_months(hub_db, after_november) == []  # in use: later
    size = "SELECT pg_total_relation_size('events_2026_11')"
    emptied = hub_db.execute(size).fetchone()[0]
    assert packing.truncate_empty_months(hub_db, after_november) == ["events_2026_11"]
    assert hub_db.execute(size).fetchone()[0] < emptied
    # Late events of that month still go in, and are read with the packed ones.
    assert store(hub_db, hall, batch(hall, 19, late(20))) == 22
    assert [e[0] for e in packing.ticket_events(hub_db, hall, [3])] == [3] * 5


def test_the_command_packs_closed_days_and_reports_recount_the_same(hub_db, hub_dsn, hall):
    from click.testing import CliRunner

    from commands import cli

    store(hub_db, hall, batch(hall, 0, ticket_day(1) + late(20)))
    before = counted(hub_db, hall)
    done = CliRunner().invoke(cli, ["hub", "pack-events", "--dsn", hub_dsn, "--keep-days", "0"])
    assert done.exit_code == 0 and "events packed: 22" in done.output
    assert hub_db.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    done = CliRunner().invoke(cli, ["hub", "rebuild-reports", "--dsn", hub_dsn])
    assert done.exit_code == 0 and f"hall {hall}: 6 tickets" in done.output
    assert counted(hub_db, hall) == before


def test_the_job_packs_closed_days_in_the_background(hub_db, hub_dsn, hall):
    from psycopg_pool import ConnectionPool

    from tests.plugins.waiting import wait_for

    recent = date.today().isoformat()
    store(hub_db, hall, batch(hall, 0, ticket_day(1) + ticket_day(100, recent)))
    with ConnectionPool(hub_dsn, min_size=1, max_size=2, kwargs={"autocommit": True}) as pool:
        job = packing.packer(pool, keep_days=1, period=0.05).start()
        try:
            wait_for(lambda: hub_db.execute("SELECT count(*) FROM events_packed")
                     .fetchone()[0] == 1, "the closed day packed", timeout=10)
        finally:
            job.stop()
    # Only the closed day: today's stays rows.
    assert {r[0] for r in hub_db.execute("SELECT DISTINCT day FROM events")} == {date.today()}
