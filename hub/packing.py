"""Closed days of events packed: one row per (hall, day) instead of one per event.

A row per event costs about 160 bytes with its indexes (``docs/hub.md``), most of it the
tuple's header, line pointer and index entries, not what the event says; packed, a real day's
events take about 8. Once a day is closed (older than ``KEEP_DAYS``, so the open month stays a
row per event for fast ingest and recounting), ``pack_day`` moves its events into
``events_packed`` in one transaction: the rows deleted from ``events`` and one row inserted
holding them column by column (sequence and time as deltas, tickets relative to the day's
first, codes as small ids, ``data`` as the jsonb's text), msgpack-encoded and zlib-compressed.
Nothing is lost or doubled: the move is one transaction, and an event that arrives for a packed
day while or after it is packed stays in ``events`` (both forms are read: ``ticket_events``)
until the next look merges it into the day's packed row. Idempotency is ingest's:
``hall_positions.acked_seq`` decides what is new, whatever form the older events are in.
"""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime, timedelta

import msgspec
import psycopg
from psycopg import sql

from .jobs import Job
from .schema import LOCK

PACK_LOCK = LOCK + 5  # with a hall id: one packer of a hall at a time
KEEP_DAYS = 35  # days kept a row per event (the open month and a few days of late pushes)
PERIOD_SECONDS = 3600.0  # between two looks of the packing job
DAYS_A_LOOK = 50  # (hall, day)s packed in one call of ``pack_closed``
FORMAT = 1  # of the payload; bumped if the layout ever changes
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder()


def _deltas(values: list[int]) -> list[int]:
    return [b - a for a, b in zip([0, *values], values, strict=False)]


def _sums(deltas: list[int]) -> list[int]:
    out, total = [], 0
    for d in deltas:
        total += d
        out.append(total)
    return out


def pack(rows: list[tuple]) -> tuple[bytes, int | None, int | None]:
    """Events ``(seq, at_us, ticket, clerk, procedure, kind, counter, queue, number,
    data_text)`` sorted by seq, as (payload, lowest ticket, highest ticket)."""
    columns = list(zip(*rows, strict=True))
    tickets = [t for t in columns[2] if t is not None]
    low = min(tickets) if tickets else None
    relative = [None if t is None else t - low for t in columns[2]]
    body = [FORMAT, _deltas(list(columns[0])), _deltas(list(columns[1])), relative,
            *(list(c) for c in columns[3:])]
    return zlib.compress(_encoder.encode(body), 9), low, max(tickets) if tickets else None


def unpack(payload: bytes, low: int | None) -> list[tuple]:
    """The events of a packed row, as ``pack`` took them (``at`` in epoch microseconds)."""
    body = _decoder.decode(zlib.decompress(payload))
    if body[0] != FORMAT:
        raise ValueError(f"packed events of format {body[0]}, this hub reads {FORMAT}")
    seqs, ats = _sums(body[1]), _sums(body[2])
    tickets = [None if t is None else t + low for t in body[3]]
    return list(zip(seqs, ats, tickets, *body[4:], strict=True))


def as_time(micros: int) -> datetime:
    """Epoch microseconds as the ``timestamptz`` they were (exactly)."""
    return EPOCH + timedelta(microseconds=micros)


_COLUMNS_OUT = ("seq, (extract(epoch FROM at) * 1000000)::int8, ticket, clerk, procedure, kind,"
                " counter, queue, number, data::text")


