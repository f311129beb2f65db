"""Ten counters pressing "next" at once, each its own way, never get the same ticket.

A real ``goiso serve --demo`` (gunicorn + gevent) with one ``[serial.desk]`` bus on a fake
device (a socat pty pair): keypads 1-4 and displays 11-14 for counters 1-4. Every counter
serves GPLX; 300 GPLX tickets wait. Then, all together until nobody is left:

* counters 1-4 press 'N' on their keypads (each waits for its ack, as a keypad does);
* counters 5-6 press the counter page's button (``POST /counter/<n>/act/next``, as htmx sends
  it for a click or a key of the page), clerks signed in at those counters;
* counters 7-10 call ``POST /api/v1/counters/<n>/next`` with their device tokens.

The database (read-only) must then show every ticket called exactly once, by one counter.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.fakekeypad import FakeBusDevice
from tests.liveserver import LiveServer
from tests.plugins.printers import socat_children

pytestmark = pytest.mark.slow

TICKETS = 300
PROCEDURE = "DEMO-GT-001"  # queue GPLX
KEYPADS = {1: 1, 2: 2, 3: 3, 4: 4}  # counter -> keypad address
DISPLAYS = {1: 11, 2: 12, 3: 13, 4: 14}  # counter -> display address
PAGES = {5: "giang", 6: "hoa"}  # counter -> clerk signed in there
API_COUNTERS = (7, 8, 9, 10)
TIMEOUT = 30.0  # per request or ack: generous, for a loaded machine
RACE_DEADLINE = 120.0


def config_text(port: str) -> str:
    devices = [f'{{ address = {a}, kind = "keypad", counter = {c} }}' for c, a in KEYPADS.items()]
    devices += [f'{{ address = {a}, kind = "display", counter = {c} }}'
                for c, a in DISPLAYS.items()]
    return f'[serial.desk]\nport = "{port}"\ndevices = [{", ".join(devices)}]\n'


def session_for(server, login: str, counter: int | None = None) -> requests.Session:
    """A browser-like session signed in through the JSON API, sending its CSRF token."""
    session = requests.Session()
    csrf = session.get(server.url("/api/v1/session"), timeout=TIMEOUT).json()["csrf_token"]
    body = {"login": login, "pin": server.pins[login]}
    if counter is not None:
        body["counter"] = counter
    reply = session.post(server.url("/api/v1/session"), json=body,
                         headers={"X-CSRFToken": csrf}, timeout=TIMEOUT)
    assert reply.status_code == 201, reply.text
    session.headers["X-CSRFToken"] = reply.json()["csrf_token"]
    return session


@pytest.fixture
def fake(tmp_path):
    with FakeBusDevice(tmp_path / "bus") as device:
        yield device
    assert socat_children() == []


@pytest.fixture
def server(tmp_path, fake):
    with LiveServer(tmp_path / "data", config_text=config_text(fake.device)) as server:
        yield server


def _code(queue: str | dict) -> str:
    return queue if isinstance(queue, str) else queue["code"]


def set_up_counters(server) -> dict[int, str]:
    """Counters 7-10 created, all ten serving GPLX; API tokens for 7-10."""
    supervisor = session_for(server, "giamsat")
    existing = {c["number"]: c for c in
                supervisor.get(server.url("/api/v1/counters"), timeout=TIMEOUT).json()}
    assert set(existing) == {1, 2, 3, 4, 5, 6}
    for number in range(1, 11):
        queues = [_code(q) for q in existing.get(number, {}).get("queues", [])]
        queues += [] if "GPLX" in queues else ["GPLX"]
        reply = supervisor.put(server.url(f"/api/v1/counters/{number}"),
                               json={"name": f"Quầy {number}", "queues": queues},
                               timeout=TIMEOUT)
        assert reply.status_code == 200, reply.text
        assert "GPLX" in [_code(q) for q in reply.json()["queues"]]
    admin = session_for(server, "quantri")
    tokens = {}
    for number in API_COUNTERS:
        reply = admin.post(server.url(f"/api/v1/counters/{number}/tokens"), timeout=TIMEOUT)
        assert reply.status_code == 201, reply.text
        tokens[number] = reply.json()["token"]
    return tokens


def issue_tickets(server, count: int) -> list[str]:
    local = threading.local()

    def issue(_):
        if not hasattr(local, "session"):
            local.session = requests.Session()
        reply = local.session.post(server.url("/api/v1/tickets"), json={"procedure": PROCEDURE},
                                   timeout=TIMEOUT)
        assert reply.status_code == 201, reply.text
        return reply.json()["number"]

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(issue, range(count)))


def test_ten_counters_calling_at_once_never_share_a_ticket(server, fake):
    # The bus is up: every display was told its counter's (empty) number.
    for address in DISPLAYS.values():
        assert fake.wait_for_display(address, "", 15), fake.displays
    tokens = set_up_counters(server)
    pages = {n: session_for(server, login, n) for n, login in PAGES.items()}
    numbers = issue_tickets(server, TICKETS)
    assert len(set(numbers)) == TICKETS

    start = threading.Barrier(len(KEYPADS) + len(PAGES) + len(API_COUNTERS))
    deadline = time.monotonic() + RACE_DEADLINE
    calls: Counter[int] = Counter()  # counter -> successful "next" presses
    line = threading.Lock()  # one device talks on the line at a time (RS-485)
    errors: list[str] = []

    def keypad(counter: int) -> None:
        address = KEYPADS[counter]
        start.wait()
        while time.monotonic() < deadline:
            with line:
                seq = fake.next_seq(address)
                sent = len(fake.acks_for(address, seq)) + 1  # SEQ wraps after 255 presses
                fake.press(address, "N", seq=seq)
            result = fake.wait_for_ack(address, seq, TIMEOUT, count=sent)
            for _ in range(3):  # no ack: the keypad sends the same frame again
                if result is not None:
                    break
                with line:
                    fake.press(address, "N", seq=seq)
                result = fake.wait_for_ack(address, seq, TIMEOUT, count=sent)
            if result is None:
                errors.append(f"keypad {address}: no ack for SEQ {seq}")
                return
            if result == "-":
                return  # nobody left
            calls[counter] += 1
        errors.append(f"keypad {address}: still calling at the deadline")

    def page(counter: int) -> None:
        session = pages[counter]
        url = server.url(f"/counter/{counter}/act/next")
        start.wait()
        while time.monotonic() < deadline:
            reply = session.post(url, headers={"HX-Request": "true"}, timeout=TIMEOUT)
            if reply.status_code == 409 and f"Không còn ai chờ ở quầy {counter}" in reply.text:
                return
            if reply.status_code != 200:
                errors.append(f"page {counter}: HTTP {reply.status_code}")
                return
            calls[counter] += 1
        errors.append(f"page {counter}: still calling at the deadline")

    def api(counter: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {tokens[counter]}"
        url = server.url(f"/api/v1/counters/{counter}/next")
        start.wait()
        while time.monotonic() < deadline:
            reply = session.post(url, timeout=TIMEOUT)
            if reply.status_code == 204:
                return
            if reply.status_code != 200:
                errors.append(f"api {counter}: HTTP {reply.status_code}: {reply.text[:200]}")
                return
            calls[counter] += 1
        errors.append(f"api {counter}: still calling at the deadline")

    workers = [threading.Thread(target=keypad, args=(n,)) for n in KEYPADS]
    workers += [threading.Thread(target=page, args=(n,)) for n in PAGES]
    workers += [threading.Thread(target=api, args=(n,)) for n in API_COUNTERS]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(RACE_DEADLINE + 2 * TIMEOUT)
    assert not [w for w in workers if w.is_alive()]
    assert errors == []
    assert sum(calls.values()) == TICKETS, calls

    # -- what the database says (read-only, beside the running server) -----------------------
    db = sqlite3.connect(f"file:{server.data_dir / 'goiso.db'}?mode=ro", uri=True)
    try:
        tickets = {r[0]: r[1:] for r in db.execute(
            "SELECT id, number, status, counter_number FROM tickets")}
        log = db.execute("SELECT kind, ticket_id, counter_number FROM events"
                         " WHERE kind IN ('called', 'finished') ORDER BY id").fetchall()
        others = db.execute("SELECT kind, count(*) FROM events WHERE kind IN ('recalled',"
                            " 'no_show', 'transferred', 'reactivated') GROUP BY kind").fetchall()
        current = [r[0] for r in db.execute(
            "SELECT current_ticket_id FROM counters WHERE current_ticket_id IS NOT NULL")]
        holders = {r[0]: r[1] for r in db.execute(
            "SELECT current_ticket_id, number FROM counters WHERE current_ticket_id IS NOT NULL")}
    finally:
        db.close()

    assert sorted(t[0] for t in tickets.values()) == sorted(numbers)
    called = [(t, c) for kind, t, c in log if kind == "called"]
    finished = [(t, c) for kind, t, c in log if kind == "finished"]
    # Every ticket called exactly once, by one counter, which alone finished it.
    per_ticket = Counter(ticket for ticket, _ in called)
    assert set(per_ticket) == set(tickets)
    assert set(per_ticket.values()) == {1}
    caller = dict(called)
    assert all(tickets[t][2] == caller[t] for t in tickets)
    assert all(caller[t] == c for t, c in finished)
    assert len({t for t, _ in finished}) == len(finished)
    assert others == []
    # No two counters ever held the same ticket, nor a counter two tickets: replay the log.
    holder: dict[int, int] = {}  # ticket -> the counter serving it
    serves: dict[int, int] = {}  # counter -> the ticket it serves
    for kind, ticket, counter in log:
        if kind == "called":
            assert ticket not in holder and counter not in serves, (ticket, counter)
            holder[ticket], serves[counter] = counter, ticket
        else:
            assert holder.pop(ticket) == counter and serves.pop(counter) == ticket
    assert holder == holders  # what is left is what the counters serve now
    # Each ticket ended finished, or is the current ticket of exactly one counter.
    assert len(current) == len(set(current))
    for ticket, (number, status, counter) in tickets.items():
        if status == "done":
            assert ticket not in current, number
        else:
            assert status == "called", (number, status)
            assert holders.get(ticket) == counter, (number, counter, holders.get(ticket))
    # Every counter called, and each said so as often as it called.
    per_counter = Counter(c for _, c in called)
    assert set(per_counter) == set(range(1, 11)), per_counter
    assert per_counter == calls
    # The displays of the keypad counters show what their counters serve now.
    serving = {c: tickets[t][0] for t, c in holders.items()}
    for counter, address in DISPLAYS.items():
        assert fake.wait_for_display(address, serving.get(counter, ""), 10), (
            counter, fake.displays.get(address), serving.get(counter))
