"""The life of a ticket on a real SQLite file: every transition, every refusal, the event log,
the business day, issuing limits, idempotency and the "people ahead" estimate.

The hall is the one of ``tests.plugins.halls.TRANSPORT``: counter 1 serves GPLX (prefix A),
counter 2 serves GPLX and VT (prefix B), counter 3 serves TKQ (block 1).
"""

import json
import sqlite3

import pytest

from hall import Rules, errors

GPLX = "DEMO-GT-001"  # procedure → queue GPLX, numbers A001…
VT = "DEMO-GT-007"  # → VT, B001…
TKQ = "DEMO-GT-021"  # → TKQ, 1001…


def dump(h) -> dict:
    """Every row the ticket rules may touch, straight from the file."""
    with h.store.read() as conn:
        return {table: [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]
                for table in ("tickets", "counters", "events", "queue_days", "queues")}


def last_event_id(h) -> int:
    return h.log.last_id()


def events_after(h, after: int) -> list[tuple]:
    """(kind, ticket id, counter, clerk) of the events appended after ``after``."""
    return [(e.kind, e.ticket, e.counter, e.clerk) for e in h.log.since(after)]


def row(h, ticket_id: int) -> sqlite3.Row:
    with h.store.read() as conn:
        return conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()


def current(h, counter: int) -> int | None:
    with h.store.read() as conn:
        return conn.execute("SELECT current_ticket_id FROM counters WHERE number = ?",
                            (counter,)).fetchone()[0]


# -- issue ---------------------------------------------------------------------------------


def test_issue_gives_the_next_number_of_the_queue_and_logs_it(hall, clock):
    mark = last_event_id(hall)
    a1 = hall.issuing.issue(GPLX, kiosk="K1")
    assert a1["number"] == "A001" and a1["status"] == "waiting"
    assert a1["queue"] == {"code": "GPLX", "name": "Giấy phép lái xe"}
    assert a1["procedure"] == {"code": GPLX, "name": "Đổi giấy phép lái xe"}
    assert a1["issued_at"] == "2026-11-26T08:00:00+07:00" and a1["day"] == "2026-11-26"
    assert a1["kiosk"] == "K1" and a1["priority"] is None and len(a1["token"]) >= 16
    assert (a1["waiting_ahead"], a1["eta_minutes"]) == (0, 0)  # counters 1 and 2 are idle
    clock.advance(30)
    numbers = [hall.issuing.issue(p)["number"] for p in ("DEMO-GT-002", VT, TKQ, TKQ, GPLX)]
    assert numbers == ["A002", "B001", "1001", "1002", "A003"]
    events = hall.log.since(mark)
    assert [(e.kind, e.ticket, e.counter, e.clerk, e.queue) for e in events[:1]] == [
        ("issued", a1["id"], None, None, "GPLX")]
    assert events[0].data["kiosk"] == "K1" and events[0].data["number"] == "A001"
    assert [e.kind for e in events] == ["issued"] * 6


def test_ticket_is_found_by_token_and_by_number(hall):
    issued = hall.issuing.issue(GPLX, priority="elderly")
    assert hall.tickets.ticket(issued["token"])["id"] == issued["id"]
    assert hall.tickets.find(" a001 ")["priority"] == "elderly"
    with pytest.raises(errors.NotFound):
        hall.tickets.ticket("no-such-token")
    with pytest.raises(errors.UnknownTicket):
        hall.tickets.find("A002")


def deactivate_procedure(h):
    h.catalogue.put_procedure(GPLX, name="Đổi giấy phép lái xe", field="Giấy phép lái xe",
                              queue="GPLX", active=False)


def deactivate_queue(h):
    h.catalogue.put_queue("VT", name="Vận tải đường bộ", prefix="B", active=False)


def add_unserved_queue(h):
    h.catalogue.put_queue("X", name="Chưa có quầy", prefix="X")
    h.catalogue.put_procedure("P-X", name="Thủ tục X", field="Khác", queue="X")


def deactivate_kiosk(h):
    h.catalogue.put_kiosk("K1", name="Ki-ốt sảnh chính", active=False)


