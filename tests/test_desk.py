"""The counter's actions by name (hall/desk.py) and the counter's board (tickets.desk), on a real
SQLite file with the fake clock.

The hall is the one of ``tests.plugins.halls.TRANSPORT``: counter 1 serves GPLX (prefix A),
counter 2 serves GPLX and VT (prefix B), counter 3 serves TKQ (block 1).
"""

import pytest

from hall import errors
from hall.desk import ACTIONS

GPLX = "DEMO-GT-001"  # procedure → queue GPLX, numbers A001…
VT = "DEMO-GT-007"  # → VT, B001…


def status_of(h, number: str) -> dict:
    """The ticket ``number`` of today as its holder sees it."""
    return h.tickets.find(number)


def counter_status(h, counter: int) -> str:
    return h.screens.counter(counter)["status"]


def kinds_after(h, mark: int) -> list[tuple]:
    """(kind, counter, clerk) of the events appended after ``mark``."""
    return [(e.kind, e.counter, e.clerk) for e in h.log.since(mark)]


# -- ACTIONS and perform ------------------------------------------------------------------------


def test_actions_are_one_list_with_their_arguments():
    assert set(ACTIONS) == {"next", "recall", "no-show", "finish", "pause", "resume",
                            "pause-toggle", "close", "transfer", "call"}
    assert ACTIONS["finish"].takes == ("outcome", "dossiers")
    assert set(ACTIONS["transfer"].takes) == {"queue", "counter"}
    assert set(ACTIONS["call"].takes) == {"number", "queue"}
    assert all(ACTIONS[a].takes == () for a in ("next", "recall", "no-show", "pause", "resume",
                                                "pause-toggle", "close"))


def test_one_keypad_map_for_the_page_and_the_serial_keypads():
    from counter.protocol import KEYS
    from hall.desk import PAGE_KEYS, SERIAL_KEYS

    assert set(KEYS) == set(SERIAL_KEYS)  # the wire's letters are the map's keys
    assert dict(PAGE_KEYS) == {"+": "next", "*": "recall", "-": "no-show", "Enter": "finish",
                               "/": "pause-toggle", ".": "call"}
    assert SERIAL_KEYS == {"N": "next", "R": "recall", "X": "no-show", "F": "finish",
                           "P": "pause-toggle", "C": "call"}
    # Every key of either keypad does one of the counter's actions, and the same ones.
    assert set(dict(PAGE_KEYS).values()) == set(SERIAL_KEYS.values()) <= set(ACTIONS)


def test_an_unknown_action_is_not_found_and_changes_nothing(hall):
    hall.issuing.issue(GPLX)
    mark = hall.log.last_id()
    for action in ("dance", "", "Next", "no_show"):
        with pytest.raises(errors.NotFound):
            hall.desk.perform(1, action)
    assert hall.log.last_id() == mark
    assert status_of(hall, "A001")["status"] == "waiting"


@pytest.mark.parametrize("action, args", [
    ("next", {"queue": "GPLX"}),
    ("recall", {"number": "A001"}),
    ("finish", {"number": "A001"}),
    ("finish", {"outcome": "served", "clerk_name": "x"}),
    ("pause-toggle", {"counter": 2}),
    ("transfer", {"number": "A001"}),
    ("call", {"counter": 2}),
])
def test_an_argument_the_action_does_not_take_is_invalid_input(hall, action, args):
    hall.issuing.issue(GPLX)
    hall.desk.perform(1, "next")
    mark = hall.log.last_id()
    with pytest.raises(errors.InvalidInput) as caught:
        hall.desk.perform(1, action, **args)
    unknown = sorted(set(args) - set(ACTIONS[action].takes))
    assert caught.value.params["fields"] == ", ".join(unknown)
    assert hall.log.last_id() == mark
    assert status_of(hall, "A001")["status"] == "called"


