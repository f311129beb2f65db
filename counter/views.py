"""The counter page (/counter/<n>) and the citizen's rating screen (/rate/<n>): thin views."""

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from hall import errors
from hall.catalogue import MAX_COUNTER
from hall.desk import ACTIONS, perform
from hall.rules import PRIORITY_REASONS
from printer.layout import PRIORITY_WORDS
from staff.roles import actor, may_act_at, role

bp = Blueprint("counter", __name__, template_folder="templates")

# The keys of the page; a USB numeric keypad sends exactly these (documented on the page).
SHORTCUTS = (("+", "next"), ("*", "recall"), ("-", "no-show"), ("Enter", "finish"),
             ("/", "pause-toggle"), (".", "call"))


ACTION_WORDS = {
    "next": errors.N_("Gọi tiếp"), "recall": errors.N_("Gọi lại"),
    "no-show": errors.N_("Vắng mặt"), "finish": errors.N_("Hoàn thành"),
    "pause": errors.N_("Tạm dừng"), "resume": errors.N_("Tiếp tục"),
    "pause-toggle": errors.N_("Tạm dừng / Tiếp tục"), "call": errors.N_("Gọi số"),
    "transfer": errors.N_("Chuyển"), "close": errors.N_("Đóng quầy"),
}
OUTCOME_WORDS = {
    "served": errors.N_("Đã giải quyết"), "incomplete": errors.N_("Hồ sơ chưa đủ"),
    "referred": errors.N_("Hướng dẫn nơi khác"), "rejected": errors.N_("Từ chối tiếp nhận"),
}


def _runtime():
    return current_app.extensions["goiso"]


@bp.get("/counter/")
@role("public")
def page():
    """Where a clerk starts: their counter if seated, else the sign-in form."""
    who = actor()
    if who.role != "public" and who.counter is not None:
        return redirect(url_for("counter.desk", number=who.counter))
    return redirect(url_for("staff.login", next=url_for("counter.page"),
                            counter=request.args.get("counter") or None))


@bp.get(f"/counter/<int(max={MAX_COUNTER}):number>")
@role("clerk")
def desk(number):
    """The counter page: the current ticket, big buttons, the waiting list, today's totals."""
    try:
        may_act_at(number)
    except errors.Forbidden:
        return redirect(url_for("staff.login", next=url_for("counter.page"), counter=number))
    return render_template("counter/page.html", **_context(number))


@bp.get(f"/counter/<int(max={MAX_COUNTER}):number>/panel")
@role("clerk")
def panel(number):
    """The live part of the page (refreshed on every event of the hall)."""
    may_act_at(number)
    return render_template("counter/panel.html", **_context(number))


@bp.post(f"/counter/<int(max={MAX_COUNTER}):number>/act/<action>")
@role("clerk")
def act(number, action):
    """One button (or key) press; the panel comes back with what happened."""
    may_act_at(number)
    if action not in ACTIONS:
        return _panel(number, _("Không có thao tác này."), True, 404)
    args = {}
    for name in ACTIONS[action]:
        value = request.form.get(name, "").strip()
        if value:
            args[name] = int(value) if name == "counter" and value.isdecimal() else value
    target = args.get("counter")
    if action == "transfer" and (isinstance(target, str) or (target or 0) > MAX_COUNTER):
        return _panel(number, _("Quầy chuyển đến không hợp lệ."), True, 400)
    runtime = _runtime()
    try:
        result = runtime.act(perform, runtime.hall.tickets, number, action, actor().clerk,
                             **args)
    except errors.HallError as exc:
        return _panel(number, _(exc.text, **exc.params), True, exc.status)
    return _panel(number, _said(action, result))


@bp.post("/counter/<int:number>/logout")
@role("clerk")
def logout(number):
    """Leave the counter (one tap)."""
    from staff.views import sign_out

    sign_out()
    return redirect(url_for("counter.page"))


# -- the citizen's rating screen ----------------------------------------------------------------

