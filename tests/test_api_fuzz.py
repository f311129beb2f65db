"""The JSON API against its OpenAPI document: schemathesis (every check, the stateful phase
included) on a real ``goiso serve``, as anonymous, a counter device, a clerk and a supervisor;
zero failures of any kind, and no state change from a rejected request (``tests/fuzzhooks.py``).

Bounded and repeatable: a fixed seed, a few examples per operation, no example database. The
event stream (``GET /events``) never ends, so it is left to ``tests/test_stream.py``.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
SEED = 13
EXAMPLES = 12
# In this order: the supervisor's run changes the catalogue, so it comes last.
WHO = ("anonymous", "device", "clerk", "supervisor")


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


def auth_config(server, who: str) -> str:
    """The ``[auth]`` part of a schemathesis.toml for one kind of caller."""
    login = {"anonymous": None, "device": None, "clerk": "an", "supervisor": "giamsat"}[who]
    cookie, csrf = _session(server.base_url, login, server.pins.get(login),
                            1 if who == "clerk" else None)
    # Signing in and out take a session and its token as parameters (anyone may ask).
    parameters = (f'[parameters]\n"cookie.goiso_session" = "{cookie}"\n'
                  f'"header.X-CSRFToken" = "{csrf}"\n')
    if who == "device":  # counter 2's keypad box; the clerk below is seated at counter 1
        return f'[auth.openapi.counterToken]\nbearer = "{server.tokens[2]}"\n' + parameters
    return (f'[auth.openapi.session]\napi_key = "{cookie}"\n'
            f'[auth.openapi.csrf]\napi_key = "{csrf}"\n' + parameters)


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("who", WHO)
def test_api_keeps_to_its_document(live_server, tmp_path, who):
    config = tmp_path / "schemathesis.toml"
    config.write_text(auth_config(live_server, who), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SCHEMATHESIS_HOOKS": "tests.fuzzhooks",
           "GOISO_FUZZ_DB": str(live_server.data_dir / "goiso.db"), "NO_COLOR": "1"}
    command = [str(SCHEMATHESIS), "--config-file", str(config), "run",
               f"{live_server.base_url}/api/v1/openapi.json", "--checks", "all",
               "--max-examples", str(EXAMPLES), "--seed", str(SEED),
               "--generation-database", "none", "--workers", "1", "--request-timeout", "10",
               "--exclude-path", "/events", "--no-color", "--output-truncate", "false",
               "--report-dir", str(tmp_path)]
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=230, check=False)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-20000:]
    assert "rejected_request_changes_nothing" in output or "Stateful" in output, output
