"""The OpenAPI 3 document of API v1, kept beside the views (a test checks they match)."""

from hall.catalogue import PRINTABLE_PATTERN
from hall.events import AUDITED, EventKind
from hall.reports import FIGURES
from hall.rules import PRIORITY_REASONS

ERROR = {"$ref": "#/components/responses/Error"}
# A text that must not be blank (the API refuses "" and spaces as missing).
_TEXT = {"type": "string", "pattern": PRINTABLE_PATTERN, "maxLength": 100}
# A code of the catalogue (queue, procedure, kiosk, board): hall.catalogue.CODE_RE.
_CODE = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"}
_TICKET_NUMBER = {"type": "string", "pattern": "\\S", "example": "A023"}
# A counter's number (hall.catalogue.MAX_COUNTER).
_COUNTER = {"type": "integer", "minimum": 1, "maximum": 999}
_HHMM = {"type": "string", "pattern": "^([01]?[0-9]|2[0-3]):[0-5][0-9]$", "example": "07:30"}
_POSITION = {"type": "integer", "minimum": 0, "maximum": 100000}
# The queue that issued a number, when two queues give the same one (null: any).
_QUEUE_OF_NUMBER = {"type": "string", "nullable": True}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _op(summary: str, responses: dict, *, tag: str, security: str = "public",
        body: dict | None = None, params: list | None = None) -> dict:
    op = {"summary": summary, "tags": [tag], "responses": {**responses, "4XX": ERROR}}
    if security == "session":
        # Anyone, with a session and its CSRF token (both from GET /session): not a sign-in
        # (the request may be anonymous), so parameters rather than a security requirement.
        params = [*SESSION_PARAMS, *(params or [])]
    elif security != "public":
        op["security"] = [{"session": []}] if security != "device" else [
            {"session": []}, {"counterToken": []}]
        op["description"] = f"Needs role: {'clerk' if security == 'device' else security}."
    if body is not None:
        # A body with nothing required may be left out: the API reads no body as {}.
        schema = SCHEMAS[body["$ref"].rsplit("/", 1)[1]] if "$ref" in body else body
        needed = bool(schema.get("required"))
        op["requestBody"] = {"required": needed,
                             "content": {"application/json": {"schema": body}}}
    if params:
        op["parameters"] = params
    return op


SESSION_PARAMS = [
    {"name": "goiso_session", "in": "cookie", "required": True, "schema": {"type": "string"},
     "description": "The session cookie that GET /session sets (signed in or not)."},
    {"name": "X-CSRFToken", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "The session's CSRF token (csrf_token of GET /session)."}]


def _path_param(name: str, schema: dict) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema}


FILTERS = [
    {"name": "queues", "in": "query", "schema": {"type": "string"},
     "description": "Comma-separated queue codes to include."},
    {"name": "counters", "in": "query",
     "schema": {"type": "string", "pattern": "^[0-9]*(,[0-9]*)*$"},
     "description": "Comma-separated counter numbers to include."},
    {"name": "board", "in": "query", "schema": {"type": "string"},
     "description": "Use the queue and counter filters of this board."},
]

COUNTER_ACTIONS = {
    "next": ("Call the next ticket (204 when nobody waits)", None),
    "recall": ("Call the current ticket again", None),
    "no-show": ("Mark the current ticket as not present", None),
    "finish": ("Finish the current ticket with an outcome and the codes of the dossiers"
               " received (trimmed, blanks dropped, repeats kept once; at most 20 codes of"
               " at most 64 characters)",
               {"type": "object", "properties": {
                   "outcome": {"type": "string", "description": "One of the hall's outcomes"
                               " ([hall] outcomes; the first when left out)."},
                   "dossiers": {"type": "array", "maxItems": 20, "items": {
                       "type": "string", "maxLength": 64,
                       "pattern": "^\\s*[^\\x00-\\x1f\\x7f-\\x9f]*\\s*$",
                       "description": "Printable text (what Unicode prints)."}}},
                "additionalProperties": False}),
    "transfer": ("Send the current ticket to another queue or counter",
                 {"type": "object", "properties": {"queue": _CODE, "counter": _COUNTER},
                  "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
                  "description": "Exactly one of queue and counter (not this counter)."}),
    "call": ("Call a specific waiting number (or a no-show who came back)",
             {"type": "object", "required": ["number"],
              "properties": {"number": {"type": "string", "pattern": "\\S"},
                             "queue": _QUEUE_OF_NUMBER},
              "additionalProperties": False}),
    "pause": ("Pause the counter", None),
    "resume": ("Resume a paused or closed counter", None),
    "pause-toggle": ("Pause an open counter, resume a paused or closed one (one keypad key)",
                     None),
    "close": ("Close the counter (it must not be serving anyone)", None),
}


# The actions that answer with the counter (its new state) rather than a ticket.
COUNTER_STATE_ACTIONS = ("pause", "resume", "pause-toggle", "close")