@bp.get("/rate/<int:number>")
@role("public")
def rate_page(number):
    """A screen facing the citizen at counter ``number``: one press after service."""
    runtime = _runtime()
    counter = runtime.read(runtime.hall.catalogue.counter, number)
    prompt = runtime.read(runtime.hall.ratings.prompt, number)
    template = "counter/rate_prompt.html" if request.headers.get("HX-Request") \
        else "counter/rate.html"
    return render_template(template, counter=counter, prompt=prompt, thanks=None)


@bp.post("/rate/<int:number>")
@role("public")
def rate(number):
    """Record the citizen's press; a clerk's own session cannot rate."""
    runtime = _runtime()
    counter = runtime.read(runtime.hall.catalogue.counter, number)
    who = actor()
    thanks, error = None, None
    try:
        if who.role != "public":
            raise errors.Forbidden(errors.N_("Cán bộ không tự đánh giá lượt phục vụ của mình."))
        level = request.form.get("level", "")
        if not level.isdecimal():
            raise errors.InvalidInput(detail="level")
        thanks = runtime.act(runtime.hall.ratings.rate, number, int(level), "screen")
    except errors.HallError as exc:
        error = _(exc.text, **exc.params)
    prompt = runtime.read(runtime.hall.ratings.prompt, number)
    return render_template("counter/rate_prompt.html", counter=counter, prompt=prompt,
                           thanks=thanks, error=error), (200 if thanks else 409)


# -- helpers -----------------------------------------------------------------------------------

def _context(number: int, message: str = "", failed: bool = False) -> dict:
    runtime = _runtime()
    hall = runtime.hall
    board = runtime.read(hall.desk, number)
    counters = [c for c in runtime.read(hall.catalogue.counters) if c["number"] != number]
    queues = runtime.read(hall.catalogue.queues)
    ratings = runtime.read(hall.ratings.summary, None, number)
    return {"board": board, "counters": counters, "queues": queues, "ratings": ratings,
            "message": message, "failed": failed, "shortcuts": SHORTCUTS,
            "action_words": ACTION_WORDS, "outcome_words": OUTCOME_WORDS,
            "outcomes": hall.rules.outcomes, "priority_words": PRIORITY_WORDS,
            "reasons": PRIORITY_REASONS, "who": actor(),
            "seated_here": session.get("counter") == number,
            "can": _can(board)}


def _can(board: dict) -> dict:
    """Which buttons make sense now; a reason (a msgid) for each that does not."""
    status, current = board["status"], board["current"]
    waiting = sum(lane["waiting"] for lane in board["lanes"]) + len(board["sent_here"])
    closed = {"paused": errors.N_("Quầy đang tạm dừng."),
              "closed": errors.N_("Quầy đang đóng.")}.get(status)
    no_ticket = None if current else errors.N_("Chưa gọi số nào.")
    return {
        "next": closed or (None if waiting else errors.N_("Không còn ai chờ.")),
        "call": closed,
        "recall": no_ticket, "no-show": no_ticket, "finish": no_ticket, "transfer": no_ticket,
        "pause": None if status == "open" else errors.N_("Quầy không mở."),
        "resume": None if status != "open" else errors.N_("Quầy đang mở."),
    }


def _panel(number: int, message: str, failed: bool = False, status: int = 200):
    return render_template("counter/panel.html", **_context(number, message, failed)), status


def _said(action: str, result: dict) -> str:
    """What the clerk is told after a press."""
    number = result.get("number")
    return {
        "next": _("Đã gọi số %(number)s.", number=number),
        "call": _("Đã gọi số %(number)s.", number=number),
        "recall": _("Đã gọi lại số %(number)s.", number=number),
        "no-show": _("Số %(number)s vắng mặt.", number=number),
        "finish": _("Đã hoàn thành số %(number)s.", number=number),
        "transfer": _("Đã chuyển số %(number)s.", number=number),
        "pause": _("Quầy tạm dừng."), "resume": _("Quầy tiếp tục làm việc."),
        "pause-toggle": _("Quầy tạm dừng.") if result.get("status") == "paused"
        else _("Quầy tiếp tục làm việc."),
        "close": _("Quầy đã đóng."),
    }[action]
