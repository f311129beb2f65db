"""Per-ticket facts and daily rollups kept in step with the events, a moment after they are
stored.

The hub counts a ticket exactly as its hall does, by the hall's own pure functions
(``hall.rollups.fact_of`` for one ticket's events, ``Tally`` for a group): a batch's tickets
get their fact recomputed from all their events (``hub_facts``), then the (hall, day)s those
tickets belong to get their rollups rebuilt from the facts (``hub_rollups``: one row per
grouping ``all``, ``procedure`` and ``hour``; fields are mapped from procedures when a report
is read). A batch only notes its tickets (``mark_dirty``, in the storing transaction:
``hub.ingest.AFTER_STORE``); the facts job of ``goiso hub serve`` (``counter``) counts them
after the commit, a hall at a time, many batches in one go (``catch_up``): counting inside
every push made a push cost as much as its whole day's rollups. The facts then trail the
events by the job's look (half a second) and what it counts; a day's rollups are rebuilt at
once after a quiet spell, then at most every ``REBUILD_EVERY_SECONDS`` while its hall keeps
pushing (``hub_rollups_due``): rebuilding costs the whole day, a push's facts only its
tickets. ``/healthz`` says how far behind both are. A province report reads rollups only.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import psycopg
from msgspec.json import decode as decode_json

from hall.events import EventKind
from hall.rollups import Fact, Tally, fact_of, key_text

from .jobs import Job, Traffic
from .packing import hall_tickets, ticket_events
from .province import hall_row_extras, mark_stale
from .schema import KIND_CODES, LOCK

K = EventKind
DIRTY_LOCK = LOCK + 4  # with a hall id: one process counts a hall's tickets at a time
CHUNK = 5000  # tickets counted in one transaction
SMALL = 50  # facts written in one statement; more go through COPY and a staging table
PERIOD_SECONDS = 0.5  # between two looks of the facts job when there was nothing to count
# While its worker stores batches the facts job waits, this long at most before it counts
# anyway: the facts of a burst trail it by seconds, not forever.
GIVE_WAY_SECONDS = 5.0
# A day's rollups are rebuilt from all its facts (the hall's ``Tally``, exact): at most this
# often per hall and day, however often the hall pushes. A rebuild costs about 5-7 µs per
# ticket of the day (5-7 ms for a busy hall's 1,000 tickets) against 1.6 ms for the push.
REBUILD_EVERY_SECONDS = 10.0
KIND_NAMES = {code: name for name, code in KIND_CODES.items()}
# Groupings a (hall, day) is rolled up by; "hall" and "day" are read from "all", "field" from
# "procedure" through the catalogue.
DIMENSIONS = ("all", "procedure", "hour")
# What a ticket's last move says of it: put in a queue (waiting since then) or out of one.
INTO_QUEUE = {K.ISSUED, K.TRANSFERRED, K.REACTIVATED}
# The kinds whose data ``hall.rollups.fact_of`` reads.
DATA_READ = {K.ISSUED, K.RATED, K.FINISHED}
OUT_OF_QUEUE = {K.CALLED, K.RECALLED, K.FINISHED, K.NO_SHOW, K.CANCELLED, K.EXPIRED}
FACT_COLUMNS = ("hall_id", "ticket", "day", "issued_at", "hour", "procedure", "queue", "counter",
                "clerk", "served", "no_show", "cancelled", "transferred", "dossiers", "wait_ms",
                "service_ms", "rating", "rating_levels", "waiting_since")
ROLLUP_COLUMNS = ("hall_id, day, dimension, key, issued, served, no_show, cancelled,"
                  " transferred, dossiers, rated, satisfied, ratings, waits, services,"
                  " wait_sum, service_sum, wait_counts, service_counts")


def as_hall_event(row) -> dict:
    """A stored event as the hall's log row that ``fact_of`` reads: the kind by name, epoch
    seconds, the ISO day, and the data (a dict; only of the kinds ``fact_of`` reads it of)
    with what the wire form took out put back."""
    ticket, at, day, kind, counter, clerk, queue, procedure, number, text = row
    kind = KIND_NAMES[kind]
    data = {}
    if kind in DATA_READ:
        # Decoded here, from the text, only where read: most events' data is never looked at.
        data = decode_json(text) if text else {}
        if procedure is not None:
            data["procedure"] = procedure
        if number is not None:
            data["number"] = number
    return {"ticket_id": ticket, "at": at.timestamp(), "day": day.isoformat(),
            "kind": kind, "counter_number": counter, "clerk_id": clerk,
            "queue_code": queue, "data": data}


def waiting_since(events: list[dict]) -> float | None:
    """When the ticket was last put in a queue, if it still waits there (epoch seconds)."""
    since = None
    for event in events:
        if event["kind"] in INTO_QUEUE:
            since = event["at"]
        elif event["kind"] in OUT_OF_QUEUE:
            since = None
    return since


def _local(timezone: str):
    zone = ZoneInfo(timezone)
    return lambda ts: datetime.fromtimestamp(ts, zone)


def fact_row(hall_id: int, fact: Fact, issued_at: float, since: float | None, zone) -> tuple:
    """One row of ``hub_facts``."""
    return (hall_id, fact.ticket_id, fact.day, datetime.fromtimestamp(issued_at, zone),
            fact.hour, fact.procedure_code, fact.queue_code, fact.counter_number, fact.clerk_id,
            fact.served, fact.no_show, fact.cancelled, fact.transferred, fact.dossiers,
            fact.wait_ms, fact.service_ms, fact.rating, fact.rating_levels,
            None if since is None else datetime.fromtimestamp(since, zone))


def facts_of_tickets(conn: psycopg.Connection, hall_id: int, tickets: list[int],
                     timezone: str) -> list[tuple]:
    """The ``hub_facts`` rows of some of a hall's tickets, from all their stored events."""
    local = _local(timezone)
    zone = ZoneInfo(timezone)
    rows, events, current = [], [], None

    def close():
        fact = fact_of(events, local)
        if fact is not None:
            issued = next(e for e in events if e["kind"] == K.ISSUED)
            rows.append(fact_row(hall_id, fact, issued["at"], waiting_since(events), zone))

    for row in ticket_events(conn, hall_id, tickets):
        if row[0] != current and events:
            close()
            events = []
        current = row[0]
        events.append(as_hall_event(row))
    if events:
        close()
    return rows


