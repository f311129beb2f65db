"""Daily rollups of the event log for reports: one compact row per ticket (``report_tickets``)
derived from that ticket's events only, built for closed business days, rebuilt when a closed
day's tickets get new events (a late rating, the roll-over's expiry), kept when ticket rows are
purged. Today's tickets are derived live from the log at every read.

One row per ticket (not sums per day) keeps percentiles exact: a report sorts the real wait and
service seconds of its range.
"""

import json
from dataclasses import dataclass, fields
from datetime import date

from .events import EventKind
from .transaction import Change, Reading

K = EventKind
# What ends a ticket's way, last one wins (a no-show may be reactivated, then served).
CLOSINGS = {K.FINISHED: "served", K.NO_SHOW: "no_show", K.CANCELLED: "cancelled",
            K.EXPIRED: "expired", K.REACTIVATED: None}
EVENTS_OF_TICKETS_OF_DAYS = (
    "SELECT e.id, e.at, e.day, e.kind, e.ticket_id, e.counter_number, e.clerk_id, e.queue_code,"
    " e.data FROM events e JOIN tickets t ON t.id = e.ticket_id WHERE t.day BETWEEN ? AND ?"
    " ORDER BY e.ticket_id, e.id")


@dataclass
class Fact:
    """What the log says of one ticket, as reports count it."""

    ticket_id: int
    day: str
    hour: int
    weekday: int  # 0 = Monday, of the business day
    procedure_code: str | None
    queue_code: str
    counter_number: int | None = None
    clerk_id: int | None = None
    served: int = 0
    no_show: int = 0
    cancelled: int = 0
    transferred: int = 0
    dossiers: int = 0
    wait_s: float | None = None
    service_s: float | None = None
    rating: int | None = None
    rating_levels: int | None = None

    def row(self) -> tuple:
        """The fact as a row of ``report_tickets``."""
        return tuple(getattr(self, name) for name in COLUMNS)


# The columns of ``report_tickets``, in the order of ``Fact``.
COLUMNS = tuple(f.name for f in fields(Fact))


def fact_of(events: list, local) -> Fact | None:
    """The fact of one ticket from its events (oldest first); None without its ``issued``.

    ``local(ts)`` gives the hall's wall-clock datetime (the hour of arrival).
    """
    issued = next((e for e in events if e["kind"] == K.ISSUED), None)
    if issued is None:
        return None
    data = json.loads(issued["data"])
    fact = Fact(issued["ticket_id"], issued["day"], local(issued["at"]).hour,
                date.fromisoformat(issued["day"]).weekday(), data.get("procedure"),
                issued["queue_code"])
    called_at, closing = None, None
    for event in events:
        kind = event["kind"]
        if kind == K.CALLED:
            if fact.wait_s is None:
                fact.wait_s = round(event["at"] - issued["at"], 3)
            called_at = event["at"]
            fact.counter_number, fact.clerk_id = event["counter_number"], event["clerk_id"]
        elif kind == K.TRANSFERRED:
            fact.transferred = 1
        elif kind == K.RATED:
            rated = json.loads(event["data"])
            fact.rating, fact.rating_levels = rated["level"], rated["levels"]
        if kind in CLOSINGS:
            closing = CLOSINGS[kind]
        if kind == K.FINISHED:
            fact.dossiers += len(json.loads(event["data"]).get("dossiers") or ())
            if called_at is not None:
                fact.service_s = round(event["at"] - called_at, 3)
    fact.served = int(closing == "served")
    fact.no_show = int(closing == "no_show")
    fact.cancelled = int(closing == "cancelled")
    return fact


def derive(reading: Reading, first_day: str, last_day: str) -> list[Fact]:
    """The facts of the tickets of days ``first_day`` to ``last_day`` straight from the log."""
    facts, ticket, events = [], None, []
    local = reading.rules.local
    for event in reading.conn.execute(EVENTS_OF_TICKETS_OF_DAYS, (first_day, last_day)):
        if event["ticket_id"] != ticket and events:
            if (fact := fact_of(events, local)) is not None:
                facts.append(fact)
            events = []
        ticket = event["ticket_id"]
        events.append(event)
    if events and (fact := fact_of(events, local)) is not None:
        facts.append(fact)
    return facts


def build_days(change: Change, days: list[str]) -> int:
    """(Re)build the rollups of ``days`` from the log; days whose tickets were purged keep
    theirs. Returns the number of tickets written."""
    written = 0
    for day in days:
        if not change.one("SELECT 1 FROM tickets WHERE day = ? LIMIT 1", (day,)):
            continue
        facts = derive(change, day, day)
        change.run("DELETE FROM report_tickets WHERE day = ?", (day,))
        change.conn.executemany(
            f"INSERT INTO report_tickets ({', '.join(COLUMNS)})"
            f" VALUES ({', '.join('?' * len(COLUMNS))})", [f.row() for f in facts])
        change.run("INSERT OR REPLACE INTO report_days (day, built_at, tickets) VALUES (?, ?, ?)",
                   (day, change.now, len(facts)))
        written += len(facts)
    return written


def _state(reading: Reading) -> tuple[int, str]:
    row = reading.one("SELECT last_event_id, open_day FROM report_state WHERE id = 1")
    return (row[0], row[1]) if row else (0, "")


def stale_days(reading: Reading) -> list[str]:
    """Closed business days whose rollups are missing or older than their tickets' events."""
    last_id, open_day = _state(reading)
    touched = {r[0] for r in reading.all(
        "SELECT DISTINCT t.day FROM events e JOIN tickets t ON t.id = e.ticket_id"
        " WHERE e.id > ? AND t.day < ?", (last_id, reading.day))}
    closed = {r[0] for r in reading.all(
        "SELECT DISTINCT day FROM tickets WHERE day >= ? AND day < ?", (open_day, reading.day))}
    return sorted(touched | closed)


def refresh(change: Change) -> list[str]:
    """Bring the rollups of closed days in step with the log; returns the days rebuilt."""
    days = stale_days(change)
    build_days(change, days)
    change.run("INSERT OR REPLACE INTO report_state (id, last_event_id, open_day)"
               " VALUES (1, (SELECT coalesce(max(id), 0) FROM events), ?)", (change.day,))
    return days


def rebuild(change: Change) -> int:
    """Rebuild every closed day that still has its tickets from the log (``goiso
    rebuild-reports``); returns the number of tickets written."""
    days = [r[0] for r in change.all("SELECT DISTINCT day FROM tickets WHERE day < ?",
                                     (change.day,))]
    written = build_days(change, days)
    change.run("INSERT OR REPLACE INTO report_state (id, last_event_id, open_day)"
               " VALUES (1, (SELECT coalesce(max(id), 0) FROM events), ?)", (change.day,))
    return written
