"""Satisfaction ratings (hall/ratings.py) on a real SQLite file with the fake clock: the prompt
after a finished service, one rating per ticket, the serving clerk cannot rate, the summary.

The hall is the one of ``tests.plugins.halls.TRANSPORT``: counter 1 serves GPLX (prefix A),
counter 2 serves GPLX and VT (prefix B), counter 3 serves TKQ (block 1).
"""

import pytest

from hall import Rules, errors

GPLX = "DEMO-GT-001"  # procedure → queue GPLX, numbers A001…
GPLX_2 = "DEMO-GT-002"  # → GPLX as well
VT = "DEMO-GT-007"  # → VT, B001…
LEVELS = ["Rất hài lòng", "Hài lòng", "Không hài lòng"]  # the default rules


def serve(h, counter: int = 1, procedure: str = GPLX, clerk: int | None = None,
          seconds: float = 0) -> dict:
    """Issue a ticket, call it at ``counter`` and finish it ``seconds`` later."""
    ticket = h.issuing.issue(procedure)
    called = h.desk.perform(counter, "call", clerk, number=ticket["number"])
    if seconds:
        h.clock.advance(seconds)
    h.desk.perform(counter, "finish", clerk)
    return called


def ratings_rows(h) -> list[dict]:
    with h.store.read() as conn:
        return [dict(r) for r in conn.execute("SELECT * FROM ratings ORDER BY id")]


# -- the prompt ---------------------------------------------------------------------------------


def test_the_prompt_appears_after_a_finish_at_that_counter(hall, clock):
    assert hall.ratings.prompt(1) is None
    hall.issuing.issue(GPLX)
    hall.desk.perform(1, "next")
    assert hall.ratings.prompt(1) is None  # still being served
    clock.advance(90)
    hall.desk.perform(1, "finish")
    assert hall.ratings.prompt(1) == {"counter": 1, "number": "A001",
                                      "procedure": "Đổi giấy phép lái xe", "levels": LEVELS,
                                      "seconds_left": 30}
    assert hall.ratings.prompt(2) is None  # another counter's screen stays idle
    clock.advance(12)
    assert hall.ratings.prompt(1)["seconds_left"] == 18


def test_no_prompt_after_a_no_show_or_a_transfer(hall):
    hall.issuing.issue(GPLX)
    hall.issuing.issue(GPLX)
    hall.desk.perform(1, "next")
    hall.desk.perform(1, "no-show")
    assert hall.ratings.prompt(1) is None
    hall.desk.perform(1, "next")
    hall.desk.perform(1, "transfer", counter=2)
    assert hall.ratings.prompt(1) is None
    with pytest.raises(errors.NothingToRate):
        hall.ratings.rate(1, 1)
    assert ratings_rows(hall) == []


def test_the_prompt_goes_away_after_rating_seconds(hall, clock):
    serve(hall)
    clock.advance(29)
    assert hall.ratings.prompt(1)["seconds_left"] == 1
    clock.advance(2)
    assert hall.ratings.prompt(1) is None
    with pytest.raises(errors.NothingToRate) as caught:
        hall.ratings.rate(1, 1)
    assert caught.value.params == {"number": 1}
    assert ratings_rows(hall) == []


@pytest.mark.parametrize("rules", [Rules(rating_seconds=120)])
def test_the_window_is_a_setting(hall, clock):
    serve(hall)
    assert hall.ratings.prompt(1)["seconds_left"] == 120
    clock.advance(100)
    assert hall.ratings.rate(1, 2)["label"] == "Hài lòng"


def test_the_prompt_asks_about_the_last_ticket_finished(hall, clock):
    serve(hall)  # A001
    clock.advance(10)
    serve(hall, procedure=GPLX_2)  # A002
    prompt = hall.ratings.prompt(1)
    assert (prompt["number"], prompt["procedure"]) == ("A002", "Cấp lại giấy phép lái xe")
    assert hall.ratings.rate(1, 1)["number"] == "A002"
    # A001's window is not over, but its citizen has left: the screen is idle.
    assert hall.ratings.prompt(1) is None


