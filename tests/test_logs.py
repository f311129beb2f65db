"""Logs a technician can read: one line per record, refusals as one line (what, who, from
where), tracebacks only for real faults, repeats bounded."""

import io
import logging
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.liveserver import HOST
from tests.plugins.waiting import wait_for
from tests.plugins.web import error_of, issue
from web import logs


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def record(msg="refused", level=logging.INFO, name="goiso.web", **values):
    return logging.makeLogRecord({"name": name, "levelno": level,
                                  "levelname": logging.getLevelName(level), "msg": msg,
                                  "args": (), "fields": values})


def lines(handler: logs.BoundedHandler) -> list[str]:
    return handler.stream.getvalue().splitlines()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def handler(clock):
    return logs.BoundedHandler(io.StringIO(), logs.Repeats(window=60, burst=3, total=10,
                                                           clock=clock))


def test_a_record_is_one_line_time_level_logger_message_then_fields(handler):
    handler.handle(record("sign-in failed", logging.WARNING, "goiso.security",
                          login="an", addr="10.0.0.7", note="two words", gone=None))
    (line,) = lines(handler)
    when, level, name, rest = line.split(" ", 3)
    assert when[:4].isdigit() and "T" in when
    assert (level, name) == ("WARNING", "goiso.security")
    assert rest == 'sign-in failed login=an addr=10.0.0.7 note="two words"'


def test_control_characters_and_long_values_cannot_break_the_line(handler):
    handler.handle(record("refused", path="/x\n2026-01-01 ERROR forged\x1b[31m\x00",
                          q='a"b=c\\', long="y" * 5000))
    (line,) = lines(handler)
    assert r'path="/x\n2026-01-01 ERROR forged\x1b[31m\x00"' in line
    assert r'q="a\"b=c\\"' in line
    assert len(line) < 400 and "(+4800)" in line


def test_a_plain_record_with_arguments_is_formatted_too(handler):
    logger = logging.getLogger("goiso.security.test")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning("sign-in failed for %s from %s", "an", "10.0.0.7")
    finally:
        logger.removeHandler(handler)
    assert lines(handler)[0].endswith("WARNING goiso.security.test sign-in failed for an from"
                                      " 10.0.0.7")


def test_repeats_are_kept_to_a_burst_then_summed_up_after_the_window(handler, clock):
    for _ in range(50):
        handler.handle(record(code="not_found", path="/a"))
    handler.handle(record(code="not_found", path="/b"))
    assert len(lines(handler)) == 3 + 1
    clock.now += 61
    handler.handle(record(code="not_found", path="/b"))
    out = lines(handler)
    assert len(out) == 4 + 2
    assert "suppressed 47 similar in 61 s: refused code=not_found path=/a" in out[4]
    assert out[5].endswith("refused code=not_found path=/b")


def test_all_kinds_together_stay_under_the_total(handler, clock):
    for n in range(1000):
        handler.handle(record(code="not_found", path=f"/scan/{n}"))
    assert len(lines(handler)) == 10
    clock.now += 61
    handler.handle(record(code="not_found", path="/again"))
    out = lines(handler)
    assert out[10].split(" ", 1)[1] == ("WARNING goiso.web suppressed 990 lines of 990 other"
                                        " kinds: more than 10 lines in 60 s")
    assert out[-1].endswith("path=/again")


def test_closing_writes_what_was_held(handler):
    for _ in range(5):
        handler.handle(record(code="csrf_failed"))
    handler.close()
    assert "suppressed 2 similar" in lines(handler)[-1]


def test_configure_is_done_once_per_process():
    root = logging.getLogger()
    level = root.level
    try:
        first = logs.configure(stream=io.StringIO())
        assert logs.configure() is first
        assert sum(isinstance(h, logs.BoundedHandler) for h in root.handlers) == 1
    finally:
        root.removeHandler(first)
        root.setLevel(level)


# -- the app's records ---------------------------------------------------------------------------

def web_records(caplog):
    return [r for r in caplog.records if r.name == "goiso.web"]


