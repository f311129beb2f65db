"""The append-only event log (the one list of event kinds, the writer, the reader) and the feed
that carries it to open screens.

Every change of the hall appends one event in the transaction that made it; screens, printers,
LED displays and (later) the province hub learn of changes from this log only. The database is
the source of truth; the feed is a doorbell plus a memory of recent events, so one query serves
every open stream of the process however many screens listen.
"""

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from .store import Store


class EventKind(StrEnum):
    """What happened; the value is what the log, the API and the SSE stream carry."""

    ISSUED = "issued"
    CALLED = "called"
    RECALLED = "recalled"
    NO_SHOW = "no_show"
    REACTIVATED = "reactivated"
    TRANSFERRED = "transferred"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    COUNTER_PAUSED = "counter_paused"
    COUNTER_RESUMED = "counter_resumed"
    COUNTER_CLOSED = "counter_closed"
    CLERK_SIGNED_IN = "clerk_signed_in"
    CLERK_SIGNED_OUT = "clerk_signed_out"
    TOKEN_CREATED = "token_created"  # noqa: S105 - an event name, not a secret
    TOKENS_REVOKED = "tokens_revoked"
    CATALOGUE_CHANGED = "catalogue_changed"
    PRINTED = "printed"
    PRINT_FAILED = "print_failed"
    DEVICE_STATE = "device_state"  # a printer's, keypad's, display's or serial port's state
    RATED = "rated"
    SETTINGS_CHANGED = "settings_changed"  # a hall setting set in the browser
    BULK_APPLIED = "bulk_applied"  # one bulk action: who, what, how many (each ticket logs too)
    TICKETS_PURGED = "tickets_purged"  # old ticket rows and their events purged (retention)
    ISSUE_LIMITED = "issue_limited"  # a kiosk or address refused: too many tickets a minute
    NUMBERS_EXTENDED = "numbers_extended"  # a supervisor gave a queue more numbers today
    STAFF_SIGNED_IN = "staff_signed_in"  # a right PIN (with the client's address)
    STAFF_SIGNED_OUT = "staff_signed_out"  # a staff session ended by its owner
    SIGNIN_LOCKED = "signin_locked"  # too many wrong PINs: a login or an address locked
    SIGNIN_UNLOCKED = "signin_unlocked"  # a supervisor lifted a lock
    TICKET_REPRINTED = "ticket_reprinted"  # staff sent a ticket to a printer again


K = EventKind
# The first frame of every event stream carries the whole hall (not an event of the log).
STATE_FRAME = "state"
# Which kinds each kind of listener follows; screens subscribe to these, never to a list of
# their own.
CALLS = (K.CALLED, K.RECALLED)
# A ticket leaves a counter (its LED, the rating prompt and the board follow these).
TICKET_MOVES = (K.CALLED, K.RECALLED, K.FINISHED, K.NO_SHOW, K.TRANSFERRED, K.EXPIRED)
COUNTER_STATES = (K.COUNTER_PAUSED, K.COUNTER_RESUMED, K.COUNTER_CLOSED)
LED_CHANGES = TICKET_MOVES + COUNTER_STATES
BOARD_CHANGES = (K.ISSUED, *TICKET_MOVES, K.CANCELLED, K.REACTIVATED, *COUNTER_STATES,
                 K.CATALOGUE_CHANGED, K.SETTINGS_CHANGED)
COUNTER_PAGE_CHANGES = (*BOARD_CHANGES, K.PRINTED, K.PRINT_FAILED, K.CLERK_SIGNED_IN,
                        K.CLERK_SIGNED_OUT, K.RATED)