def test_next_recall_and_no_show_through_perform(hall, clerk):
    hall.issuing.issue(GPLX)
    hall.issuing.issue(GPLX)
    mark = hall.log.last_id()
    called = hall.desk.perform(1, "next", clerk["id"])
    assert called["number"] == "A001" and called["status"] == "called"
    assert called["counter"] == {"number": 1, "name": "Quầy 1"}
    recalled = hall.desk.perform(1, "recall", clerk["id"])
    assert recalled["number"] == "A001" and recalled["recalls"] == 1
    absent = hall.desk.perform(1, "no-show", clerk["id"])
    assert absent["number"] == "A001" and absent["status"] == "no_show"
    assert hall.screens.counter(1)["current"] is None
    assert kinds_after(hall, mark) == [("called", 1, clerk["id"]), ("recalled", 1, clerk["id"]),
                                       ("no_show", 1, clerk["id"])]


def test_refusals_come_through_perform_unchanged(hall):
    with pytest.raises(errors.NothingWaiting):
        hall.desk.perform(1, "next")
    for action in ("recall", "no-show", "finish"):
        with pytest.raises(errors.NoCurrentTicket):
            hall.desk.perform(1, action)
    with pytest.raises(errors.NoCurrentTicket):
        hall.desk.perform(1, "transfer", counter=2)
    with pytest.raises(errors.UnknownCounter):
        hall.desk.perform(9, "next")
    hall.desk.perform(1, "pause")
    hall.issuing.issue(GPLX)
    with pytest.raises(errors.CounterPaused):
        hall.desk.perform(1, "next")
    with pytest.raises(errors.CounterPaused):
        hall.desk.perform(1, "pause")


def test_finish_takes_the_first_outcome_by_default(hall, clerk):
    hall.issuing.issue(GPLX)
    hall.desk.perform(1, "next", clerk["id"])
    mark = hall.log.last_id()
    done = hall.desk.perform(1, "finish", clerk["id"])
    assert done["status"] == "done" and done["outcome"] == hall.rules.outcomes[0] == "served"
    [event] = hall.log.since(mark)
    assert (event.kind, event.counter, event.clerk) == ("finished", 1, clerk["id"])
    assert event.data["outcome"] == "served" and "auto" not in event.data


def test_finish_with_an_explicit_outcome(hall):
    hall.issuing.issue(GPLX)
    hall.desk.perform(1, "next")
    done = hall.desk.perform(1, "finish", outcome="incomplete")
    assert done["status"] == "done" and done["outcome"] == "incomplete"


def test_finish_with_an_unknown_outcome_is_refused_and_the_ticket_stays(hall):
    hall.issuing.issue(GPLX)
    hall.desk.perform(1, "next")
    mark = hall.log.last_id()
    for outcome in ("done", "", None, "SERVED"):
        with pytest.raises(errors.InvalidInput):
            hall.desk.perform(1, "finish", outcome=outcome)
    assert hall.log.last_id() == mark
    assert status_of(hall, "A001")["status"] == "called"
    assert hall.screens.counter(1)["current"]["number"] == "A001"


def test_pause_resume_and_close_through_perform(hall, clerk):
    mark = hall.log.last_id()
    assert hall.desk.perform(1, "pause", clerk["id"])["status"] == "paused"
    assert hall.desk.perform(1, "resume", clerk["id"])["status"] == "open"
    assert hall.desk.perform(1, "close", clerk["id"])["status"] == "closed"
    assert hall.desk.perform(1, "resume", clerk["id"])["status"] == "open"
    assert kinds_after(hall, mark) == [
        ("counter_paused", 1, clerk["id"]), ("counter_resumed", 1, clerk["id"]),
        ("counter_closed", 1, clerk["id"]), ("counter_resumed", 1, clerk["id"])]


def test_pause_toggle_pauses_an_open_counter_and_opens_a_paused_one(hall, clerk):
    mark = hall.log.last_id()
    paused = hall.desk.perform(1, "pause-toggle", clerk["id"])
    assert paused["status"] == "paused" and paused["number"] == 1
    assert counter_status(hall, 1) == "paused"
    opened = hall.desk.perform(1, "pause-toggle", clerk["id"])
    assert opened["status"] == "open" and counter_status(hall, 1) == "open"
    again = hall.desk.perform(1, "pause-toggle", clerk["id"])
    assert again["status"] == "paused"
    # One event per press: the refused pause inside the toggle left nothing behind.
    assert kinds_after(hall, mark) == [("counter_paused", 1, clerk["id"]),
                                       ("counter_resumed", 1, clerk["id"]),
                                       ("counter_paused", 1, clerk["id"])]
    assert [e.data["previous"] for e in hall.log.since(mark)] == ["open", "paused", "open"]