def document(outcomes: tuple[str, ...] | None = None) -> dict:
    """The whole document (``outcomes``: the hall's, that finish takes)."""
    ticket_ok = {"200": _json(_ref("Ticket"))}
    paths = {
        "/openapi.json": {"get": _op("This document", {"200": _json({"type": "object"})},
                                     tag="meta")},
        "/fields": {"get": _op("Fields that have active procedures",
                               {"200": _json({"type": "array", "items": _ref("Field")})},
                               tag="catalogue")},
        "/procedures": {"get": _op("Active procedures in kiosk order",
                                   {"200": _json({"type": "array", "items": _ref("Procedure")})},
                                   tag="catalogue")},
        "/procedures/{code}": {"put": _op(
            "Create or update a procedure", {"200": _json(_ref("Procedure"))}, tag="catalogue",
            security="supervisor", params=[_path_param("code", _CODE)],
            body=_ref("ProcedureInput"))},
        "/queues": {"get": _op("Active queues with today's waiting counts",
                               {"200": _json({"type": "array", "items": _ref("Queue")})},
                               tag="catalogue")},
        "/queues/{code}": {"put": _op(
            "Create or update a queue", {"200": _json(_ref("Queue"))}, tag="catalogue",
            security="supervisor", params=[_path_param("code", _CODE)],
            body=_ref("QueueInput"))},
        "/queues/{code}/extend": {"post": _op(
            "Give a queue more numbers today, on top of its daily limit (audited)",
            {"200": _json({"type": "object", "required": ["queue", "limit"], "properties": {
                "queue": {"type": "string"}, "day": {"type": "string", "format": "date"},
                "limit": {"type": "integer"}, "before": {"type": "integer"},
                "used": {"type": "integer"}}})},
            tag="catalogue", security="supervisor",
            params=[_path_param("code", {"type": "string"})],
            body={"type": "object", "required": ["extra"], "additionalProperties": False,
                  "properties": {"extra": {"type": "integer", "minimum": 1, "maximum": 9999}}})},
        "/counters": {"get": _op("Counters with status and current ticket",
                                 {"200": _json({"type": "array", "items": _ref("Counter")})},
                                 tag="counters")},
        "/counters/{number}": {"put": _op(
            "Create or update a counter and the queues it serves",
            {"200": _json({"type": "object"})}, tag="counters", security="supervisor",
            params=[_path_param("number", _COUNTER)], body=_ref("CounterInput"))},
        "/counters/{number}/tokens": {"post": _op(
            "Make a new API token for a counter's devices (shown once, stored hashed)",
            {"201": _json({"type": "object", "properties": {
                "counter": {"type": "integer"}, "token": {"type": "string"}}})},
            tag="counters", security="admin",
            params=[_path_param("number", {"type": "integer"})])},
        "/kiosks": {"get": _op("Kiosks", {"200": _json({"type": "array"})}, tag="catalogue")},
        "/kiosks/{kiosk_id}": {"put": _op(
            "Create or update a kiosk", {"200": _json({"type": "object"})}, tag="catalogue",
            security="supervisor", params=[_path_param("kiosk_id", _CODE)],
            body={"type": "object", "required": ["name"], "properties": {
                "name": _TEXT, "active": {"type": "boolean"}}, "additionalProperties": False})},
        "/boards": {"get": _op("Boards", {"200": _json({"type": "array"})}, tag="catalogue")},
        "/boards/{board_id}": {"put": _op(
            "Create or update a board; what is not sent is kept (a new board needs a name)",
            {"200": _json({"type": "object"})}, tag="catalogue",
            security="supervisor", params=[_path_param("board_id", _CODE)],
            body={"type": "object", "properties": {
                "name": {**_TEXT, "nullable": True},
                "queues": {"type": "array", "items": _CODE, "nullable": True},
                "counters": {"type": "array", "items": _COUNTER, "nullable": True},
                "notice": {"type": "string", "maxLength": 300, "nullable": True,
                           "description": "A line the board scrolls; \"\" removes it."}},
                "additionalProperties": False})},
        "/clerks": {"get": _op("Clerks (without PINs)", {"200": _json({"type": "array"})},
                               tag="staff", security="supervisor")},
        "/clerks/{login}": {"put": _op(
            "Create or update a clerk", {"200": _json({"type": "object"})}, tag="staff",
            security="admin", params=[_path_param("login", {"type": "string", "pattern": "\\S",
                                                            "maxLength": 40})],
            body={"type": "object", "required": ["name"], "properties": {
                "name": _TEXT, "pin": {"type": "string", "pattern": "^[0-9]{4,12}$",
                                       "nullable": True},
                "role": {"enum": ["clerk", "supervisor", "admin"]},
                "active": {"type": "boolean"}}, "additionalProperties": False})},
        "/tickets": {"post": {
            **_op("Issue a ticket for a procedure; naming a kiosk prints it on that kiosk's"
                  " printer", {
                "201": _json(_ref("Ticket"), "The ticket (the same one again for a retried"
                             " Idempotency-Key)"),
                "415": ERROR,
                "503": ERROR}, tag="tickets", body=_ref("TicketRequest"),
                params=[{"name": "Idempotency-Key", "in": "header", "schema": {
                    "type": "string", "minLength": 1, "maxLength": 200},
                    "description": "A retried request with the same key returns the same"
                                   " ticket instead of a second one."}])}},
        "/tickets/{token}": {"get": _op(
            "A ticket as its holder sees it now", ticket_ok, tag="tickets",
            params=[_path_param("token", {"type": "string"})])},
        "/tickets/{number}/reactivate": {"post": _op(
            "Put a no-show of today back in its queue", ticket_ok, tag="tickets",
            security="clerk", params=[_path_param("number", _TICKET_NUMBER)],
            body={"type": "object", "properties": {"queue": _QUEUE_OF_NUMBER},
                  "additionalProperties": False})},
        "/tickets/{number}/cancel": {"post": _op(
            "Cancel a waiting ticket of today", ticket_ok, tag="tickets", security="clerk",
            params=[_path_param("number", _TICKET_NUMBER)],
            body={"type": "object", "properties": {"queue": _QUEUE_OF_NUMBER,
                                                   "reason": {"type": "string"}},
                  "additionalProperties": False})},
        "/tickets/unprinted": {"get": _op(
            "Today's open tickets that did not print (without their tokens)",
            {"200": _json({"type": "array", "items": _ref("StaffTicket")})}, tag="printing",
            security="clerk")},
        "/tickets/{number}/reprint": {"post": _op(
            "Print a ticket of today again, on its kiosk's printer or the one named",
            {"202": _json({"type": "object", "properties": {
                "printer": {"type": "string"}, "ticket": _ref("StaffTicket")}}, "Queued")},
            tag="printing", security="supervisor",
            params=[_path_param("number", _TICKET_NUMBER)],
            body={"type": "object", "properties": {"queue": _QUEUE_OF_NUMBER,
                                                   "printer": {"type": "string",
                                                               "nullable": True}},
                  "additionalProperties": False})},
        "/printers": {"get": _op(
            "Every kiosk printer: connection, state, print mode and why, last job",
            {"200": _json({"type": "array", "items": _ref("Printer")})}, tag="printing",
            security="supervisor")},
        "/printers/{name}/test": {"post": _op(
            "Print a test page", {"202": _json({"type": "object", "properties": {
                "printer": {"type": "string"}, "queued": {"type": "boolean"}}}, "Queued")},
            tag="printing", security="supervisor",
            params=[_path_param("name", {"type": "string"})])},
        "/hall": {"get": _op("The live state of the hall",
                             {"200": _json(_ref("HallState"))}, tag="hall", params=FILTERS)},
        "/events": {"get": _op(
            "The event log as Server-Sent Events. On every (re)connect: missed events after"
            " Last-Event-ID, then an event `state` with the hall state (HallState), then new"
            " events (`id:` = event id, `event:` = kind, `data:` = an Event); keep-alive"
            " comments.",
            {"200": {"description": "text/event-stream",
                     "content": {"text/event-stream": {"schema": {"type": "string"}}}}},
            tag="hall", params=FILTERS + [{"name": "Last-Event-ID", "in": "header",
                                           "schema": {"type": "integer"}}])},
        "/session": {
            "get": _op("Who is signed in, and the CSRF token for forms",
                       {"200": _json({"type": "object"})}, tag="staff"),
            "post": _op("Sign in with login and PIN (optionally at a counter); after wrong PINs"
                        " 429 signin_throttled with Retry-After (the right PIN too) until the"
                        " wait or the lock ends ([security] settings)",
                        {"201": _json({"type": "object"}), "429": {
                            "description": "Too many wrong PINs: wait or locked",
                            "headers": {"Retry-After": {"schema": {"type": "integer"},
                                                        "description": "Seconds to wait"}},
                            "content": {"application/json": {"schema": _ref("Error")}}}},
                        tag="staff", security="session",
                        body={"type": "object", "required": ["login", "pin"], "properties": {
                            "login": {"type": "string"}, "pin": {"type": "string"},
                            "counter": {"type": "integer", "nullable": True},
                            "take_over": {"type": "boolean"}},
                              "additionalProperties": False}),
            "delete": _op("Sign out", {"204": {"description": "Signed out"}}, tag="staff",
                          security="session"),
        },
    }
    paths.update(BACK_OFFICE_PATHS)
    for action, (summary, schema) in COUNTER_ACTIONS.items():
        ok = {"200": _json(_ref("Counter") if action in COUNTER_STATE_ACTIONS
                           else _ref("Ticket"))}
        if action == "next":
            ok["204"] = {"description": "Nobody is waiting for this counter"}
        if action == "finish" and outcomes:
            schema = {**schema, "properties": {
                **schema["properties"],
                "outcome": {**schema["properties"]["outcome"], "enum": list(outcomes)}}}
        paths[f"/counters/{{number}}/{action}"] = {"post": _op(
            summary, ok, tag="counters", security="device",
            params=[_path_param("number", {"type": "integer"})], body=schema)}
    paths["/bulk"] = {"post": _op(
        "Preview (dry_run, the default) or apply one action on many waiting tickets of today:"
        " move, cancel, reactivate (no-shows), reprint, close_counter, close_day, reopen_day."
        " Applied in one transaction; `expect` (a preview's fingerprint or ticket ids) refuses"
        " it with 409 selection_changed when the tickets are no longer those previewed.",
        {"200": _json(_ref("BulkResult"))}, tag="bulk", security="supervisor",
        body=_ref("BulkRequest"))}

    paths.update(REPORT_PATHS)
    paths.update(SECURITY_PATHS)
    _csrf_on_unsafe(paths)
    _link(paths)
    return {
        "openapi": "3.0.3",
        "info": {"title": "goiso API", "version": "1",
                 "description": "Queue tickets for a public service hall. Errors always have"
                                " the shape {\"error\": {\"code\", \"message\", \"messages\"}}."
                                " Unsafe requests made with a session cookie need the"
                                " X-CSRFToken header (from GET /session); counter devices use"
                                " Authorization: Bearer <token>."},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "goiso_session"},
                "counterToken": {"type": "http", "scheme": "bearer"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRFToken",
                         "description": "The session's CSRF token (GET /session), needed with"
                                        " the session cookie on every unsafe request."},
            },
            "responses": {"Error": _json(_ref("Error"), "An error")},
            "schemas": SCHEMAS,
        },
    }


