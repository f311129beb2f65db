"""Reports: simulated days replayed through the real core, every figure checked against a
recomputation from the raw events written here; rollups kept in step; retention."""

import json
import math
import random
import sqlite3
from datetime import date, datetime, timedelta

import pytest

from hall import Rules, errors
from hall.events import AUDITED, EventKind
from hall.reports import FIGURES, GROUPS
from hall.rollups import fact_of
from tests.plugins.halls import HALL_TZ

DAY_START = "03:00"
PROCEDURES = ("DEMO-GT-001", "DEMO-GT-002", "DEMO-GT-007", "DEMO-GT-021")


@pytest.fixture
def rules() -> Rules:
    """A hall whose business day starts at 03:00, with a 10-minute target."""
    return Rules(day_starts_at=DAY_START, target_wait_minutes=10, keep_tickets_days=40)


def simulate_day(hall, clock, clerks, rng, days: int) -> None:
    """One business day: arrivals from 07:30 to past midnight (still the same business day
    until 03:00), counters calling, recalling, transferring, no-shows, finishing, ratings and
    cancels; some tickets are left waiting for the next day's roll-over."""
    clock.at(7, 30, days=days)
    end = clock.at(7, 30, days=days) + 19 * 3600  # 02:30 the next calendar day
    clock.at(7, 30, days=days)
    while clock.now < end:
        clock.advance(rng.randint(20, 400))
        move = rng.random()
        counter = rng.choice((1, 2, 3))
        clerk = clerks[counter]
        try:
            if move < 0.35:
                hall.issuing.issue(rng.choice(PROCEDURES))
            elif move < 0.55:
                hall.calling.call_next(counter, clerk)
            elif move < 0.62:
                hall.calling.recall(counter, clerk)
            elif move < 0.67:
                hall.calling.no_show(counter, clerk)
            elif move < 0.70:
                target = rng.choice(("GPLX", "VT"))
                hall.calling.transfer(counter, queue=target, clerk=clerk)
            elif move < 0.93:
                # a clerk records 0 to 3 dossier codes (a scanner's lines) at the finish
                codes = [f"HS-{rng.randint(1, 10**6)}" for _ in range(rng.randint(0, 3))]
                hall.calling.finish(counter, clerk=clerk, dossiers=codes)
                if rng.random() < 0.6:  # the citizen rates within the prompt's seconds
                    clock.advance(5)
                    hall.ratings.rate(counter, rng.randint(1, 3))
            elif move < 0.96:
                waiting = hall.store.path and _one_waiting(hall)
                if waiting:
                    hall.calling.cancel(waiting[0], queue=waiting[1])
            else:
                no_show = _one_no_show(hall)
                if no_show:
                    hall.calling.reactivate(no_show[0], queue=no_show[1])
        except errors.HallError:
            pass


def _one_waiting(hall):
    with hall.tx.reading() as r:
        row = r.one("SELECT number, queue_code FROM tickets WHERE status = 'waiting'"
                    " AND day = ? ORDER BY random() LIMIT 1", (r.day,))
    return tuple(row) if row else None


def _one_no_show(hall):
    with hall.tx.reading() as r:
        row = r.one("SELECT number, queue_code FROM tickets WHERE status = 'no_show'"
                    " AND day = ? LIMIT 1", (r.day,))
    return tuple(row) if row else None


# -- the independent recomputation: raw events in, figures out ------------------------------

