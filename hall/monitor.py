"""The hall at a glance for a supervisor: every counter, every queue with its longest wait and
the time to clear it at the current pace, the devices, the tickets nobody holds on paper, and
the alerts (a ticket waiting past the alert threshold, a device down for too long).

One read transaction of a few grouped queries (not one query per counter or per ticket), so
the monitor stays cheap with 30 counters and hundreds of waiting tickets.
"""

from . import estimate, limits, numbering
from .events import EventKind
from .tickets import OPEN_STATUSES
from .transaction import Reading, Transactions

# The pace of a queue is measured over the services finished in this last stretch of time.
PACE_WINDOW_S = 3600
# A pace measured over less than this is too noisy: the stretch counts as this long.
PACE_MIN_SPAN_S = 600
# How many waiting numbers an alert names (the oldest first).
ALERT_NUMBERS = 5
PAPER = {"paper_low": "low", "paper_out": "out", "ready": "ok"}


def _seconds(now: float, since: float | None) -> int | None:
    return None if since is None else max(0, round(now - since))


def _counters(reading: Reading) -> list[dict]:
    now, day = reading.now, reading.day
    served = dict(reading.all(
        "SELECT counter_number, count(*) FROM tickets WHERE day = ? AND status = 'done'"
        " GROUP BY counter_number", (day,)))
    queues: dict[int, list[str]] = {}
    for number, code in reading.all(
            "SELECT counter_number, queue_code FROM counter_queues"
            " ORDER BY counter_number, position, queue_code"):
        queues.setdefault(number, []).append(code)
    out = []
    for row in reading.all(
            "SELECT c.number, c.name, c.status, c.active, c.clerk_id, k.name AS clerk_name,"
            " t.number AS ticket, t.queue_code, t.called_at, t.status AS ticket_status"
            " FROM counters c LEFT JOIN clerks k ON k.id = c.clerk_id"
            " LEFT JOIN tickets t ON t.id = c.current_ticket_id ORDER BY c.number"):
        current = None
        if row["ticket"] is not None and row["ticket_status"] == "called":
            current = {"number": row["ticket"], "queue": row["queue_code"],
                       "called_at": reading.rules.iso(row["called_at"]),
                       "service_s": _seconds(now, row["called_at"])}
        out.append({
            "number": row["number"], "name": row["name"], "status": row["status"],
            "active": bool(row["active"]), "queues": queues.get(row["number"], []),
            "clerk": None if row["clerk_id"] is None else {"id": row["clerk_id"],
                                                           "name": row["clerk_name"]},
            "current": current, "served_today": served.get(row["number"], 0)})
    return out


def _queues(reading: Reading, counters: list[dict]) -> list[dict]:
    now, day, rules = reading.now, reading.day, reading.rules
    alert_at = now - rules.alert_wait_minutes * 60
    target_at = now - rules.target_wait_minutes * 60
    waiting = {r["queue_code"]: r for r in reading.all(
        "SELECT queue_code, count(*) AS n, count(priority) AS priority, min(issued_at) AS oldest,"
        " sum(issued_at <= ?) AS over_target, sum(issued_at <= ?) AS over_alert"
        " FROM tickets WHERE day = ? AND status = 'waiting' GROUP BY queue_code",
        (target_at, alert_at, day))}
    window_start = now - PACE_WINDOW_S
    recent = {r["queue_code"]: r for r in reading.all(
        "SELECT queue_code, count(*) AS n, count(DISTINCT counter_number) AS desks,"
        " min(called_at) AS first FROM tickets WHERE day = ? AND status = 'done'"
        " AND finished_at >= ? GROUP BY queue_code", (day, window_start))}
    open_desks: dict[str, int] = {}
    for desk in counters:
        if desk["status"] == "open" and desk["active"]:
            for code in desk["queues"]:
                open_desks[code] = open_desks.get(code, 0) + 1
    out = []
    used = limits.used_numbers(reading)
    for q in reading.all("SELECT * FROM queues WHERE active ORDER BY position, code"):
        code = q["code"]
        day_limit = numbering.day_limit(reading, q)
        w = waiting.get(code)
        count = w["n"] if w else 0
        desks = open_desks.get(code, 0)
        pace = _pace(recent.get(code), q["service_minutes"], window_start, now)
        per_hour = pace[0] * desks
        out.append({
            "code": code, "name": q["name"], "waiting": count,
            "priority_waiting": w["priority"] if w else 0,
            "longest_wait_s": _seconds(now, w["oldest"]) if w else 0,
            "over_target": w["over_target"] if w else 0,
            "over_alert": w["over_alert"] if w else 0,
            "counters_open": desks,
            "served_per_hour": round(per_hour, 1),
            "pace_from": pace[1],
            # None: tickets wait and no open counter serves the queue, so it never clears.
            "clear_s": 0 if count == 0 else (round(count / per_hour * 3600) if per_hour
                                              else None),
            # The day's numbers: given so far, and the most it may give (None: unbounded).
            "numbers_used": used.get(code, 0),
            "numbers_limit": day_limit,
            # Only a queue's own daily limit can be raised, up to what its format labels.
            "numbers_extendable": bool(q["daily_limit"]) and (
                numbering.capacity(q["number_format"]) or 0) != day_limit,
            # What a citizen taking a ticket now is told (the words of templates/wait.html).
            "new_ticket": {"status": "waiting",
                           **estimate.new_ticket(reading, q).as_view()},
        })
    return out


