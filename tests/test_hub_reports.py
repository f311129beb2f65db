"""Province reports: a hall's real events pushed to a real PostgreSQL through the ingest, and
every figure of the hub's report for that hall equal to the hall's own report."""

import csv
import io
import json
import random
import sqlite3
from datetime import date, timedelta

import pytest

from hall import errors
from hall.reports import FIGURES
from hub import facts, ingest, reports
from hub.halls import add_hall
from tests.test_reports import simulate_day

BATCH = 37  # small: a ticket's events arrive over several batches


def push(hall, conn, hall_id: int) -> int:
    """Everything the hall has not pushed yet, through the hub's ingest, as the pusher does
    (the wire form through JSON); the events sent."""
    sent = 0
    while True:
        acked, events = hall.outbox.pending(BATCH)
        if not events:
            facts.catch_up(conn)  # as the hub's facts job does after the batches
            return sent
        body = json.loads(json.dumps({"hall": hall_id, "after": acked, "events": events}))
        hall.outbox.acknowledged(ingest.store(conn, hall_id, body))
        sent += len(events)


def publish_catalogue(hall, conn) -> None:
    """The province publishes the hall's catalogue (fields by name, as every hall's)."""
    from hall.importing import export_csv
    from hub.catalogue import publish

    publish(conn, export_csv(hall.catalogue), "catalogue.csv")


@pytest.fixture
def pushed(hall, clock, hub_db):
    """Four simulated days of a hall pushed day by day (the last one is today)."""
    hall_id, _token = add_hall(hub_db, "Sở Giao thông vận tải")
    rng = random.Random(5)
    clerks = {n: hall.accounts.put_clerk(f"c{n}", name=f"Cán bộ {n}", pin="246810")["id"]
              for n in (1, 2, 3)}
    for day in range(4):
        simulate_day(hall, clock, clerks, rng, day)
        push(hall, hub_db, hall_id)
    first = next(p for p in hall.catalogue.procedures() if p["code"] == "DEMO-GT-001")
    hall.catalogue.put_procedure("DEMO-GT-001", name=first["name"], field=first["field"],
                                 queue=first["queue"]["code"], name_en="Driving licence")
    publish_catalogue(hall, hub_db)
    return hall_id, [(date(2026, 11, 26) + timedelta(days=d)).isoformat() for d in range(4)]


def comparable(report: dict) -> dict:
    """The figures by group (fields by name: a hall numbers its fields its own way)."""
    by_name = report["by"] == "field"
    return {"rows": {r["name" if by_name else "key"]: {f: r[f] for f in (*FIGURES, "ratings")}
                     for r in report["rows"]},
            "total": report["total"], "heatmap": report["heatmap"], "trend": report["trend"]}


def test_a_halls_province_figures_equal_its_own_report(hall, pushed, hub_db):
    hall_id, days = pushed
    hall.reports.refresh()
    assert hub_db.execute("SELECT count(*) FROM hub_facts").fetchone()[0] > 150
    for first, last in ((days[0], days[3]), (days[1], days[1]), (days[0], days[2]),
                        (days[3], days[3])):
        for by in ("field", "procedure", "day", "hour"):
            own = hall.reports.summary(first, last, by)
            province = reports.summary(hub_db, first, last, by, [hall_id])
            assert comparable(province) == comparable(own), (first, last, by)
            assert reports.summary(hub_db, first, last, by) == province | {"halls": None}
        english = reports.summary(hub_db, first, last, "procedure", english=True)
        assert [r["name"] for r in english["rows"]] == [
            r["name"] for r in hall.reports.summary(first, last, "procedure", True)["rows"]]
        assert "Driving licence" in [r["name"] for r in english["rows"]]
        by_hall = reports.summary(hub_db, first, last, "hall")
        assert [r["key"] for r in by_hall["rows"]] == [hall_id]
        assert by_hall["rows"][0]["name"] == "Sở Giao thông vận tải"
        assert {k: by_hall["rows"][0][k] for k in FIGURES} == {k: own["total"][k] for k in FIGURES}


