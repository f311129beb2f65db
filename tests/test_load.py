"""Hundreds of open screens against the real server: ``goiso serve`` (gunicorn, one gevent
worker) as a subprocess, 200 raw-socket SSE clients held by one thread of the test.

A threaded server with a few workers would freeze once its threads are all parked in event
streams; the gevent worker must keep answering, deliver every call to every screen, and shrug
off screens that vanish without a goodbye (RST, as a pulled cable or a crashed browser).
"""

import time

import pytest

from tests.liveserver import ONE_MACHINE, LiveServer
from tests.sseclient import Streams

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

STREAMS = 200
ANSWER_WITHIN = 1.0  # seconds: "not frozen", generous for a loaded test machine
KEEPALIVE = 1.0  # seconds between keep-alives: how soon a vanished screen is noticed
MB = 1024 * 1024


@pytest.fixture(scope="module")
def server():
    # Every stream comes from this one machine: the per-address cap would refuse most.
    with LiveServer(env={"GOISO_SSE_KEEPALIVE_SECONDS": str(KEEPALIVE), **ONE_MACHINE}) as live:
        yield live
        assert live.alive(), live.output()


def issue(server, count: int = 1) -> list[str]:
    numbers = []
    for _ in range(count):
        status, ticket, took = server.request("POST", "/api/v1/tickets",
                                              {"procedure": "DEMO-GT-001"})
        assert status == 201, ticket
        assert took < ANSWER_WITHIN, f"POST /api/v1/tickets took {took:.3f} s"
        numbers.append(ticket["number"])
    return numbers


def call_next(server) -> str:
    status, ticket, took = server.request("POST", "/api/v1/counters/1/next",
                                          token=server.tokens[1])
    assert status == 200, ticket
    assert took < ANSWER_WITHIN, f"POST /api/v1/counters/1/next took {took:.3f} s"
    return ticket["number"]


def assert_answers(server) -> None:
    status, state, took = server.request("GET", "/api/v1/hall")
    assert status == 200 and "queues" in state
    assert took < ANSWER_WITHIN, f"GET /api/v1/hall took {took:.3f} s"
    issue(server)


def assert_called_everywhere(server, streams: Streams) -> None:
    number = call_next(server)
    frames = streams.wait_for("called", f'"number": "{number}"', 15)
    missing = sum(1 for f in frames if f is None)
    assert not missing, f"{missing} of {len(frames)} streams never got the call of {number}"


def open_connections(server) -> int:
    """TCP connections the worker still holds (its listening socket aside)."""
    import psutil

    return sum(1 for c in psutil.Process(server.worker).net_connections("tcp")
               if c.status != psutil.CONN_LISTEN)


def wait_reaped(server, timeout: float) -> int:
    end = time.monotonic() + timeout
    while (left := open_connections(server)) > 2 and time.monotonic() < end:
        time.sleep(0.2)
    return left


def test_requests_answer_while_200_streams_are_open(server):
    with Streams(server.port) as streams:
        streams.open(STREAMS)
        assert all(s.status == 200 for s in streams.streams)
        assert all(s.headers["content-type"].startswith("text/event-stream")
                   for s in streams.streams)
        for _ in range(5):
            assert_answers(server)
        # The streams are still served while the requests come and go.
        streams.pump(lambda: False, KEEPALIVE * 1.5)
        assert not any(s.closed for s in streams.streams)


def test_a_call_reaches_all_200_streams(server):
    issue(server, 3)
    with Streams(server.port) as streams:
        streams.open(STREAMS)
        for _ in range(3):
            assert_called_everywhere(server, streams)
            streams.forget_frames()


def test_abrupt_disconnects_leave_the_server_healthy(server):
    rss = []
    issue(server, 10)
    for _ in range(5):
        with Streams(server.port) as streams:
            streams.open(STREAMS)
            assert_called_everywhere(server, streams)
            streams.abort()  # RST from all 200 at once, nothing read
            assert_answers(server)
            # 200 new streams, opened before the dead ones are noticed, are served beside them.
            streams.open(STREAMS)
            assert_called_everywhere(server, streams)
            streams.abort()
        assert_answers(server)
        left = wait_reaped(server, KEEPALIVE * 3 + 5)
        assert left <= 2, f"the worker still holds {left} connections of vanished screens"
        rss.append(server.rss()[1])
    print("\nworker RSS after each round of 2x200 aborted streams: "
          + ", ".join(f"{r / MB:.1f} MB" for r in rss))
    # Memory settles after the first rounds rather than growing with every round.
    assert rss[-1] - rss[1] < 8 * MB, rss
    assert max(rss) < 150 * MB, rss


def test_vanished_screens_are_noticed_with_nothing_happening(server):
    """With no event to write, the keep-alive finds the dead streams."""
    with Streams(server.port) as streams:
        streams.open(STREAMS)
        streams.abort()
    status, _, took = server.request("GET", "/api/v1/hall")  # a read: wakes no stream
    assert status == 200 and took < ANSWER_WITHIN
    left = wait_reaped(server, KEEPALIVE * 3 + 5)
    assert left <= 2, f"the worker still holds {left} connections of vanished screens"
    with Streams(server.port) as streams:
        streams.open(1)
        issue(server)
        assert_called_everywhere(server, streams)
