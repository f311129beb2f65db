"""The JSON API v1 through Flask's test client, on a real SQLite file seeded with the demo hall.

Demo hall: queues GPLX (block 1: 1001…), VT (B), DTND (C), TKQ (D), HD (E); counter 1 serves
GPLX, 2 GPLX+VT, 3 VT, 4 DTND+VT, 5 TKQ, 6 HD+TKQ; clerk "an" sits at counter 1.
"""

import json
import re
import string
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hall.events import EventKind
from tests.plugins.printers import printers_running
from tests.plugins.waiting import wait_for
from tests.plugins.web import (
    StaffClient,
    close_app,
    db_state,
    error_of,
    issue,
    make_app,
    row_count,
    sign_in,
    staff_client,
)

ISO_HALL = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$")
QUEUE_CODES = ["GPLX", "VT", "DTND", "TKQ", "HD"]
ACTIONS = ("next", "recall", "no-show", "finish", "pause", "resume", "transfer", "call", "close")


def act(client, counter: int, action: str, body: dict | None = None, status: int = 200):
    """POST a counter action, check the status, return the JSON (None for 204)."""
    response = client.post(f"/api/v1/counters/{counter}/{action}", json=body or {})
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json() if response.data else None


def by_code(items: list[dict], key: str = "code") -> dict:
    return {item[key]: item for item in items}


# -- catalogue ---------------------------------------------------------------------------------

def test_procedures_are_public_in_kiosk_order(client):
    response = client.get("/api/v1/procedures")
    assert response.status_code == 200
    procedures = response.get_json()
    codes = [p["code"] for p in procedures]
    assert codes == [f"DEMO-GT-{n:03d}" for n in range(1, 23)]
    first = procedures[0]
    assert first["queue"] == {"code": "GPLX", "name": "Giấy phép lái xe"}
    assert first["field"] == "Giấy phép lái xe" and isinstance(first["field_id"], int)
    assert first["name"].startswith("Đổi giấy phép lái xe")
    assert all(p["active"] is True for p in procedures)
    assert by_code(procedures)["DEMO-GT-007"]["queue"]["code"] == "VT"


def test_inactive_procedures_only_for_supervisors_asking_for_all(client, supervisor_client):
    response = supervisor_client.put("/api/v1/procedures/DEMO-GT-022", json={
        "name": "Hướng dẫn và tư vấn thủ tục hành chính", "field": "Hướng dẫn", "queue": "HD",
        "active": False})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["active"] is False
    public = [p["code"] for p in client.get("/api/v1/procedures?all=1").get_json()]
    assert "DEMO-GT-022" not in public and len(public) == 21
    everything = supervisor_client.get("/api/v1/procedures?all=1").get_json()
    assert by_code(everything)["DEMO-GT-022"]["active"] is False
    # Its field has no active procedure left, so the kiosk no longer offers it.
    assert "Hướng dẫn" not in [f["name"] for f in client.get("/api/v1/fields").get_json()]
    error_of(client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-022"}), 409,
             "procedure_inactive")


def test_fields_in_order_with_procedure_counts(client):
    fields = client.get("/api/v1/fields").get_json()
    assert [(f["name"], f["procedures"]) for f in fields] == [
        ("Giấy phép lái xe", 6), ("Vận tải đường bộ", 8), ("Đường thủy nội địa", 6),
        ("Trả kết quả", 1), ("Hướng dẫn", 1)]
    assert len({f["id"] for f in fields}) == 5


def test_queues_show_waiting_counts(client, clerk_client):
    queues = client.get("/api/v1/queues").get_json()
    assert [q["code"] for q in queues] == QUEUE_CODES
    assert all(q["waiting"] == 0 for q in queues)
    assert by_code(queues)["GPLX"]["counters"] == [1, 2]
    assert by_code(queues)["VT"]["counters"] == [2, 3, 4]
    issue(client, "DEMO-GT-001")
    issue(client, "DEMO-GT-002")
    issue(client, "DEMO-GT-007")
    waiting = {q["code"]: q["waiting"] for q in client.get("/api/v1/queues").get_json()}
    assert waiting == {"GPLX": 2, "VT": 1, "DTND": 0, "TKQ": 0, "HD": 0}
    act(clerk_client, 1, "next")
    assert by_code(client.get("/api/v1/queues").get_json())["GPLX"]["waiting"] == 1


def test_counters_show_status_clerk_and_current_ticket(client, clerk_client):
    counters = client.get("/api/v1/counters").get_json()
    assert [c["number"] for c in counters] == [1, 2, 3, 4, 5, 6]
    assert [c["queues"] for c in counters] == [
        ["GPLX"], ["GPLX", "VT"], ["VT"], ["DTND", "VT"], ["TKQ"], ["HD", "TKQ"]]
    assert all(c["status"] == "open" for c in counters)
    assert counters[0]["clerk"]["name"] == "Nguyễn Văn An"
    assert counters[1]["clerk"] is None and counters[0]["current"] is None
    issue(client)
    act(clerk_client, 1, "next")
    current = client.get("/api/v1/counters").get_json()[0]["current"]
    assert current["number"] == "1001" and current["status"] == "called"
    assert "token" not in current


def test_kiosks_and_boards(client):
    assert [(k["id"], k["active"]) for k in client.get("/api/v1/kiosks").get_json()] == [
        ("k1", True), ("k2", True)]
    boards = by_code(client.get("/api/v1/boards").get_json(), "id")
    assert set(boards) == {"main", "gplx"}
    assert boards["gplx"]["queues"] == ["GPLX"] and boards["main"]["queues"] == []


def test_hall_state_and_its_filters(client, clerk_client):
    issue(client, "DEMO-GT-001")
    issue(client, "DEMO-GT-007")
    called = act(clerk_client, 1, "next")
    state = client.get("/api/v1/hall").get_json()
    assert set(state) >= {"day", "at", "last_event_id", "queues", "counters", "recent_calls"}
    assert ISO_HALL.match(state["at"])
    assert state["last_event_id"] == db_state(client.application)["events"][-1][0]
    assert [q["code"] for q in state["queues"]] == QUEUE_CODES
    assert by_code(state["queues"])["VT"]["next"] == ["B001"]
    assert [c["number"] for c in state["counters"]] == [1, 2, 3, 4, 5, 6]
    assert state["recent_calls"][0]["number"] == called["number"] == "1001"
    assert state["recent_calls"][0]["counter"] == 1

    only_vt = client.get("/api/v1/hall?queues=VT").get_json()
    assert [q["code"] for q in only_vt["queues"]] == ["VT"]
    assert only_vt["recent_calls"] == []  # the call was in GPLX
    two = client.get("/api/v1/hall?counters=2,3").get_json()
    assert [c["number"] for c in two["counters"]] == [2, 3]
    assert [q["code"] for q in two["queues"]] == QUEUE_CODES
    board = client.get("/api/v1/hall?board=gplx").get_json()
    assert [q["code"] for q in board["queues"]] == ["GPLX"]
    assert [c["number"] for c in board["recent_calls"]] == ["1001"]

    error_of(client.get("/api/v1/hall?board=nope"), 404, "unknown_board")
    error_of(client.get("/api/v1/hall?counters=one"), 400, "invalid_input")


# -- tickets -----------------------------------------------------------------------------------

def test_issue_a_ticket(client):
    before = datetime.now().astimezone()
    response = client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-001"})
    assert response.status_code == 201
    ticket = response.get_json()
    assert isinstance(ticket["id"], int)
    assert ticket["number"] == "1001"
    assert ticket["queue"] == {"code": "GPLX", "name": "Giấy phép lái xe"}
    assert ticket["procedure"]["code"] == "DEMO-GT-001"
    assert ticket["procedure"]["name"].startswith("Đổi giấy phép lái xe")
    assert ticket["status"] == "waiting"
    assert ISO_HALL.match(ticket["issued_at"]), ticket["issued_at"]
    issued = datetime.fromisoformat(ticket["issued_at"])
    assert issued.utcoffset() == timedelta(hours=7)
    assert abs(issued - before) < timedelta(minutes=1)
    assert ticket["waiting_ahead"] == 0
    assert isinstance(ticket["eta_minutes"], int) and ticket["eta_minutes"] >= 0
    assert response.headers["Location"] == f"/api/v1/tickets/{ticket['token']}"