def _pace(recent, service_minutes: float, window_start: float, now: float
          ) -> tuple[float, str]:
    """Services per hour one open counter gives this queue: measured on the last hour's
    finished services when there are some ("recent"), else from the queue's planned service
    time ("planned")."""
    if recent is None or not recent["n"]:
        return 60 / service_minutes, "planned"
    span = now - max(window_start, recent["first"] or window_start)
    span = max(span, PACE_MIN_SPAN_S)
    return recent["n"] / max(1, recent["desks"]) * 3600 / span, "recent"


def _devices(reading: Reading) -> list[dict]:
    now = reading.now
    failures = {r["printer"]: r for r in reading.all(
        "SELECT json_extract(data, '$.printer') AS printer, max(at) AS at,"
        " json_extract(data, '$.detail') AS detail FROM events"
        " WHERE day = ? AND kind = ? GROUP BY printer", (reading.day, EventKind.PRINT_FAILED))}
    out = []
    for d in reading.all("SELECT * FROM devices ORDER BY kind, id"):
        printer = d["place"] if d["kind"] == "printer" else None
        failed = failures.get(printer) if printer else None
        out.append({
            "id": d["id"], "kind": d["kind"], "place": d["place"], "state": d["state"],
            "online": bool(d["ready"]), "detail": d["detail"],
            "paper": PAPER.get(d["state"]) if d["kind"] == "printer" else None,
            "since": reading.rules.iso(d["changed_at"]),
            "down_s": None if d["ready"] else _seconds(now, d["changed_at"]),
            "last_error": None if failed is None else {
                "at": reading.rules.iso(failed["at"]), "detail": failed["detail"]}})
    return out


def _unprinted(reading: Reading) -> list[dict]:
    return [{"number": r["number"], "queue": r["queue_code"], "kiosk": r["kiosk_id"],
             "status": r["status"], "issued_at": reading.rules.iso(r["issued_at"]),
             "print_error": r["print_error"]}
            for r in reading.all(
                "SELECT number, queue_code, kiosk_id, status, issued_at, print_error"
                f" FROM tickets WHERE day = ? AND printed = 0 AND status IN {OPEN_STATUSES}"
                " ORDER BY issued_at, id", (reading.day,))]


def _alerts(reading: Reading, queues: list[dict], devices: list[dict]) -> list[dict]:
    rules = reading.rules
    alerts = []
    limit = reading.now - rules.alert_wait_minutes * 60
    for q in queues:
        if not q["over_alert"]:
            continue
        numbers = [r[0] for r in reading.all(
            "SELECT number FROM tickets WHERE queue_code = ? AND day = ? AND status = 'waiting'"
            " AND issued_at <= ? ORDER BY issued_at, id LIMIT ?",
            (q["code"], reading.day, limit, ALERT_NUMBERS))]
        alerts.append({"kind": "wait", "queue": q["code"], "name": q["name"],
                       "tickets": q["over_alert"], "numbers": numbers,
                       "longest_wait_s": q["longest_wait_s"],
                       "limit_s": rules.alert_wait_minutes * 60})
    for q in queues:
        limit = q["numbers_limit"]
        if limit and q["numbers_used"] * 100 >= limit * rules.numbers_alert_percent:
            alerts.append({"kind": "numbers", "queue": q["code"], "name": q["name"],
                           "used": q["numbers_used"], "limit": limit,
                           "left": max(0, limit - q["numbers_used"]),
                           "extendable": q["numbers_extendable"]})
    for source in limits.limited_sources(reading):
        alerts.append({"kind": "limited", **source})
    for d in devices:
        if d["down_s"] is not None and d["down_s"] >= rules.alert_device_seconds:
            alerts.append({"kind": "device", "device": d["id"], "device_kind": d["kind"],
                           "place": d["place"], "state": d["state"], "detail": d["detail"],
                           "down_s": d["down_s"], "limit_s": rules.alert_device_seconds})
    return alerts


def watch(reading: Reading) -> dict:
    """The monitor's whole picture at the reading's instant."""
    counters = _counters(reading)
    queues = _queues(reading, counters)
    devices = _devices(reading)
    rules = reading.rules
    return {
        "at": rules.iso(reading.now), "day": reading.day,
        "last_event": reading.value("SELECT coalesce(max(id), 0) FROM events"),
        "target_wait_s": rules.target_wait_minutes * 60,
        "alert_wait_s": rules.alert_wait_minutes * 60,
        "alert_device_s": rules.alert_device_seconds,
        "counters": counters, "queues": queues, "devices": devices,
        "unprinted": _unprinted(reading),
        "alerts": _alerts(reading, queues, devices),
    }


class Monitor:
    """Reads the hall for the supervisor's monitor."""

    def __init__(self, tx: Transactions):
        self.tx = tx

    def now(self) -> dict:
        """Counters, queues, devices, unprinted tickets and alerts, as they are now."""
        with self.tx.reading() as reading:
            return watch(reading)

    def alerts(self) -> list[dict]:
        """Only the alerts (the staff pages' banner)."""
        with self.tx.reading() as reading:
            counters = _counters(reading)
            return _alerts(reading, _queues(reading, counters), _devices(reading))