RATING_CHANGES = (K.CALLED, K.FINISHED, K.RATED)
PRINTING_CHANGES = (K.DEVICE_STATE, K.PRINTED, K.PRINT_FAILED, K.CANCELLED)
DEVICE_CHANGES = (K.DEVICE_STATE,)
# A ticket's page on its holder's phone: what may move it in its queue, or change it.
PHONE_CHANGES = (*BOARD_CHANGES, K.RATED, K.BULK_APPLIED)
# The supervisor's monitor: every ticket move, counter, clerk, printer and device change.
MONITOR_CHANGES = (*COUNTER_PAGE_CHANGES, K.DEVICE_STATE, K.BULK_APPLIED)
# What may raise or clear an alert (time passing does too: the banner also polls).
ALERT_CHANGES = (*TICKET_MOVES, K.CANCELLED, K.DEVICE_STATE, K.BULK_APPLIED)
# What the audit log shows: changes made by staff to the hall, each with who (``clerk``) and,
# for the catalogue and the settings, ``what``, ``key``, ``before`` and ``after`` in its data.
AUDITED = (K.CATALOGUE_CHANGED, K.SETTINGS_CHANGED, K.BULK_APPLIED, K.TOKEN_CREATED,
           K.TOKENS_REVOKED)
AUDITED += (K.TICKETS_PURGED,)
# Issue limits (hall/limits.py): a refusal alerts staff; an extension is a staff change and
# makes a queue that had run out issue again.
MONITOR_CHANGES += (K.ISSUE_LIMITED, K.NUMBERS_EXTENDED)
ALERT_CHANGES += (K.ISSUE_LIMITED, K.NUMBERS_EXTENDED)
AUDITED += (K.NUMBERS_EXTENDED,)
# Staff sign-ins and sign-outs, sign-in locks and unlocks, single reprints and cancels.
AUDITED += (K.STAFF_SIGNED_IN, K.STAFF_SIGNED_OUT, K.SIGNIN_LOCKED, K.SIGNIN_UNLOCKED,
            K.CANCELLED, K.TICKET_REPRINTED)


@dataclass(frozen=True)
class Event:
    """One entry of the log."""

    id: int
    at: float
    day: str
    kind: EventKind
    ticket: int | None
    counter: int | None
    clerk: int | None
    queue: str | None
    data: dict

    def as_dict(self, iso: Callable[[float], str] | None = None) -> dict:
        """The event as JSON-ready data (``at`` as ISO 8601 when ``iso`` is given)."""
        return {"id": self.id, "at": iso(self.at) if iso else self.at, "day": self.day,
                "kind": str(self.kind), "ticket": self.ticket, "counter": self.counter,
                "clerk": self.clerk, "queue": self.queue, "data": self.data}


def append(conn, business_day: str, now: float, kind: EventKind, *, ticket: int | None = None,
           counter: int | None = None, clerk: int | None = None, queue: str | None = None,
           data: dict | None = None) -> int:
    """Append one event inside the caller's transaction; the only writer of the log."""
    return conn.execute(
        "INSERT INTO events (at, day, kind, ticket_id, counter_number, clerk_id, queue_code,"
        " data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (now, business_day, EventKind(kind).value, ticket, counter, clerk, queue,
         json.dumps(data or {}, ensure_ascii=False))).lastrowid


def _event(row) -> Event:
    return Event(row["id"], row["at"], row["day"], EventKind(row["kind"]), row["ticket_id"],
                 row["counter_number"], row["clerk_id"], row["queue_code"],
                 json.loads(row["data"]))


class EventLog:
    """Reads the event log."""

    def __init__(self, store: Store):
        self.store = store

    def since(self, after_id: int, limit: int = 500) -> list[Event]:
        """Events with id greater than ``after_id``, oldest first."""
        with self.store.read() as conn:
            rows = conn.execute("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?",
                                (after_id, limit)).fetchall()
        return [_event(r) for r in rows]

    def last_id(self) -> int:
        """The id of the newest event (0 for an empty log)."""
        with self.store.read() as conn:
            return conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]


def _direct(fn, *args):
    return fn(*args)


