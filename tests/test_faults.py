"""Faults of the machine under the hall: a full disk, the database locked by another process,
the wall clock jumping forward and back (NTP at boot).

* Disk full on a real small file system (a tmpfs mounted for the test; skipped where mounting
  is not allowed): new tickets are refused with a clear, bilingual 503, nothing is corrupted,
  staff see it (``/healthz`` not ok, a monitor alert), and issuing recovers when space returns.
* An outside process holding the database: issues wait and succeed within the busy timeout, or
  answer a clear retryable ``database_busy``; nothing lost, nothing half-written.
* The clock stepping back or forward: the queue stays in issue order, waits are never
  negative, the day's reset happens once per day and numbers are never reused.

* A kiosk printer (a fake ESC/POS printer on TCP) going offline in the middle of a job: the
  ticket stays issued and waiting, staff see it unprinted, and once the printer is back a
  reprint prints it once (nothing else printed again).

The lowest-layer printer and keypad faults (unplugged, out of paper, cover open, a pty closed
mid-use, garbage bytes, partial frames) are in ``tests/test_spooler.py``,
``tests/test_printers.py``, ``tests/test_hardware.py`` and ``tests/test_bus.py``.
"""

import contextlib
import json
import os
import sqlite3
import subprocess
import threading
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

import hall.store
from hall.errors import DatabaseBusy, DiskFull
from tests.hallproc import QUEUES, audit, build
from tests.liveserver import LiveServer

# -- disk full ---------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 32 MB tmpfs mounted on a temporary folder (root only), unmounted after."""
    where = tmp_path / "disk"
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.strip()}")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=True)


def fill(disk: Path) -> Path:
    """Fill the file system at ``disk`` to the last byte; the filler file."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f:
        for size in (65536, 1):  # big blocks, then the last few bytes one at a time
            with contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * size)
    return filler


def signed_in(server: LiveServer, login: str) -> urllib.request.OpenerDirector:
    """A browser-like opener (cookies, the CSRF header) signed in as ``login``."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with opener.open(server.url("/api/v1/session"), timeout=10) as reply:
        csrf = json.load(reply)["csrf_token"]
    request = urllib.request.Request(  # noqa: S310 - the live server's own http URL
        server.url("/api/v1/session"), method="POST",
        data=json.dumps({"login": login, "pin": server.pins[login]}).encode(),
        headers={"Content-Type": "application/json", "X-CSRFToken": csrf})
    with opener.open(request, timeout=10) as reply:
        assert reply.status == 201
    return opener


def get_text(server: LiveServer, path: str, opener) -> str:
    with opener.open(server.url(path), timeout=10) as reply:
        return reply.read().decode()


