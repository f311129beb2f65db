"""Reports as a supervisor asks for them: the figures (rollups brought in step first), the
same table as CSV or XLSX with headers in the reader's language, and charts drawn on the
server as SVG (matplotlib, no JavaScript, readable printed in black and white)."""

import csv
import io
import threading
from collections import OrderedDict
from collections.abc import Callable

from hall.reports import FIGURES, GROUPS
from hall.words import N_

# Column headers (Vietnamese msgids; the door passes its translation).
GROUP_HEADERS = {"field": N_("Lĩnh vực"), "procedure": N_("Thủ tục"), "queue": N_("Hàng đợi"),
                 "counter": N_("Quầy"), "clerk": N_("Cán bộ"), "day": N_("Ngày"),
                 "hour": N_("Giờ")}
FIGURE_HEADERS = {
    "issued": N_("Số phiếu đã cấp"), "served": N_("Đã phục vụ"), "no_show": N_("Vắng mặt"),
    "cancelled": N_("Đã hủy"), "transferred": N_("Đã chuyển"), "dossiers": N_("Hồ sơ tiếp nhận"),
    "wait_avg_s": N_("Chờ trung bình (giây)"), "wait_p50_s": N_("Chờ trung vị (giây)"),
    "wait_p90_s": N_("Chờ phân vị 90 (giây)"), "service_avg_s": N_("Phục vụ trung bình (giây)"),
    "service_p50_s": N_("Phục vụ trung vị (giây)"),
    "service_p90_s": N_("Phục vụ phân vị 90 (giây)"),
    "within_target_share": N_("Tỷ lệ đúng thời gian chờ mục tiêu"),
    "rated": N_("Số lượt đánh giá"), "satisfied_share": N_("Tỷ lệ hài lòng")}
KEY_HEADER = N_("Mã")
TOTAL = N_("Tổng cộng")
FORMATS = ("json", "csv", "xlsx")
DAYS_PER_STEP = 5  # about 600 tickets a day: ~0.1 s of writing per step
WEEKDAYS = (N_("T2"), N_("T3"), N_("T4"), N_("T5"), N_("T6"), N_("T7"), N_("CN"))
CHART_WORDS = {"issued": N_("Đã cấp"), "served": N_("Đã phục vụ"), "day": N_("Ngày"),
               "hour": N_("Giờ"), "tickets": N_("Số phiếu"), "weekday": N_("Thứ")}


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


def headers(by: str, translate: Callable[[str], str]) -> list[str]:
    """The header row of a report's table."""
    return [translate(KEY_HEADER), translate(GROUP_HEADERS[by]),
            *(translate(FIGURE_HEADERS[f]) for f in FIGURES)]


def table(report: dict, translate: Callable[[str], str]) -> list[list]:
    """The report as rows of cells (headers first, the total last)."""
    rows = [headers(report["by"], translate)]
    for row in report["rows"]:
        rows.append([row["key"], row["name"], *(row[f] for f in FIGURES)])
    rows.append(["", translate(TOTAL), *(report["total"][f] for f in FIGURES)])
    return rows


def as_csv(report: dict, translate: Callable[[str], str]) -> bytes:
    """The report as CSV (UTF-8 with a byte order mark, so spreadsheets read the accents)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in table(report, translate):
        writer.writerow(["" if cell is None else cell for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def as_xlsx(report: dict, translate: Callable[[str], str]) -> bytes:
    """The report as an XLSX workbook of one sheet."""
    import openpyxl  # only for an XLSX export: it takes 80 ms to import

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = f"{report['from']}_{report['to']}"[:31]
    for row in table(report, translate):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def file_name(report: dict, fmt: str) -> str:
    """The download's file name."""
    return f"goiso-report-{report['by']}-{report['from']}-{report['to']}.{fmt}"


# -- charts ---------------------------------------------------------------------------------

_CHART_CACHE: OrderedDict = OrderedDict()
_CHART_LOCK = threading.Lock()  # pyplot's state is not safe across threads
CHART_CACHE_SIZE = 64


def _svg(figure) -> str:
    out = io.StringIO()
    figure.savefig(out, format="svg", bbox_inches="tight")
    text = out.getvalue()
    return text[text.index("<svg"):]  # inline in the page: no XML prologue


