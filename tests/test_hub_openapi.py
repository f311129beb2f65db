"""The hub's OpenAPI document: valid, in step with the routes, and true to real answers."""

import re

from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import validate

from hub.halls import add_hall
from tests.test_hub_ingest import batch
from tests.test_hub_reports import hub_client, pushed, sign_in  # noqa: F401 - fixtures

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _document(client) -> dict:
    reply = client.get("/api/v1/openapi.json")
    assert reply.status_code == 200 and reply.mimetype == "application/json"
    return reply.get_json()


def _fits(doc: dict, name: str, value) -> None:
    """``value`` fits the document's schema ``name`` (its references resolved)."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    OAS30Validator(schema, format_checker=oas30_format_checker).validate(value)


def test_the_document_is_valid_and_names_every_route(hub_client):  # noqa: F811
    doc = _document(hub_client)
    validate(doc)
    app = hub_client.application
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.rule == "/healthz":
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            routes |= {(path, m.lower()) for m in rule.methods - IGNORED_METHODS}
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert routes == documented


def test_real_answers_fit_the_document(hall, pushed, hub_db, hub_client):  # noqa: F811
    doc = _document(hub_client)
    _fits(doc, "Health", hub_client.get("/healthz").get_json())
    _fits(doc, "Session", hub_client.get("/api/v1/session").get_json())
    sign_in(hub_client)
    _fits(doc, "Session", hub_client.get("/api/v1/session").get_json())
    hall_id, days = pushed
    for by in ("hall", "field", "procedure", "day", "hour"):
        reply = hub_client.get(f"/api/v1/reports/summary?from={days[0]}&to={days[3]}&by={by}")
        assert reply.status_code == 200
        _fits(doc, "Summary", reply.get_json())
    other, token = add_hall(hub_db, "Xã B")
    headers = {"Authorization": f"Bearer {token}"}
    reply = hub_client.post("/api/v1/ingest", json=batch(other, 0, 5), headers=headers)
    assert reply.status_code == 200
    _fits(doc, "Acknowledged", reply.get_json())
    _fits(doc, "Position", hub_client.get("/api/v1/position", headers=headers).get_json())
    _fits(doc, "Catalogue", hub_client.get("/api/v1/catalogue", headers=headers).get_json())
    gap = hub_client.post("/api/v1/ingest", json=batch(other, 9, 5), headers=headers)
    assert gap.status_code == 409
    _fits(doc, "Error", gap.get_json())