def pack_day(conn: psycopg.Connection, hall_id: int, day: date) -> int:
    """Move a hall's day of events into its packed row (merged with what was packed of it
    before), in one transaction; the events moved from ``events`` (0: nothing to do)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (PACK_LOCK, hall_id))
        fresh = conn.execute(f"DELETE FROM events WHERE hall_id = %s AND day = %s"
                             f" RETURNING {_COLUMNS_OUT}", (hall_id, day)).fetchall()
        if not fresh:
            return 0
        packed = conn.execute("DELETE FROM events_packed WHERE hall_id = %s AND day = %s"
                              " RETURNING payload, min_ticket", (hall_id, day)).fetchall()
        rows = [row for payload, low in packed for row in unpack(payload, low)]
        rows = sorted(rows + [tuple(r) for r in fresh], key=lambda r: r[0])
        payload, low, high = pack(rows)
        conn.execute("INSERT INTO events_packed (hall_id, day, first_seq, last_seq,"
                     " events_count, min_ticket, max_ticket, payload)"
                     " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                     (hall_id, day, rows[0][0], rows[-1][0], len(rows), low, high, payload))
    return len(fresh)


def pack_closed(conn: psycopg.Connection, keep_days: int = KEEP_DAYS,
                limit: int = DAYS_A_LOOK) -> int:
    """Pack up to ``limit`` (hall, day)s older than ``keep_days`` days (a negative number
    packs today's too, as if that many days had passed: the bench and the tests), then give
    back the room of closed months left empty; the events moved."""
    before = date.today() - timedelta(days=keep_days)
    days = conn.execute("SELECT DISTINCT hall_id, day FROM events WHERE day < %s"
                        " ORDER BY day, hall_id LIMIT %s", (before, limit)).fetchall()
    moved = sum(pack_day(conn, hall_id, day) for hall_id, day in days)
    if len(days) < limit:
        truncate_empty_months(conn, before)
    return moved


EMPTY_BYTES = 1 << 20  # what an emptied partition may keep (its indexes' pages) before it is
# truncated


def truncate_empty_months(conn: psycopg.Connection, before: date) -> list[str]:
    """Truncate the month partitions of ``events`` wholly before ``before`` that packing left
    empty (a DELETE leaves their indexes' pages behind: a third of a row's bytes); the
    partitions truncated. A partition in use is left for the next look (``NOWAIT``: ingest
    never waits behind this)."""
    truncated = []
    for name, month in conn.execute(
            "SELECT c.relname, to_date(substr(c.relname, 8), 'YYYY_MM')"
            " FROM pg_partition_tree('events') t JOIN pg_class c ON c.oid = t.relid"
            " WHERE t.isleaf AND c.relname ~ '^events_[0-9]{4}_[0-9]{2}$'"
            " AND pg_total_relation_size(t.relid) > %s", (EMPTY_BYTES,)).fetchall():
        if (month.replace(day=28) + timedelta(days=4)).replace(day=1) > before:
            continue  # some of its days are still open
        table = sql.Identifier(name)
        try:
            with conn.transaction():
                conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE NOWAIT")
                             .format(table))
                if conn.execute(sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {})")
                                .format(table)).fetchone()[0]:
                    conn.execute(sql.SQL("TRUNCATE {}").format(table))
                    truncated.append(name)
        except psycopg.errors.LockNotAvailable:
            continue
    return truncated


def packer(pool, keep_days: int = KEEP_DAYS, period: float = PERIOD_SECONDS) -> Job:
    """The packing job of ``goiso hub serve``: packs closed days every ``period`` seconds, at
    once again while there were some."""
    return Job("packing", pool, lambda conn: pack_closed(conn, keep_days), period)


def ticket_events(conn: psycopg.Connection, hall_id: int, tickets: list[int]) -> list[tuple]:
    """Every stored event of some of a hall's tickets, packed or not, ordered by ticket and
    seq: ``(ticket, at, day, kind, counter, clerk, queue code, procedure code, number,
    data text)``."""
    # One statement, so one snapshot: a day packed between two reads would be read twice or
    # not at all. The packed days read are those whose tickets' range holds one of these (a
    # day's tickets are a run of ids: this batch's are usually newer than every packed day).
    found = conn.execute(
        "SELECT e.ticket, e.seq, e.at, e.day, e.kind, e.counter, e.clerk, q.code, p.code,"
        " e.number, e.data::text, NULL::bytea, NULL::int FROM events e"
        " LEFT JOIN codes q ON q.id = e.queue LEFT JOIN codes p ON p.id = e.procedure"
        " WHERE e.hall_id = %s AND e.ticket = ANY(%s::int[])"
        " UNION ALL SELECT NULL, NULL, NULL, day, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
        " payload, min_ticket FROM events_packed WHERE hall_id = %s"
        " AND min_ticket <= %s AND max_ticket >= %s AND EXISTS (SELECT 1 FROM"
        " unnest(%s::int[]) t WHERE t BETWEEN min_ticket AND max_ticket)",
        (hall_id, tickets, hall_id, max(tickets), min(tickets), tickets)).fetchall()
    rows = [r[:11] for r in found if r[11] is None]
    packed = [r for r in found if r[11] is not None]
    if packed:
        wanted = set(tickets)
        events = [(r[3], e) for r in packed for e in unpack(r[11], r[12]) if e[2] in wanted]
        codes = dict(conn.execute("SELECT id, code FROM codes WHERE id = ANY(%s)",
                                  (sorted({c for _, e in events for c in (e[4], e[7])
                                           if c is not None}),)).fetchall())
        rows += [(ticket, seq, as_time(at), day, kind, counter, clerk, codes.get(queue),
                  codes.get(procedure), number, data)
                 for day, (seq, at, ticket, clerk, procedure, kind, counter, queue, number,
                           data) in events]
    rows.sort(key=lambda r: (r[0], r[1]))
    return [(r[0], *r[2:]) for r in rows]


def hall_tickets(conn: psycopg.Connection, hall_id: int) -> list[int]:
    """Every ticket a hall's stored events (packed or not) name, in order."""
    tickets: set[int] = set()
    # One statement, one snapshot (as in ``ticket_events``).
    for ticket, payload, low in conn.execute(
            "SELECT DISTINCT ticket, NULL::bytea, NULL::int FROM events WHERE hall_id = %s"
            " AND ticket IS NOT NULL UNION ALL SELECT NULL, payload, min_ticket"
            " FROM events_packed WHERE hall_id = %s AND min_ticket IS NOT NULL",
            (hall_id, hall_id)):
        if payload is None:
            tickets.add(ticket)
        else:
            tickets.update(e[2] for e in unpack(payload, low) if e[2] is not None)
    return sorted(tickets)
