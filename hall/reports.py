"""Reports of what happened in the hall over a range of business days, computed from the event
log (through ``rollups``: closed days from their rollups, today live), never from counters kept
on the side.

Definitions (the same in the API, the page and the files):
* issued: tickets issued on the range's days; served / no_show / cancelled: how their way ended
  (the last of finish, no-show, cancel, expiry, reactivation); transferred: tickets transferred
  at least once; dossiers: codes recorded at finish.
* wait: issue → first call; service: last call → finish; averages and nearest-rank percentiles
  (p50, p90) of the real seconds, in seconds.
* within_target_share: of the tickets called, the share called within the target wait.
* satisfied_share: of the ratings, the share in the better half of the levels (the middle one
  of an odd number included: "Rất hài lòng" and "Hài lòng" of three).
* a ticket belongs to the business day (and the hour of the wall clock) it was issued; its
  counter and clerk are those of its last call (none when never called).
"""

import math
from datetime import date, timedelta
from types import SimpleNamespace

from . import errors, rollups
from .transaction import Reading
from .words import N_

GROUPS = ("field", "procedure", "queue", "counter", "clerk", "day", "hour")
MAX_DAYS = 3660
FACT_SQL = f"SELECT {', '.join(rollups.COLUMNS)} FROM report_tickets WHERE day BETWEEN ? AND ?"
C = SimpleNamespace(**{name: i for i, name in enumerate(rollups.COLUMNS)})


