"""hall.events.Feed with the poller ``goiso serve`` runs on it: changes made elsewhere arrive,
and a wait ends at once when its stop is set (a real SQLite hall)."""

import threading
import time

from device.worker import Poller, Stop
from hall.events import Feed

WAIT = 5.0  # seconds: an upper bound for a loaded machine, never slept
LONG = 60.0  # a wait no test may sit through


def test_a_feed_wait_returns_at_once_when_its_stop_is_set(hall):
    feed = Feed(hall.log, poll_seconds=0.05)
    feed.poll()  # polled: a wait no longer wakes by itself to read the log
    stopping = threading.Event()
    found = []
    waiter = threading.Thread(target=lambda: found.append(feed.wait(feed.last_id, LONG,
                                                                    stop=stopping)))
    waiter.start()
    time.sleep(0.1)  # let it wait
    stopping.set()
    feed.interrupt()
    waiter.join(WAIT)
    assert not waiter.is_alive() and found == [[]]


def test_the_feed_poller_brings_changes_made_elsewhere(hall):
    stop = Stop()
    feed = Feed(hall.log, poll_seconds=0.05)
    last = feed.last_id
    Poller("feed", feed.poll, feed.poll_seconds).start(stop)
    issued = hall.issuing.issue("DEMO-GT-001")  # written without ringing the feed
    try:
        found = feed.wait(last, WAIT)
    finally:
        stop.set()
    assert [e.ticket for e in found if e.kind == "issued"] == [issued["id"]]


def test_an_event_committed_while_the_feed_first_fills_reaches_the_streams(hall):
    """The first fill reads the newest id, then the last 50 events: a change committed by this
    process in between (a printer's first state, say) must not be lost, nor make a waiting
    stream spin."""
    for _ in range(3):
        hall.issuing.issue("DEMO-GT-001")
    committed = []

    def offload(fn, *args):
        result = fn(*args)
        if fn == hall.log.since and not committed:
            # Between the two reads of the first fill: this process commits and publishes.
            hall.issuing.issue("DEMO-GT-001")
            committed.extend(hall.tx.take_committed())
            feed.publish(committed)
        return result

    hall.tx.take_committed()
    feed = Feed(hall.log, poll_seconds=0.05, offload=offload)
    first = feed.last_id  # the first fill, with a commit in the middle of it
    found = feed.wait(first, WAIT)
    assert [e.id for e in found] == [e.id for e in committed]
    assert found and found[-1].id > first