@pytest.mark.parametrize("setup, kwargs, error", [
    (None, {"procedure": "NOPE"}, errors.UnknownProcedure),
    (None, {"procedure": ""}, errors.InvalidInput),
    (None, {"procedure": GPLX, "priority": "vip"}, errors.InvalidInput),
    (None, {"procedure": GPLX, "kiosk": "K9"}, errors.UnknownKiosk),
    (deactivate_kiosk, {"procedure": GPLX, "kiosk": "K1"}, errors.UnknownKiosk),
    (None, {"procedure": GPLX, "request_key": ""}, errors.InvalidInput),
    (None, {"procedure": GPLX, "request_key": "k" * 201}, errors.InvalidInput),
    (deactivate_procedure, {"procedure": GPLX}, errors.InactiveProcedure),
    (deactivate_queue, {"procedure": VT}, errors.InactiveProcedure),
    (add_unserved_queue, {"procedure": "P-X"}, errors.NoCounterServes),
], ids=["unknown", "empty", "bad-priority", "unknown-kiosk", "inactive-kiosk", "empty-key",
        "long-key", "inactive-procedure", "inactive-queue", "no-counter"])
def test_issue_refusals_change_nothing(hall, setup, kwargs, error):
    hall.issuing.issue(GPLX)  # something already there
    if setup:
        setup(hall)
    before = dump(hall)
    with pytest.raises(error):
        hall.issuing.issue(**kwargs)
    assert dump(hall) == before


def test_issuing_hours(hall, clock):
    hall.catalogue.put_queue("GPLX", name="Giấy phép lái xe", prefix="A",
                             issue_from="07:30", issue_until="11:30")
    clock.at(7, 29)
    before = dump(hall)
    with pytest.raises(errors.QueueClosed) as refused:
        hall.issuing.issue(GPLX)
    assert "07:30" in str(refused.value) and "11:30" in str(refused.value)
    assert "quay lại lúc 07:30" in str(refused.value)  # when to come back, not just the hours
    assert dump(hall) == before
    clock.at(7, 30)
    assert hall.issuing.issue(GPLX)["number"] == "A001"
    clock.at(11, 29)
    assert hall.issuing.issue(GPLX)["number"] == "A002"
    clock.at(11, 30)
    with pytest.raises(errors.QueueClosed) as refused:
        hall.issuing.issue(GPLX)
    assert "ngày làm việc tiếp theo" in str(refused.value)
    assert hall.issuing.issue(VT)["number"] == "B001"  # other queues keep their own hours


def test_hall_business_hours_apply_to_queues_without_their_own(hall, clock):
    hall.follow(Rules(opens_at="07:30", closes_at="17:00"))
    hall.catalogue.put_queue("VT", name="Vận tải đường bộ", prefix="B", issue_from="06:00")
    clock.at(7, 0)
    with pytest.raises(errors.QueueClosed) as refused:
        hall.issuing.issue(GPLX)
    assert "07:30" in str(refused.value) and "17:00" in str(refused.value)
    assert hall.issuing.issue(VT)["number"] == "B001"  # its own hours win
    clock.at(7, 30)
    assert hall.issuing.issue(GPLX)["number"] == "A001"
    clock.at(17, 0)
    with pytest.raises(errors.QueueClosed):
        hall.issuing.issue(GPLX)


def test_daily_limit(hall, clock):
    hall.catalogue.put_queue("VT", name="Vận tải đường bộ", prefix="B", daily_limit=2)
    assert [hall.issuing.issue(VT)["number"] for _ in range(2)] == ["B001", "B002"]
    before = dump(hall)
    with pytest.raises(errors.DailyLimitReached) as refused:
        hall.issuing.issue(VT)
    assert refused.value.params["limit"] == 2
    assert dump(hall) == before
    clock.at(8, 0, days=1)
    assert hall.issuing.issue(VT)["number"] == "B001"


def test_same_request_key_gives_the_same_ticket(hall, clock):
    first = hall.issuing.issue(GPLX, request_key="kiosk-K1-0001", kiosk="K1")
    clock.advance(5)
    mark = last_event_id(hall)
    again = hall.issuing.issue(GPLX, request_key="kiosk-K1-0001", kiosk="K1")
    assert again["id"] == first["id"] and again["number"] == "A001"
    assert events_after(hall, mark) == []
    before = dump(hall)
    with pytest.raises(errors.DuplicateRequest):
        hall.issuing.issue(VT, request_key="kiosk-K1-0001")
    with pytest.raises(errors.DuplicateRequest):
        hall.issuing.issue(GPLX, priority="pregnancy", request_key="kiosk-K1-0001")
    assert dump(hall) == before
    assert hall.issuing.issue(GPLX, request_key="kiosk-K1-0002")["number"] == "A002"


