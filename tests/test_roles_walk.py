"""Every route of the app, every method, walked as anonymous, kiosk, board, clerk, supervisor
and admin: each gets what ``ACCESS`` says, the one place where the access of a route is
written down (a route without an entry fails the walk). Unsafe methods without the CSRF token
are refused for every session client."""

from __future__ import annotations

import re

import pytest

from tests.plugins.web import HX, StaffClient, issue, staff_client

# The least role each route needs. Kiosks and boards have no credentials of their own: a kiosk
# is whoever opens /kiosk/<kiosk_id>, a board whoever opens /display/<board_id> (public pages,
# their ids are not secrets), so they walk as anonymous browsers that opened their page first
# and must get exactly what the public gets.
ACCESS = {
    "GET /": "public",
    "GET /admin/": "supervisor",
    "GET /admin/alerts": "clerk",
    "GET /admin/audit": "supervisor",
    "POST /admin/boards/<board_id>/notice": "supervisor",
    "GET /admin/bulk": "supervisor",
    "POST /admin/bulk/apply": "supervisor",
    "POST /admin/bulk/preview": "supervisor",
    "GET /admin/catalogue": "admin",
    "POST /admin/catalogue/<kind>": "admin",
    "POST /admin/catalogue/<kind>/move": "admin",
    "GET /admin/catalogue/export.<kind>": "admin",
    "POST /admin/catalogue/import": "admin",
    "POST /admin/catalogue/import/apply": "admin",
    "POST /admin/catalogue/province": "admin",
    "GET /admin/devices": "supervisor",
    "GET /admin/monitor": "supervisor",
    "POST /admin/monitor/queues/<code>/extend": "supervisor",
    "POST /admin/printers/<name>/test": "supervisor",
    "GET /admin/printing": "supervisor",
    "GET /admin/reports": "supervisor",
    "GET /admin/security": "supervisor",
    "POST /admin/security/tokens/<int:token_id>/revoke": "supervisor",
    "POST /admin/security/unlock": "supervisor",
    "GET /admin/settings": "admin",
    "POST /admin/settings/<table>": "admin",
    "POST /admin/settings/<table>/reset": "admin",
    "POST /admin/tickets/cancel": "supervisor",
    "POST /admin/tickets/reprint": "supervisor",
    "GET /api/v1/audit": "supervisor",
    "GET /api/v1/boards": "public",
    "PUT /api/v1/boards/<board_id>": "supervisor",
    "POST /api/v1/bulk": "supervisor",
    "GET /api/v1/clerks": "supervisor",
    "PUT /api/v1/clerks/<login>": "admin",
    "GET /api/v1/counters": "public",
    "PUT /api/v1/counters/<int:number>": "supervisor",
    "POST /api/v1/counters/<int:number>/<action>": "clerk",
    "POST /api/v1/counters/<int:number>/tokens": "admin",
    "GET /api/v1/events": "public",
    "GET /api/v1/fields": "public",
    "GET /api/v1/hall": "public",
    "GET /api/v1/kiosks": "public",
    "PUT /api/v1/kiosks/<kiosk_id>": "supervisor",
    "GET /api/v1/monitor": "supervisor",
    "GET /api/v1/openapi.json": "public",
    "GET /api/v1/printers": "supervisor",
    "POST /api/v1/printers/<name>/test": "supervisor",
    "GET /api/v1/procedures": "public",
    "PUT /api/v1/procedures/<code>": "supervisor",
    "GET /api/v1/queues": "public",
    "PUT /api/v1/queues/<code>": "supervisor",
    "POST /api/v1/queues/<code>/extend": "supervisor",
    "GET /api/v1/reports/summary": "supervisor",
    "GET /api/v1/session": "public",
    "GET /api/v1/signin/locks": "supervisor",
    "POST /api/v1/signin/unlock": "supervisor",
    "GET /api/v1/tokens": "supervisor",
    "DELETE /api/v1/tokens/<int:token_id>": "supervisor",
    "POST /api/v1/session": "public",
    "DELETE /api/v1/session": "public",
    "POST /api/v1/tickets": "public",
    "POST /api/v1/tickets/<number>/cancel": "clerk",
    "POST /api/v1/tickets/<number>/reactivate": "clerk",
    "POST /api/v1/tickets/<number>/reprint": "supervisor",
    "GET /api/v1/tickets/<token>": "public",
    "GET /api/v1/tickets/unprinted": "clerk",
    "GET /counter/": "public",
    "GET /counter/<int(max=999):number>": "clerk",
    "POST /counter/<int(max=999):number>/act/<action>": "clerk",
    "GET /counter/<int(max=999):number>/panel": "clerk",
    "POST /counter/<int:number>/logout": "clerk",
    "GET /display/": "public",
    "GET /display/<board_id>": "public",
    "GET /display/<board_id>/live": "public",
    "GET /display/audio/call.wav": "public",
    "GET /display/audio/chime.wav": "public",
    "GET /healthz": "public",
    "GET /kiosk/": "public",
    "GET /kiosk/<kiosk_id>": "public",
    "GET /kiosk/<kiosk_id>/banner": "public",
    "GET /kiosk/<kiosk_id>/fields/<int:field_id>": "public",
    "GET /kiosk/<kiosk_id>/ping": "public",
    "GET /kiosk/<kiosk_id>/priority": "public",
    "GET /kiosk/<kiosk_id>/read": "public",
    "GET /kiosk/<kiosk_id>/search": "public",
    "POST /kiosk/<kiosk_id>/tickets": "public",
    "GET /kiosk/<kiosk_id>/tickets/<token>": "public",
    "GET /kiosk/<kiosk_id>/tickets/<token>/printing": "public",
    "GET /login": "public",
    "POST /login": "public",
    "POST /logout": "public",
    "GET /rate/<int:number>": "public",
    "POST /rate/<int:number>": "public",
    "GET /static/<path:filename>": "public",
    "GET /t/<token>": "public",
    "GET /t/<token>/events": "public",
    "POST /t/<token>/rating": "public",
    "GET /t/<token>/status": "public",
}
# What a route answers, by design, to a walker it lets in when that looks like a refusal
# ("public": anonymous, kiosk, board; "staff": signed in; "*": everyone let in).
ANSWERS = {
    "POST /api/v1/session": {"*": 401},  # an empty sign-in is a wrong PIN
    "POST /login": {"*": 401},
    "GET /counter/": {"public": 302, "supervisor": 302, "admin": 302},  # to the sign-in form
    "POST /rate/<int:number>": {"staff": 409},  # a clerk cannot rate their own service
    "POST /admin/printers/<name>/test": {"*": 503},  # no printer runs in the test app
    "POST /api/v1/printers/<name>/test": {"*": 503},
    "POST /t/<token>/rating": {"*": 415},  # JSON only (the walk sends a form)
}
# Unsafe routes a JSON body may reach without the CSRF token (a JSON POST cannot be sent
# cross-site without a preflight, which is never allowed): the kiosk's ticket, the phone's
# rating (its key is the token in the address, not a cookie).
CSRF_EXEMPT_JSON = {"POST /api/v1/tickets", "POST /t/<token>/rating"}
# Routes that end the session: walked with a client of their own.
SIGNS_OUT = {"DELETE /api/v1/session", "POST /logout", "POST /counter/<int:number>/logout",
             "POST /login", "POST /api/v1/session"}

