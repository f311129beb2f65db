"""The counter page (/counter/<n>) and the citizen's rating screen (/rate/<n>): what the clerk
presses and the citizen taps, translated into the application layer's terms."""

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_htmx import make_response as htmx_response

from hall import errors
from hall.catalogue import MAX_COUNTER
from hall.desk import ACTIONS, PAGE_KEYS
from hall.rules import PRIORITY_REASONS
from hall.words import N_
from services import counters
from web import runtime
from web.access import actor, may_act_at, role, sign_out
from web.extensions import htmx
from web.locale import for_one_citizen, hall_screen, linger
from web.pages import fragment_or_page
from web.replies import say

bp = Blueprint("counter", __name__, template_folder="templates")
COUNTER = f"<int(max={MAX_COUNTER}):number>"
# The key shown on each button: the page's keys, the pause/resume pair sharing one.
BUTTON_KEYS = {action: key for key, action in PAGE_KEYS} | {
    action: ACTIONS["pause-toggle"].page_key for action in ("pause", "resume")}
THANKS_SECONDS = 5  # the rating screen's thanks stays up this long (counter.js's THANKS_MS)


@bp.get("/counter/")
@role("public")
def page():
    """Where a clerk starts: their counter if seated, else the sign-in form."""
    who = actor()
    if who.role != "public" and who.counter is not None:
        return redirect(url_for("counter.desk", number=who.counter))
    return redirect(url_for("staff.login", next=url_for("counter.page"),
                            counter=request.args.get("counter") or None))


@bp.get(f"/counter/{COUNTER}")
@role("clerk")
def desk(number):
    """The counter page: the current ticket, big buttons, the waiting list, today's totals."""
    try:
        may_act_at(number)
    except errors.Forbidden:
        return redirect(url_for("staff.login", next=url_for("counter.page"), counter=number))
    return render_template("counter/page.html", **_context(number))


@bp.get(f"/counter/{COUNTER}/panel")
@role("clerk")
def panel(number):
    """The live part of the page (refreshed on every event of the hall); the whole page when
    opened on its own."""
    may_act_at(number)
    return fragment_or_page("counter/panel.html", "counter/page.html", **_context(number))


@bp.post(f"/counter/{COUNTER}/act/<action>")
@role("clerk")
def act(number, action):
    """One button (or key) press; the panel comes back with what happened."""
    may_act_at(number)
    if action not in ACTIONS:
        return _panel(number, _("Không có thao tác này."), True, 404)
    args = {}
    for name in ACTIONS[action].takes:
        value = request.form.get(name, "").strip()
        if value and name == "dossiers":
            args[name] = value.splitlines()  # one code a line (a scanner ends each with Enter)
        elif value:
            args[name] = int(value) if name == "counter" and value.isdecimal() else value
    target = args.get("counter")
    if action == "transfer" and (isinstance(target, str) or (target or 0) > MAX_COUNTER):
        return _panel(number, _("Quầy chuyển đến không hợp lệ."), True, 400)
    try:
        result = counters.act(runtime(), number, action, actor().clerk, **args)
    except errors.HallError as exc:
        # What was typed stays: the dossier codes come back in their box.
        return _panel(number, say(exc), True, exc.status,
                      dossiers=request.form.get("dossiers", ""))
    return _panel(number, _said(action, result))


@bp.post("/counter/<int:number>/logout")
@role("clerk")
def logout(number):
    """Leave the counter (one tap)."""
    sign_out()
    return redirect(url_for("counter.page"))


# -- the citizen's rating screen ----------------------------------------------------------------

@bp.get("/rate/<int:number>")
@role("public")
@hall_screen
def rate_page(number):
    """A screen facing the citizen at counter ``number``: one press after service."""
    hall = runtime().hall
    counter = runtime().read(hall.catalogue.counter, number)
    prompt = runtime().read(hall.ratings.prompt, number)
    if for_one_citizen(prompt and prompt["number"]) and htmx:
        # The last citizen's language is dropped: the whole page again, in the hall's.
        return htmx_response(refresh=True)
    template = "counter/rate_prompt.html" if htmx else "counter/rate.html"
    return render_template(template, counter=counter, prompt=prompt, thanks=None)


@bp.post("/rate/<int:number>")
@role("public")
@hall_screen
def rate(number):
    """Record the citizen's press; a clerk's own session cannot rate."""
    hall = runtime().hall
    counter = runtime().read(hall.catalogue.counter, number)
    thanks, error = None, None
    try:
        if actor().role != "public":
            raise errors.Forbidden(N_("Cán bộ không tự đánh giá lượt phục vụ của mình."))
        level = request.form.get("level", "")
        thanks = counters.rate(runtime(), number, int(level) if level.isdecimal() else 0,
                               "screen")
        linger(THANKS_SECONDS)
    except errors.HallError as exc:
        error = say(exc)
    prompt = runtime().read(hall.ratings.prompt, number)
    return render_template("counter/rate_prompt.html", counter=counter, prompt=prompt,
                           thanks=thanks, error=error), (200 if thanks else 409)


# -- helpers -----------------------------------------------------------------------------------

def _context(number: int, message: str = "", failed: bool = False, dossiers: str = "") -> dict:
    hall = runtime().hall
    board = runtime().read(hall.screens.desk, number)
    others = [c for c in runtime().read(hall.catalogue.counters) if c["number"] != number]
    return {"board": board, "counters": others, "queues": runtime().read(hall.catalogue.queues),
            "ratings": runtime().read(hall.ratings.summary, None, number),
            "message": message, "failed": failed, "dossiers": dossiers, "shortcuts": PAGE_KEYS,
            "page_keys": dict(PAGE_KEYS), "button_keys": BUTTON_KEYS,
            "outcomes": hall.rules.outcomes,
            "reasons": PRIORITY_REASONS, "who": actor(),
            "seated_here": session.get("counter") == number, "can": _can(board)}


def _can(board: dict) -> dict:
    """Which buttons make sense now; a reason (a msgid) for each that does not."""
    status, current = board["status"], board["current"]
    waiting = sum(lane["waiting"] for lane in board["lanes"]) + len(board["sent_here"])
    closed = {"paused": N_("Quầy đang tạm dừng."), "closed": N_("Quầy đang đóng.")}.get(status)
    no_ticket = None if current else N_("Chưa gọi số nào.")
    return {
        "next": closed or (None if waiting else N_("Không còn ai chờ.")),
        "call": closed,
        "recall": no_ticket, "no-show": no_ticket, "finish": no_ticket, "transfer": no_ticket,
        "pause": None if status == "open" else N_("Quầy không mở."),
        "resume": None if status != "open" else N_("Quầy đang mở."),
    }


def _panel(number: int, message: str, failed: bool = False, status: int = 200,
           dossiers: str = ""):
    return render_template("counter/panel.html",
                           **_context(number, message, failed, dossiers)), status


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