def percentile(ordered: list[float], share: float) -> float | None:
    """The nearest-rank percentile of sorted values (None when there are none)."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def satisfied(level: int, levels: int) -> bool:
    """Whether a rating is in the better half of its levels (the middle one included)."""
    return 2 * level <= levels + 1


def parse_range(first: str | None, last: str | None) -> tuple[str, str]:
    """Check a range of ISO dates (``from`` ≤ ``to``, at most ten years) or raise InvalidInput."""
    days = []
    for name, text in (("from", first), ("to", last)):
        try:
            days.append(date.fromisoformat(str(text or "")))
        except ValueError:
            raise errors.InvalidInput(N_("%(field)s: cần một ngày dạng YYYY-MM-DD."),
                                      field=name) from None
    if days[0] > days[1]:
        raise errors.InvalidInput(N_("%(field)s: ngày bắt đầu phải không sau ngày kết thúc."),
                                  field="from")
    if (days[1] - days[0]).days >= MAX_DAYS:
        raise errors.InvalidInput(N_("%(field)s: khoảng ngày dài quá mười năm."), field="to")
    return days[0].isoformat(), days[1].isoformat()


def facts(reading: Reading, first: str, last: str) -> list[tuple]:
    """The per-ticket facts of a range: closed days from the rollups (live from the log for
    one not built yet), today and later live."""
    closed = min(last, _before(reading.day))
    rows = [tuple(r) for r in reading.all(FACT_SQL, (first, closed))]
    built = {r[0] for r in reading.all("SELECT day FROM report_days WHERE day BETWEEN ? AND ?",
                                       (first, closed))}
    unbuilt = [r[0] for r in reading.all(
        "SELECT DISTINCT day FROM tickets WHERE day BETWEEN ? AND ?", (first, closed))
        if r[0] not in built]
    for day in unbuilt:
        rows += [f.row() for f in rollups.derive(reading, day, day)]
    if last >= reading.day:
        rows += [f.row() for f in rollups.derive(reading, max(first, reading.day), last)]
    return rows


def _before(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


def _names(reading: Reading, by: str, english: bool) -> dict:
    if by == "field":
        sql = "SELECT id, CASE WHEN ? AND name_en != '' THEN name_en ELSE name END FROM fields"
    elif by == "procedure":
        sql = ("SELECT code, CASE WHEN ? AND name_en != '' THEN name_en ELSE name END"
               " FROM procedures")
    elif by == "queue":
        sql = "SELECT code, name FROM queues WHERE ? IS NOT NULL"
    elif by == "counter":
        sql = "SELECT number, name FROM counters WHERE ? IS NOT NULL"
    elif by == "clerk":
        sql = "SELECT id, name FROM clerks WHERE ? IS NOT NULL"
    else:
        return {}
    return dict(reading.all(sql, (english,)))


def _key_of(reading: Reading, by: str):
    if by == "field":
        fields = dict(reading.all("SELECT code, field_id FROM procedures"))
        return lambda row: fields.get(row[C.procedure_code])
    column = {"procedure": "procedure_code", "queue": "queue_code", "counter": "counter_number",
              "clerk": "clerk_id", "day": "day", "hour": "hour"}[by]
    index = getattr(C, column)
    return lambda row: row[index]


def figures(rows: list[tuple], target_s: float, levels: int) -> dict:
    """Every figure of one group of facts."""
    waits = sorted(r[C.wait_s] for r in rows if r[C.wait_s] is not None)
    services = sorted(r[C.service_s] for r in rows if r[C.service_s] is not None)
    rated = [(r[C.rating], r[C.rating_levels]) for r in rows if r[C.rating] is not None]
    per_level = [0] * levels
    for level, _ in rated:
        if level <= levels:
            per_level[level - 1] += 1
    within = sum(1 for w in waits if w <= target_s)
    return {
        "issued": len(rows),
        "served": sum(r[C.served] for r in rows),
        "no_show": sum(r[C.no_show] for r in rows),
        "cancelled": sum(r[C.cancelled] for r in rows),
        "transferred": sum(r[C.transferred] for r in rows),
        "dossiers": sum(r[C.dossiers] for r in rows),
        "wait_avg_s": round(sum(waits) / len(waits), 1) if waits else None,
        "wait_p50_s": percentile(waits, 0.5), "wait_p90_s": percentile(waits, 0.9),
        "service_avg_s": round(sum(services) / len(services), 1) if services else None,
        "service_p50_s": percentile(services, 0.5), "service_p90_s": percentile(services, 0.9),
        "within_target_share": round(within / len(waits), 4) if waits else None,
        "rated": len(rated),
        "satisfied_share": (round(sum(1 for lv, n in rated if satisfied(lv, n)) / len(rated), 4)
                            if rated else None),
        "ratings": per_level,
    }


def _grouped(reading: Reading, rows: list[tuple], by: str, english: bool) -> list[dict]:
    key_of, names = _key_of(reading, by), _names(reading, by, english)
    groups: dict = {}
    for row in rows:
        groups.setdefault(key_of(row), []).append(row)
    target_s = reading.rules.target_wait_minutes * 60
    levels = len(reading.rules.rating_levels)
    table = []
    for key in sorted(groups, key=lambda k: (k is None, isinstance(k, str),
                                             k if isinstance(k, int) else 0, str(k))):
        name = (f"{key:02d}:00" if by == "hour" else key if by == "day"
                else names.get(key, str(key)) if key is not None else "—")
        table.append({"key": key, "name": name, **figures(groups[key], target_s, levels)})
    return table


def summary(reading: Reading, first: str, last: str, by: str, english: bool = False,
            also: tuple[str, ...] = ()) -> dict:
    """The report of days ``first`` to ``last`` grouped ``by`` one of ``GROUPS``: rows of
    figures, the total, arrivals by weekday × hour, the daily trend, and the rows of the
    groupings ``also`` asks for (one read of the facts for all)."""
    for name in (by, *also):
        if name not in GROUPS:
            raise errors.not_one_of("by", name, GROUPS)
    first, last = parse_range(first, last)
    rows = facts(reading, first, last)
    heat = [[0] * 24 for _ in range(7)]
    trend: dict[str, list[int]] = {}
    for row in rows:
        heat[row[C.weekday]][row[C.hour]] += 1
        day = trend.setdefault(row[C.day], [0, 0, 0])
        day[0] += 1
        day[1] += row[C.served]
        day[2] += row[C.dossiers]
    target_s = reading.rules.target_wait_minutes * 60
    levels = len(reading.rules.rating_levels)
    return {"from": first, "to": last, "by": by, "rows": _grouped(reading, rows, by, english),
            "total": figures(rows, target_s, levels),
            "also": {name: _grouped(reading, rows, name, english) for name in also},
            "target_wait_minutes": reading.rules.target_wait_minutes,
            "rating_levels": list(reading.rules.rating_levels),
            "heatmap": heat,
            "trend": [{"day": d, "issued": v[0], "served": v[1], "dossiers": v[2]}
                      for d, v in sorted(trend.items())]}


# The figures of a row, in the API's order.
FIGURES = tuple(name for name in figures([], 0, 0) if name != "ratings")


class Reports:
    """Reports over the hall's store, and the rollups they read."""

    def __init__(self, tx):
        self.tx = tx

    def summary(self, first: str, last: str, by: str, english: bool = False,
                also: tuple[str, ...] = ()) -> dict:
        """The report of a range of days grouped ``by`` (see ``summary``)."""
        with self.tx.reading() as reading:
            return summary(reading, first, last, by, english, also)

    def stale(self) -> list[str]:
        """Closed days whose rollups are behind the log."""
        with self.tx.reading() as reading:
            return rollups.stale_days(reading)

    def refresh(self) -> list[str]:
        """Bring closed days' rollups in step with the log; the days rebuilt."""
        with self.tx.change() as change:
            return rollups.refresh(change)

    def rebuild(self) -> int:
        """Rebuild every closed day's rollups from the log; the number of tickets written."""
        with self.tx.change() as change:
            return rollups.rebuild(change)
