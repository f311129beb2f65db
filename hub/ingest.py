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
One hall's batches are stored one at a time (its ``hall_positions`` row is locked), different
halls' side by side. The locked position says which events are new, so they go straight in:
binary ``COPY`` into ``events`` (a small batch: one multi-row ``INSERT``).

A batch is decoded and checked in C (msgspec, against ``Batch``); ``data`` is kept as the JSON
text the hall sent, never turned into Python objects (``stored_data``). What is stored is what
the event says, once (``docs/hub.md``: about 160 bytes an event as a row, 8 once its day is
packed by ``hub.packing``): a ticket's procedure and printed number never change, so they are
kept on its ``issued`` event only; the hall's wire form (``hall.outbox.wire``) already left
out of ``data`` what columns, times and empty values say.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Literal

import msgspec
import psycopg
from msgspec import Meta, Struct
from msgspec.json import encode as encode_json
from psycopg import postgres
from psycopg.adapt import Dumper
from psycopg.pq import Format

from . import errors
from .schema import KIND_CODES, ensure_month

MAX_EVENTS = 5000  # in one batch
MAX_TEXT = 40  # a queue code
MAX_NUMBER = 2**31 - 1
MAX_SEQ = 2**62
COLUMNS = ("seq", "at", "hall_id", "day", "ticket", "clerk", "procedure", "kind", "counter",
           "queue", "number", "data")
COLUMN_TYPES = ("int8", "timestamptz", "int4", "date", "int4", "int4", "int4", "int2", "int2",
                "int4", "text", "jsonb")
FIELD_NAMES = ("seq", "at", "day", "kind", "ticket", "counter", "clerk", "queue", "procedure",
               "number", "data")
FIELDS = len(FIELD_NAMES)  # of an event in a batch
MAX_DATA = 4000  # bytes of an event's data as stored, as JSON (UTF-8)
# Hooks run inside the storing transaction with the rows just stored (the facts' notes).
AFTER_STORE: list = []
# Kinds whose event carries the ticket's procedure and printed number (they never change).
TICKET_FIXED_ON = frozenset({KIND_CODES["issued"]})

Id = Annotated[int, Meta(ge=0, le=MAX_NUMBER)]
Code = Annotated[str, Meta(min_length=1, max_length=MAX_TEXT)]


class Event(Struct, array_like=True, forbid_unknown_fields=True, gc=False):
    """One event of a batch, as a hall sends it (a JSON array, fields in this order)."""

    seq: Annotated[int, Meta(ge=1, le=MAX_SEQ)]
    at: Annotated[float, Meta(gt=0, lt=2**33)]  # epoch seconds (finite: NaN is not > 0)
    day: date  # the hall's business day, YYYY-MM-DD
    kind: Literal[tuple(KIND_CODES)]  # type: ignore[valid-type] - the kinds the hub knows
    ticket: Id | None
    counter: Annotated[int, Meta(ge=0, le=32767)] | None
    clerk: Id | None
    queue: Code | None
    procedure: Code | None
    number: Code | None
    data: msgspec.Raw  # an object or null, kept as the JSON text it came as


class Batch(Struct, forbid_unknown_fields=True):
    """A hall's batch: the events that follow its event ``after``."""

    hall: int
    after: Annotated[int, Meta(ge=0, le=MAX_SEQ)]
    events: Annotated[list[Event], Meta(min_length=1, max_length=MAX_EVENTS)]


# msgspec checks every type and bound in C while it decodes: 0.9 ms for 2,000 events, where
# a plain decode took 3 and the Python loop that checked each field after it 4-8 more.
_decoder = msgspec.json.Decoder(Batch)
_WHERE = re.compile(r"(.*?)(?: - at `\$(?:\.(\w+))?(?:\[(\d+)\])?(?:\[(\d+)\])?`)?$", re.S)


def _refusal(exc: Exception) -> errors.BadBatch:
    """msgspec's fault, said with the batch's own names (``kind of event #3: …``)."""
    fault, field, index, column = _WHERE.match(str(exc)).groups()
    if field is None:
        where = "{hall, after, events}"
    elif field != "events" or index is None:
        where = field
    elif column is None:
        where = f"event #{int(index) + 1}"
    else:
        where = f"{FIELD_NAMES[int(column)]} of event #{int(index) + 1}"
    return errors.BadBatch(reason=f"{where}: {fault}")


def batch_of(body) -> Batch:
    """The batch checked (its JSON bytes, or the decoded object); ``BadBatch`` names the fault."""
    try:
        # As text first: UTF-8 checked once for the whole body (msgspec checks the strings it
        # decodes, not the data it keeps as it came).
        text = bytes(body).decode() if isinstance(body, (bytes, bytearray, memoryview)) \
            else encode_json(body).decode()
        batch = _decoder.decode(text)
    except msgspec.ValidationError as exc:
        raise _refusal(exc) from None
    except (msgspec.DecodeError, msgspec.EncodeError, RecursionError, UnicodeError, TypeError,
            OverflowError):
        raise errors.BadBatch(reason="JSON") from None
    events = batch.events
    for before, event in zip(events, events[1:], strict=False):
        if event.seq <= before.seq:
            raise errors.BadBatch(reason=f"event {event.seq} does not follow {before.seq}")
    return batch


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