@pytest.mark.slow
def test_disk_full_refuses_tickets_clearly_and_recovers(small_disk):
    with LiveServer(small_disk / "data") as server:
        before = server.issue()
        supervisor = next(login for login in server.pins if "sup" in login or "giam" in login)
        cookie = signed_in(server, supervisor)
        assert server.request("GET", "/healthz")[1]["ok"] is True
        filler = fill(small_disk)

        for _ in range(3):
            status, body, _ = server.request("POST", "/api/v1/tickets",
                                             {"procedure": "DEMO-GT-001"})
            assert status == 503, body
            assert body["error"]["code"] == "disk_full"
            assert "đầy" in body["error"]["messages"]["vi"]
            assert "full" in body["error"]["messages"]["en"].lower()
        health = server.request("GET", "/healthz")[1]
        assert health["ok"] is False and health["disk"]["low"] is True
        assert 'data-alert="disk"' in get_text(server, "/admin/alerts", cookie)
        assert "Traceback" not in server.output()

        filler.unlink()
        after = server.issue()
        assert int(after["number"]) == int(before["number"]) + 1  # no number burnt
        assert server.request("GET", "/healthz")[1]["ok"] is True
        assert 'data-alert="disk"' not in get_text(server, "/admin/alerts", cookie)
    conn = sqlite3.connect(small_disk / "data" / "goiso.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == 2
    finally:
        conn.close()


def test_disk_full_in_the_core_is_a_hall_error(hall_file):
    # The core's own refusal, without a mount: SQLite's max_page_count makes the file "full"
    # at the lowest layer (SQLITE_FULL), the same error a full disk gives.
    hall = build(hall_file)
    try:
        hall.issuing.issue(QUEUES["A"], kiosk="K1")
        with hall.store.write() as conn:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
        for conn in hall.store._idle:  # every pooled connection: the limit is per connection
            conn.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(DiskFull):
            for _ in range(200):
                hall.issuing.issue(QUEUES["A"], kiosk="K1")
    finally:
        hall.close()
    numbers = audit(hall_file)  # nothing half-written, no gap
    hall = build(hall_file)  # a fresh pool: the limit is gone, as when space returns
    try:
        ticket = hall.issuing.issue(QUEUES["A"], kiosk="K1")
        assert int(ticket["number"][1:]) == len(numbers["A"]) + 1
    finally:
        hall.close()


# -- the database locked by another process ----------------------------------------------------

LOCK_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
for statement in sys.argv[2].split(";"):
    conn.execute(statement)
print("LOCKED", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
print("FREED", flush=True)
"""


def hold(path: Path, begin: str) -> subprocess.Popen:
    """Another process holding ``path`` in a transaction until told (a line on stdin)."""
    proc = subprocess.Popen(["python3", "-c", LOCK_HOLDER, str(path), begin],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "LOCKED\n"
    return proc


def free(proc: subprocess.Popen) -> None:
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert proc.stdout.readline() == "FREED\n"
    proc.wait(timeout=10)


def test_outside_reader_does_not_stop_issuing(hall_file):
    hall = build(hall_file)
    reader = hold(hall_file, "BEGIN; SELECT count(*) FROM tickets")
    try:
        tickets = [hall.issuing.issue(QUEUES["A"], kiosk="K1") for _ in range(50)]
    finally:
        free(reader)
    hall.close()
    assert [int(t["number"][1:]) for t in tickets] == list(range(1, 51))
    assert len(audit(hall_file)["A"]) == 50


def test_outside_writer_makes_issues_wait_then_succeed(hall_file):
    hall = build(hall_file)
    writer = hold(hall_file, "BEGIN IMMEDIATE")
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(
        hall.issuing.issue(QUEUES["B"], kiosk="K1"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    # The kiosks are now waiting on the lock (within the busy timeout); let it go.
    free(writer)
    for thread in threads:
        thread.join(timeout=30)
    hall.close()
    assert sorted(int(t["number"][1:]) for t in results) == [1, 2, 3, 4]
    assert len(audit(hall_file)["B"]) == 4


def test_lock_held_past_the_busy_timeout_is_a_clear_retryable_refusal(hall_file, monkeypatch):
    monkeypatch.setattr(hall.store, "BUSY_TIMEOUT_MS", 200)  # 15 s in the hall; short here
    opened = build(hall_file)
    opened.close()
    hall_ = build(hall_file)
    writer = hold(hall_file, "BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseBusy) as refused:
            hall_.issuing.issue(QUEUES["A"], kiosk="K1")
        assert refused.value.status == 503 and "thử lại" in str(refused.value)
    finally:
        free(writer)
    ticket = hall_.issuing.issue(QUEUES["A"], kiosk="K1")  # the retry
    hall_.close()
    assert int(ticket["number"][1:]) == 1
    assert audit(hall_file)["A"] == [ticket["id"]]


# -- the clock jumping -------------------------------------------------------------------------


def test_clock_stepping_back_keeps_the_queue_in_issue_order(hall, clock):
    hall.accounts  # noqa: B018 - the hall fixture is used through its clock
    first = hall.issuing.issue("DEMO-GT-001")
    clock.advance(-3600)  # NTP corrects a clock that ran an hour ahead
    second = hall.issuing.issue("DEMO-GT-001")
    clock.advance(7200)  # and one that ran behind
    third = hall.issuing.issue("DEMO-GT-001")
    clock.advance(-5400)
    called = [hall.calling.call_next(1)["id"] for _ in range(3)]
    assert called == [first["id"], second["id"], third["id"]]


def test_waits_are_never_negative_after_a_step_back(hall, clock):
    hall.issuing.issue("DEMO-GT-001")
    clock.advance(120)
    hall.issuing.issue("DEMO-GT-001")
    clock.advance(-600)
    seen = hall.monitor.now()
    for queue in seen["queues"]:
        assert (queue["longest_wait_s"] or 0) >= 0, queue
    ticket = hall.calling.call_next(1)
    assert all(v >= 0 for k, v in ticket.items() if k.endswith("_s") and v is not None), ticket
    assert hall.tickets.ticket(hall.issuing.issue("DEMO-GT-001")["token"])["eta_minutes"] >= 0


def test_the_daily_reset_happens_once_across_clock_jumps(hall, clock):
    a1 = hall.issuing.issue("DEMO-GT-001")
    assert a1["number"] == "A001"
    clock.set(clock.local() + timedelta(days=1))  # a boot clock a day behind, stepped forward
    b = hall.issuing.issue("DEMO-GT-001")
    assert b["number"] == "A001" and b["day"] != a1["day"]  # a new day: numbering restarts
    assert hall.tickets.ticket(a1["token"])["status"] == "expired"
    clock.set(clock.local() - timedelta(days=1))  # stepped back again
    again = hall.issuing.issue("DEMO-GT-001")
    assert again["number"] == "A002", "a number of the earlier day reused"
    clock.set(clock.local() + timedelta(days=1))
    c = hall.issuing.issue("DEMO-GT-001")
    assert c["number"] == "A002"  # today's numbering went on; no second reset of today
    assert hall.tickets.ticket(b["token"])["status"] == "waiting"
    with hall.store.read() as conn:
        numbers = conn.execute("SELECT day, number, count(*) FROM tickets"
                               " GROUP BY day, issued_queue, seq HAVING count(*) > 1").fetchall()
    assert numbers == []


def test_a_hall_process_restarted_with_a_wrong_clock_loses_nothing(hall_file, tmp_path):
    # The server restarts at boot before NTP (the clock a day behind), then NTP steps it.
    hall_ = build(hall_file)
    first = hall_.issuing.issue(QUEUES["A"], kiosk="K1")
    hall_.close()
    from tests.hallproc import AT
    behind = build(hall_file, at=AT - 86400)
    early = behind.issuing.issue(QUEUES["A"], kiosk="K1")
    behind.close()
    hall_ = build(hall_file)
    later = hall_.issuing.issue(QUEUES["A"], kiosk="K1")
    hall_.close()
    assert early["day"] != first["day"] and int(later["number"][1:]) == 2
    assert os.path.exists(hall_file) and audit(hall_file)["A"]


# -- a printer going offline mid-job, end to end -----------------------------------------------


def test_printer_offline_mid_job_keeps_the_ticket_and_reprints_once(other_app, fake):
    from printer.connection import PrinterConfig
    from tests.plugins.printers import printers_running
    from tests.plugins.waiting import wait_for
    from tests.plugins.web import staff_client

    app = other_app(printers={"k1": PrinterConfig(
        connection="network", host=fake.host, port=fake.port, poll_seconds=0.2, timeout=2)})
    runtime = app.extensions["goiso"]
    client = app.test_client()
    with printers_running(app):
        first = client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-001", "kiosk": "k1"})
        assert first.status_code == 201
        token = first.get_json()["token"]
        wait_for(lambda: client.get(f"/api/v1/tickets/{token}").get_json()["printed"],
                 "the first ticket on paper")
        assert fake.wait_for_jobs(1, 10)
        accept = fake._accept

        def offline_while_printing(data, *, cut):
            accept(data, cut=cut)
            if data and fake.state == "ready":
                fake.state = "offline"

        fake._accept = offline_while_printing  # the printer drops out in the middle of a job
        second = client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-001", "kiosk": "k1"})
        assert second.status_code == 201  # issued: the number stands whatever the paper does
        ticket = second.get_json()
        wait_for(lambda: client.get(f"/api/v1/tickets/{ticket['token']}").get_json()["printed"]
                 is False, "the failed print reported")
        unprinted = runtime.read(runtime.hall.printing.unprinted)
        assert [t["number"] for t in unprinted] == [ticket["number"]]  # staff see it
        assert runtime.read(runtime.hall.tickets.ticket, ticket["token"])["status"] == "waiting"

        fake._accept = accept
        fake.state = "ready"  # back
        jobs = fake.jobs
        supervisor = staff_client(app, "giamsat")
        assert supervisor.post(f"/api/v1/tickets/{ticket['number']}/reprint",
                               json={}).status_code == 202
        wait_for(lambda: client.get(f"/api/v1/tickets/{ticket['token']}").get_json()["printed"],
                 "the reprint on paper")
        assert fake.wait_for_jobs(jobs + 1, 10)
        assert runtime.read(runtime.hall.printing.unprinted) == []
    assert fake.jobs == jobs + 1  # printed once when it came back, the first ticket not again