def test_pause_toggle_opens_a_closed_counter(hall):
    hall.desk.perform(3, "close")
    mark = hall.log.last_id()
    opened = hall.desk.perform(3, "pause-toggle")
    assert opened["status"] == "open" and counter_status(hall, 3) == "open"
    [event] = hall.log.since(mark)
    assert (event.kind, event.data["previous"]) == ("counter_resumed", "closed")


def test_pause_toggle_keeps_the_ticket_being_served(hall):
    hall.issuing.issue(GPLX)
    hall.desk.perform(1, "next")
    assert hall.desk.perform(1, "pause-toggle")["current"]["number"] == "A001"
    assert hall.desk.perform(1, "pause-toggle")["current"]["number"] == "A001"


def test_pause_toggle_of_an_unknown_counter_is_not_found(hall):
    with pytest.raises(errors.UnknownCounter):
        hall.desk.perform(9, "pause-toggle")


def test_transfer_to_a_counter_by_the_argument_named_counter(hall, clerk):
    hall.issuing.issue(GPLX)
    hall.desk.perform(1, "next", clerk["id"])
    mark = hall.log.last_id()
    moved = hall.desk.perform(1, "transfer", clerk["id"], counter=2)
    assert moved["number"] == "A001" and moved["status"] == "waiting"
    assert moved["target_counter"] == 2 and moved["transfers"] == 1
    assert hall.screens.counter(1)["current"] is None
    [event] = hall.log.since(mark)
    assert (event.kind, event.counter, event.clerk) == ("transferred", 1, clerk["id"])
    assert event.data["to_counter"] == 2 and event.data["to_queue"] == "GPLX"
    # Counter 1 no longer sees it; counter 2 calls it.
    with pytest.raises(errors.NothingWaiting):
        hall.desk.perform(1, "next")
    assert hall.desk.perform(2, "next")["number"] == "A001"


def test_transfer_to_a_queue(hall):
    hall.issuing.issue(GPLX)
    hall.desk.perform(1, "next")
    moved = hall.desk.perform(1, "transfer", queue="VT")
    assert moved["queue"]["code"] == "VT" and moved["target_counter"] is None
    assert hall.desk.perform(2, "next")["number"] == "A001"


def test_transfer_argument_checks(hall):
    hall.issuing.issue(GPLX)
    hall.desk.perform(1, "next")
    mark = hall.log.last_id()
    for args in ({}, {"queue": "VT", "counter": 2}, {"counter": 1}):
        with pytest.raises(errors.InvalidInput):
            hall.desk.perform(1, "transfer", **args)
    with pytest.raises(errors.UnknownCounter):
        hall.desk.perform(1, "transfer", counter=9)
    with pytest.raises(errors.UnknownQueue):
        hall.desk.perform(1, "transfer", queue="XX")
    assert hall.log.last_id() == mark
    assert status_of(hall, "A001")["status"] == "called"


def test_call_a_number_out_of_order(hall, clerk):
    for _ in range(3):
        hall.issuing.issue(GPLX)
    called = hall.desk.perform(1, "call", clerk["id"], number="a003")
    assert called["number"] == "A003" and called["status"] == "called"
    again = hall.desk.perform(2, "call", number="A002", queue="GPLX")
    assert again["number"] == "A002" and again["counter"]["number"] == 2
    with pytest.raises(errors.UnknownTicket):
        hall.desk.perform(1, "call", number="A009")
    with pytest.raises(errors.InvalidInput):
        hall.desk.perform(1, "call")  # no number
    hall.issuing.issue(VT)
    with pytest.raises(errors.NotServedHere):
        hall.desk.perform(1, "call", number="B001")


# -- desk(): the counter's board ----------------------------------------------------------------


