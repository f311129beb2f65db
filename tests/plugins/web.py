"""Fixtures for the web app: an app on a real SQLite file, its clients, a live server.

* ``demo_db`` (session): the demo hall seeded once with ``hall.demo.seed``; its file and the
  seed's result (PINs, counter tokens).  Seeding hashes eight PINs, so apps copy this file.
* ``app``: ``create_app(Settings(data_dir=tmp_path), testing=True)`` on a copy of that file;
  ``app.config["DEMO"]`` is the seed's result (also the ``demo`` fixture).
* ``other_app``: builds more apps on copies of the demo hall, with settings of their own.
* ``client``: an anonymous test client.
* ``clerk_client`` / ``supervisor_client`` / ``admin_client``: signed in through
  ``POST /api/v1/session`` (clerk "an" at counter 1); they send ``X-CSRFToken`` on unsafe
  requests unless called with ``csrf=False``.
* ``live_server`` (module): ``goiso serve --demo`` (gunicorn + gevent) in a subprocess.
* ``start_live_server(data_dir, port, config_text, demo)``: the same, configurable and
  restartable (same data dir and port, ``demo=False``); stop it with ``stop(server.process)``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[2]
GOISO = Path(sys.executable).with_name("goiso")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
TABLES = ("tickets", "events", "counters", "counter_queues", "queues", "procedures", "fields",
          "kiosks", "boards", "clerks", "api_tokens", "queue_days")


class StaffClient(FlaskClient):
    """A test client that sends its CSRF token on unsafe requests (``csrf=False`` to omit)."""

    csrf_token: str | None = None

    def open(self, *args, csrf: bool = True, **kwargs):
        """Like FlaskClient.open, adding X-CSRFToken to POST/PUT/DELETE."""
        method = str(kwargs.get("method", "GET")).upper()
        if csrf and self.csrf_token and method not in SAFE_METHODS:
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", self.csrf_token)
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)


def sign_in(client: FlaskClient, login: str, pin: str, counter: int | None = None):
    """Sign ``client`` in through the JSON API; returns the response of POST /api/v1/session."""
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    body = {"login": login, "pin": pin}
    if counter is not None:
        body["counter"] = counter
    response = client.post("/api/v1/session", json=body, headers={"X-CSRFToken": token})
    if response.status_code == 201 and isinstance(client, StaffClient):
        client.csrf_token = response.get_json()["csrf_token"]
    return response


def staff_client(app: Flask, login: str, counter: int | None = None) -> StaffClient:
    """A StaffClient signed in as ``login`` (a demo clerk) at ``counter``."""
    client = StaffClient(app, app.response_class, use_cookies=True)
    response = sign_in(client, login, app.config["DEMO"]["pins"][login], counter)
    assert response.status_code == 201, response.get_data(as_text=True)
    return client


def make_app(data_dir: Path, template: Path, demo: dict, **settings) -> Flask:
    """An app whose database starts as a copy of the seeded ``template``; ``settings`` are
    fields of ``settings.Settings`` (``kiosk=KioskOptions(...)``)."""
    from server import create_app
    from settings import Settings

    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, data_dir / "goiso.db")
    app = create_app(Settings(data_dir=data_dir, **settings), testing=True)
    app.config["DEMO"] = demo
    return app


def close_app(app: Flask) -> None:
    """Close the hall's database connections."""
    app.extensions["goiso"].hall.close()


def db_state(app: Flask) -> dict[str, list[tuple]]:
    """Every row of every hall table, read through the hall's store."""
    with app.extensions["goiso"].hall.store.read() as conn:
        return {table: [tuple(row) for row in conn.execute(f"SELECT * FROM {table}")]
                for table in TABLES}


def row_count(app: Flask, table: str) -> int:
    """How many rows ``table`` has now."""
    with app.extensions["goiso"].hall.store.read() as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> tuple[Path, dict]:
    """The demo hall seeded once: (database file, result of hall.demo.seed)."""
    from hall import Hall
    from hall.demo import seed

    folder = tmp_path_factory.mktemp("demo-template")
    hall = Hall.open(folder / "seeded.db")
    try:
        demo = seed(hall)
        hall.store.backup(folder / "goiso.db")
    finally:
        hall.close()
    return folder / "goiso.db", demo


@pytest.fixture
def app(tmp_path, demo_db) -> Iterator[Flask]:
    """The web app on a real SQLite file in tmp_path, seeded with the demo hall."""
    app = make_app(tmp_path / "data", *demo_db)
    yield app
    close_app(app)


@pytest.fixture
def other_app(tmp_path, demo_db):
    """Build more apps on copies of the demo hall, each with settings of its own:
    ``other_app(kiosk=KioskOptions(...))``; they are closed after the test."""
    made = []

    def build(**settings):
        made.append(make_app(tmp_path / f"other{len(made)}", *demo_db, **settings))
        return made[-1]

    yield build
    for built in made:
        close_app(built)


