"""A hall's events stored once and in order.

A batch is ``{"hall": id, "after": n, "events": [[seq, at, day, kind, ticket, counter, clerk,
queue, procedure, number, data], ...]}``: the events that follow event ``n`` of the hall's
log, in order (a hall's log may have holes where old tickets were purged before it had a hub,
so sequences grow but need not be consecutive; ``at`` in epoch seconds, ``day`` the hall's
business day, ``queue`` and ``procedure`` codes, stored as small ids; ``data`` the rest of
what the event says).
Events the hub already has (``seq <= acked``) are skipped, so a batch sent twice changes
nothing; a batch that starts after a position beyond the hub's (``after > acked``) is refused
with the position expected (``Gap``), so no batch is ever lost between two stored ones.
One hall's batches are stored one at a time (its ``hall_positions`` row is locked), different halls'
side by side. Rows go in through ``COPY`` into a staging table, then one ``INSERT … ON
CONFLICT DO NOTHING`` (a small batch: one multi-row ``INSERT``).

What is stored is what the event says, once (``docs/hub.md``: about 160 bytes an event as a
row, 8 once its day is packed by ``hub.packing``): a ticket's procedure and printed number
never change, so they are kept on its ``issued`` event only; ``data`` loses what the times of
the ticket's own events say (``served_seconds`` from its call to its close, ``waited_seconds``:
both reports compute waits and services from the times) and values that say nothing
(``out_of_order: false``, ``dossiers: []``).
"""

from __future__ import annotations

import math
import weakref
from datetime import UTC, date, datetime

import psycopg
from msgspec.json import encode as encode_json  # json.dumps' work at a fifth of its time
from psycopg.types.json import Jsonb

from . import errors
from .schema import KIND_CODES, ensure_month

MAX_EVENTS = 5000  # in one batch
MAX_TEXT = 40  # a queue code
MAX_NUMBER = 2**31 - 1
COLUMNS = ("seq", "at", "hall_id", "day", "ticket", "clerk", "procedure", "kind", "counter",
           "queue", "number", "data")
COLUMN_TYPES = ("int8", "timestamptz", "int4", "date", "int4", "int4", "int4", "int2", "int2",
                "int4", "text", "jsonb")
FIELDS = 11  # of an event in a batch
MAX_DATA = 4000  # bytes of an event's data, as JSON (UTF-8)
# Hooks run inside the storing transaction with the rows just stored (the facts' notes).
AFTER_STORE: list = []
# Kinds whose event carries the ticket's procedure and printed number (they never change).
TICKET_FIXED_ON = frozenset({KIND_CODES["issued"]})
# Said by the times of the ticket's events (the reports compute them so), or by nothing.
DERIVED = frozenset({"waited_seconds", "served_seconds"})
EMPTY = (False, [], {}, "", None)


def _int(value, name: str, low: int = 0, high: int = MAX_NUMBER, none: bool = True):
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise errors.BadBatch(reason=f"{name} = {value!r}")
    return value


def _code(value, name: str, seq: int):
    if value is not None and (not isinstance(value, str) or not 0 < len(value) <= MAX_TEXT
                              or "\x00" in value):
        raise errors.BadBatch(reason=f"{name} of event {seq}")
    return value


def events_of(events) -> list[list]:
    """The batch's events checked, as ``[seq, at (datetime), day (date), kind code, ticket,
    counter, clerk, queue, procedure, number, data]`` (``BadBatch`` names the first fault)."""
    if not isinstance(events, list) or not events:
        raise errors.BadBatch(reason="events")
    if len(events) > MAX_EVENTS:
        raise errors.BadBatch(reason=f"{len(events)} > {MAX_EVENTS} events")
    checked = []
    days: dict = {}  # a batch has a few days: each parsed once
    for event in events:
        if not isinstance(event, list) or len(event) != FIELDS:
            raise errors.BadBatch(reason="event")
        seq, at, day, kind, ticket, counter, clerk, queue, procedure, number, data = event
        _int(seq, "seq", 1, 2**62, none=False)
        if isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at) \
                or not 0 < at < 2**33:
            raise errors.BadBatch(reason=f"at = {at!r}")
        text, day = day, days.get(day) if isinstance(day, str) else None
        if day is None and isinstance(text, str) and len(text) == 10:
            try:
                day = days[text] = date.fromisoformat(text)
            except ValueError:
                day = None
        if day is None:
            raise errors.BadBatch(reason=f"day of event {seq}")
        if not isinstance(kind, str) or kind not in KIND_CODES:
            raise errors.BadBatch(reason=f"kind = {kind!r}")
        if data is not None and (not isinstance(data, dict)
                                 or len(encode_json(data)) > MAX_DATA):
            raise errors.BadBatch(reason=f"data of event {seq}")
        checked.append([seq, datetime.fromtimestamp(at, UTC), day, KIND_CODES[kind],
                        _int(ticket, "ticket"), _int(counter, "counter", 0, 32767),
                        _int(clerk, "clerk"), _code(queue, "queue", seq),
                        _code(procedure, "procedure", seq), _code(number, "number", seq),
                        data or None])
    for before, row in zip(checked, checked[1:], strict=False):
        if row[0] <= before[0]:
            raise errors.BadBatch(reason=f"event {row[0]} does not follow {before[0]}")
    return checked


# Codes never change id: kept for the process, per database (tests use many in one process).
_code_ids_of: dict[tuple, dict[str, int]] = {}