# -- the counter's actions, with their events ----------------------------------------------


def test_call_recall_finish(hall, clock, clerk):
    c = clerk["id"]
    a1 = hall.issuing.issue(GPLX)
    clock.advance(90)
    mark = last_event_id(hall)
    called = hall.calling.call_next(1, clerk=c)
    assert called["id"] == a1["id"] and called["status"] == "called"
    assert called["counter"] == {"number": 1, "name": "Quầy 1"}
    assert called["called_at"] == "2026-11-26T08:01:30+07:00"
    assert current(hall, 1) == a1["id"]
    [event] = hall.log.since(mark)
    assert (event.kind, event.ticket, event.counter, event.clerk) == ("called", a1["id"], 1, c)
    assert event.data["waited_seconds"] == 90 and event.data["out_of_order"] is False
    mark = last_event_id(hall)
    assert hall.calling.recall(1, clerk=c)["recalls"] == 1
    assert hall.calling.recall(1, clerk=c)["recalls"] == 2
    assert events_after(hall, mark) == [("recalled", a1["id"], 1, c)] * 2
    clock.advance(240)
    mark = last_event_id(hall)
    done = hall.calling.finish(1, outcome="referred", clerk=c)
    assert done["status"] == "done" and done["outcome"] == "referred"
    assert done["finished_at"] == "2026-11-26T08:05:30+07:00"
    assert current(hall, 1) is None
    [event] = hall.log.since(mark)
    assert (event.kind, event.ticket, event.counter, event.clerk) == ("finished", a1["id"], 1, c)
    assert event.data["outcome"] == "referred" and event.data["served_seconds"] == 240
    assert row(hall, a1["id"])["clerk_id"] == c


def test_next_call_finishes_the_current_ticket(hall, clock, clerk):
    a1, a2 = hall.issuing.issue(GPLX), hall.issuing.issue(GPLX)
    hall.calling.call_next(1, clerk=clerk["id"])
    clock.advance(60)
    mark = last_event_id(hall)
    assert hall.calling.call_next(1, clerk=clerk["id"])["id"] == a2["id"]
    events = hall.log.since(mark)
    assert [(e.kind, e.ticket, e.counter) for e in events] == [
        ("finished", a1["id"], 1), ("called", a2["id"], 1)]
    assert events[0].data["auto"] is True and events[0].data["outcome"] == "served"
    assert row(hall, a1["id"])["status"] == "done"


@pytest.mark.parametrize("rules", [Rules(next_finishes_current=False)])
def test_next_call_refused_while_serving_when_rules_say_so(hall, rules):
    hall.issuing.issue(GPLX)
    hall.issuing.issue(GPLX)
    hall.calling.call_next(1)
    before = dump(hall)
    with pytest.raises(errors.CounterBusy):
        hall.calling.call_next(1)
    with pytest.raises(errors.CounterBusy):
        hall.calling.call_number(1, "A002")
    assert dump(hall) == before
    hall.calling.finish(1)
    assert hall.calling.call_next(1)["number"] == "A002"


def test_no_show_then_reactivate_in_original_place(hall, clock, clerk):
    a1 = hall.issuing.issue(GPLX)
    hall.issuing.issue(GPLX)
    hall.calling.call_next(1)
    clock.advance(120)
    mark = last_event_id(hall)
    gone = hall.calling.no_show(1, clerk=clerk["id"])
    assert gone["status"] == "no_show" and current(hall, 1) is None
    back = hall.calling.reactivate("A001", clerk=clerk["id"])
    assert back["status"] == "waiting" and back["waiting_ahead"] == 0
    assert row(hall, a1["id"])["order_at"] == row(hall, a1["id"])["issued_at"]
    assert events_after(hall, mark) == [("no_show", a1["id"], 1, clerk["id"]),
                                        ("reactivated", a1["id"], None, clerk["id"])]
    assert hall.calling.call_next(2)["number"] == "A001"


