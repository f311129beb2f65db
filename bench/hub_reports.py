"""The province dashboard and reports over a province month and a province year, beside the
same kind of report straight from the raw events.

A throwaway PostgreSQL cluster (``hub.cluster.LocalCluster``) gets a province month generated
in the database itself (``generate_series``, no Python per row): ``--halls`` × ``--days``
business days × ``--tickets`` tickets, each with its events (issued, printed, called, then
finished and often rated, or a no-show, or a cancel: ≈ 4.4 events a ticket, so 680 tickets ≈
3,000 events a hall-day) and its fact. The rollups are then built by the hub's own code
(``hub.facts.rebuild_days``, timed). The year is the month's rollups copied ``--months - 1``
times, whole weeks apart (same weekdays): the reports read rollups only, so a year's queries
meet a year's rows; its raw events are not generated (the raw comparison is on the month).

Timed (median of ``--repeat``): the dashboard's hall list, ``hub.reports.summary`` by hall,
field, procedure, day and hour over the month and the year, for the province and for one
hall; and, once, a per-hall-per-day wait report (count, mean, p90) from raw ``events``.

Targets (issue 15): any dashboard or report query ≤ 100 ms over a province month, ≤ 500 ms
over a province year.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

TITLE = "province dashboard and reports over a month and a year (rollups vs raw events)"
FIRST_DAY = date(2026, 3, 2)  # a Monday
PROCEDURES = 30
FIELDS = 6
QUEUES = 6
WAITING_LEFT = 12  # tickets of the last day still waiting in each hall


def business_days(count: int) -> list[date]:
    days, day = [], FIRST_DAY
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


GENERATE = """
CREATE UNLOGGED TABLE gen AS
SELECT h AS hall_id, d.day, d.n * 1000 + t AS ticket,
       (d.day + time '00:30') AT TIME ZONE 'UTC'
           + make_interval(secs => t * 42 + (random() * 40)::int) AS issued_at,
       (random() * random() * 2400)::int * 1000 + (random() * 999)::int AS wait_ms,
       60000 + (random() * 600000)::int AS service_ms,
       1 + (random() * (%(procedures)s - 1))::int AS p,
       1 + (random() * 11)::int AS counter,
       CASE WHEN d.n = %(last)s AND t > %(tickets)s - %(waiting)s THEN 'waiting'
            WHEN random() < 0.88 THEN 'served' WHEN random() < 0.5 THEN 'no_show'
            ELSE 'cancelled' END AS way,
       CASE WHEN random() < 0.6 THEN 1 + (random() * 2)::int END AS rating,
       (random() * 2)::int AS dossiers
FROM generate_series(1, %(halls)s) h,
     (SELECT day::date, (row_number() OVER (ORDER BY day))::int AS n
      FROM unnest(%(days)s::date[]) day) d,
     generate_series(1, %(tickets)s) t
"""

EVENTS = """
INSERT INTO events (seq, at, hall_id, day, ticket, clerk, procedure, kind, counter, queue,
                    number, data)
SELECT g.ticket * 8 + e.k, g.issued_at + e.after, g.hall_id, g.day, g.ticket,
       CASE WHEN e.k > 2 THEN g.counter END, pc.id, e.kind,
       CASE WHEN e.k > 2 THEN g.counter END, qc.id, 'A' || (g.ticket %% 1000), e.data
FROM gen g
JOIN codes pc ON pc.code = 'P-' || g.p
JOIN codes qc ON qc.code = 'Q' || (g.p %% %(queues)s)
CROSS JOIN LATERAL (VALUES
    (1, %(issued)s, interval '0', NULL::jsonb, true),
    (2, %(printed)s, interval '1 second', NULL, true),
    (3, %(called)s, make_interval(secs => g.wait_ms / 1000.0), NULL,
        g.way IN ('served', 'no_show')),
    (4, %(finished)s, make_interval(secs => (g.wait_ms + g.service_ms) / 1000.0),
        jsonb_build_object('dossiers', g.dossiers), g.way = 'served'),
    (5, %(rated)s, make_interval(secs => (g.wait_ms + g.service_ms) / 1000.0 + 5),
        jsonb_build_object('level', g.rating, 'levels', 3),
        g.way = 'served' AND g.rating IS NOT NULL),
    (6, %(no_show)s, make_interval(secs => g.wait_ms / 1000.0 + 60), NULL, g.way = 'no_show'),
    (7, %(cancelled)s, make_interval(secs => 300), NULL, g.way = 'cancelled')
) AS e(k, kind, after, data, happens)
WHERE e.happens
"""

FACTS = """
INSERT INTO hub_facts (hall_id, ticket, day, issued_at, hour, procedure, queue, counter, clerk,
                       served, no_show, cancelled, transferred, dossiers, wait_ms, service_ms,
                       rating, rating_levels, waiting_since)
