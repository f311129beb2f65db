"""Province reports from the rollups: the same figures, shapes and definitions as a hall's
report (``hall.reports``: its ``figures`` of merged ``Tally`` runs, exact percentiles), grouped
by hall, field, procedure, day or hour over any halls and range of business days.

A figure for one hall equals that hall's own report for the same range: the facts are made by
the hall's ``fact_of``, tallied by its ``Tally`` and read with its definitions
(``hub.figures``, the same values computed with numpy). Fields come from
the province's catalogue (``hub_procedure_fields``) when the report is read.
"""

from __future__ import annotations

from datetime import date

import psycopg

from hall import errors
from hall.reports import parse_range
from hall.rollups import Tally
from hall.rules import Rules

from .figures import figures

GROUPS = ("hall", "field", "procedure", "day", "hour")
INTEGER_KEYS = ("hall", "field", "hour")
DEFAULTS = Rules()
TARGET_WAIT_MINUTES = DEFAULTS.target_wait_minutes  # the province's, as every hall's default
RATING_LEVELS = DEFAULTS.rating_levels
MAX_HALLS = 500  # in one report's ``hall`` list
TALLY_COLUMNS = ("issued, served, no_show, cancelled, transferred, dossiers, rated, satisfied,"
                 " ratings, waits, services")


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


def _where(first: str, last: str, halls: list[int] | None) -> tuple[str, tuple]:
    sql = " WHERE day BETWEEN %s AND %s"
    params: tuple = (date.fromisoformat(first), date.fromisoformat(last))
    if halls is not None:
        sql += " AND hall_id = ANY(%s)"
        params += (halls,)
    return sql, params


def _tallies(conn: psycopg.Connection, first: str, last: str, halls, dimension: str):
    """(hall, day, key, Tally) of one grouping's rollups of a range."""
    where, params = _where(first, last, halls)
    return [(r[0], r[1], r[2], Tally.of_row(r[3:])) for r in conn.execute(
        f"SELECT hall_id, day, key, {TALLY_COLUMNS} FROM hub_rollups{where}"
        " AND dimension = %s", (*params, dimension))]


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
            "SELECT code, name FROM hub_procedure_fields WHERE name != ''").fetchall())
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
    every_day = _tallies(conn, first, last, halls, "all")
    total, trend = Tally(), {}
    groups: dict = {}
    for hall_id, day, _key_text, t in every_day:
        total.merge(t)
        counts = trend.setdefault(day.isoformat(), [0, 0, 0])
        counts[0] += t.issued
        counts[1] += t.served
        counts[2] += t.dossiers
        if by in ("hall", "day"):
            key = str(hall_id) if by == "hall" else day.isoformat()
            groups.setdefault(key, Tally()).merge(t)
    if by in ("procedure", "field", "hour"):
        fields = dict(conn.execute("SELECT code, field_id FROM hub_procedure_fields"))
        dimension = "hour" if by == "hour" else "procedure"
        for _hall, _day, key, t in _tallies(conn, first, last, halls, dimension):
            if by == "field":
                key = "" if fields.get(key) is None else str(fields[key])
            groups.setdefault(key, Tally()).merge(t)
    target_s = TARGET_WAIT_MINUTES * 60
    return {"from": first, "to": last, "by": by, "halls": halls,
            "rows": _rows(groups, by, _names(conn, by, english)),
            "total": figures(total, target_s, len(RATING_LEVELS)),
            "also": {}, "target_wait_minutes": TARGET_WAIT_MINUTES,
            "rating_levels": list(RATING_LEVELS),
            "heatmap": _heatmap(conn, first, last, halls),
            "trend": [{"day": d, "issued": v[0], "served": v[1], "dossiers": v[2]}
                      for d, v in sorted(trend.items())]}