def test_call_number_out_of_order_and_a_no_show_who_came_back(hall, clerk):
    for _ in range(3):
        hall.issuing.issue(GPLX)
    mark = last_event_id(hall)
    a3 = hall.calling.call_number(1, "A003", clerk=clerk["id"])
    assert a3["status"] == "called"
    [event] = hall.log.since(mark)
    assert event.kind == "called" and event.data["out_of_order"] is True
    hall.calling.no_show(1)
    hall.calling.call_next(1)  # A001
    mark = last_event_id(hall)
    again = hall.calling.call_number(2, "A003", clerk=clerk["id"])
    assert again["status"] == "called" and again["counter"]["number"] == 2
    assert events_after(hall, mark) == [("reactivated", a3["id"], 2, clerk["id"]),
                                        ("called", a3["id"], 2, clerk["id"])]


def test_transfer_to_a_queue(hall, clock, clerk):
    a1 = hall.issuing.issue(GPLX)
    hall.calling.call_next(1)
    clock.advance(45)
    mark = last_event_id(hall)
    moved = hall.calling.transfer(1, queue="VT", clerk=clerk["id"])
    assert moved["status"] == "waiting" and moved["queue"]["code"] == "VT"
    assert moved["number"] == "A001" and moved["transfers"] == 1 and moved["counter"] is None
    assert current(hall, 1) is None
    [event] = hall.log.since(mark)
    assert (event.kind, event.ticket, event.counter, event.clerk) == (
        "transferred", a1["id"], 1, clerk["id"])
    assert (event.data["from_queue"], event.data["to_queue"], event.data["to_counter"]) == (
        "GPLX", "VT", None)
    assert event.data["served_seconds"] == 45
    with pytest.raises(errors.NothingWaiting):
        hall.calling.call_next(1)  # counter 1 does not serve VT
    assert hall.calling.call_next(2)["number"] == "A001"


def test_transfer_to_a_counter(hall, clerk):
    a1 = hall.issuing.issue(GPLX)
    hall.calling.call_next(1)
    mark = last_event_id(hall)
    moved = hall.calling.transfer(1, to_counter=3, clerk=clerk["id"])
    assert moved["target_counter"] == 3 and moved["queue"]["code"] == "GPLX"
    assert hall.log.since(mark)[0].data["to_counter"] == 3
    with pytest.raises(errors.NothingWaiting):
        hall.calling.call_next(2)  # serves GPLX, but the ticket was sent to counter 3
    with pytest.raises(errors.NotServedHere):
        hall.calling.call_number(1, "A001")
    called = hall.calling.call_next(3)
    assert called["id"] == a1["id"] and called["target_counter"] is None


def test_cancel_a_waiting_ticket(hall, clerk):
    a1 = hall.issuing.issue(GPLX)
    mark = last_event_id(hall)
    cancelled = hall.calling.cancel("A001", clerk=clerk["id"], reason="máy in kẹt giấy")
    assert cancelled["status"] == "cancelled" and cancelled["finished_at"]
    [event] = hall.log.since(mark)
    assert (event.kind, event.ticket, event.clerk) == ("cancelled", a1["id"], clerk["id"])
    assert event.data["reason"] == "máy in kẹt giấy"
    with pytest.raises(errors.NothingWaiting):
        hall.calling.call_next(1)


def test_pause_resume_close(hall, clerk):
    hall.issuing.issue(GPLX)
    mark = last_event_id(hall)
    assert hall.desk.pause(1, clerk=clerk["id"])["status"] == "paused"
    with pytest.raises(errors.CounterPaused):
        hall.calling.call_next(1)
    assert hall.desk.resume(1, clerk=clerk["id"])["status"] == "open"
    assert hall.desk.close(3)["status"] == "closed"
    with pytest.raises(errors.CounterClosed):
        hall.calling.call_next(3)
    assert hall.desk.resume(3)["status"] == "open"
    assert events_after(hall, mark) == [
        ("counter_paused", None, 1, clerk["id"]), ("counter_resumed", None, 1, clerk["id"]),
        ("counter_closed", None, 3, None), ("counter_resumed", None, 3, None)]
    # A paused counter keeps its current ticket and may still finish it.
    hall.calling.call_next(1)
    hall.desk.pause(1)
    assert hall.calling.finish(1)["status"] == "done"


def add_queue_x(h):
    h.catalogue.put_queue("X", name="Chưa có quầy", prefix="X")