def raw_tickets(path) -> dict[int, dict]:
    """Every ticket's story read straight from the events table."""
    conn = sqlite3.connect(path)
    stories: dict[int, dict] = {}
    for at, day, kind, ticket, counter, clerk, queue, data in conn.execute(
            "SELECT at, day, kind, ticket_id, counter_number, clerk_id, queue_code, data"
            " FROM events WHERE ticket_id IS NOT NULL ORDER BY id"):
        data = json.loads(data)
        if kind == "issued":
            local = datetime.fromtimestamp(at, HALL_TZ)
            stories[ticket] = {"day": day, "hour": local.hour, "procedure": data["procedure"],
                               "queue": queue, "issued_at": at, "first_call": None,
                               "last_call": None, "service": None, "end": None,
                               "transferred": False, "rating": None, "counter": None,
                               "clerk": None, "dossiers": 0}
            continue
        story = stories[ticket]
        if kind == "called":
            story["first_call"] = story["first_call"] or at
            story["last_call"], story["counter"], story["clerk"] = at, counter, clerk
        if kind == "transferred":
            story["transferred"] = True
        if kind == "rated":
            story["rating"] = (data["level"], data["levels"])
        if kind == "finished":
            story["service"] = at - story["last_call"]
            story["dossiers"] += len(data.get("dossiers", []))
        if kind in ("finished", "no_show", "cancelled", "expired", "reactivated"):
            story["end"] = kind
    fields = dict(conn.execute("SELECT code, field_id FROM procedures"))
    conn.close()
    for story in stories.values():
        story["field"] = fields[story["procedure"]]
    return stories


def nearest_rank(values, p):
    values = sorted(values)
    return values[math.ceil(p * len(values)) - 1] if values else None


def expected(stories, first, last, by, target_s) -> dict:
    """The figures of each group, computed here from the stories alone."""
    groups: dict = {}
    for s in stories.values():
        if first <= s["day"] <= last:
            key = {"field": s["field"], "procedure": s["procedure"], "queue": s["queue"],
                   "counter": s["counter"], "clerk": s["clerk"], "day": s["day"],
                   "hour": s["hour"]}[by]
            groups.setdefault(key, []).append(s)
    out = {}
    for key, group in groups.items():
        # Times are counted in whole milliseconds.
        waits = [round((s["first_call"] - s["issued_at"]) * 1000) / 1000 for s in group
                 if s["first_call"]]
        services = [round(s["service"] * 1000) / 1000 for s in group
                    if s["service"] is not None]
        rated = [s["rating"] for s in group if s["rating"]]
        out[key] = {
            "issued": len(group),
            "served": sum(s["end"] == "finished" for s in group),
            "no_show": sum(s["end"] == "no_show" for s in group),
            "cancelled": sum(s["end"] == "cancelled" for s in group),
            "transferred": sum(s["transferred"] for s in group),
            "dossiers": sum(s["dossiers"] for s in group),
            "wait_avg_s": (round(sum(round(w * 1000) for w in waits) / len(waits) / 1000, 1)
                           if waits else None),
            "wait_p50_s": nearest_rank(waits, 0.5), "wait_p90_s": nearest_rank(waits, 0.9),
            "service_avg_s": (round(sum(round(v * 1000) for v in services) / len(services)
                                    / 1000, 1) if services else None),
            "service_p50_s": nearest_rank(services, 0.5),
            "service_p90_s": nearest_rank(services, 0.9),
            "within_target_share": (round(sum(w <= target_s for w in waits) / len(waits), 4)
                                    if waits else None),
            "rated": len(rated),
            "satisfied_share": (round(sum(lv <= 2 for lv, n in rated) / len(rated), 4)
                                if rated else None),
        }
    return out


@pytest.fixture
def days(hall, clock):
    """Four simulated business days (the fourth is today, read live)."""
    rng = random.Random(11)
    clerks = {n: hall.accounts.put_clerk(f"c{n}", name=f"Cán bộ {n}", pin="246810")["id"]
              for n in (1, 2, 3)}
    for day in range(4):
        simulate_day(hall, clock, clerks, rng, day)
    return [(date(2026, 11, 26) + timedelta(days=d)).isoformat() for d in range(4)]