def _operation(path: str, method: str = "post") -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


# What one answer lets a client do next (OpenAPI links; schemathesis follows them too).
_TICKET_BY_NUMBER = {"parameters": {"number": "$response.body#/number"},
                     "requestBody": {"queue": "$response.body#/queue/code"}}
_AT_COUNTER = {"parameters": {"number": "$request.path.number"}}
LINKS = {
    ("/tickets", "201"): {
        "GetTicket": {"operationRef": _operation("/tickets/{token}", "get"),
                      "parameters": {"token": "$response.body#/token"}},
        "CancelTicket": {"operationRef": _operation("/tickets/{number}/cancel"),
                         **_TICKET_BY_NUMBER}},
    ("/counters/{number}/next", "200"): {
        name: {"operationRef": _operation(f"/counters/{{number}}/{action}"), **_AT_COUNTER}
        for name, action in (("Finish", "finish"), ("Recall", "recall"),
                             ("NoShow", "no-show"), ("Transfer", "transfer"))},
    ("/counters/{number}/no-show", "200"): {
        "Reactivate": {"operationRef": _operation("/tickets/{number}/reactivate"),
                       **_TICKET_BY_NUMBER}},
}


# The back office: a change, then where it shows.
LINKS[("/kiosks/{kiosk_id}", "200", "put")] = {
    "TestItsPrinter": {"operationRef": _operation("/printers/{name}/test"),
                       "parameters": {"name": "$response.body#/id"}}}
