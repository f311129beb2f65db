"""Province reports from the rollups: the same figures, shapes and definitions as a hall's
report (``hall.reports``: its ``figures`` of merged ``Tally`` runs, exact percentiles), grouped
by hall, field, procedure, day or hour over any halls and range of business days.

A figure for one hall equals that hall's own report for the same range: the facts are made by
the hall's ``fact_of``, tallied by its ``Tally`` and read with its definitions
(``hub.figures``, the same values computed with numpy). Fields come from
the province's catalogue (``hub_procedure_fields``) when the report is read.
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

import numpy
import psycopg

from hall import errors, importing
from hall.reports import parse_range
from hall.rollups import MAX_LEVELS
from hall.rules import Rules

from .catalogue import version_file
from .figures import group_figures
from .percentiles import GroupTimes, slice_sql, summed
from .province import PROVINCE_OF, SUMS
from .schema import LOCK

GROUPS = ("hall", "field", "procedure", "day", "hour")
INTEGER_KEYS = ("hall", "field", "hour")
DEFAULTS = Rules()
TARGET_WAIT_MINUTES = DEFAULTS.target_wait_minutes  # the province's, as every hall's default
RATING_LEVELS = DEFAULTS.rating_levels
MAX_HALLS = 500  # in one report's ``hall`` list


def parse_halls(text: str | None) -> list[int] | None:
    """``hall=3,7`` as hall ids (None: every hall) or InvalidInput naming the field."""
    if text is None or not text.strip():
        return None
    try:
        halls = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise errors.InvalidInput(field="hall") from None
    if not halls or len(halls) > MAX_HALLS or any(not 0 < h < 2**31 for h in halls):
        raise errors.InvalidInput(field="hall")
    return halls


def sync_fields(conn: psycopg.Connection) -> int | None:
    """Read each procedure's field and name from the newest published catalogue into
    ``hub_procedure_fields`` if that version was not read yet; the version (None: none)."""
    newest = conn.execute("SELECT max(version) FROM catalogue_versions").fetchone()[0]
    done = conn.execute("SELECT version FROM hub_fields_source WHERE id = 1").fetchone()
    if newest is None or (done and done[0] == newest):
        return newest
    name, content = version_file(conn, newest)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"catalogue{Path(name).suffix.lower()}"
        path.write_bytes(content)
        rows = importing.read_table(path)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK + 2,))
        # A field keeps its number while its name stays in the catalogue.
        numbers = dict(conn.execute(
            "SELECT DISTINCT field_name, field_id FROM hub_procedure_fields").fetchall())
        entries = []
        for _line, row in rows:
            field = row.get("field", "").strip()
            if field not in numbers:
                numbers[field] = max(numbers.values(), default=0) + 1
            entries.append((row["code"], numbers[field], field, row.get("name", ""),
                            row.get("name_en", "")))
        conn.execute("DELETE FROM hub_procedure_fields")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO hub_procedure_fields (code, field_id, field_name, name,"
                            " name_en) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (code) DO NOTHING",
                            entries)
        conn.execute("INSERT INTO hub_fields_source (id, version) VALUES (1, %s)"
                     " ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version", (newest,))
    return newest


# What a report reads of a rollup row: where it stands, then its tally (``SUMS`` and times).
TALLY = ", ".join((*SUMS, "ratings", "waits", "services", "wait_sum", "service_sum",
                   "wait_counts", "service_counts"))
COLUMNS = "day, dimension, key, " + TALLY
R_COLUMNS = ", ".join("r." + c for c in COLUMNS.split(", "))  # the same, of ``hub_rollups r``
# The province's rows of the days no hall has marked stale, and the halls' own rows of the
# days some hall has: the same figures, in one snapshot (``hub.province``).
PROVINCE_SOURCE = f"""
    WITH stale AS (
        SELECT DISTINCT {PROVINCE_OF} AS province_id, s.day
        FROM hub_rollups_stale s JOIN halls h ON h.id = s.hall_id
        WHERE s.day BETWEEN %(first)s AND %(last)s),
    src AS (
        SELECT NULL::integer AS hall_id, {COLUMNS} FROM hub_rollups_province p
        WHERE p.day BETWEEN %(first)s AND %(last)s AND p.dimension = %(dimension)s
          AND NOT EXISTS (SELECT 1 FROM stale
                          WHERE stale.province_id = p.province_id AND stale.day = p.day)
        UNION ALL
        SELECT r.hall_id, {R_COLUMNS}
        FROM hub_rollups r JOIN halls h ON h.id = r.hall_id
        JOIN stale ON stale.province_id = {PROVINCE_OF} AND stale.day = r.day
        WHERE r.day BETWEEN %(first)s AND %(last)s AND r.dimension = %(dimension)s)