def tallies_of_day(conn: psycopg.Connection, hall_id: int, day) -> dict[tuple[str, str], Tally]:
    """The tallies of one hall's day by (dimension, key), from its facts."""
    out: dict[tuple[str, str], Tally] = {}
    everything = out[("all", "")] = Tally()
    day = date.fromisoformat(day) if isinstance(day, str) else day  # a fact's day is its text
    text, weekday = day.isoformat(), day.weekday()
    # All rows at once, the day's text made once: this runs for every rebuilt day.
    for row in conn.execute(
            "SELECT hour, procedure, queue, counter, clerk, served, no_show, cancelled,"
            " transferred, dossiers, wait_ms, service_ms, rating, rating_levels FROM hub_facts"
            " WHERE hall_id = %s AND day = %s", (hall_id, day)).fetchall():
        fact = Fact(0, text, row[0], weekday, *row[1:])
        everything.add(fact)
        for group in (("procedure", key_text(fact.procedure_code)), ("hour", str(fact.hour))):
            tally = out.get(group)
            if tally is None:
                tally = out[group] = Tally()
            tally.add(fact)
    if not everything.issued:
        del out[("all", "")]
    return out


def rebuild_days(conn: psycopg.Connection, hall_id: int, days) -> int:
    """Rebuild the rollups of a hall's ``days`` from their facts (and mark them stale for the
    province's rows); the rows written."""
    written = 0
    mark_stale(conn, hall_id, days)
    for day in sorted(days):
        conn.execute("DELETE FROM hub_rollups WHERE hall_id = %s AND day = %s", (hall_id, day))
        rows = []
        for (dimension, key), t in tallies_of_day(conn, hall_id, day).items():
            row = t.row(day, dimension, key)
            rows.append((hall_id, *row, *hall_row_extras(dimension, row[-2], row[-1])))
        if rows:
            with conn.cursor() as cur, cur.copy(
                    f"COPY hub_rollups ({ROLLUP_COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        written += len(rows)
    return written


def update_tickets(conn: psycopg.Connection, hall_id: int, tickets: list[int],
                   rebuild: bool = True, timezone: str | None = None) -> set:
    """Recompute the facts of ``tickets`` and rebuild their days' rollups (or, not
    ``rebuild``, mark the days for ``rebuild_due``); the days changed. ``timezone``: the
    hall's, if the caller has read it."""
    if not tickets:
        return set()
    if timezone is None:
        timezone = conn.execute("SELECT timezone FROM halls WHERE id = %s",
                                (hall_id,)).fetchone()[0]
    rows = facts_of_tickets(conn, hall_id, tickets, timezone)
    days = {row[2] for row in rows}
    columns = ", ".join(FACT_COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in FACT_COLUMNS[2:])
    if 0 < len(rows) <= SMALL:
        # A push's few tickets: one statement (round trips are what they cost).
        values = "(" + ", ".join(["%s"] * len(FACT_COLUMNS)) + ")"
        conn.execute(f"INSERT INTO hub_facts ({columns}) VALUES "
                     + ", ".join([values] * len(rows))
                     + f" ON CONFLICT (hall_id, ticket) DO UPDATE SET {updates}",
                     [value for row in rows for value in row])
    elif rows:
        # Through a staging table: one COPY and one statement, not a round trip a ticket.
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS fact_staging (LIKE hub_facts)"
                     " ON COMMIT DELETE ROWS")
        with conn.cursor() as cur, cur.copy(f"COPY fact_staging ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute(f"INSERT INTO hub_facts ({columns}) SELECT {columns} FROM fact_staging"
                     f" ON CONFLICT (hall_id, ticket) DO UPDATE SET {updates}")
        conn.execute("DELETE FROM fact_staging")
    if rebuild:
        rebuild_days(conn, hall_id, days)
    elif days:
        # The time a day already waits for (its last rebuild's + the spacing) is kept.
        conn.execute("INSERT INTO hub_rollups_due (hall_id, day) SELECT %s, unnest(%s::date[])"
                     " ON CONFLICT (hall_id, day) DO UPDATE SET changed = true",
                     (hall_id, sorted(days)))
    return days