LINKS[("/boards/{board_id}", "200", "put")] = {
    "ShowTheBoard": {"operationRef": _operation("/hall", "get"),
                     "parameters": {"board": "$response.body#/id"}}}
LINKS[("/queues/{code}", "200", "put")] = {
    "FindTheChange": {"operationRef": _operation("/audit", "get"),
                      "parameters": {"q": "$response.body#/code",
                                     "kind": EventKind.CATALOGUE_CHANGED.value}}}


def _link(paths: dict) -> None:
    for (path, status, *method), links in LINKS.items():
        paths[path][method[0] if method else "post"]["responses"][status]["links"] = links


def _csrf_on_unsafe(paths: dict) -> None:
    """A session's unsafe request needs its CSRF token too (a device's bearer token does not)."""
    for item in paths.values():
        for method, op in item.items():
            if method != "get":
                for needed in op.get("security", []):
                    if "session" in needed:
                        needed["csrf"] = []


NAMED = {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}}}

SCHEMAS = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "messages": {"type": "object", "properties": {"vi": {"type": "string"},
                                                          "en": {"type": "string"}}}}}}},
    "Field": {"type": "object", "properties": {"id": {"type": "integer"},
                                               "name": {"type": "string"},
                                               "procedures": {"type": "integer"}}},
    "Procedure": {"type": "object", "properties": {
        "code": {"type": "string"}, "name": {"type": "string"}, "field": {"type": "string"},
        "field_id": {"type": "integer"}, "queue": NAMED, "position": {"type": "integer"},
        "active": {"type": "boolean"}, "name_en": {"type": "string"},
        "keywords": {"type": "string"}, "field_en": {"type": "string"}}},
    "ProcedureInput": {"type": "object", "required": ["name", "field", "queue"], "properties": {
        "name": {**_TEXT, "maxLength": 300}, "field": {**_TEXT, "maxLength": 300},
        "queue": _CODE, "position": {**_POSITION, "nullable": True},
        "active": {"type": "boolean"},
        "name_en": {"type": "string", "maxLength": 300, "nullable": True,
                    "description": "null keeps it"},
        "keywords": {"type": "string", "maxLength": 500, "nullable": True,
                     "description": "search words for kiosks (null keeps them)"}},
        "additionalProperties": False},
    "Queue": {"type": "object", "properties": {
        "code": {"type": "string"}, "name": {"type": "string"},
        "number_format": {"enum": ["prefix", "block", "plain"]}, "prefix": {"type": "string"},
        "digits": {"type": "integer"}, "block": {"type": "integer", "nullable": True},
        "priority_policy": {"enum": ["strict", "interleave", None], "nullable": True},
        "interleave_every": {"type": "integer", "nullable": True},
        "issue_from": {"type": "string", "nullable": True, "example": "07:30"},
        "issue_until": {"type": "string", "nullable": True, "example": "16:30"},
        "daily_limit": {"type": "integer", "nullable": True},
        "service_minutes": {"type": "number"}, "position": {"type": "integer"},
        "active": {"type": "boolean"},
        "waiting": {"type": "integer"}, "counters": {"type": "array",
                                                     "items": {"type": "integer"}}}},
    "QueueInput": {"type": "object", "required": ["name"], "properties": {
        "name": {**_TEXT, "maxLength": 200},
        "number_format": {"enum": ["prefix", "block", "plain"], "default": "prefix"},
        "prefix": {"type": "string", "pattern": "^[A-Z]{0,2}$",
                   "description": "Needed by the prefix format; not another queue's."},
        "digits": {"type": "integer", "minimum": 1, "maximum": 6},
        "block": {"type": "integer", "minimum": 1, "maximum": 9, "nullable": True,
                  "description": "Needed by the block format; not another queue's."},
        "priority_policy": {"enum": ["strict", "interleave", None], "nullable": True},
        "interleave_every": {"type": "integer", "minimum": 1, "maximum": 100,
                             "nullable": True},
        "issue_from": {**_HHMM, "nullable": True}, "issue_until": {**_HHMM, "nullable": True},
        "daily_limit": {"type": "integer", "minimum": 1, "maximum": 100000, "nullable": True},
        "service_minutes": {"type": "number", "exclusiveMinimum": True, "minimum": 0,
                            "maximum": 480}, "position": _POSITION,
        "active": {"type": "boolean"}}, "additionalProperties": False},
    "CounterInput": {"type": "object", "properties": {
        "name": {"type": "string", "maxLength": 100, "nullable": True,
                 "description": "\"\" or null keeps it"},
        "select_mode": {"enum": ["oldest", "ordered", None], "nullable": True},
        "active": {"type": "boolean", "nullable": True},
        "queues": {"type": "array", "nullable": True, "items": {"oneOf": [
            _CODE, {"type": "object", "required": ["code"], "properties": {
                "code": _CODE, "weight": {"type": "number", "exclusiveMinimum": True,
                                          "minimum": 0, "maximum": 100}}}]}}},
        "additionalProperties": False},
    "TicketRequest": {"type": "object", "required": ["procedure"], "properties": {
        "procedure": {"type": "string", "pattern": "\\S"},
        "priority": {"enum": [*PRIORITY_REASONS, None], "nullable": True},
        "kiosk": {"type": "string", "nullable": True}}, "additionalProperties": False},
    "Ticket": {"type": "object", "required": ["id", "number", "queue", "status", "issued_at",
                                              "token"], "properties": {
        "id": {"type": "integer"}, "number": {"type": "string", "example": "A023"},
        "day": {"type": "string", "format": "date"}, "queue": NAMED,
        "procedure": {**NAMED, "nullable": True},
        "priority": {"type": "string", "nullable": True},
        "status": {"enum": ["waiting", "called", "done", "no_show", "cancelled", "expired"]},
        "issued_at": {"type": "string", "format": "date-time"},
        "called_at": {"type": "string", "format": "date-time", "nullable": True},
        "finished_at": {"type": "string", "format": "date-time", "nullable": True},
        "counter": {"type": "object", "nullable": True, "properties": {
            "number": {"type": "integer"}, "name": {"type": "string"}}},
        "target_counter": {"type": "integer", "nullable": True,
                           "description": "The counter it was sent to by name, if any."},
        "outcome": {"type": "string", "nullable": True},
        "recalls": {"type": "integer"}, "transfers": {"type": "integer"},
        "kiosk": {"type": "string", "nullable": True},
        "printed": {"type": "boolean", "nullable": True},
        "waiting_ahead": {"type": "integer", "nullable": True},
        "eta_minutes": {"type": "integer", "nullable": True, "minimum": 0,
                        "description": "The centre of the expected wait in whole minutes (0:"
                                       " called within a couple of minutes); null when it"
                                       " cannot be estimated or the ticket does not wait."},
        "eta_range": {"type": "array", "nullable": True, "minItems": 2, "maxItems": 2,
                      "items": {"type": "integer", "minimum": 0},
                      "description": "The honest range [low, high] of the expected wait in"
                                     " whole minutes, shown as \"khoảng low–high phút\"; null"
                                     " when unknown (\"chưa ước tính được\")."},
        "eta_after_closing": {"type": "boolean",
                              "description": "The expected call falls after the hall's (or"
                                             " the queue's) closing time today."},
        "dossiers": {"type": "array", "items": {"type": "string"},
                     "description": "The dossier codes recorded (in the answer to finish)."},
        "token": {"type": "string"}}},
    "Counter": {"type": "object", "properties": {
        "number": {"type": "integer"}, "name": {"type": "string"},
        "status": {"enum": ["open", "paused", "closed"]},
        "select_mode": {"enum": ["oldest", "ordered"]},
        "queues": {"type": "array", "items": {"type": "string"}},
        "clerk": {"type": "object", "nullable": True, "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}}},
        "current": {"type": "object", "nullable": True,
                    "description": "The ticket being served, without its token."}}},
    "Printer": {"type": "object", "properties": {
        "name": {"type": "string", "description": "The kiosk id."},
        "where": {"type": "string"}, "connection": {
            "enum": ["file", "usb", "serial", "network", "device", "none"]},
        "width": {"type": "integer", "nullable": True},
        "state": {"enum": ["ready", "paper_low", "paper_out", "cover_open", "offline", "error",
                           "no_answer", "unreachable", "write_only", "stopped",
                           "checking"]},
        "ready": {"type": "boolean"}, "words": {"type": "string"},
        "detail": {"type": "string"},
        "mode": {"type": "string", "nullable": True}, "qr": {"type": "string", "nullable": True},
        "reason": {"type": "string"}, "waiting": {"type": "integer"},
        "last": {"type": "object", "nullable": True}}},
    "HallState": {"type": "object", "properties": {
        "day": {"type": "string"}, "at": {"type": "string"},
        "last_event_id": {"type": "integer"}, "queues": {"type": "array"},
        "counters": {"type": "array", "items": {"$ref": "#/components/schemas/Counter"}},
        "recent_calls": {"type": "array"}}},
}