def test_the_board_of_an_idle_counter(hall):
    board = hall.screens.desk(2)
    assert (board["number"], board["name"], board["status"]) == (2, "Quầy 2", "open")
    assert board["queues"] == ["GPLX", "VT"] and board["select_mode"] == "oldest"
    assert board["current"] is None and board["clerk"] is None
    assert board["day"] == "2026-11-26" and board["at"] == "2026-11-26T08:00:00+07:00"
    assert board["lanes"] == [
        {"code": "GPLX", "name": "Giấy phép lái xe", "waiting": 0, "priority_waiting": 0,
         "next": []},
        {"code": "VT", "name": "Vận tải đường bộ", "waiting": 0, "priority_waiting": 0,
         "next": []}]
    assert board["sent_here"] == []
    assert board["totals"] == {"served": 0, "no_show": 0, "transferred": 0,
                               "mean_service_seconds": None, "mean_wait_seconds": None}
    with pytest.raises(errors.UnknownCounter):
        hall.screens.desk(9)


def test_the_waiting_list_puts_priority_first_then_the_oldest(hall, clock):
    hall.issuing.issue(GPLX)  # A001 at 08:00
    clock.advance(60)
    hall.issuing.issue(GPLX)  # A002 at 08:01
    clock.advance(60)
    hall.issuing.issue(GPLX, priority="elderly")  # A003 at 08:02
    clock.advance(30)
    hall.issuing.issue(GPLX, priority="pregnancy")  # A004 at 08:02:30
    hall.issuing.issue(VT)  # not counter 1's queue
    clock.advance(150)  # 08:05
    [lane] = hall.screens.desk(1)["lanes"]
    assert (lane["code"], lane["waiting"], lane["priority_waiting"]) == ("GPLX", 4, 2)
    assert [(w["number"], w["priority"], w["waited_minutes"]) for w in lane["next"]] == [
        ("A003", "elderly", 3), ("A004", "pregnancy", 2), ("A001", None, 5), ("A002", None, 4)]
    assert not any(w["unprinted"] or w["sent_here"] for w in lane["next"])
    # The board shows what the counter would call: the first of its list.
    assert hall.desk.perform(1, "next")["number"] == "A003"
    [lane] = hall.screens.desk(1)["lanes"]
    assert [w["number"] for w in lane["next"]] == ["A004", "A001", "A002"]
    assert (lane["waiting"], lane["priority_waiting"]) == (3, 1)


def test_the_waiting_list_shows_eight_and_counts_all(hall):
    for _ in range(11):
        hall.issuing.issue(GPLX)
    [lane] = hall.screens.desk(1)["lanes"]
    assert lane["waiting"] == 11
    assert [w["number"] for w in lane["next"]] == [f"A{n:03d}" for n in range(1, 9)]


def test_unprinted_tickets_are_marked(hall):
    first = hall.issuing.issue(GPLX, kiosk="K1")
    second = hall.issuing.issue(GPLX, kiosk="K1")
    hall.issuing.issue(GPLX)  # not from a kiosk: printed is unknown, not "failed"
    hall.printing.mark_printed(first["token"], False, "x")
    hall.printing.mark_printed(second["token"], True)
    [lane] = hall.screens.desk(1)["lanes"]
    assert [(w["number"], w["unprinted"]) for w in lane["next"]] == [
        ("A001", True), ("A002", False), ("A003", False)]
    # A reprint that works clears the mark.
    hall.printing.mark_printed(first["token"], True, reprint=True)
    assert not any(w["unprinted"] for w in hall.screens.desk(1)["lanes"][0]["next"])


def test_a_ticket_sent_to_this_counter_is_marked_and_listed(hall):
    hall.issuing.issue(GPLX)  # A001
    hall.issuing.issue(GPLX)  # A002
    vt = hall.issuing.issue(VT)  # B001
    hall.printing.mark_printed(vt["token"], False, "x")
    hall.desk.perform(2, "call", number="A002")
    hall.desk.perform(2, "transfer", counter=1)
    hall.desk.perform(2, "call", number="B001")
    hall.desk.perform(2, "transfer", counter=1)  # a queue counter 1 does not serve
    board = hall.screens.desk(1)
    [lane] = board["lanes"]
    assert [(w["number"], w["sent_here"]) for w in lane["next"]] == [
        ("A001", False), ("A002", True)]
    assert board["sent_here"] == [
        {"number": "A002", "queue": "GPLX", "priority": None, "unprinted": False},
        {"number": "B001", "queue": "VT", "priority": None, "unprinted": True}]
    # Counter 2 no longer lists what it sent away by name.
    other = hall.screens.desk(2)
    assert [w["number"] for w in other["lanes"][0]["next"]] == ["A001"]
    assert other["lanes"][1]["waiting"] == 0 and other["sent_here"] == []
    assert other["totals"]["transferred"] == 2
    # Counter 1 calls what was sent to it, even from a queue it does not serve.
    assert hall.desk.perform(1, "call", number="B001")["number"] == "B001"
    assert [w["number"] for w in hall.screens.desk(1)["sent_here"]] == ["A002"]


