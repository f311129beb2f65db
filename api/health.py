"""GET /healthz: the hall's health as JSON, for screens waiting on the server and for systemd
checks; no sign-in, no secrets, 503 when the database cannot be written."""

from flask import Blueprint, jsonify

from services import health
from web import runtime
from web.access import role

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@role("public")
def healthz():
    """200 with the health report, 503 when the database cannot be written."""
    report = health.report(runtime())
    response = jsonify(report)
    response.status_code = 200 if report["ok"] else 503
    response.headers["Cache-Control"] = "no-store"
    return response
