"""The OpenAPI 3 document of the hub's API v1 (``GET /api/v1/openapi.json``), kept beside its
views: a test checks that it names every route and that real answers fit its schemas."""

from __future__ import annotations

from hall.report_files import CHARTS
from hall.reports import FIGURES

from .ingest import FIELDS, MAX_EVENTS, MAX_TEXT
from .reports import GROUPS
from .schema import KIND_CODES

ERROR = {"$ref": "#/components/responses/Error"}
HALL = [{"hallToken": []}]
STAFF = [{"session": []}]
_NULLABLE_INT = {"type": "integer", "nullable": True}
_NULLABLE_CODE = {"type": "string", "nullable": True, "minLength": 1, "maxLength": MAX_TEXT}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _op(summary: str, responses: dict, security: list | None = None, **more) -> dict:
    op = {"summary": summary, "responses": {**responses, "4XX": ERROR}, **more}
    if security is not None:
        op["security"] = security
    return op


_FIGURE = {name: {"type": "number", "nullable": True} for name in FIGURES}
SCHEMAS = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message", "messages"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "messages": {"type": "object",
                                    "additionalProperties": {"type": "string"}}}}}},
    "Event": {
        "type": "array", "minItems": FIELDS, "maxItems": FIELDS,
        "description": "[seq, at (epoch seconds), day (YYYY-MM-DD, the hall's business day),"
                       " kind, ticket, counter, clerk, queue code, procedure code, printed"
                       " number, data (a JSON object of ids and numbers, never names, or"
                       " null; at most 4,000 bytes)]: checked in C as it is decoded"
                       " (hub.ingest.Event); docs/hub.md.",
        "items": {}},
    "Batch": {"type": "object", "required": ["hall", "after", "events"],
              "additionalProperties": False, "properties": {
                  "hall": {"type": "integer", "description": "the token's own hall"},
                  "after": {"type": "integer", "minimum": 0,
                            "description": "the event the batch follows (the hub's position)"},
                  "events": {"type": "array", "minItems": 1, "maxItems": MAX_EVENTS,
                             "items": _ref("Event")}}},
    "Acknowledged": {"type": "object", "required": ["hall", "acked", "catalogue"],
                     "properties": {"hall": {"type": "integer"}, "acked": {"type": "integer"},
                                    "catalogue": {**_NULLABLE_INT,
                                                  "description": "the newest published"
                                                                 " catalogue version"}}},
    "Position": {"type": "object", "required": ["hall", "acked"],
                 "properties": {"hall": {"type": "integer"}, "acked": {"type": "integer"}}},
    "Health": {"type": "object", "required": ["ok", "version", "uptime_s", "took_ms"],
               "properties": {
                   "ok": {"type": "boolean"}, "version": {"type": "string"},
                   "uptime_s": {"type": "integer"}, "took_ms": {"type": "number"},
                   "schema": {"type": "string"}, "database": {"type": "string"},
                   "halls": {"type": "object", "properties": {
                       "total": {"type": "integer"},
                       "no_contact_10_min": {"type": "integer"}}},
                   "facts_pending": {"type": "object", "properties": {
                       "tickets": {"type": "integer"},
                       "oldest_s": {"type": "number", "nullable": True},
                       "rollup_days": {"type": "integer", "description": "(hall, day)s whose"
                                       " rollups wait for their rebuild"}}},
                   "province_rollups": {"type": "object", "properties": {
                       "stale_days": {"type": "integer"},
                       "quiet_not_rebuilt": {"type": "integer"}}}}},
    "User": {"type": "object", "nullable": True, "required": ["id", "login", "name", "role"],
             "properties": {"id": {"type": "integer"}, "login": {"type": "string"},
                            "name": {"type": "string"},
                            "role": {"type": "string", "enum": ["supervisor", "admin"]}}},
    "Session": {"type": "object", "required": ["user", "csrf_token"],
                "properties": {"user": _ref("User"), "csrf_token": {"type": "string"}}},
    "SignIn": {"type": "object", "required": ["login", "pin"],
               "properties": {"login": {"type": "string"}, "pin": {"type": "string"}}},
    "Catalogue": {"type": "object", "nullable": True,
                  "required": ["version", "published_at", "filename", "procedures", "note"],
                  "properties": {"version": {"type": "integer"},
                                 "published_at": {"type": "string", "format": "date-time"},
                                 "filename": {"type": "string"},
                                 "procedures": {"type": "integer"},
                                 "note": {"type": "string"}}},
    "Figures": {"type": "object", "properties": _FIGURE},
    "Summary": {
        "type": "object",
        "required": ["from", "to", "by", "halls", "rows", "total", "heatmap", "trend",
                     "target_wait_minutes", "rating_levels", "ratings_per_level"],
        "properties": {
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "by": {"type": "string", "enum": list(GROUPS)},
            "halls": {"type": "array", "items": {"type": "integer"}, "nullable": True},
            "rows": {"type": "array", "items": {"allOf": [_ref("Figures"), {
                "type": "object", "required": ["key", "name"],
                "properties": {"key": {"nullable": True}, "name": {"type": "string"}}}]}},
            "total": _ref("Figures"),
            "heatmap": {"type": "array", "minItems": 7, "maxItems": 7, "items": {
                "type": "array", "minItems": 24, "maxItems": 24,
                "items": {"type": "integer"}}},
            "trend": {"type": "array", "items": {
                "type": "object", "required": ["day", "issued", "served", "dossiers"],
                "properties": {"day": {"type": "string", "format": "date"},
                               "issued": {"type": "integer"}, "served": {"type": "integer"},
                               "dossiers": {"type": "integer"}}}},
            "target_wait_minutes": {"type": "number"},
            "rating_levels": {"type": "array", "items": {"type": "string"}},
            "ratings_per_level": {"type": "object", "properties": {
                "rows": {"type": "array", "items": {"type": "array",
                                                    "items": {"type": "integer"}}},
                "total": {"type": "array", "items": {"type": "integer"}}}}}},
}
_DATE = {"type": "string", "format": "date"}
SUMMARY_PARAMS = [
    {"name": "from", "in": "query", "schema": _DATE,
     "description": "the first business day (default: today)"},
    {"name": "to", "in": "query", "schema": _DATE, "description": "the last (default: from)"},
    {"name": "by", "in": "query", "schema": {"type": "string", "enum": list(GROUPS),
                                              "default": "hall"}},
    {"name": "hall", "in": "query", "schema": {"type": "string", "pattern": "^[0-9, ]+$"},
     "description": "hall ids, comma-separated (default: every hall)"},
    {"name": "format", "in": "query",
     "schema": {"type": "string", "enum": ["json", "csv", "xlsx", "svg"], "default": "json"}},
    {"name": "chart", "in": "query",
     "schema": {"type": "string", "enum": list(CHARTS), "default": "groups"},
     "description": "with format=svg"},
    {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["vi", "en"]}},
]
_FILE = {"type": "string", "format": "binary"}
PATHS = {
    "/healthz": {"get": _op("Whether the hub can write; its halls' contact, the facts and the"
                            " province's rows waiting", {"200": _json(_ref("Health")),
                                                         "503": _json(_ref("Health"))})},
    "/api/v1/openapi.json": {"get": _op("This document", {"200": _json({"type": "object"})})},
    "/api/v1/ingest": {"post": _op(
        "Store a batch of the calling hall's events (gzip allowed: Content-Encoding)",
        {"200": _json(_ref("Acknowledged")),
         "409": _json(_ref("Error"), "A gap: the batch starts after the hub's position"
                                     " (expected_after, expected)")},
        HALL, requestBody={"required": True,
                           "content": {"application/json": {"schema": _ref("Batch")}}})},
    "/api/v1/position": {"get": _op("Where the calling hall's push stands",
                                    {"200": _json(_ref("Position"))}, HALL)},
    "/api/v1/session": {
        "get": _op("Who is signed in, and the CSRF token", {"200": _json(_ref("Session"))}),
        "post": _op("Sign in (throttled as in a hall: 429 with Retry-After)",
                    {"200": _json(_ref("Session"))},
                    requestBody={"required": True, "content": {
                        "application/json": {"schema": _ref("SignIn")}}}),
        "delete": _op("Sign out", {"204": {"description": "Signed out"}}, STAFF)},
    "/api/v1/catalogue": {
        "get": _op("The newest published catalogue, or null", {"200": _json(_ref("Catalogue"))},
                   HALL),
        "post": _op("Publish a new version (admin; checked as a hall would read it)",
                    {"201": _json(_ref("Catalogue"))}, STAFF, requestBody={
                        "required": True, "content": {"multipart/form-data": {"schema": {
                            "type": "object", "required": ["file"],
                            "properties": {"file": _FILE, "note": {"type": "string"}}}}}})},
    "/api/v1/catalogue/{version}": {"get": _op(
        "A published version, as the file a hall imports",
        {"200": {"description": "The file", "content": {
            "text/csv": {"schema": _FILE},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": _FILE}}}},
        HALL, parameters=[{"name": "version", "in": "path", "required": True,
                           "schema": {"type": "integer", "minimum": 1}}])},
    "/api/v1/reports/summary": {"get": _op(
        "The province's figures of a range grouped by hall, field, procedure, day or hour"
        " (supervisor)",
        {"200": {"description": "The report", "content": {
            "application/json": {"schema": _ref("Summary")},
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": _FILE},
            "image/svg+xml": {"schema": {"type": "string"}}}}},
        STAFF, parameters=SUMMARY_PARAMS)},
}


def document() -> dict:
    """The whole document."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "goiso province hub", "version": "1",
                 "description": "What halls push to the province, and what its staff read."
                                f" Event kinds: {', '.join(KIND_CODES)}."},
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "responses": {"Error": _json(_ref("Error"), "Refused, with a code and a sentence"
                                                        " in Vietnamese and English")},
            "securitySchemes": {
                "hallToken": {"type": "http", "scheme": "bearer",
                              "description": "the hall's token from goiso hub add-hall"},
                "session": {"type": "apiKey", "in": "cookie", "name": "goiso_hub",
                            "description": "a staff session (POST /api/v1/session); unsafe"
                                           " requests also send X-CSRFToken"}}},
    }
