"""Who may do what, CSRF, secrets at rest, cookies, headers, token leaks and redirects."""

import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import settings as settings_module
from hall.accounts import ROLE_RANK, token_digest
from server import create_app
from tests.plugins.web import db_state, error_of, issue

ACTIONS = ("next", "recall", "no-show", "finish", "pause", "resume", "transfer", "call", "close")


def bearer(demo: dict, counter: int) -> dict:
    return {"Authorization": f"Bearer {demo['tokens'][counter]}"}


# -- roles -------------------------------------------------------------------------------------

def test_every_route_declares_a_role(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "goiso_role", None) in ROLE_RANK, f"{rule} declares no role"


def test_the_guard_refuses_an_undeclared_route(app, client):
    app.add_url_rule("/undeclared", "undeclared", lambda: "secret")
    response = client.get("/undeclared")
    assert response.status_code == 403
    assert b"secret" not in response.data


def test_public_cannot_act_at_a_counter(app, client):
    issue(client)
    before = db_state(app)
    for action in ACTIONS:
        error_of(client.post(f"/api/v1/counters/1/{action}", json={}), 401, "unauthorized")
    error_of(client.post("/api/v1/tickets/1001/cancel", json={}), 401)
    error_of(client.put("/api/v1/queues/GPLX", json={"name": "x"}), 401)
    error_of(client.get("/api/v1/clerks"), 401)
    assert db_state(app) == before


def test_a_clerk_cannot_act_at_another_counter(app, client, clerk_client):
    issue(client)
    before = db_state(app)
    for action in ACTIONS:
        error_of(clerk_client.post(f"/api/v1/counters/2/{action}", json={}), 403, "forbidden")
    assert db_state(app) == before
    assert clerk_client.post("/api/v1/counters/1/next").status_code == 200


def test_a_counter_token_acts_only_at_its_counter(app, client, demo):
    issue(client, "DEMO-GT-007")
    before = db_state(app)
    error_of(client.post("/api/v1/counters/2/next", headers=bearer(demo, 3)), 403, "forbidden")
    error_of(client.put("/api/v1/queues/VT", json={"name": "x"}, headers=bearer(demo, 3)), 403)
    error_of(client.get("/api/v1/clerks", headers=bearer(demo, 3)), 403)
    assert db_state(app) == before
    # No CSRF token needed: a bearer token is not sent by browsers on their own.
    called = client.post("/api/v1/counters/3/next", headers=bearer(demo, 3))
    assert called.status_code == 200 and called.get_json()["number"] == "B001"


@pytest.mark.parametrize("header", [
    "Bearer gs_garbage", "Bearer not-a-token", "Bearer " + "gs_" + "x" * 500, "Basic YW46MTIz",
    "Bearer gs_revoked"])
def test_revoked_or_garbage_tokens_are_refused(app, client, demo, header):
    if header == "Bearer gs_revoked":
        app.extensions["goiso"].hall.accounts.revoke_tokens(1)
        header = f"Bearer {demo['tokens'][1]}"
    issue(client)
    before = db_state(app)
    error_of(client.post("/api/v1/counters/1/next", headers={"Authorization": header}), 401)
    assert db_state(app) == before


def test_staff_roles(clerk_client, supervisor_client, admin_client):
    queue = {"name": "Giấy phép lái xe", "number_format": "block", "block": 1}
    clerk = {"name": "Nguyễn Văn An", "role": "clerk"}
    error_of(clerk_client.put("/api/v1/queues/GPLX", json=queue), 403, "forbidden")
    error_of(clerk_client.get("/api/v1/clerks"), 403)
    error_of(clerk_client.post("/api/v1/counters/1/tokens"), 403)
    assert supervisor_client.put("/api/v1/queues/GPLX", json=queue).status_code == 200
    assert supervisor_client.get("/api/v1/clerks").status_code == 200
    error_of(supervisor_client.put("/api/v1/clerks/an", json=clerk), 403, "forbidden")
    error_of(supervisor_client.post("/api/v1/counters/1/tokens"), 403)
    assert admin_client.put("/api/v1/clerks/an", json=clerk).status_code == 200
    assert admin_client.post("/api/v1/counters/1/tokens").status_code == 201