def test_numbers_follow_each_queue_format(client):
    assert issue(client, "DEMO-GT-007")["number"] == "B001"
    assert issue(client, "DEMO-GT-001")["number"] == "1001"
    second = issue(client, "DEMO-GT-002")
    assert second["number"] == "1002" and second["waiting_ahead"] == 1
    low, high = second["eta_range"]  # a range around the centre, in whole minutes
    assert 0 <= low <= second["eta_minutes"] <= high and second["eta_after_closing"] is False
    assert issue(client, "DEMO-GT-015")["number"] == "C001"
    assert issue(client, "DEMO-GT-007")["number"] == "B002"


def test_ticket_tokens_are_long_random_and_unique(client):
    tickets = [issue(client, "DEMO-GT-021") for _ in range(30)]
    tokens = [t["token"] for t in tickets]
    assert len(set(tokens)) == len(tokens)
    alphabet = set(string.ascii_letters + string.digits + "-_")
    for ticket in tickets:
        token = ticket["token"]
        assert len(token) >= 16 and set(token) <= alphabet
        assert ticket["number"] not in token and str(ticket["id"]) != token
    # Random, not a counter: the tokens share no long common prefix.
    assert len({t[:4] for t in tokens}) > 20


def test_idempotency_key_returns_the_same_ticket(client, app, printing):
    headers = {"Idempotency-Key": "kiosk-k1-0001"}
    first = client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-001", "kiosk": "k1"},
                        headers=headers)
    again = client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-001", "kiosk": "k1"},
                        headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["token"] == first.get_json()["token"]
    assert row_count(app, "tickets") == 1
    before = db_state(app)
    other = client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-007"}, headers=headers)
    error_of(other, 409, "duplicate_request")
    assert db_state(app) == before
    fresh = client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-001"},
                        headers={"Idempotency-Key": "kiosk-k1-0002"})
    assert fresh.get_json()["number"] == "1002"
    assert row_count(app, "tickets") == 2


def test_a_kiosk_ticket_issued_through_the_api_is_printed(client, app, printing):
    """Whatever door asked, a ticket issued at a kiosk goes to that kiosk's printer, once."""
    headers = {"Idempotency-Key": "kiosk-k1-api-0001"}
    ticket = client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-007", "kiosk": "k1"},
                         headers=headers).get_json()
    hall = app.extensions["goiso"].hall
    wait_for(lambda: hall.tickets.ticket(ticket["token"])["printed"])
    jobs = list((printing / "k1").glob(f"*-{ticket['number']}.escpos"))
    assert len(jobs) == 1
    again = client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-007", "kiosk": "k1"},
                        headers=headers)
    assert again.status_code == 201 and again.get_json()["id"] == ticket["id"]
    time.sleep(0.3)  # a second job would have landed by now
    assert len(list((printing / "k1").glob(f"*-{ticket['number']}.escpos"))) == 1
    # A ticket for a phone (no kiosk) prints nothing.
    phone = issue(client, "DEMO-GT-007")
    assert phone["printed"] is None
    assert not list(printing.glob(f"*/*-{phone['number']}.escpos"))


def test_priority_and_kiosk_are_kept(client, printing):
    ticket = issue(client, "DEMO-GT-001", priority="elderly", kiosk="k2")
    assert ticket["priority"] == "elderly" and ticket["kiosk"] == "k2"
    error_of(client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-001", "kiosk": "k9"}),
             404, "unknown_kiosk")


def test_ticket_holder_sees_the_call(client, clerk_client):
    ticket = issue(client)
    seen = client.get(f"/api/v1/tickets/{ticket['token']}").get_json()
    assert seen["number"] == "1001" and seen["status"] == "waiting"
    assert seen["counter"] is None and seen["called_at"] is None
    act(clerk_client, 1, "next")
    seen = client.get(f"/api/v1/tickets/{ticket['token']}").get_json()
    assert seen["status"] == "called"
    assert seen["counter"] == {"number": 1, "name": "Quầy 1"}
    assert ISO_HALL.match(seen["called_at"])
    assert seen["waiting_ahead"] is None
    error_of(client.get("/api/v1/tickets/not-a-token"), 404, "not_found")


# -- counter actions ---------------------------------------------------------------------------

def test_next_calls_in_order_then_answers_204(client, clerk_client, app):
    first, second = issue(client), issue(client, "DEMO-GT-002")
    assert act(clerk_client, 1, "next")["number"] == first["number"]
    called = act(clerk_client, 1, "next")
    assert called["number"] == second["number"] and called["status"] == "called"
    assert called["counter"]["number"] == 1
    done = client.get(f"/api/v1/tickets/{first['token']}").get_json()
    assert done["status"] == "done" and done["outcome"] == "served"
    before = db_state(app)
    response = clerk_client.post("/api/v1/counters/1/next")
    assert response.status_code == 204 and response.data == b""
    assert db_state(app) == before  # the ticket being served was not finished by the 204


def test_recall(client, clerk_client):
    issue(client)
    act(clerk_client, 1, "next")
    assert act(clerk_client, 1, "recall")["recalls"] == 1
    again = act(clerk_client, 1, "recall")
    assert again["recalls"] == 2 and again["status"] == "called"


def test_no_show_reactivate_and_cancel(client, clerk_client):
    ticket = issue(client)
    act(clerk_client, 1, "next")
    absent = act(clerk_client, 1, "no-show")
    assert absent["status"] == "no_show"
    assert client.get("/api/v1/counters").get_json()[0]["current"] is None
    back = clerk_client.post(f"/api/v1/tickets/{ticket['number']}/reactivate")
    assert back.status_code == 200 and back.get_json()["status"] == "waiting"
    error_of(clerk_client.post(f"/api/v1/tickets/{ticket['number']}/reactivate"), 409,
             "illegal_transition")
    gone = clerk_client.post(f"/api/v1/tickets/{ticket['number']}/cancel",
                             json={"reason": "không in được"})
    assert gone.status_code == 200 and gone.get_json()["status"] == "cancelled"
    error_of(clerk_client.post(f"/api/v1/tickets/{ticket['number']}/cancel"), 409,
             "illegal_transition")
    error_of(clerk_client.post("/api/v1/tickets/1999/cancel"), 404, "unknown_ticket")


def test_finish_with_an_outcome(client, clerk_client):
    issue(client)
    issue(client)
    act(clerk_client, 1, "next")
    finished = act(clerk_client, 1, "finish", {"outcome": "referred"})
    assert finished["status"] == "done" and finished["outcome"] == "referred"
    error_of(clerk_client.post("/api/v1/counters/1/finish"), 409, "no_current_ticket")
    act(clerk_client, 1, "next")
    assert act(clerk_client, 1, "finish")["outcome"] == "served"  # the first outcome


def test_pause_and_resume(client, clerk_client):
    issue(client)
    paused = act(clerk_client, 1, "pause")
    assert paused["status"] == "paused" and paused["number"] == 1
    assert client.get("/api/v1/counters").get_json()[0]["status"] == "paused"
    error_of(clerk_client.post("/api/v1/counters/1/next"), 409, "counter_paused")
    error_of(clerk_client.post("/api/v1/counters/1/pause"), 409, "counter_paused")
    assert act(clerk_client, 1, "resume")["status"] == "open"
    assert act(clerk_client, 1, "next")["number"] == "1001"


