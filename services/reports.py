"""Reports as a supervisor asks for them: the figures (rollups brought in step first), the
same table as CSV or XLSX with headers in the reader's language, and charts drawn on the
server as SVG (matplotlib, no JavaScript, readable printed in black and white)."""

import threading
from collections import OrderedDict
from collections.abc import Callable

from hall.report_files import (
    CHARTS,
    FIGURE_HEADERS,
    GROUP_HEADERS,
    WEEKDAYS,
    as_csv,
    as_xlsx,
    chart_data,
    chart_words,
    draw,
    headers,
    table,
)
from hall.reports import GROUPS

FORMATS = ("json", "csv", "xlsx")
DAYS_PER_STEP = 5  # about 600 tickets a day: ~0.1 s of writing per step


def summary(runtime, first: str, last: str, by: str, english: bool = False,
            also: tuple[str, ...] = ()) -> dict:
    """The report of a range grouped ``by`` (and ``also`` by other groupings); closed days'
    rollups brought in step first."""
    refresh(runtime)
    return runtime.read(runtime.hall.reports.summary, first, last, by, english, also)


def refresh(runtime, days_per_step: int = DAYS_PER_STEP) -> list[str]:
    """Bring closed days' rollups in step with the log, a few days per change, so that a hall
    upgraded with a year of tickets never holds its kiosks and counters up for long."""
    reports = runtime.hall.reports
    pending = runtime.read(reports.pending)
    if not pending["days"]:
        return []
    days = pending["days"]
    for start in range(0, len(days), days_per_step):
        runtime.act(reports.build, days[start:start + days_per_step])
    runtime.act(reports.mark, pending["upto"], pending["day"])
    return days


def keep_up(runtime) -> dict:
    """The hourly upkeep: closed days' rollups brought in step, then tickets older than the
    retention purged (audited; nothing when ``keep_tickets_days`` is 0)."""
    refresh(runtime)
    pushed = runtime.read(runtime.hall.outbox.state)["acked"] \
        if runtime.settings.hub.url else None
    return runtime.act(runtime.hall.retention.purge, pushed_up_to=pushed)


def file_name(report: dict, fmt: str) -> str:
    """The download's file name."""
    return f"goiso-report-{report['by']}-{report['from']}-{report['to']}.{fmt}"


# -- charts ---------------------------------------------------------------------------------

_CHART_CACHE: OrderedDict = OrderedDict()
_CHART_LOCK = threading.Lock()  # pyplot's state is not safe across threads
CHART_CACHE_SIZE = 64


def _cached(runtime, kind: str, data: tuple, words: tuple) -> str:
    key = (kind, data, words)
    # Taken where the request runs (a greenlet lock under gevent), the drawing itself handed
    # to a native thread (runtime.read): one chart at a time, the event loop never blocked.
    with _CHART_LOCK:
        if key in _CHART_CACHE:
            _CHART_CACHE.move_to_end(key)
            return _CHART_CACHE[key]
        svg = runtime.read(draw, kind, data, words)
        _CHART_CACHE[key] = svg
        while len(_CHART_CACHE) > CHART_CACHE_SIZE:
            _CHART_CACHE.popitem(last=False)
        return svg


def charts(runtime, report: dict, translate: Callable[[str], str]) -> dict[str, str]:
    """The report's charts as inline SVG: tickets by group, the daily trend, arrivals by
    weekday × hour; a chart drawn once is served from memory while its figures stay."""
    words = chart_words(translate)
    return {kind: _cached(runtime, kind, chart_data(report, kind, translate), words)
            for kind in CHARTS}


__all__ = ["FIGURE_HEADERS", "FORMATS", "GROUPS", "GROUP_HEADERS", "WEEKDAYS", "as_csv",
           "as_xlsx", "charts", "file_name", "headers", "summary", "table"]
