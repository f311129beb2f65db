"""The JSON API against its OpenAPI document: schemathesis (every check, the stateful phase
included) on a real ``goiso serve``, as anonymous, a counter device, a clerk and a supervisor;
zero failures of any kind, and no state change from a rejected request (``tests/fuzzhooks.py``).

Bounded and repeatable: a fixed seed, a few examples per operation, no example database. The
event stream (``GET /events``) never ends, so it is left to ``tests/test_stream.py``.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
SEED = 13
EXAMPLES = 12
# Each operation is fuzzed as the caller it is for (in this order: the supervisor's run changes
# the catalogue, so it comes last); an operation for a higher role is still probed without and
# with altered credentials by the ignored_auth check. Paths as in the document.
_ACTIONS = r"counters/\{number\}/(?!tokens$)[a-z-]+"
RUNS = {
    "anonymous": r"^/(openapi\.json|fields|procedures|queues|counters|kiosks|boards|tickets"
                 r"|tickets/\{token\}|hall|session)$",
    "device": rf"^/(tickets|{_ACTIONS})$",
    "clerk": rf"^/(tickets|tickets/\{{number\}}/(cancel|reactivate)|tickets/unprinted"
             rf"|{_ACTIONS})$",
    "supervisor": r"^/(procedures/\{code\}|queues/\{code\}|counters/\{number\}"
                  r"|counters/\{number\}/tokens|kiosks/\{kiosk_id\}|boards/\{board_id\}"
                  r"|clerks|clerks/\{login\}|tickets/\{number\}/reprint|printers"
                  r"|printers/\{name\}/test|bulk|monitor|audit|reports/summary|hall"
                  r"|queues/\{code\}/extend|signin/locks|signin/unlock|tokens"
                  r"|tokens/\{token_id\})$",
}
WHO = tuple(RUNS)
# Never ends: left to tests/test_stream.py.
NOT_FUZZED = {"/events"}


def _session(base: str, login: str | None = None, pin: str | None = None,
             counter: int | None = None) -> tuple[str, str]:
    """A session cookie and its CSRF token: anonymous, or signed in through the API."""
    http = requests.Session()
    csrf = http.get(f"{base}/api/v1/session", timeout=10).json()["csrf_token"]
    if login is not None:
        body = {"login": login, "pin": pin, **({"counter": counter} if counter else {})}
        answer = http.post(f"{base}/api/v1/session", json=body, headers={"X-CSRFToken": csrf},
                           timeout=10)
        assert answer.status_code == 201, answer.text
        csrf = answer.json()["csrf_token"]
    return http.cookies["goiso_session"], csrf


# Rules between two values, which an OpenAPI 3.0 schema cannot state (each operation's
# description does): a request that keeps to the schema may still be refused with 400 here.
# Every other check stays on for them, and every other operation must accept what its schema
# allows.
ACROSS_FIELDS = {
    "/audit": "from after to",
    "/reports/summary": "from after to, or a range longer than ten years",
    "/bulk": "what each action needs (move: one target; cancel and close_day: a reason)",
    "/counters/{number}/transfer": "a transfer to the counter itself",
    "/queues/{code}": "the prefix format without a prefix, the block format without a block",
    "/boards/{board_id}": "a new board without a name (a board that exists keeps its own)",
    # Not between two values, but no pattern can list what Unicode does not print.
    "/counters/{number}/finish": "a dossier code with a character that does not print",
}


# The stateful phase follows the document's own links (api/openapi.py LINKS), not links
# guessed from names (a guess sent a procedure code as a queue).
STATEFUL = "[phases.stateful.inference]\nalgorithms = []\n"


def across_fields_config() -> str:
    """The ``[[operations]]`` that accept a 400 for a schema-valid request (ACROSS_FIELDS)."""
    return "".join(
        f'[[operations]]\ninclude-path = "{path}"\n'
        '[operations.checks.positive_data_acceptance]\n'
        'expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]\n'
        for path in ACROSS_FIELDS)


# Where each caller works: half the generated counters and procedures are real ones, so the
# actions reach the hall (and the stateful phase serves real tickets), half are anything.
WORKS_AT = {"device": 2, "clerk": 1}
PROCEDURES = ("DEMO-GT-001", "DEMO-GT-007", "DEMO-GT-021")


def auth_config(server, who: str) -> str:
    """The ``[auth]``, ``[dictionaries]`` and ``[parameters]`` of a schemathesis.toml for one
    kind of caller."""
    login = {"anonymous": None, "device": None, "clerk": "an", "supervisor": "giamsat"}[who]
    cookie, csrf = _session(server.base_url, login, server.pins.get(login),
                            WORKS_AT.get(who) if who == "clerk" else None)
    if who == "device":  # counter 2's keypad box; the clerk below is seated at counter 1
        auth = f'[auth.openapi.counterToken]\nbearer = "{server.tokens[2]}"\n'
    else:
        auth = (f'[auth.openapi.session]\napi_key = "{cookie}"\n'
                f'[auth.openapi.csrf]\napi_key = "{csrf}"\n')
    quoted = ", ".join(f'"{code}"' for code in PROCEDURES)
    dictionaries = f"[dictionaries.procedures]\nvalues = [{quoted}]\n"
    # Signing in and out take a session and its token as parameters (anyone may ask).
    parameters = (f'[parameters]\n"cookie.goiso_session" = "{cookie}"\n'
                  f'"header.X-CSRFToken" = "{csrf}"\n'
                  '"body.procedure" = { dictionary = "procedures", probability = 0.5 }\n')
    if who in WORKS_AT:
        dictionaries += f"[dictionaries.counter]\nvalues = [{WORKS_AT[who]}]\n"
        parameters += '"path.number" = { dictionary = "counter", probability = 0.5 }\n'
    return auth + dictionaries + parameters


@pytest.mark.slow
def test_event_stream_frames_keep_to_the_document(live_server, streams):
    """GET /events is not fuzzed: its frames are checked here, the state frame against
    HallState and every event against Event (api/openapi.py)."""
    from openapi_schema_validator import OAS30Validator, oas30_format_checker

    doc = requests.get(f"{live_server.base_url}/api/v1/openapi.json", timeout=10).json()

    def problems(name: str, value) -> list[str]:
        schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
        validator = OAS30Validator(schema, format_checker=oas30_format_checker)
        return [f"{name}: {error.message}" for error in validator.iter_errors(value)]

    [stream] = streams.open(1)
    ticket = live_server.issue("DEMO-GT-001")
    for action in ("next", "recall", "finish", "pause-toggle", "pause-toggle"):
        live_server.act(1, action)
    assert streams.pump(lambda: stream.find("counter_resumed") is not None, 10), stream.frames
    kinds = []
    for frame in stream.frames:
        if frame.kind == "state":
            assert problems("HallState", frame.json()) == []
        elif frame.kind:
            event = frame.json()
            assert problems("Event", event) == []
            assert (event["kind"], event["id"]) == (frame.kind, frame.id)
            # This test's own: its ticket's issue and counter 1's moves (the live server is
            # shared by the worker's tests: another ticket may be issued meanwhile).
            if event["ticket"] == ticket["id"] or event["counter"] == 1:
                kinds.append(frame.kind)
    assert kinds == ["issued", "called", "recalled", "finished", "counter_paused",
                     "counter_resumed"]


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("who", WHO)
def test_api_keeps_to_its_document(live_server, tmp_path, who):
    config = tmp_path / "schemathesis.toml"
    config.write_text(auth_config(live_server, who) + STATEFUL + across_fields_config(),
                      encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SCHEMATHESIS_HOOKS": "tests.fuzzhooks",
           "GOISO_FUZZ_DB": str(live_server.data_dir / "goiso.db"), "NO_COLOR": "1"}
    command = [str(SCHEMATHESIS), "--config-file", str(config), "run",
               f"{live_server.base_url}/api/v1/openapi.json", "--checks", "all",
               "--max-examples", str(EXAMPLES), "--seed", str(SEED),
               "--generation-database", "none", "--workers", "1", "--request-timeout", "10",
               "--include-path-regex", RUNS[who], "--exclude-path", "/events",
               "--no-color", "--output-truncate", "false",
               "--report-dir", str(tmp_path)]
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=230, check=False)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-20000:]
    # The stateful phase ran on the document's links and passed (not skipped for want of any).
    assert re.search(r"✅\s+Stateful", output), output[-20000:]


def test_every_operation_is_fuzzed_as_someone(client):
    """The runs above cover the whole document (but the event stream)."""
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    fuzzed = {path for path in paths for pattern in RUNS.values() if re.match(pattern, path)}
    assert set(paths) - fuzzed == NOT_FUZZED


def test_the_no_change_check_catches_a_refusal_that_changed_something(tmp_path, monkeypatch):
    """The custom check fails a 4xx that logged an event, and only that."""
    import sqlite3
    from types import SimpleNamespace

    from tests import fuzzhooks

    database = tmp_path / "events.db"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT)")
    monkeypatch.setenv("GOISO_FUZZ_DB", str(database))
    case = SimpleNamespace(method="POST", formatted_path="/counters/1/next")

    def call(status: int, logs: str | None) -> None:
        fuzzhooks.before_call(None, case, {})
        if logs:
            with sqlite3.connect(database) as conn:
                conn.execute("INSERT INTO events (kind) VALUES (?)", (logs,))
        fuzzhooks.after_call(None, case, None)
        fuzzhooks.rejected_request_changes_nothing(None, SimpleNamespace(status_code=status),
                                                   case)

    call(200, "called")  # accepted: may change
    call(409, None)  # refused, nothing logged
    call(404, "printed")  # a printer's own event meanwhile
    with pytest.raises(AssertionError, match="logged events: .* called"):
        call(403, "called")


def test_every_405_says_what_is_allowed(app, client):
    """RFC 9110: a 405 carries Allow; for every route of the app (pages too), not only the API."""
    seen = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or "<" in rule.rule:
            continue
        for method in sorted({"GET", "POST", "PUT", "DELETE", "PATCH", "TRACE"} - rule.methods):
            response = client.open(rule.rule, method=method)
            if response.status_code == 405:
                allowed = {m.strip() for m in response.headers.get("Allow", "").split(",")}
                assert rule.methods <= allowed, (rule.rule, method, response.headers)
                seen += 1
    assert seen > 50