# The data of one event frame of GET /events (hall.events.Event.as_dict).
SCHEMAS["Event"] = {"type": "object", "additionalProperties": False,
                    "required": ["id", "at", "day", "kind", "data"], "properties": {
    "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
    "day": {"type": "string", "format": "date"}, "kind": {"enum": [k.value for k in EventKind]},
    "ticket": {"type": "integer", "nullable": True},
    "counter": {"type": "integer", "nullable": True},
    "clerk": {"type": "integer", "nullable": True},
    "queue": {"type": "string", "nullable": True},
    "data": {"type": "object", "description": "What the kind tells (a ticket's number, queue,"
                                              " status…)."}}}

# A ticket as staff lists see it: without the holder's token, with why it did not print.
SCHEMAS["StaffTicket"] = {
    **SCHEMAS["Ticket"],
    "required": [r for r in SCHEMAS["Ticket"]["required"] if r != "token"],
    "properties": {**{k: v for k, v in SCHEMAS["Ticket"]["properties"].items() if k != "token"},
                   "print_error": {"type": "string", "nullable": True}},
}


# -- the back office: the monitor and the audit log ----------------------------------------------

_SECONDS = {"type": "integer", "minimum": 0}
_OPT_SECONDS = {"type": "integer", "minimum": 0, "nullable": True}
_CLERK = {"type": "object", "nullable": True, "properties": {
    "id": {"type": "integer"}, "name": {"type": "string"}}}
