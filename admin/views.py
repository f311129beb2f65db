"""Back-office pages for supervisors: printer states, test pages, reprints, unprinted tickets."""

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _

from hall import errors
from hall.errors import N_
from kiosk.printing import print_ticket, printer_names
from staff.roles import actor, role

bp = Blueprint("admin", __name__, template_folder="templates")


def _runtime():
    return current_app.extensions["goiso"]


def _printing_context(message: str = "", failed: bool = False) -> dict:
    runtime = _runtime()
    hall = runtime.hall
    return {"printers": runtime.printers.describe(printer_names()),
            "unprinted": runtime.read(hall.tickets.unprinted),
            "devices": {d["id"]: d for d in runtime.read(hall.devices.all, "printer")},
            "message": message, "failed": failed, "running": runtime.printers.running}


def _panel(message: str = "", failed: bool = False, status: int = 200):
    """The printing panel alone for htmx, inside the whole page otherwise."""
    context = _printing_context(message, failed)
    if request.headers.get("HX-Request"):
        return render_template("admin/printing.html", **context), status
    return render_template("admin/index.html", **context, **_devices_context(),
                           boards=_runtime().read(_runtime().hall.catalogue.boards)), status


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


DEVICE_WORDS = {
    "connected": N_("Đã kết nối"), "disconnected": N_("Mất kết nối"),
    "online": N_("Hoạt động"), "silent": N_("Không thấy tín hiệu"),
    "keypad": N_("Bàn phím quầy"), "display": N_("Bảng LED số"),
    "rating": N_("Bàn phím đánh giá"), "serial_bus": N_("Cổng nối tiếp"),
}


def _devices_context() -> dict:
    runtime = _runtime()
    return {"counter_devices": [d for d in runtime.read(runtime.hall.devices.all)
                                if d["kind"] != "printer"],
            "configured": bool(current_app.config.get("SERIAL_BUSES")),
            "ports_open": runtime.hardware is not None, "device_words": DEVICE_WORDS}


@bp.post("/boards/<board_id>/notice")
@role("supervisor")
def board_notice(board_id):
    """Set (or clear) the line a hall board scrolls under the calls."""
    runtime = _runtime()
    catalogue = runtime.hall.catalogue
    board = next((b for b in runtime.read(catalogue.boards) if b["id"] == board_id), None)
    message, failed, status = "", False, 200
    if board is None:
        message, failed, status = _("Không có màn hình %(board)s.", board=board_id), True, 404
    else:
        try:
            runtime.act(catalogue.put_board, board_id, name=board["name"],
                        queues=board["queues"], counters=board["counters"],
                        notice=request.form.get("notice", ""))
            message = _("Đã lưu thông báo của %(board)s.", board=board["name"])
        except errors.HallError as exc:
            message, failed, status = _(exc.text, **exc.params), True, exc.status
    return render_template("admin/boards.html", boards=runtime.read(catalogue.boards),
                           message=message, failed=failed), status


@bp.post("/printers/<name>/test")
@role("supervisor")
def test_page(name):
    """Print a test page on one printer."""
    printers = _runtime().printers
    if name not in printer_names():
        return _panel(_("Không có máy in %(printer)s.", printer=name), True, 404)
    if not printers.test_page(name, current_app.config["HALL_NAME"]):
        return _panel(_("Máy in %(printer)s không chạy (dịch vụ in chưa bật hoặc không có máy"
                        " in).", printer=name), True, 409)
    return _panel(_("Đã gửi trang in thử tới %(printer)s.", printer=name))


@bp.post("/tickets/reprint")
@role("supervisor")
def reprint():
    """Print a ticket again (lost, torn, never printed) on the chosen printer."""
    runtime = _runtime()
    hall = runtime.hall
    token = request.form.get("token", "")
    number = request.form.get("number", "").strip()
    try:
        if not token:
            token = runtime.read(hall.tickets.find, number, request.form.get("queue") or None,
                                 )["token"]
        sheet = runtime.read(hall.tickets.sheet, token)
    except errors.NotFound:
        return _panel(_("Không có số thứ tự %(number)s trong ngày hôm nay.",
                        number=number or "?"), True, 404)
    except errors.HallError as exc:
        return _panel(_(exc.text, **exc.params), True, exc.status)
    name = request.form.get("printer") or sheet["kiosk"] or ""
    # Only a printer of the hall: any other name would open a new folder printer on the fly.
    if name and name not in printer_names():
        return _panel(_("Không có máy in %(printer)s.", printer=name), True, 404)
    if not name or not print_ticket(name, sheet, reprint=True):
        return _panel(_("Không in lại được số %(number)s: chưa chọn máy in hoặc máy in không"
                        " chạy.", number=sheet["number"]), True, 409)
    return _panel(_("Đang in lại số %(number)s trên %(printer)s.", number=sheet["number"],
                    printer=name))


@bp.post("/tickets/cancel")
@role("supervisor")
def cancel():
    """Withdraw a ticket nobody holds (it never printed and nobody came for it)."""
    runtime = _runtime()
    hall = runtime.hall
    token = request.form.get("token", "")
    try:
        sheet = runtime.read(hall.tickets.sheet, token)
        runtime.act(hall.tickets.cancel, sheet["number"], clerk=actor().clerk,
                    queue=sheet["issued_queue"], reason="không in được vé")
    except errors.NotFound:
        return _panel(_("Không tìm thấy vé này."), True, 404)
    except errors.HallError as exc:
        return _panel(_(exc.text, **exc.params), True, exc.status)
    return _panel(_("Đã hủy số %(number)s.", number=sheet["number"]))

