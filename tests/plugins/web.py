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
* ``live_server`` (module): ``goiso serve --demo`` (gunicorn + gevent) in a subprocess
  (``tests.liveserver.LiveServer``: configurable and restartable, for tests that need more).
* ``streams``: ``GET /api/v1/events`` streams on the live server (``tests.sseclient.Streams``).
"""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.liveserver import LiveServer
from tests.sseclient import Streams

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
HX = {"HX-Request": "true"}  # what htmx adds to its requests
DOI_GPLX = "Đổi giấy phép lái xe do ngành Giao thông vận tải cấp"  # DEMO-GT-001's name
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
    from hall.rules import Rules
    from server import create_app
    from settings import Settings

    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, data_dir / "goiso.db")
    # Tests issue many tickets from one test client: the tickets-a-minute limits are off
    # unless a test passes rules of its own (tests/test_issue_limits.py).
    settings.setdefault("rules", Rules(kiosk_tickets_per_minute=0, client_tickets_per_minute=0))
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
    """Issue a ticket through the JSON API (201) and return it."""
    response = client.post("/api/v1/tickets", json={"procedure": procedure, **extra})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def issue_in_hall(app: Flask, procedure: str = "DEMO-GT-001", **extra) -> dict:
    """A ticket issued straight through the app's hall (no door, no printer)."""
    runtime = app.extensions["goiso"]
    return runtime.act(runtime.hall.issuing.issue, procedure, **extra)


def sheet(app: Flask, token: str) -> dict:
    """The ticket as the hall has it now, printing state included."""
    return app.extensions["goiso"].hall.printing.sheet(token)


# -- pages --------------------------------------------------------------------------------------

def csrf_of(html: str) -> str:
    """The CSRF token a page carries in its <meta name="csrf-token">."""
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html)[1]


def local_links(html: str) -> list[str]:
    """Every address the page loads or links to; fails on any that leaves the server."""
    assert "http://" not in html and "https://" not in html
    links = re.findall(r'\s(?:src|href|action|hx-get|hx-post|sse-connect)=["\']([^"\']*)', html)
    for link in links:
        assert link.startswith(("/", "?", "data:")) and not link.startswith("//"), link
    return links


def new_key() -> str:
    """A fresh request key, as a kiosk makes one per tap."""
    return secrets.token_urlsafe(12)


def tap(client, csrf: str, procedure: str | None = "DEMO-GT-001", key: str | None = None,
        priority: str = "", kiosk: str = "k1"):
    """A kiosk's procedure button tapped, as htmx sends it (hx-vals as a form, the page's
    token)."""
    form = {"procedure": procedure, "key": new_key() if key is None else key,
            "priority": priority}
    form = {name: value for name, value in form.items() if value is not None}
    return client.post(f"/kiosk/{kiosk}/tickets", data=form,
                       headers={**HX, "X-CSRFToken": csrf})


# -- live server --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """`goiso serve --demo` on a free port (one gevent process), keep-alive every second."""
    with LiveServer(tmp_path_factory.mktemp("live")) as server:
        yield server


@pytest.fixture
def streams(live_server) -> Iterator[Streams]:
    """Event streams on the live server (``tests.sseclient``), all closed at the end."""
    with Streams(live_server.port) as opened:
        yield opened
