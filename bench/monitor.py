"""The supervisor's monitor on a busy hall: 30 counters, 500 waiting tickets.

A fresh hall file (6 queues, 30 counters each serving two queues, 30 seated clerks, 400
tickets served today and 30 being served, 500 waiting, 8 printers and 30 keypads
reporting, a few of them down and some tickets not printed) is read ``--runs`` (300) times:

* ``raw SQL``: the monitor's queries alone (the same statements, rows fetched, nothing built);
* ``core``: ``hall.monitor.now()`` (one read transaction, the whole picture as dicts);
* ``GET /api/v1/monitor``: through Flask's test client signed in as a supervisor (the service
  adds the kiosk printers, then JSON encoding).

Target (issue 11): the monitor's JSON ≤ 20 ms (p99 here).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from hall.events import EventKind
from server import create_app
from settings import Settings

from . import percentile, table

TITLE = "Monitor: GET /api/v1/monitor, core read, raw SQL (30 counters, 500 waiting)"
TARGET_MS = 20.0
QUEUES = 6
COUNTERS = 30
WAITING = 500
SERVED = 400
PIN = "246810"


def build(app) -> None:
    """The busy hall, through the core."""
    hall = app.extensions["goiso"].hall
    put = hall.catalogue
    codes = [f"Q{i}" for i in range(QUEUES)]
    for i, code in enumerate(codes):
        put.put_queue(code, name=f"Hàng {i}", number_format="prefix", prefix=chr(65 + i))
        put.put_procedure(f"P-{i}", name=f"Thủ tục {i}", field="Lĩnh vực", queue=code)
    for number in range(1, COUNTERS + 1):
        put.put_counter(number, name=f"Quầy {number}",
                        queues=[codes[number % QUEUES], codes[(number + 1) % QUEUES]])
        clerk = hall.accounts.put_clerk(f"c{number}", name=f"Cán bộ {number}", pin=PIN)
        hall.accounts.sign_in(number, clerk["id"])
    hall.accounts.put_clerk("boss", name="Giám sát", pin=PIN, role="supervisor")
    for i in range(SERVED + COUNTERS):
        hall.issuing.issue(f"P-{i % QUEUES}")
    for i in range(SERVED + COUNTERS):  # 400 served, then every counter serves one more
        hall.calling.call_next(1 + i % COUNTERS)
    for i in range(WAITING):
        ticket = hall.issuing.issue(f"P-{i % QUEUES}", kiosk=None)
        if i % 50 == 0:
            hall.printing.mark_printed(ticket["token"], False, "kẹt giấy", printer="K1")
    for k in range(8):
        hall.devices.report(f"printer:K{k}", kind="printer", place=f"K{k}",
                            state="paper_out" if k == 0 else "ready", ready=k != 0)
    for number in range(1, COUNTERS + 1):
        hall.devices.report(f"{number}:keypad", kind="keypad", place=str(number),
                            state="disconnected" if number == 7 else "connected",
                            ready=number != 7)


def raw_queries(hall) -> None:
    """The monitor's statements, rows fetched and dropped: the floor of the core read."""
    with hall.tx.reading() as r:
        now, day = r.now, r.day
        r.all("SELECT counter_number, count(*) FROM tickets WHERE day = ? AND status = 'done'"
              " GROUP BY counter_number", (day,))
        r.all("SELECT counter_number, queue_code FROM counter_queues"
              " ORDER BY counter_number, position, queue_code")
        r.all("SELECT c.number, c.name, c.status, c.active, c.clerk_id, k.name, t.number,"
              " t.queue_code, t.called_at, t.status FROM counters c LEFT JOIN clerks k"
              " ON k.id = c.clerk_id LEFT JOIN tickets t ON t.id = c.current_ticket_id"
              " ORDER BY c.number")
        r.all("SELECT queue_code, count(*), count(priority), min(issued_at), sum(issued_at <= ?),"
              " sum(issued_at <= ?) FROM tickets WHERE day = ? AND status = 'waiting'"
              " GROUP BY queue_code", (now - 900, now - 900, day))
        r.all("SELECT queue_code, count(*), count(DISTINCT counter_number), min(called_at)"
              " FROM tickets WHERE day = ? AND status = 'done' AND finished_at >= ?"
              " GROUP BY queue_code", (day, now - 3600))
        r.all("SELECT code, name, service_minutes FROM queues WHERE active ORDER BY position, code")
        r.all("SELECT json_extract(data, '$.printer'), max(at), json_extract(data, '$.detail')"
              " FROM events WHERE day = ? AND kind = ? GROUP BY 1", (day, EventKind.PRINT_FAILED))
        r.all("SELECT * FROM devices ORDER BY kind, id")
        r.all("SELECT number, queue_code, kiosk_id, status, issued_at, print_error FROM tickets"
              " WHERE day = ? AND printed = 0 AND status IN ('waiting', 'called')"
              " ORDER BY issued_at, id", (day,))
        r.value("SELECT coalesce(max(id), 0) FROM events")


def timed(fn, runs: int) -> list[float]:
    fn()  # warm the caches once
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench monitor", description=__doc__)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="goiso-bench-monitor-") as folder:
        app = create_app(Settings(data_dir=Path(folder)), testing=True)
        runtime = app.extensions["goiso"]
        started = time.perf_counter()
        build(app)
        hall = runtime.hall
        seen = hall.monitor.now()
        print(f"hall built in {time.perf_counter() - started:.1f} s: "
              f"{len(seen['counters'])} counters, "
              f"{sum(q['waiting'] for q in seen['queues'])} waiting, "
              f"{sum(c['served_today'] for c in seen['counters'])} served today, "
              f"{len(seen['devices'])} devices, {len(seen['alerts'])} alerts, "
              f"{len(seen['unprinted'])} unprinted; database "
              f"{Path(runtime.settings.database_path).stat().st_size / 1024:.0f} KiB")
        client = app.test_client()
        token = client.get("/api/v1/session").get_json()["csrf_token"]
        signed = client.post("/api/v1/session", json={"login": "boss", "pin": PIN},
                             headers={"X-CSRFToken": token})
        assert signed.status_code == 201, signed.get_data(as_text=True)

        def http():
            response = client.get("/api/v1/monitor")
            assert response.status_code == 200

        rows = []
        for name, fn in (("raw SQL (the monitor's queries)", lambda: raw_queries(hall)),
                         ("core hall.monitor.now()", hall.monitor.now),
                         ("GET /api/v1/monitor (test client)", http)):
            latencies = timed(fn, args.runs)
            rows.append([name, args.runs, percentile(latencies, 50) * 1000,
                         percentile(latencies, 99) * 1000])
        print(table(["read", "runs", "p50 ms", "p99 ms"], rows))
        p99 = rows[-1][3]
        print(f"target: monitor JSON p99 <= {TARGET_MS:.0f} ms: {p99:.2f}, "
              f"{'met' if p99 <= TARGET_MS else 'NOT met'}")
        runtime.close()
    return 0
