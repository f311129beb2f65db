"""The hub's machine doors: ``/healthz`` and ``POST /api/v1/ingest`` (a hall's batch)."""

from __future__ import annotations

import time
import zlib

from flask import Blueprint, current_app, g, jsonify, request

from . import catalogue, errors, facts, ingest, province
from .access import pool, role

bp = Blueprint("hub", __name__)
MAX_BATCH = 32 * 1024 * 1024  # bytes of a batch once decompressed (5,000 events fit in 2 MB)
VERSION = "1"


def _body() -> bytes:
    """The request's body, gunzipped if it says so, never more than ``MAX_BATCH`` bytes (a
    small compressed body may hold a huge one)."""
    raw = request.get_data(cache=False)
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding == "identity":
        data = raw
    elif encoding == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(raw, MAX_BATCH + 1)
        except zlib.error:
            raise errors.BadBatch(reason="gzip") from None
        if len(data) > MAX_BATCH or inflater.unconsumed_tail:
            raise errors.TooLarge(limit=MAX_BATCH)
    else:
        raise errors.BadBatch(reason=f"Content-Encoding {encoding}")
    if len(data) > MAX_BATCH:
        raise errors.TooLarge(limit=MAX_BATCH)
    return data


@bp.post("/api/v1/ingest")
@role("hall")
def ingest_batch():
    """Store a batch of the calling hall's events; the position acknowledged."""
    # Decoded and checked (in C) before a connection is taken.
    batch = ingest.batch_of(_body())
    with current_app.extensions["hub"]["traffic"].carrying(), pool().connection() as conn:
        acked = ingest.store(conn, g.hall, batch)
        offered = catalogue.latest(conn)
    # The newest catalogue of the province rides on every answer: a hall learns of it at once.
    return jsonify({"hall": g.hall, "acked": acked,
                    "catalogue": offered["version"] if offered else None})


@bp.get("/api/v1/position")
@role("hall")
def position():
    """Where the calling hall's push stands at the hub (a pusher asks after a restart)."""
    with pool().connection() as conn:
        acked = conn.execute("SELECT acked_seq FROM hall_positions WHERE hall_id = %s",
                             (g.hall,)).fetchone()
    return jsonify({"hall": g.hall, "acked": acked[0]})


@bp.get("/api/v1/openapi.json")
@role("public")
def openapi():
    """The OpenAPI document of the hub's API."""
    from .openapi import document

    return jsonify(document())


@bp.get("/healthz")
@role("public")
def health():
    """Whether the hub can write: a write rolled back, the schema, its halls' contact."""
    started = time.perf_counter()
    report = {"ok": True, "version": VERSION,
              "uptime_s": round(time.time() - current_app.extensions["hub"]["started"])}
    try:
        with pool().connection(timeout=5) as conn:
            with conn.transaction(force_rollback=True):
                conn.execute("CREATE TEMP TABLE health_probe (x int) ON COMMIT DROP")
                conn.execute("INSERT INTO health_probe VALUES (1)")
            report["schema"] = conn.execute(
                "SELECT max(name) FROM hub_migrations").fetchone()[0]
            halls, stale = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE last_contact IS NULL"
                " OR last_contact < now() - interval '10 minutes') FROM hall_positions"
                ).fetchone()
            report["halls"] = {"total": halls, "no_contact_10_min": stale}
            report["facts_pending"] = facts.pending(conn)
            report["province_rollups"] = province.state(conn)
    except Exception as exc:  # noqa: BLE001 - the probe's answer is the report
        report.update(ok=False, database=type(exc).__name__)
    report["took_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return jsonify(report), 200 if report["ok"] else 503




# -- province staff: sign in and out ------------------------------------------------------------

@bp.post("/api/v1/session")
@role("public")
def sign_in():
    """Sign in with ``{"login", "pin"}`` (JSON only); the account and the CSRF token."""
    from flask import session
    from flask_wtf.csrf import generate_csrf

    from .accounts import sign_in as check

    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("login"), str) \
            or not isinstance(data.get("pin"), str):
        raise errors.BadRequest(fields="login, pin")
    user = check(data["login"], data["pin"], request.remote_addr or "?")
    session.clear()
    session["hub_user"] = user["id"]
    return jsonify({"user": user, "csrf_token": generate_csrf()})


@bp.get("/api/v1/session")
@role("public")
def who():
    """Who is signed in (null if nobody), and the CSRF token for unsafe requests."""
    from flask_wtf.csrf import generate_csrf

    from .accounts import current_user

    return jsonify({"user": current_user(), "csrf_token": generate_csrf()})


@bp.delete("/api/v1/session")
@role("supervisor")
def sign_out():
    """End the staff session."""
    from flask import session

    session.clear()
    return "", 204


# -- the province's catalogue ---------------------------------------------------------------------

@bp.get("/api/v1/catalogue")
@role("hall")
def catalogue_latest():
    """The newest published catalogue (number, date, size), or null."""
    with pool().connection() as conn:
        return jsonify(catalogue.latest(conn))


@bp.get("/api/v1/catalogue/<int:version>")
@role("hall")
def catalogue_file(version):
    """A published version of the catalogue, as the file a hall imports."""
    with pool().connection() as conn:
        found = catalogue.version_file(conn, version)
    if found is None:
        raise errors.UnknownVersion(version=version)
    name, content = found
    suffix = ".csv" if name.lower().endswith(".csv") else ".xlsx"
    kind = "text/csv" if suffix == ".csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return content, 200, {"Content-Type": kind, "Content-Disposition":
                          f'attachment; filename="catalogue-v{version}{suffix}"'}


@bp.post("/api/v1/catalogue")
@role("admin")
def catalogue_publish():
    """Publish a new version (a ``file`` upload, CSV or XLSX, checked as a hall would)."""
    upload = request.files.get("file")
    if upload is None:
        raise errors.BadRequest(fields="file")
    with pool().connection() as conn:
        published = catalogue.publish(conn, upload.read(), upload.filename or "",
                                      request.form.get("note", ""))
    return jsonify(published), 201
