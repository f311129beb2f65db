"""Faults a hall meets: a full disk, a database another program keeps locked, the clock
jumping (NTP at boot), a kiosk printer out of paper mid-job or unplugged under a running hall
(the ticket kept, staff shown, nothing printed twice). The spooler's own printer faults are in
tests/test_spooler.py and tests/test_printers.py; keypads unplugged and noisy in
tests/test_bus.py and tests/test_hardware.py."""

import os
import subprocess
import sys
import textwrap
import uuid
from array import array
from pathlib import Path

import pytest

from hall import errors, store
from services import monitor
from settings import BackupOptions
from tests.hallproc import audit
from tests.plugins.halls import TRANSPORT, open_hall
from tests.plugins.web import close_app, make_app

TICKET = {"procedure": "DEMO-GT-001"}

# -- a full disk ---------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path) -> Path:
    """A real 2 MB file system (tmpfs), so SQLite meets a real ENOSPC; skipped where this user
    may not mount one (the suite runs as root in CI)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(folder: Path) -> Path:
    """Fill the file system to the last byte; the filler file (delete it to free the space)."""
    filler = folder / f"filler-{uuid.uuid4().hex}"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (65536, 4096, 1):  # big writes first, then the last bytes
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_refuses_tickets_clearly_and_loses_nothing(small_disk, clock):
    hall = open_hall(small_disk / "hall.db", TRANSPORT, clock=clock)
    try:
        issued = [hall.issuing.issue("DEMO-GT-001")["number"] for _ in range(5)]
        filler = fill(small_disk)
        refused = 0
        for _ in range(200):  # SQLite has some room in its WAL; then the disk says no
            try:
                issued.append(hall.issuing.issue("DEMO-GT-001")["number"])
            except errors.StorageFull as exc:
                refused += 1
                assert exc.status == 503 and "hết chỗ lưu trữ" in str(exc)
                if refused >= 3:
                    break
        assert refused >= 3, "the disk never filled"
        # Reads go on: the hall can still be shown while staff free some space.
        assert hall.monitor.now()["queues"][0]["waiting"] == len(issued)
        filler.unlink()
        issued.append(hall.issuing.issue("DEMO-GT-001")["number"])
    finally:
        hall.close()
    assert issued == [f"A{n:03d}" for n in range(1, len(issued) + 1)]
    assert audit(small_disk / "hall.db")["GPLX"]  # intact, numbers 1..N, one event each


def test_a_full_disk_at_the_door_and_for_staff(small_disk, demo_db):
    """The API answers 503 storage_full (nothing issued), staff see a disk alert, and tickets
    come again once space is freed."""
    app = make_app(small_disk / "data", *demo_db, backup=BackupOptions(min_free_mb=1))
    runtime = app.extensions["goiso"]
    try:
        client = app.test_client()
        assert client.post("/api/v1/tickets", json=TICKET).status_code == 201
        assert "disk" not in [a["kind"] for a in monitor.alerts(runtime)]
        token = runtime.hall.accounts.new_token(1)  # a counter device's, not used yet
        filler = fill(small_disk)
        answers = [client.post("/api/v1/tickets", json=TICKET) for _ in range(100)]
        refused = [a for a in answers if a.status_code != 201]
        assert refused, "the disk never filled"
        assert {a.status_code for a in refused} == {503}
        assert {a.get_json()["error"]["code"] for a in refused} == {"storage_full"}
        assert "disk" in [a["kind"] for a in monitor.alerts(runtime)]
        # A counter device still reads: noting its token's use (a write) cannot fail it.
        seen = client.get("/api/v1/tickets/unprinted",
                          headers={"Authorization": f"Bearer {token}"})
        assert seen.status_code == 200, seen.get_json()
        health = client.get("/healthz").get_json()  # what systemd and the technician read
        assert health["ok"] is False and health["disk"]["low"] is True
        filler.unlink()
        assert client.post("/api/v1/tickets", json=TICKET).status_code == 201
        assert "disk" not in [a["kind"] for a in monitor.alerts(runtime)]
        assert client.get("/healthz").get_json()["ok"] is True
    finally:
        close_app(app)
    audit(small_disk / "data" / "goiso.db")


# -- a database locked by another program --------------------------------------------------------

HOLDER = textwrap.dedent("""
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    for statement in sys.argv[2].split(";"):
        conn.execute(statement)
    print("holding", flush=True)
    time.sleep(float(sys.argv[3]))
    conn.execute("ROLLBACK")
