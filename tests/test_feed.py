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
