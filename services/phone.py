"""What the holder's phone asks of the hall: the ticket by its token, each change of it as it
happens, and a rating of the service once it is done."""

import time

from hall.events import PHONE_CHANGES, EventKind

from .runtime import Runtime

# A phone's ticket is read again at most this often, however busy the hall: the page is
# still current within a second, and 2,000 phones cost at most 4,000 small reads a second
# in a burst (usually far fewer: only events of the ticket's own queue wake it).
PACE_SECONDS = 0.5


def ticket(runtime: Runtime, token: str) -> dict:
    """The ticket as its holder's phone shows it (``TicketExpired`` after its day)."""
    return runtime.read(runtime.hall.following.ticket, token)


def rate(runtime: Runtime, token: str, level: int) -> dict:
    """The holder rates the service of their ticket (once, the day it was served)."""
    return runtime.act(runtime.hall.ratings.rate_ticket, token, level)


def concerns(event, found: dict) -> bool:
    """Whether ``event`` may change what the holder of ``found`` sees."""
    if event.kind not in PHONE_CHANGES:
        return False
    if event.ticket == found["id"]:
        return True
    if found["final"]:
        return False  # a finished ticket changes only by events of its own (a rating)
    # Counters opening or pausing carry no queue; a ticket moved in from another queue
    # may go ahead of this one.
    return event.queue is None or event.queue == found["queue"]["code"] \
        or event.kind == EventKind.TRANSFERRED


def changes(runtime: Runtime, token: str, keepalive: float):
    """The ticket again each time it may have changed: after events that concern it (read at
    most once per ``PACE_SECONDS``) and after ``keepalive`` quiet seconds (estimates age, the
    day ends). Raises ``TicketExpired`` once its day is over, ``NotFound`` if it goes."""
    feed = runtime.feed
    cursor = feed.last_id
    found = ticket(runtime, token)
    yield found
    read_at = time.monotonic()
    while True:
        events = feed.wait(cursor, keepalive)
        if events:
            cursor = events[-1].id
            if not any(concerns(e, found) for e in events):
                continue
            wait = PACE_SECONDS - (time.monotonic() - read_at)
            if wait > 0:
                # Looked up when used: under gevent ``time.sleep`` is the cooperative one.
                time.sleep(wait)
                cursor = max(cursor, feed.last_id)
        found = ticket(runtime, token)
        read_at = time.monotonic()
        yield found