def test_the_prompt_goes_away_after_a_rating_and_a_ticket_is_rated_once(hall):
    serve(hall)
    rated = hall.ratings.rate(1, 1)
    assert rated == {"number": "A001", "counter": 1, "level": 1, "label": "Rất hài lòng"}
    assert hall.ratings.prompt(1) is None
    mark = hall.log.last_id()
    with pytest.raises(errors.NothingToRate):
        hall.ratings.rate(1, 3)
    assert len(ratings_rows(hall)) == 1 and ratings_rows(hall)[0]["level"] == 1
    assert hall.log.last_id() == mark


def test_a_rating_of_the_previous_ticket_after_the_clerk_called_the_next(hall, clock, clerk):
    hall.issuing.issue(GPLX)  # A001
    hall.issuing.issue(VT)  # B001
    hall.desk.perform(2, "next", clerk["id"])  # A001 (oldest first)
    clock.advance(300)
    # The clerk calls the next without pressing "finish": A001 is finished by the call.
    assert hall.desk.perform(2, "next", clerk["id"])["number"] == "B001"
    clock.advance(20)
    assert hall.ratings.prompt(2)["number"] == "A001"
    assert hall.ratings.prompt(2)["seconds_left"] == 10
    assert hall.ratings.rate(2, 2)["number"] == "A001"
    [row] = ratings_rows(hall)
    assert (row["counter_number"], row["clerk_id"], row["queue_code"]) == (2, clerk["id"], "GPLX")
    # B001 is still being served: nothing more to rate until it is finished.
    assert hall.ratings.prompt(2) is None
    hall.desk.perform(2, "finish", clerk["id"])
    assert hall.ratings.prompt(2)["number"] == "B001"


# -- who may rate -------------------------------------------------------------------------------


def test_the_clerk_who_served_cannot_rate_but_someone_else_can(hall, clerk):
    other = hall.accounts.put_clerk("minh", name="Trần Văn Minh", pin="135790")
    serve(hall, clerk=clerk["id"])
    mark = hall.log.last_id()
    with pytest.raises(errors.Forbidden) as caught:
        hall.ratings.rate(1, 1, rater_clerk=clerk["id"])
    assert "Cán bộ không tự đánh giá" in str(caught.value)
    assert ratings_rows(hall) == [] and hall.log.last_id() == mark
    assert hall.ratings.prompt(1)["number"] == "A001"  # still open to the citizen
    assert hall.ratings.rate(1, 3, rater_clerk=other["id"])["label"] == "Không hài lòng"
    assert ratings_rows(hall)[0]["clerk_id"] == clerk["id"]  # the clerk who served


def test_the_citizen_rates_without_a_clerk(hall, clerk):
    serve(hall, clerk=clerk["id"])
    assert hall.ratings.rate(1, 2)["level"] == 2


# -- input checks -------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [0, 4, -1, True, False, "1", 1.0, None])
def test_a_level_out_of_the_rules_is_invalid_input(hall, level):
    serve(hall)
    mark = hall.log.last_id()
    with pytest.raises(errors.InvalidInput) as caught:
        hall.ratings.rate(1, level)
    assert caught.value.params == {"field": "level", "low": 1, "high": 3}
    assert ratings_rows(hall) == [] and hall.log.last_id() == mark
    assert hall.ratings.prompt(1) is not None


def test_a_level_is_checked_even_with_nothing_to_rate(hall):
    with pytest.raises(errors.InvalidInput):
        hall.ratings.rate(1, 9)


@pytest.mark.parametrize("source", ["sms", "", None, "SCREEN"])
def test_an_unknown_source_is_invalid_input(hall, source):
    serve(hall)
    with pytest.raises(errors.InvalidInput) as caught:
        hall.ratings.rate(1, 1, source=source)
    assert caught.value.params["field"] == "source"
    assert ratings_rows(hall) == []


@pytest.mark.parametrize("source", ["screen", "keypad", "api"])
def test_each_known_source_is_kept(hall, source):
    serve(hall)
    hall.ratings.rate(1, 1, source=source)
    assert ratings_rows(hall)[0]["source"] == source


def test_an_unknown_counter_has_nothing_to_rate(hall):
    assert hall.ratings.prompt(9) is None
    with pytest.raises(errors.NothingToRate):
        hall.ratings.rate(9, 1)