def test_late_events_and_a_rebuild_keep_the_same_figures(hall, pushed, hub_db, hub_dsn,
                                                         clock):
    hall_id, days = pushed
    clock.at(9, 0, days=4)  # a new day: yesterday's waiting tickets expire on the roll-over
    hall.issuing.issue("DEMO-GT-001")
    push(hall, hub_db, hall_id)
    hall.reports.refresh()
    first, last = days[0], (date.fromisoformat(days[3]) + timedelta(days=1)).isoformat()
    before = reports.summary(hub_db, first, last, "procedure", [hall_id])
    assert comparable(before) == comparable(hall.reports.summary(first, last, "procedure"))
    assert facts.rebuild_hall(hub_db, hall_id) > 150
    assert reports.summary(hub_db, first, last, "procedure", [hall_id]) == before
    hub_db.execute("DELETE FROM hub_rollups")
    from click.testing import CliRunner

    from commands import cli

    done = CliRunner().invoke(cli, ["hub", "rebuild-reports", "--dsn", hub_dsn])
    assert done.exit_code == 0 and f"hall {hall_id}: " in done.output
    assert reports.summary(hub_db, first, last, "procedure", [hall_id]) == before


def test_two_halls_add_up(hall, pushed, hub_db):
    hall_id, days = pushed
    other, _ = add_hall(hub_db, "Xã B")
    # The same log under a second hall: every count doubles, the percentiles stay.
    acked = 0
    while True:
        batch = json.loads(json.dumps(_wire_after(hall, acked)))
        if not batch:
            break
        acked = ingest.store(hub_db, other, {"hall": other, "after": acked, "events": batch})
    assert facts.catch_up(hub_db) > 100
    one = reports.summary(hub_db, days[0], days[3], "day", [hall_id])
    both = reports.summary(hub_db, days[0], days[3], "day")
    assert both["total"]["issued"] == 2 * one["total"]["issued"]
    assert both["total"]["wait_p90_s"] == one["total"]["wait_p90_s"]
    assert [t["served"] for t in both["trend"]] == [2 * t["served"] for t in one["trend"]]


def _wire_after(hall, after: int) -> list:
    from hall.outbox import wire

    with hall.tx.reading() as reading:
        return [wire(r) for r in reading.all(
            "SELECT * FROM events WHERE id > ? ORDER BY id LIMIT 500", (after,))]


@pytest.mark.parametrize(("args", "field"), [
    (("2026-11-30", "2026-11-01", "day"), "from"), (("nope", "2026-11-01", "day"), "from"),
    (("2026-11-01", "2026-11-02", "clerk"), "by")])
def test_bad_reports_are_refused_with_the_field(hub_db, args, field):
    with pytest.raises(errors.InvalidInput) as refused:
        reports.summary(hub_db, *args)
    assert refused.value.params["field"] == field


def test_hall_lists_are_checked():
    assert reports.parse_halls("3, 7,3") == [3, 7]
    assert reports.parse_halls("") is None
    for bad in ("x", "0", "-1", ",", "9" * 12):
        with pytest.raises(errors.InvalidInput):
            reports.parse_halls(bad)


@pytest.fixture
def hub_client(hub_dsn, hub_db):
    """A test client of the hub's app on the test database, signed in as a supervisor."""
    from hub.accounts import add_user
    from hub.app import create_hub_app
    from hub.store import open_pool

    add_user(hub_db, "tinh", "Sở Nội vụ", "supervisor", "246810")
    pool = open_pool(hub_dsn, min_size=1, max_size=2, migrate_now=False)
    app = create_hub_app(pool, testing=True)
    client = app.test_client()
    yield client
    pool.close()


def sign_in(client) -> None:
    reply = client.post("/api/v1/session", json={"login": "tinh", "pin": "246810"})
    assert reply.status_code == 200