""")


def hold(path: Path, statement: str, seconds: float) -> subprocess.Popen:
    """Another program holding ``statement``'s lock on the file for ``seconds``."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), statement, str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_a_long_reader_elsewhere_does_not_stop_tickets(hall):
    proc = hold(hall.store.path, "BEGIN; SELECT count(*) FROM tickets", 2)
    try:
        numbers = [hall.issuing.issue("DEMO-GT-001")["number"] for _ in range(5)]
    finally:
        proc.wait(10)
    assert numbers == ["A001", "A002", "A003", "A004", "A005"]


def test_a_writer_elsewhere_is_waited_for_then_refused_clearly(tmp_path, clock, monkeypatch):
    monkeypatch.setattr(store, "BUSY_TIMEOUT_MS", 300)
    hall = open_hall(tmp_path / "hall.db", TRANSPORT, clock=clock)
    try:
        hall.issuing.issue("DEMO-GT-001")
        brief = hold(hall.store.path, "BEGIN IMMEDIATE", 0.1)
        assert hall.issuing.issue("DEMO-GT-001")["number"] == "A002"  # waited its turn
        brief.wait(10)
        long = hold(hall.store.path, "BEGIN IMMEDIATE", 3)
        try:
            with pytest.raises(errors.StorageBusy) as refused:
                hall.issuing.issue("DEMO-GT-001")
            assert refused.value.status == 503
        finally:
            long.wait(10)
        assert hall.issuing.issue("DEMO-GT-001")["number"] == "A003"  # no number burnt
    finally:
        hall.close()
    audit(tmp_path / "hall.db")


# -- the clock jumping ---------------------------------------------------------------------------

def test_the_clock_set_back_keeps_the_line_and_waits_never_negative(hall, clock):
    first = hall.issuing.issue("DEMO-GT-001")
    clock.advance(600)
    second = hall.issuing.issue("DEMO-GT-001")
    clock.advance(-3600)  # NTP corrects a clock that ran an hour ahead
    third = hall.issuing.issue("DEMO-GT-001")
    called = [hall.calling.call_next(1)["number"] for _ in range(3)]
    assert called == [first["number"], second["number"], third["number"]]
    queue = next(q for q in hall.monitor.now()["queues"] if q["code"] == "GPLX")
    assert queue["longest_wait_s"] >= 0


def test_a_call_after_the_clock_set_back_records_no_negative_wait(hall, clock):
    ticket = hall.issuing.issue("DEMO-GT-001")
    clock.advance(-600)  # set back between the issue and the call
    hall.calling.call_next(1)
    with hall.store.read() as conn:
        waited = conn.execute("SELECT json_extract(data, '$.waited_seconds') FROM events"
                              " WHERE kind = 'called' AND ticket_id = ?", (ticket["id"],)
                              ).fetchone()[0]
    assert waited == 0


def test_the_clock_jumping_forward_rolls_the_day_once(hall, clock):
    hall.issuing.issue("DEMO-GT-001")
    clock.advance(26 * 3600)  # the Pi booted at yesterday's time; NTP brings it to today
    assert hall.issuing.issue("DEMO-GT-001")["number"] == "A001"  # a new day, numbers anew
    assert hall.issuing.issue("DEMO-GT-001")["number"] == "A002"
    with hall.tx.reading() as reading:
        expired = reading.value("SELECT count(*) FROM tickets WHERE status = 'expired'")
        logged = reading.value("SELECT count(*) FROM events WHERE kind = 'expired'")
    assert expired == logged == 1


def test_reports_never_count_a_negative_wait(hall, clock):
    hall.issuing.issue("DEMO-GT-001")
    clock.advance(-120)  # set back between the issue and the call
    hall.calling.call_next(1)
    clock.advance(300)
    hall.calling.finish(1)
    day = hall.today()
    clock.advance(24 * 3600)
    hall.issuing.issue("DEMO-GT-001")  # the next day: yesterday can be summed up
    hall.reports.refresh()
    with hall.tx.reading() as reading:
        rows = reading.all("SELECT waits FROM report_rollups WHERE day = ?", (day,))
    assert rows
    for row in rows:
        waits = array("i")
        waits.frombytes(row["waits"])
        assert all(w >= 0 for w in waits)


