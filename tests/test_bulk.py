"""Bulk actions of the core (hall/bulk.py) on a real SQLite file: each action, the order kept,
a dry run that changes nothing, all or nothing, a confirmation refused when the selection
changed, the events (one per ticket and one ``bulk_applied``), and a day closed early.

The hall is ``tests.plugins.halls.TRANSPORT``: counter 1 serves GPLX (A…), 2 serves GPLX and
VT (B…), 3 serves TKQ (1001…).
"""

import threading

import pytest

from hall import errors
from hall.events import EventKind

GPLX, GPLX2, VT, TKQ = "DEMO-GT-001", "DEMO-GT-002", "DEMO-GT-007", "DEMO-GT-021"


def dump(h) -> dict:
    """Every row a bulk action may touch, straight from the file."""
    with h.store.read() as conn:
        return {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1")]
                for t in ("tickets", "counters", "events", "closed_days")}


def issue(h, clock, procedure, n=1, **kw) -> list[dict]:
    out = []
    for _ in range(n):
        clock.advance(30)
        out.append(h.issuing.issue(procedure, **kw))
    return out


def kinds_after(h, after: int) -> list[str]:
    return [str(e.kind) for e in h.log.since(after)]


def test_move_to_another_queue_keeps_order_and_logs_each_ticket(hall, clock, clerk):
    tickets = issue(hall, clock, GPLX, 3) + issue(hall, clock, VT, 1)
    before = hall.log.last_id()
    plan = hall.bulk.plan("move", {"queue": "GPLX"}, to_queue="VT")
    assert [(c["number"], c["from"], c["to"]) for c in plan["tickets"]] == [
        ("A001", "GPLX", "VT"), ("A002", "GPLX", "VT"), ("A003", "GPLX", "VT")]
    done = hall.bulk.apply("move", {"queue": "GPLX"}, to_queue="VT", clerk=clerk["id"],
                           expect=plan["fingerprint"])
    assert done["applied"] and done["count"] == 3
    events = hall.log.since(before)
    assert [str(e.kind) for e in events] == ["transferred"] * 3 + ["bulk_applied"]
    assert events[-1].clerk == clerk["id"]
    assert events[-1].data["count"] == 3 and events[-1].data["to"] == {"queue": "VT"}
    assert [(e.queue, e.data["number"], e.data["from_queue"]) for e in events[:3]] == [
        ("VT", "A001", "GPLX"), ("VT", "A002", "GPLX"), ("VT", "A003", "GPLX")]
    # Counter 2 serves VT: B001 (issued last) keeps its place behind the moved A tickets.
    calls = [hall.calling.call_next(2)["number"] for _ in range(4)]
    assert calls == [t["number"] for t in tickets] == ["A001", "A002", "A003", "B001"]


def test_move_to_end_keeps_relative_order_when_transfer_sends_to_the_back(hall, clock):
    hall.follow(hall.rules.__class__(transfer_keeps_time=False))
    issue(hall, clock, VT, 1)
    issue(hall, clock, GPLX, 3)
    hall.bulk.apply("move", {"tickets": ["A003", "A001"]}, to_queue="VT")
    calls = [hall.calling.call_next(2)["number"] for _ in range(4)]
    # Sent to the back of VT, A001 before A003 as they were; B001 and A002 waited longer.
    assert calls == ["B001", "A002", "A001", "A003"]


def test_move_leaves_alone_those_already_there(hall, clock):
    issue(hall, clock, GPLX, 1)
    issue(hall, clock, VT, 1)
    plan = hall.bulk.plan("move", {"tickets": ["A001", "B001"]}, to_queue="VT")
    assert [c["number"] for c in plan["tickets"]] == ["A001"]
    with pytest.raises(errors.InvalidInput):
        hall.bulk.plan("move", {"tickets": ["B001"]}, to_queue="VT")


def test_move_to_a_counter(hall, clock):
    issue(hall, clock, TKQ, 2)
    hall.bulk.apply("move", {"queue": "TKQ"}, to_counter=1)
    assert [hall.calling.call_next(1)["number"] for _ in range(2)] == ["1001", "1002"]