def test_transfer_to_another_queue(client, clerk_client, supervisor_client):
    ticket = issue(client)
    act(clerk_client, 1, "next")
    moved = act(clerk_client, 1, "transfer", {"queue": "VT"})
    assert moved["status"] == "waiting" and moved["queue"]["code"] == "VT"
    assert moved["number"] == ticket["number"] and moved["transfers"] == 1
    assert client.get("/api/v1/counters").get_json()[0]["current"] is None
    # Counter 3 serves only VT: it now calls the GPLX-issued ticket.
    assert act(supervisor_client, 3, "next")["number"] == "1001"


def test_transfer_to_a_named_counter(client, clerk_client, supervisor_client):
    issue(client)
    act(clerk_client, 1, "next")
    moved = act(clerk_client, 1, "transfer", {"counter": 5})
    assert moved["status"] == "waiting" and moved["target_counter"] == 5
    assert supervisor_client.post("/api/v1/counters/2/next").status_code == 204
    assert act(supervisor_client, 5, "next")["number"] == "1001"


def test_transfer_needs_exactly_one_target(client, clerk_client, app):
    issue(client)
    act(clerk_client, 1, "next")
    before = db_state(app)
    error_of(clerk_client.post("/api/v1/counters/1/transfer", json={}), 400, "invalid_input")
    error_of(clerk_client.post("/api/v1/counters/1/transfer",
                               json={"queue": "VT", "counter": 2}), 400, "invalid_input")
    assert db_state(app) == before


def test_call_a_number_out_of_order(client, clerk_client):
    for _ in range(3):
        issue(client)
    called = act(clerk_client, 1, "call", {"number": "1003"})
    assert called["number"] == "1003" and called["status"] == "called"
    assert act(clerk_client, 1, "next")["number"] == "1001"
    error_of(clerk_client.post("/api/v1/counters/1/call", json={"number": "1003"}), 409,
             "illegal_transition")


def test_close_a_counter(client, clerk_client):
    issue(client)
    act(clerk_client, 1, "next")
    error_of(clerk_client.post("/api/v1/counters/1/close"), 409, "counter_busy")
    act(clerk_client, 1, "finish")
    assert act(clerk_client, 1, "close")["status"] == "closed"
    error_of(clerk_client.post("/api/v1/counters/1/next"), 409, "counter_closed")
    assert act(clerk_client, 1, "resume")["status"] == "open"


# -- describing the hall -----------------------------------------------------------------------

