"""JSON API v1: requests translated into the application layer's terms; the rules live in
``hall``, what a request asks for is done by ``services``."""

import json

from flask import Blueprint, Response, jsonify, request, session
from flask_wtf.csrf import generate_csrf
from werkzeug.exceptions import UnsupportedMediaType

from hall import errors
from hall.catalogue import MAX_COUNTER
from hall.desk import ACTIONS
from hall.words import N_
from services import audit as audit_service
from services import bulk as bulk_service
from services import counters as counter_service
from services import limits as limits_service
from services import monitor as monitor_service
from services import signin as signin_service
from services import tickets as ticket_service
from services.streams import RETRY_AFTER_S, TOO_MANY_STREAMS
from web import runtime
from web.access import actor, may_act_at, role, sign_in, sign_out
from web.addresses import request_base
from web.audit import audit_filter
from web.clients import client_address
from web.replies import error_reply

from .openapi import document
from .stream import event_stream

bp = Blueprint("api", __name__)


def body() -> dict:
    """The JSON object sent with the request ({} when there is no body)."""
    if not request.is_json:
        # Not only for tidiness: a form body is read (and emptied) by the CSRF check, so it
        # would otherwise pass for "no body" and run the action.
        if request.content_length or request.get_data(cache=True):
            raise UnsupportedMediaType()
        return {}
    if not request.get_data(cache=True):
        return {}
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # absurdly deep nesting
        data = None
    if not isinstance(data, dict):
        raise errors.InvalidInput(N_("Thân yêu cầu phải là một đối tượng JSON."))
    try:  # NaN and Infinity are not JSON, though Python reads them
        json.dumps(data, allow_nan=False)
    except ValueError:
        raise errors.InvalidInput(N_("Thân yêu cầu phải là một đối tượng JSON.")) from None
    try:  # "\ud800" is valid JSON but not text: SQLite could not store it
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError):
        raise errors.InvalidInput(N_("Thân yêu cầu không phải văn bản UTF-8 hợp lệ.")) from None
    return data


def _filters() -> tuple[list[str] | None, list[int] | None]:
    """Queue and counter filters from ?queues=A,B&counters=1,2 or ?board=ID."""
    queues = [q for q in request.args.get("queues", "").split(",") if q] or None
    counters_arg = [c for c in request.args.get("counters", "").split(",") if c]
    try:
        counters = [int(c) for c in counters_arg] or None
    except ValueError:
        raise errors.InvalidInput(field="counters") from None
    board_id = request.args.get("board")
    if board_id:
        board = runtime().read(runtime().hall.catalogue.board, board_id)
        queues = board["queues"] or queues
        counters = board["counters"] or counters
    return queues, counters


@bp.get("/openapi.json")
@role("public")
def openapi():
    """The OpenAPI 3 document of this API."""
    return jsonify(document(runtime().hall.rules.outcomes))


# -- catalogue ---------------------------------------------------------------------------------

@bp.get("/fields")
@role("public")
def fields():
    return jsonify(runtime().read(runtime().hall.catalogue.fields))


@bp.get("/procedures")
@role("public")
def procedures():
    include_all = request.args.get("all") == "1" and actor().at_least("supervisor")
    return jsonify(runtime().read(runtime().hall.catalogue.procedures, include_all))


@bp.put("/procedures/<code>")
@role("supervisor")
def put_procedure(code):
    data = body()
    allowed = {"name", "field", "queue", "position", "active", "name_en", "keywords"}
    _only(data, allowed)
    return jsonify(runtime().act(runtime().hall.catalogue.put_procedure, code, **_need(
        data, "name", "field", "queue"), by=actor().clerk))


@bp.get("/queues")
@role("public")
def queues():
    hall = runtime().hall
    return jsonify(runtime().read(hall.catalogue.queues, False, hall.today()))


@bp.put("/queues/<code>")
@role("supervisor")
def put_queue(code):
    data = body()
    _only(data, {"name", "number_format", "prefix", "digits", "block", "priority_policy",
                 "interleave_every", "issue_from", "issue_until", "daily_limit",
                 "service_minutes", "position", "active"})
    return jsonify(runtime().act(runtime().hall.catalogue.put_queue, code, **_need(data, "name"),
                                 by=actor().clerk))


@bp.post("/queues/<code>/extend")
@role("supervisor")
def extend_queue(code):
    data = body()
    _only(data, {"extra"})
    return jsonify(limits_service.extend(runtime(), code, _need(data, "extra")["extra"],
                                         actor().clerk))


@bp.get("/counters")
@role("public")
def counters():
    return jsonify(runtime().read(runtime().hall.screens.snapshot)["counters"])


@bp.put("/counters/<int:number>")
@role("supervisor")
def put_counter(number):
    data = body()
    _only(data, {"name", "queues", "select_mode", "active"})
    return jsonify(runtime().act(runtime().hall.catalogue.put_counter, number, **data,
                                 by=actor().clerk))


