"""The bulk page /admin/bulk (supervisors): pick waiting tickets by filter or by hand, choose
an action, see exactly what it will do, confirm; the same services as POST /api/v1/bulk."""

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext

from hall import errors
from hall.rules import PRIORITY_REASONS
from hall.words import N_, PRIORITY
from services import bulk as bulk_service
from web import runtime
from web.access import actor, role
from web.addresses import request_base
from web.replies import say

bp = Blueprint("admin_bulk", __name__, template_folder="templates")

ACTION_WORDS = {
    "move": N_("Chuyển sang hàng đợi hoặc quầy khác"), "cancel": N_("Hủy vé"),
    "reactivate": N_("Cho vé vắng mặt chờ lại"), "reprint": N_("In lại vé"),
    "close_counter": N_("Đóng quầy và chuyển vé của quầy"),
    "close_day": N_("Ngừng cấp số hôm nay (đóng ngày sớm)"),
    "reopen_day": N_("Mở lại cấp số hôm nay"),
}
FILTER_FIELDS = ("queue", "counter", "procedure", "priority", "issued_from", "issued_until")
# Which field of the form an error belongs next to, by the error's field or kind.
FIELD_OF_ERROR = {"filter": "tickets", "expect": "action", "action": "action"}


def _form() -> dict:
    """What was typed and chosen, as the page shows it again."""
    form = {name: request.form.get(name, "").strip() for name in
            (*FILTER_FIELDS, "action", "to_queue", "to_counter", "reason", "numbers")}
    form["picked"] = request.form.getlist("tickets")
    return form