# -- what is stored -----------------------------------------------------------------------------


def test_the_rating_row_ties_ticket_counter_clerk_procedure_and_queue(hall, clock, clerk):
    called = serve(hall, counter=2, procedure=VT, clerk=clerk["id"], seconds=240)
    clock.advance(5)
    mark = hall.log.last_id()
    hall.ratings.rate(2, 2, source="keypad")
    [row] = ratings_rows(hall)
    assert row == {"id": row["id"], "ticket_id": called["id"], "day": "2026-11-26",
                   "at": clock(), "counter_number": 2, "clerk_id": clerk["id"],
                   "procedure_code": VT, "queue_code": "VT", "level": 2, "levels": 3,
                   "label": "Hài lòng", "source": "keypad"}
    [event] = hall.log.since(mark)
    assert (event.kind, event.ticket, event.counter, event.clerk, event.queue) == (
        "rated", called["id"], 2, clerk["id"], "VT")
    assert event.data == {"number": "B001", "queue": "VT", "procedure": VT, "priority": None,
                          "status": "done", "level": 2, "levels": 3, "label": "Hài lòng",
                          "source": "keypad"}


@pytest.mark.parametrize("rules", [Rules(rating_levels=("Tốt", "Chưa tốt"))])
def test_two_levels(hall):
    serve(hall)
    assert hall.ratings.prompt(1)["levels"] == ["Tốt", "Chưa tốt"]
    with pytest.raises(errors.InvalidInput):
        hall.ratings.rate(1, 3)
    assert hall.ratings.rate(1, 2)["label"] == "Chưa tốt"
    [row] = ratings_rows(hall)
    assert (row["level"], row["levels"], row["label"]) == (2, 2, "Chưa tốt")


def test_the_summary_counts_each_level_per_counter_and_for_the_hall(hall, clock):
    for counter, level in ((1, 1), (1, 1), (1, 3), (2, 1), (2, 2)):
        serve(hall, counter=counter)
        hall.ratings.rate(counter, level)
        clock.advance(60)
    serve(hall, counter=1)  # finished, not rated
    one = hall.ratings.summary(counter=1)
    assert one == {"day": "2026-11-26", "counter": 1, "total": 3, "levels": [
        {"level": 1, "label": "Rất hài lòng", "count": 2},
        {"level": 2, "label": "Hài lòng", "count": 0},
        {"level": 3, "label": "Không hài lòng", "count": 1}]}
    assert [x["count"] for x in hall.ratings.summary(counter=2)["levels"]] == [1, 1, 0]
    everyone = hall.ratings.summary()
    assert everyone["counter"] is None and everyone["total"] == 5
    assert [x["count"] for x in everyone["levels"]] == [3, 1, 1]
    assert hall.ratings.summary(counter=3)["total"] == 0
    assert hall.ratings.summary("2026-11-25")["total"] == 0
    # The next day starts at zero; the day before can still be asked for.
    clock.at(9, 0, days=1)
    assert hall.ratings.summary()["day"] == "2026-11-27"
    assert hall.ratings.summary()["total"] == 0
    assert hall.ratings.summary("2026-11-26", 1) == one


# -- the rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize("settings", [
    {"rating_levels": ("Tốt",)},
    {"rating_levels": ()},
    {"rating_levels": ("1", "2", "3", "4", "5", "6")},
    {"rating_levels": ("Tốt", "")},
    {"rating_levels": ("Tốt", "   ")},
    {"rating_levels": ("Tốt", 2)},
    {"rating_seconds": 4},
    {"rating_seconds": 601},
    {"rating_seconds": 0},
])
def test_rating_rules_are_checked(settings):
    with pytest.raises(errors.InvalidInput):
        Rules(**settings)


def test_rating_rules_at_their_bounds():
    assert len(Rules(rating_levels=("A", "B")).rating_levels) == 2
    assert len(Rules(rating_levels=tuple("ABCDE")).rating_levels) == 5
    assert Rules(rating_seconds=5).rating_seconds == 5
    assert Rules(rating_seconds=600).rating_seconds == 600
    assert Rules().rating_levels == tuple(LEVELS) and Rules().rating_seconds == 30
