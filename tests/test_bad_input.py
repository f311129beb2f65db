"""Bad input gets a clear 4xx — never a 5xx, a stack trace or SQL — and changes nothing:
oversized bodies, bad UTF-8 in bodies, query strings and paths, bad JSON, wrong JSON types,
bad dates in the report and audit filters, numbers beyond SQLite's 64 bits, NUL bytes and very
long strings, driven against every JSON API route and every form of the app (``app.url_map``).
"""

from __future__ import annotations

import json
import re

import pytest

from tests.plugins.web import HX, StaffClient, issue

UNSAFE = ("POST", "PUT", "DELETE", "PATCH")
# Routes that read no body (signing out, a DELETE whose meaning is all in its path): what
# they are sent does not matter.
SIGN_OUT = ("api.logout", "staff.logout", "counter.logout")
NO_BODY = (*SIGN_OUT, "api_security.revoke")
# The printer test page's form has no fields; with no printer running in the test app it
# answers 503 printer_not_ready whatever it is sent.
NO_FIELDS = ("admin.test_page",)
# What a fault would show: a traceback, a source file, SQLite or its SQL.
LEAKS = re.compile(r"Traceback \(most recent|File \"[^\"\n]*\.py\"|sqlite3?\b|"
                   r"(?:Overflow|Value|Type|Key|Attribute|Index|Operational|Integrity|"
                   r"Programming|Unicode(?:De|En)code|Recursion|ZeroDivision)Error\b|"
                   r"\bSELECT\b[^\n]*\bFROM\b|\bINSERT INTO\b|\bUPDATE \w+ SET\b")
ONE_MB = 1 << 20
HUGE = [10**30, -10**30, 2**63, -(2**63) - 1]
NOT_INTEGERS = [1.5, "1", True, None, [], {}, "NaN"]
BAD_JSON = [b"{bad", b'{"a": "\xff\xfe"}', b"[]", b"null", b'"text"', b"1e999999",
            b'{"a": NaN}', b'{"a": Infinity}', b'{"a": "\\ud800"}', b"[" * 3000 + b"]" * 3000,
            b"\x00"]
STRINGS = ["\x00", "a\x00b", "x" * 100_000, "\ud800", "\u202e\u0000", "%ff"]


def last_event(app) -> int:
    with app.extensions["goiso"].hall.store.read() as conn:
        return conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]


def routes(app, methods=None) -> list:
    """(method, rule) for every route of the app (static files aside)."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if methods is None or method in methods:
                found.append((method, rule))
    return sorted(found, key=lambda r: (r[1].rule, r[0]))


def url_of(rule, ticket: dict, **bad) -> str:
    """The rule's address with arguments that reach its view, some replaced by ``bad``."""
    values = {"board_id": "main", "kiosk_id": "k1", "kind": "procedure", "table": "hall",
              "name": "k1", "login": "an", "action": "recall", "number": 1, "field_id": 1,
              "token": ticket["token"], "code": "DEMO-GT-001", "filename": "favicon.svg",
              "token_id": 1}
    if rule.endpoint in ("api.cancel", "api.reactivate", "api.reprint"):
        values["number"] = ticket["number"]
    values.update(bad)
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<(?:[^:<>]+(?:\([^)]*\))?:)?{name}>", str(values[name]), path)
    return path


def check(response, app, before: int, *, what: str) -> str:
    """A clear refusal: 4xx, the one error shape or a page with a message, no leak, nothing
    changed."""
    body = response.get_data().decode("utf-8", "replace")
    assert 400 <= response.status_code < 500, f"{what}: {response.status_code} {body[:300]}"
    assert not LEAKS.search(body), f"{what}: leaks {LEAKS.search(body)[0]!r}: {body[:300]}"
    if response.mimetype == "application/json":
        error = json.loads(body)["error"]
        assert error["code"] and error["messages"]["vi"] and error["messages"]["en"], what
    else:
        assert response.mimetype == "text/html", what
    assert last_event(app) == before, f"{what}: the hall changed"
    return body