RANK = {"public": 0, "clerk": 1, "supervisor": 2, "admin": 3}
WALKERS = ("anonymous", "kiosk", "board", "clerk", "supervisor", "admin")
RANK_OF = {"anonymous": 0, "kiosk": 0, "board": 0, "clerk": 1, "supervisor": 2, "admin": 3}
UNSAFE = ("POST", "PUT", "DELETE", "PATCH")


def routes(app) -> list[tuple[str, str, object]]:
    """(method, rule, the rule) for every route of the app and every method it answers."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, rule.rule, rule))
    return sorted(found, key=lambda r: (r[1], r[0]))


def sample_url(app, rule, ticket: dict) -> str:
    """The rule's address with arguments that reach the view (a demo counter, board, …)."""
    values = {"board_id": "main", "kiosk_id": "k1", "kind": "procedure", "table": "hall",
              "name": "k1", "login": "an", "action": "recall", "number": 1, "field_id": 1,
              "token": ticket["token"], "filename": "favicon.svg", "token_id": 1}
    if rule.endpoint in ("api.put_queue", "api.extend_queue", "admin_monitor.extend"):
        values["code"] = "GPLX"
    else:
        values["code"] = "DEMO-GT-001"
    if rule.endpoint == "catalogue.export":
        values["kind"] = "csv"
    if rule.endpoint in ("api.cancel", "api.reactivate", "api.reprint"):
        values["number"] = ticket["number"]
    return rule.build({name: values[name] for name in rule.arguments}, append_unknown=False)[1]


