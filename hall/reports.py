"""Reports of what happened in the hall over a range of business days, computed from the event
log (through ``rollups``: closed days from their rollups, today live), never from counters kept
on the side.

Definitions (the same in the API, the page and the files):
* issued: tickets issued on the range's days; served / no_show / cancelled: how their way ended
  (the last of finish, no-show, cancel, expiry, reactivation); transferred: tickets transferred
  at least once; dossiers: codes recorded at finish.
* wait: issue → first call; service: last call → finish; averages (to a tenth) and
  nearest-rank percentiles (p50, p90) of the times in whole milliseconds, given in seconds.
* within_target_share: of the tickets called, the share called within the target wait.
* satisfied_share: of the ratings, the share in the better half of the levels (the middle one
  of an odd number included: "Rất hài lòng" and "Hài lòng" of three).
* a ticket belongs to the business day (and the hour of the wall clock) it was issued; its
  counter and clerk are those of its last call (none when never called); its field is its
  procedure's when its day was rolled up.
"""

import math
from array import array
from bisect import bisect_right
from datetime import date, timedelta

from . import errors, rollups
from .rollups import Tally
from .transaction import Reading
from .words import N_

GROUPS = ("field", "procedure", "queue", "counter", "clerk", "day", "hour")
MAX_DAYS = 3660
INTEGER_KEYS = ("field", "counter", "clerk", "hour")


def percentile(ordered: list[float], share: float) -> float | None:
    """The nearest-rank percentile of sorted values (None when there are none)."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


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


def tallies(reading: Reading, first: str, last: str, dimensions: set[str],
            counts_only_by_hour: bool = False) -> list[tuple[str, str, str, Tally]]:
    """(day, dimension, key, tally) of a range: closed days from the rollups (live from the
    log for one not built yet), today and later live; by hour only the counts of closed days
    when ``counts_only_by_hour``."""
    closed = min(last, _before(reading.day))
    full = sorted(dimensions - {"hour"} if counts_only_by_hour else dimensions)
    out = [(r[0], r[1], r[2], Tally.of_row(r[3:])) for r in reading.conn.execute(
        f"SELECT {rollups.ROLLUP_COLUMNS} FROM report_rollups WHERE dimension IN"
        f" ({', '.join('?' * len(full))}) AND day BETWEEN ? AND ?", (*full, first, closed))]
    if counts_only_by_hour:  # the heat map needs the counts only, not the times
        out += [(r[0], "hour", r[1], Tally(issued=r[2])) for r in reading.conn.execute(
            "SELECT day, key, issued FROM report_rollups WHERE dimension = 'hour'"
            " AND day BETWEEN ? AND ?", (first, closed))]
    built = {r[0] for r in reading.all("SELECT day FROM report_days WHERE day BETWEEN ? AND ?",
                                       (first, closed))}
    live = [day for day in _ticket_days(reading, first, closed) if day not in built]
    facts = [f for day in live for f in rollups.derive(reading, day, day)]
    if last >= reading.day:
        facts += rollups.derive(reading, max(first, reading.day), last)
    out += [(day, dimension, key, t.sort()) for (day, dimension, key), t
            in rollups.tally(reading, facts).items() if dimension in dimensions]
    return out


def _ticket_days(reading: Reading, first: str, last: str) -> list[str]:
    """The days of a range that have tickets: one index seek per day, not a scan of the
    range's tickets."""
    days, day = [], reading.value("SELECT min(day) FROM tickets WHERE day >= ?", (first,))
    while day is not None and day <= last:
        days.append(day)
        day = reading.value("SELECT min(day) FROM tickets WHERE day > ?", (day,))
    return days


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


def _kth(runs: list, k: int) -> int:
    """The ``k``-th smallest (from 0) of sorted runs, found by halving the range of values
    and counting with bisect in each run, without merging them."""
    low, high = min(r[0] for r in runs), max(r[-1] for r in runs)
    while low < high:
        middle = (low + high) // 2
        if sum(bisect_right(r, middle) for r in runs) > k:
            high = middle
        else:
            low = middle + 1
    return low


def _unpacked(run) -> array:
    if isinstance(run, bytes):
        values = array("i")
        values.frombytes(run)
        return values
    return run