_TIME = {"type": "string", "format": "date-time", "nullable": True}
SCHEMAS["Monitor"] = {"type": "object", "required": ["queues", "counters", "devices", "alerts"],
                      "properties": {
    "at": {"type": "string", "format": "date-time"}, "day": {"type": "string", "format": "date"},
    "last_event": {"type": "integer"}, "target_wait_s": _SECONDS, "alert_wait_s": _SECONDS,
    "alert_device_s": _SECONDS,
    "counters": {"type": "array", "items": {"type": "object", "properties": {
        "number": {"type": "integer"}, "name": {"type": "string"},
        "status": {"enum": ["open", "paused", "closed"]}, "active": {"type": "boolean"},
        "queues": {"type": "array", "items": {"type": "string"}}, "clerk": _CLERK,
        "current": {"type": "object", "nullable": True, "properties": {
            "number": {"type": "string"}, "queue": {"type": "string"}, "called_at": _TIME,
            "service_s": _SECONDS}},
        "served_today": {"type": "integer"}}}},
    "queues": {"type": "array", "items": {"type": "object", "properties": {
        "code": {"type": "string"}, "name": {"type": "string"},
        "waiting": {"type": "integer"}, "priority_waiting": {"type": "integer"},
        "longest_wait_s": {**_SECONDS, "description": "The oldest waiting ticket's wait."},
        "over_target": {"type": "integer"}, "over_alert": {"type": "integer"},
        "counters_open": {"type": "integer"},
        "served_per_hour": {"type": "number",
                            "description": "The pace: per open counter × open counters."},
        "pace_from": {"enum": ["recent", "planned"],
                      "description": "Measured on the last hour's services, or planned from"
                                     " the queue's service time when there were none."},
        "clear_s": {**_OPT_SECONDS, "description": "Time to clear at that pace (null: nobody"
                                                   " open serves a queue that has waiting)."},
        "numbers_used": {"type": "integer", "description": "Numbers given today."},
        "numbers_limit": {"type": "integer", "nullable": True,
                          "description": "The most it may give today (null: unbounded)."},
        "numbers_extendable": {"type": "boolean",
                               "description": "Whether a supervisor can extend today's range"
                                              " (POST /queues/{code}/extend)."},
        "new_ticket": {"type": "object", "description": "The expected wait of a normal ticket"
                       " taken now, as the ticket would say it (see Ticket.eta_*).",
                       "properties": {
                           "status": {"enum": ["waiting"]},
                           "eta_minutes": {"type": "integer", "nullable": True},
                           "eta_range": {"type": "array", "nullable": True,
                                         "items": {"type": "integer"}},
                           "eta_after_closing": {"type": "boolean"}}}}}},
    "devices": {"type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "string"}, "kind": {"type": "string"}, "place": {"type": "string"},
        "state": {"type": "string"}, "online": {"type": "boolean"}, "detail": {"type": "string"},
        "paper": {"enum": ["ok", "low", "out", None], "nullable": True}, "since": _TIME,
        "down_s": _OPT_SECONDS,
        "last_error": {"type": "object", "nullable": True, "properties": {
            "at": _TIME, "detail": {"type": "string", "nullable": True}}}}}},
    "unprinted": {"type": "array", "items": {"type": "object", "properties": {
        "number": {"type": "string"}, "queue": {"type": "string"},
        "kiosk": {"type": "string", "nullable": True}, "status": {"type": "string"},
        "issued_at": _TIME, "print_error": {"type": "string", "nullable": True}}}},
    "hub": {"type": "object", "nullable": True,
            "description": "Where the push to the province hub stands (null: no [hub]).",
            "properties": {
                "url": {"type": "string"}, "hall_id": {"type": "integer"},
                "acked": {"type": "integer"}, "head": {"type": "integer"},
                "pending": {"type": "integer"}, "lag_seconds": {"type": "number"},
                "last_success_at": _TIME, "last_attempt_at": _TIME,
                "error": {"type": "string", "nullable": True}, "error_since": _TIME,
                "catalogue": {"type": "object", "properties": {
                    "offered": {"type": "integer", "nullable": True},
                    "applied": {"type": "integer", "nullable": True},
                    "error": {"type": "string", "nullable": True}}}}},
    "alerts": {"type": "array", "items": {"type": "object", "required": ["kind"], "properties": {
        "kind": {"enum": ["wait", "device", "numbers", "limited", "disk", "hub"]},
        "lag_minutes": {"type": "integer"}, "pending": {"type": "integer"},
        "error": {"type": "string", "nullable": True},
        "free_mb": {"type": "integer"}, "limit_mb": {"type": "integer"},
        "queue": {"type": "string"},
        "used": {"type": "integer"}, "limit": {"type": "integer"}, "left": {"type": "integer"},
        "extendable": {"type": "boolean"}, "source": {"enum": ["kiosk", "client"]},
        "kiosk": {"type": "string", "nullable": True},
        "client": {"type": "string", "nullable": True}, "minutes": {"type": "integer"},
        "last_at": _TIME,
        "name": {"type": "string"}, "tickets": {"type": "integer"},
        "numbers": {"type": "array", "items": {"type": "string"}},
        "longest_wait_s": _SECONDS, "limit_s": _SECONDS, "device": {"type": "string"},
        "device_kind": {"type": "string"}, "place": {"type": "string"},
        "state": {"type": "string"}, "detail": {"type": "string"}, "down_s": _SECONDS}}}}}