@pytest.fixture
def ticket(app):
    return issue(app.test_client())


@pytest.fixture
def admin(admin_client) -> StaffClient:
    """The admin: every route lets them in, so the input itself is what is checked."""
    return admin_client


def send(client, method: str, url: str, **kwargs):
    headers = {"Accept": "application/json" if url.startswith("/api/") else "text/html"}
    if not url.startswith("/api/"):
        headers.update(HX)
    headers.update(kwargs.pop("headers", {}))
    return client.open(url, method=method, headers=headers, **kwargs)


def test_an_oversized_body_is_a_clear_413_in_the_halls_language(app, admin, ticket):
    before = last_event(app)
    big = b"x" * (ONE_MB + 1)
    seen = 0
    for method, rule in routes(app, UNSAFE):
        url = url_of(rule, ticket)
        kind = "application/json" if url.startswith("/api/") else \
            "application/x-www-form-urlencoded"
        response = send(admin, method, url, data=big, content_type=kind)
        body = check(response, app, before, what=f"{method} {url}")
        assert response.status_code == 413, f"{method} {url}"
        if response.mimetype == "application/json":
            assert "Dữ liệu gửi lên quá lớn." in body
        seen += 1
    page = admin.post("/admin/tickets/cancel", data=big, headers={"Accept": "text/html"},
                      content_type="application/x-www-form-urlencoded")
    assert page.status_code == 413 and "Dữ liệu gửi lên quá lớn." in page.get_data(as_text=True)
    english = admin.post("/api/v1/tickets?lang=en", data=big, content_type="application/json")
    assert english.get_json()["error"]["messages"]["en"] == "The data sent is too large."
    assert seen > 30


@pytest.mark.parametrize("raw", BAD_JSON, ids=lambda b: repr(b[:12]))
def test_bad_json_is_a_400_on_every_json_route(app, admin, ticket, raw):
    before = last_event(app)
    for method, rule in routes(app, UNSAFE):
        url = url_of(rule, ticket)
        if not url.startswith("/api/") or rule.endpoint in NO_BODY:
            continue
        response = send(admin, method, url, data=raw, content_type="application/json")
        check(response, app, before, what=f"{method} {url} {raw[:20]!r}")


def test_a_form_in_bad_utf8_nul_bytes_and_long_values_are_refused(app, admin, ticket):
    bodies = [b"procedure=%ff%fe&key=%ff&notice=%ff&token=%ff&number=%ff&login=%ff",
              b"procedure=\xff\xfe&number=\xc3&level=\xff",
              b"procedure=a%00b&key=%00&notice=%00&number=%00&login=%00&pin=%00",
              b"procedure=" + b"x" * 100_000 + b"&number=" + b"9" * 5000]
    for method, rule in routes(app, UNSAFE):
        url = url_of(rule, ticket)
        if url.startswith("/api/") or rule.endpoint in NO_BODY + NO_FIELDS:
            continue
        for raw in bodies:
            before = last_event(app)
            response = send(admin, method, url, data=raw,
                            content_type="application/x-www-form-urlencoded")
            if response.status_code < 400:  # a form that ignores these fields did its job
                continue
            check(response, app, before, what=f"{method} {url} {raw[:30]!r}")


@pytest.mark.slow
def test_bad_utf8_nul_and_huge_values_in_paths_get_a_404_or_400(app, admin, ticket):
    before = last_event(app)
    for method, rule in routes(app):
        if rule.endpoint in SIGN_OUT:  # signs the admin out whatever the counter
            continue
        for name in rule.arguments:
            for bad in ("%ff", "%00", "%c3%28", "x" * 5000, str(10**30), str(2**63)):
                url = url_of(rule, ticket, **{name: bad})
                response = send(admin, method, url, **(
                    {"json": {}} if method in UNSAFE and url.startswith("/api/") else {}))
                if response.is_streamed:
                    response.close()
                if method == "GET" and response.status_code == 302:  # a screen goes home
                    assert response.headers["Location"].startswith("/"), url[:80]
                    continue
                check(response, app, before, what=f"{method} {url[:80]}")


