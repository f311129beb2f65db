"""What screens show of the hall: the boards' and API's whole-hall state, one counter, and a
counter as its clerk sees it (waiting lists and the day's totals)."""

import json

from . import records
from .events import CALLS, EventKind
from .tickets import view
from .transaction import Reading, Transactions

BOARD_NEXT = 5  # numbers listed as "next" per queue on a board
DESK_NEXT = 8  # … and on a counter's waiting list


def counter_view(reading: Reading, number: int) -> dict:
    """One counter as screens show it: status, queues, clerk, the ticket it serves."""
    desk = records.counter(reading, number)
    current = None
    if desk["current_ticket_id"] is not None:
        current = view(reading, records.ticket(reading, desk["current_ticket_id"]))
        # Screens are public: the holder's token must not leak through them.
        current.pop("token")
    clerk = None
    if desk["clerk_id"] is not None:
        row = reading.one("SELECT id, name FROM clerks WHERE id = ?", (desk["clerk_id"],))
        clerk = {"id": row["id"], "name": row["name"]}
    queues = [r[0] for r in reading.all(
        "SELECT queue_code FROM counter_queues WHERE counter_number = ? ORDER BY position,"
        " queue_code", (number,))]
    return {"number": desk["number"], "name": desk["name"], "status": desk["status"],
            "select_mode": desk["select_mode"], "queues": queues, "clerk": clerk,
            "current": current}


class Screens:
    """Reads the hall for screens."""

    def __init__(self, tx: Transactions):
        self.tx = tx

    def counter(self, number: int) -> dict:
        """One counter now, as screens show it."""
        with self.tx.reading() as reading:
            return counter_view(reading, number)

    def snapshot(self, queues: list[str] | None = None,
                 counters: list[int] | None = None) -> dict:
        """The hall as a screen shows it (limited to some queues or counters), with the id of
        the last event it includes."""
        with self.tx.reading() as reading:
            return _snapshot(reading, queues, counters)

    def desk(self, number: int) -> dict:
        """A counter as its clerk sees it: the counter, its queues' waiting lists (priority and
        unprinted marks), what was sent to it by name, and its totals of the day."""
        with self.tx.reading() as reading:
            return _desk(reading, number)


def _snapshot(reading: Reading, queues, counters) -> dict:
    rules, day = reading.rules, reading.day
    last_event = reading.value("SELECT coalesce(max(id), 0) FROM events")
    queue_list = []
    for q in reading.all("SELECT * FROM queues WHERE active ORDER BY position, code"):
        if queues and q["code"] not in queues:
            continue
        waiting = reading.all(
            "SELECT number, priority, printed FROM tickets WHERE queue_code = ? AND day = ?"
            " AND status = 'waiting' ORDER BY order_at, id", (q["code"], day))
        queue_list.append({
            "code": q["code"], "name": q["name"], "waiting": len(waiting),
            "priority_waiting": sum(1 for w in waiting if w["priority"]),
            "next": [w["number"] for w in waiting[:BOARD_NEXT]],
            # Waiting tickets nobody holds on paper (printing failed): staff must see them.
            "unprinted": [w["number"] for w in waiting if w["printed"] == 0],
            "issued": reading.value("SELECT count(*) FROM tickets WHERE issued_queue = ?"
                                    " AND day = ?", (q["code"], day)),
        })
    desks = [counter_view(reading, r[0])
             for r in reading.all("SELECT number FROM counters WHERE active ORDER BY number")
             if not counters or r[0] in counters]
    if queues and not counters:
        # A screen of some queues shows the counters serving them, and a counter's ticket only
        # when it is of those queues: another queue's call is not its to show.
        shown, kept = set(queues), []
        for desk in desks:
            current = desk["current"]
            if current and current["queue"]["code"] not in shown:
                current = None
            if current or shown & set(desk["queues"]):
                kept.append({**desk, "current": current})
        desks = kept
    recent = []
    marks = ",".join("?" * len(CALLS))
    for e in reading.all(f"SELECT * FROM events WHERE day = ? AND kind IN ({marks})"
                         " ORDER BY id DESC LIMIT ?", (day, *CALLS, rules.recent_calls * 4)):
        data = json.loads(e["data"])
        if (queues and e["queue_code"] not in queues) or (
                counters and e["counter_number"] not in counters):
            continue
        recent.append({"event": e["id"], "kind": e["kind"],
                       "number": data.get("number"), "queue": e["queue_code"],
                       "counter": e["counter_number"], "counter_name": data.get("counter_name"),
                       "at": rules.iso(e["at"])})
        if len(recent) == rules.recent_calls:
            break
    return {"day": day, "at": rules.iso(reading.now), "last_event_id": last_event,
            "queues": queue_list, "counters": desks, "recent_calls": recent}


def _desk(reading: Reading, number: int) -> dict:
    now, day = reading.now, reading.day
    found = counter_view(reading, number)
    lanes = []
    for code in found["queues"]:
        queue = records.queue(reading, code)
        waiting = reading.all(
            "SELECT number, priority, printed, order_at, target_counter FROM tickets"
            " WHERE queue_code = ? AND day = ? AND status = 'waiting'"
            " AND (target_counter IS NULL OR target_counter = ?)"
            " ORDER BY priority IS NULL, order_at, id", (code, day, number))
        lanes.append({
            "code": queue["code"], "name": queue["name"], "waiting": len(waiting),
            "priority_waiting": sum(1 for w in waiting if w["priority"]),
            "next": [{"number": w["number"], "priority": w["priority"],
                      "unprinted": w["printed"] == 0,
                      "sent_here": w["target_counter"] is not None,
                      "waited_minutes": int((now - w["order_at"]) // 60)}
                     for w in waiting[:DESK_NEXT]]})
    sent = reading.all(
        "SELECT number, queue_code, priority, printed FROM tickets WHERE day = ?"
        " AND status = 'waiting' AND target_counter = ? ORDER BY order_at, id", (day, number))
    totals = reading.one(
        "SELECT count(*) FILTER (WHERE status = 'done'),"
        " count(*) FILTER (WHERE status = 'no_show'),"
        " avg(max(0, finished_at - called_at)) FILTER (WHERE status = 'done'),"
        " avg(max(0, called_at - order_at)) FILTER (WHERE called_at IS NOT NULL)"
        " FROM tickets WHERE day = ? AND counter_number = ?", (day, number))
    transferred = reading.value(
        "SELECT count(*) FROM events WHERE day = ? AND kind = ? AND counter_number = ?",
        (day, EventKind.TRANSFERRED, number))
    current = found["current"]
    if current is not None:
        row = reading.one("SELECT called_at, order_at FROM tickets WHERE id = ?",
                          (current["id"],))
        current["waited_seconds"] = round(row["called_at"] - row["order_at"])
        current["serving_seconds"] = round(now - row["called_at"])
    found.update({
        "day": day, "at": reading.rules.iso(now), "lanes": lanes,
        "last_event_id": reading.value("SELECT coalesce(max(id), 0) FROM events"),
        "sent_here": [{"number": r["number"], "queue": r["queue_code"],
                       "priority": r["priority"], "unprinted": r["printed"] == 0}
                      for r in sent],
        "totals": {"served": totals[0], "no_show": totals[1], "transferred": transferred,
                   "mean_service_seconds": None if totals[2] is None else round(totals[2]),
                   "mean_wait_seconds": None if totals[3] is None else round(totals[3])},
    })
    return found