def send(client, method: str, url: str, *, csrf: bool = True):
    """One request as a browser or an API caller would send it to this address."""
    headers = {}
    kwargs = {}
    if url.startswith("/api/"):
        headers["Accept"] = "application/json"
        if method in UNSAFE:
            kwargs["json"] = {}
    else:
        headers["Accept"] = "text/html"
        if method in UNSAFE:
            headers.update(HX)
            kwargs["data"] = {}
    if method == "GET" and url.endswith(("/live", "/events")):
        kwargs["buffered"] = False
    if isinstance(client, StaffClient):
        return client.open(url, method=method, headers=headers, csrf=csrf, **kwargs)
    return client.open(url, method=method, headers=headers, **kwargs)


def walker(app, name: str):
    """A client for one of WALKERS."""
    if name in ("clerk", "supervisor", "admin"):
        login = {"clerk": "an", "supervisor": "giamsat", "admin": "quantri"}[name]
        return staff_client(app, login, 1 if name == "clerk" else None)
    client = StaffClient(app, app.response_class, use_cookies=True)
    opening = {"kiosk": "/kiosk/k1", "board": "/display/main"}.get(name)
    if opening:
        assert client.get(opening).status_code == 200
    # Anonymous clients send the page's token as a browser would.
    client.csrf_token = client.get("/api/v1/session").get_json()["csrf_token"]
    return client


def refused(response) -> bool:
    """The guard said no: sign in first (401, or the login page for a page) or 403."""
    if response.status_code in (401, 403):
        return True
    location = response.headers.get("Location", "")
    return response.status_code == 302 and location.startswith("/login")


def test_every_route_has_an_entry_in_the_table(app):
    walked = {f"{method} {rule}" for method, rule, _ in routes(app)}
    assert walked - set(ACCESS) == set(), "routes without an entry in ACCESS"
    assert set(ACCESS) - walked == set(), "entries of routes that are gone"


@pytest.mark.slow
@pytest.mark.parametrize("name", WALKERS)
def test_each_walker_gets_what_the_table_says(app, name):
    ticket = issue(app.test_client())
    client = walker(app, name)
    wrong = []
    for method, rule_text, rule in routes(app):
        key = f"{method} {rule_text}"
        needed = ACCESS.get(key)
        if needed is None:
            continue  # reported by the test above
        url = sample_url(app, rule, ticket)
        one = walker(app, name) if key in SIGNS_OUT else client
        response = send(one, method, url)
        if response.is_streamed:
            response.close()
        status = response.status_code
        if RANK_OF[name] >= RANK[needed]:
            answers = ANSWERS.get(key, {})
            expected = answers.get(name, answers.get(
                "staff" if RANK_OF[name] else "public", answers.get("*")))
            if expected is not None:
                ok = status == expected
            else:
                ok = not refused(response) and status < 500
        elif RANK_OF[name] == 0:
            ok = status == 401 or (status == 302 and response.headers["Location"].startswith(
                "/login") and method == "GET")
        else:
            ok = status == 403
        if not ok:
            wrong.append(f"{name}: {key} ({url}) → {status} (needs {needed})")
    assert not wrong, "\n".join(wrong)


@pytest.mark.slow
@pytest.mark.parametrize("name", WALKERS)
def test_unsafe_methods_without_the_csrf_token_are_refused(app, name):
    ticket = issue(app.test_client())
    client = walker(app, name)
    wrong, checked = [], 0
    for method, rule_text, rule in routes(app):
        key = f"{method} {rule_text}"
        if method not in UNSAFE or ACCESS.get(key) is None:
            continue
        if RANK_OF[name] < RANK[ACCESS[key]]:
            continue  # refused before the token is looked at: the walk above checks it
        url = sample_url(app, rule, ticket)
        one = walker(app, name) if key in SIGNS_OUT else client
        response = send(one, method, url, csrf=False)
        if key in CSRF_EXEMPT_JSON:
            continue
        checked += 1
        body = response.get_data(as_text=True)
        if response.status_code != 400 or not re.search(r"csrf_failed|hết hạn", body):
            wrong.append(f"{name}: {key} without the token → {response.status_code}")
    assert checked >= {0: 5, 1: 10, 2: 20, 3: 30}[RANK_OF[name]], checked
    assert not wrong, "\n".join(wrong)
