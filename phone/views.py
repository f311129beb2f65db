"""The ticket's page on its holder's phone, ``/t/<token>``: the number, where it stands and
how long it may take, live (a stream of its own, else polling), the call in full screen, and
a rating once served. No cookie: the token in the address is the only key, to one ticket, for
its business day."""

import json
import time

from flask import Blueprint, Response, jsonify, render_template, request, stream_with_context
from flask_babel import gettext as _

from hall import errors
from hall.words import TICKET_STATUS
from services import phone
from services.streams import RETRY_AFTER_S, TOO_MANY_STREAMS
from web import runtime
from web.access import role
from web.clients import client_address
from web.locale import phone_screen
from web.replies import error_body, error_reply, say

bp = Blueprint("phone", __name__, template_folder="templates")
MAX_TOKEN = 64
RETRY_MS = 3000  # a lost stream is tried again after this long (the browser's EventSource)
PRIVATE = {
    # The token is the key to this page: keep it out of caches, other sites' logs and indexes.
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}


def _refuse_unknown(token: str) -> None:
    """No ticket has a token this long: refused before any reading."""
    if len(token) > MAX_TOKEN:
        raise errors.NotFound(errors.N_("Không tìm thấy vé này."))


def _find(token: str) -> dict:
    _refuse_unknown(token)
    return phone.ticket(runtime(), token)


def _payload(found: dict) -> dict:
    """What the page's script needs: the status part as HTML and the facts its alerts use."""
    counter = found["counter"]["name"] if found["counter"] else None
    if found["status"] == "called":
        title = _("Mời đến %(counter)s · số %(number)s", counter=counter or "",
                  number=found["number"])
    elif found["status"] == "waiting":
        title = _("Số %(number)s · %(n)s người phía trước", number=found["number"],
                  n=found["waiting_ahead"])
    else:
        word = TICKET_STATUS[found["status"]]
        title = _("Số %(number)s · %(status)s", number=found["number"], status=_(word))
    rating = found["rating"]
    return {"status": found["status"], "final": found["final"], "ahead": found["waiting_ahead"],
            "counter": counter, "recalls": found["recalls"], "number": found["number"],
            "called_at": found["called_at"], "title": title,
            "rateable": bool(rating and rating["given"] is None),
            "html": render_template("phone/status.html", sheet=found)}


def _gone(exc: errors.HallError) -> dict:
    """The payload of a ticket that is no more (its day is over, or it never was)."""
    return {"status": "gone", "final": True, "ahead": None, "counter": None, "recalls": 0,
            "number": None, "called_at": None, "rateable": False,
            "title": _("Vé không còn hiệu lực"),
            "html": render_template("phone/gone.html", message=say(exc)),
            "error": error_body(exc.code, exc.text, exc.params)}


def _private(response):
    response.headers.update(PRIVATE)
    return response


@bp.get("/t/<token>")
@role("public")
@phone_screen
def ticket(token):
    """The holder's ticket now; the page then follows it live."""
    try:
        found = _find(token)
    except (errors.NotFound, errors.TicketExpired) as exc:
        return _private(Response(render_template("phone/page.html", sheet=None,
                                                 gone=_gone(exc), token=token),
                                 status=exc.status))
    payload = _payload(found)
    # The script starts from the facts; the HTML is already on the page.
    facts = {key: value for key, value in payload.items() if key != "html"}
    return _private(Response(render_template("phone/page.html", sheet=found, payload=payload,
                                             facts=facts, token=token)))


@bp.get("/t/<token>/status")
@role("public")
@phone_screen
def status(token):
    """The ticket now as JSON (the page polls this where streams are blocked)."""
    try:
        return _private(jsonify(_payload(_find(token))))
    except (errors.NotFound, errors.TicketExpired) as exc:
        return _private(jsonify(_gone(exc))), exc.status


@bp.get("/t/<token>/events")
@role("public")
@phone_screen
def events(token):
    """The ticket as a stream: one ``ticket`` message now and one after each change that shows;
    ``gone`` when its day ends; ``ping`` on quiet spells so the page sees the line is alive."""
    try:
        _find(token)
    except (errors.NotFound, errors.TicketExpired) as exc:
        return _private(jsonify(_gone(exc))), exc.status
    slot = runtime().streams.take(client_address())
    if slot is None:
        body, code = error_reply("too_many_streams", TOO_MANY_STREAMS, {}, 503)
        return body, code, {"Retry-After": str(RETRY_AFTER_S)}
    keepalive = runtime().settings.sse_keepalive_seconds

    def frame(kind: str, data: dict) -> str:
        return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

    @stream_with_context
    def generate():
        yield f"retry: {RETRY_MS}\n\n"
        shown, wrote = None, time.monotonic()
        try:
            for found in phone.changes(runtime(), token, keepalive):
                payload = _payload(found)
                if payload != shown:
                    shown = payload
                    yield frame("ticket", payload)
                elif time.monotonic() - wrote >= keepalive:
                    yield frame("ping", {})
                else:
                    continue
                wrote = time.monotonic()
        except (errors.NotFound, errors.TicketExpired) as exc:
            yield frame("gone", _gone(exc))

    try:
        response = Response(generate(), mimetype="text/event-stream",
                            headers={**PRIVATE, "X-Accel-Buffering": "no"})
    except BaseException:
        slot.release()
        raise
    response.call_on_close(slot.release)
    return response


@bp.post("/t/<token>/rating")
@role("public", csrf_exempt_json=True)
@phone_screen
def rate(token):
    """The holder's rating of the service (JSON ``{"level": n}``); the ticket after it."""
    data = request.get_json(silent=True)
    level = data.get("level") if isinstance(data, dict) else None
    if not isinstance(level, int) or isinstance(level, bool):
        raise errors.InvalidInput(errors.InvalidInput.NOT_INTEGER, field="level")
    _refuse_unknown(token)
    phone.rate(runtime(), token, level)
    return _private(jsonify(_payload(_find(token))))
