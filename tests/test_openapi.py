"""The OpenAPI document: valid, in step with the routes, and true to the real responses."""

import re

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import validate

from tests.plugins.web import issue

PREFIX = "/api/v1"
IGNORED_METHODS = {"HEAD", "OPTIONS"}
ACTION_PATH = re.compile(r"^/counters/\{number\}/([a-z-]+)$")


@pytest.fixture
def doc(client) -> dict:
    """The document as served."""
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_document_is_valid_openapi(doc):
    validate(doc)
    assert doc["openapi"].startswith("3.0")
    assert doc["servers"] == [{"url": "/api/v1"}]


def _route_path(rule: str) -> str:
    """/api/v1/counters/<int:number>/tokens -> /counters/{number}/tokens"""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)[len(PREFIX):]


def _documented_actions(doc) -> set[str]:
    return {m[1] for path in doc["paths"] if (m := ACTION_PATH.match(path)) and m[1] != "tokens"}


def test_routes_and_document_match(app, doc):
    from hall.desk import ACTIONS

    actions = _documented_actions(doc)
    assert actions == set(ACTIONS)
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        path = _route_path(rule.rule)
        for method in rule.methods - IGNORED_METHODS:
            if path == "/counters/{number}/{action}":
                routes |= {(f"/counters/{{number}}/{a}", method.lower()) for a in actions}
            else:
                routes.add((path, method.lower()))
    documented = {(path, method) for path, item in doc["paths"].items() for method in item
                  if method in ("get", "put", "post", "delete", "patch")}
    assert routes - documented == set(), "routes missing from the document"
    assert documented - routes == set(), "documented but not served"


def test_every_documented_action_is_served(supervisor_client, doc):
    for action in sorted(_documented_actions(doc)):
        response = supervisor_client.post(f"/api/v1/counters/1/{action}", json={})
        assert response.status_code != 404, (action, response.get_data(as_text=True))
    assert supervisor_client.post("/api/v1/counters/1/dance", json={}).status_code == 404


def test_path_parameters_are_declared(doc):
    for path, item in doc["paths"].items():
        names = set(re.findall(r"\{(\w+)\}", path))
        for method, op in item.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (path, method)


# -- real responses against their schemas ------------------------------------------------------

def _validator(doc: dict, schema: dict) -> OAS30Validator:
    return OAS30Validator({**schema, "components": doc["components"]},
                          format_checker=oas30_format_checker)


def _resolve(doc: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def undocumented(doc: dict, schema: dict, value, where: str = "") -> list[str]:
    """Keys present in ``value`` that the schema does not describe (where it lists properties)."""
    schema = _resolve(doc, schema)
    found = []
    if isinstance(value, dict) and "properties" in schema:
        for key, item in value.items():
            if key not in schema["properties"]:
                found.append(f"{where}.{key}")
            else:
                found += undocumented(doc, schema["properties"][key], item, f"{where}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for item in value[:3]:
            found += undocumented(doc, schema["items"], item, f"{where}[]")
    return found


def check(doc: dict, path: str, method: str, response, status: int | None = None) -> None:
    """Validate a response against the schema documented for it (status, then 4XX)."""
    status = status or response.status_code
    responses = doc["paths"][path][method]["responses"]
    spec = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
    assert spec is not None, f"{method} {path} does not document {status}"
    if "$ref" in spec:
        spec = doc["components"]["responses"][spec["$ref"].rsplit("/", 1)[1]]
    if "content" not in spec:
        assert not response.data
        return
    schema = spec["content"]["application/json"]["schema"]
    body = response.get_json()
    errors = sorted(_validator(doc, schema).iter_errors(body), key=str)
    assert not errors, f"{method} {path}: {errors[0].message} at {list(errors[0].path)}"
    assert undocumented(doc, schema, body) == [], f"{method} {path}: undocumented fields"


def test_catalogue_responses_match_their_schemas(doc, client):
    check(doc, "/procedures", "get", client.get("/api/v1/procedures"))
    check(doc, "/fields", "get", client.get("/api/v1/fields"))
    check(doc, "/queues", "get", client.get("/api/v1/queues"))
    check(doc, "/counters", "get", client.get("/api/v1/counters"))
    check(doc, "/kiosks", "get", client.get("/api/v1/kiosks"))
    check(doc, "/boards", "get", client.get("/api/v1/boards"))
    check(doc, "/openapi.json", "get", client.get("/api/v1/openapi.json"))


def test_ticket_responses_match_their_schemas(doc, client, clerk_client, printing):
    response = client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-001",
                                                    "priority": "elderly", "kiosk": "k1"})
    assert response.status_code == 201
    check(doc, "/tickets", "post", response)
    check(doc, "/tickets", "post", client.post("/api/v1/tickets", json={"procedure": "NOPE"}))
    check(doc, "/tickets", "post", client.post("/api/v1/tickets", data="procedure=DEMO-GT-001",
                                               content_type="application/x-www-form-urlencoded"))
    token = response.get_json()["token"]
    check(doc, "/tickets/{token}", "get", client.get(f"/api/v1/tickets/{token}"))
    issue(client, "DEMO-GT-002")
    action = "/counters/{number}/"
    check(doc, action + "next", "post", clerk_client.post("/api/v1/counters/1/next"))
    check(doc, "/tickets/{token}", "get", client.get(f"/api/v1/tickets/{token}"))  # called
    check(doc, action + "recall", "post", clerk_client.post("/api/v1/counters/1/recall"))
    check(doc, action + "finish", "post", clerk_client.post("/api/v1/counters/1/finish",
                                                            json={"outcome": "served"}))
    check(doc, action + "next", "post", clerk_client.post("/api/v1/counters/1/next"))
    check(doc, action + "no-show", "post", clerk_client.post("/api/v1/counters/1/no-show"))
    check(doc, "/tickets/{number}/reactivate", "post",
          clerk_client.post("/api/v1/tickets/1002/reactivate"))
    check(doc, "/tickets/{number}/cancel", "post",
          clerk_client.post("/api/v1/tickets/1002/cancel"))
    check(doc, action + "next", "post", clerk_client.post("/api/v1/counters/1/next"), 204)
    check(doc, action + "pause", "post", clerk_client.post("/api/v1/counters/1/pause"))
    check(doc, action + "resume", "post", clerk_client.post("/api/v1/counters/1/resume"))
    check(doc, action + "close", "post", clerk_client.post("/api/v1/counters/1/close"))
    check(doc, action + "close", "post", clerk_client.post("/api/v1/counters/1/close"))  # 409