def _issue(h, *procedures):
    for p in procedures:
        h.issuing.issue(p)


def serving(h, counter=1):
    """A001 (and A002 waiting) with A001 called at ``counter``."""
    _issue(h, GPLX, GPLX)
    h.calling.call_next(counter)


def serving_last(h):
    """A001 called at counter 1, nobody waiting."""
    _issue(h, GPLX)
    h.calling.call_next(1)


def finished(h):
    serving(h)
    h.calling.finish(1)


def no_show(h):
    serving(h)
    h.calling.no_show(1)


def paused(h):
    _issue(h, GPLX)
    h.desk.pause(1)


def closed(h):
    _issue(h, GPLX)
    h.desk.close(1)


ILLEGAL = {  # name: (setup, action, error)
    "finish-nothing": (None, lambda h: h.calling.finish(1), errors.NoCurrentTicket),
    "no-show-nothing": (None, lambda h: h.calling.no_show(1), errors.NoCurrentTicket),
    "recall-nothing": (None, lambda h: h.calling.recall(1), errors.NoCurrentTicket),
    "transfer-nothing": (None, lambda h: h.calling.transfer(1, queue="VT"),
                         errors.NoCurrentTicket),
    "finish-bad-outcome": (serving, lambda h: h.calling.finish(1, outcome="great"),
                           errors.InvalidInput),
    # The current ticket is not finished by a call that finds nobody.
    "nothing-waiting": (serving_last, lambda h: h.calling.call_next(1), errors.NothingWaiting),
    "call-paused": (paused, lambda h: h.calling.call_next(1), errors.CounterPaused),
    "call-number-paused": (paused, lambda h: h.calling.call_number(1, "A001"),
                           errors.CounterPaused),
    "call-closed": (closed, lambda h: h.calling.call_next(1), errors.CounterClosed),
    "pause-paused": (paused, lambda h: h.desk.pause(1), errors.CounterPaused),
    "pause-closed": (closed, lambda h: h.desk.pause(1), errors.CounterStateRefused),
    "resume-open": (None, lambda h: h.desk.resume(1), errors.CounterStateRefused),
    "close-closed": (closed, lambda h: h.desk.close(1), errors.CounterStateRefused),
    "close-serving": (serving, lambda h: h.desk.close(1), errors.CounterBusy),
    "reactivate-waiting": (serving, lambda h: h.calling.reactivate("A002"),
                           errors.IllegalTransition),
    "reactivate-called": (serving, lambda h: h.calling.reactivate("A001"),
                          errors.IllegalTransition),
    "reactivate-done": (finished, lambda h: h.calling.reactivate("A001"),
                        errors.IllegalTransition),
    "reactivate-unknown": (None, lambda h: h.calling.reactivate("A404"), errors.UnknownTicket),
    "cancel-called": (serving, lambda h: h.calling.cancel("A001"), errors.IllegalTransition),
    "cancel-done": (finished, lambda h: h.calling.cancel("A001"), errors.IllegalTransition),
    "cancel-no-show": (no_show, lambda h: h.calling.cancel("A001"), errors.IllegalTransition),
    "call-number-called": (serving, lambda h: h.calling.call_number(2, "A001"),
                           errors.IllegalTransition),
    "call-number-done": (finished, lambda h: h.calling.call_number(1, "A001"),
                         errors.IllegalTransition),
    "call-number-unknown": (None, lambda h: h.calling.call_number(1, "A404"),
                            errors.UnknownTicket),
    "call-number-other-queue": (lambda h: _issue(h, VT),
                                lambda h: h.calling.call_number(1, "B001"), errors.NotServedHere),
    # The no-show is put back only if the call succeeds: here it stays a no-show.
    "call-number-no-show-elsewhere": (no_show, lambda h: h.calling.call_number(3, "A001"),
                                      errors.NotServedHere),
    "call-number-empty": (None, lambda h: h.calling.call_number(1, " "), errors.InvalidInput),
    "transfer-both": (serving, lambda h: h.calling.transfer(1, queue="VT", to_counter=2),
                      errors.InvalidInput),
    "transfer-neither": (serving, lambda h: h.calling.transfer(1), errors.InvalidInput),
    "transfer-same-counter": (serving, lambda h: h.calling.transfer(1, to_counter=1),
                              errors.InvalidInput),
    "transfer-unknown-counter": (serving, lambda h: h.calling.transfer(1, to_counter=9),
                                 errors.UnknownCounter),
    "transfer-unknown-queue": (serving, lambda h: h.calling.transfer(1, queue="NOPE"),
                               errors.UnknownQueue),
    "transfer-unserved-queue": (lambda h: (add_queue_x(h), serving(h)),
                                lambda h: h.calling.transfer(1, queue="X"),
                                errors.NoCounterServes),
    "unknown-counter": (None, lambda h: h.calling.call_next(9), errors.UnknownCounter),
    "counter-not-a-number": (None, lambda h: h.calling.call_next("1"), errors.InvalidInput),
}


