"""Pacing of the SSE streams (issue 10, defect 6): an event goes out at once, and so does the
second of two quick calls; only a burst is coalesced, one write per ``COALESCE_SECONDS``.

The pacer and the stream's generator run on the fake clock (no timed tests); the live tests
check on ``goiso serve`` that quick calls and a burst of tickets all reach an open stream, in
order.
"""

import json
import threading

import pytest

from api.stream import BURST_WRITES, COALESCE_SECONDS, Pacer, event_stream
from tests.plugins.web import issue

# -- the pacer, on the fake clock --------------------------------------------------------------


@pytest.fixture
def pacer(clock) -> Pacer:
    """A pacer on the fake clock whose sleep moves that clock."""
    return Pacer(clock=clock, sleep=clock.advance)


def write(pacer: Pacer) -> float:
    """Write as a stream does (wait out the pause, then write); the seconds waited."""
    waited = pacer.pause()
    pacer.wrote()
    return waited


def test_a_lone_event_goes_out_at_once(pacer, clock):
    assert write(pacer) == 0
    clock.advance(10)
    assert pacer.delay() == 0 and write(pacer) == 0


def test_the_second_of_two_quick_calls_goes_out_at_once(pacer, clock):
    assert write(pacer) == 0
    clock.advance(0.005)
    assert write(pacer) == 0
    clock.advance(0.030)  # and a third thing soon after (a ticket, a call) still does
    assert write(pacer) == 0


def test_a_burst_is_coalesced_with_a_bounded_wait(pacer, clock):
    waits = [write(pacer) for _ in range(BURST_WRITES)]
    assert waits == [0] * BURST_WRITES  # back to back, none waits yet
    assert pacer.delay() == pytest.approx(COALESCE_SECONDS)
    # A long burst: an event every millisecond for a second.  The stream writes once per
    # interval (each write carrying what came meanwhile), never waiting longer than that.
    writes, end = 0, clock() + 1.0
    while clock() < end:
        waited = write(pacer)
        assert 0 <= waited <= COALESCE_SECONDS + 1e-9
        writes += 1
        clock.advance(0.001)
    assert writes <= 1.0 / COALESCE_SECONDS + 1


def test_after_a_quiet_spell_writes_are_immediate_again(pacer, clock):
    for _ in range(3 * BURST_WRITES):
        write(pacer)
    assert pacer.delay() > 0
    clock.advance(COALESCE_SECONDS)  # a short lull earns one write
    assert write(pacer) == 0 and pacer.delay() > 0
    clock.advance(BURST_WRITES * COALESCE_SECONDS)  # a quiet spell earns the whole burst back
    assert [write(pacer) for _ in range(BURST_WRITES)] == [0] * BURST_WRITES


def test_a_write_that_did_not_wait_never_owes_more_than_one_interval(pacer):
    for _ in range(10 * BURST_WRITES):
        pacer.wrote()  # writes that did not wait (the stream's replay, say)
    assert pacer.delay() == pytest.approx(COALESCE_SECONDS)


# -- the stream's generator, on the fake clock -------------------------------------------------


def open_stream(app, pacer):
    """The generator of ``GET /api/v1/events`` for all queues, past its comment and state."""
    runtime = app.extensions["goiso"]
    response = event_stream(runtime, None, (), (), keepalive=30, pacer=pacer).response
    chunks = (chunk.decode() for chunk in response)
    assert next(chunks).startswith(": goiso")
    assert "event: state" in next(chunks)
    return chunks


def issue_now(client) -> str:
    """Issue a ticket through the API (which rings the feed); its number."""
    return issue(client, "DEMO-GT-001")["number"]


def issued_numbers(chunk: str) -> list[str]:
    return [json.loads(line[len("data: "):])["data"]["number"]
            for line in chunk.split("\n")
            if line.startswith("data: ") and '"kind": "issued"' in line]


def test_the_stream_writes_two_quick_events_without_a_pause(app, client, clock):
    slept = []
    chunks = open_stream(app, Pacer(clock=clock, sleep=slept.append))
    first = issue_now(client)
    assert issued_numbers(next(chunks)) == [first]
    clock.advance(0.010)
    second = issue_now(client)
    assert issued_numbers(next(chunks)) == [second]
    assert slept == []


def test_in_a_burst_the_stream_writes_what_came_during_its_pause_at_once(app, client, clock):
    slept, meanwhile = [], []

    def pause(seconds: float) -> None:
        slept.append(seconds)
        meanwhile.extend(issue_now(client) for _ in range(3))  # tickets issued while it waits
        clock.advance(seconds)

    chunks = open_stream(app, Pacer(clock=clock, sleep=pause))
    for _ in range(BURST_WRITES):
        number = issue_now(client)
        assert issued_numbers(next(chunks)) == [number]
    assert slept == []
    number = issue_now(client)
    assert issued_numbers(next(chunks)) == [number, *meanwhile]  # one write, in order
    assert slept == [pytest.approx(COALESCE_SECONDS)]


# -- on a live server --------------------------------------------------------------------------


def frames_of(stream, kind: str) -> list[dict]:
    return [{"id": f.id, **f.json()} for f in stream.frames if f.kind == kind]


@pytest.mark.slow
def test_two_quick_calls_both_reach_an_open_stream_in_order(live_server, streams):
    for _ in range(2):
        live_server.issue("DEMO-GT-001")
    [stream] = streams.open(1)
    first = live_server.act(1)["number"]
    second = live_server.act(2)["number"]
    assert streams.pump(lambda: len(frames_of(stream, "called")) >= 2, 5), stream.frames
    called = frames_of(stream, "called")
    assert [(c["counter"], c["data"]["number"]) for c in called] == [(1, first), (2, second)]
    assert called[0]["id"] < called[1]["id"]


@pytest.mark.slow
def test_a_burst_of_tickets_reaches_an_open_stream_whole_and_in_order(live_server, streams):
    [stream] = streams.open(1)
    issued: list[dict] = []

    def kiosk() -> None:
        for _ in range(5):
            issued.append(live_server.issue("DEMO-GT-007"))

    kiosks = [threading.Thread(target=kiosk) for _ in range(4)]
    for thread in kiosks:
        thread.start()
    for thread in kiosks:
        thread.join(30)
    assert streams.pump(lambda: len(frames_of(stream, "issued")) >= len(issued), 5)
    events = frames_of(stream, "issued")
    assert [e["id"] for e in events] == sorted({e["id"] for e in events})  # in order, no twice
    assert sorted(e["data"]["number"] for e in events) == sorted(t["number"] for t in issued)
