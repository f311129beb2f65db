"""Kiosk screens (htmx): thin views over the hall core and the kiosk's printer."""

import re
import secrets

import segno
from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext

from hall import errors
from hall.rules import PRIORITY_REASONS
from printer.layout import PRIORITY_WORDS
from staff.roles import role

from . import menu
from .printing import print_ticket, status_url

bp = Blueprint("kiosk", __name__, template_folder="templates")
KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def _runtime():
    return current_app.extensions["goiso"]


def _kiosk(kiosk_id: str) -> dict:
    for kiosk in _runtime().read(_runtime().hall.catalogue.kiosks):
        if kiosk["id"] == kiosk_id and kiosk["active"]:
            return kiosk
    abort(404)


def _priority() -> str | None:
    value = request.values.get("priority") or None
    return value if value in PRIORITY_REASONS else None


def _menu() -> menu.Menu:
    runtime = _runtime()
    hall = runtime.hall
    return menu.build(runtime.read(hall.catalogue.procedures),
                      runtime.read(hall.tickets.availability))


def _options():
    return current_app.config["KIOSK"]


def _show(kiosk: dict, template: str, status: int = 200, **context):
    """A screen: the fragment for htmx, the whole kiosk page otherwise (first load, reload)."""
    context.update(kiosk=kiosk, priority=context.get("priority", _priority()),
                   priority_words=PRIORITY_WORDS, options=_options(),
                   new_key=lambda: secrets.token_urlsafe(12))
    if request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request"):
        return render_template(template, **context), status
    printer = _runtime().printers.status(kiosk["id"])
    return render_template("kiosk/page.html", screen=template, printer=printer,
                           **context), status


@bp.get("/")
@role("public")
def start():
    """Choose a kiosk (or go straight to the only one)."""
    kiosks = [k for k in _runtime().read(_runtime().hall.catalogue.kiosks) if k["active"]]
    if len(kiosks) == 1:
        return redirect(url_for("kiosk.home", kiosk_id=kiosks[0]["id"]))
    return render_template("kiosk/choose.html", kiosks=kiosks)


@bp.get("/<kiosk_id>")
@role("public")
def home(kiosk_id):
    """The start screen: fields, or the procedures when the hall has one field."""
    kiosk = _kiosk(kiosk_id)
    offer = _menu()
    if len(offer.fields) == 1:
        only = offer.fields[0]
        return _show(kiosk, "kiosk/procedures.html", field=only, choices=offer.of_field(only["id"]),
                     at_start=True)
    return _show(kiosk, "kiosk/fields.html", fields=offer.fields, menu=offer, at_start=True)


@bp.get("/<kiosk_id>/fields/<int:field_id>")
@role("public")
def field(kiosk_id, field_id):
    """The procedures of one field."""
    kiosk = _kiosk(kiosk_id)
    offer = _menu()
    chosen = next((f for f in offer.fields if f["id"] == field_id), None)
    if chosen is None:
        return redirect(url_for("kiosk.home", kiosk_id=kiosk_id, priority=_priority()))
    return _show(kiosk, "kiosk/procedures.html", field=chosen,
                 choices=offer.of_field(field_id), at_start=False)


@bp.get("/<kiosk_id>/search")
@role("public")
def search(kiosk_id):
    """Search by typing on the on-screen keyboard, accents optional."""
    kiosk = _kiosk(kiosk_id)
    query = request.args.get("q", "")[:80]
    found = _menu().search(query) if query.strip() else []
    if request.headers.get("HX-Target") == "results":
        return render_template("kiosk/results.html", kiosk=kiosk, query=query, choices=found,
                               priority=_priority(), new_key=lambda: secrets.token_urlsafe(12))
    return _show(kiosk, "kiosk/search.html", query=query, choices=found)


@bp.get("/<kiosk_id>/priority")
@role("public")
def priority(kiosk_id):
    """Who may be served first: choosing a reason marks the ticket about to be taken."""
    kiosk = _kiosk(kiosk_id)
    return _show(kiosk, "kiosk/priority.html", reasons=PRIORITY_REASONS)