def rebuild_due(conn: psycopg.Connection, hall_id: int, every: float) -> int:
    """Rebuild a hall's changed days whose time has come, and let each wait ``every``
    seconds before its next rebuild (under the hall's lock: ``catch_up_hall``); how many."""
    # One statement: a day unchanged since its rebuild, once its spacing is over, needs no
    # row (the two touch different rows).
    days = [r[0] for r in conn.execute(
        "WITH over AS (DELETE FROM hub_rollups_due WHERE hall_id = %s AND NOT changed"
        "  AND due_at <= now())"
        " UPDATE hub_rollups_due SET changed = false, due_at = now() + make_interval(secs => %s)"
        " WHERE hall_id = %s AND changed AND due_at <= now() RETURNING day",
        (hall_id, every, hall_id))]
    if days:
        rebuild_days(conn, hall_id, days)
    return len(days)


def mark_dirty(conn: psycopg.Connection, hall_id: int, new: list[tuple]) -> None:
    """The ingest's hook, inside the storing transaction: note the tickets a batch touched,
    for the facts job to count after the commit (``catch_up``)."""
    tickets = sorted({row[4] for row in new if row[4] is not None})
    if tickets:
        conn.execute("INSERT INTO hub_dirty (hall_id, ticket) SELECT %s, unnest(%s::int[])"
                     " ON CONFLICT (hall_id, ticket) DO NOTHING", (hall_id, tickets))