SELECT hall_id, ticket, day, issued_at,
       extract(hour FROM issued_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::int, 'P-' || p,
       'Q' || (p %% %(queues)s),
       CASE WHEN way IN ('served', 'no_show') THEN counter END,
       CASE WHEN way IN ('served', 'no_show') THEN counter END,
       (way = 'served')::int, (way = 'no_show')::int, (way = 'cancelled')::int, 0,
       CASE WHEN way = 'served' THEN dossiers ELSE 0 END,
       CASE WHEN way IN ('served', 'no_show') THEN wait_ms END,
       CASE WHEN way = 'served' THEN service_ms END,
       CASE WHEN way = 'served' THEN rating END,
       CASE WHEN way = 'served' AND rating IS NOT NULL THEN 3 END,
       CASE WHEN way = 'waiting' THEN issued_at END
FROM gen
"""

RAW_WAITS = """
SELECT i.hall_id, i.day, count(*), avg(c.at - i.at),
       percentile_disc(0.9) WITHIN GROUP (ORDER BY c.at - i.at)
FROM events i JOIN events c ON c.hall_id = i.hall_id AND c.day = i.day AND c.ticket = i.ticket
     AND c.kind = %(called)s
WHERE i.kind = %(issued)s AND i.day BETWEEN %(first)s AND %(last)s
GROUP BY i.hall_id, i.day
"""


def timed(fn, repeat: int) -> tuple[float, object]:
    took, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took), result


def load(conn, args, days: list[date]) -> dict:
    """Generate the month into the database; the seconds each step took."""
    from hub import facts, province
    from hub.halls import add_hall
    from hub.schema import KIND_CODES, ensure_month

    took = {}
    started = time.perf_counter()
    for h in range(1, args.halls + 1):
        add_hall(conn, f"Bộ phận một cửa số {h}")
    codes = [f"P-{p}" for p in range(1, PROCEDURES + 1)] + [f"Q{q}" for q in range(QUEUES)]
    conn.execute("INSERT INTO codes (code) SELECT unnest(%s::text[])", (codes,))
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO hub_procedure_fields (code, field_id, name, field_name)"
                        " VALUES (%s, %s, %s, %s)",
                        [(f"P-{p}", p % FIELDS + 1, f"Thủ tục {p}", f"Lĩnh vực {p % FIELDS + 1}")
                         for p in range(1, PROCEDURES + 1)])
    kinds = {name: KIND_CODES[name] for name in ("issued", "printed", "called", "finished",
                                                 "rated", "no_show", "cancelled")}
    with conn.transaction():
        for month in sorted({d.replace(day=1) for d in days}):
            ensure_month(conn, month)
        conn.execute(GENERATE, {"procedures": PROCEDURES, "last": len(days),
                                "tickets": args.tickets, "waiting": WAITING_LEFT,
                                "halls": args.halls, "days": days})
        conn.execute(EVENTS, {"queues": QUEUES, **kinds})
        conn.execute(FACTS, {"queues": QUEUES})
    conn.execute("ANALYZE")
    took["generate events and facts (SQL)"] = time.perf_counter() - started
    started = time.perf_counter()
    for h in range(1, args.halls + 1):
        with conn.transaction():
            facts.rebuild_days(conn, h, days)
    took["build rollups (hub.facts, Python)"] = time.perf_counter() - started
    started = time.perf_counter()
    shift = 7 * ((days[-1] - days[0]).days // 7 + 1)  # whole weeks past the month: same weekdays
    conn.execute(f"INSERT INTO hub_rollups SELECT hall_id, day + {shift} * k, dimension, key,"
                 " issued, served, no_show, cancelled, transferred, dossiers, rated, satisfied,"
                 " ratings, waits, services, wait_sum, service_sum, wait_counts,"
                 " service_counts FROM hub_rollups, generate_series(1, %s) k",
                 (args.months - 1,))
    conn.execute("INSERT INTO hub_rollups_stale (hall_id, day) SELECT DISTINCT hall_id, day"
                 " FROM hub_rollups ON CONFLICT DO NOTHING")
    conn.execute("ANALYZE hub_rollups")
    took[f"copy the rollups to {args.months} months"] = time.perf_counter() - started
    started = time.perf_counter()
    built = province.build_stale(conn, quiet_seconds=0)
    conn.execute("ANALYZE")
    took[f"build the province's rows of {built} days (hub.province)"] = \
        time.perf_counter() - started
    return took


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench hub_reports", description=TITLE)
    parser.add_argument("--halls", type=int, default=100)
    parser.add_argument("--days", type=int, default=22)
    parser.add_argument("--tickets", type=int, default=680, help="a hall's tickets a day")
    parser.add_argument("--months", type=int, default=12, help="months of rollups (a year)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    import psycopg

    from hub import dashboard, reports
    from hub.cluster import LocalCluster
    from hub.schema import KIND_CODES, migrate

    folder = tempfile.mkdtemp(prefix="goiso-bench-hub-")
    cluster = LocalCluster(folder).start()
    try:
        dsn = cluster.create_database("bench")
        with psycopg.connect(dsn, autocommit=True) as conn:
            migrate(conn)
            days = business_days(args.days)
            took = load(conn, args, days)
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM hub_facts),"
                " (SELECT count(*) FROM hub_rollups WHERE day <= %s),"
                " (SELECT count(*) FROM hub_rollups),"
                " pg_total_relation_size('events_2026_03'),"
                " pg_total_relation_size('hub_rollups'),"
                " pg_total_relation_size('hub_rollups_province')", (days[-1],)).fetchone()
            print(f"{args.halls} halls × {args.days} days × {args.tickets} tickets: "
                  f"{counts[0]:,} events, {counts[1]:,} facts, {counts[2]:,} rollup rows a month,"
                  f" {counts[3]:,} over {args.months} months")
            print(f"storage: events {counts[4] / counts[0]:.0f} bytes/event with indexes;"
                  f" rollups {counts[5] / 2**20:.0f} MB (halls) + {counts[6] / 2**20:.0f} MB"
                  f" (province) for {args.months} months")
            for step, seconds in took.items():
                print(f"  load: {step}: {seconds:.1f} s", flush=True)
            first, last = days[0].isoformat(), days[-1].isoformat()
            shift = 7 * ((days[-1] - days[0]).days // 7 + 1)
            year_last = (days[-1] + timedelta(days=shift * (args.months - 1))).isoformat()
            now = datetime.combine(days[-1], datetime.min.time(), UTC) + timedelta(hours=4)
            rows = []
            ms, found = timed(lambda: dashboard.halls(conn, now), args.repeat)
            rows.append(("dashboard: every hall's line", ms, f"{len(found)} halls"))
            for label, end in (("month", last), ("year", year_last)):
                for by in reports.GROUPS:
                    ms, found = timed(lambda by=by, end=end: reports.summary(
                        conn, first, end, by), args.repeat)
                    note = f"{len(found['rows'])} rows, {found['total']['issued']:,} tickets"
                    rows.append((f"{label}: province by {by}", ms, note))
                ms, found = timed(lambda end=end: reports.summary(conn, first, end, "procedure",
                                                                   [1]), args.repeat)
                rows.append((f"{label}: one hall by procedure", ms,
                             f"{found['total']['issued']:,} tickets"))
            # The day still open (today): every hall's rows of it marked stale, as pushes
            # leave them until the halls are quiet; those days are read from the halls' rows.
            conn.execute("INSERT INTO hub_rollups_stale (hall_id, day) SELECT id, %s FROM halls",
                         (days[-1],))
            for by in ("hall", "procedure", "hour"):
                ms, found = timed(lambda by=by: reports.summary(conn, first, last, by),
                                  args.repeat)
                rows.append((f"month, its last day open: province by {by}", ms,
                             f"{len(found['rows'])} rows"))
            ms, found = timed(lambda: reports.summary(conn, first, year_last, "procedure"),
                              args.repeat)
            rows.append(("year, its last day open: province by procedure", ms,
                         f"{len(found['rows'])} rows"))
            conn.execute("DELETE FROM hub_rollups_stale")
            conn.execute("INSERT INTO hub_rollups_stale (hall_id, day) SELECT DISTINCT hall_id,"
                         " day FROM hub_rollups WHERE day <= %s", (days[-1],))
            ms, found = timed(lambda: reports.summary(conn, first, last, "procedure"),
                              args.repeat)
            rows.append(("month, every day stale: province by procedure (halls' rows)", ms,
                         f"{len(found['rows'])} rows"))
            conn.execute("DELETE FROM hub_rollups_stale")
            ms, found = timed(lambda: conn.execute(RAW_WAITS, {
                "called": KIND_CODES["called"], "issued": KIND_CODES["issued"],
                "first": days[0], "last": days[-1]}).fetchall(), 1)
            rows.append(("month: per hall per day waits from raw events", ms,
                         f"{len(found)} rows"))
            ms, found = timed(lambda: reports.summary(conn, first, last, "day"), args.repeat)
            rows.append(("month: the same from rollups (by day, every figure)", ms,
                         f"{len(found['rows'])} rows"))
            print(f"\n{'query':58} {'median ms':>10}  result")
            for name, ms, note in rows:
                print(f"{name:58} {ms:10.1f}  {note}")
    finally:
        cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
    return 0