@pytest.mark.slow
@pytest.mark.parametrize("value", ["%ff", "%00", "2020-13-45", "9999-99-99", str(10**30),
                                   "-1", "NaN", "x" * 5000, "%c3%28"])
def test_bad_query_strings_never_fail_the_server(app, admin, ticket, value):
    names = ("from", "to", "by", "format", "page", "page_size", "clerk", "kind", "q",
             "queues", "counters", "board", "last_event_id", "number", "counter", "edit",
             "lang", "next", "all", "s")
    before = last_event(app)
    for method, rule in routes(app, ("GET",)):
        url = url_of(rule, ticket)
        query = "&".join(f"{name}={value}" for name in names)
        response = send(admin, method, f"{url}?{query}", buffered=False)
        status = response.status_code
        body = response.get_data().decode("utf-8", "replace") if not response.is_streamed \
            else ""
        response.close()
        assert status < 500, f"GET {url}?…={value[:20]}: {status} {body[:300]}"
        assert not LEAKS.search(body), f"GET {url}?…={value[:20]}: {body[:300]}"
        assert last_event(app) == before


@pytest.mark.parametrize("url", ["/api/v1/reports/summary", "/api/v1/audit", "/admin/reports",
                                 "/admin/audit"])
@pytest.mark.parametrize("bad", ["2020-13-45", "2026-02-30", "yesterday", "%ff", "0000-00-00",
                                 "9" * 40, "2026-01-01%00"])
def test_bad_dates_in_report_and_audit_filters_are_a_400_naming_the_field(app, admin, url,
                                                                          bad):
    before = last_event(app)
    for name, query in (("from", f"from={bad}&to=2026-01-31"),
                        ("to", f"from=2026-01-01&to={bad}")):
        response = send(admin, "GET", f"{url}?{query}")
        body = check(response, app, before, what=f"{url}?{query}")
        assert response.status_code == 400
        if response.mimetype == "application/json":  # the field is named (the core's name)
            assert re.search(rf"\b(day_)?{name}\b", body), body


@pytest.mark.parametrize("reading", ["", "abc", "%ff", "%00", "x" * 9000, "W1widmkiXQ.bad",
                                     "eyJhIjoxfQ", "%c3%28"])
def test_a_bad_read_aloud_reading_is_a_400(app, admin, ticket, reading):
    """The kiosk's read-aloud route speaks only readings its screens signed."""
    before = last_event(app)
    for who in (admin, app.test_client()):
        response = send(who, "GET", f"/kiosk/k1/read?s={reading}")
        check(response, app, before, what=f"/kiosk/k1/read?s={reading[:20]}")
        assert response.status_code == 400


@pytest.mark.parametrize("query", ["page=" + str(10**30), "clerk=" + str(10**30),
                                   "page_size=" + str(10**30), "page=-1", "clerk=1.5",
                                   "clerk=NaN", "page=0"])
def test_huge_and_odd_numbers_in_the_audit_filter_are_a_400(app, admin, query):
    before = last_event(app)
    for url in ("/api/v1/audit", "/admin/audit"):
        response = send(admin, "GET", f"{url}?{query}")
        check(response, app, before, what=f"{url}?{query}")
        assert response.status_code == 400


# -- JSON fields: every route's fields with values of the wrong kind -----------------------------