def test_put_procedure(client, supervisor_client):
    response = supervisor_client.put("/api/v1/procedures/DEMO-GT-099", json={
        "name": "Chứng thực bản sao", "field": "Hướng dẫn", "queue": "HD"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["queue"]["code"] == "HD"
    assert "DEMO-GT-099" in [p["code"] for p in client.get("/api/v1/procedures").get_json()]
    assert issue(client, "DEMO-GT-099")["number"] == "E001"
    renamed = supervisor_client.put("/api/v1/procedures/DEMO-GT-099", json={
        "name": "Chứng thực bản sao từ bản chính", "field": "Hướng dẫn", "queue": "HD",
        "position": 3})
    assert renamed.get_json()["name"] == "Chứng thực bản sao từ bản chính"
    assert renamed.get_json()["position"] == 3


def test_put_queue_then_serve_it(client, supervisor_client):
    response = supervisor_client.put("/api/v1/queues/CT", json={
        "name": "Chứng thực", "prefix": "F", "service_minutes": 4, "daily_limit": 2,
        "priority_policy": "interleave", "interleave_every": 2})
    assert response.status_code == 200, response.get_data(as_text=True)
    queue = response.get_json()
    assert (queue["number_format"], queue["prefix"], queue["daily_limit"]) == ("prefix", "F", 2)
    assert supervisor_client.put("/api/v1/counters/6", json={
        "queues": ["HD", "TKQ", "CT"]}).status_code == 200
    assert supervisor_client.put("/api/v1/procedures/CT-1", json={
        "name": "Chứng thực chữ ký", "field": "Chứng thực", "queue": "CT"}).status_code == 200
    assert issue(client, "CT-1")["number"] == "F001"
    assert issue(client, "CT-1")["number"] == "F002"
    error_of(client.post("/api/v1/tickets", json={"procedure": "CT-1"}), 409,
             "daily_limit_reached")
    error_of(supervisor_client.put("/api/v1/queues/CT2", json={"name": "x", "prefix": "B"}),
             400, "invalid_input")  # B is VT's letter


def test_put_counter(client, supervisor_client):
    response = supervisor_client.put("/api/v1/counters/7", json={
        "name": "Quầy 7", "queues": ["VT", {"code": "DTND", "weight": 2}],
        "select_mode": "ordered"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["queues"] == [{"code": "VT", "weight": 1.0},
                                             {"code": "DTND", "weight": 2.0}]
    seven = client.get("/api/v1/counters").get_json()[-1]
    assert (seven["number"], seven["name"], seven["queues"]) == (7, "Quầy 7", ["VT", "DTND"])
    assert seven["select_mode"] == "ordered"


def test_put_kiosk(client, supervisor_client):
    response = supervisor_client.put("/api/v1/kiosks/k3", json={"name": "Ki-ốt tầng 2"})
    assert response.status_code == 200
    assert response.get_json() == {"id": "k3", "name": "Ki-ốt tầng 2", "active": True}
    # A kiosk of the hall (printing does not run in this app, so its printer is not ready).
    error_of(client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-001", "kiosk": "k3"}),
             503, "printer_not_ready")
    off = supervisor_client.put("/api/v1/kiosks/k3", json={"name": "Ki-ốt tầng 2",
                                                          "active": False})
    assert off.get_json()["active"] is False
    error_of(client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-001", "kiosk": "k3"}),
             404, "unknown_kiosk")


def test_put_board(client, supervisor_client):
    response = supervisor_client.put("/api/v1/boards/vt", json={
        "name": "Màn hình vận tải", "queues": ["VT"], "counters": [3, 4]})
    assert response.status_code == 200
    assert response.get_json() == {"id": "vt", "name": "Màn hình vận tải", "queues": ["VT"],
                                   "counters": [3, 4], "notice": ""}
    notice = supervisor_client.put("/api/v1/boards/vt", json={
        "name": "Màn hình vận tải", "queues": ["VT"], "counters": [3, 4],
        "notice": "Quầy 4 nghỉ chiều nay"}).get_json()["notice"]
    assert notice == "Quầy 4 nghỉ chiều nay"
    state = client.get("/api/v1/hall?board=vt").get_json()
    assert [q["code"] for q in state["queues"]] == ["VT"]
    assert [c["number"] for c in state["counters"]] == [3, 4]


def test_put_board_with_only_a_notice_keeps_the_rest(client, supervisor_client):
    # As the README says: PUT /api/v1/boards/<id> {"notice"} sets a board's notice.
    response = supervisor_client.put("/api/v1/boards/gplx", json={"notice": "Nghỉ trưa 12:00"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"id": "gplx", "name": "Màn hình khu giấy phép lái xe",
                                   "queues": ["GPLX"], "counters": [], "notice": "Nghỉ trưa 12:00"}
    cleared = supervisor_client.put("/api/v1/boards/gplx", json={"notice": ""}).get_json()
    assert cleared["notice"] == "" and cleared["queues"] == ["GPLX"]
    # A board that does not exist yet needs its name.
    error_of(supervisor_client.put("/api/v1/boards/new", json={"notice": "x"}), 400,
             "invalid_input")


def test_put_clerk_then_sign_in(app, admin_client, supervisor_client):
    response = admin_client.put("/api/v1/clerks/lan", json={
        "name": "Đặng Thị Lan", "pin": "24681357", "role": "clerk"})
    assert response.status_code == 200, response.get_data(as_text=True)
    clerk = response.get_json()
    assert clerk["login"] == "lan" and clerk["role"] == "clerk"
    assert not {"pin", "pin_hash"} & set(clerk)
    listed = by_code(supervisor_client.get("/api/v1/clerks").get_json(), "login")
    assert "lan" in listed and not any("pin" in key for key in listed["lan"])
    newcomer = StaffClient(app, app.response_class, use_cookies=True)
    assert sign_in(newcomer, "lan", "24681357", 3).status_code == 201
    assert newcomer.get("/api/v1/session").get_json()["counter"] == 3
    renamed = admin_client.put("/api/v1/clerks/lan", json={"name": "Đặng Lan",
                                                          "role": "supervisor"})
    assert renamed.get_json()["role"] == "supervisor"  # PIN kept when not given


def test_new_counter_token_works_as_bearer(client, admin_client):
    response = admin_client.post("/api/v1/counters/3/tokens")
    assert response.status_code == 201
    token = response.get_json()["token"]
    assert response.get_json()["counter"] == 3 and token.startswith("gs_") and len(token) > 40
    issue(client, "DEMO-GT-007")
    bearer = {"Authorization": f"Bearer {token}"}
    called = client.post("/api/v1/counters/3/next", headers=bearer)
    assert called.status_code == 200 and called.get_json()["number"] == "B001"
    error_of(client.post("/api/v1/counters/2/next", headers=bearer), 403, "forbidden")


# -- errors ------------------------------------------------------------------------------------

def test_errors_in_the_callers_language(client):
    vi = error_of(client.get("/api/v1/tickets/unknown"), 404, "not_found")
    en = error_of(client.get("/api/v1/tickets/unknown", headers={"Accept-Language": "en"}),
                  404, "not_found")
    assert vi["message"] == vi["messages"]["vi"] == "Không tìm thấy vé này."
    assert en["message"] == en["messages"]["en"] == "This ticket was not found."
    unknown = error_of(client.post("/api/v1/tickets", json={"procedure": "NOPE-1"},
                                   headers={"Accept-Language": "en-US,en;q=0.9"}),
                       404, "unknown_procedure")
    assert unknown["message"] == "There is no procedure with code NOPE-1."
    assert unknown["messages"]["vi"] == "Không có thủ tục mã NOPE-1."
    via_query = error_of(client.get("/api/v1/tickets/unknown?lang=en"), 404)
    assert via_query["message"] == "This ticket was not found."


def test_http_errors_have_the_same_shape(client):
    error_of(client.get("/api/v1/nothing-here"), 404, "not_found")
    error_of(client.patch("/api/v1/procedures"), 405, "method_not_allowed")
    error_of(client.delete("/api/v1/hall"), 405)
    error_of(client.post("/api/v1/tickets", data="x" * (2 << 20),
                         content_type="application/json"), 413)


# -- bad input never gives 500 and never changes anything --------------------------------------

def J(value) -> dict:  # noqa: N802 - reads as a table column
    """A JSON body (ASCII-escaped, so lone surrogates survive the trip)."""
    return {"data": json.dumps(value), "content_type": "application/json"}


def RAW(text, content_type: str = "application/json") -> dict:  # noqa: N802
    """A raw body with a content type."""
    return {"data": text, "content_type": content_type}


BIG = 10**30
SESSION_WRITES = [  # (client, method, path, body, allowed keys besides the bad one)
    ("clerk", "POST", "/api/v1/counters/1/next", {}),
    ("clerk", "POST", "/api/v1/counters/1/recall", {}),
    ("clerk", "POST", "/api/v1/counters/1/no-show", {}),
    ("clerk", "POST", "/api/v1/counters/1/finish", {}),
    ("clerk", "POST", "/api/v1/counters/1/pause", {}),
    ("clerk", "POST", "/api/v1/counters/1/resume", {}),
    ("clerk", "POST", "/api/v1/counters/1/transfer", {"queue": "VT"}),
    ("clerk", "POST", "/api/v1/counters/1/call", {"number": "1003"}),
    ("clerk", "POST", "/api/v1/counters/1/close", {}),
    ("clerk", "POST", "/api/v1/tickets/1002/reactivate", {}),
    ("clerk", "POST", "/api/v1/tickets/1002/cancel", {}),
    ("supervisor", "PUT", "/api/v1/procedures/NEW-1", {"name": "n", "field": "f", "queue": "VT"}),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ", {"name": "n", "prefix": "Z"}),
    ("supervisor", "PUT", "/api/v1/counters/7", {"name": "Quầy 7"}),
    ("supervisor", "PUT", "/api/v1/kiosks/k9", {"name": "n"}),
    ("supervisor", "PUT", "/api/v1/boards/b9", {"name": "n"}),
    ("admin", "PUT", "/api/v1/clerks/newbie", {"name": "n", "pin": "123456"}),
    ("admin", "POST", "/api/v1/counters/1/tokens", {}),
    ("public", "POST", "/api/v1/session", {"login": "binh", "pin": "PIN:binh"}),
    ("public", "POST", "/api/v1/tickets", {"procedure": "DEMO-GT-001"}),
]

# Bodies wrong for every write endpoint.
GENERIC_BAD = [
    ("malformed-json", RAW('{"procedure": ')),
    ("json-array", RAW("[]")),
    ("json-string", RAW('"DEMO-GT-001"')),
    ("json-number", RAW("5")),
    ("json-null", RAW("null")),
    ("not-utf8", RAW(b"\xff\xfe\x00{")),
    ("deep-nesting", RAW("[" * 50_000 + "]" * 50_000)),
    ("lone-surrogate", RAW('{"x": "\\ud800"}')),
    ("text-plain", RAW('{"procedure": "DEMO-GT-001"}', "text/plain")),
    ("form", RAW("procedure=DEMO-GT-001", "application/x-www-form-urlencoded")),
    ("too-large", RAW('{"x": "' + "y" * (1 << 20) + '"}')),
]

SPECIFIC_BAD = [
    # POST /tickets
    ("public", "POST", "/api/v1/tickets", J({"procedure": 1}), 400),
    ("public", "POST", "/api/v1/tickets", J({"procedure": None}), 400),
    ("public", "POST", "/api/v1/tickets", J({"procedure": ["DEMO-GT-001"]}), 400),
    ("public", "POST", "/api/v1/tickets", J({"procedure": {"code": "DEMO-GT-001"}}), 400),
    ("public", "POST", "/api/v1/tickets", J({"procedure": ""}), 400),
    ("public", "POST", "/api/v1/tickets", J({}), 400),
    ("public", "POST", "/api/v1/tickets", J({"procedure": "NOPE"}), 404),
    ("public", "POST", "/api/v1/tickets", J({"procedure": "x" * 100_000}), 404),
    ("public", "POST", "/api/v1/tickets", J({"procedure": "\ud800"}), 400),
    ("public", "POST", "/api/v1/tickets", J({"procedure": "DEMO-GT-001", "priority": "vip"}), 400),
    ("public", "POST", "/api/v1/tickets", J({"procedure": "DEMO-GT-001", "priority": 1}), 400),
    ("public", "POST", "/api/v1/tickets", J({"procedure": "DEMO-GT-001", "priority": True}), 400),
    ("public", "POST", "/api/v1/tickets",
     J({"procedure": "DEMO-GT-001", "priority": ["elderly"]}), 400),
    ("public", "POST", "/api/v1/tickets", J({"procedure": "DEMO-GT-001", "kiosk": 1}), 400),
    ("public", "POST", "/api/v1/tickets", J({"procedure": "DEMO-GT-001", "kiosk": "k9"}), 404),
    ("public", "POST", "/api/v1/tickets", J({"procedure": "DEMO-GT-001", "bogus": 1}), 400),
    ("public", "POST", "/api/v1/tickets",
     {**J({"procedure": "DEMO-GT-001"}), "headers": {"Idempotency-Key": "k" * 201}}, 400),
    ("public", "POST", "/api/v1/tickets", J({"procedure": "DEMO-GT-007"}) | {
        "headers": {"Idempotency-Key": "used-key"}}, 409),
    # counter numbers in the path
    ("clerk", "POST", "/api/v1/counters/0/next", J({}), None),
    ("clerk", "POST", "/api/v1/counters/-1/next", J({}), 404),
    ("clerk", "POST", "/api/v1/counters/true/next", J({}), 404),
    ("clerk", "POST", "/api/v1/counters/1.0/next", J({}), 404),
    ("clerk", "POST", f"/api/v1/counters/{BIG}/next", J({}), 404),
    ("clerk", "POST", "/api/v1/counters/99/next", J({}), None),
    ("clerk", "POST", "/api/v1/counters/1/bogus", J({}), 404),
    ("supervisor", "POST", f"/api/v1/counters/{BIG}/next", J({}), 404),
    ("supervisor", "POST", "/api/v1/counters/99/pause", J({}), 404),
    # counter action bodies
    ("clerk", "POST", "/api/v1/counters/1/finish", J({"outcome": "won"}), 400),
    ("clerk", "POST", "/api/v1/counters/1/finish", J({"outcome": 1}), 400),
    ("clerk", "POST", "/api/v1/counters/1/finish", J({"outcome": None}), 400),
    ("clerk", "POST", "/api/v1/counters/1/finish", J({"outcome": ["served"]}), 400),
    ("clerk", "POST", "/api/v1/counters/1/transfer", J({}), 400),
    ("clerk", "POST", "/api/v1/counters/1/transfer", J({"queue": None}), 400),
    ("clerk", "POST", "/api/v1/counters/1/transfer", J({"queue": 5}), 400),
    ("clerk", "POST", "/api/v1/counters/1/transfer", J({"queue": ["VT"]}), 400),
    ("clerk", "POST", "/api/v1/counters/1/transfer", J({"queue": "NOPE"}), 404),
    ("clerk", "POST", "/api/v1/counters/1/transfer", J({"queue": "VT", "counter": 2}), 400),
    ("clerk", "POST", "/api/v1/counters/1/transfer", J({"counter": "2"}), 400),
    ("clerk", "POST", "/api/v1/counters/1/transfer", J({"counter": True}), 400),
    ("clerk", "POST", "/api/v1/counters/1/transfer", J({"counter": 2.0}), 400),
    ("clerk", "POST", "/api/v1/counters/1/transfer", J({"counter": 0}), 404),
    ("clerk", "POST", "/api/v1/counters/1/transfer", J({"counter": -1}), 404),
    ("clerk", "POST", "/api/v1/counters/1/transfer", J({"counter": BIG}), 404),
    ("clerk", "POST", "/api/v1/counters/1/transfer", J({"counter": 1}), 400),
    ("clerk", "POST", "/api/v1/counters/1/call", J({}), 400),
    ("clerk", "POST", "/api/v1/counters/1/call", J({"number": 1003}), 400),
    ("clerk", "POST", "/api/v1/counters/1/call", J({"number": None}), 400),
    ("clerk", "POST", "/api/v1/counters/1/call", J({"number": ""}), 400),
    ("clerk", "POST", "/api/v1/counters/1/call", J({"number": ["1003"]}), 400),
    ("clerk", "POST", "/api/v1/counters/1/call", J({"number": "9" * 10_000}), 404),
    ("clerk", "POST", "/api/v1/counters/1/call", J({"number": "1003", "queue": 5}), 400),
    ("clerk", "POST", "/api/v1/counters/1/call", J({"number": "B001"}), 404),
    ("clerk", "POST", "/api/v1/counters/1/call", J({"number": "1001"}), 409),
    ("clerk", "POST", "/api/v1/counters/1/call", J({"number": "\udfff"}), 400),
    ("clerk", "POST", "/api/v1/counters/1/close", J({}), 409),
    ("clerk", "POST", "/api/v1/counters/1/resume", J({}), 409),
    # tickets by number
    ("clerk", "POST", "/api/v1/tickets/1002/reactivate", J({}), 409),
    ("clerk", "POST", "/api/v1/tickets/1002/reactivate", J({"queue": 5}), 400),
    ("clerk", "POST", "/api/v1/tickets/9999/reactivate", J({}), 404),
    ("clerk", "POST", "/api/v1/tickets/1001/cancel", J({}), 409),
    ("clerk", "POST", "/api/v1/tickets/1002/cancel", J({"reason": 5}), 400),
    ("clerk", "POST", "/api/v1/tickets/1002/cancel", J({"reason": None}), 400),
    ("clerk", "POST", "/api/v1/tickets/1002/cancel", J({"queue": []}), 400),
    ("clerk", "POST", "/api/v1/tickets/1002/cancel", J({"queue": "VT"}), 404),
    # procedures
    ("supervisor", "PUT", "/api/v1/procedures/NEW-1", J({"name": "n", "field": "f"}), 400),
    ("supervisor", "PUT", "/api/v1/procedures/NEW-1",
     J({"name": 5, "field": "f", "queue": "VT"}), 400),
    ("supervisor", "PUT", "/api/v1/procedures/NEW-1",
     J({"name": "n", "field": ["f"], "queue": "VT"}), 400),
    ("supervisor", "PUT", "/api/v1/procedures/NEW-1",
     J({"name": "n", "field": "f", "queue": "NOPE"}), 404),
    ("supervisor", "PUT", "/api/v1/procedures/NEW-1",
     J({"name": "n", "field": "f", "queue": {"code": "VT"}}), 400),
    ("supervisor", "PUT", "/api/v1/procedures/NEW-1",
     J({"name": "n", "field": "f", "queue": "VT", "position": "1"}), 400),
    ("supervisor", "PUT", "/api/v1/procedures/NEW-1",
     J({"name": "n", "field": "f", "queue": "VT", "position": -1}), 400),
    ("supervisor", "PUT", "/api/v1/procedures/NEW-1",
     J({"name": "n", "field": "f", "queue": "VT", "position": BIG}), 400),
    ("supervisor", "PUT", "/api/v1/procedures/NEW-1",
     J({"name": "n", "field": "f", "queue": "VT", "position": True}), 400),
    ("supervisor", "PUT", "/api/v1/procedures/NEW-1",
     J({"name": "n", "field": "f", "queue": "VT", "active": "no"}), 400),
    ("supervisor", "PUT", "/api/v1/procedures/NEW-1",
     J({"name": "n", "field": "f", "queue": "VT", "active": None}), 400),
    ("supervisor", "PUT", "/api/v1/procedures/NEW-1",
     J({"name": "n" * 1000, "field": "f", "queue": "VT"}), 400),
    ("supervisor", "PUT", "/api/v1/procedures/bad code",
     J({"name": "n", "field": "f", "queue": "VT"}), 400),
    ("supervisor", "PUT", "/api/v1/procedures/" + "A" * 41,
     J({"name": "n", "field": "f", "queue": "VT"}), 400),
    # queues
    ("supervisor", "PUT", "/api/v1/queues/NEWQ", J({"prefix": "Z"}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ", J({"name": "", "prefix": "Z"}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ", J({"name": "n"}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ", J({"name": "n", "prefix": "z"}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ", J({"name": "n", "prefix": "ZZZ"}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ", J({"name": "n", "prefix": 5}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ", J({"name": "n", "prefix": "B"}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ",
     J({"name": "n", "prefix": "Z", "digits": "3"}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ", J({"name": "n", "prefix": "Z", "digits": 0}),
     400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ", J({"name": "n", "prefix": "Z", "digits": 7}),
     400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ",
     J({"name": "n", "number_format": "block", "block": 10}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ",
     J({"name": "n", "number_format": "block", "block": 1}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ",
     J({"name": "n", "number_format": "block", "block": None}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ", J({"name": "n", "number_format": "roman"}),
     400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ",
     J({"name": "n", "prefix": "Z", "number_format": ["prefix"]}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ",
     J({"name": "n", "prefix": "Z", "priority_policy": "random"}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ",
     J({"name": "n", "prefix": "Z", "priority_policy": {"a": 1}}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ",
     J({"name": "n", "prefix": "Z", "interleave_every": 0}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ",
     J({"name": "n", "prefix": "Z", "issue_from": "8h"}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ",
     J({"name": "n", "prefix": "Z", "issue_from": 8}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ",
     J({"name": "n", "prefix": "Z", "issue_until": "24:00"}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ",
     J({"name": "n", "prefix": "Z", "daily_limit": 0}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ",
     J({"name": "n", "prefix": "Z", "daily_limit": "10"}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ",
     J({"name": "n", "prefix": "Z", "service_minutes": 0}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ",
     J({"name": "n", "prefix": "Z", "service_minutes": "5"}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ",
     J({"name": "n", "prefix": "Z", "service_minutes": True}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ",
     J({"name": "n", "prefix": "Z", "service_minutes": 1e9}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ",
     RAW('{"name": "n", "prefix": "Z", "service_minutes": NaN}'), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ",
     J({"name": "n", "prefix": "Z", "position": -1}), 400),
    ("supervisor", "PUT", "/api/v1/queues/NEWQ",
     J({"name": "n", "prefix": "Z", "active": "yes"}), 400),
    # counters
    ("supervisor", "PUT", "/api/v1/counters/0", J({"name": "x"}), 400),
    ("supervisor", "PUT", "/api/v1/counters/1000", J({"name": "x"}), 400),
    ("supervisor", "PUT", f"/api/v1/counters/{BIG}", J({"name": "x"}), 400),
    ("supervisor", "PUT", "/api/v1/counters/-1", J({"name": "x"}), 404),
    ("supervisor", "PUT", "/api/v1/counters/7", J({"name": 5}), 400),
    ("supervisor", "PUT", "/api/v1/counters/7", J({"name": 0}), 400),
    ("supervisor", "PUT", "/api/v1/counters/7", J({"name": []}), 400),
    ("supervisor", "PUT", "/api/v1/counters/7", J({"name": "x" * 101}), 400),
    ("supervisor", "PUT", "/api/v1/counters/7", J({"queues": "GPLX"}), 400),
    ("supervisor", "PUT", "/api/v1/counters/7", J({"queues": {"GPLX": 1}}), 400),
    ("supervisor", "PUT", "/api/v1/counters/7", J({"queues": [5]}), 400),
    ("supervisor", "PUT", "/api/v1/counters/7", J({"queues": [None]}), 400),
    ("supervisor", "PUT", "/api/v1/counters/7", J({"queues": ["NOPE"]}), 404),
    ("supervisor", "PUT", "/api/v1/counters/7", J({"queues": ["GPLX", "GPLX"]}), 400),
    ("supervisor", "PUT", "/api/v1/counters/7", J({"queues": [{"weight": 2}]}), 400),
    ("supervisor", "PUT", "/api/v1/counters/7",
     J({"queues": [{"code": "GPLX", "weight": 0}]}), 400),
    ("supervisor", "PUT", "/api/v1/counters/7",
     J({"queues": [{"code": "GPLX", "weight": -1}]}), 400),
    ("supervisor", "PUT", "/api/v1/counters/7",
     J({"queues": [{"code": "GPLX", "weight": "2"}]}), 400),
    ("supervisor", "PUT", "/api/v1/counters/7",
     J({"queues": [{"code": "GPLX", "weight": 10**400}]}), 400),
    ("supervisor", "PUT", "/api/v1/counters/7",
     RAW('{"queues": [{"code": "GPLX", "weight": NaN}]}'), 400),
    ("supervisor", "PUT", "/api/v1/counters/7",
     RAW('{"queues": [{"code": "GPLX", "weight": Infinity}]}'), 400),
    ("supervisor", "PUT", "/api/v1/counters/7", J({"select_mode": "random"}), 400),
    ("supervisor", "PUT", "/api/v1/counters/7", J({"select_mode": ["oldest"]}), 400),
    ("supervisor", "PUT", "/api/v1/counters/7", J({"number": 8}), 400),
    # kiosks and boards
    ("supervisor", "PUT", "/api/v1/kiosks/k9", J({}), 400),
    ("supervisor", "PUT", "/api/v1/kiosks/k9", J({"name": 5}), 400),
    ("supervisor", "PUT", "/api/v1/kiosks/k9", J({"name": "n", "active": "no"}), 400),
    ("supervisor", "PUT", "/api/v1/kiosks/k9", J({"name": "n", "active": 0}), 400),
    ("supervisor", "PUT", "/api/v1/kiosks/bad!id", J({"name": "n"}), 400),
    ("supervisor", "PUT", "/api/v1/boards/b9", J({"name": None}), 400),
    ("supervisor", "PUT", "/api/v1/boards/b9", J({"name": "n", "queues": "GPLX"}), 400),
    ("supervisor", "PUT", "/api/v1/boards/b9", J({"name": "n", "queues": [5]}), 400),
    ("supervisor", "PUT", "/api/v1/boards/b9", J({"name": "n", "counters": ["1"]}), 400),
    ("supervisor", "PUT", "/api/v1/boards/b9", J({"name": "n", "counters": [0]}), 400),
    ("supervisor", "PUT", "/api/v1/boards/b9", J({"name": "n", "counters": [True]}), 400),
    ("supervisor", "PUT", "/api/v1/boards/b9", J({"name": "n", "counters": [BIG]}), 400),
    ("supervisor", "PUT", "/api/v1/boards/b9", J({"name": "n", "counters": 1}), 400),
    # clerks and tokens
    ("admin", "PUT", "/api/v1/clerks/newbie", J({"name": "n"}), 400),
    ("admin", "PUT", "/api/v1/clerks/newbie", J({"name": "n", "pin": 1234}), 400),
    ("admin", "PUT", "/api/v1/clerks/newbie", J({"name": "n", "pin": "12"}), 400),
    ("admin", "PUT", "/api/v1/clerks/newbie", J({"name": "n", "pin": "abcd"}), 400),
    ("admin", "PUT", "/api/v1/clerks/newbie", J({"name": "n", "pin": "1" * 13}), 400),
    ("admin", "PUT", "/api/v1/clerks/newbie", J({"name": "n", "pin": "123456", "role": "root"}),
     400),
    ("admin", "PUT", "/api/v1/clerks/newbie",
     J({"name": "n", "pin": "123456", "role": ["admin"]}), 400),
    ("admin", "PUT", "/api/v1/clerks/newbie",
     J({"name": "n", "pin": "123456", "active": "no"}), 400),
    ("admin", "PUT", "/api/v1/clerks/newbie", J({"name": ["n"], "pin": "123456"}), 400),
    ("admin", "PUT", "/api/v1/clerks/newbie", J({"name": "n" * 101, "pin": "123456"}), 400),
    ("admin", "PUT", "/api/v1/clerks/" + "x" * 41, J({"name": "n", "pin": "123456"}), 400),
    ("admin", "POST", "/api/v1/counters/99/tokens", J({}), 404),
    ("admin", "POST", "/api/v1/counters/0/tokens", J({}), 404),
    ("admin", "POST", f"/api/v1/counters/{BIG}/tokens", J({}), 404),
    # signing in (right PIN, wrong rest)
    ("public", "POST", "/api/v1/session", J({"login": "binh", "pin": "PIN:binh",
                                             "counter": "2"}), 400),
    ("public", "POST", "/api/v1/session", J({"login": "binh", "pin": "PIN:binh",
                                             "counter": True}), 400),
    ("public", "POST", "/api/v1/session", J({"login": "binh", "pin": "PIN:binh",
                                             "counter": 2.5}), 400),
    ("public", "POST", "/api/v1/session", J({"login": "binh", "pin": "PIN:binh",
                                             "counter": 0}), 404),
    ("public", "POST", "/api/v1/session", J({"login": "binh", "pin": "PIN:binh",
                                             "counter": BIG}), 404),
    ("public", "POST", "/api/v1/session", J({"login": "binh", "pin": "PIN:binh",
                                             "counter": 1}), 409),
    ("public", "POST", "/api/v1/session", J({"login": "binh", "pin": "PIN:binh",
                                             "counter": 1, "take_over": "false"}), 400),
    ("public", "POST", "/api/v1/session", J({"login": "binh", "pin": "PIN:binh",
                                             "counter": 1, "take_over": 1}), 400),
    ("public", "POST", "/api/v1/session", J({"login": "binh", "pin": "000000"}), 401),
    ("public", "POST", "/api/v1/session", J({"login": 5, "pin": 123456}), 401),
    ("public", "POST", "/api/v1/session", J({"login": None}), 401),
]


def _cases():
    for who, method, path, valid in SESSION_WRITES:
        yield pytest.param(who, method, path, J({**valid, "bogus": 1}), 400,
                           id=f"{method} {path} unknown-field")
        for name, body in GENERIC_BAD:
            status = {"text-plain": 415, "form": 415, "too-large": 413}.get(name, 400)
            yield pytest.param(who, method, path, body, status, id=f"{method} {path} {name}")
    for who, method, path, body, status in SPECIFIC_BAD:
        shown = body.get("data", "")[:60] if isinstance(body.get("data"), str) else "bytes"
        yield pytest.param(who, method, path, body, status, id=f"{method} {path} {shown}")


@pytest.fixture(scope="module")
def busy_hall(tmp_path_factory, demo_db):
    """One app for the bad-request table: 1001 called at counter 1, 1002 and 1003 waiting."""
    app = make_app(tmp_path_factory.mktemp("bad-requests"), *demo_db)
    clients = {"clerk": staff_client(app, "an", 1), "supervisor": staff_client(app, "giamsat"),
               "admin": staff_client(app, "quantri"),
               "public": StaffClient(app, app.response_class, use_cookies=True)}
    public = clients["public"]
    public.csrf_token = public.get("/api/v1/session").get_json()["csrf_token"]
    for _ in range(3):
        issue(public)
    issue(public, "DEMO-GT-021")
    assert public.post("/api/v1/tickets", json={"procedure": "DEMO-GT-001"},
                       headers={"Idempotency-Key": "used-key"}).status_code == 201
    act(clients["clerk"], 1, "next")
    yield app, clients
    close_app(app)


def _expand_pins(body: dict, pins: dict) -> dict:
    text = body.get("data")
    if isinstance(text, str) and "PIN:" in text:
        body = {**body, "data": re.sub(r"PIN:(\w+)", lambda m: pins[m[1]], text)}
    return body


@pytest.mark.parametrize(("who", "method", "path", "body", "status"), list(_cases()))
def test_bad_request_is_refused_without_change(busy_hall, who, method, path, body, status):
    app, clients = busy_hall
    before = db_state(app)
    body = _expand_pins(body, app.config["DEMO"]["pins"])
    response = clients[who].open(path, method=method, **body)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:300]
    if status is not None:
        assert response.status_code == status, response.get_data(as_text=True)[:300]
    error_of(response, response.status_code)
    assert db_state(app) == before


def test_bad_last_event_id(client):
    for value in ("abc", "-1", "1.5", "-" + "9" * 40):
        error_of(client.get("/api/v1/events", headers={"Last-Event-ID": value}), 400,
                 "invalid_input")


# -- fuzzing -----------------------------------------------------------------------------------

# Any text, lone surrogates included (valid in JSON as "\ud800", not storable as UTF-8).
ANY_TEXT = st.text(st.characters() | st.characters(categories=["Cs"]), max_size=12)
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(-(2**70), 2**70)
           | st.floats() | ANY_TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(ANY_TEXT, inner, max_size=3), max_leaves=8)
KEYS = st.sampled_from(["procedure", "priority", "kiosk", "outcome", "queue", "counter",
                        "number", "reason"]) | ANY_TEXT
TICKET_BODIES = st.fixed_dictionaries({}, optional={
    "procedure": st.sampled_from(["DEMO-GT-001", "DEMO-GT-007", "DEMO-GT-021"]) | JSON,
    "priority": st.sampled_from(["elderly", "disability", "other"]) | JSON,
    "kiosk": st.sampled_from(["k1", "k2"]) | JSON,
}) | st.dictionaries(KEYS, JSON, max_size=4) | JSON
ACTION_BODIES = st.dictionaries(KEYS, JSON | st.sampled_from(
    ["VT", "GPLX", "1001", "1002", "served", 2, 5]), max_size=3) | JSON


@pytest.fixture(scope="module")
def fuzz_hall(tmp_path_factory, demo_db):
    """One app for the fuzzers, with a clerk at counter 1."""
    app = make_app(tmp_path_factory.mktemp("fuzz"), *demo_db)
    with printers_running(app):
        yield app, staff_client(app, "an", 1)
    close_app(app)


def _send_json(client, path: str, value, headers=None):
    # json.dumps escapes lone surrogates and writes NaN/Infinity, as a sloppy client might.
    return client.post(path, data=json.dumps(value), content_type="application/json",
                       headers=headers or {})


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(body=TICKET_BODIES, key=st.none() | st.text(min_size=1, max_size=8,
                                                   alphabet=string.ascii_letters))
def test_fuzz_issue_never_fails_on_the_server(fuzz_hall, body, key):
    app, _ = fuzz_hall
    client = app.test_client()
    tickets = row_count(app, "tickets")
    response = _send_json(client, "/api/v1/tickets", body,
                          {"Idempotency-Key": key} if key else None)
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code == 201:
        assert response.get_json()["number"]
    else:
        error_of(response, response.status_code)
        assert row_count(app, "tickets") == tickets


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(action=st.sampled_from(ACTIONS), body=ACTION_BODIES, issue_first=st.booleans())
def test_fuzz_counter_actions_never_fail_on_the_server(fuzz_hall, action, body, issue_first):
    app, clerk = fuzz_hall
    if issue_first:
        issue(app.test_client(), "DEMO-GT-001")
    before = counter_events(app)
    response = _send_json(clerk, f"/api/v1/counters/1/{action}", body)
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        error_of(response, response.status_code)
        assert counter_events(app) == before


def counter_events(app) -> int:
    """Events not written by the printers (the fuzzers' kiosk tickets print meanwhile)."""
    with app.extensions["goiso"].hall.store.read() as conn:
        return conn.execute("SELECT count(*) FROM events WHERE kind NOT IN (?, ?, ?)",
                            (EventKind.PRINTED, EventKind.PRINT_FAILED,
                             EventKind.DEVICE_STATE)).fetchone()[0]


# -- Server-Sent Events on a real server ---------------------------------------------------------

@pytest.mark.slow
def test_sse_opens_with_a_comment_then_the_state(live_server, streams):
    import requests

    sse = streams.open_one()
    first = sse.next(timeout=3)
    assert first.comments == ["goiso"] and first.kind is None
    assert first.retry > 0
    state = sse.next()
    assert state.kind == "state"
    hall = requests.get(live_server.url("/api/v1/hall"), timeout=5).json()
    # The printers of the live server may report their state in between: never earlier.
    assert state.id == state.json()["last_event_id"] <= hall["last_event_id"]
    assert [q["code"] for q in state.json()["queues"]] == QUEUE_CODES
    assert [c["number"] for c in state.json()["counters"]] == [1, 2, 3, 4, 5, 6]


@pytest.mark.slow
def test_sse_carries_issued_and_called_events(live_server, streams):
    sse = streams.open_one()
    sse.next()
    cursor = sse.next().id
    ticket = live_server.issue("DEMO-GT-001")
    issued = sse.next_event()
    while issued.kind == "device_state":  # the server's printers may report meanwhile
        issued = sse.next_event()
    assert issued.kind == "issued" and issued.id > cursor
    assert issued.json()["kind"] == "issued" and issued.json()["id"] == issued.id
    assert issued.json()["data"]["number"] == ticket["number"]
    assert issued.json()["queue"] == "GPLX" and ticket["token"] not in issued.data
    called = live_server.act(1, "next")
    event = sse.next_event()
    while event.kind != "called":  # finishing the previous ticket comes first
        assert event.kind in ("finished", "device_state")
        event = sse.next_event()
    assert event.id > issued.id
    assert event.json()["counter"] == 1
    assert event.json()["data"]["number"] == called["number"]
    assert ISO_HALL.match(event.json()["at"])


@pytest.mark.slow
def test_sse_reconnect_replays_what_was_missed(live_server, streams):
    first = streams.open_one()
    first.next()
    cursor = first.next().id
    first.close()
    missed = [live_server.issue("DEMO-GT-007"), live_server.issue("DEMO-GT-015")]
    again = streams.open_one(headers={"Last-Event-ID": str(cursor)})
    assert again.next().comments == ["goiso"]
    replayed = [again.next_event(), again.next_event()]
    assert [e.kind for e in replayed] == ["issued", "issued"]
    assert [e.json()["data"]["number"] for e in replayed] == [t["number"] for t in missed]
    assert cursor < replayed[0].id < replayed[1].id
    state = again.next_event()
    assert state.kind == "state" and state.id == replayed[1].id
    assert state.json()["last_event_id"] == state.id


@pytest.mark.slow
def test_sse_filters_by_queue(live_server, streams):
    sse = streams.open_one("/api/v1/events?queues=VT")
    sse.next()
    state = sse.next_event()
    assert [q["code"] for q in state.json()["queues"]] == ["VT"]
    live_server.issue("DEMO-GT-001")
    vt = live_server.issue("DEMO-GT-008")
    event = sse.next_event()
    assert event.kind == "issued" and event.json()["data"]["number"] == vt["number"]


@pytest.mark.slow
def test_sse_sends_keep_alive_comments(live_server, streams):
    sse = streams.open_one()
    sse.next()
    sse.next()
    start = time.monotonic()
    frame = sse.next(timeout=4)
    assert frame.kind is None and frame.comments == ["keep-alive"]
    assert time.monotonic() - start < 3  # GOISO_SSE_KEEPALIVE_SECONDS=1 in the live server


def test_printers_lists_every_kiosk_printer(supervisor_client, printing):
    rows = supervisor_client.get("/api/v1/printers").get_json()
    assert [r["name"] for r in rows] == ["k1", "k2"]
    assert all(r["connection"] == "file" and r["mode"] == "raster" for r in rows)
    assert all(r["reason"] for r in rows)


def test_printing_routes_need_their_roles(client, clerk_client):
    assert client.get("/api/v1/printers").status_code == 401
    assert clerk_client.get("/api/v1/printers").status_code == 403
    assert clerk_client.post("/api/v1/printers/k1/test", json={}).status_code == 403
    assert clerk_client.post("/api/v1/tickets/1001/reprint", json={}).status_code == 403
    assert client.get("/api/v1/tickets/unprinted").status_code == 401
    assert clerk_client.get("/api/v1/tickets/unprinted").status_code == 200


def test_unprinted_lists_failed_tickets_without_tokens(app, clerk_client):
    hall = app.extensions["goiso"].hall
    ticket = hall.issuing.issue("DEMO-GT-007", kiosk="k1")
    hall.printing.mark_printed(ticket["token"], False, "Hết giấy", printer="k1")
    rows = clerk_client.get("/api/v1/tickets/unprinted").get_json()
    assert [(r["number"], r["print_error"], r["printed"]) for r in rows] == [
        (ticket["number"], "Hết giấy", False)]
    assert "token" not in rows[0]
    hall.printing.mark_printed(ticket["token"], True, printer="k2", reprint=True)
    assert clerk_client.get("/api/v1/tickets/unprinted").get_json() == []


def test_reprint_and_test_page_print_into_the_kiosk_folder(app, supervisor_client, printing):
    hall = app.extensions["goiso"].hall
    ticket = hall.issuing.issue("DEMO-GT-007", kiosk="k1")
    hall.printing.mark_printed(ticket["token"], False, "Hết giấy", printer="k1")
    folder = Path(app.extensions["goiso"].settings.data_dir) / "tickets"
    reply = supervisor_client.post(f"/api/v1/tickets/{ticket['number']}/reprint", json={})
    assert reply.status_code == 202, reply.get_data(as_text=True)
    assert reply.get_json()["printer"] == "k1" and "token" not in reply.get_json()["ticket"]
    wait_for(lambda: hall.tickets.ticket(ticket["token"])["printed"])
    assert len(list((folder / "k1").glob(f"*-{ticket['number']}.escpos"))) == 1
    reply = supervisor_client.post(f"/api/v1/tickets/{ticket['number']}/reprint",
                                   json={"printer": "k2"})
    assert reply.status_code == 202
    wait_for(lambda: list((folder / "k2").glob(f"*-{ticket['number']}.png")))
    assert supervisor_client.post("/api/v1/printers/k2/test", json={}).status_code == 202
    wait_for(lambda: list((folder / "k2").glob("*-0000.escpos")))


def test_reprint_refuses_what_cannot_print(app, supervisor_client):
    hall = app.extensions["goiso"].hall
    error_of(supervisor_client.post("/api/v1/tickets/9999/reprint", json={}), 404,
             "unknown_ticket")
    ticket = hall.issuing.issue("DEMO-GT-007")  # through the API: no kiosk, no printer
    # The request is well formed; this ticket needs a printer named (409, as the document says)
    error_of(supervisor_client.post(f"/api/v1/tickets/{ticket['number']}/reprint", json={}),
             409, "printer_needed")
    error_of(supervisor_client.post(f"/api/v1/tickets/{ticket['number']}/reprint",
                                    json={"printer": "k9"}), 404, "unknown_printer")
    error_of(supervisor_client.post(f"/api/v1/tickets/{ticket['number']}/reprint",
                                    json={"printer": 7}), 400, "invalid_input")
    # Printing is not running in this app (no `serve`): refused, not pretended.
    error_of(supervisor_client.post(f"/api/v1/tickets/{ticket['number']}/reprint",
                                    json={"printer": "k1"}), 503, "printer_not_ready")
    error_of(supervisor_client.post("/api/v1/printers/k9/test", json={}), 404,
             "unknown_printer")
    error_of(supervisor_client.post("/api/v1/printers/k1/test", json={}), 503,
             "printer_not_ready")


def test_hall_state_of_some_queues_shows_only_their_counters(app, client):
    hall = app.extensions["goiso"].hall
    hall.issuing.issue("DEMO-GT-007")  # VT: served by counters 2, 3, 4
    hall.calling.call_next(2)
    state = client.get("/api/v1/hall?board=gplx").get_json()
    assert [c["number"] for c in state["counters"]] == [1, 2]  # the counters serving GPLX
    assert all(c["current"] is None for c in state["counters"])  # counter 2 serves a VT ticket
    whole = client.get("/api/v1/hall").get_json()
    assert [c["number"] for c in whole["counters"]] == [1, 2, 3, 4, 5, 6]
    assert whole["counters"][1]["current"]["queue"]["code"] == "VT"
