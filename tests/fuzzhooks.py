"""Schemathesis hooks loaded by ``tests/test_api_fuzz.py`` (``SCHEMATHESIS_HOOKS``): one more
check, "a rejected request changes nothing".

Every change of the hall logs its event in the same transaction (``hall/transaction.py``), so
a request answered ``4xx`` that left a new event in the log changed the hall. The log is read
straight from the live server's SQLite file (``GOISO_FUZZ_DB``), before and after each call.
Events a printer or a device logs on its own (a ticket printed a moment after the request that
issued it) are not a request's doing and are left out, as are the refusals recorded for staff.
"""

import os
import sqlite3

import schemathesis

from hall.events import EventKind

# What a spooler or a device worker logs on its own thread, whatever the requests do; and the
# refusals that are themselves recorded for staff (a sign-in lock, a kiosk over its limit),
# which change nothing of the hall's tickets and counters.
BACKGROUND_KINDS = tuple(kind.value for kind in (
    EventKind.PRINTED, EventKind.PRINT_FAILED, EventKind.DEVICE_STATE,
    EventKind.SIGNIN_LOCKED, EventKind.ISSUE_LIMITED))


def _last_event_id() -> int | None:
    path = os.environ.get("GOISO_FUZZ_DB")
    if not path:
        return None
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as conn:
        return conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]


def _events_after(after: int) -> list[str]:
    marks = ", ".join("?" * len(BACKGROUND_KINDS))
    conn = sqlite3.connect(f"file:{os.environ['GOISO_FUZZ_DB']}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute(f"SELECT id, kind FROM events WHERE id > ? AND kind NOT IN ({marks})"
                            " ORDER BY id", (after, *BACKGROUND_KINDS)).fetchall()
    finally:
        conn.close()
    return [f"{event_id} {kind}" for event_id, kind in rows]


# What each recent call logged, by the id of its case (a Case takes no new attributes); the
# checks of a response may send probes of their own in between, so the last few are kept.
_calls: dict[int, list[str] | int | None] = {}
KEEP = 64


@schemathesis.hook
def before_call(context, case, kwargs):
    """Note the event log's end before the request goes out."""
    _calls[id(case)] = _last_event_id()
    while len(_calls) > KEEP:
        del _calls[next(iter(_calls))]


@schemathesis.hook
def after_call(context, case, response):
    """Note what the request logged, at once (before any probe of the checks)."""
    before = _calls.get(id(case))
    if isinstance(before, int):
        _calls[id(case)] = _events_after(before)


@schemathesis.check
def rejected_request_changes_nothing(ctx, response, case):
    """A request answered 4xx left the hall as it was: no event was logged by it."""
    if not 400 <= response.status_code < 500:
        return None
    logged = _calls.get(id(case))
    if isinstance(logged, list) and logged:
        raise AssertionError(f"{case.method} {case.formatted_path} was refused with"
                             f" {response.status_code} but logged events: {', '.join(logged)}")
    return None
