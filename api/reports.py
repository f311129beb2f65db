"""JSON API v1 reports: the summary of a range of days as JSON, CSV or XLSX."""

from flask import Blueprint, Response, jsonify, request
from flask_babel import get_locale
from flask_babel import gettext as _

from hall import errors
from services import reports
from web import runtime
from web.access import role

bp = Blueprint("api_reports", __name__)

MIME = {"csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def english() -> bool:
    """Whether this request is answered in English."""
    return str(get_locale() or "vi").startswith("en")


def download(report: dict, fmt: str) -> Response:
    """A report as a CSV or XLSX attachment, headers in the request's language."""
    body = (reports.as_csv if fmt == "csv" else reports.as_xlsx)(report, _)
    return Response(body, mimetype=MIME[fmt], headers={
        "Content-Disposition": f'attachment; filename="{reports.file_name(report, fmt)}"'})


@bp.get("/summary")
@role("supervisor")
def summary():
    """Figures of a range of business days grouped by field, procedure, queue, counter, clerk,
    day or hour."""
    fmt = request.args.get("format", "json")
    if fmt not in reports.FORMATS:
        raise errors.not_one_of("format", fmt, reports.FORMATS)
    report = reports.summary(runtime(), request.args.get("from"), request.args.get("to"),
                             request.args.get("by", "procedure"), english())
    if fmt != "json":
        return download(report, fmt)
    return jsonify(as_json(report))


def as_json(report: dict) -> dict:
    """The report as the API answers it: rows carry exactly the key, the name and the
    figures; the ratings per level are beside them, row by row."""
    body = {k: v for k, v in report.items() if k not in ("rows", "also", "total")}
    body["rows"] = [{k: v for k, v in row.items() if k != "ratings"} for row in report["rows"]]
    body["total"] = {k: v for k, v in report["total"].items() if k != "ratings"}
    body["ratings_per_level"] = {"rows": [row["ratings"] for row in report["rows"]],
                                 "total": report["total"]["ratings"]}
    return body