@bp.get("/kiosks")
@role("public")
def kiosks():
    return jsonify(runtime().read(runtime().hall.catalogue.kiosks))


@bp.put("/kiosks/<kiosk_id>")
@role("supervisor")
def put_kiosk(kiosk_id):
    data = body()
    _only(data, {"name", "active"})
    kiosk = runtime().act(runtime().hall.catalogue.put_kiosk, kiosk_id, **_need(data, "name"),
                          by=actor().clerk)
    ticket_service.attach_printer(runtime(), kiosk)
    return jsonify(kiosk)


@bp.get("/boards")
@role("public")
def boards():
    return jsonify(runtime().read(runtime().hall.catalogue.boards))


@bp.put("/boards/<board_id>")
@role("supervisor")
def put_board(board_id):
    data = body()
    _only(data, {"name", "queues", "counters", "notice"})
    return jsonify(runtime().act(runtime().hall.catalogue.put_board, board_id, **data,
                                 by=actor().clerk))


@bp.get("/clerks")
@role("supervisor")
def clerks():
    return jsonify(runtime().read(runtime().hall.accounts.clerks))


@bp.put("/clerks/<login>")
@role("admin")
def put_clerk(login):
    data = body()
    _only(data, {"name", "pin", "role", "active"})
    values = signin_service.with_pin_hash(runtime(), _need(data, "name"))
    return jsonify(runtime().act(runtime().hall.accounts.put_clerk, login, **values,
                                 by=actor().clerk))


@bp.post("/counters/<int:number>/tokens")
@role("admin")
def new_token(number):
    _only(body(), set())
    token = runtime().act(runtime().hall.accounts.new_token, number, actor().clerk)
    return jsonify({"counter": number, "token": token}), 201


# -- tickets -----------------------------------------------------------------------------------

@bp.post("/tickets")
@role("public", csrf_exempt_json=True)
def issue():
    if not request.is_json:
        return _unsupported()
    data = body()
    _only(data, {"procedure", "priority", "kiosk"})
    # Staff are not held to the public doors' tickets a minute.
    client = None if actor().at_least("clerk") else client_address()
    issued = ticket_service.issue(
        runtime(), data.get("procedure"), priority=data.get("priority"), kiosk=data.get("kiosk"),
        request_key=request.headers.get("Idempotency-Key"),
        base=request_base, client=client)
    ticket = issued.ticket
    response = jsonify(ticket)
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/tickets/{ticket['token']}"
    return response


@bp.get("/tickets/<token>")
@role("public")
def ticket(token):
    return jsonify(runtime().read(runtime().hall.tickets.ticket, token))


@bp.post("/tickets/<number>/reactivate")
@role("clerk")
def reactivate(number):
    data = body()
    _only(data, {"queue"})
    return jsonify(runtime().act(runtime().hall.calling.reactivate, number, actor().clerk,
                                  data.get("queue")))


@bp.post("/tickets/<number>/cancel")
@role("clerk")
def cancel(number):
    data = body()
    _only(data, {"queue", "reason"})
    reason = data.get("reason", "")
    if not isinstance(reason, str):
        raise errors.InvalidInput(errors.InvalidInput.NOT_TEXT, field="reason")
    return jsonify(runtime().act(runtime().hall.calling.cancel, number, actor().clerk,
                                  data.get("queue"), reason))


@bp.get("/tickets/unprinted")
@role("clerk")
def unprinted():
    """Today's open tickets that did not print: staff reprint or cancel them."""
    tickets = runtime().read(runtime().hall.printing.unprinted)
    for ticket in tickets:
        ticket.pop("token")  # the holder's key; staff act by number
    return jsonify(tickets)


@bp.post("/tickets/<number>/reprint")
@role("supervisor")
def reprint(number):
    """Queue a ticket of today on a printer again (its kiosk's unless one is named)."""
    data = body()
    _only(data, {"queue", "printer"})
    printer, _sheet = ticket_service.reprint(runtime(), number=number, queue=data.get("queue"),
                                             printer=data.get("printer"), base=request_base,
                                             by=actor().clerk)
    found = runtime().read(runtime().hall.tickets.find, number, data.get("queue"))
    found.pop("token")
    response = jsonify({"printer": printer, "ticket": found})
    response.status_code = 202
    return response


@bp.get("/printers")
@role("supervisor")
def printers():
    """Every kiosk printer: where it is, its state, how it prints and why, its last job."""
    return jsonify(runtime().printers.describe(ticket_service.printer_names(runtime())))


@bp.post("/printers/<name>/test")
@role("supervisor")
def printer_test(name):
    """Print a test page (every Vietnamese letter, the print mode, the connection)."""
    body()
    ticket_service.test_page(runtime(), name)
    response = jsonify({"printer": name, "queued": True})
    response.status_code = 202
    return response


# -- counter actions ---------------------------------------------------------------------------