def _number(value: str, name: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise errors.InvalidInput(errors.InvalidInput.NOT_INTEGER, field=name) from None


def _request(form: dict) -> tuple[str, dict, dict]:
    """The action, the selection and the destination the form asks for."""
    selection = {name: form[name] for name in FILTER_FIELDS if form[name]}
    if "counter" in selection:
        selection["counter"] = _number(selection["counter"], "counter")
    numbers = [n for n in form["numbers"].replace(",", " ").split() if n] + form["picked"]
    if numbers:
        selection["tickets"] = numbers
    args = {"to_queue": form["to_queue"] or None,
            "to_counter": _number(form["to_counter"], "to_counter"), "reason": form["reason"]}
    if form["action"] not in ("move", "close_counter"):
        args.update(to_queue=None, to_counter=None)
    if form["action"] in ("close_day", "reopen_day"):
        selection = {}  # the whole day: filters left in the form do not apply
    return form["action"], selection, args


def _field_of(exc: errors.HallError, form: dict) -> str:
    """The form field an error is shown next to."""
    named = exc.params.get("field")
    if named:
        return FIELD_OF_ERROR.get(named, named)
    if isinstance(exc, (errors.UnknownQueue, errors.NoCounterServes)):
        return "to_queue" if form["to_queue"] else "queue"
    if isinstance(exc, (errors.UnknownCounter, errors.CounterClosed, errors.CounterBusy)):
        return "to_counter" if form["to_counter"] and form["action"] != "close_day" \
            and not isinstance(exc, errors.CounterBusy) else "counter"
    if isinstance(exc, errors.UnknownProcedure):
        return "procedure"
    if isinstance(exc, (errors.DayClosed, errors.DayOpen, errors.SelectionChanged)):
        return "action"
    return "tickets"


def _place(place: str | None, queues: dict) -> str:
    """A ticket's place in words: a queue's name, or a counter."""
    if place is None:
        return ""
    if place.startswith("counter "):
        return _("quầy %(number)s", number=place.split()[1])
    if place.startswith("printer "):
        return _("máy in %(printer)s", printer=place.split()[1])
    if place in ("cancelled", "no_show"):
        return _("đã hủy") if place == "cancelled" else _("vắng mặt")
    return queues.get(place, place)


def sentence(plan: dict, queues: dict) -> str:
    """What a plan will do, in one sentence ("12 vé sẽ chuyển từ hàng A sang hàng B")."""
    count, action = plan["count"], plan["action"]
    sources = ", ".join(dict.fromkeys(_place(c["from"], queues) for c in plan["tickets"]))
    target = plan["to"]
    to = _place(f"counter {target['counter']}" if "counter" in target
                else target.get("queue"), queues) or _("hàng đợi của vé")
    if action == "move":
        return ngettext("%(num)s vé sẽ chuyển từ %(source)s sang %(to)s.",
                        "%(num)s vé sẽ chuyển từ %(source)s sang %(to)s.", count,
                        source=sources, to=to)
    if action == "cancel":
        return ngettext("%(num)s vé sẽ bị hủy, lý do: %(reason)s.",
                        "%(num)s vé sẽ bị hủy, lý do: %(reason)s.", count,
                        reason=plan["reason"])
    if action == "reactivate":
        return ngettext("%(num)s vé vắng mặt sẽ chờ lại ở đúng chỗ cũ trong hàng.",
                        "%(num)s vé vắng mặt sẽ chờ lại ở đúng chỗ cũ trong hàng.", count)
    if action == "reprint":
        return ngettext("%(num)s vé sẽ được in lại trên máy in của ki-ốt đã cấp.",
                        "%(num)s vé sẽ được in lại trên máy in của ki-ốt đã cấp.", count)
    if action == "close_counter":
        return ngettext("Quầy %(counter)s sẽ đóng; %(num)s vé đang chờ quầy này sẽ chuyển sang"
                        " %(to)s.", "Quầy %(counter)s sẽ đóng; %(num)s vé đang chờ quầy này sẽ"
                        " chuyển sang %(to)s.", count, counter=plan["filter"]["counter"], to=to)
    if action == "close_day":
        return ngettext("Hôm nay sẽ ngừng cấp số; %(num)s vé đang chờ sẽ bị hủy, lý do:"
                        " %(reason)s.", "Hôm nay sẽ ngừng cấp số; %(num)s vé đang chờ sẽ bị"
                        " hủy, lý do: %(reason)s.", count, reason=plan["reason"])
    return _("Hôm nay sẽ cấp số trở lại.")


def _page(form: dict, *, plan=None, message: str = "", field_errors=None, status: int = 200):
    hall = runtime().hall
    queues = runtime().read(hall.catalogue.queues, True)
    context = {
        "form": form, "plan": plan, "message": message, "field_errors": field_errors or {},
        "queues": queues, "counters": runtime().read(hall.catalogue.counters),
        "procedures": runtime().read(hall.catalogue.procedures, True),
        "tickets": runtime().read(hall.bulk.open_tickets),
        "day_closed": runtime().read(hall.bulk.day_closed),
        "actions": ACTION_WORDS, "priorities": {r: PRIORITY[r] for r in PRIORITY_REASONS},
        "place": lambda p: _place(p, {q["code"]: q["name"] for q in queues}),
        "sentence": sentence(plan, {q["code"]: q["name"] for q in queues}) if plan else "",
    }
    template = "admin/bulk_panel.html" if request.headers.get("HX-Request") else \
        "admin/bulk.html"
    return render_template(template, **context), status


def _empty_form() -> dict:
    return {name: "" for name in (*FILTER_FIELDS, "action", "to_queue", "to_counter",
                                  "reason", "numbers")} | {"picked": [], "action": "move"}


@bp.get("/bulk")
@role("supervisor")
def page():
    """The bulk page: filters, tickets to pick, the action."""
    return _page({**_empty_form(), **{k: v for k, v in request.args.items()
                                      if k in FILTER_FIELDS}})


@bp.post("/bulk/preview")
@role("supervisor")
def preview():
    """What the chosen action would do, with a button to confirm it."""
    form = _form()
    try:
        action, selection, args = _request(form)
        plan = bulk_service.preview(runtime(), action, selection, **args)
    except errors.HallError as exc:
        return _page(form, field_errors={_field_of(exc, form): say(exc)}, status=exc.status)
    return _page(form, plan=plan)


@bp.post("/bulk/apply")
@role("supervisor")
def apply():
    """Do the previewed action; refused if the tickets are no longer those previewed."""
    form = _form()
    try:
        action, selection, args = _request(form)
        done = bulk_service.apply(runtime(), action, selection, **args, clerk=actor().clerk,
                                  expect=request.form.get("expect") or "-",
                                  base=request_base)
    except errors.HallError as exc:
        return _page(form, field_errors={_field_of(exc, form): say(exc)}, status=exc.status)
    message = ngettext("Đã xong: %(num)s vé.", "Đã xong: %(num)s vé.", done["count"])
    if action == "reprint":
        message += " " + ngettext("Đã gửi in %(num)s vé.", "Đã gửi in %(num)s vé.",
                                  done["printing"])
        if done["not_printed"]:
            message += " " + _("Máy in chưa sẵn sàng, chưa in được: %(numbers)s.",
                               numbers=", ".join(t["number"] for t in done["not_printed"]))
    return _page({**_empty_form(), "action": action}, message=message)