def code_ids(conn: psycopg.Connection, codes: set[str]) -> dict[str, int]:
    """The small ids of procedure and queue codes, new ones added."""
    _code_ids = _code_ids_of.setdefault((conn.info.host, conn.info.port, conn.info.dbname), {})
    missing = sorted(c for c in codes if c not in _code_ids)
    if missing:
        conn.execute("INSERT INTO codes (code) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING",
                     (missing,))
        for code, ident in conn.execute("SELECT code, id FROM codes WHERE code = ANY(%s)",
                                        (missing,)):
            _code_ids[code] = ident
    return {c: _code_ids[c] for c in codes}


def kept(data: dict | None) -> dict | None:
    """What of an event's ``data`` is stored: not what its times say, not empty values."""
    if not data:
        return None
    # ``v is False`` and an empty list are the defaults; 0 and other values are facts.
    out = {k: v for k, v in data.items()
           if k not in DERIVED and not (v is False or v is None or v == [] or v == {})}
    return out or None


def _rows(conn: psycopg.Connection, hall_id: int, events: list[list]) -> list[tuple]:
    ids = code_ids(conn, {e[i] for e in events for i in (7, 8) if e[i] is not None})
    rows = []
    for seq, at, day, kind, ticket, counter, clerk, queue, procedure, number, data in events:
        # A ticket's own procedure and number: on its issued event (an event of no ticket
        # keeps what it says).
        fixed = ticket is None or kind in TICKET_FIXED_ON
        data = kept(data)
        rows.append((seq, at, hall_id, day, ticket, clerk,
                     ids.get(procedure) if fixed else None, kind, counter, ids.get(queue),
                     number if fixed else None,
                     Jsonb(data, dumps=encode_json) if data else None))
    return rows



SMALL = 50  # events a batch inserts in one statement; more go through COPY and staging
_VALUES = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"


def _insert(conn: psycopg.Connection, rows: list[tuple]) -> int:
    """Insert ``rows`` into ``events``; how many went in. A small batch (what a hall pushing
    every few seconds sends) in one statement, a big one (a catch-up) through ``COPY``."""
    columns = ", ".join(COLUMNS)
    if len(rows) <= SMALL:
        return conn.execute(f"INSERT INTO events ({columns}) VALUES "
                            + ", ".join([_VALUES] * len(rows)) + " ON CONFLICT DO NOTHING",
                            [value for row in rows for value in row]).rowcount
    if conn not in _staged:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS staging (LIKE events)"
                     " ON COMMIT DELETE ROWS")
    # Binary: psycopg formats each row in C from the declared types.
    with conn.cursor() as cur, cur.copy(
            f"COPY staging ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(COLUMN_TYPES)
        for row in rows:
            copy.write_row(row)
    return conn.execute(f"INSERT INTO events ({columns}) SELECT {columns} FROM staging"
                        " ON CONFLICT DO NOTHING").rowcount


# Connections that have their staging table (a temporary table lives as long as its
# connection; a pool keeps connections for long).
_staged: weakref.WeakSet = weakref.WeakSet()


def store(conn: psycopg.Connection, hall_id: int, body) -> int:
    """Store one batch of ``hall_id``'s events (from its own token); the position the hub has
    acknowledged after it (the last event stored in order)."""
    if not isinstance(body, dict) or set(body) != {"hall", "after", "events"}:
        raise errors.BadBatch(reason="{hall, after, events}")
    if body["hall"] != hall_id:
        raise errors.ForgedHall(hall=hall_id)
    after = _int(body["after"], "after", 0, 2**62, none=False)
    events = events_of(body["events"])
    if events[0][0] <= after:
        raise errors.BadBatch(reason=f"the first event is {events[0][0]}, after = {after}")
    months = sorted({day.replace(day=1).isoformat() for day in {e[2] for e in events}})
    with conn.transaction():
        # The hall's position locked, and the months of the batch that have no partition yet
        # (only a new month takes the lock that makes partitions; taken for every batch, it
        # put every hall's batches in one line; named as schema.partition_name names them).
        # Round trips are what a small batch costs.
        found = conn.execute(
            "SELECT acked_seq, ARRAY(SELECT m FROM unnest(%s::date[]) m"
            "  WHERE to_regclass('events_' || to_char(m, 'YYYY_MM')) IS NULL)"
            " FROM hall_positions WHERE hall_id = %s FOR UPDATE", (months, hall_id)).fetchone()
        if found is None:
            raise errors.UnknownHall(hall=hall_id)
        acked, missing = found
        if after > acked:
            raise errors.Gap(after=after, expected_after=acked, expected=acked + 1)
        new = _rows(conn, hall_id, [e for e in events if e[0] > acked])
        if new:
            for month in missing:
                if any(row[3].replace(day=1) == month for row in new):
                    ensure_month(conn, month)
            stored = _insert(conn, new)
            if stored != len(new):
                # The hall's position was locked and acked said these were new: anything else is
                # a hub bug; storing half a batch would leave a hole.
                raise RuntimeError(f"stored {stored} of {len(new)} new events")
            for hook in AFTER_STORE:
                hook(conn, hall_id, new)
            acked = new[-1][0]
        conn.execute("WITH acked AS (UPDATE hall_positions SET acked_seq = %s,"
                     " last_contact = now(), last_event_at = COALESCE(%s, last_event_at)"
                     " WHERE hall_id = %s)"
                     " SELECT pg_notify('hub_events', %s)",
                     (acked, new[-1][1] if new else None, hall_id, str(hall_id)))
    if len(new) > SMALL:
        _staged.add(conn)  # now that the transaction that made it is committed
    return acked


# Every batch notes the tickets it touched, in its own transaction, for the facts job
# (``hub.facts``).
from .facts import mark_dirty  # noqa: E402 - registered once the store is defined

AFTER_STORE.append(mark_dirty)
