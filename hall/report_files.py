"""A report as a reader gets it, for a hall and for the province hub alike: its table with
headers in the reader's language as CSV or XLSX, and its charts as SVG drawn with matplotlib
(no JavaScript, readable printed in black and white). One place, so that a province figure
and a hall's own come out in the same columns, words and charts."""

import csv
import io
from collections.abc import Callable

from .reports import FIGURES
from .words import N_

# Column headers (Vietnamese msgids; the door passes its translation). "hall" is the hub's.
GROUP_HEADERS = {"hall": N_("Điểm phục vụ"), "field": N_("Lĩnh vực"),
                 "procedure": N_("Thủ tục"), "queue": N_("Hàng đợi"), "counter": N_("Quầy"),
                 "clerk": N_("Cán bộ"), "day": N_("Ngày"), "hour": N_("Giờ")}
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
WEEKDAYS = (N_("T2"), N_("T3"), N_("T4"), N_("T5"), N_("T6"), N_("T7"), N_("CN"))
CHART_WORDS = {"issued": N_("Đã cấp"), "served": N_("Đã phục vụ"), "day": N_("Ngày"),
               "hour": N_("Giờ"), "tickets": N_("Số phiếu"), "weekday": N_("Thứ")}
CHARTS = ("groups", "trend", "heatmap")


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


def chart_words(translate: Callable[[str], str]) -> tuple:
    """The words the charts write, in the reader's language (hashable: part of a cache key)."""
    return tuple((k, translate(v)) for k, v in CHART_WORDS.items())


def chart_data(report: dict, kind: str, translate: Callable[[str], str]) -> tuple:
    """What chart ``kind`` (``CHARTS``) of ``report`` draws, as a hashable tuple."""
    if kind == "groups":
        rows = report["rows"]
        return (tuple(str(r["name"]) for r in rows), tuple(r["issued"] for r in rows),
                tuple(r["served"] for r in rows))
    if kind == "trend":
        trend = report["trend"]
        return (tuple(t["day"] for t in trend), tuple(t["issued"] for t in trend),
                tuple(t["served"] for t in trend))
    return (tuple(tuple(r) for r in report["heatmap"]), tuple(translate(d) for d in WEEKDAYS))


def _svg(figure) -> str:
    out = io.StringIO()
    figure.savefig(out, format="svg", bbox_inches="tight")
    text = out.getvalue()
    return text[text.index("<svg"):]  # inline in the page: no XML prologue


def draw(kind: str, data: tuple, words: tuple) -> str:
    """Chart ``kind`` of ``data`` (``chart_data``) as SVG. pyplot's state is shared: callers
    draw one chart at a time."""
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