"""
HALLS_SOURCE = f"""
    WITH src AS (
        SELECT hall_id, {COLUMNS} FROM hub_rollups
        WHERE day BETWEEN %(first)s AND %(last)s AND dimension = %(dimension)s
          AND (%(halls)s::integer[] IS NULL OR hall_id = ANY(%(halls)s)))
"""
# By hall: a hall's months wholly inside the range from its month rows where none of its days
# is marked stale, its other days from its day rows (the edges of the range, and the months
# it changed since; a hall-month with day rows but no month row is always marked).
HALL_MONTHS_SOURCE = f"""
    WITH marked AS (
        SELECT DISTINCT hall_id, date_trunc('month', day)::date AS month
        FROM hub_rollups_stale WHERE day BETWEEN %(whole_first)s AND %(whole_last)s),
    src AS (
        SELECT m.hall_id, m.month AS day, 'all' AS dimension, '' AS key,
               {TALLY}
        FROM hub_rollups_hall_month m
        WHERE m.month BETWEEN %(whole_first)s AND %(whole_last)s
          AND (%(halls)s::integer[] IS NULL OR m.hall_id = ANY(%(halls)s))
          AND NOT EXISTS (SELECT 1 FROM marked
                          WHERE marked.hall_id = m.hall_id AND marked.month = m.month)
        UNION ALL
        SELECT hall_id, {COLUMNS} FROM hub_rollups
        WHERE dimension = 'all' AND day BETWEEN %(first)s AND %(last)s
          AND (day < %(whole_first)s OR day > %(whole_last)s)
          AND (%(halls)s::integer[] IS NULL OR hall_id = ANY(%(halls)s))
        UNION ALL
        SELECT r.hall_id, {R_COLUMNS}
        FROM marked JOIN hub_rollups r ON r.hall_id = marked.hall_id
            AND r.day >= marked.month AND r.day < (marked.month + interval '1 month')::date
            AND r.dimension = 'all'
        WHERE (%(halls)s::integer[] IS NULL OR r.hall_id = ANY(%(halls)s)))
"""
# What each grouping reads (the rollups' dimension) and groups by (as text).
GROUP_KEYS = {"hall": ("all", "src.hall_id::text"), "day": ("all", "src.day::text"),
              "procedure": ("procedure", "src.key"),
              "field": ("procedure", "coalesce(f.field_id::text, '')"),
              "hour": ("hour", "src.key")}
FIELD_JOIN = " LEFT JOIN hub_procedure_fields f ON f.code = src.key"
SUM_COUNT = len(SUMS)
# A group's sums, ratings, times' sums, bucket counts of the rows that have them and the
# times of the rows that don't (joined in the database, read in binary), and the total.
STEP_ONE = """
    SELECT GROUPING(k) = 1, k, {sums}, string_agg(ratings, ''::bytea), sum(wait_sum)::bigint,
           sum(service_sum)::bigint, string_agg(wait_counts, ''::bytea),
           string_agg(service_counts, ''::bytea),
           string_agg(CASE WHEN wait_counts IS NULL THEN waits END, ''::bytea),
           string_agg(CASE WHEN service_counts IS NULL THEN services END, ''::bytea)
    FROM (SELECT {key} AS k, src.* FROM src{join}) g
    GROUP BY GROUPING SETS ((k), ())
"""
# The times in the wanted buckets of the rows with counts: each row once, its group's buckets
# (``SLOTS`` of waits then services; -1: none) and the total's in the same pass.
SLOTS = (3, 2)  # p50, p90 and the target's bucket of waits; p50 and p90 of services
_PIECES = [(times, counts, slot) for times, counts, n in
           (("waits", "wait_counts", SLOTS[0]), ("services", "service_counts", SLOTS[1]))
           for slot in range(n)]
STEP_TWO = """
    , want AS (SELECT * FROM unnest(%(want_k)s::text[], {arrays}) AS w(k, {names})),
    g AS (SELECT {{key}} AS k, src.waits, src.services, src.wait_counts, src.service_counts
          FROM src{{join}} WHERE src.wait_counts IS NOT NULL)
    SELECT g.k, {groups}, {totals}
    FROM g LEFT JOIN want w ON w.k = g.k
    GROUP BY g.k
