"""The back office's watch pages: the live monitor (/admin/monitor), the alert banner of staff
pages (/admin/alerts) and the audit log (/admin/audit)."""

import json

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from hall import errors
from hall.audit import AuditFilter
from hall.events import AUDITED
from hall.words import N_
from services import audit, limits, monitor
from web import runtime
from web.access import actor, role
from web.audit import audit_filter
from web.pages import fragment_or_alone, fragment_or_page
from web.replies import say

from .views import DEVICE_WORDS

bp = Blueprint("admin_monitor", __name__, template_folder="templates")

AUDIT_KINDS = {
    "catalogue_changed": N_("Danh mục"), "settings_changed": N_("Cài đặt"),
    "bulk_applied": N_("Xử lý hàng loạt"), "token_created": N_("Tạo mã thiết bị quầy"),
    "tokens_revoked": N_("Thu hồi mã thiết bị quầy"),
    "staff_signed_in": N_("Đăng nhập"), "staff_signed_out": N_("Đăng xuất"),
    "signin_locked": N_("Khóa đăng nhập"),
    "signin_unlocked": N_("Mở khóa đăng nhập"), "cancelled": N_("Hủy vé"),
    "ticket_reprinted": N_("In lại vé"),
}
# Every device state in words: the printers', the counters' devices'.
STATE_WORDS = {**monitor.PRINTER_STATE_WORDS, **DEVICE_WORDS}
# The filter's fields (hall.audit.AuditFilter) by the names of the page's form.
FORM_FIELDS = {"kind": "kind", "clerk": "clerk", "day_from": "from", "day_to": "to",
               "text": "q", "page": "page", "page_size": "page"}


def _shown(value) -> str:
    """A setting's value as staff read it (Vietnamese as it is, not as \\u escapes)."""
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@bp.get("/monitor")
@role("supervisor")
def watch():
    """Counters, queues, devices, unprinted tickets and alerts, refreshed live."""
    return fragment_or_page("admin/monitor_panel.html", "admin/monitor.html",
                            seen=monitor.picture(runtime()), state_words=STATE_WORDS)


@bp.post("/monitor/queues/<code>/extend")
@role("supervisor")
def extend(code):
    """Give a queue more numbers today (from the monitor's alert), then back to the monitor."""
    try:
        extra = int(request.form.get("extra", ""))
    except ValueError:
        extra = None
    try:
        limits.extend(runtime(), code, extra, actor().clerk)
    except errors.HallError as exc:
        return fragment_or_page("admin/monitor_panel.html", "admin/monitor.html",
                                seen=monitor.picture(runtime()), state_words=STATE_WORDS,
                                problem=say(exc)), exc.status
    return redirect(url_for("admin_monitor.watch"), 303)


@bp.get("/alerts")
@role("clerk")
def alerts():
    """The alert banner of staff pages (empty when all is well)."""
    return fragment_or_alone("admin/alerts_banner.html", _("Cảnh báo"),
                             alerts=monitor.alerts(runtime()), state_words=STATE_WORDS)


@bp.get("/audit")
@role("supervisor")
def audit_log():
    """Who changed what in the hall, when, before → after; filtered and a page at a time."""
    problems: dict[str, str] = {}
    try:
        wanted = audit_filter(request.args)
    except errors.HallError as exc:
        field = FORM_FIELDS.get(exc.params.get("field"), "form")
        problems[field] = say(exc)
        wanted = AuditFilter()
    found = audit.entries(runtime(), wanted)
    for entry in found["entries"]:
        entry["before_text"] = _shown(entry["before"])
        entry["after_text"] = _shown(entry["after"])
        entry["details_text"] = ", ".join(f"{k}: {_shown(v)}" for k, v in entry["details"].items())
    return render_template(
        "admin/audit.html", found=found, problems=problems,
        asked=request.args, clerks=audit.clerks(runtime()),
        kinds=[(k.value, AUDIT_KINDS.get(k.value, k.value)) for k in AUDITED],
        kind_words=AUDIT_KINDS), (400 if problems else 200)
