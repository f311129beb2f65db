"""Caps on event streams: per client address and in all; beyond them 503 + Retry-After at once;
places given back however a stream ends; requests never wait behind streams."""

import pytest
import requests

from services.streams import RETRY_AFTER_S, StreamSlots
from tests.liveserver import LiveServer
from tests.plugins.waiting import wait_for
from tests.sseclient import Streams

EVENTS = "/api/v1/events"
# Between tries to open streams: a try that got some places and closed them leaves them taken
# until the server's next keep-alive write (each second here) finds the screen gone.
STEP = 2.5


# -- the counting --------------------------------------------------------------------------------

def test_slots_count_per_address_and_in_all():
    slots = StreamSlots(total=3, per_address=2)
    a1, a2 = slots.take("10.0.0.1"), slots.take("10.0.0.1")
    assert a1 and a2 and slots.take("10.0.0.1") is None  # the address has its two
    b1 = slots.take("10.0.0.2")
    assert b1 and slots.take("10.0.0.3") is None  # three in all
    a1.release()
    a1.release()  # once only, however often a stream's end is reported
    assert slots.open == 2 and slots.addresses() == 2
    assert slots.take("10.0.0.3")
    a2.release()
    b1.release()
    assert slots.addresses() == 1  # addresses that left are forgotten


# -- the door (Flask's test client: a response holds its place until it is closed) -------------

def stream(client, address: str = "127.0.0.1"):
    return client.get(EVENTS, buffered=False, environ_base={"REMOTE_ADDR": address})


def test_one_address_beyond_its_cap_is_refused_while_another_connects(other_app):
    app = other_app(max_streams=10, max_streams_per_address=2)
    client = app.test_client()
    held = [stream(client), stream(client)]
    assert [r.status_code for r in held] == [200, 200]
    refused = stream(client)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == str(RETRY_AFTER_S)
    assert refused.get_json()["error"]["code"] == "too_many_streams"
    other = stream(client, "10.0.0.7")
    assert other.status_code == 200 and other.mimetype == "text/event-stream"
    held[0].close()  # the screen left: its place is free again
    again = stream(client)
    assert again.status_code == 200
    for response in (held[1], other, again):
        response.close()
    assert app.extensions["goiso"].streams.open == 0


def test_the_total_cap(other_app):
    app = other_app(max_streams=3, max_streams_per_address=3)
    client = app.test_client()
    held = [stream(client, f"10.0.0.{n}") for n in range(3)]
    assert stream(client, "10.0.0.9").status_code == 503
    for response in held:
        response.close()
    assert stream(client, "10.0.0.9").status_code == 200


def test_a_refused_stream_answers_in_the_clients_language(other_app):
    app = other_app(max_streams=0)
    response = app.test_client().get(EVENTS, headers={"Accept-Language": "en"})
    assert response.status_code == 503
    assert "too many live connections" in response.get_json()["error"]["messages"]["en"]


def test_bad_input_takes_no_place(other_app):
    app = other_app(max_streams=1)
    client = app.test_client()
    assert client.get(EVENTS + "?last_event_id=-4").status_code == 400
    assert app.extensions["goiso"].streams.open == 0


def test_a_stream_that_fails_to_start_gives_its_place_back(other_app, monkeypatch):
    app = other_app(max_streams=1)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answered 500, as the real server does

    def broken(*args, **kwargs):
        raise RuntimeError("the stream could not start")

    monkeypatch.setattr("api.views.event_stream", broken)
    assert app.test_client().get(EVENTS).status_code == 500
    assert app.extensions["goiso"].streams.open == 0


def test_a_stream_that_fails_midway_gives_its_place_back(other_app, monkeypatch):
    app = other_app(max_streams=1)
    runtime = app.extensions["goiso"]
    response = stream(app.test_client())
    assert response.status_code == 200 and runtime.streams.open == 1

    def broken(*args, **kwargs):
        raise RuntimeError("the hall could not be read")

    monkeypatch.setattr(runtime, "read", broken)
    chunks = iter(response.response)
    assert next(chunks).startswith(b": goiso")  # the comment goes out before any read
    with pytest.raises(RuntimeError):
        next(chunks)
    # A WSGI server closes the response whatever its iteration raised (PEP 3333).
    response.close()
    assert runtime.streams.open == 0
    assert stream(app.test_client()).status_code == 200


# -- a real server -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    """goiso serve with room for 5 streams from one address, 8 in all."""
    env = {"GOISO_MAX_STREAMS": "8", "GOISO_MAX_STREAMS_PER_ADDRESS": "5"}
    with LiveServer(tmp_path_factory.mktemp("capped"), env=env) as server:
        yield server


def refused(server) -> requests.Response:
    response = requests.get(server.url(EVENTS), stream=True, timeout=5)
    response.close()
    return response


def test_places_come_back_when_screens_vanish(capped):
    with Streams(capped.port) as streams:
        streams.open(5)
        answer = refused(capped)
        assert answer.status_code == 503 and answer.headers["Retry-After"] == str(RETRY_AFTER_S)
        streams.abort()  # pulled cables: RST, nothing said
    # The server notices at its next write (a keep-alive each second here); then all five
    # places are free again.
    with Streams(capped.port) as streams:
        wait_for(lambda: _opens(streams), "five streams to open again after the others vanished",
                 timeout=30, step=STEP)
        streams.close()


def _opens(streams: Streams) -> bool:
    try:
        streams.open(5, timeout=3)
    except (AssertionError, TimeoutError):
        streams.close()  # what did open goes again (FIN), to be noticed like the others
        return False
    return True


def test_tickets_and_calls_answer_while_every_place_is_taken(capped):
    with Streams(capped.port) as streams:
        # (Streams an earlier test closed hold their places until the server's next write.)
        wait_for(lambda: _opens(streams), "five streams to open", timeout=30, step=STEP)
        assert refused(capped).status_code == 503
        for _ in range(5):
            status, ticket, took = capped.request("POST", "/api/v1/tickets",
                                                  {"procedure": "DEMO-GT-001"})
            assert status == 201, ticket
            assert took < 5.0
        frames = streams.wait_for("issued", ticket["number"], timeout=10)
        assert all(frames), "every open stream gets the event"
        streams.close()