def test_supervisor_may_act_at_any_counter(client, supervisor_client):
    issue(client, "DEMO-GT-021")
    assert supervisor_client.post("/api/v1/counters/5/next").get_json()["number"] == "D001"


# -- CSRF --------------------------------------------------------------------------------------

def test_session_requests_need_the_csrf_token(app, client, clerk_client, supervisor_client):
    issue(client)
    before = db_state(app)
    error_of(clerk_client.post("/api/v1/counters/1/next", csrf=False), 400, "csrf_failed")
    error_of(clerk_client.post("/api/v1/counters/1/next", headers={"X-CSRFToken": "forged"}),
             400, "csrf_failed")
    error_of(clerk_client.post("/api/v1/counters/1/next", json={}, csrf=False), 400,
             "csrf_failed")
    error_of(supervisor_client.put("/api/v1/queues/GPLX", json={"name": "x"}, csrf=False), 400,
             "csrf_failed")
    error_of(clerk_client.delete("/api/v1/session", csrf=False), 400, "csrf_failed")
    # Another session's token does not do either.
    error_of(clerk_client.post("/api/v1/counters/1/next",
                               headers={"X-CSRFToken": supervisor_client.csrf_token}), 400,
             "csrf_failed")
    assert db_state(app) == before
    assert clerk_client.get("/api/v1/session").get_json()["role"] == "clerk"


def test_signing_in_needs_the_csrf_token(app, client, demo):
    response = client.post("/api/v1/session", json={"login": "an", "pin": demo["pins"]["an"]})
    error_of(response, 400, "csrf_failed")
    assert client.get("/api/v1/session").get_json()["role"] == "public"
    form = client.post("/login", data={"login": "an", "pin": demo["pins"]["an"]})
    assert form.status_code == 400
    assert client.get("/api/v1/session").get_json()["role"] == "public"


def test_kiosk_route_takes_json_only(app, client, clerk_client):
    before = db_state(app)
    for body, content_type in (("procedure=DEMO-GT-001", "application/x-www-form-urlencoded"),
                               ('{"procedure": "DEMO-GT-001"}', "text/plain"),
                               ("procedure=DEMO-GT-001", "multipart/form-data; boundary=x")):
        error_of(client.post("/api/v1/tickets", data=body, content_type=content_type), 415,
                 "unsupported_media_type")
        error_of(clerk_client.post("/api/v1/tickets", data=body, content_type=content_type), 415)
    assert db_state(app) == before
    # JSON needs no CSRF token: a cross-site page cannot send it without a CORS preflight.
    assert client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-001"}).status_code == 201


def test_no_cors_is_granted(client):
    response = client.options("/api/v1/tickets", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert "Access-Control-Allow-Origin" not in response.headers
    response = client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-001"},
                           headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


# -- secrets at rest ---------------------------------------------------------------------------

def test_pins_and_tokens_are_not_stored_in_clear(app, admin_client, demo):
    assert admin_client.put("/api/v1/clerks/lan", json={
        "name": "Đặng Thị Lan", "pin": "97531864"}).status_code == 200
    token = admin_client.post("/api/v1/counters/2/tokens").get_json()["token"]
    app.extensions["goiso"].hall.close()
    database = Path(app.extensions["goiso"].settings.database_path)
    raw = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*")
                   if p.is_file())
    assert b"quantri" in raw and b"lan" in raw  # the right file
    assert token_digest(token).encode() in raw  # tokens are found by their hash
    assert b"97531864" not in raw
    for pin in demo["pins"].values():
        assert pin.encode() not in raw
    for secret in [token, *demo["tokens"].values()]:
        assert secret.encode() not in raw
        assert secret[3:].encode() not in raw


