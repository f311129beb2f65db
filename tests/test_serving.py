"""serving: ``goiso serve`` as one process (gevent's WSGI server) by default, gunicorn when the
settings say so; a real server in a subprocess (tests/liveserver.py)."""

import http.client
import signal
import sqlite3
import threading

import psutil
import pytest

import serving
from tests.liveserver import LiveServer
from tests.sseclient import Streams

pytestmark = pytest.mark.slow


def terminate(server: LiveServer, timeout: float = 10.0) -> int:
    """Send SIGTERM and wait for the server's exit status."""
    server.process.send_signal(signal.SIGTERM)
    return server.process.wait(timeout=timeout)


def test_one_process_answers_streams_and_ends_them_on_sigterm(tmp_path):
    with LiveServer(tmp_path / "data") as server:
        assert psutil.Process(server.master).children() == []
        assert server.worker == server.master
        with Streams(server.port) as streams:
            opened = streams.open(5)
            assert all(s.status == 200 for s in opened)
            ticket = server.issue()
            frames = streams.wait_for("issued", ticket["number"], timeout=10)
            assert all(frames)
            idle = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            idle.request("GET", "/api/v1/hall")
            assert idle.getresponse().read()  # the connection stays open, idle (keep-alive)
            # Idle connections and streams end at once: well before the 5 s left to requests.
            assert terminate(server, timeout=serving.GRACEFUL_SECONDS - 1) == 0
            idle.close()
            assert streams.pump(lambda: all(s.closed for s in opened), timeout=5)
        assert "Traceback" not in server.output()


def test_sigterm_while_tickets_are_issued_loses_none(tmp_path):
    server = LiveServer(tmp_path / "data").start()
    issued, refused, wrong = [], [], []
    stop = threading.Event()

    def kiosk():
        while not stop.is_set():
            try:
                status, body, _ = server.request("POST", "/api/v1/tickets",
                                                 {"procedure": "DEMO-GT-001"}, timeout=10)
            except (OSError, http.client.HTTPException):
                refused.append(1)
                if not server.alive():
                    return
                continue
            if status == 201:
                issued.append(body["id"])
            else:
                wrong.append((status, body))

    kiosks = [threading.Thread(target=kiosk) for _ in range(4)]
    for thread in kiosks:
        thread.start()
    try:
        while len(issued) < 20:
            assert all(t.is_alive() for t in kiosks)
            threading.Event().wait(0.01)
        assert terminate(server) == 0
    finally:
        stop.set()
        for thread in kiosks:
            thread.join(15)
        server.close()
    with sqlite3.connect(tmp_path / "data" / "goiso.db") as db:
        stored = {row[0] for row in db.execute("SELECT id FROM tickets")}
    assert wrong == []
    # Every ticket a kiosk was told of is stored, and none is stored that no kiosk was told of.
    assert stored == set(issued)


def test_gunicorn_when_configured(tmp_path):
    config = '[server]\nprocess_model = "gunicorn"\n'
    with LiveServer(tmp_path / "data", config_text=config) as server:
        assert server.worker != server.master
        assert psutil.Process(server.worker).parent().pid == server.master
        assert server.issue()["status"] == "waiting"
        assert terminate(server) == 0


class Body(list):
    """A WSGI body that notes its closing."""

    closed = False

    def close(self):
        self.closed = True


@pytest.mark.parametrize("kind,busy_while_sent", [("text/html", True),
                                                  ("text/event-stream", False)])
def test_requests_are_tracked_until_closed_streams_never_busy(kind, busy_while_sent):
    single = serving.SingleServer(settings=None)
    body = Body([b"one", b"two"])

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", kind)])
        return body

    reply = single._tracking(app)({}, lambda *args: None)
    assert next(reply) == b"one"
    assert bool(single.busy) is busy_while_sent
    assert list(reply) == [b"two"]
    assert body.closed and not single.busy