def catch_up_hall(conn: psycopg.Connection, hall_id: int, chunk: int = CHUNK,
                  every: float = 0.0) -> int | None:
    """Count up to ``chunk`` of a hall's noted tickets, then rebuild the rollups of its days
    that changed, each at most every ``every`` seconds (0: at once), in one transaction;
    how many tickets (None: another process is counting this hall)."""
    with conn.transaction():
        locked, timezone = conn.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s), (SELECT timezone FROM halls"
            " WHERE id = %s)", (DIRTY_LOCK, hall_id, hall_id)).fetchone()
        if not locked:
            return None
        # A batch committing meanwhile notes its tickets again (its insert waits for this
        # delete), so nothing noted is lost: it is counted in the next round.
        tickets = [r[0] for r in conn.execute(
            "DELETE FROM hub_dirty WHERE hall_id = %s AND ticket IN (SELECT ticket FROM"
            " hub_dirty WHERE hall_id = %s ORDER BY ticket LIMIT %s) RETURNING ticket",
            (hall_id, hall_id, chunk))]
        if tickets:
            update_tickets(conn, hall_id, sorted(tickets), rebuild=False, timezone=timezone)
        days = rebuild_due(conn, hall_id, every)
        if tickets or days:
            conn.execute("SELECT pg_notify('hub_events', %s)", (str(hall_id),))
    return len(tickets)


def catch_up(conn: psycopg.Connection, every: float = 0.0) -> int:
    """Count every hall's noted tickets and rebuild the days due (``catch_up_hall``); how
    many tickets (halls another process is counting are left to it)."""
    counted = 0
    while True:
        done = 0
        for (hall_id,) in conn.execute(
                "SELECT hall_id FROM hub_dirty UNION SELECT hall_id FROM hub_rollups_due"
                " WHERE changed AND due_at <= now()").fetchall():
            done += catch_up_hall(conn, hall_id, every=every) or 0
        counted += done
        if not done:
            return counted


def pending(conn: psycopg.Connection) -> dict:
    """For ``/healthz``: tickets waiting to be counted, how long the oldest has waited, and
    the days whose rollups wait for their rebuild."""
    count, oldest = conn.execute(
        "SELECT count(*), extract(epoch FROM now() - min(since)) FROM hub_dirty").fetchone()
    days = conn.execute("SELECT count(*) FROM hub_rollups_due WHERE changed").fetchone()[0]
    return {"tickets": count, "oldest_s": None if oldest is None else round(float(oldest), 1),
            "rollup_days": days}


def counter(pool, period: float = PERIOD_SECONDS, traffic: Traffic | None = None,
            give_way: float = GIVE_WAY_SECONDS, every: float = REBUILD_EVERY_SECONDS) -> Job:
    """The facts job of ``goiso hub serve``: counts the noted tickets every ``period``
    seconds, at once again while there are more, and rebuilds a day's rollups at most every
    ``every`` seconds; giving way first (``give_way`` seconds at most) to the batches its
    worker is storing (``traffic``)."""
    before = None if traffic is None else (lambda: traffic.give_way(give_way))
    return Job("facts", pool, lambda conn: catch_up(conn, every), period, before=before)


def rebuild_hall(conn: psycopg.Connection, hall_id: int) -> int:
    """Every fact and rollup of one hall recomputed from its events (after a fix in how they
    are counted); the tickets counted."""
    tickets = hall_tickets(conn, hall_id)
    with conn.transaction():
        conn.execute("DELETE FROM hub_facts WHERE hall_id = %s", (hall_id,))
        # Days that had rows: the province's rows of them change even if none come back.
        mark_stale(conn, hall_id, [r[0] for r in conn.execute(
            "DELETE FROM hub_rollups WHERE hall_id = %s RETURNING day", (hall_id,))])
        for start in range(0, len(tickets), 2000):
            update_tickets(conn, hall_id, tickets[start:start + 2000])
    return len(tickets)
