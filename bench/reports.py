"""Reports over a year of a busy hall: the whole page and the summary API, beside raw SQL.

The generator writes a year (``--days`` business days of ``--per-day`` tickets: 250 × 600 ≈
150,000 tickets, ≈ 600,000 events, with transfers, recalls, no-shows, cancels, dossier codes
and ratings) straight into the hall's tables with the events each ticket's way would log, then
rebuilds the report rollups from the log (``Reports.rebuild``, timed). Then, through a real app
and a signed-in supervisor's test client (Flask's, no network):

* ``page``: GET /admin/reports over the year and over a month (by field; the one-stop table, the
  grouped table, three SVG charts). The first request draws the charts; the figures are the
  median of ``--repeat`` requests (charts served from the memory cache, as in use);
* ``api json|csv|xlsx``: GET /api/v1/reports/summary by procedure over the year and a month;
* ``raw SQL``: the same figures computed straight from ``tickets``/``events`` in SQL in the same
  run (counts, averages, p50/p90 by window function, the heat map), for comparison.

Targets (issue 11): a whole report page over a year ≤ 250 ms, over a month ≤ 30 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

TITLE = "reports over a year (600 tickets × 250 days): page and API vs raw SQL"

FIELDS = 6
PROCEDURES = 40
QUEUES = ("A", "B", "C", "D", "E", "F")
COUNTERS = 12
TZ = "Asia/Ho_Chi_Minh"


def _catalogue(hall) -> None:
    put = hall.catalogue
    for i, code in enumerate(QUEUES):
        put.put_queue(code, name=f"Hàng {code}", number_format="prefix", prefix=code,
                      position=i)
    for i in range(PROCEDURES):
        put.put_procedure(f"P{i:03d}", name=f"Thủ tục {i}", field=f"Lĩnh vực {i % FIELDS}",
                          queue=QUEUES[i % len(QUEUES)])
    for n in range(1, COUNTERS + 1):
        put.put_counter(n, name=f"Quầy {n}", queues=[QUEUES[(n - 1) % len(QUEUES)]])
    for n in range(1, COUNTERS + 1):
        hall.accounts.put_clerk(f"cb{n}", name=f"Cán bộ {n}", pin="246810")
    hall.accounts.put_clerk("giamsat", name="Giám sát", pin="246810", role="supervisor")


def generate(hall, days: int, per_day: int, seed: int = 11) -> tuple[int, int, str, str]:
    """Write ``days`` business days of ``per_day`` tickets with their events; returns
    (tickets, events, first day, last day)."""
    rng = random.Random(seed)
    rules = hall.rules
    tickets, events = [], []
    ticket_id, event_id = 0, 0
    day = date(2025, 1, 2)
    first = day
    made = 0
    while made < days:
        if day.weekday() >= 5:
            day += timedelta(days=1)
            continue
        made += 1
        iso = day.isoformat()
        opening = datetime(day.year, day.month, day.day, 7, 30, tzinfo=rules.tz).timestamp()
        seq = {q: 0 for q in QUEUES}
        for n in range(per_day):
            ticket_id += 1
            proc = rng.randrange(PROCEDURES)
            queue = QUEUES[proc % len(QUEUES)]
            seq[queue] += 1
            number = f"{queue}{seq[queue]:03d}"
            issued = opening + n * (9 * 3600 / per_day) + rng.random() * 30
            counter = rng.randrange(1, COUNTERS + 1)
            clerk = counter
            base = {"number": number, "queue": queue, "procedure": f"P{proc:03d}",
                    "priority": None}
            story = [(issued, "issued", None, None, {**base, "status": "waiting"})]
            fate = rng.random()
            called = issued + rng.expovariate(1 / 600)
            status, finished, outcome = "done", None, "served"
            if fate < 0.04:
                status, finished = "cancelled", issued + 300
                story.append((finished, "cancelled", None, None, {**base, "reason": ""}))
                called = None
            else:
                story.append((called, "called", counter, clerk, {**base, "status": "called"}))
                if rng.random() < 0.1:
                    story.append((called + 30, "recalled", counter, clerk, base))
                if rng.random() < 0.03:
                    moved = called + 60
                    story.append((moved, "transferred", counter, clerk, base))
                    called = moved + rng.expovariate(1 / 300)
                    story.append((called, "called", counter, clerk, base))
                end = called + rng.expovariate(1 / 420)
                if fate < 0.12:
                    status, outcome = "no_show", None
                    story.append((end, "no_show", counter, clerk, base))
                else:
                    codes = [f"H{ticket_id}-{k}" for k in range(rng.choice((0, 1, 1, 2, 3)))]
                    story.append((end, "finished", counter, clerk,
                                  {**base, "outcome": "served", "dossiers": codes}))
                    if rng.random() < 0.4:
                        level = rng.choice((1, 1, 2, 2, 2, 3))
                        story.append((end + 10, "rated", counter, clerk,
                                      {**base, "level": level, "levels": 3, "label": ""}))
                finished = end
            tickets.append((ticket_id, iso, queue, seq[queue], number, queue, f"P{proc:03d}",
                            status, issued, issued, called, finished,
                            None if called is None else counter,
                            None if called is None else clerk, outcome, f"t{ticket_id}"))
            for at, kind, ctr, clk, data in story:
                event_id += 1
                events.append((at, iso, kind, ticket_id, ctr, clk, queue,
                               json.dumps(data, ensure_ascii=False)))
        day += timedelta(days=1)
    with hall.store.write() as conn:
        conn.executemany(
            "INSERT INTO tickets (id, day, issued_queue, seq, number, queue_code,"
            " procedure_code, status, issued_at, order_at, called_at, finished_at,"
            " counter_number, clerk_id, outcome, token) VALUES"
            " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", tickets)
        conn.executemany(
            "INSERT INTO events (at, day, kind, ticket_id, counter_number, clerk_id,"
            " queue_code, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", events)
    return len(tickets), len(events), first.isoformat(), (day - timedelta(days=1)).isoformat()


RAW_SQL = {
    "counts": (
        "SELECT p.field_id, count(*), sum(t.status = 'done'), sum(t.status = 'no_show'),"
        " sum(t.status = 'cancelled'), sum(t.transfers > 0) FROM tickets t"
        " JOIN procedures p ON p.code = t.procedure_code WHERE t.day BETWEEN ? AND ?"
        " GROUP BY p.field_id"),
    "waits p50/p90": (
        "WITH w AS (SELECT e.ticket_id, min(e.at) - t.issued_at AS wait, p.field_id AS f"
        " FROM events e JOIN tickets t ON t.id = e.ticket_id JOIN procedures p"
        " ON p.code = t.procedure_code WHERE e.kind = 'called' AND e.day BETWEEN ? AND ?"
        " GROUP BY e.ticket_id), r AS (SELECT f, wait, row_number() OVER"
        " (PARTITION BY f ORDER BY wait) AS n, count(*) OVER (PARTITION BY f) AS c FROM w)"
        " SELECT f, avg(wait), min(CASE WHEN n >= c * 0.5 THEN wait END),"
        " min(CASE WHEN n >= c * 0.9 THEN wait END) FROM r GROUP BY f"),
    "heat map": (
        "SELECT strftime('%w', issued_at, 'unixepoch', '+7 hours') AS wd,"
        " strftime('%H', issued_at, 'unixepoch', '+7 hours') AS h, count(*) FROM tickets"
        " WHERE day BETWEEN ? AND ? GROUP BY wd, h"),
    "dossiers, ratings": (
        "SELECT sum(json_array_length(data, '$.dossiers')), sum(kind = 'rated')"
        " FROM events WHERE kind IN ('finished', 'rated') AND day BETWEEN ? AND ?"),
}


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench reports", description=TITLE)
    parser.add_argument("--days", type=int, default=250)
    parser.add_argument("--per-day", type=int, default=600)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)

    from hall import Hall, Rules
    from server import create_app
    from settings import Settings

    with tempfile.TemporaryDirectory(prefix="goiso-bench-reports-") as folder:
        data = Path(folder)
        hall = Hall.open(data / "goiso.db", Rules(timezone=TZ))
        _catalogue(hall)
        started = time.perf_counter()
        tickets, events, first, last = generate(hall, args.days, args.per_day)
        written = time.perf_counter() - started
        started = time.perf_counter()
        hall.reports.rebuild()
        rebuilt = time.perf_counter() - started
        hall.close()
        size = (data / "goiso.db").stat().st_size
        wal = data / "goiso.db-wal"
        print(f"generated {tickets:,} tickets and {events:,} events over {args.days} days in"
              f" {written:.1f} s; rollups rebuilt from the log in {rebuilt:.1f} s")

        app = create_app(Settings(data_dir=data), testing=True)
        client = app.test_client()
        token = client.get("/api/v1/session").get_json()["csrf_token"]
        response = client.post("/api/v1/session", json={"login": "giamsat", "pin": "246810"},
                               headers={"X-CSRFToken": token})
        assert response.status_code == 201, response.text
        month_first = (date.fromisoformat(last) - timedelta(days=30)).isoformat()
        ranges = {"year": (first, last), "month": (month_first, last)}
        hall = app.extensions["goiso"].hall
        print(f"{'what':34} {'year ms':>9} {'month ms':>9}")
        rows = []

        def get(url):
            reply = client.get(url)
            assert reply.status_code == 200, reply.text[:300]
            return reply

        for label, url in (
                ("page /admin/reports (by field)", "/admin/reports?from={}&to={}&by=field"),
                ("api summary json (by procedure)",
                 "/api/v1/reports/summary?from={}&to={}&by=procedure&format=json"),
                ("api summary csv", "/api/v1/reports/summary?from={}&to={}&by=procedure"
                                    "&format=csv"),
                ("api summary xlsx", "/api/v1/reports/summary?from={}&to={}&by=procedure"
                                     "&format=xlsx")):
            cells = []
            for span in ("year", "month"):
                target = url.format(*ranges[span])
                if label.startswith("page"):
                    started = time.perf_counter()
                    get(target)
                    rows.append(("  first page, charts drawn", span,
                                 (time.perf_counter() - started) * 1000))
                cells.append(_median_ms(lambda target=target: get(target), args.repeat))
            print(f"{label:34} {cells[0]:9.1f} {cells[1]:9.1f}")
        for label, span, ms in rows:
            print(f"{label:34} {ms:9.1f} ({span})")
        raw_total = [0.0, 0.0]
        for label, sql in RAW_SQL.items():
            cells = []
            for i, span in enumerate(("year", "month")):
                def run(sql=sql, span=span):
                    with hall.store.read() as conn:
                        conn.execute(sql, ranges[span]).fetchall()
                cells.append(_median_ms(run, max(3, args.repeat // 2)))
                raw_total[i] += cells[-1]
            print(f"{'raw SQL: ' + label:34} {cells[0]:9.1f} {cells[1]:9.1f}")
        print(f"{'raw SQL: the four together':34} {raw_total[0]:9.1f} {raw_total[1]:9.1f}")
        core = [_median_ms(lambda span=span: hall.reports.summary(*ranges[span], "field"),
                           args.repeat) for span in ("year", "month")]
        print(f"{'core summary (figures only)':34} {core[0]:9.1f} {core[1]:9.1f}")
        app.extensions["goiso"].hall.close()
        wal_size = wal.stat().st_size if wal.exists() else 0
        print(f"database: {size / 1e6:.1f} MB (+ WAL {wal_size / 1e6:.1f} MB)")
    return 0