@bp.post("/<kiosk_id>/tickets")
@role("public")
def issue(kiosk_id):
    """Issue a ticket for the tapped procedure (once per key) and queue it for printing."""
    kiosk = _kiosk(kiosk_id)
    runtime = _runtime()
    hall = runtime.hall
    key = request.form.get("key", "")
    code = request.form.get("procedure", "")
    if not KEY.match(key) or not code:
        return _refused(kiosk, errors.InvalidInput(detail="procedure/key"), 400)
    # The same tap again (double tap, a retry after a network blip): the same ticket.
    earlier = runtime.read(hall.tickets.by_request_key, key)
    if earlier is not None:
        return _ticket_screen(kiosk, _sheet(earlier["token"]))
    printers = runtime.printers
    reading = printers.status(kiosk_id)
    if not reading.ready and _options().printer_down == "refuse":
        # The refusal screen translates the text, not its parameters: translate the reason here.
        return _refused(kiosk, errors.PrinterNotReady(printer=kiosk["name"],
                                                      reason=gettext(reading.words)), 503)
    try:
        ticket = runtime.act(hall.tickets.issue, code, priority=_priority(), kiosk=kiosk_id,
                             request_key=key)
    except errors.HallError as exc:
        return _refused(kiosk, exc, exc.status)
    token = ticket["token"]
    sheet = _sheet(token)
    if not reading.ready:
        # "Screen ticket" mode: the screen (number and QR) is the ticket; staff see it flagged.
        runtime.act(hall.tickets.mark_printed, token, False,
                    "vé trên màn hình: " + reading.words, printer=kiosk_id)
    elif print_ticket(kiosk_id, sheet):
        return _ticket_screen(kiosk, sheet)  # printing: the screen follows it from here
    else:
        runtime.act(hall.tickets.mark_printed, token, False, "ki-ốt này không có máy in",
                    printer=kiosk_id)
    return _ticket_screen(kiosk, _sheet(token))  # marked not printed: read it again


@bp.get("/<kiosk_id>/tickets/<token>")
@role("public")
def ticket(kiosk_id, token):
    """The ticket screen again (a reload while it shows)."""
    return _ticket_screen(_kiosk(kiosk_id), _sheet(token))


@bp.get("/<kiosk_id>/tickets/<token>/printing")
@role("public")
def printing(kiosk_id, token):
    """How printing this ticket goes; polled by the ticket screen until it is settled."""
    kiosk = _kiosk(kiosk_id)
    sheet = _sheet(token)
    return render_template("kiosk/printing.html", kiosk=kiosk, sheet=sheet, options=_options())


@bp.get("/<kiosk_id>/ping")
@role("public")
def ping(kiosk_id):
    """Is the server there, and is this kiosk's printer ready? (the kiosk's heartbeat)"""
    kiosk = _kiosk(kiosk_id)
    reading = _runtime().printers.status(kiosk["id"])
    return jsonify({"ok": True, "printer": {"state": reading.state, "ready": reading.ready}})


@bp.get("/<kiosk_id>/banner")
@role("public")
def banner(kiosk_id):
    """The status line over every screen: printer trouble, in the kiosk's words."""
    kiosk = _kiosk(kiosk_id)
    return render_template("kiosk/banner.html", kiosk=kiosk, options=_options(),
                           printer=_runtime().printers.status(kiosk["id"]))


# -- helpers ---------------------------------------------------------------------------------

def _sheet(token: str) -> dict:
    try:
        return _runtime().read(_runtime().hall.tickets.sheet, token)
    except errors.NotFound:
        abort(404)


def _ticket_screen(kiosk: dict, sheet: dict):
    url = status_url(sheet["token"])
    qr = segno.make(url, error="m").svg_data_uri(scale=6, border=2)
    return _show(kiosk, "kiosk/ticket.html", sheet=sheet, qr=qr, url=url,
                 priority=sheet["priority"])


def _refused(kiosk: dict, exc: errors.HallError, status: int):
    return _show(kiosk, "kiosk/refused.html", status=status, error=exc)