def _nul_at(events: list[Event], text: str, name: str) -> None:
    """Refuse a batch whose codes or numbers hold NUL (PostgreSQL's text cannot)."""
    if "\x00" in text:
        seq = next(e.seq for e in events if "\x00" in (getattr(e, name) or ""))
        raise errors.BadBatch(reason=f"{name} of event {seq}: NUL")


def stored_data(seq: int, raw: msgspec.Raw) -> bytes | None:
    """An event's ``data`` as stored: its JSON text as the hall sent it (an object, or None
    for ``null`` and ``{}``), refused if too big or if jsonb cannot hold it."""
    text = bytes(raw)
    if text == b"null" or text == b"{}":
        return None
    if text[:1] != b"{" or len(text) > MAX_DATA:
        raise errors.BadBatch(reason=f"data of event {seq}: an object of {MAX_DATA} bytes"
                                     " at most")
    # msgspec checked its strings (escapes, surrogates, control characters) as it went by;
    # jsonb alone refuses NUL.
    if b"\\u0000" in text:
        raise errors.BadBatch(reason=f"data of event {seq}: NUL")
    return text


def _rows(conn: psycopg.Connection, hall_id: int, events: list[Event]) -> list[tuple]:
    """The events as rows of ``events`` (``COLUMNS``): codes as small ids, ``data`` as the
    JSON text stored."""
    queues = {e.queue for e in events}
    procedures = {e.procedure for e in events}
    codes = (queues | procedures) - {None}
    for name, values in (("queue", queues), ("procedure", procedures),
                         ("number", {e.number for e in events})):
        _nul_at(events, "".join(v for v in values if v), name)
    ids = code_ids(conn, codes)
    rows = []
    kinds = KIND_CODES
    for e in events:
        kind, ticket = kinds[e.kind], e.ticket
        # A ticket's own procedure and number: on its issued event (an event of no ticket
        # keeps what it says).
        fixed = ticket is None or kind in TICKET_FIXED_ON
        rows.append((e.seq, datetime.fromtimestamp(e.at, UTC), hall_id, e.day, ticket,
                     e.clerk, ids.get(e.procedure) if fixed else None, kind, e.counter,
                     ids.get(e.queue), e.number if fixed else None,
                     stored_data(e.seq, e.data)))
    return rows


class JsonText(Dumper):
    """jsonb in binary ``COPY`` from JSON text already checked: the format's version byte,
    then the text as it came (PostgreSQL parses it as it parses jsonb's text form; no
    Python object is made and dumped again)."""

    format = Format.BINARY
    oid = postgres.types["jsonb"].oid

    def dump(self, obj: bytes) -> bytes:
        """The binary form."""
        return b"\x01" + obj


SMALL = 50  # events a batch inserts in one statement; more go through COPY
ROW_VALUES = "(" + ", ".join(["%s"] * (len(COLUMNS) - 1)) + ", convert_from(%s, 'UTF8')::jsonb)"


def copy_rows(conn: psycopg.Connection, rows: list[tuple], into: str = "events") -> int:
    """``rows`` into table ``into`` (``events``, or a staging table like it) by binary
    ``COPY``; how many went in."""
    with conn.cursor() as cur:
        cur.adapters.register_dumper(bytes, JsonText)  # this cursor's ``data`` only
        with cur.copy(f"COPY {into} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
            # psycopg formats each row in C from the declared types.
            copy.set_types(COLUMN_TYPES)
            for row in rows:
                copy.write_row(row)
        return cur.rowcount


def _insert(conn: psycopg.Connection, rows: list[tuple]) -> int:
    """Insert ``rows`` into ``events``; how many went in. A small batch (what a hall pushing
    every few seconds sends) in one statement, a big one (a catch-up) by ``COPY``. Straight
    in, without ``ON CONFLICT``: the hall's position is locked and says the rows are new (a
    clash would be a hub bug, and fail the batch whole)."""
    if len(rows) <= SMALL:
        return conn.execute(f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES "
                            + ", ".join([ROW_VALUES] * len(rows)),
                            [value for row in rows for value in row]).rowcount
    return copy_rows(conn, rows)


def store(conn: psycopg.Connection, hall_id: int, body) -> int:
    """Store one batch of ``hall_id``'s events (from its own token: a ``Batch``, its JSON
    bytes or the decoded object); the position the hub has acknowledged after it (the last
    event stored in order)."""
    batch = body if isinstance(body, Batch) else batch_of(body)
    if batch.hall != hall_id:
        raise errors.ForgedHall(hall=hall_id)
    after, events = batch.after, batch.events
    if events[0].seq <= after:
        raise errors.BadBatch(reason=f"the first event is {events[0].seq}, after = {after}")
    months = sorted({day.replace(day=1).isoformat() for day in {e.day for e in events}})
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
        new = _rows(conn, hall_id, events if events[0].seq > acked
                    else [e for e in events if e.seq > acked])
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
    return acked


# Every batch notes the tickets it touched, in its own transaction, for the facts job
# (``hub.facts``).
from .facts import mark_dirty  # noqa: E402 - registered once the store is defined

AFTER_STORE.append(mark_dirty)
