"""Daily rollups of the event log for reports: per business day, grouping and key, the counts
and every wait and service time (``report_rollups``), derived from each ticket's events only,
built for closed business days, rebuilt when a closed day's tickets get new events (a late
rating, the roll-over's expiry), kept when ticket rows are purged. Today's tickets are derived
live from the log at every read.

The times are kept one by one (milliseconds, sorted, packed as 32-bit integers) rather than as
buckets, so percentiles over any range are exact: a report merges the days' sorted runs.
"""

import json
import struct
from array import array
from dataclasses import dataclass, field
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
    wait_ms: int | None = None
    service_ms: int | None = None
    rating: int | None = None
    rating_levels: int | None = None


def _data(event) -> dict:
    """An event's data: the log's JSON text, or already a dict (the hub reads it so)."""
    data = event["data"]
    return data if isinstance(data, dict) else json.loads(data) if data else {}


def fact_of(events: list, local) -> Fact | None:
    """The fact of one ticket from its events (oldest first); None without its ``issued``.

    ``local(ts)`` gives the hall's wall-clock datetime (the hour of arrival).
    """
    issued = next((e for e in events if e["kind"] == K.ISSUED), None)
    if issued is None:
        return None
    data = _data(issued)
    fact = Fact(issued["ticket_id"], issued["day"], local(issued["at"]).hour,
                date.fromisoformat(issued["day"]).weekday(), data.get("procedure"),
                issued["queue_code"])
    called_at, closing = None, None
    for event in events:
        kind = event["kind"]
        if kind == K.CALLED:
            if fact.wait_ms is None:
                # Never below 0: the clock set back (NTP at boot) between issue and call.
                fact.wait_ms = max(0, round((event["at"] - issued["at"]) * 1000))
            called_at = event["at"]
            fact.counter_number, fact.clerk_id = event["counter_number"], event["clerk_id"]
        elif kind == K.TRANSFERRED:
            fact.transferred = 1
        elif kind == K.RATED:
            rated = _data(event)
            fact.rating, fact.rating_levels = rated["level"], rated["levels"]
        if kind in CLOSINGS:
            closing = CLOSINGS[kind]
        if kind == K.FINISHED:
            fact.dossiers += len(_data(event).get("dossiers") or ())
            if called_at is not None:
                fact.service_ms = max(0, round((event["at"] - called_at) * 1000))
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


# The groupings a day is rolled up by ("all": one row for the day; by day is "all" by day).
DIMENSIONS = ("all", "field", "procedure", "queue", "counter", "clerk", "hour")
MAX_LEVELS = 5
_RATINGS = struct.Struct(f"{MAX_LEVELS}i")  # the same bytes as array("i") of MAX_LEVELS


def satisfied(level: int, levels: int) -> bool:
    """Whether a rating is in the better half of its levels (the middle one included)."""
    return 2 * level <= levels + 1


