"""The province's rollups: each day's rows of all a province's halls added up into one row per
day, grouping and key (``hub_rollups_province``), with the bucket counts and sums that let a
report find percentiles without reading every time (``hub.percentiles``).

A hall's rollup rows change with every batch it pushes; adding up a province for each batch
would put every hall's pushes in one line. So a rebuild of a hall's day marks it stale
(``mark_stale``, in the storing transaction), and a job (``builder``, in ``goiso hub serve``;
``build_stale``) rebuilds a province's day once its halls have been quiet for a while. A report
reads the province rows of the days no hall has marked and the halls' own rows of the others,
in one snapshot: the figures are the same either way, only faster.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import numpy
import psycopg

from hall.rollups import MAX_LEVELS

from .jobs import Job
from .percentiles import cumulative
from .schema import LOCK

QUIET_SECONDS = 60  # a province's day is rebuilt once no hall changed it for this long
PERIOD_SECONDS = 30  # between two looks for stale days
BUILD_LOCK = LOCK + 3  # one builder at a time over every hub process
COUNTED = ("all",)  # the hall rows that carry bucket counts (one a hall-day: ``by=hall``)
# A hall's province in SQL (``h``: its ``halls`` row): halls of no province add up as province 0.
PROVINCE_OF = "coalesce(h.province_id, 0)"
SUMS = ("issued", "served", "no_show", "cancelled", "transferred", "dossiers", "rated",
        "satisfied")
_TIMES = ", ratings, waits, services, wait_sum, service_sum, wait_counts, service_counts"
PROVINCE_COLUMNS = "province_id, day, dimension, key, " + ", ".join(SUMS) + _TIMES
HALL_MONTH_COLUMNS = "hall_id, month, " + ", ".join(SUMS) + _TIMES


def _sum(packed: bytes) -> int:
    return int(numpy.frombuffer(packed, dtype=numpy.int32).sum(dtype=numpy.int64))


def hall_row_extras(dimension: str, waits: bytes, services: bytes) -> tuple:
    """A hall rollup row's sums of times and (for ``COUNTED`` groupings) bucket counts."""
    counted = dimension in COUNTED
    return (_sum(waits), _sum(services),
            cumulative(numpy.frombuffer(waits, dtype=numpy.int32)) if counted else None,
            cumulative(numpy.frombuffer(services, dtype=numpy.int32)) if counted else None)


def mark_stale(conn: psycopg.Connection, hall_id: int, days) -> None:
    """Note that a hall's ``days`` changed (the province's rows of them are out of date)."""
    if days:
        conn.execute(
            "INSERT INTO hub_rollups_stale (hall_id, day) SELECT %s, unnest(%s::date[])"
            " ON CONFLICT (hall_id, day) DO UPDATE SET changes = hub_rollups_stale.changes + 1,"
            " changed_at = now()", (hall_id, sorted(set(days))))


def _merged(sums, ratings: list[bytes], waits: list[bytes], services: list[bytes]) -> tuple:
    """Some rows added up: the sums, ratings, sorted times, their sums and bucket counts."""
    rated = numpy.frombuffer(b"".join(ratings), dtype=numpy.int32).reshape(
        -1, MAX_LEVELS).sum(axis=0, dtype=numpy.int32)
    wait = numpy.sort(numpy.frombuffer(b"".join(waits), dtype=numpy.int32))
    service = numpy.sort(numpy.frombuffer(b"".join(services), dtype=numpy.int32))
    return (*sums, rated.tobytes(), wait.tobytes(), service.tobytes(),
            int(wait.sum(dtype=numpy.int64)), int(service.sum(dtype=numpy.int64)),
            cumulative(wait), cumulative(service))


def _grouped(rows, width: int) -> dict:
    """Rows of (key…, sums…, ratings, waits, services) gathered by their first ``width``
    values."""
    groups: dict = defaultdict(lambda: ([0] * len(SUMS), [], [], []))
    for row in rows:
        sums, ratings, waits, services = groups[tuple(row[:width])]
        for i, value in enumerate(row[width:width + len(SUMS)]):
            sums[i] += value
        ratings.append(row[-3])
        waits.append(row[-2])
        services.append(row[-1])
    return groups


_READ = ", ".join(f"r.{c}" for c in SUMS) + ", r.ratings, r.waits, r.services"


def build_day(conn: psycopg.Connection, province: int, day) -> int:
    """Rebuild one province's rows of one day from its halls' rows; the rows written."""
    conn.execute("DELETE FROM hub_rollups_province WHERE province_id = %s AND day = %s",
                 (province, day))
    groups = _grouped(conn.execute(
        f"SELECT r.dimension, r.key, {_READ} FROM hub_rollups r"
        " JOIN halls h ON h.id = r.hall_id"
        f" WHERE {PROVINCE_OF} = %s AND r.day = %s", (province, day),
        binary=True), 2)
    if groups:
        with conn.cursor() as cur, cur.copy(
                f"COPY hub_rollups_province ({PROVINCE_COLUMNS}) FROM STDIN") as copy:
            for (dimension, key), parts in groups.items():
                copy.write_row((province, day, dimension, key, *_merged(*parts)))
    return len(groups)


