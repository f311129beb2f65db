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
from datetime import date
from pathlib import Path

import numpy
import psycopg

from hall import errors, importing
from hall.reports import parse_range
from hall.rollups import MAX_LEVELS, Tally
from hall.rules import Rules

from .catalogue import version_file
from .figures import figures
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


def _where(first: str, last: str, halls: list[int] | None) -> tuple[str, tuple]:
    sql = " WHERE day BETWEEN %s AND %s"
    params: tuple = (date.fromisoformat(first), date.fromisoformat(last))
    if halls is not None:
        sql += " AND hall_id = ANY(%s)"
        params += (halls,)
    return sql, params


# A group's sums and its times, joined in the database (one bytea per group: the times need
# not be sorted for ``hub.figures``), read in binary: no row per day and hall reaches Python.
GROUPED = ("sum(issued), sum(served), sum(no_show), sum(cancelled), sum(transferred),"
           " sum(dossiers), sum(rated), sum(satisfied), string_agg(ratings, ''::bytea),"
           " string_agg(waits, ''::bytea), string_agg(services, ''::bytea)")
GROUP_KEYS = {"hall": ("all", "hall_id::text"), "day": ("all", "day::text"),
              "procedure": ("procedure", "key"), "field": ("procedure", "key"),
              "hour": ("hour", "key")}


def _tally(row) -> Tally:
    """A group's ``Tally`` from its sums and joined bytes."""
    ratings = numpy.frombuffer(row[8], dtype=numpy.int32).reshape(-1, MAX_LEVELS).sum(axis=0)
    return Tally(*(int(v) for v in row[:8]), [int(v) for v in ratings],
                 wait_runs=[row[9]] if row[9] else [],
                 service_runs=[row[10]] if row[10] else [])


def _groups(conn: psycopg.Connection, first: str, last: str, halls, by: str) -> dict:
    """Tallies of a range by the grouping's key (as stored: text)."""
    dimension, key = GROUP_KEYS[by]
    where, params = _where(first, last, halls)
    return {r[0]: _tally(r[1:]) for r in conn.execute(
        f"SELECT {key}, {GROUPED} FROM hub_rollups{where} AND dimension = %s GROUP BY 1",
        (*params, dimension), binary=True)}


def _trend(conn: psycopg.Connection, first: str, last: str, halls) -> list[dict]:
    where, params = _where(first, last, halls)
    return [{"day": day.isoformat(), "issued": int(i), "served": int(s), "dossiers": int(d)}
            for day, i, s, d in conn.execute(
                f"SELECT day, sum(issued), sum(served), sum(dossiers) FROM hub_rollups{where}"
                " AND dimension = 'all' GROUP BY day ORDER BY day", params)]


def _heatmap(conn: psycopg.Connection, first: str, last: str, halls) -> list[list[int]]:
    """Arrivals by weekday × hour (counts only: summed in the database)."""
    where, params = _where(first, last, halls)
    heat = [[0] * 24 for _ in range(7)]
    for day, hour, issued in conn.execute(
            f"SELECT day, key, sum(issued) FROM hub_rollups{where} AND dimension = 'hour'"
            " GROUP BY day, key", params):
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
    target_s = TARGET_WAIT_MINUTES * 60
    table = []
    for text, t in groups.items():
        key = _key(by, text)
        name = (f"{key:02d}:00" if by == "hour" else key if by == "day"
                else names.get(key, names.get(str(key), str(key))) if key is not None else "—")
        table.append({"key": key, "name": name, **figures(t, target_s, len(RATING_LEVELS))})
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
    groups = _groups(conn, first, last, halls, by)
    total = Tally()
    for t in groups.values():  # every ticket is in exactly one group of any grouping
        total.merge(t)
    if by == "field":
        fields = dict(conn.execute("SELECT code, field_id FROM hub_procedure_fields"))
        by_field: dict = {}
        for code, t in groups.items():
            field = "" if fields.get(code) is None else str(fields[code])
            by_field.setdefault(field, Tally()).merge(t)
        groups = by_field
    target_s = TARGET_WAIT_MINUTES * 60
    return {"from": first, "to": last, "by": by, "halls": halls,
            "rows": _rows(groups, by, _names(conn, by, english)),
            "total": figures(total, target_s, len(RATING_LEVELS)),
            "also": {}, "target_wait_minutes": TARGET_WAIT_MINUTES,
            "rating_levels": list(RATING_LEVELS),
            "heatmap": _heatmap(conn, first, last, halls),
            "trend": _trend(conn, first, last, halls)}
