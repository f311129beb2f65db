"""The province report door: ``GET /api/v1/reports/summary`` as JSON, CSV, XLSX or an SVG
chart, in the shapes of a hall's (``api/reports.py``, ``services/reports.py``), with ``by=hall``
and ``hall=3,7`` on top."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, jsonify, request
from flask_babel import get_locale
from flask_babel import gettext as _

from hall import errors
from hall.reports import FIGURES
from hall.words import N_
from services import reports as hall_reports

from . import reports
from .access import pool, role

bp = Blueprint("hub_reports", __name__)
FORMATS = ("json", "csv", "xlsx", "svg")
CHARTS = ("groups", "trend", "heatmap")
MIME = {"csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "svg": "image/svg+xml; charset=utf-8"}
GROUP_HEADERS = {**hall_reports.GROUP_HEADERS, "hall": N_("Điểm phục vụ")}


class _Inline:
    """What ``services.reports.charts`` asks of a runtime: run a drawing here (the hub's
    workers are threads already)."""

    @staticmethod
    def read(fn, *args):
        return fn(*args)


def english() -> bool:
    """Whether this request is answered in English."""
    return str(get_locale() or "vi").startswith("en")


def table(report: dict) -> list[list]:
    """The report as rows of cells: headers in the request's language, the total last."""
    group = GROUP_HEADERS[report["by"]]
    rows = [[_(hall_reports.KEY_HEADER), _(group),
             *(_(hall_reports.FIGURE_HEADERS[f]) for f in FIGURES)]]
    rows += [[row["key"], row["name"], *(row[f] for f in FIGURES)] for row in report["rows"]]
    rows.append(["", _(hall_reports.TOTAL), *(report["total"][f] for f in FIGURES)])
    return rows


def as_csv(report: dict) -> bytes:
    """The table as CSV (UTF-8 with a byte order mark, as a hall's)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in table(report):
        writer.writerow(["" if cell is None else cell for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def as_xlsx(report: dict) -> bytes:
    """The table as a one-sheet workbook."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = f"{report['from']}_{report['to']}"[:31]
    for row in table(report):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def as_json(report: dict) -> dict:
    """The report as a hall's API answers it: rows of key, name and figures, the ratings per
    level beside them."""
    body = {k: v for k, v in report.items() if k not in ("rows", "also", "total")}
    body["rows"] = [{k: v for k, v in row.items() if k != "ratings"} for row in report["rows"]]
    body["total"] = {k: v for k, v in report["total"].items() if k != "ratings"}
    body["ratings_per_level"] = {"rows": [row["ratings"] for row in report["rows"]],
                                 "total": report["total"]["ratings"]}
    return body


def _attachment(report: dict, fmt: str, body) -> Response:
    name = f"goiso-province-{report['by']}-{report['from']}-{report['to']}.{fmt}"
    return Response(body, mimetype=MIME[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/api/v1/reports/summary")
@role("supervisor")
def summary():
    """Figures of a range of business days over the province's halls (or ``hall=…``)
    grouped by hall, field, procedure, day or hour."""
    fmt = request.args.get("format", "json")
    if fmt not in FORMATS:
        raise errors.not_one_of("format", fmt, FORMATS)
    chart = request.args.get("chart", "groups")
    if fmt == "svg" and chart not in CHARTS:
        raise errors.not_one_of("chart", chart, CHARTS)
    halls = reports.parse_halls(request.args.get("hall"))
    with pool().connection() as conn:
        report = reports.summary(conn, request.args.get("from"), request.args.get("to"),
                                 request.args.get("by", "hall"), halls, english())
    if fmt == "csv":
        return _attachment(report, fmt, as_csv(report))
    if fmt == "xlsx":
        return _attachment(report, fmt, as_xlsx(report))
    if fmt == "svg":
        svg = hall_reports.charts(_Inline(), report, _)[chart]
        return Response(svg, mimetype=MIME["svg"])
    return jsonify(as_json(report))