def test_dry_run_changes_nothing(hall, clock):
    issue(hall, clock, GPLX, 2, kiosk="K1")
    issue(hall, clock, GPLX2, 1, kiosk="K1")
    hall.calling.call_next(1)
    hall.calling.no_show(1)
    before = dump(hall)
    for action, kw in [("move", {"to_queue": "VT"}), ("cancel", {"reason": "mất điện"}),
                       ("reprint", {})]:
        plan = hall.bulk.plan(action, {"queue": "GPLX"}, **kw)
        assert plan["dry_run"] and plan["count"] == 2
    assert hall.bulk.plan("reactivate", {"queue": "GPLX"})["count"] == 1
    assert hall.bulk.plan("close_day", reason="mất điện")["count"] == 2
    assert dump(hall) == before


def test_selection_by_procedure_priority_and_issue_time(hall, clock):
    clock.at(8, 0)
    issue(hall, clock, GPLX)  # A001 08:00:30
    issue(hall, clock, GPLX2, priority="elderly")  # A002
    clock.at(9, 30)
    issue(hall, clock, GPLX)  # A003 09:30:30
    numbers = lambda f: [c["number"] for c in hall.bulk.plan("cancel", f, reason="x")["tickets"]]  # noqa: E731
    assert numbers({"procedure": GPLX2}) == ["A002"]
    assert numbers({"priority": "any"}) == ["A002"]
    assert numbers({"priority": "none"}) == ["A001", "A003"]
    assert numbers({"priority": "elderly", "queue": "GPLX"}) == ["A002"]
    assert numbers({"issued_from": "09:00"}) == ["A003"]
    assert numbers({"issued_until": "08:59"}) == ["A001", "A002"]
    assert numbers({"tickets": ["a003", "A001"]}) == ["A001", "A003"]


def test_cancel_needs_a_reason_and_logs_it(hall, clock, clerk):
    issue(hall, clock, GPLX, 2)
    with pytest.raises(errors.InvalidInput):
        hall.bulk.apply("cancel", {"queue": "GPLX"})
    before = hall.log.last_id()
    hall.bulk.apply("cancel", {"queue": "GPLX"}, reason="hết giờ", clerk=clerk["id"])
    events = hall.log.since(before)
    assert [str(e.kind) for e in events] == ["cancelled", "cancelled", "bulk_applied"]
    assert events[0].data["reason"] == "hết giờ" and events[-1].data["reason"] == "hết giờ"
    assert events[0].data["status"] == "cancelled" and events[0].queue == "GPLX"
    with pytest.raises(errors.EmptySelection):
        hall.bulk.plan("cancel", {"queue": "GPLX"}, reason="x")


def test_reactivate_puts_no_shows_back_in_their_place(hall, clock):
    issue(hall, clock, GPLX, 4)
    for _ in range(2):
        hall.calling.call_next(1)
        hall.calling.no_show(1)
    before = hall.log.last_id()
    done = hall.bulk.apply("reactivate", {"queue": "GPLX"})
    assert [c["number"] for c in done["tickets"]] == ["A001", "A002"]
    assert kinds_after(hall, before) == ["reactivated", "reactivated", "bulk_applied"]
    assert [hall.calling.call_next(1)["number"] for _ in range(2)] == ["A001", "A002"]


def test_reprint_marks_kiosk_tickets_and_refuses_others(hall, clock):
    issue(hall, clock, GPLX, 2, kiosk="K1")
    done = hall.bulk.apply("reprint", {"queue": "GPLX"})
    assert [c["to"] for c in done["tickets"]] == ["printer K1", "printer K1"]
    with hall.store.read() as conn:
        assert {r[0] for r in conn.execute("SELECT print_expected FROM tickets")} == {1}
    issue(hall, clock, GPLX, 1)  # no kiosk: no printer to send it to
    with pytest.raises(errors.NoPrinterFor):
        hall.bulk.plan("reprint", {"queue": "GPLX"})