def _draw(kind: str, data: tuple, words: tuple) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"  # text stays text: small, searchable, accented
    plt.rcParams["svg.hashsalt"] = "goiso"  # the same chart draws the same SVG
    w = dict(words)
    if kind == "groups":
        names, issued, served = data
        figure, axes = plt.subplots(figsize=(7, max(2.0, 0.35 * len(names) + 1)))
        places = range(len(names))
        axes.barh([p + 0.2 for p in places], issued, height=0.4, color="white",
                  edgecolor="black", hatch="///", label=w["issued"])
        axes.barh([p - 0.2 for p in places], served, height=0.4, color="0.6",
                  edgecolor="black", label=w["served"])
        axes.set_yticks(list(places), [n[:40] for n in names])
        axes.invert_yaxis()
        axes.set_xlabel(w["tickets"])
        axes.legend(loc="lower right")
    elif kind == "trend":
        days, issued, served = data
        figure, axes = plt.subplots(figsize=(7, 2.8))
        axes.plot(days, issued, color="black", marker="o", markersize=3, label=w["issued"])
        axes.plot(days, served, color="black", linestyle="--", marker="s", markersize=3,
                  label=w["served"])
        step = max(1, len(days) // 8)
        axes.set_xticks(range(0, len(days), step), [days[i] for i in range(0, len(days), step)],
                        rotation=30, fontsize=7)
        axes.set_ylabel(w["tickets"])
        axes.legend()
    else:  # heat map: weekday × hour, shades of grey with the counts written in
        heat, weekdays = data
        hours = [h for h in range(24) if any(row[h] for row in heat)] or list(range(7, 18))
        grid = [[row[h] for h in hours] for row in heat]
        figure, axes = plt.subplots(figsize=(7, 3))
        axes.imshow(grid, cmap="Greys", aspect="auto")
        top = max(max(r) for r in grid) or 1
        for y, row in enumerate(grid):
            for x, value in enumerate(row):
                if value:
                    axes.text(x, y, str(value), ha="center", va="center", fontsize=6,
                              color="white" if value > top / 2 else "black")
        axes.set_xticks(range(len(hours)), [f"{h}" for h in hours], fontsize=7)
        axes.set_yticks(range(7), list(weekdays), fontsize=7)
        axes.set_xlabel(w["hour"])
    svg = _svg(figure)
    plt.close(figure)
    return svg


def _cached(runtime, kind: str, data: tuple, words: tuple) -> str:
    key = (kind, data, words)
    # Taken where the request runs (a greenlet lock under gevent), the drawing itself handed
    # to a native thread (runtime.read): one chart at a time, the event loop never blocked.
    with _CHART_LOCK:
        if key in _CHART_CACHE:
            _CHART_CACHE.move_to_end(key)
            return _CHART_CACHE[key]
        svg = runtime.read(_draw, kind, data, words)
        _CHART_CACHE[key] = svg
        while len(_CHART_CACHE) > CHART_CACHE_SIZE:
            _CHART_CACHE.popitem(last=False)
        return svg


def charts(runtime, report: dict, translate: Callable[[str], str]) -> dict[str, str]:
    """The report's charts as inline SVG: tickets by group, the daily trend, arrivals by
    weekday × hour; a chart drawn once is served from memory while its figures stay."""
    words = tuple((k, translate(v)) for k, v in CHART_WORDS.items())
    rows = report["rows"]
    trend = report["trend"]
    return {
        "groups": _cached(runtime, "groups", (tuple(str(r["name"]) for r in rows),
                                              tuple(r["issued"] for r in rows),
                                              tuple(r["served"] for r in rows)), words),
        "trend": _cached(runtime, "trend", (tuple(t["day"] for t in trend),
                                            tuple(t["issued"] for t in trend),
                                            tuple(t["served"] for t in trend)), words),
        "heatmap": _cached(runtime, "heatmap", (tuple(tuple(r) for r in report["heatmap"]),
                                                tuple(translate(d) for d in WEEKDAYS)),
                           words),
    }


__all__ = ["FORMATS", "GROUPS", "as_csv", "as_xlsx", "charts", "file_name", "summary", "table"]