def test_the_current_ticket_has_its_waiting_and_serving_time_and_no_token(hall, clock, clerk):
    hall.issuing.issue(GPLX, priority="disability")
    clock.advance(200)
    hall.desk.perform(1, "next", clerk["id"])
    board = hall.screens.desk(1)
    current = board["current"]
    assert current["number"] == "A001" and current["status"] == "called"
    assert current["priority"] == "disability"
    assert "token" not in current
    assert current["waited_seconds"] == 200 and current["serving_seconds"] == 0
    clock.advance(75)
    assert hall.screens.desk(1)["current"]["serving_seconds"] == 75
    clock.advance(3600)
    later = hall.screens.desk(1)["current"]
    assert later["serving_seconds"] == 3675 and later["waited_seconds"] == 200
    assert hall.screens.desk(1)["lanes"][0]["waiting"] == 0
    # The clerk seated at the counter is on the board.
    hall.accounts.sign_in(1, clerk["id"])
    assert hall.screens.desk(1)["clerk"] == {"id": clerk["id"], "name": "Nguyễn Thị Lan"}


def test_the_totals_of_the_day(hall, clock):
    for _ in range(6):
        hall.issuing.issue(GPLX)  # A001…A006 at 08:00:00
    clock.advance(60)
    hall.desk.perform(1, "next")  # A001 waited 60
    clock.advance(120)
    hall.desk.perform(1, "finish")  # served in 120
    hall.desk.perform(1, "next")  # A002 waited 180
    clock.advance(30)
    hall.desk.perform(1, "no-show")
    hall.desk.perform(1, "next")  # A003 waited 210
    clock.advance(45)
    hall.desk.perform(1, "transfer", queue="VT")
    hall.desk.perform(1, "next")  # A004 waited 255
    clock.advance(100)
    hall.desk.perform(1, "finish", outcome="referred")  # served in 100
    hall.desk.perform(2, "call", number="A003")  # kept its time; counter 2's now
    totals = hall.screens.desk(1)["totals"]
    assert totals == {"served": 2, "no_show": 1, "transferred": 1,
                      "mean_service_seconds": 110,  # (120 + 100) / 2
                      "mean_wait_seconds": 165}  # (60 + 180 + 255) / 3
    assert hall.screens.desk(2)["totals"] == {"served": 0, "no_show": 0, "transferred": 0,
                                      "mean_service_seconds": None,
                                      "mean_wait_seconds": 355}
    clock.advance(41)
    hall.desk.perform(1, "next")  # A005 waited 396
    clock.advance(170)
    hall.desk.perform(1, "next")  # finishes A005 (served in 170); A006 waited 566
    totals = hall.screens.desk(1)["totals"]
    assert totals == {"served": 3, "no_show": 1, "transferred": 1,
                      "mean_service_seconds": 130,  # (120 + 100 + 170) / 3
                      "mean_wait_seconds": 291}  # (60 + 180 + 255 + 396 + 566) / 5 = 291.4


def test_totals_belong_to_the_day(hall, clock):
    hall.issuing.issue(GPLX)
    hall.desk.perform(1, "next")
    clock.advance(60)
    hall.desk.perform(1, "finish")
    assert hall.screens.desk(1)["totals"]["served"] == 1
    clock.at(8, 0, days=1)
    board = hall.screens.desk(1)
    assert board["day"] == "2026-11-27"
    assert board["totals"] == {"served": 0, "no_show": 0, "transferred": 0,
                               "mean_service_seconds": None, "mean_wait_seconds": None}