def test_the_report_door_answers_json_csv_xlsx_and_charts(hall, pushed, hub_db, hub_client):
    import openpyxl

    hall_id, days = pushed
    query = f"/api/v1/reports/summary?from={days[0]}&to={days[3]}"
    assert hub_client.get(query).status_code == 401
    sign_in(hub_client)
    body = hub_client.get(query + "&by=procedure").get_json()
    own = hall.reports.summary(days[0], days[3], "procedure")
    assert [r["issued"] for r in body["rows"]] == [r["issued"] for r in own["rows"]]
    assert body["ratings_per_level"]["total"] == own["total"]["ratings"]
    assert body["rows"][0]["name"] == own["rows"][0]["name"]  # from the catalogue
    by_hall = hub_client.get(query + f"&by=hall&hall={hall_id}").get_json()
    assert by_hall["halls"] == [hall_id] and by_hall["rows"][0]["key"] == hall_id
    csv_reply = hub_client.get(query + "&by=hall&format=csv")
    assert csv_reply.mimetype == "text/csv"
    lines = csv_reply.data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Mã,Điểm phục vụ,Số phiếu đã cấp")
    assert lines[1].startswith(f"{hall_id},Sở Giao thông vận tải,{own['total']['issued']},")
    english = hub_client.get(query + "&by=day&format=csv&lang=en").data.decode("utf-8-sig")
    assert english.splitlines()[0].startswith("Code,Day,")
    xlsx = hub_client.get(query + "&by=day&format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).active
    assert [c.value for c in sheet[2]][:3] == [days[0], days[0], own["trend"][0]["issued"]]
    for chart in ("groups", "trend", "heatmap"):
        svg = hub_client.get(query + f"&by=hour&format=svg&chart={chart}")
        assert svg.mimetype == "image/svg+xml" and svg.data.startswith(b"<svg")
    for bad, field in (("&by=clerk", "by"), ("&format=pdf", "format"), ("&hall=x", "hall"),
                       ("&format=svg&chart=pie", "chart")):
        reply = hub_client.get(query + bad)
        assert reply.status_code == 400 and reply.get_json()["error"]["field"] == field


def test_the_dashboard_line_of_a_hall_matches_the_hall(hall, pushed, hub_db, clock):
    from datetime import UTC, datetime

    from hub import dashboard

    hall_id, days = pushed
    for _ in range(3):
        hall.issuing.issue("DEMO-GT-007")
        clock.advance(60)
    push(hall, hub_db, hall_id)
    waiting = sqlite3.connect(hall.store.path).execute(
        "SELECT count(*) FROM tickets WHERE day = ? AND status = 'waiting'",
        (hall.today(),)).fetchone()[0]
    assert waiting > 0
    now = datetime.fromtimestamp(clock.now, UTC)
    silent, _ = add_hall(hub_db, "Xã chưa kết nối")
    rows = dashboard.halls(hub_db, now)
    assert [r["id"] for r in rows] == [silent, hall_id]  # never heard from: the worst
    line = rows[1]
    assert line["day"] == hall.today() and line["waiting"] == waiting
    today = hall.reports.summary(hall.today(), hall.today(), "day")
    assert line["served"] == today["total"]["served"]
    assert line["longest_wait_s"] >= 180 and line["lag_s"] == 60
    assert [r["id"] for r in dashboard.halls(hub_db, now, sort="name")] == [hall_id, silent]
    assert dashboard.totals(rows)["waiting"] == waiting


@pytest.mark.parametrize("seed", range(6))
def test_the_province_figures_are_the_halls_to_the_bit(seed):
    from array import array

    from hall.reports import figures as hall_figures
    from hall.rollups import Tally
    from hub.figures import figures as hub_figures

    rng = random.Random(seed)
    t = Tally(issued=50, served=40, rated=9, satisfied=5, ratings=[3, 2, 4, 0, 0])
    for _ in range(rng.choice((1, 3, 40, 300))):
        run = sorted(rng.choice((rng.randint(0, 900_000), rng.randint(0, 3000)))
                     for _ in range(rng.randint(0, 60)))
        packed = array("i", run).tobytes()
        t.wait_runs.append(packed if rng.random() < 0.7 else array("i", run))
        t.service_runs.append(packed[: 4 * rng.randint(0, len(run))])
    t.waits = array("i", sorted(rng.randint(0, 10_000) for _ in range(rng.randint(0, 5))))
    assert hub_figures(t, 900, 3) == hall_figures(t, 900, 3)
    assert hub_figures(Tally(), 900, 3) == hall_figures(Tally(), 900, 3)


def test_fields_follow_the_newest_catalogue_and_keep_their_numbers(hall, pushed, hub_db):
    from hall.importing import export_rows
    from hub.catalogue import publish

    hall_id, days = pushed
    before = reports.summary(hub_db, days[0], days[3], "field")
    numbers = {r["name"]: r["key"] for r in before["rows"]}
    assert set(numbers) == {r["name"] for r in
                            hall.reports.summary(days[0], days[3], "field")["rows"]}
    rows = export_rows(hall.catalogue)
    moved = next(r for r in rows[1:] if r[0] == "DEMO-GT-021")
    moved[1] = "Lĩnh vực mới"
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    publish(hub_db, out.getvalue().encode(), "catalogue.csv")
    after = reports.summary(hub_db, days[0], days[3], "field")
    names = {r["name"]: r for r in after["rows"]}
    assert "Lĩnh vực mới" in names
    by_procedure = {r["key"]: r for r in
                    reports.summary(hub_db, days[0], days[3], "procedure")["rows"]}
    assert names["Lĩnh vực mới"]["issued"] == by_procedure["DEMO-GT-021"]["issued"]
    for name, key in numbers.items():
        if name in names:
            assert names[name]["key"] == key
    assert after["total"] == before["total"]