def test_close_counter_hands_its_tickets_on(hall, clock, clerk):
    issue(hall, clock, GPLX, 3)
    hall.bulk.apply("move", {"tickets": ["A001", "A003"]}, to_counter=1)
    before = hall.log.last_id()
    done = hall.bulk.apply("close_counter", {"counter": 1}, to_counter=2, clerk=clerk["id"])
    assert [(c["number"], c["from"], c["to"]) for c in done["tickets"]] == [
        ("A001", "counter 1", "counter 2"), ("A003", "counter 1", "counter 2")]
    assert kinds_after(hall, before) == ["transferred", "transferred", "counter_closed",
                                         "bulk_applied"]
    with pytest.raises(errors.CounterClosed):
        hall.calling.call_next(1)
    assert [hall.calling.call_next(2)["number"] for _ in range(3)] == ["A001", "A002", "A003"]


def test_close_counter_hands_on_the_queues_only_it_serves(hall, clock):
    issue(hall, clock, TKQ, 2)  # TKQ: counter 3 alone serves it
    issue(hall, clock, GPLX, 1)  # GPLX: counters 1 and 2, untouched when 1 closes
    with pytest.raises(errors.NoCounterServes):
        hall.bulk.plan("close_counter", {"counter": 3})
    done = hall.bulk.apply("close_counter", {"counter": 3}, to_counter=2)
    assert [(c["number"], c["to"]) for c in done["tickets"]] == [
        ("1001", "counter 2"), ("1002", "counter 2")]
    assert hall.bulk.apply("close_counter", {"counter": 1})["count"] == 0
    assert [hall.calling.call_next(2)["number"] for _ in range(3)] == ["1001", "1002", "A001"]


def test_close_counter_refuses_a_busy_counter_and_closed_targets(hall, clock):
    issue(hall, clock, GPLX, 2)
    hall.calling.call_next(1)
    with pytest.raises(errors.CounterBusy):
        hall.bulk.plan("close_counter", {"counter": 1})
    hall.desk.close(3)
    with pytest.raises(errors.CounterClosed):
        hall.bulk.plan("move", {"queue": "GPLX"}, to_counter=3)


def test_domain_errors(hall, clock):
    issue(hall, clock, GPLX, 1)
    with pytest.raises(errors.UnknownQueue):
        hall.bulk.plan("move", {"queue": "GPLX"}, to_queue="NOPE")
    with pytest.raises(errors.UnknownQueue):
        hall.bulk.plan("cancel", {"queue": "NOPE"}, reason="x")
    with pytest.raises(errors.UnknownCounter):
        hall.bulk.plan("move", {"queue": "GPLX"}, to_counter=9)
    with pytest.raises(errors.InvalidInput):
        hall.bulk.plan("move", {"queue": "GPLX"})
    with pytest.raises(errors.InvalidInput):
        hall.bulk.plan("explode", {"queue": "GPLX"})
    with pytest.raises(errors.InvalidInput):
        hall.bulk.plan("cancel", {"colour": "red"}, reason="x")
    with pytest.raises(errors.NotSelectable):
        hall.bulk.plan("cancel", {"tickets": ["A001", "A777"]}, reason="x")
    with pytest.raises(errors.EmptySelection):
        hall.bulk.plan("cancel", {"queue": "VT"}, reason="x")
    hall.catalogue.put_queue("EMPTY", name="Không ai phục vụ", prefix="E")
    with pytest.raises(errors.NoCounterServes):
        hall.bulk.plan("move", {"queue": "GPLX"}, to_queue="EMPTY")


def test_all_or_nothing_when_a_step_fails(hall, clock):
    issue(hall, clock, GPLX, 3)
    before = dump(hall)
    # The second ticket's update fails in the middle of the change.
    with hall.store.write() as conn:
        conn.execute("CREATE TRIGGER boom BEFORE UPDATE ON tickets WHEN OLD.number = 'A002'"
                     " BEGIN SELECT RAISE(ABORT, 'boom'); END")
    with pytest.raises(Exception, match="boom"):
        hall.bulk.apply("cancel", {"queue": "GPLX"}, reason="x")
    with hall.store.write() as conn:
        conn.execute("DROP TRIGGER boom")
    assert dump(hall) == before
    assert EventKind.BULK_APPLIED not in [e.kind for e in hall.tx.take_committed()]


