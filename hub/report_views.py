"""The province report door: ``GET /api/v1/reports/summary`` as JSON, CSV, XLSX or an SVG
chart, in the shapes of a hall's (``api/reports.py``; the files by ``hub.report_files``), with
``by=hall`` and ``hall=3,7`` on top."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from flask_babel import get_locale
from flask_babel import gettext as _

from hall import errors

from . import report_files, reports
from .access import pool, role

bp = Blueprint("hub_reports", __name__)
FORMATS = ("json", "csv", "xlsx", "svg")
MIME = {"csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "svg": "image/svg+xml; charset=utf-8"}


def english() -> bool:
    """Whether this request is answered in English."""
    return str(get_locale() or "vi").startswith("en")


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
    if fmt == "svg" and chart not in report_files.CHARTS:
        raise errors.not_one_of("chart", chart, report_files.CHARTS)
    halls = reports.parse_halls(request.args.get("hall"))
    with pool().connection() as conn:
        report = reports.summary(conn, request.args.get("from"), request.args.get("to"),
                                 request.args.get("by", "hall"), halls, english())
    if fmt == "csv":
        return _attachment(report, fmt, report_files.as_csv(report, _))
    if fmt == "xlsx":
        return _attachment(report, fmt, report_files.as_xlsx(report, _))
    if fmt == "svg":
        return Response(report_files.chart(report, chart, _), mimetype=MIME["svg"])
    return jsonify(as_json(report))