""".format(
    arrays=", ".join(f"%(want_{i})s::integer[]" for i in range(len(_PIECES))),
    names=", ".join(f"b{i}" for i in range(len(_PIECES))),
    groups=", ".join(f"string_agg({slice_sql('g.' + t, 'g.' + c, f'w.b{i}')}, ''::bytea)"
                     for i, (t, c, _slot) in enumerate(_PIECES)),
    totals=", ".join(f"string_agg({slice_sql('g.' + t, 'g.' + c, f'%(total_{i})s::integer')},"
                     " ''::bytea)" for i, (t, c, _slot) in enumerate(_PIECES)))


def _slots(waits: GroupTimes, services: GroupTimes) -> list[int]:
    """The buckets a group wants read, one per piece of ``STEP_TWO`` (-1: none)."""
    out = []
    for times, n in ((waits, SLOTS[0]), (services, SLOTS[1])):
        wanted = sorted(times.wanted())
        out += wanted + [-1] * (n - len(wanted))
    return out


def _source(first: str, last: str, halls, dimension: str, by_hall: bool) -> tuple[str, dict]:
    """The rows a report reads: the halls' own (a list of halls, or ``by=hall``) or the
    province's where they are up to date."""
    params = {"first": date.fromisoformat(first), "last": date.fromisoformat(last),
              "dimension": dimension, "halls": halls}
    if by_hall:
        return HALL_MONTHS_SOURCE, params | dict(zip(("whole_first", "whole_last"),
                                                     whole_months(params["first"],
                                                                  params["last"]),
                                                     strict=True))
    return (HALLS_SOURCE if halls is not None else PROVINCE_SOURCE), params


def whole_months(first: date, last: date) -> tuple[date, date]:
    """The first day of the first month wholly in ``first``…``last`` and the last day of the
    last one (the first after the second when there is none)."""
    start = first if first.day == 1 else (first.replace(day=28) + timedelta(days=4)).replace(
        day=1)
    end = last + timedelta(days=1)
    end = (end if end.day == 1 else end.replace(day=1)) - timedelta(days=1)
    return start, end


def _groups(conn: psycopg.Connection, first: str, last: str, halls, by: str) -> tuple:
    """The figures of each group of a range (by the grouping's key, as text) and of the total."""
    dimension, key = GROUP_KEYS[by]
    join = FIELD_JOIN if by == "field" else ""
    source, params = _source(first, last, halls, dimension, by == "hall")
    target_ms = TARGET_WAIT_MINUTES * 60_000
    found = {}
    for row in conn.execute(source + STEP_ONE.format(
            sums=", ".join(f"sum({c})::bigint" for c in SUMS), key=key, join=join), params,
            binary=True):
        total, k, sums = row[0], row[1], [int(v or 0) for v in row[2:2 + SUM_COUNT]]
        ratings, wait_sum, service_sum, wait_counts, service_counts, waits, services = \
            row[2 + SUM_COUNT:]
        ratings = numpy.frombuffer(ratings or b"", dtype=numpy.int32).reshape(
            -1, MAX_LEVELS).sum(axis=0, dtype=numpy.int64)
        found[(total, k)] = (sums, [int(v) for v in ratings] if len(ratings) else
                             [0] * MAX_LEVELS,
                             GroupTimes(summed(wait_counts), waits, int(wait_sum or 0),
                                        target_ms),
                             GroupTimes(summed(service_counts), services,
                                        int(service_sum or 0)))
    slots = {k: _slots(waits, services) for (total, k), (_s, _r, waits, services)
             in found.items()}
    if any(b >= 0 for wanted in slots.values() for b in wanted):
        groups = [k for k in slots if k is not None]
        params |= {"want_k": groups, **{f"want_{i}": [slots[k][i] for k in groups]
                                        for i in range(len(_PIECES))},
                   **{f"total_{i}": b for i, b in enumerate(slots[None])}}
        total_parts: list[list[bytes]] = [[] for _ in _PIECES]
        for row in conn.execute(source + STEP_TWO.format(key=key, join=join), params,
                                binary=True):
            group = found[(False, row[0])]
            for i, (times, _c, _slot) in enumerate(_PIECES):
                if slots[row[0]][i] >= 0:
                    group[2 if times == "waits" else 3].fill(slots[row[0]][i], row[1 + i])
                total_parts[i].append(row[1 + len(_PIECES) + i] or b"")
        everything = found[(True, None)]
        for i, (times, _c, _slot) in enumerate(_PIECES):
            if slots[None][i] >= 0:
                everything[2 if times == "waits" else 3].fill(slots[None][i],
                                                              b"".join(total_parts[i]))
    levels = len(RATING_LEVELS)
    groups, everything = {}, None
    for (total, k), (sums, ratings, waits, services) in found.items():
        figures = group_figures(sums, ratings, waits, services, levels)
        if total:
            everything = figures
        else:
            groups[k] = figures
    return groups, everything or group_figures([0] * SUM_COUNT, [0] * MAX_LEVELS,
                                               GroupTimes(summed(None), None, 0, target_ms),
                                               GroupTimes(summed(None), None, 0), levels)


