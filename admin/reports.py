"""The reports page of the back office: a range and a grouping in, tables and SVG charts out,
printable, with the same table to download as CSV or XLSX."""

from datetime import date

from flask import Blueprint, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _

from hall import errors
from services import reports
from web import runtime
from web.access import role
from web.replies import say

bp = Blueprint("admin_reports", __name__, template_folder="templates")


@bp.get("")
@role("supervisor")
def page():
    """A report of a range of business days (this month so far unless asked otherwise)."""
    today = runtime().hall.today()
    form = {"from": request.args.get("from", today[:8] + "01"),
            "to": request.args.get("to", today),
            "by": request.args.get("by", "field")}
    english = str(get_locale() or "vi").startswith("en")
    report, problem, status = None, None, 200
    try:
        report = reports.summary(runtime(), form["from"], form["to"], form["by"], english,
                                 also=("field",))
    except errors.InvalidInput as exc:
        problem = (exc.params.get("field", "from"), say(exc))
        status = 400
    return render_template(
        "admin/reports.html", form=form, report=report, problem=problem,
        charts=reports.charts(runtime(), report, _) if report else {},
        groups=reports.GROUP_HEADERS, figure_names=reports.FIGURE_HEADERS,
        weekdays=reports.WEEKDAYS, printed_on=date.today().isoformat()), status