def test_serve_waits_for_the_clock_to_be_set():
    unit = (Path(__file__).parent.parent / "systemd" / "goiso.service").read_text()
    assert "time-sync.target" in unit




# -- a kiosk printer failing under a running hall ---------------------------------------------


@pytest.fixture
def printing_hall(tmp_path, demo_db):
    """The demo hall whose kiosk k1 prints to a fake network printer, printers running:
    (runtime, fake printer)."""
    from printer.connection import PrinterConfig
    from tests.fakeprinter import FakeNetworkPrinter
    from tests.plugins.printers import printers_running

    with FakeNetworkPrinter() as fake:
        config = PrinterConfig(connection="network", host="127.0.0.1", port=fake.address[1],
                               timeout=1, poll_seconds=0.2)
        app = make_app(tmp_path / "data", *demo_db, printers={"k1": config})
        try:
            with printers_running(app):
                yield app.extensions["goiso"], fake
        finally:
            close_app(app)


def printer_row(runtime) -> dict:
    return next(d for d in monitor.picture(runtime)["devices"] if d["id"] == "printer:k1")


def test_paper_out_mid_job_keeps_the_ticket_shows_staff_and_prints_once_again(printing_hall):
    from services import tickets
    from tests.fakeprinter import PrinterState
    from tests.plugins.waiting import wait_for

    runtime, fake = printing_hall
    accept = fake._accept

    def paper_ends_while_printing(data, *, cut):
        accept(data, cut=cut)
        if data and fake.state is PrinterState.READY:
            fake.state = "paper_out"

    fake._accept = paper_ends_while_printing
    torn = tickets.issue(runtime, "DEMO-GT-001", kiosk="k1").ticket
    # The ticket stays issued and waiting; staff see it unprinted and the printer out of paper.
    wait_for(lambda: [t["token"] for t in runtime.read(runtime.hall.printing.unprinted)]
             == [torn["token"]], "the torn ticket listed as unprinted")
    assert runtime.read(runtime.hall.tickets.ticket, torn["token"])["status"] == "waiting"
    wait_for(lambda: printer_row(runtime)["paper"] == "out", "the monitor shows paper out")
    jobs_before = fake.jobs
    # Paper back: the printer is ready again, and nothing is printed again on its own.
    fake._accept = accept
    fake.state = "ready"
    wait_for(lambda: printer_row(runtime)["online"], "the monitor shows the printer back")
    later = tickets.issue(runtime, "DEMO-GT-001", kiosk="k1").ticket
    wait_for(lambda: runtime.read(runtime.hall.printing.sheet, later["token"])["printed"],
             "the next ticket printed")
    assert fake.jobs == jobs_before + 1
    # A supervisor reprints the torn one: printed exactly once more, then no longer listed.
    tickets.reprint(runtime, token=torn["token"], by=None)
    wait_for(lambda: runtime.read(runtime.hall.printing.unprinted) == [], "reprinted")
    assert fake.wait_for_jobs(jobs_before + 2)
    assert fake.jobs == jobs_before + 2


def test_an_unplugged_printer_refuses_kiosk_tickets_and_comes_back(printing_hall):
    from services import tickets
    from tests.plugins.waiting import wait_for

    runtime, fake = printing_hall
    before = runtime.read(runtime.hall.printing.unprinted)
    fake.unplug()
    wait_for(lambda: not printer_row(runtime)["online"], "the monitor shows the printer gone")
    with pytest.raises(errors.PrinterNotReady):
        tickets.issue(runtime, "DEMO-GT-001", kiosk="k1")
    assert runtime.read(runtime.hall.printing.unprinted) == before
    fake.plug()
    wait_for(lambda: printer_row(runtime)["online"], "the monitor shows the printer back")
    ticket = tickets.issue(runtime, "DEMO-GT-001", kiosk="k1").ticket
    wait_for(lambda: runtime.read(runtime.hall.printing.sheet, ticket["token"])["printed"],
             "the ticket printed once the printer is back")
    assert fake.jobs == 1


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