SCHEMAS["AuditPage"] = {"type": "object", "properties": {
    "total": {"type": "integer"}, "page": {"type": "integer"}, "page_size": {"type": "integer"},
    "pages": {"type": "integer"},
    "entries": {"type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
        "day": {"type": "string", "format": "date"}, "kind": {"type": "string"},
        "clerk": _CLERK, "counter": {"type": "integer", "nullable": True},
        "what": {"type": "string", "nullable": True}, "key": {"nullable": True},
        "before": {"nullable": True}, "after": {"nullable": True},
        "count": {"type": "integer", "nullable": True}, "details": {"type": "object"}}}}}}


def _query(name: str, schema: dict, description: str) -> dict:
    """A query parameter of a filter form: left empty, it filters nothing."""
    return {"name": name, "in": "query", "description": description + " Empty: any.",
            "schema": {"anyOf": [schema, {"type": "string", "maxLength": 0}]}}


BACK_OFFICE_PATHS = {
    "/monitor": {"get": _op(
        "The hall now for a supervisor: counters (clerk, status, current ticket, service time,"
        " served today), queues (waiting, longest_wait_s, time to clear), devices, unprinted"
        " tickets, alerts", {"200": _json(_ref("Monitor"))}, tag="back office",
        security="supervisor")},
    "/audit": {"get": _op(
        "The audit log (staff changes to the hall), newest first (from after to: 400)",
        {"200": _json(_ref("AuditPage"))}, tag="back office", security="supervisor",
        params=[_query("kind", {"enum": [kind.value for kind in AUDITED]},
                       "One kind of change (event kind)."),
                _query("clerk", {"type": "integer"}, "Made by this clerk (id)."),
                _query("from", {"type": "string", "format": "date"}, "First business day."),
                _query("to", {"type": "string", "format": "date"}, "Last business day."),
                _query("q", {"type": "string", "maxLength": 100},
                       "Text found in the change or the clerk's name."),
                _query("page", {"type": "integer", "minimum": 1}, "Page, from 1."),
                _query("page_size", {"type": "integer", "minimum": 1, "maximum": 500},
                       "Entries per page (50).")])},
}

# Bulk actions (POST /bulk): the selection, the request, and what would change or changed.
BULK_FILTER = {"type": "object", "additionalProperties": False, "properties": {
    "queue": {"type": "string", "nullable": True},
    "procedure": {"type": "string", "nullable": True},
    "counter": {**_COUNTER, "nullable": True,
                "description": "Tickets sent to this counter by name."},
    "priority": {"enum": ["any", "none", *PRIORITY_REASONS, None], "nullable": True},
    "issued_from": {**_HHMM, "nullable": True}, "issued_until": {**_HHMM, "nullable": True},
    "tickets": {"type": "array", "items": _TICKET_NUMBER, "maxItems": 5000,
                "nullable": True}},
    "description": "null, \"\" and [] select nothing by that value."}
SCHEMAS["BulkRequest"] = {
    "type": "object", "required": ["action"], "additionalProperties": False, "properties": {
        "action": {"enum": ["move", "cancel", "reactivate", "reprint", "close_counter",
                            "close_day", "reopen_day"]},
        "tickets": {"oneOf": [{"type": "array", "items": {"type": "string"}}, BULK_FILTER],
                    "description": "Printed numbers, or a filter such as {\"queue\": \"A\"}."},
        "filter": BULK_FILTER,
        "to_queue": {"type": "string"}, "to_counter": _COUNTER,
        "reason": {"type": "string", "description": "Needed by cancel and close_day."},
        "dry_run": {"type": "boolean", "default": True},
        "expect": {"oneOf": [{"type": "string"}, {"type": "array",
                                                 "items": {"type": "integer"}}]}}}
SCHEMAS["BulkResult"] = {"type": "object", "properties": {
    "action": {"type": "string"}, "filter": {"type": "object"},
    "to": {"type": "object", "properties": {"queue": {"type": "string"},
                                            "counter": {"type": "integer"}}},
    "reason": {"type": "string"}, "count": {"type": "integer"},
    "tickets": {"type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "integer"}, "number": {"type": "string"},
        "from": {"type": "string"}, "to": {"type": "string", "nullable": True}}}},
    "fingerprint": {"type": "string"}, "dry_run": {"type": "boolean"},
    "applied": {"type": "boolean"}, "printing": {"type": "integer"},
    "not_printed": {"type": "array", "items": {"type": "object", "properties": {
        "number": {"type": "string"}, "error": {"type": "string"}}}}}}