def test_confirm_refused_when_the_selection_changed(hall, clock):
    issue(hall, clock, GPLX, 2)
    plan = hall.bulk.plan("move", {"queue": "GPLX"}, to_queue="VT")
    issue(hall, clock, GPLX, 1)  # a new ticket arrives between preview and confirm
    before = dump(hall)
    with pytest.raises(errors.SelectionChanged):
        hall.bulk.apply("move", {"queue": "GPLX"}, to_queue="VT", expect=plan["fingerprint"])
    with pytest.raises(errors.SelectionChanged):
        hall.bulk.apply("move", {"queue": "GPLX"}, to_queue="VT",
                        expect=[c["id"] for c in plan["tickets"]])
    assert dump(hall) == before
    # The same tickets with another reason than the one previewed: refused too.
    plan = hall.bulk.plan("cancel", {"queue": "GPLX"}, reason="hết giờ")
    with pytest.raises(errors.SelectionChanged):
        hall.bulk.apply("cancel", {"queue": "GPLX"}, reason="mất điện",
                        expect=plan["fingerprint"])
    assert dump(hall) == before


def test_concurrent_confirms_only_one_applies(hall_file):
    """Two supervisors confirm the same preview at once from two connections: one moves the
    tickets, the other finds the selection changed (empty) and changes nothing."""
    from tests.hallproc import open_at

    setup = open_at(hall_file)
    for _ in range(50):
        setup.issuing.issue("PA")
    queue, other = "A", "B"
    plan = setup.bulk.plan("move", {"queue": queue}, to_queue=other)
    setup.close()
    results, start = [], threading.Barrier(2)

    def confirm():
        h = open_at(hall_file)
        start.wait()
        try:
            results.append(h.bulk.apply("move", {"queue": queue}, to_queue=other,
                                        expect=plan["fingerprint"])["count"])
        except errors.HallError as exc:
            results.append(type(exc).__name__)
        finally:
            h.close()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The loser reads the selection inside its own BEGIN IMMEDIATE, after the winner's commit:
    # nothing is left in queue A, so it refuses and changes nothing.
    assert sorted(map(str, results)) == ["50", "EmptySelection"]
    check = open_at(hall_file)
    assert check.bulk.plan("move", {"queue": "B"}, to_queue="A")["count"] == 50
    assert [e.kind for e in check.log.since(0)].count(EventKind.BULK_APPLIED) == 1
    check.close()


def test_close_day_closes_waiting_tickets_and_stops_issuing(hall, clock, clerk):
    issue(hall, clock, GPLX, 2)
    issue(hall, clock, VT, 1)
    hall.calling.call_next(1)  # A001 is being served: it stays
    before = hall.log.last_id()
    done = hall.bulk.apply("close_day", reason="mất điện", clerk=clerk["id"])
    assert [c["number"] for c in done["tickets"]] == ["A002", "B001"]
    assert kinds_after(hall, before) == ["cancelled", "cancelled", "bulk_applied"]
    with pytest.raises(errors.DayClosed, match="mất điện"):
        hall.issuing.issue(GPLX)
    assert all(isinstance(a["refusal"], errors.DayClosed)
               for a in hall.issuing.availability().values())
    assert hall.bulk.day_closed()["reason"] == "mất điện"
    with pytest.raises(errors.DayClosed):
        hall.bulk.plan("close_day", reason="lần nữa")
    # Staff reopen it (audited), and tomorrow is open by itself.
    hall.bulk.apply("reopen_day", clerk=clerk["id"])
    assert hall.issuing.issue(GPLX)["number"] == "A003"
    hall.bulk.apply("close_day", reason="về sớm")
    clock.advance(24 * 3600)
    assert hall.issuing.issue(GPLX)["number"] == "A001"
    with pytest.raises(errors.DayOpen):
        hall.bulk.plan("reopen_day")
