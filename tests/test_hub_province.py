"""The province's rollups (``hub.province``) and the bucket counts that find percentiles
without reading every time (``hub.percentiles``): a report gives the same figures, to the bit,
from the halls' own rows, from the province's rows, or from a mix (days marked stale), and the
same as the hall's definitions over the merged times."""

import json
import random
from array import array
from datetime import date, timedelta

import psycopg
import pytest

from hall.reports import FIGURES
from hall.reports import figures as hall_figures
from hall.rollups import MAX_LEVELS, Tally
from hub import facts, ingest, province, reports
from hub.halls import add_hall
from hub.percentiles import EDGES_MS
from tests.plugins.waiting import wait_for
from tests.test_hub_reports import _wire_after, push, pushed  # noqa: F401 - a fixture

FIRST = date(2026, 3, 2)
DIMENSIONS = {"all": [""], "procedure": ["P-1", "P-2", "P-3", ""], "hour": ["8", "9", "14"]}


def _times(rng: random.Random, count: int) -> array:
    """Waits or services in ms, with values on and around bucket edges and the target."""
    special = [0, 1, 900_000, 900_001, 899_999, 1_860_000, int(EDGES_MS[-2]), 20_000, 20_001]
    return array("i", (rng.choice(special) if rng.random() < 0.15 else
                       int(rng.random() * rng.random() * 3_000_000) for _ in range(count)))


def _random_tally(rng: random.Random) -> Tally:
    count = rng.choice((0, 1, 3, 40, 400))
    ratings = [rng.randint(0, 5) for _ in range(MAX_LEVELS)]
    return Tally(issued=count + rng.randint(0, 5), served=count, no_show=rng.randint(0, 3),
                 cancelled=rng.randint(0, 2), transferred=rng.randint(0, 2),
                 dossiers=rng.randint(0, 9), rated=sum(ratings), satisfied=sum(ratings[:2]),
                 ratings=ratings, waits=_times(rng, count),
                 services=_times(rng, rng.randint(0, count)))