# -- cookies and headers -----------------------------------------------------------------------

def session_cookie(response) -> str:
    cookies = [v for v in response.headers.getlist("Set-Cookie") if v.startswith("goiso_session=")]
    assert cookies, response.headers
    return cookies[-1]


def test_session_cookie_flags(client, demo):
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    response = client.post("/api/v1/session", json={"login": "an", "pin": demo["pins"]["an"]},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 201
    cookie = session_cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_when_configured(tmp_path, demo_db):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copyfile(demo_db[0], data_dir / "goiso.db")
    settings = settings_module.load(data_dir=data_dir, environ={"GOISO_SECURE_COOKIES": "1"})
    assert settings.secure_cookies is True
    app = create_app(settings)
    try:
        cookie = session_cookie(app.test_client().get("/api/v1/session"))
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        app.extensions["goiso"].hall.close()


@pytest.mark.parametrize("path", ["/", "/login", "/api/v1/hall", "/api/v1/nowhere"])
def test_security_headers(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp or "'unsafe-inline'" not in csp.split("script-src")[1]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


# -- ticket tokens stay with their holders -------------------------------------------------------

def test_public_views_never_show_a_ticket_token(app, client, clerk_client):
    tickets = [issue(client, p) for p in ("DEMO-GT-001", "DEMO-GT-002", "DEMO-GT-007",
                                          "DEMO-GT-021")]
    assert clerk_client.post("/api/v1/counters/1/next").status_code == 200
    assert clerk_client.post("/api/v1/counters/1/recall").status_code == 200
    pages = [client.get(path).get_data(as_text=True) for path in (
        "/", "/?lang=en", "/login", "/api/v1/hall", "/api/v1/hall?board=gplx", "/api/v1/counters",
        "/api/v1/queues", "/api/v1/procedures", "/api/v1/boards")]
    stream = client.get("/api/v1/events", headers={"Last-Event-ID": "0"})
    chunks = iter(stream.response)
    text = ""
    while "event: state" not in text:
        text += next(chunks).decode()
    stream.close()
    assert "event: issued" in text and "event: called" in text
    for ticket in tickets:
        for page in [*pages, text]:
            assert ticket["token"] not in page


# -- signing in ----------------------------------------------------------------------------------

def test_wrong_pin_and_unknown_login_look_the_same(client, demo):
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    headers = {"X-CSRFToken": token}
    wrong = client.post("/api/v1/session", json={"login": "an", "pin": "000000"}, headers=headers)
    nobody = client.post("/api/v1/session", json={"login": "nobody", "pin": "123456"},
                         headers=headers)
    error_of(wrong, 401, "unauthorized")
    error_of(nobody, 401, "unauthorized")
    assert wrong.get_json() == nobody.get_json()
    assert client.get("/api/v1/session").get_json()["role"] == "public"
    form = client.post("/login", data={"login": "an", "pin": "000000", "csrf_token": token})
    assert form.status_code == 401
    assert client.get("/api/v1/session").get_json()["role"] == "public"


def _form_token(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


@pytest.mark.parametrize("target", [
    "//evil.example", "//evil.example/login", "https://evil.example/", "/\\evil.example",
    "\\\\evil.example", "/\\/evil.example", "/\t/evil.example", "javascript:alert(1)",
    "evil.example", "http:evil.example", " //evil.example"])
def test_login_never_redirects_off_site(client, demo, target):
    token = _form_token(client, "/login")
    response = client.post("/login", query_string={"next": target}, data={
        "login": "giamsat", "pin": demo["pins"]["giamsat"], "csrf_token": token})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/", location
    assert not urlsplit(location).netloc


def test_login_follows_a_local_next(client, demo):
    token = _form_token(client, "/login")
    response = client.post("/login?next=/api/v1/hall", data={
        "login": "giamsat", "pin": demo["pins"]["giamsat"], "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/api/v1/hall"