def test_a_refusal_of_the_rules_is_one_line_with_what_who_and_where(app, clerk_client, caplog):
    caplog.set_level(logging.INFO, "goiso.web")
    error_of(clerk_client.post("/api/v1/counters/1/next-nope", json={}), 404)
    response = clerk_client.post("/api/v1/counters/1/recall", json={})
    error_of(response, 409, "no_current_ticket")
    (_, refusal) = web_records(caplog)
    assert refusal.exc_info is None and refusal.levelno == logging.INFO
    assert refusal.fields == {"code": "no_current_ticket", "status": 409, "role": "clerk",
                              "clerk": refusal.fields["clerk"], "counter": 1, "device": None,
                              "method": "POST", "path": "/api/v1/counters/1/recall",
                              "addr": "127.0.0.1"}
    assert isinstance(refusal.fields["clerk"], int)
    assert "Traceback" not in caplog.text


def test_a_device_token_is_named_and_a_bad_token_is_a_warning(app, client, caplog):
    caplog.set_level(logging.INFO, "goiso.web")
    token = app.config["DEMO"]["tokens"][2]
    issue(client, "DEMO-GT-007")
    client.post("/api/v1/counters/2/recall", json={},
                headers={"Authorization": f"Bearer {token}"})
    client.post("/api/v1/counters/2/next", json={}, headers={"Authorization": "Bearer nope"})
    device, bad = web_records(caplog)
    assert (device.fields["role"], device.fields["counter"], device.fields["device"]) == (
        "clerk", 2, "token")
    assert bad.levelno == logging.WARNING and bad.fields["code"] == "unauthorized"
    assert bad.fields["role"] == "public"


def test_csrf_and_rights_refusals_are_warnings(clerk_client, caplog):
    caplog.set_level(logging.INFO, "goiso.web")
    clerk_client.post("/api/v1/counters/1/next", json={}, csrf=False)
    clerk_client.get("/api/v1/monitor")
    csrf, forbidden = web_records(caplog)
    assert (csrf.levelno, csrf.fields["code"]) == (logging.WARNING, "csrf_failed")
    assert (forbidden.levelno, forbidden.fields["code"]) == (logging.WARNING, "forbidden")


def test_a_real_fault_has_its_traceback_once_and_the_page_none(app, client, caplog,
                                                               monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("SELECT secret FROM clerks")

    hall = app.extensions["goiso"].hall
    monkeypatch.setattr(hall.screens, "snapshot", broken)
    monkeypatch.setattr(hall.catalogue, "boards", broken)
    caplog.set_level(logging.INFO)
    for accept in ("application/json", "text/html"):
        response = client.get("/api/v1/hall" if accept == "application/json" else "/display/",
                              headers={"Accept": accept})
        text = response.get_data(as_text=True)
        assert response.status_code == 500, text
        assert "Traceback" not in text and "SELECT" not in text
        assert "ZeroDivisionError" not in text and "snapshot" not in text
    faults = [r for r in caplog.records if r.exc_info]
    assert len(faults) == 2, caplog.text
    assert all(r.name == "goiso.web" and r.levelno == logging.ERROR for r in faults)
    assert caplog.text.count("Traceback (most recent call last)") == 2
    handler = logs.BoundedHandler(io.StringIO())
    handler.handle(faults[0])
    text = handler.stream.getvalue()
    assert text.splitlines()[0].split(" ", 1)[1].startswith(
        "ERROR goiso.web fault: ZeroDivisionError")
    assert "path=/api/v1/hall" in text and "Traceback" in text


def test_faults_are_not_hidden_by_a_flood_of_refusals(handler):
    for n in range(50):
        handler.handle(record(code="not_found", path=f"/scan/{n}"))
    for _ in range(4):
        handler.handle(record("fault: KeyError", logging.ERROR, path="/api/v1/hall"))
    out = lines(handler)
    assert len(out) == 10 + 3 and out[-1].split(" ", 1)[1].startswith("ERROR goiso.web fault")


@pytest.mark.slow
def test_a_real_server_writes_refusals_as_lines_and_no_traceback(live_server):
    start = len(live_server.output())
    for _ in range(8):
        status, _, _ = live_server.request("POST", "/api/v1/tickets", {"procedure": "NOPE"})
        assert status == 404
    assert live_server.request("POST", "/api/v1/counters/1/next", {}, token="wrong")[0] == 401
    with socket.create_connection((HOST, live_server.port), timeout=10) as sock:
        sock.sendall(b"G\x00T /\r\n\r\n")
        while sock.recv(65536):
            pass
    text = wait_for(lambda: (t := live_server.output()[start:]) and "goiso.http" in t and t,
                    "the server's refusal of a garbled request line")
    assert "Traceback" not in text
    line = (r"^\d{4}-\d\d-\d\dT\S+ INFO goiso.web refused code=unknown_procedure status=404"
            r" role=public method=POST path=/api/v1/tickets addr=127.0.0.1$")
    assert len(re.findall(line, text, re.M)) == logs.BURST  # the rest is counted for later
    assert re.search(r"^\S+ WARNING goiso.web refused code=unauthorized status=401 role=public"
                     r" method=POST path=/api/v1/counters/1/next addr=127.0.0.1$", text, re.M)
    assert re.search(r"^\S+ WARNING goiso.http refused by the HTTP server: .*addr=127.0.0.1$",
                     text, re.M)


def test_in_the_journal_each_line_carries_its_priority_and_no_time(tmp_path, monkeypatch):
    path = tmp_path / "journal"
    with open(path, "w", encoding="utf-8") as stream:
        status = path.stat()
        monkeypatch.setenv("JOURNAL_STREAM", f"{status.st_dev}:{status.st_ino}")
        handler = logs.BoundedHandler(stream)
        handler.handle(record("refused", logging.WARNING, code="forbidden"))
        try:
            raise KeyError("x")
        except KeyError:
            fault = logging.makeLogRecord({"name": "goiso.web", "levelno": logging.ERROR,
                                           "levelname": "ERROR", "msg": "fault: KeyError",
                                           "exc_info": sys.exc_info()})
        handler.handle(fault)
    out = path.read_text(encoding="utf-8").splitlines()
    assert out[0] == "<4>WARNING goiso.web refused code=forbidden"
    assert out[1] == "<3>ERROR goiso.web fault: KeyError"
    assert len(out) > 3 and all(line.startswith("<3>") for line in out[1:])
    monkeypatch.setenv("JOURNAL_STREAM", "1:2")
    assert not logs.writes_to_journal(io.StringIO())


def test_a_refusal_a_view_answers_itself_has_its_line_too(app, client, caplog):
    caplog.set_level(logging.INFO, "goiso.web")
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))[1]
    response = client.post("/login", data={"login": "an", "pin": "000000", "csrf_token": token})
    assert response.status_code == 401
    (line,) = web_records(caplog)
    assert (line.levelno, line.fields["status"], line.fields["path"]) == (
        logging.WARNING, 401, "/login")
    assert line.fields["addr"] == "127.0.0.1"