def _load(conn, rng: random.Random, halls: list[int], days: int | list[date]) -> dict:
    """Random rollup rows for ``halls`` × ``days`` (a count from ``FIRST``, or the days; as
    ``hub.facts.rebuild_days`` writes them, marked stale); the tallies by (hall, day,
    dimension, key)."""
    tallies = {}
    rows = []
    if isinstance(days, int):
        days = [FIRST + timedelta(days=d) for d in range(days)]
    for hall in halls:
        for day in days:
            for dimension, keys in DIMENSIONS.items():
                for key in keys:
                    t = _random_tally(rng)
                    tallies[(hall, day, dimension, key)] = t
                    row = t.row(day, dimension, key)
                    rows.append((hall, *row, *province.hall_row_extras(dimension, row[-2],
                                                                       row[-1])))
            province.mark_stale(conn, hall, [day])
    with conn.cursor() as cur, cur.copy(
            f"COPY hub_rollups ({facts.ROLLUP_COLUMNS}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return tallies


def _expected(tallies: dict, dimension: str, group, target_minutes: float) -> dict:
    """The hall's figures of each group (and the total) over the merged tallies."""
    merged: dict = {}
    total = Tally()
    for (hall, day, dim, key), t in tallies.items():
        if dim != dimension:
            continue
        copy = Tally(*(getattr(t, f) for f in ("issued", "served", "no_show", "cancelled",
                                                "transferred", "dossiers", "rated",
                                                "satisfied")), list(t.ratings),
                     wait_runs=[array("i", sorted(t.waits))],
                     service_runs=[array("i", sorted(t.services))])
        merged.setdefault(group(hall, day, key), Tally()).merge(copy)
        total.merge(copy)
    target_s = target_minutes * 60
    levels = len(reports.RATING_LEVELS)
    return {"rows": {k: hall_figures(t, target_s, levels) for k, t in merged.items()},
            "total": hall_figures(total, target_s, levels)}


# The figures compared, and the counts beside them.
KEEP = (*FIGURES, "ratings", "issued", "served", "no_show", "cancelled", "transferred",
        "dossiers", "rated")


def _figures(report: dict) -> dict:
    return {"rows": {r["key"]: {f: r[f] for f in KEEP} for r in report["rows"]},
            "total": {f: report["total"][f] for f in KEEP}}


def _trim(expected: dict) -> dict:
    return {"rows": {k: {f: v[f] for f in KEEP} for k, v in expected["rows"].items()},
            "total": {f: expected["total"][f] for f in KEEP}}


GROUPINGS = {
    "hall": ("all", lambda hall, day, key: hall),
    "day": ("all", lambda hall, day, key: day.isoformat()),
    "procedure": ("procedure", lambda hall, day, key: key or None),
    "hour": ("hour", lambda hall, day, key: int(key)),
}


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("target_minutes", [15, 31])  # an edge, and not one
def test_bucketed_percentiles_are_the_halls_to_the_bit(hub_db, seed, target_minutes,
                                                       monkeypatch):
    monkeypatch.setattr(reports, "TARGET_WAIT_MINUTES", target_minutes)
    rng = random.Random(seed)
    halls = [add_hall(hub_db, f"Xã {n}")[0] for n in range(3)]
    tallies = _load(hub_db, rng, halls, days=4)
    first, last = FIRST.isoformat(), (FIRST + timedelta(days=3)).isoformat()
    wanted = {}
    for by, (dimension, group) in GROUPINGS.items():
        wanted[by] = _trim(_expected(tallies, dimension, group, target_minutes))
        # The halls' own rows (all days stale), the halls listed, then the province's rows.
        assert _figures(reports.summary(hub_db, first, last, by)) == wanted[by], by
        assert _figures(reports.summary(hub_db, first, last, by, halls)) == wanted[by], by
    assert province.build_stale(hub_db, quiet_seconds=0) == 4
    assert hub_db.execute("SELECT count(*) FROM hub_rollups_stale").fetchone()[0] == 0
    for by in GROUPINGS:
        assert _figures(reports.summary(hub_db, first, last, by)) == wanted[by], by
    # A mix: one hall's day changed again (its days read from the halls' rows).
    province.mark_stale(hub_db, halls[1], [FIRST + timedelta(days=2)])
    for by in GROUPINGS:
        assert _figures(reports.summary(hub_db, first, last, by)) == wanted[by], by
    one = _trim(_expected({k: t for k, t in tallies.items() if k[0] == halls[2]}, "procedure",
                          GROUPINGS["procedure"][1], target_minutes))
    assert _figures(reports.summary(hub_db, first, last, "procedure", [halls[2]])) == one


def test_an_empty_range_has_empty_figures(hub_db):
    add_hall(hub_db, "Xã A")
    for by in reports.GROUPS:
        report = reports.summary(hub_db, "2026-01-01", "2026-01-31", by)
        assert report["rows"] == [] and report["total"]["issued"] == 0
        assert report["total"]["wait_p50_s"] is None


def test_province_rows_follow_real_pushes(hall, pushed, hub_db, clock):  # noqa: F811
    """Two halls' real events: the report is the same before and after the province's rows
    are built, and after a late push marks a day stale again."""
    hall_id, days = pushed
    other, _ = add_hall(hub_db, "Xã B")
    acked = 0
    while batch := json.loads(json.dumps(_wire_after(hall, acked))):
        acked = ingest.store(hub_db, other, {"hall": other, "after": acked, "events": batch})
    facts.catch_up(hub_db)
    ranges = ((days[0], days[3]), (days[1], days[2]), (days[3], days[3]))
    before = {(r, by): reports.summary(hub_db, *r, by) for r in ranges
              for by in reports.GROUPS}
    stale = hub_db.execute("SELECT count(*), count(DISTINCT day) FROM hub_rollups_stale"
                           ).fetchone()
    assert stale == hub_db.execute("SELECT count(DISTINCT (hall_id, day)), count(DISTINCT day)"
                                   " FROM hub_rollups").fetchone()
    assert stale[0] == 2 * stale[1] >= 8  # each hall's days
    assert province.build_stale(hub_db, quiet_seconds=3600) == 0  # not quiet yet
    assert province.build_stale(hub_db, quiet_seconds=0) == stale[1]
    assert hub_db.execute("SELECT count(*) FROM hub_rollups_province").fetchone()[0] > 20
    for key, report in before.items():
        assert reports.summary(hub_db, *key[0], key[1]) == report, key
    clock.at(9, 0, days=4)
    hall.issuing.issue("DEMO-GT-001")
    push(hall, hub_db, hall_id)
    marked = {r[0].isoformat() for r in hub_db.execute(
        "SELECT day FROM hub_rollups_stale WHERE hall_id = %s", (hall_id,))}
    last = (date.fromisoformat(days[3]) + timedelta(days=1)).isoformat()
    assert last in marked
    mixed = reports.summary(hub_db, days[0], last, "procedure")
    province.build_stale(hub_db, quiet_seconds=0)
    assert reports.summary(hub_db, days[0], last, "procedure") == mixed
    assert reports.summary(hub_db, days[0], last, "procedure", [hall_id, other]) \
        == mixed | {"halls": [hall_id, other]}
    assert mixed["total"]["issued"] > before[(ranges[0], "procedure")]["total"]["issued"]


def test_a_day_changed_while_it_is_built_stays_stale(hub_db, hub_dsn, monkeypatch):
    hall = add_hall(hub_db, "Xã A")[0]
    _load(hub_db, random.Random(1), [hall], days=1)
    real = province.build_day

    def build_then_change(conn, *args):
        written = real(conn, *args)
        with psycopg.connect(hub_dsn, autocommit=True) as other:
            province.mark_stale(other, hall, [FIRST])  # a push lands meanwhile
        return written

    monkeypatch.setattr(province, "build_day", build_then_change)
    assert province.build_stale(hub_db, quiet_seconds=0) == 0
    assert hub_db.execute("SELECT changes FROM hub_rollups_stale").fetchall() == [(2,)]
    assert hub_db.execute("SELECT count(*) FROM hub_rollups_province").fetchone()[0] == 0
    assert province.state(hub_db) == {"stale_days": 1, "quiet_not_rebuilt": 0}
    hub_db.execute("UPDATE hub_rollups_stale SET changed_at = now() - interval '1 hour'")
    assert province.state(hub_db) == {"stale_days": 1, "quiet_not_rebuilt": 1}
    monkeypatch.setattr(province, "build_day", real)
    assert province.build_stale(hub_db, quiet_seconds=0) == 1
    assert province.state(hub_db) == {"stale_days": 0, "quiet_not_rebuilt": 0}
    assert hub_db.execute("SELECT count(*) FROM hub_rollups_stale").fetchone()[0] == 0


def test_one_builder_at_a_time(hub_db, hub_dsn):
    hall = add_hall(hub_db, "Xã A")[0]
    _load(hub_db, random.Random(2), [hall], days=2)
    with psycopg.connect(hub_dsn, autocommit=True) as other, other.transaction():
        other.execute("SELECT pg_advisory_xact_lock(%s)", (province.BUILD_LOCK,))
        assert province.build_stale(hub_db, quiet_seconds=0) == 0
    assert province.build_stale(hub_db, quiet_seconds=0) == 2


def test_the_builder_thread_catches_up(hub_db, hub_dsn):
    from psycopg_pool import ConnectionPool

    hall = add_hall(hub_db, "Xã A")[0]
    _load(hub_db, random.Random(3), [hall], days=3)
    with ConnectionPool(hub_dsn, min_size=1, max_size=2, kwargs={"autocommit": True}) as pool:
        builder = province.builder(pool, period=0.05, quiet_seconds=0).start()
        try:
            wait_for(lambda: hub_db.execute(
                "SELECT count(*) FROM hub_rollups_stale").fetchone()[0] == 0,
                "the stale days rebuilt", timeout=10)
        finally:
            builder.stop()
    assert hub_db.execute("SELECT count(DISTINCT day) FROM hub_rollups_province"
                          ).fetchone()[0] == 3


def test_the_migration_fills_old_rows(hub_dsn):
    """Rollup rows written before the province's rows existed get their sums and counts; a
    hall's push position moves to its own table."""
    from hub import schema

    with psycopg.connect(hub_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE hub_migrations (name text PRIMARY KEY,"
                     " applied_at timestamptz NOT NULL DEFAULT now())")
        for name, step in schema.MIGRATIONS:
            if name == "h006_province_rollups":
                break
            with conn.transaction():
                step(conn)
                conn.execute("INSERT INTO hub_migrations (name) VALUES (%s)", (name,))
        hall = conn.execute("INSERT INTO halls (name, token_hash, acked_seq) VALUES"
                            " ('Xã A', 'x', 77) RETURNING id").fetchone()[0]
        t = _random_tally(random.Random(4))
        t.waits = array("i", [5, 70_000, 900_000])
        conn.execute("INSERT INTO hub_rollups VALUES (%s, %s, %s, %s, 1, 1, 0, 0, 0, 0, 0, 0,"
                     " %s, %s, %s)", (hall, FIRST, "all", "", bytes(4 * MAX_LEVELS),
                                      array("i", sorted(t.waits)).tobytes(),
                                      array("i", [60_000]).tobytes()))
        assert {"h006_province_rollups", "h008_hall_positions"} <= set(schema.migrate(conn))
        # The push position moved to its own table (h008), kept.
        assert conn.execute("SELECT hall_id, acked_seq FROM hall_positions").fetchall() == [
            (hall, 77)]
        row = conn.execute("SELECT wait_sum, service_sum, wait_counts IS NOT NULL"
                           " FROM hub_rollups").fetchone()
        assert row == (970_005, 60_000, True)
        assert conn.execute("SELECT count(*) FROM hub_rollups_stale").fetchone()[0] == 1
        report = reports.summary(conn, FIRST.isoformat(), FIRST.isoformat(), "hall")
        assert report["total"]["wait_p50_s"] == 70.0


def test_whole_months_of_a_range():
    d = date.fromisoformat
    assert reports.whole_months(d("2026-03-02"), d("2026-03-31")) == (d("2026-04-01"),
                                                                      d("2026-03-31"))
    assert reports.whole_months(d("2026-03-01"), d("2026-03-31")) == (d("2026-03-01"),
                                                                      d("2026-03-31"))
    assert reports.whole_months(d("2026-01-31"), d("2026-04-29")) == (d("2026-02-01"),
                                                                      d("2026-03-31"))
    assert reports.whole_months(d("2026-12-01"), d("2027-02-28")) == (d("2026-12-01"),
                                                                      d("2027-02-28"))


def test_by_hall_reads_whole_months_from_month_rows(hub_db):
    rng = random.Random(11)
    halls = [add_hall(hub_db, f"Xã {n}")[0] for n in range(2)]
    days = [date(2026, 3, 30), date(2026, 3, 31), date(2026, 4, 1), date(2026, 4, 15),
            date(2026, 4, 30), date(2026, 5, 1), date(2026, 5, 29)]
    tallies = _load(hub_db, rng, halls, days)
    dimension, group = GROUPINGS["hall"]
    ranges = [("2026-03-30", "2026-05-01"), ("2026-04-01", "2026-04-30"),
              ("2026-03-31", "2026-05-31"), ("2026-04-02", "2026-04-29")]

    def check():
        for first, last in ranges:
            inside = {k: t for k, t in tallies.items()
                      if first <= k[1].isoformat() <= last}
            wanted = _trim(_expected(inside, dimension, group, 15))
            assert _figures(reports.summary(hub_db, first, last, "hall")) == wanted, (first,
                                                                                     last)
            assert _figures(reports.summary(hub_db, first, last, "hall", halls[:1])) == \
                _trim(_expected({k: t for k, t in inside.items() if k[0] == halls[0]},
                                dimension, group, 15))

    check()  # every day marked: the days' rows
    assert province.build_stale(hub_db, quiet_seconds=0) == len(days)
    assert hub_db.execute("SELECT count(*) FROM hub_rollups_hall_month").fetchone()[0] == 6
    check()  # whole months from the month rows
    province.mark_stale(hub_db, halls[1], [date(2026, 4, 15)])
    check()  # one hall's April from its days again
    hub_db.execute("UPDATE hub_rollups_hall_month SET issued = issued + 1000")
    with pytest.raises(AssertionError):  # the month rows are what was read
        check()
