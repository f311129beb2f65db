"""The hall's rules: validation, the business day and hall-local times."""

from datetime import datetime

import pytest

from hall import Rules, errors
from hall.rules import parse_hhmm
from tests.plugins.halls import HALL_TZ


def ts(*args) -> float:
    """Epoch seconds of a hall-local wall-clock time."""
    return datetime(*args, tzinfo=HALL_TZ).timestamp()


def test_defaults():
    r = Rules()
    assert (r.timezone, r.day_starts_at, r.priority_policy, r.interleave_every) == (
        "Asia/Ho_Chi_Minh", "00:00", "strict", 3)
    assert r.transfer_keeps_time and r.next_finishes_current
    assert r.outcomes[0] == "served"


@pytest.mark.parametrize("kwargs", [
    {"timezone": "Mars/Olympus"},
    {"day_starts_at": "24:00"},
    {"day_starts_at": "05:60"},
    {"day_starts_at": "5"},
    {"day_starts_at": "five"},
    {"priority_policy": "fifo"},
    {"priority_policy": "Strict"},
    {"interleave_every": 0},
    {"interleave_every": -2},
    {"outcomes": ()},
])
def test_bad_rules_are_refused(kwargs):
    with pytest.raises(errors.InvalidInput):
        Rules(**kwargs)


@pytest.mark.parametrize("text, expected", [
    ("00:00", (0, 0)), ("05:00", (5, 0)), ("23:59", (23, 59)), ("7:5", (7, 5)),
])
def test_parse_hhmm(text, expected):
    assert parse_hhmm(text, "x") == expected


@pytest.mark.parametrize("text", ["", "12", "12:00:00", "-1:00", "ab:cd", "12:60", None])
def test_parse_hhmm_refuses(text):
    with pytest.raises(errors.InvalidInput) as refused:
        parse_hhmm(text, "issue_from")
    assert "issue_from" in str(refused.value)


def test_business_day_starts_at_midnight_by_default():
    r = Rules()
    assert r.business_day(ts(2026, 11, 26, 0, 0)) == "2026-11-26"
    assert r.business_day(ts(2026, 11, 25, 23, 59, 59)) == "2026-11-25"


@pytest.mark.parametrize("when, day", [
    ((2026, 11, 27, 4, 59), "2026-11-26"),
    ((2026, 11, 27, 4, 59, 59), "2026-11-26"),
    ((2026, 11, 27, 5, 0), "2026-11-27"),
    ((2026, 11, 27, 23, 59), "2026-11-27"),
    ((2027, 1, 1, 3, 0), "2026-12-31"),
    ((2028, 3, 1, 4, 0), "2028-02-29"),
])
def test_business_day_with_a_5am_start(when, day):
    assert Rules(day_starts_at="05:00").business_day(ts(*when)) == day


def test_business_day_is_in_hall_time_not_utc():
    # 2026-11-26 06:30 in Hanoi is 2026-11-25 23:30 UTC.
    assert Rules().business_day(ts(2026, 11, 26, 6, 30)) == "2026-11-26"
    assert Rules(timezone="UTC").business_day(ts(2026, 11, 26, 6, 30)) == "2026-11-25"


def test_iso_has_the_hall_offset():
    r = Rules()
    assert r.iso(ts(2026, 11, 26, 8, 0, 0)) == "2026-11-26T08:00:00+07:00"
    assert r.iso(None) is None
    assert r.local(ts(2026, 11, 26, 8, 0)).hour == 8
