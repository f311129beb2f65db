"""Back-office pages for supervisors: printer states, test pages, reprints, unprinted tickets,
the counters' devices, board notices."""

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from hall import errors
from hall.words import N_
from services import tickets
from web import runtime
from web.access import actor, role
from web.addresses import request_base
from web.extensions import htmx
from web.replies import say

bp = Blueprint("admin", __name__, template_folder="templates")

DEVICE_WORDS = {
    "connected": N_("Đã kết nối"), "disconnected": N_("Mất kết nối"),
    "online": N_("Hoạt động"), "silent": N_("Không thấy tín hiệu"),
    "keypad": N_("Bàn phím quầy"), "display": N_("Bảng LED số"),
    "rating": N_("Bàn phím đánh giá"), "serial_bus": N_("Cổng nối tiếp"),
}


def _printing_context(message: str = "", failed: bool = False) -> dict:
    hall = runtime().hall
    return {"printers": runtime().printers.describe(tickets.printer_names(runtime())),
            "unprinted": runtime().read(hall.printing.unprinted),
            "devices": {d["id"]: d for d in runtime().read(hall.devices.all, "printer")},
            "message": message, "failed": failed, "running": runtime().printers.running}


def _devices_context() -> dict:
    return {"counter_devices": [d for d in runtime().read(runtime().hall.devices.all)
                                if d["kind"] != "printer"],
            "configured": bool(runtime().settings.serial),
            "ports_open": runtime().hardware is not None, "device_words": DEVICE_WORDS}


def _panel(message: str = "", failed: bool = False, status: int = 200):
    """The printing panel alone for htmx, inside the whole page otherwise."""
    context = _printing_context(message, failed)
    if htmx:
        return render_template("admin/printing.html", **context), status
    return render_template("admin/index.html", **context, **_devices_context(),
                           boards=runtime().read(runtime().hall.catalogue.boards)), status


@bp.get("/")
@role("supervisor")
def index():
    """The back office's first page: printing (more sections come with later issues)."""
    return _panel()


@bp.get("/printing")
@role("supervisor")
def printing():
    """The printing panel (refreshed live when a printer or a print job changes)."""
    return _panel()


@bp.get("/devices")
@role("supervisor")
def devices():
    """The counters' keypads, displays, rating pads and serial ports, as they last reported."""
    return render_template("admin/devices.html", **_devices_context())


@bp.post("/boards/<board_id>/notice")
@role("supervisor")
def board_notice(board_id):
    """Set (or clear) the line a hall board scrolls under the calls."""
    catalogue = runtime().hall.catalogue
    message, failed, status = "", False, 200
    try:
        board = runtime().act(catalogue.set_notice, board_id, request.form.get("notice", ""))
        message = _("Đã lưu thông báo của %(board)s.", board=board["name"])
    except errors.HallError as exc:
        message, failed, status = say(exc), True, exc.status
    return render_template("admin/boards.html", boards=runtime().read(catalogue.boards),
                           message=message, failed=failed), status


@bp.post("/printers/<name>/test")
@role("supervisor")
def test_page(name):
    """Print a test page on one printer."""
    try:
        tickets.test_page(runtime(), name)
    except errors.HallError as exc:
        return _panel(say(exc), True, exc.status)
    return _panel(_("Đã gửi trang in thử tới %(printer)s.", printer=name))


@bp.post("/tickets/reprint")
@role("supervisor")
def reprint():
    """Print a ticket again (lost, torn, never printed) on the chosen printer."""
    try:
        printer, sheet = tickets.reprint(
            runtime(), token=request.form.get("token") or None,
            number=request.form.get("number", "").strip() or None,
            queue=request.form.get("queue") or None,
            printer=request.form.get("printer") or None, base=request_base,
            by=actor().clerk)
    except errors.HallError as exc:
        return _panel(say(exc), True, exc.status)
    return _panel(_("Đang in lại số %(number)s trên %(printer)s.", number=sheet["number"],
                    printer=printer))


@bp.post("/tickets/cancel")
@role("supervisor")
def cancel():
    """Withdraw a ticket nobody holds (it never printed and nobody came for it)."""
    try:
        ticket = tickets.cancel_unprinted(runtime(), request.form.get("token", ""),
                                          actor().clerk)
    except errors.HallError as exc:
        return _panel(say(exc), True, exc.status)
    return _panel(_("Đã hủy số %(number)s.", number=ticket["number"]))