def test_every_figure_equals_a_recomputation_from_the_raw_events(hall, days):
    hall.reports.refresh()
    stories = raw_tickets(hall.store.path)
    assert len(stories) > 150
    kinds = {k for (k,) in sqlite3.connect(hall.store.path).execute("SELECT kind FROM events")}
    assert {"recalled", "transferred", "no_show", "finished", "cancelled", "rated", "expired",
            "reactivated"} <= kinds
    # Some tickets were issued after midnight but before 03:00: they belong to the day before.
    assert any(s["hour"] < 3 for s in stories.values())
    assert hall.today() == days[3]
    assert sum(s["dossiers"] for s in stories.values()) > 50  # dossiers came through finish
    for first, last in ((days[0], days[3]), (days[1], days[1]), (days[0], days[2]),
                        (days[3], days[3])):
        for by in GROUPS:
            report = hall.reports.summary(first, last, by)
            want = expected(stories, first, last, by, 600)
            got = {row["key"]: {f: row[f] for f in FIGURES} for row in report["rows"]}
            assert got == want, (first, last, by)
            assert report["total"]["issued"] == sum(g["issued"] for g in want.values())
        heat = [[0] * 24 for _ in range(7)]
        for s in stories.values():
            if first <= s["day"] <= last:
                heat[date.fromisoformat(s["day"]).weekday()][s["hour"]] += 1
        assert report["heatmap"] == heat
        assert [t["day"] for t in report["trend"]] == sorted(
            {s["day"] for s in stories.values() if first <= s["day"] <= last})


def test_rollups_follow_late_events_and_rebuild_to_the_same(hall, days, clock):
    before = hall.reports.summary(days[0], days[3], "counter")  # closed days not built: live
    assert hall.reports.stale() == days[:3]
    hall.reports.refresh()
    assert hall.reports.stale() == []
    assert hall.reports.summary(days[0], days[3], "counter") == before
    clock.at(9, 0, days=4)  # a new day: yesterday becomes closed (and its tickets expire)
    hall.issuing.issue("DEMO-GT-001")
    assert days[3] in hall.reports.stale()
    after = hall.reports.summary(days[0], days[3], "counter")
    assert after["total"]["issued"] == before["total"]["issued"]
    hall.reports.refresh()
    assert hall.reports.stale() == []
    assert hall.reports.summary(days[0], days[3], "counter") == after
    with hall.tx.change() as change:
        change.run("DELETE FROM report_rollups")
    hall.reports.rebuild()
    assert hall.reports.summary(days[0], days[3], "counter") == after


def test_dossiers_are_counted_from_the_finished_event():
    def event(i, kind, at, data=None, counter=None):
        return {"id": i, "at": at, "day": "2026-11-26", "kind": kind, "ticket_id": 7,
                "counter_number": counter, "clerk_id": None, "queue_code": "GPLX",
                "data": json.dumps({"procedure": "P", **(data or {})})}

    fact = fact_of([event(1, "issued", 1000.0), event(2, "called", 1300.0, counter=2),
                    event(3, "finished", 1500.0, {"dossiers": ["H1", "H2", "H3"]})],
                   lambda ts: datetime.fromtimestamp(ts, HALL_TZ))
    assert (fact.dossiers, fact.wait_ms, fact.service_ms, fact.served, fact.counter_number) == (
        3, 300_000, 200_000, 1, 2)


@pytest.mark.parametrize(("first", "last", "field"), [
    ("2026-13-01", "2026-12-01", "from"), ("2026-11-01", "", "to"),
    ("2026-11-02", "2026-11-01", "from"), ("2000-01-01", "2026-01-01", "to")])
def test_bad_ranges_are_refused_with_the_field(hall, first, last, field):
    with pytest.raises(errors.InvalidInput) as caught:
        hall.reports.summary(first, last, "day")
    assert field in str(caught.value)


def test_an_unknown_grouping_is_refused(hall):
    with pytest.raises(errors.InvalidInput):
        hall.reports.summary("2026-11-01", "2026-11-02", "colour")


def test_purge_keeps_the_reports_and_is_audited(hall, days, clock):
    report = hall.reports.summary(days[0], days[2], "procedure")
    clock.at(9, 0, days=42)  # 42 days on: days 0 and 1 are older than 40 days
    result = hall.retention.purge(clerk=None)
    assert result["before_day"] == "2026-11-28" and result["tickets"] > 0
    conn = sqlite3.connect(hall.store.path)
    assert conn.execute("SELECT min(day) FROM tickets").fetchone()[0] >= "2026-11-28"
    assert conn.execute("SELECT count(*) FROM events e JOIN tickets t ON t.id = e.ticket_id"
                        " WHERE t.day < '2026-11-28'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM events WHERE ticket_id IS NOT NULL AND ticket_id"
                        " NOT IN (SELECT id FROM tickets)").fetchone()[0] == 0
    assert hall.reports.summary(days[0], days[2], "procedure") == report
    hall.reports.rebuild()  # purged days keep their rollups
    assert hall.reports.summary(days[0], days[2], "procedure") == report
    purged = conn.execute("SELECT data FROM events WHERE kind = 'tickets_purged'").fetchall()
    assert len(purged) == 1 and json.loads(purged[0][0])["tickets"] == result["tickets"]
    assert EventKind.TICKETS_PURGED in AUDITED
    assert hall.retention.purge()["tickets"] == 0