def _trend(conn: psycopg.Connection, first: str, last: str, halls) -> list[dict]:
    source, params = _source(first, last, halls, "all", False)
    return [{"day": day.isoformat(), "issued": int(i), "served": int(s), "dossiers": int(d)}
            for day, i, s, d in conn.execute(
                source + "SELECT day, sum(issued), sum(served), sum(dossiers) FROM src"
                " GROUP BY day ORDER BY day", params)]


def _heatmap(conn: psycopg.Connection, first: str, last: str, halls) -> list[list[int]]:
    """Arrivals by weekday × hour (counts only: summed in the database)."""
    source, params = _source(first, last, halls, "hour", False)
    heat = [[0] * 24 for _ in range(7)]
    for day, hour, issued in conn.execute(
            source + "SELECT day, key, sum(issued) FROM src GROUP BY day, key", params):
        heat[day.weekday()][int(hour)] += int(issued)
    return heat


def _names(conn: psycopg.Connection, by: str, english: bool) -> dict:
    if by == "hall":
        return dict(conn.execute("SELECT id, name FROM halls").fetchall())
    if by == "field":
        return {str(k): v for k, v in conn.execute(
            "SELECT DISTINCT field_id, field_name FROM hub_procedure_fields"
            " WHERE field_name != ''")}
    if by == "procedure":
        return dict(conn.execute(
            "SELECT code, CASE WHEN %s AND name_en != '' THEN name_en ELSE name END"
            " FROM hub_procedure_fields WHERE name != ''", (english,)).fetchall())
    return {}


def _key(by: str, text):
    if text == "" or text is None:
        return None
    return int(text) if by in INTEGER_KEYS else str(text)


def _rows(groups: dict, by: str, names: dict) -> list[dict]:
    table = []
    for text, figures in groups.items():
        key = _key(by, text)
        name = (f"{key:02d}:00" if by == "hour" else key if by == "day"
                else names.get(key, names.get(str(key), str(key))) if key is not None else "—")
        table.append({"key": key, "name": name, **figures})
    table.sort(key=lambda r: (r["key"] is None, isinstance(r["key"], str),
                              r["key"] if isinstance(r["key"], int) else 0, str(r["key"])))
    return table


def summary(conn: psycopg.Connection, first: str | None, last: str | None, by: str,
            halls: list[int] | None = None, english: bool = False) -> dict:
    """The province's report of days ``first`` to ``last`` (of ``halls``, or all) grouped
    ``by`` one of ``GROUPS``: rows of figures, the total, arrivals by weekday × hour and the
    daily trend, as a hall's ``summary`` gives them."""
    if by not in GROUPS:
        raise errors.not_one_of("by", by, GROUPS)
    first, last = parse_range(first, last)
    if by in ("field", "procedure"):
        sync_fields(conn)
    with conn.transaction():
        # Every query of the report sees the same rows (a push may land in between).
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        # Compiling these short queries took longer (≈ 50 ms) than it saved; the joined
        # times of a group are sorted and aggregated in memory rather than on disk.
        conn.execute("SET LOCAL jit = off")
        conn.execute("SET LOCAL work_mem = '64MB'")
        groups, total = _groups(conn, first, last, halls, by)
        names = _names(conn, by, english)
        heatmap = _heatmap(conn, first, last, halls)
        trend = _trend(conn, first, last, halls)
    return {"from": first, "to": last, "by": by, "halls": halls,
            "rows": _rows(groups, by, names), "total": total,
            "also": {}, "target_wait_minutes": TARGET_WAIT_MINUTES,
            "rating_levels": list(RATING_LEVELS), "heatmap": heatmap, "trend": trend}