class Times:
    """Exact statistics of milliseconds held as sorted runs (one per day and group; packed
    bytes as read from the rollups, or arrays)."""

    def __init__(self, runs: list):
        runs = [r for r in runs if r]
        self.count = sum(len(r) // 4 if isinstance(r, bytes) else len(r) for r in runs)
        # Many values per run: count in the runs; few: sorting them together is cheaper.
        self.merged = None
        if self.count <= 40 * len(runs):
            together = array("i")
            together.frombytes(b"".join(r for r in runs if isinstance(r, bytes)))
            for run in runs:
                if not isinstance(run, bytes):
                    together.extend(run)
            self.merged = sorted(together)
            self.runs = [self.merged] if self.merged else []
        else:
            self.runs = [_unpacked(r) for r in runs]

    def average_s(self) -> float | None:
        """The mean in seconds, to a tenth."""
        if not self.count:
            return None
        return round(sum(sum(r) for r in self.runs) / self.count / 1000, 1)

    def percentile_s(self, share: float) -> float | None:
        """The nearest-rank percentile in seconds."""
        if not self.count:
            return None
        if self.merged is not None:
            return percentile(self.merged, share) / 1000
        return _kth(self.runs, max(0, math.ceil(share * self.count) - 1)) / 1000

    def share_within(self, limit_ms: float) -> float | None:
        """The share of values at most ``limit_ms``."""
        if not self.count:
            return None
        return round(sum(bisect_right(r, limit_ms) for r in self.runs) / self.count, 4)


def figures(t: Tally, target_s: float, levels: int) -> dict:
    """Every figure of one group's tally (merged from the days' tallies)."""
    waits = Times([*t.wait_runs, t.waits])
    services = Times([*t.service_runs, t.services])
    return {
        "issued": t.issued, "served": t.served, "no_show": t.no_show,
        "cancelled": t.cancelled, "transferred": t.transferred, "dossiers": t.dossiers,
        "wait_avg_s": waits.average_s(),
        "wait_p50_s": waits.percentile_s(0.5), "wait_p90_s": waits.percentile_s(0.9),
        "service_avg_s": services.average_s(),
        "service_p50_s": services.percentile_s(0.5),
        "service_p90_s": services.percentile_s(0.9),
        "within_target_share": waits.share_within(target_s * 1000),
        "rated": t.rated,
        "satisfied_share": round(t.satisfied / t.rated, 4) if t.rated else None,
        "ratings": t.ratings[:levels],
    }


def _key(by: str, text: str):
    if text == "":
        return None
    return int(text) if by in INTEGER_KEYS else text


def _grouped(reading: Reading, found: list, by: str, english: bool) -> list[dict]:
    names = _names(reading, by, english)
    groups: dict = {}
    for day, dimension, key, t in found:
        if by == "day" and dimension == "all":
            key = day
        elif dimension != by:
            continue
        if key not in groups:
            groups[key] = Tally()
        groups[key].merge(t)
    target_s = reading.rules.target_wait_minutes * 60
    levels = len(reading.rules.rating_levels)
    table = []
    for text in groups:
        key = _key(by, text) if by != "day" else text
        name = (f"{key:02d}:00" if by == "hour" else key if by == "day"
                else names.get(key, str(key)) if key is not None else "—")
        table.append({"key": key, "name": name, **figures(groups[text], target_s, levels)})
    table.sort(key=lambda r: (r["key"] is None, isinstance(r["key"], str),
                              r["key"] if isinstance(r["key"], int) else 0, str(r["key"])))
    return table


def summary(reading: Reading, first: str, last: str, by: str, english: bool = False,
            also: tuple[str, ...] = ()) -> dict:
    """The report of days ``first`` to ``last`` grouped ``by`` one of ``GROUPS``: rows of
    figures, the total, arrivals by weekday × hour, the daily trend, and the rows of the
    groupings ``also`` asks for (one read of the rollups for all)."""
    for name in (by, *also):
        if name not in GROUPS:
            raise errors.not_one_of("by", name, GROUPS)
    first, last = parse_range(first, last)
    dimensions = {"all", "hour"} | {g for g in (by, *also) if g != "day"}
    found = tallies(reading, first, last, dimensions,
                    counts_only_by_hour="hour" not in (by, *also))
    heat = [[0] * 24 for _ in range(7)]
    trend: dict[str, list[int]] = {}
    total = Tally()
    for day, dimension, key, t in found:
        if dimension == "hour":
            heat[date.fromisoformat(day).weekday()][int(key)] += t.issued
        elif dimension == "all":
            total.merge(t)
            trend[day] = [t.issued, t.served, t.dossiers]
    target_s = reading.rules.target_wait_minutes * 60
    levels = len(reading.rules.rating_levels)
    rows = _grouped(reading, found, by, english)
    return {"from": first, "to": last, "by": by, "rows": rows,
            "total": figures(total, target_s, levels),
            "also": {name: rows if name == by else _grouped(reading, found, name, english)
                     for name in also},
            "target_wait_minutes": reading.rules.target_wait_minutes,
            "rating_levels": list(reading.rules.rating_levels),
            "heatmap": heat,
            "trend": [{"day": d, "issued": v[0], "served": v[1], "dossiers": v[2]}
                      for d, v in sorted(trend.items())]}


# The figures of a row, in the API's order.
FIGURES = tuple(name for name in figures(Tally(), 0, 0) if name != "ratings")


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

    def pending(self) -> dict:
        """What a refresh in steps has to do: the stale days, and the log's last event id and
        the business day as they were when those days were found."""
        with self.tx.reading() as reading:
            return {"days": rollups.stale_days(reading),
                    "upto": reading.value("SELECT coalesce(max(id), 0) FROM events"),
                    "day": reading.day}

    def build(self, days: list[str]) -> int:
        """Rebuild the rollups of ``days`` (one step of a refresh); the tickets counted."""
        with self.tx.change() as change:
            return rollups.build_days(change, days)

    def mark(self, upto: int, day: str) -> None:
        """Record that the log is rolled up to event ``upto`` and day ``day`` (after the steps
        of a refresh found by ``pending``)."""
        with self.tx.change() as change:
            change.run("INSERT OR REPLACE INTO report_state (id, last_event_id, open_day)"
                       " VALUES (1, ?, ?)", (upto, day))

    def rebuild(self) -> int:
        """Rebuild every closed day's rollups from the log; the number of tickets written."""
        with self.tx.change() as change:
            return rollups.rebuild(change)