# -- reports (issue 11) -------------------------------------------------------------------------

_NUMBER = {"type": "number", "nullable": True}
_REPORT_FIGURES = {name: _NUMBER if name.endswith(("_s", "_share")) else {"type": "integer"}
                   for name in FIGURES}
_REPORT_ROW = {"type": "object", "required": ["key", "name", *FIGURES], "properties": {
    "key": {"nullable": True, "description": "The group's code, id, day or hour (null: none,"
                                             " e.g. tickets never called by counter)"},
    "name": {"type": "string"}, **_REPORT_FIGURES}, "additionalProperties": False}
SCHEMAS["ReportRow"] = _REPORT_ROW
SCHEMAS["ReportSummary"] = {"type": "object", "required": ["from", "to", "by", "rows", "total"],
                            "properties": {
    "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
    "by": {"type": "string"}, "rows": {"type": "array", "items": _ref("ReportRow")},
    "total": {"type": "object", "required": list(FIGURES), "properties": _REPORT_FIGURES,
              "additionalProperties": False},
    "ratings_per_level": {"type": "object", "description": "Ratings per level (best first) of"
                          " each row, in the rows' order, and of the total", "properties": {
        "rows": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
        "total": {"type": "array", "items": {"type": "integer"}}}},
    "target_wait_minutes": {"type": "integer"},
    "rating_levels": {"type": "array", "items": {"type": "string"}},
    "heatmap": {"type": "array", "description": "Arrivals: 7 weekdays (Monday first) × 24 hours",
                "items": {"type": "array", "items": {"type": "integer"}}},
    "trend": {"type": "array", "items": {"type": "object", "properties": {
        "day": {"type": "string", "format": "date"}, "issued": {"type": "integer"},
        "served": {"type": "integer"}, "dossiers": {"type": "integer"}}}}}}
REPORT_PATHS = {"/reports/summary": {"get": _op(
    "Figures of a range of business days (issue to first call = wait, last call to finish ="
    " service; nearest-rank percentiles), grouped; as JSON, CSV or XLSX (headers in Vietnamese,"
    " in English with ?lang=en). From after to, or more than ten years: 400.",
    {"200": {"description": "The report", "content": {
        "application/json": {"schema": _ref("ReportSummary")},
        "text/csv": {"schema": {"type": "string"}},
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
            "schema": {"type": "string", "format": "binary"}}}}},
    tag="reports", security="supervisor", params=[
        {"name": "from", "in": "query", "required": True,
         "schema": {"type": "string", "format": "date"}},
        {"name": "to", "in": "query", "required": True,
         "schema": {"type": "string", "format": "date"}},
        {"name": "by", "in": "query", "schema": {"type": "string", "default": "procedure", "enum": [
            "field", "procedure", "queue", "counter", "clerk", "day", "hour"]}},
        {"name": "format", "in": "query", "schema": {"type": "string", "default": "json",
                                                     "enum": ["json", "csv", "xlsx"]}}])}}


# -- sign-in locks and counter tokens (issue 13) -------------------------------------------------

_LOCK = {"type": "object", "required": ["scope", "key", "locked_at", "until", "seconds_left",
                                        "locks"], "additionalProperties": False, "properties": {
    "scope": {"enum": ["login", "address"]}, "key": {"type": "string"},
    "locked_at": {"type": "string", "format": "date-time"},
    "until": {"type": "string", "format": "date-time"},
    "seconds_left": {"type": "integer", "minimum": 0}, "locks": {"type": "integer"}}}
_TOKEN = {"type": "object", "required": ["id", "counter", "created_at", "last_used_at",
                                         "revoked_at"],
          "additionalProperties": False, "properties": {
              "id": {"type": "integer"}, "counter": {"type": "integer"},
              "created_at": {"type": "string", "format": "date-time"},
              "last_used_at": {"type": "string", "format": "date-time", "nullable": True},
              "revoked_at": {"type": "string", "format": "date-time", "nullable": True}}}
SECURITY_PATHS = {
    "/signin/locks": {"get": _op(
        "Logins and client addresses locked now after wrong PINs ([security] settings)",
        {"200": _json({"type": "array", "items": _LOCK})}, tag="staff", security="supervisor")},
    "/signin/unlock": {"post": _op(
        "Lift the lock of a login or a client address (audited); 404 not_locked when it is not"
        " locked", {"200": _json({"type": "object", "required": ["scope", "key"], "properties": {
            "scope": {"enum": ["login", "address"]}, "key": {"type": "string"}}})},
        tag="staff", security="supervisor", body={
            "type": "object", "required": ["scope", "key"], "additionalProperties": False,
            "properties": {"scope": {"enum": ["login", "address"]},
                           "key": {"type": "string", "minLength": 1, "maxLength": 100}}})},
    "/tokens": {"get": _op(
        "Every counter API token (never its value): id, counter, created, last used (written"
        " at most once an hour), revoked",
        {"200": _json({"type": "array", "items": _TOKEN})}, tag="counters",
        security="supervisor")},
    "/tokens/{token_id}": {"delete": _op(
        "Revoke one counter API token (audited)", {"204": {"description": "Revoked"}},
        tag="counters", security="supervisor",
        params=[_path_param("token_id", {"type": "integer", "minimum": 1,
                                          "maximum": 2**63 - 1})])},
}
