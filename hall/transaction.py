"""One read or one change of the hall: the transaction, the clock reading, the business day.

Every part of the core reads and writes through ``Transactions``: a change is one
``BEGIN IMMEDIATE`` transaction that also appends its events, so what a change did is on disk
with its events before anyone sees it, and two kiosks or two counters acting at once are
serialised by SQLite itself. The day's roll-over (open tickets of earlier days closed as
expired) happens here, at the start of the first change of a new business day, and nowhere
else.
"""

import sqlite3
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from . import errors, events
from .events import Event, EventKind
from .rules import Rules
from .store import Store

COMMITTED_KEEP = 1000


@dataclass
class Reading:
    """A consistent snapshot of the hall at one instant."""

    conn: sqlite3.Connection
    now: float
    day: str
    rules: Rules

    def one(self, sql: str, args=()) -> sqlite3.Row | None:
        """The first row of a query, or None."""
        return self.conn.execute(sql, args).fetchone()

    def all(self, sql: str, args=()) -> list[sqlite3.Row]:
        """Every row of a query."""
        return self.conn.execute(sql, args).fetchall()

    def value(self, sql: str, args=()):
        """The first column of the first row of a query."""
        return self.conn.execute(sql, args).fetchone()[0]


@dataclass
class Change(Reading):
    """A write transaction: what it changes and the events it logs commit together."""

    logged: list[Event] = field(default_factory=list)

    def run(self, sql: str, args=()) -> sqlite3.Cursor:
        """Execute one statement of the change."""
        return self.conn.execute(sql, args)

    def log(self, kind: EventKind, /, *, ticket=None, counter: int | None = None,
            clerk: int | None = None, queue: str | None = None, **data) -> int:
        """Append one event; a ticket's number, queue, procedure, priority and status go with
        it (``ticket`` is its row as it is after the change)."""
        ticket_id = None
        if ticket is not None:
            data = {"number": ticket["number"], "queue": ticket["queue_code"],
                    "procedure": ticket["procedure_code"], "priority": ticket["priority"],
                    "status": ticket["status"], **data}
            queue, ticket_id = ticket["queue_code"], ticket["id"]
        event_id = events.append(self.conn, self.day, self.now, kind, ticket=ticket_id,
                                 counter=counter, clerk=clerk, queue=queue, data=data)
        self.logged.append(Event(event_id, self.now, self.day, EventKind(kind), ticket_id,
                                 counter, clerk, queue, data))
        return event_id


def storage_refusal(exc: sqlite3.OperationalError) -> errors.HallError | None:
    """What a failed write says to the person who asked: SQLite's "database or disk is full"
    and "database is locked" are conditions staff can fix (free space, stop the other
    program), so they get their own clear refusal; anything else stays a fault."""
    text = str(exc).lower()
    if "full" in text:
        return errors.StorageFull()
    if "locked" in text or "busy" in text:
        return errors.StorageBusy()
    return None


class Transactions:
    """How every part of the core reads and changes the hall's store."""

    def __init__(self, store: Store, rules: Rules, clock: Callable[[], float] = time.time):
        self.store = store
        self.rules = rules
        self.clock = clock
        self._rolled_day: str | None = None
        # Events of the changes committed since the last take_committed(): the process that
        # wrote them hands them to its event feed without reading them back from the file.
        # Bounded: a process with no feed (a command, a test) must not keep them all; the feed
        # notices a gap and reads the log instead.
        self._committed: deque[Event] = deque(maxlen=COMMITTED_KEEP)

    def today(self) -> str:
        """The current business day."""
        return self.rules.business_day(self.clock())

    @contextmanager
    def reading(self) -> Iterator[Reading]:
        """A read transaction with the time it was taken."""
        with self.store.read() as conn:
            now = self.clock()
            yield Reading(conn, now, self.rules.business_day(now), self.rules)

    @contextmanager
    def change(self) -> Iterator[Change]:
        """A write transaction, after the day's roll-over; committed when the block ends,
        rolled back (events included) when it raises. A full disk or a database another
        process keeps locked past the busy timeout is a ``StorageFull``/``StorageBusy``
        refusal (nothing changed), not a fault."""
        try:
            with self.store.write() as conn:
                now = self.clock()
                change = Change(conn, now, self.rules.business_day(now), self.rules)
                self._roll_over(change)
                yield change
        except sqlite3.OperationalError as exc:
            refusal = storage_refusal(exc)
            if refusal is None:
                raise
            raise refusal from exc
        self._committed.extend(change.logged)  # only once it is committed

    def take_committed(self) -> list[Event]:
        """The events committed by this process since the last call, oldest first."""
        taken = []
        while self._committed:
            taken.append(self._committed.popleft())
        return taken

    def _roll_over(self, change: Change) -> None:
        """Close the open tickets of earlier business days as expired (never deleted)."""
        if self._rolled_day == change.day:
            return
        stale = change.all("SELECT * FROM tickets WHERE day < ? AND status IN"
                           " ('waiting', 'called')", (change.day,))
        for ticket in stale:
            change.run("UPDATE tickets SET status = 'expired', finished_at = ? WHERE id = ?",
                       (change.now, ticket["id"]))
            change.log(EventKind.EXPIRED, ticket={**dict(ticket), "status": "expired"},
                       previous=ticket["status"])
        change.run("UPDATE counters SET current_ticket_id = NULL WHERE current_ticket_id IN"
                   " (SELECT id FROM tickets WHERE day < ?)", (change.day,))
        # Remember the day only once there was nothing left to do: when this transaction
        # expired tickets and is then rolled back (any refused action), the next must do it
        # again.
        if not stale:
            self._rolled_day = change.day