def test_the_log_stays_append_only_outside_a_purge(hall, days):
    conn = sqlite3.connect(hall.store.path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM events WHERE id = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE events SET kind = 'x' WHERE id = 1")


def test_keep_forever_purges_nothing(hall, days, clock):
    hall.follow(Rules(day_starts_at=DAY_START, keep_tickets_days=0))
    clock.at(9, 0, days=400)
    assert hall.retention.purge()["tickets"] == 0
    assert sqlite3.connect(hall.store.path).execute(
        "SELECT count(*) FROM tickets WHERE day = ?", (days[0],)).fetchone()[0] > 0


def test_the_commands_rebuild_and_purge(hall, days, tmp_path):
    import subprocess

    from tests.liveserver import GOISO, goiso_env

    data = tmp_path / "data"
    hall.store.backup(data / "goiso.db")

    def goiso(*args):
        result = subprocess.run([str(GOISO), *args, "--data-dir", str(data)], cwd=tmp_path,
                                capture_output=True, text=True, timeout=60, env=goiso_env())
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    assert "Đã dựng lại" in goiso("rebuild-reports")
    conn = sqlite3.connect(data / "goiso.db")
    built = conn.execute("SELECT sum(tickets) FROM report_days").fetchone()[0]
    # The command runs on the real clock: every simulated day is closed by now.
    closed = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
    assert built == closed > 0
    assert "keep_tickets_days = 0" in goiso("purge")  # the file's rules keep everything
    assert conn.execute("SELECT count(*) FROM tickets").fetchone()[0] >= closed


def test_the_hourly_upkeep_refreshes_and_purges_nothing_by_default(app):
    from services import reports

    assert reports.keep_up(app.extensions["goiso"])["tickets"] == 0


@pytest.mark.parametrize("per_run", [1, 30, 600])
def test_percentiles_of_sorted_runs_equal_those_of_all_values_sorted(per_run):
    from array import array

    from hall.reports import Times

    rng = random.Random(per_run)
    runs = [array("i", sorted(rng.randint(0, 5_000_000) for _ in range(rng.randint(0, per_run))))
            for _ in range(120)]
    values = sorted(v for r in runs for v in r)
    # As arrays (live days), as packed bytes (read from the rollups), or both mixed.
    for given in (runs, [r.tobytes() for r in runs],
                  [r.tobytes() if i % 2 else r for i, r in enumerate(runs)]):
        times = Times(given)
        for share in (0.1, 0.5, 0.9, 0.99, 1.0):
            assert times.percentile_s(share) == nearest_rank(values, share) / 1000
        assert times.share_within(2_500_000) == round(
            sum(v <= 2_500_000 for v in values) / len(values), 4)
        assert times.average_s() == round(sum(values) / len(values) / 1000, 1)


def test_a_refresh_in_steps_builds_what_one_refresh_builds(hall, days, clock):
    from services import reports
    from services.runtime import Runtime

    steps = []

    class Counting(Runtime):
        def act(self, fn, *args, **kwargs):
            steps.append(fn.__name__)
            return super().act(fn, *args, **kwargs)

    from hall.events import EventLog, Feed
    from settings import Settings

    runtime = Counting(Settings(), hall, Feed(EventLog(hall.store)))
    assert reports.refresh(runtime, days_per_step=2) == days[:3]
    assert steps == ["build", "build", "mark"]
    assert hall.reports.stale() == [] and reports.refresh(runtime) == []
    stepped = hall.reports.summary(days[0], days[2], "clerk")
    hall.reports.rebuild()
    assert hall.reports.summary(days[0], days[2], "clerk") == stepped