def test_hall_state_matches_its_schema(doc, client, clerk_client):
    issue(client)
    clerk_client.post("/api/v1/counters/1/next")
    check(doc, "/hall", "get", client.get("/api/v1/hall"))
    check(doc, "/hall", "get", client.get("/api/v1/hall?board=gplx"))
    check(doc, "/hall", "get", client.get("/api/v1/hall?board=nope"))
    check(doc, "/session", "get", clerk_client.get("/api/v1/session"))


def test_staff_responses_match_their_schemas(doc, supervisor_client, admin_client):
    check(doc, "/clerks", "get", supervisor_client.get("/api/v1/clerks"))
    check(doc, "/counters/{number}/tokens", "post",
          admin_client.post("/api/v1/counters/3/tokens"))
    check(doc, "/procedures/{code}", "put", supervisor_client.put(
        "/api/v1/procedures/X-1", json={"name": "n", "field": "f", "queue": "VT"}))
    check(doc, "/queues/{code}", "put", supervisor_client.put(
        "/api/v1/queues/NEWQ", json={"name": "n", "prefix": "Z"}))
    check(doc, "/counters/{number}", "put", supervisor_client.put(
        "/api/v1/counters/7", json={"queues": ["NEWQ"]}))


def test_request_schemas_describe_what_the_api_accepts(doc):
    schemas = doc["components"]["schemas"]
    ticket = _validator(doc, schemas["TicketRequest"])
    assert ticket.is_valid({"procedure": "DEMO-GT-001", "priority": "elderly", "kiosk": "k1"})
    assert ticket.is_valid({"procedure": "DEMO-GT-001", "priority": None})
    assert not ticket.is_valid({"procedure": 1})
    assert not ticket.is_valid({"procedure": "DEMO-GT-001", "bogus": 1})
    assert not ticket.is_valid({"priority": "elderly"})
    queue = _validator(doc, schemas["QueueInput"])
    assert queue.is_valid({"name": "n", "prefix": "Z", "service_minutes": 4.5})
    assert not queue.is_valid({"name": "n", "bogus": 1})


def test_back_office_responses_match_their_schemas(doc, app, client, supervisor_client,
                                                   clerk_client):
    issue(client)
    clerk_client.post("/api/v1/counters/1/next")
    check(doc, "/counters/{number}/finish", "post", clerk_client.post(
        "/api/v1/counters/1/finish", json={"dossiers": ["HS-1", "HS-2"]}))
    issue(client)
    app.extensions["goiso"].hall.devices.report("printer:k1", kind="printer", place="k1",
                                                state="paper_out", ready=False)
    check(doc, "/monitor", "get", supervisor_client.get("/api/v1/monitor"))
    check(doc, "/monitor", "get", clerk_client.get("/api/v1/monitor"))  # 403
    check(doc, "/audit", "get", supervisor_client.get("/api/v1/audit"))
    check(doc, "/audit", "get", supervisor_client.get("/api/v1/audit?from=2026-13-01"))


def test_bulk_responses_match_their_schemas(doc, client, supervisor_client):
    for _ in range(2):
        issue(client)
    body = {"action": "move", "tickets": {"queue": "GPLX"}, "to_queue": "VT"}
    preview = supervisor_client.post("/api/v1/bulk", json=body)
    check(doc, "/bulk", "post", preview)
    check(doc, "/bulk", "post", supervisor_client.post("/api/v1/bulk", json={
        **body, "dry_run": False, "expect": preview.get_json()["fingerprint"]}))
    check(doc, "/bulk", "post", supervisor_client.post("/api/v1/bulk", json=body))  # 409 empty
    schemas = doc["components"]["schemas"]
    request = _validator(doc, schemas["BulkRequest"])
    assert request.is_valid({**body, "dry_run": False, "expect": "ab12"})
    assert request.is_valid({"action": "cancel", "tickets": ["1001"], "reason": "x"})
    assert not request.is_valid({"action": "dance"})
    assert not request.is_valid({**body, "bogus": 1})


def test_report_summary_matches_its_schema(doc, supervisor_client):
    issue(supervisor_client)
    day = supervisor_client.application.extensions["goiso"].hall.today()
    for by in ("procedure", "counter", "hour"):
        response = supervisor_client.get(f"/api/v1/reports/summary?from={day}&to={day}&by={by}")
        assert response.get_json()["rows"], by
        check(doc, "/reports/summary", "get", response)
    check(doc, "/reports/summary", "get",
          supervisor_client.get("/api/v1/reports/summary?from=x&to=y"), 400)