@dataclass
class Tally:
    """The counts and times of one group of tickets (one day's, or a range's once merged)."""

    issued: int = 0
    served: int = 0
    no_show: int = 0
    cancelled: int = 0
    transferred: int = 0
    dossiers: int = 0
    rated: int = 0
    satisfied: int = 0
    ratings: list = field(default_factory=lambda: [0] * MAX_LEVELS)
    waits: array = field(default_factory=lambda: array("i"))
    services: array = field(default_factory=lambda: array("i"))
    # A merged tally keeps the days' times as the sorted runs they are, not copied together
    # (packed bytes as read from the rollups, or arrays).
    wait_runs: list = field(default_factory=list)
    service_runs: list = field(default_factory=list)

    def add(self, fact: Fact) -> None:
        """Count one ticket."""
        self.issued += 1
        self.served += fact.served
        self.no_show += fact.no_show
        self.cancelled += fact.cancelled
        self.transferred += fact.transferred
        self.dossiers += fact.dossiers
        if fact.wait_ms is not None:
            self.waits.append(fact.wait_ms)
        if fact.service_ms is not None:
            self.services.append(fact.service_ms)
        if fact.rating is not None:
            self.rated += 1
            self.satisfied += satisfied(fact.rating, fact.rating_levels)
            if fact.rating <= MAX_LEVELS:
                self.ratings[fact.rating - 1] += 1

    def merge(self, other: "Tally") -> None:
        """Add another tally's tickets (its times, sorted, kept as runs)."""
        self.issued += other.issued
        self.served += other.served
        self.no_show += other.no_show
        self.cancelled += other.cancelled
        self.transferred += other.transferred
        self.dossiers += other.dossiers
        self.rated += other.rated
        self.satisfied += other.satisfied
        self.ratings = [a + b for a, b in zip(self.ratings, other.ratings, strict=True)]
        self.wait_runs += [*other.wait_runs, *([other.waits] if other.waits else [])]
        self.service_runs += [*other.service_runs, *([other.services] if other.services else [])]

    def sort(self) -> "Tally":
        """Sort the times in place (a live tally, before it is merged); returns the tally."""
        self.waits = array("i", sorted(self.waits))
        self.services = array("i", sorted(self.services))
        return self

    def row(self, day: str, dimension: str, key: str) -> tuple:
        """The tally as a row of ``report_rollups`` (times sorted)."""
        return (day, dimension, key, self.issued, self.served, self.no_show, self.cancelled,
                self.transferred, self.dossiers, self.rated, self.satisfied,
                array("i", self.ratings).tobytes(), array("i", sorted(self.waits)).tobytes(),
                array("i", sorted(self.services)).tobytes())

    @classmethod
    def of_row(cls, row) -> "Tally":
        """A tally read back from a row of ``report_rollups`` (from its ``issued`` on)."""
        # The times stay packed: a report unpacks them once, all runs of a group together.
        return cls(*row[:8], list(_RATINGS.unpack(row[8])), wait_runs=[row[9]] if row[9] else [],
                   service_runs=[row[10]] if row[10] else [])


ROLLUP_COLUMNS = ("day, dimension, key, issued, served, no_show, cancelled, transferred,"
                  " dossiers, rated, satisfied, ratings, waits, services")


def key_text(value) -> str:
    """A group's key as stored (none: the empty text)."""
    return "" if value is None else str(value)


def tally(reading: Reading, facts: list[Fact]) -> dict[tuple[str, str, str], Tally]:
    """Tallies by (day, dimension, key) of some tickets' facts."""
    fields_of = dict(reading.all("SELECT code, field_id FROM procedures"))
    out: dict[tuple[str, str, str], Tally] = {}
    for fact in facts:
        keys = (("all", ""), ("field", key_text(fields_of.get(fact.procedure_code))),
                ("procedure", key_text(fact.procedure_code)), ("queue", fact.queue_code),
                ("counter", key_text(fact.counter_number)), ("clerk", key_text(fact.clerk_id)),
                ("hour", str(fact.hour)))
        for dimension, key in keys:
            group = (fact.day, dimension, key)
            if group not in out:
                out[group] = Tally()
            out[group].add(fact)
    return out


def build_days(change: Change, days: list[str]) -> int:
    """(Re)build the rollups of ``days`` from the log; days whose tickets were purged keep
    theirs. Returns the number of tickets counted."""
    written = 0
    for day in days:
        if not change.one("SELECT 1 FROM tickets WHERE day = ? LIMIT 1", (day,)):
            continue
        facts = derive(change, day, day)
        change.run("DELETE FROM report_rollups WHERE day = ?", (day,))
        change.conn.executemany(
            f"INSERT INTO report_rollups ({ROLLUP_COLUMNS}) VALUES ({', '.join('?' * 14)})",
            [t.row(*group) for group, t in tally(change, facts).items()])
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
        # The new events first (by id), then their tickets: not the other way round.
        "SELECT DISTINCT day FROM tickets WHERE id IN (SELECT ticket_id FROM events"
        " WHERE id > ?) AND day < ?", (last_id, reading.day))}
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