BODIES = {  # a body each JSON route accepts, whose fields are then spoiled one by one
    ("POST", "/api/v1/tickets"): {"procedure": "DEMO-GT-001", "priority": "elderly",
                                  "key": "k-1", "kiosk": "k1"},
    ("POST", "/api/v1/session"): {"login": "an", "pin": "000000", "counter": 1,
                                  "take_over": False},
    ("PUT", "/api/v1/counters/1"): {"name": "Quầy 1", "queues": ["GPLX"]},
    ("PUT", "/api/v1/queues/GPLX"): {"name": "Giấy phép lái xe", "daily_limit": 999},
    ("PUT", "/api/v1/procedures/DEMO-GT-001"): {"name": "Thủ tục", "queue": "GPLX"},
    ("PUT", "/api/v1/kiosks/k1"): {"name": "Ki-ốt"},
    ("PUT", "/api/v1/boards/main"): {"name": "Màn hình", "queues": ["GPLX"], "counters": [1]},
    ("PUT", "/api/v1/clerks/an"): {"name": "An", "role": "clerk"},
    ("POST", "/api/v1/counters/1/transfer"): {"queue": "VT", "counter": 2},
    ("POST", "/api/v1/counters/1/finish"): {"outcome": "done", "dossiers": ["A1"]},
    ("POST", "/api/v1/counters/1/call"): {"number": "1001"},
    ("POST", "/api/v1/bulk"): {"action": "cancel", "tickets": [1], "dry_run": True},
    ("POST", "/api/v1/counters/1/tokens"): {},
    ("POST", "/api/v1/signin/unlock"): {"scope": "login", "key": "an"},
    ("POST", "/api/v1/queues/GPLX/extend"): {"extra": 100},
}
BAD_VALUES = [*HUGE, *STRINGS, 1.5, float("nan"), float("inf"), [], {}, [[[]]], True]
HARMLESS = ("%ff", [])  # a name "%ff" is odd but printable; a counter may serve no queue


@pytest.mark.slow
@pytest.mark.parametrize(("method", "url"), list(BODIES), ids=lambda v: str(v))
def test_spoiled_json_fields_are_refused_or_harmless_never_a_server_error(app, admin, ticket,
                                                                          method, url):
    good = BODIES[(method, url)]
    for field in good:
        for value in BAD_VALUES:
            before = last_event(app)
            raw = json.dumps({**good, field: value}, allow_nan=True).encode(
                "utf-8", "surrogatepass")
            response = admin.open(url, method=method, data=raw, content_type="application/json",
                                  headers={"Accept": "application/json"})
            what = f"{method} {url} {field}={str(value)[:30]!r}"
            body = response.get_data().decode("utf-8", "replace")
            assert response.status_code < 500, f"{what}: {response.status_code} {body[:300]}"
            if response.status_code >= 400:
                check(response, app, before, what=what)
            else:  # only text that is merely odd, or an empty list, is taken
                assert value in HARMLESS, f"{what}: {response.status_code} {body[:200]}"


@pytest.mark.parametrize("value", [*HUGE, 1.5, float("nan"), "1", True, -1, 0])
def test_numbers_sqlite_cannot_hold_are_a_400_or_404(app, admin, ticket, value):
    before = last_event(app)
    raw = json.dumps({"counter": value}, allow_nan=True)
    for url in ("/api/v1/counters/1/transfer", "/api/v1/session"):
        response = admin.post(url, data=raw, content_type="application/json")
        check(response, app, before, what=f"{url} counter={value!r}")


@pytest.mark.parametrize("text", ["a\x00b", "\x00", "\u202eabc", "zero\u200bwidth", "del\x7f",
                                  "\x1b[31m"])
def test_control_characters_in_names_and_notices_are_refused(app, admin, text):
    before = last_event(app)
    response = admin.put("/api/v1/kiosks/k1", json={"name": text})
    body = check(response, app, before, what=f"kiosk name {text!r}")
    assert response.status_code == 400 and "name" in body
    page = admin.post("/admin/boards/main/notice", data={"notice": text},
                      headers={**HX, "Accept": "text/html"})
    check(page, app, before, what=f"notice {text!r}")
