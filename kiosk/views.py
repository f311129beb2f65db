"""Kiosk screens (htmx): what the citizen taps, translated into the application layer's terms."""

import re
import secrets

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for

from hall import errors
from hall.rules import PRIORITY_REASONS
from hall.words import N_
from services import tickets
from web import runtime
from web.access import role
from web.addresses import request_base
from web.clients import client_address
from web.extensions import htmx
from web.locale import hall_screen
from web.pages import fragment_or_page
from web.replies import with_retry_after

from . import menu

bp = Blueprint("kiosk", __name__, template_folder="templates")
KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
BAD_TAP = N_("Yêu cầu không hợp lệ. Xin vui lòng chọn lại thủ tục.")


def _kiosk(kiosk_id: str) -> dict:
    return runtime().read(runtime().hall.catalogue.kiosk, kiosk_id)


def _priority() -> str | None:
    value = request.values.get("priority") or None
    return value if value in PRIORITY_REASONS else None


def _menu() -> menu.Menu:
    hall = runtime().hall
    return menu.build(runtime().read(hall.catalogue.procedures),
                      runtime().read(hall.issuing.availability))


def _show(kiosk: dict, template: str, status: int = 200, **context):
    """A screen: the fragment for htmx, the whole kiosk page otherwise (first load, reload)."""
    context.update(kiosk=kiosk, priority=context.get("priority", _priority()),
                   options=runtime().settings.kiosk, new_key=lambda: secrets.token_urlsafe(12),
                   screen=template, printer=runtime().printers.status(kiosk["id"]),
                   day_closed=runtime().read(runtime().hall.bulk.day_closed))
    return fragment_or_page(template, "kiosk/page.html", **context), status


@bp.get("/")
@role("public")
@hall_screen
def start():
    """Choose a kiosk (or go straight to the only one)."""
    kiosks = [k for k in runtime().read(runtime().hall.catalogue.kiosks) if k["active"]]
    if len(kiosks) == 1:
        return redirect(url_for("kiosk.home", kiosk_id=kiosks[0]["id"]))
    return render_template("kiosk/choose.html", kiosks=kiosks)


@bp.get("/<kiosk_id>")
@role("public")
@hall_screen
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
@hall_screen
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
@hall_screen
def search(kiosk_id):
    """Search by typing on the on-screen keyboard, accents optional."""
    kiosk = _kiosk(kiosk_id)
    query = request.args.get("q", "")[:80]
    found = _menu().search(query) if query.strip() else []
    if htmx.target == "results":
        return render_template("kiosk/results.html", kiosk=kiosk, query=query, choices=found,
                               priority=_priority(), new_key=lambda: secrets.token_urlsafe(12))
    return _show(kiosk, "kiosk/search.html", query=query, choices=found)


@bp.get("/<kiosk_id>/priority")
@role("public")
@hall_screen
def priority(kiosk_id):
    """Who may be served first: choosing a reason marks the ticket about to be taken."""
    kiosk = _kiosk(kiosk_id)
    return _show(kiosk, "kiosk/priority.html", reasons=PRIORITY_REASONS)


@bp.post("/<kiosk_id>/tickets")
@role("public")
@hall_screen
def issue(kiosk_id):
    """Issue a ticket for the tapped procedure (once per key) and print it."""
    kiosk = _kiosk(kiosk_id)
    key = request.form.get("key", "")
    code = request.form.get("procedure", "")
    if not KEY.match(key) or not code:
        return _refused(kiosk, errors.InvalidInput(BAD_TAP), 400)
    try:
        issued = tickets.issue(runtime(), code, priority=_priority(), kiosk=kiosk_id,
                               request_key=key, base=request_base, client=client_address())
    except errors.HallError as exc:
        return _refused(kiosk, exc, exc.status)
    return _ticket_screen(kiosk, issued.sheet)


@bp.get("/<kiosk_id>/tickets/<token>")
@role("public")
@hall_screen
def ticket(kiosk_id, token):
    """The ticket screen again (a reload while it shows)."""
    return _ticket_screen(_kiosk(kiosk_id), _sheet(token))


@bp.get("/<kiosk_id>/tickets/<token>/printing")
@role("public")
@hall_screen
def printing(kiosk_id, token):
    """How printing this ticket goes; polled by the ticket screen until it is settled."""
    kiosk = _kiosk(kiosk_id)
    return render_template("kiosk/printing.html", kiosk=kiosk, sheet=_sheet(token),
                           options=runtime().settings.kiosk)


@bp.get("/<kiosk_id>/ping")
@role("public")
@hall_screen
def ping(kiosk_id):
    """Is the server there, and is this kiosk's printer ready? (the kiosk's heartbeat)"""
    kiosk = _kiosk(kiosk_id)
    reading = runtime().printers.status(kiosk["id"])
    return jsonify({"ok": True, "printer": {"state": reading.state, "ready": reading.ready}})


@bp.get("/<kiosk_id>/banner")
@role("public")
@hall_screen
def banner(kiosk_id):
    """The status line over every screen: printer trouble, in the kiosk's words, or issuing
    stopped early today."""
    kiosk = _kiosk(kiosk_id)
    return render_template("kiosk/banner.html", kiosk=kiosk, options=runtime().settings.kiosk,
                           printer=runtime().printers.status(kiosk["id"]),
                           day_closed=runtime().read(runtime().hall.bulk.day_closed))


def _sheet(token: str) -> dict:
    try:
        return runtime().read(runtime().hall.printing.sheet, token)
    except errors.NotFound:
        abort(404)


def _ticket_screen(kiosk: dict, sheet: dict):
    url = tickets.status_url(runtime(), sheet["token"], request_base)
    import segno  # the QR page only; not worth importing at start

    qr = segno.make(url, error="m").svg_data_uri(scale=6, border=2)
    return _show(kiosk, "kiosk/ticket.html", sheet=sheet, qr=qr, url=url,
                 priority=sheet["priority"])


def _refused(kiosk: dict, exc: errors.HallError, status: int):
    # A 429 (too many tickets a minute) says when to come back, as every door does.
    return with_retry_after(_show(kiosk, "kiosk/refused.html", status=status, error=exc), exc)