class Feed:
    """Wakes every open stream when the log grows; keeps the last ``keep`` events in memory."""

    def __init__(self, log: EventLog, keep: int = 2000, poll_seconds: float = 1.0,
                 offload: Callable = _direct):
        self.log = log
        self.poll_seconds = poll_seconds
        self.offload = offload
        self._events: deque[Event] = deque(maxlen=keep)
        self._last_id = -1
        self._fetched_at = 0.0
        self._cond = threading.Condition()
        # A new bell per ring: the waiting streams all wake on one set(), which under gevent
        # costs half what a Condition's notify_all does (it makes a lock per waiter per wait).
        self._bell = threading.Event()
        self._fetch = threading.Lock()
        self._order = itertools.count(1)  # rings and fetches, in the order they began
        self._served = 0  # rings numbered below this were covered by a finished fetch
        self._poller = False

    @property
    def last_id(self) -> int:
        if self._last_id < 0:
            self.ring()
        return self._last_id

    def ring(self, force: bool = True) -> None:
        """Read new events from the log and wake the streams (after any write).

        Rings that wait while a fetch runs are served by the next one: a fetch that began
        after a ring was asked for sees that writer's commit, so one query serves them all.
        """
        asked = next(self._order)
        with self._fetch:
            if force and self._served > asked:
                return
            if not force and time.monotonic() - self._fetched_at < self.poll_seconds:
                return
            began = next(self._order)
            if self._last_id < 0:
                newest = self.offload(self.log.last_id)
                recent = self.offload(self.log.since, max(0, newest - 50), 50)
                # Both at once: until now ``publish`` ignores what is committed (nobody reads
                # the feed yet), so nothing can slip in between.
                with self._cond:
                    self._events.extend(recent)
                    self._last_id = newest
                self._fetched_at = time.monotonic()
                self._served = began
                return
            new = self.offload(self.log.since, self._last_id, 1000)
            while len(new) == 1000:
                new += self.offload(self.log.since, new[-1].id, 1000)
            self._fetched_at = time.monotonic()
            self._served = began
            with self._cond:
                # What ``publish`` added meanwhile is kept once.
                new = [e for e in new if e.id > self._last_id]
                if new:
                    self._events.extend(new)
                    self._last_id = new[-1].id
            if new:
                self._wake()

    def publish(self, events: list[Event]) -> None:
        """Events this process just committed: kept and rung at once, without reading the log
        (when they do not follow the newest one known, another process wrote in between, and
        the log is read instead)."""
        if not events or self._last_id < 0:
            return  # nobody has read the feed yet: the first reader starts from the log
        with self._cond:
            follows = all(
                e.id == self._last_id + 1 + i for i, e in enumerate(events))
            if follows:
                self._events.extend(events)
                self._last_id = events[-1].id
        if follows:
            self._wake()
        else:
            self.ring()

    def poll(self) -> None:
        """Look for changes made by other processes (a poller calls this every poll_seconds).

        Once something polls, waiting streams rely on it instead of each reading the log.
        """
        self._poller = True
        self.ring(force=False)

    def interrupt(self) -> None:
        """Wake every waiting ``wait`` now, so those whose ``stop`` is set return (a stop)."""
        self._wake()

    def _wake(self) -> None:
        with self._cond:
            bell, self._bell = self._bell, threading.Event()
        bell.set()

    def after(self, after_id: int) -> list[Event]:
        """Events newer than ``after_id``, from memory when it reaches back far enough."""
        last = self.last_id
        if after_id >= last:
            return []
        with self._cond:
            events = self._events
            if events and events[0].id <= after_id + 1:
                # From the newest back: every woken stream pays for what it missed, not for
                # the whole memory (a copy of 2000 events per stream per ticket, before).
                found = []
                for event in reversed(events):
                    if event.id <= after_id:
                        break
                    found.append(event)
                found.reverse()
                if found:
                    return found
        # Not (or no longer) in memory: the log has it.
        return self.offload(self.log.since, after_id, 1000)

    def wait(self, after_id: int, timeout: float, stop: threading.Event | None = None
             ) -> list[Event]:
        """Events newer than ``after_id``, waiting up to ``timeout`` seconds for some.

        Returns [] at once when ``stop`` is set (``interrupt()`` wakes a wait to see it).
        """
        end = time.monotonic() + timeout
        while True:
            found = self.after(after_id)
            if found:
                return found
            remaining = end - time.monotonic()
            if remaining <= 0:
                return []
            bell = self._bell  # taken first: a ring or interrupt after the checks rings this one
            if stop is not None and stop.is_set():
                return []
            if self._last_id <= after_id:
                bell.wait(remaining if self._poller else min(remaining, self.poll_seconds))
            if not self._poller:
                self.ring(force=False)