@pytest.mark.parametrize("name", list(ILLEGAL))
def test_illegal_transition_raises_and_changes_nothing(hall, clock, name):
    setup, action, error = ILLEGAL[name]
    if setup:
        setup(hall)
    clock.advance(60)
    before = dump(hall)
    with pytest.raises(error):
        action(hall)
    assert dump(hall) == before


def test_event_log_is_append_only(hall):
    hall.issuing.issue(GPLX)
    conn = sqlite3.connect(hall.store.path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE events SET kind = 'forged'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM events")
        assert conn.execute("SELECT count(*) FROM events WHERE kind = 'issued'").fetchone() == (1,)
    finally:
        conn.close()


def test_event_data_describes_the_ticket(hall, clerk):
    hall.issuing.issue(GPLX, priority="war_invalid")
    hall.calling.call_next(2, clerk=clerk["id"])
    event = hall.log.since(0)[-1]
    assert event.kind == "called" and event.queue == "GPLX"
    assert {k: event.data[k] for k in ("number", "queue", "procedure", "priority", "status",
                                       "counter_name")} == {
        "number": "A001", "queue": "GPLX", "procedure": GPLX, "priority": "war_invalid",
        "status": "called", "counter_name": "Quầy 2"}
    with hall.store.read() as conn:
        raw = conn.execute("SELECT data FROM events WHERE id = ?", (event.id,)).fetchone()[0]
    assert "Quầy 2" in raw and json.loads(raw) == event.data  # UTF-8, not \\u escapes


# -- people ahead and expected wait --------------------------------------------------------


def test_waiting_ahead_strict_counts_priority_tickets_ahead_of_a_normal_one(hall):
    hall.issuing.issue(GPLX)  # A001
    hall.issuing.issue(GPLX)  # A002
    hall.issuing.issue(GPLX, priority="disability")  # A003
    ahead = {n: hall.tickets.find(n)["waiting_ahead"] for n in ("A001", "A002", "A003")}
    assert ahead == {"A001": 1, "A002": 2, "A003": 0}
    # Counters 1 and 2 are free: A003 and A001 go now, A002 at the first finish (5 minutes).
    assert hall.tickets.find("A002")["eta_minutes"] == 5


@pytest.mark.parametrize("rules", [Rules(priority_policy="interleave", interleave_every=2)])
def test_waiting_ahead_interleave_follows_the_turn(hall, rules):
    for _ in range(4):
        hall.issuing.issue(GPLX)  # A001..A004
    hall.issuing.issue(GPLX, priority="elderly")  # A005
    # Day start: the priority ticket goes first, then A001, A002, then A003 …
    ahead = {n: hall.tickets.find(n)["waiting_ahead"] for n in ("A001", "A004", "A005")}
    assert ahead == {"A001": 1, "A004": 4, "A005": 0}
    hall.calling.call_next(1)  # A005
    hall.issuing.issue(GPLX, priority="elderly")  # A006 waits for two normal calls
    assert hall.tickets.find("A006")["waiting_ahead"] == 2
    assert hall.tickets.find("A003")["waiting_ahead"] == 3


def test_eta_unknown_when_every_counter_is_closed(hall):
    hall.issuing.issue(GPLX)
    hall.issuing.issue(GPLX)
    assert hall.tickets.find("A002")["eta_minutes"] is not None
    hall.desk.close(1)
    hall.desk.close(2)
    view = hall.tickets.find("A002")
    assert view["waiting_ahead"] == 1 and view["eta_minutes"] is None


# -- the business day ----------------------------------------------------------------------


@pytest.mark.parametrize("rules", [Rules(day_starts_at="05:00")])
def test_numbers_restart_at_the_start_of_the_business_day(hall, clock, rules):
    assert hall.issuing.issue(GPLX)["number"] == "A001"
    clock.at(4, 59, days=1)  # still the 26th's business day
    late = hall.issuing.issue(GPLX)
    assert (late["number"], late["day"]) == ("A002", "2026-11-26")
    clock.at(5, 0, days=1)
    early = hall.issuing.issue(GPLX)
    assert (early["number"], early["day"]) == ("A001", "2026-11-27")
    assert hall.tickets.find("A001")["id"] == early["id"]
    assert hall.tickets.find("A001", day="2026-11-26")["day"] == "2026-11-26"


def yesterday_left_open(h):
    """A001 done, A002 called at counter 1, A003 waiting, A004 no-show, B001 cancelled."""
    for p in (GPLX, GPLX, GPLX, GPLX, VT):
        h.issuing.issue(p)
    h.calling.call_next(1)
    h.calling.finish(1)
    h.calling.call_number(2, "A004")
    h.calling.no_show(2)
    h.calling.call_next(1)
    h.calling.cancel("B001")
    with h.store.read() as conn:
        return {r["number"]: r["status"] for r in conn.execute("SELECT * FROM tickets")}


def statuses(h, day="2026-11-26"):
    with h.store.read() as conn:
        return {r["number"]: r["status"] for r in conn.execute(
            "SELECT * FROM tickets WHERE day = ?", (day,))}


def test_next_day_expires_open_tickets_and_clears_counters(hall, clock):
    assert yesterday_left_open(hall) == {"A001": "done", "A002": "called", "A003": "waiting",
                                         "A004": "no_show", "B001": "cancelled"}
    clock.at(7, 45, days=1)
    mark = last_event_id(hall)
    assert hall.issuing.issue(VT)["number"] == "B001"
    assert statuses(hall) == {"A001": "done", "A002": "expired", "A003": "expired",
                              "A004": "no_show", "B001": "cancelled"}
    events = hall.log.since(mark)
    assert [(e.kind, e.data["number"], e.data["previous"], e.day) for e in events[:2]] == [
        ("expired", "A002", "called", "2026-11-27"), ("expired", "A003", "waiting", "2026-11-27")]
    assert [e.kind for e in events[2:]] == ["issued"]
    assert current(hall, 1) is None
    with pytest.raises(errors.NothingWaiting):
        hall.calling.call_next(1)  # nothing of yesterday is called today
    with pytest.raises(errors.UnknownTicket):
        hall.calling.reactivate("A004")  # a no-show of yesterday stays yesterday's


def test_next_day_first_action_at_a_counter_expires_too(hall, clock):
    yesterday_left_open(hall)
    clock.at(7, 45, days=1)
    hall.desk.pause(1)
    assert statuses(hall)["A002"] == "expired" and current(hall, 1) is None
    with pytest.raises(errors.NoCurrentTicket):
        hall.calling.finish(1)  # yesterday's ticket is not finished today


def test_refused_first_action_of_the_day_does_not_skip_the_roll_over(hall, clock):
    yesterday_left_open(hall)
    clock.at(7, 45, days=1)
    with pytest.raises(errors.UnknownProcedure):
        hall.issuing.issue("NOPE")  # rolled back, expiry included
    assert statuses(hall)["A003"] == "waiting"
    hall.issuing.issue(GPLX)
    assert statuses(hall)["A003"] == "expired" and statuses(hall)["A002"] == "expired"
    assert current(hall, 1) is None


def test_roll_over_is_shared_by_every_process(hall, clock):
    """A second Hall on the same file (another worker process) sees the same expiry."""
    from hall import Hall

    yesterday_left_open(hall)
    other = Hall.open(hall.store.path, rules=hall.rules, clock=clock)
    try:
        clock.at(8, 0, days=1)
        other.issuing.issue(GPLX)
        assert statuses(hall)["A003"] == "expired"
        assert hall.issuing.issue(GPLX)["number"] == "A002"
        with hall.store.read() as conn:
            assert conn.execute("SELECT count(*) FROM events WHERE kind = 'expired'"
                                ).fetchone()[0] == 2
    finally:
        other.close()