def build_hall_month(conn: psycopg.Connection, hall_id: int, month) -> bool:
    """Rebuild a hall's row of a whole month (``month``: its first day) from its days."""
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    conn.execute("DELETE FROM hub_rollups_hall_month WHERE hall_id = %s AND month = %s",
                 (hall_id, month))
    groups = _grouped(conn.execute(
        f"SELECT {_READ} FROM hub_rollups r WHERE r.hall_id = %s AND r.day >= %s"
        " AND r.day < %s AND r.dimension = 'all'", (hall_id, month, following),
        binary=True), 0)
    if groups:
        conn.execute(f"INSERT INTO hub_rollups_hall_month ({HALL_MONTH_COLUMNS})"
                     " VALUES (" + ", ".join(["%s"] * (2 + len(SUMS) + 7)) + ")",
                     (hall_id, month, *_merged(*groups[()])))
    return bool(groups)


def stale_days(conn: psycopg.Connection, quiet_seconds: float = QUIET_SECONDS) -> list[tuple]:
    """The (province, day)s some hall changed, none in the last ``quiet_seconds``."""
    return conn.execute(
        f"SELECT {PROVINCE_OF}, s.day FROM hub_rollups_stale s"
        " JOIN halls h ON h.id = s.hall_id GROUP BY 1, 2"
        " HAVING max(s.changed_at) <= now() - make_interval(secs => %s)"
        " ORDER BY 2, 1", (quiet_seconds,)).fetchall()


def state(conn: psycopg.Connection) -> dict:
    """For ``/healthz``: the days marked stale, and how many of them have been quiet for
    over ten minutes yet are not rebuilt (the builder is behind or failing)."""
    days, behind = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE quiet < now() - interval '10 minutes')"
        " FROM (SELECT max(s.changed_at) AS quiet FROM hub_rollups_stale s"
        f" JOIN halls h ON h.id = s.hall_id GROUP BY {PROVINCE_OF}, s.day) d"
        ).fetchone()
    return {"stale_days": days, "quiet_not_rebuilt": behind}


def _build_month(conn: psycopg.Connection, province: int, days: list) -> bool | None:
    """Rebuild a province's stale ``days`` of one month, and the month rows of the halls that
    changed them, and clear the marks it saw; None if another builder is at work, False if
    a hall changed one of the days meanwhile (all left marked)."""
    try:
        with conn.transaction():
            # One snapshot for the marks and the rows they cover: a mark bumped after it
            # makes the clearing fail, and the days stay stale.
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            if not conn.execute("SELECT pg_try_advisory_xact_lock(%s)",
                                (BUILD_LOCK,)).fetchone()[0]:
                return None
            marks = conn.execute(
                "SELECT s.hall_id, s.day, s.changes FROM hub_rollups_stale s"
                " JOIN halls h ON h.id = s.hall_id"
                f" WHERE {PROVINCE_OF} = %s AND s.day = ANY(%s)",
                (province, days)).fetchall()
            for day in days:
                build_day(conn, province, day)
            for hall in sorted({m[0] for m in marks}):
                build_hall_month(conn, hall, days[0].replace(day=1))
            conn.execute(
                "DELETE FROM hub_rollups_stale s"
                " USING unnest(%s::int[], %s::date[], %s::bigint[]) AS m(hall_id, day, changes)"
                " WHERE s.hall_id = m.hall_id AND s.day = m.day AND s.changes = m.changes",
                ([m[0] for m in marks], [m[1] for m in marks], [m[2] for m in marks]))
    except psycopg.errors.SerializationFailure:
        return False
    return True


def build_stale(conn: psycopg.Connection, quiet_seconds: float = QUIET_SECONDS) -> int:
    """Rebuild the province days gone stale and quiet (a province's month in a transaction);
    how many days were rebuilt. Stops early if another process is building."""
    months: dict = defaultdict(list)
    for province, day in stale_days(conn, quiet_seconds):
        months[(province, day.replace(day=1))].append(day)
    built = 0
    for (province, _month), days in sorted(months.items()):
        done = _build_month(conn, province, days)
        if done is None:
            break
        built += len(days) if done else 0
    return built


def builder(pool, period: float = PERIOD_SECONDS, quiet_seconds: float = QUIET_SECONDS) -> Job:
    """The hub's background rebuild of stale province days (every worker runs one; the lock
    in the database lets one build at a time)."""
    return Job("province", pool, lambda conn: build_stale(conn, quiet_seconds), period)