@pytest.fixture
def demo(app) -> dict:
    """The demo seed's result: {"pins": {login: pin}, "tokens": {counter: token}, "clerks"}."""
    return app.config["DEMO"]


@pytest.fixture
def client(app) -> FlaskClient:
    """An anonymous test client."""
    return app.test_client()


@pytest.fixture
def clerk_client(app) -> StaffClient:
    """A client signed in as clerk "an" at counter 1."""
    return staff_client(app, "an", 1)


@pytest.fixture
def supervisor_client(app) -> StaffClient:
    """A client signed in as supervisor "giamsat" (at no counter)."""
    return staff_client(app, "giamsat")


@pytest.fixture
def admin_client(app) -> StaffClient:
    """A client signed in as admin "quantri" (at no counter)."""
    return staff_client(app, "quantri")


def error_of(response, status: int, code: str | None = None) -> dict:
    """Check the one error shape and the status; return the error object."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "messages"}
    assert isinstance(error["code"], str) and error["code"]
    if code is not None:
        assert error["code"] == code, error
    assert set(error["messages"]) == {"vi", "en"}
    assert all(isinstance(t, str) and t.strip() for t in error["messages"].values())
    assert error["message"] in error["messages"].values()
    return error


def issue(client, procedure: str = "DEMO-GT-001", **extra) -> dict:
    """Issue a ticket (201) and return it."""
    response = client.post("/api/v1/tickets", json={"procedure": procedure, **extra})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


# -- live server --------------------------------------------------------------------------------

PIN_LINE = re.compile(r"^\s+([a-z]+)\s+(\d{6})\s+\S")
TOKEN_LINE = re.compile(r"qu\S*y (\d+): (gs_\S+)")


@dataclass
class LiveServer:
    """A running ``goiso serve``: where it listens, and the PINs and tokens --demo printed."""

    base_url: str
    data_dir: Path
    process: subprocess.Popen
    pins: dict[str, str] = field(default_factory=dict)
    tokens: dict[int, str] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        """The absolute URL of ``path``."""
        return self.base_url + path


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def goiso_env(**extra: str) -> dict[str, str]:
    """The environment for a goiso subprocess: unbuffered, no GOISO_* leaking in from outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOISO_")}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


def _wait_ready(server: LiveServer, lines_done: threading.Event, deadline: float,
                demo: bool = True) -> None:
    import requests

    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            # With --demo the server prints PINs and six counter tokens before it listens.
            if requests.get(server.url("/"), timeout=2).status_code == 200 and \
                    lines_done.wait(0) and (not demo or len(server.tokens) == 6):
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    stop(server.process)
    pytest.fail("goiso serve did not start:\n" + "\n".join(server.output))


def start_live_server(data_dir: Path, port: int | None = None, config_text: str | None = None,
                      demo: bool = True) -> LiveServer:
    """Start `goiso serve` (gunicorn + gevent) on ``data_dir`` and wait until it answers.

    ``config_text`` is written to ``<data_dir>/goiso.toml`` and passed as ``--config``;
    ``demo`` seeds the demo hall (fresh PINs and tokens).  To restart a server on the same
    data dir and port, ``stop`` it and call this again with ``demo=False``.
    The caller stops it with ``stop(server.process)``.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    command = [str(GOISO), "serve", "--data-dir", str(data_dir), "--port", str(port)]
    if config_text is not None:
        config = data_dir / "goiso.toml"
        config.write_text(config_text, encoding="utf-8")
        command += ["--config", str(config)]
    if demo:
        command.append("--demo")
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=goiso_env(GOISO_SSE_KEEPALIVE_SECONDS="1", GOISO_SSE_POLL_SECONDS="0.2"))
    server = LiveServer(f"http://127.0.0.1:{port}", data_dir, process)
    printed = threading.Event()

    def read_output():
        for line in process.stdout:
            server.output.append(line.rstrip("\n"))
            if m := PIN_LINE.match(line):
                server.pins[m[1]] = m[2]
            elif m := TOKEN_LINE.search(line):
                server.tokens[int(m[1])] = m[2]
            elif line.startswith("goiso:"):
                printed.set()

    threading.Thread(target=read_output, daemon=True, name="goiso-live-output").start()
    _wait_ready(server, printed, time.monotonic() + 30, demo)
    return server


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """`goiso serve --demo` on a free port (gunicorn + gevent), keep-alive every second."""
    server = start_live_server(tmp_path_factory.mktemp("live"))
    try:
        yield server
    finally:
        stop(server.process)


def stop(process: subprocess.Popen) -> None:
    """Stop a `goiso serve`: SIGINT is gunicorn's quick shutdown (SIGTERM waits for streams)."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