@bp.post("/counters/<int:number>/<action>")
@role("clerk")
def counter_action(number, action):
    data = body()
    if action not in ACTIONS:
        raise errors.NotFound()
    _only(data, set(ACTIONS[action].takes))
    for value in (number, data.get("counter")):
        if isinstance(value, int) and not isinstance(value, bool) \
                and not 1 <= value <= MAX_COUNTER:
            raise errors.UnknownCounter(number=value)
    may_act_at(number)
    try:
        return jsonify(counter_service.act(runtime(), number, action, actor().clerk, **data))
    except errors.NothingWaiting:
        return Response(status=204)


# -- bulk actions ------------------------------------------------------------------------------

@bp.post("/bulk")
@role("supervisor")
def bulk():
    """Preview (``dry_run``, the default) or apply one action on many tickets of today."""
    data = body()
    _only(data, {"action", "tickets", "filter", "to_queue", "to_counter", "reason", "dry_run",
                 "expect"})
    selection = data.get("filter") or {}
    if not isinstance(selection, dict):
        raise errors.InvalidInput(field="filter")
    tickets = data.get("tickets")
    if isinstance(tickets, dict):  # a filter given in place of the numbers
        selection = {**selection, **tickets}
    elif tickets is not None:
        selection = {**selection, "tickets": tickets}
    dry_run = data.get("dry_run", True)
    if not isinstance(dry_run, bool):
        raise errors.InvalidInput(errors.InvalidInput.NOT_BOOL, field="dry_run")
    args = {"to_queue": data.get("to_queue"), "to_counter": data.get("to_counter"),
            "reason": data.get("reason", "")}
    if dry_run:
        return jsonify(bulk_service.preview(runtime(), data.get("action"), selection, **args))
    return jsonify(bulk_service.apply(runtime(), data.get("action"), selection, **args,
                                      clerk=actor().clerk, expect=data.get("expect"),
                                      base=request_base))


# -- hall state and events ---------------------------------------------------------------------

@bp.get("/hall")
@role("public")
def hall_state():
    queues, counters = _filters()
    return jsonify(runtime().read(runtime().hall.screens.snapshot, queues, counters))


@bp.get("/events")
@role("public")
def events():
    queues, counters = _filters()
    last = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    try:
        after = int(last) if last else None
    except ValueError:
        raise errors.InvalidInput(field="Last-Event-ID") from None
    if after is not None and after < 0:
        raise errors.InvalidInput(field="Last-Event-ID")
    slot = runtime().streams.take(client_address())
    if slot is None:
        body, status = error_reply("too_many_streams", TOO_MANY_STREAMS, {}, 503)
        return body, status, {"Retry-After": str(RETRY_AFTER_S)}
    try:
        response = event_stream(runtime(), after, queues, counters,
                                keepalive=runtime().settings.sse_keepalive_seconds)
    except BaseException:
        slot.release()
        raise
    # The WSGI server closes the response however the stream ends (the screen left, a write
    # failed, the server stops), also when it never began: the place is given back then.
    response.call_on_close(slot.release)
    return response


# -- the back office: monitor and audit log -----------------------------------------------------

@bp.get("/monitor")
@role("supervisor")
def monitor():
    """Counters, queues (waiting, longest wait, time to clear), devices, unprinted tickets and
    alerts, now."""
    return jsonify(monitor_service.picture(runtime()))


@bp.get("/audit")
@role("supervisor")
def audit():
    """The staff's changes to the hall, newest first, filtered, one page."""
    return jsonify(audit_service.entries(runtime(), audit_filter(request.args)))


# -- session -----------------------------------------------------------------------------------

@bp.get("/session")
@role("public")
def whoami():
    who = actor()
    return jsonify({"role": who.role, "clerk": who.clerk, "name": who.name,
                    "counter": who.counter, "csrf_token": generate_csrf()})


@bp.post("/session")
@role("public")
def login():
    data = body()
    _only(data, {"login", "pin", "counter", "take_over"})
    counter = data.get("counter")
    if counter is not None and (not isinstance(counter, int) or isinstance(counter, bool)):
        raise errors.InvalidInput(field="counter")
    take_over = data.get("take_over", False)
    if not isinstance(take_over, bool):  # "false" must not take a colleague's counter
        raise errors.InvalidInput(errors.InvalidInput.NOT_BOOL, field="take_over")
    result = sign_in(data.get("login"), data.get("pin"), counter, take_over)
    return jsonify({**result, "csrf_token": generate_csrf()}), 201


@bp.delete("/session")
@role("public")
def logout():
    sign_out()
    session.modified = True
    return Response(status=204)


# -- helpers -----------------------------------------------------------------------------------

def _only(data: dict, allowed: set) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise errors.InvalidInput(errors.InvalidInput.UNEXPECTED, fields=", ".join(extra))


def _need(data: dict, *names: str) -> dict:
    missing = [n for n in names if data.get(n) in (None, "")]
    if missing:
        raise errors.InvalidInput(errors.InvalidInput.MISSING, fields=", ".join(missing))
    return data


def _unsupported():
    return error_reply("unsupported_media_type", N_("Cần gửi dữ liệu dạng JSON."), {}, 415)