CROSSING = """
from gevent import monkey
monkey.patch_all()
import traceback
from hall import errors
from services.runtime import choose_offload

offload = choose_offload(2)

def refuse():
    raise errors.NothingWaiting(number=1)

def fail():
    raise ZeroDivisionError("in the thread")

for fn in (refuse, fail):
    try:
        offload(fn)
    except Exception as exc:
        print("raised", type(exc).__name__, traceback.extract_tb(exc.__traceback__)[-1].name)
print("result", offload(lambda a, b=0: a + b, 2, b=3))
"""


def test_an_exception_crossing_gevents_pool_is_raised_in_the_request_and_printed_nowhere():
    done = subprocess.run([sys.executable, "-c", CROSSING], capture_output=True, text=True,
                          timeout=60, cwd=str(Path(__file__).parents[1]))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["raised NothingWaiting refuse", "raised ZeroDivisionError"
                                        " fail", "result 5"]
    assert done.stderr == ""  # the hub printed no traceback: the request's handler logs it


def test_the_same_fault_on_many_paths_is_one_kind_of_repeat(app, client, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("x")

    monkeypatch.setattr(app.extensions["goiso"].hall.catalogue, "kiosk", broken)
    caplog.set_level(logging.INFO, "goiso.web")
    for n in range(6):
        assert client.get(f"/kiosk/k{n}").status_code == 500
    faults = [r for r in caplog.records if r.exc_info]
    assert len(faults) == 6 and len({r.fields["path"] for r in faults}) == 6
    handler = logs.BoundedHandler(io.StringIO(), logs.Repeats(burst=2))
    for fault in faults:
        handler.handle(fault)
    assert handler.stream.getvalue().count("Traceback") == 2


def test_a_flood_on_one_logger_does_not_hide_another_loggers_lines(handler):
    for n in range(50):
        handler.handle(record(code="not_found", path=f"/scan/{n}"))
    handler.handle(record("signin_locked", logging.WARNING, "goiso.security", login="an"))
    out = lines(handler)
    assert len(out) == 11 and "goiso.security signin_locked login=an" in out[-1]
