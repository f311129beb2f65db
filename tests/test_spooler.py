"""printer.spooler: one printer's worker against fake printers on real sockets and serial ptys."""

import threading
import time
from datetime import datetime

import pytest

from device.worker import Stop
from printer import status
from printer.connection import PrinterConfig
from printer.encode import encode
from printer.layout import TicketFacts, TicketLayout
from printer.spooler import Outcome, Pending, Spooler
from printer.status import PrinterStatus
from tests.escpos_decode import decode
from tests.fakeprinter import FakeNetworkPrinter, FakeSerialPrinter, PrinterState
from tests.plugins.waiting import wait_for

WAIT = 5.0  # seconds: an upper bound, never slept


class Reports:
    """What the spooler reported through on_status and on_done, with waits on both."""

    def __init__(self):
        self.statuses: list[PrinterStatus] = []
        self.outcomes: list[Outcome] = []
        self._cond = threading.Condition()

    def on_status(self, name: str, reading: PrinterStatus) -> None:
        with self._cond:
            self.statuses.append(reading)
            self._cond.notify_all()

    def on_done(self, name: str, outcome: Outcome) -> None:
        with self._cond:
            self.outcomes.append(outcome)
            self._cond.notify_all()

    def outcome(self, n: int = 1) -> Outcome:
        """The ``n``-th outcome (1-based), once it came."""
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.outcomes) >= n, WAIT), self.outcomes
            return self.outcomes[n - 1]

    def state(self, state: str, after: int = 0) -> PrinterStatus:
        """The first status report in ``state`` among those from index ``after`` on."""
        def found():
            return next((r for r in self.statuses[after:] if r.state == state), None)
        with self._cond:
            assert self._cond.wait_for(found, WAIT), (state, self.statuses[after:])
            return found()

    def mark(self) -> int:
        with self._cond:
            return len(self.statuses)


@pytest.fixture
def facts() -> TicketFacts:
    return TicketFacts(hall_name="Trung tâm Phục vụ hành chính công", number="A001",
                       procedure="Đổi giấy phép lái xe", counters=["Quầy 1"],
                       waiting_ahead=2, issued=datetime(2026, 11, 26, 8, 5),
                       url="https://goiso.example.vn/t/t1")


@pytest.fixture
def reports() -> Reports:
    return Reports()


@pytest.fixture
def spooler_for(reports):
    """Build and start spoolers; each is stopped (at once) and joined afterwards."""
    stop = Stop()
    started: list[Spooler] = []

    def make(config: PrinterConfig, layout: TicketLayout | None = None) -> Spooler:
        spooler = Spooler("K1", config, layout or TicketLayout(), on_status=reports.on_status,
                          on_done=reports.on_done)
        spooler.start(stop)
        started.append(spooler)
        return spooler

    yield make
    stop.set()
    for spooler in started:
        spooler.close(WAIT)
        assert not spooler.running


def network(fake: FakeNetworkPrinter, **more) -> PrinterConfig:
    values = {"timeout": 2, "status_timeout": 0.2, "poll_seconds": 0.1, **more}
    return PrinterConfig(connection="network", host=fake.host, port=fake.port, **values)


@pytest.fixture
def spooler(spooler_for, fake, reports) -> Spooler:
    """A spooler on the network fake, once it has seen the printer ready."""
    made = spooler_for(network(fake))
    reports.state(status.READY)
    return made


# -- network -----------------------------------------------------------------------------------

def test_a_ticket_prints(spooler, fake, facts, reports):
    spooler.submit(Pending(facts, token="t1"))
    outcome = reports.outcome()
    assert outcome.ok and outcome.detail == ""
    assert outcome.pending.token == "t1" and outcome.mode == "raster"
    assert fake.wait_for_jobs(1, WAIT)
    expected = encode(facts, TicketLayout(), spooler.config)
    assert fake.data() == expected.data and outcome.size == len(expected.data)
    receipt = fake.receipt("TM-T20II")
    assert receipt.cuts == 1 and receipt.unknown == []
    assert [q.data for q in receipt.qr_codes] == [facts.url]
    assert spooler.last is outcome and spooler.status.state == status.READY
    assert fake.blocked_jobs == 0


def test_jobs_print_in_order(spooler, fake, facts, reports):
    for number in ("A001", "A002", "A003"):
        spooler.submit(Pending(TicketFacts(**{**facts.__dict__, "number": number}),
                               token=number))
    assert [reports.outcome(n).pending.token for n in (1, 2, 3)] == ["A001", "A002", "A003"]
    assert all(o.ok for o in reports.outcomes)
    assert fake.wait_for_jobs(3, WAIT)
    assert len(fake.receipt("TM-T20II").jobs()) == 3


def test_paper_out_refuses_the_job(spooler, fake, facts, reports):
    mark = reports.mark()
    fake.state = "paper_out"
    spooler.submit(Pending(facts, token="t1"))
    outcome = reports.outcome()
    assert not outcome.ok and "Hết giấy" in outcome.detail
    assert outcome.size == 0
    assert reports.state(status.PAPER_OUT, after=mark).state == status.PAPER_OUT
    assert fake.jobs == 0 and fake.data() == b""
    # Paper back in: the next ticket prints.
    fake.state = "ready"
    spooler.submit(Pending(facts, token="t2"))
    assert reports.outcome(2).ok
    assert fake.wait_for_jobs(1, WAIT) and fake.blocked_jobs == 0


def test_paper_runs_out_during_the_job(spooler, fake, facts, reports):
    accept = fake._accept

    def paper_ends_while_printing(data, *, cut):
        accept(data, cut=cut)
        if data and fake.state is PrinterState.READY:
            fake.state = "paper_out"

    fake._accept = paper_ends_while_printing  # runs on the fake's own reading thread
    mark = reports.mark()
    spooler.submit(Pending(facts, token="t1"))
    outcome = reports.outcome()
    assert not outcome.ok
    assert "in thiếu" in outcome.detail and "Hết giấy" in outcome.detail
    assert outcome.mode == "raster" and outcome.size > 0
    assert reports.state(status.PAPER_OUT, after=mark)
    assert fake.wait_for_jobs(1, WAIT)  # the bytes went out before the paper ended


def test_cover_opened_during_the_job(spooler, fake, facts, reports):
    accept = fake._accept

    def cover_opens(data, *, cut):
        accept(data, cut=cut)
        if cut:
            fake.state = "cover_open"

    fake._accept = cover_opens
    spooler.submit(Pending(facts, token="t1"))
    outcome = reports.outcome()
    assert not outcome.ok and "in thiếu" in outcome.detail and "Nắp" in outcome.detail


def test_unplugged_then_plugged_again(spooler, fake, facts, reports):
    fake.unplug()
    mark = reports.mark()
    spooler.submit(Pending(facts, token="t1"))
    outcome = reports.outcome()
    assert not outcome.ok and "Không kết nối được" in outcome.detail
    assert reports.state(status.UNREACHABLE, after=mark)
    assert fake.jobs == 0
    # The worker waits longer between tries while the printer is gone ...
    wait_for(lambda: spooler.pause > spooler.config.poll_seconds, "a longer pause", WAIT)
    mark = reports.mark()
    fake.plug()
    # ... and finds it again when its pause is over.
    assert reports.state(status.READY, after=mark)
    spooler.submit(Pending(facts, token="t2"))
    assert reports.outcome(2).ok
    assert fake.wait_for_jobs(1, WAIT)


def test_a_job_while_the_printer_is_gone_fails_at_once_without_trying_it(spooler_for, fake,
                                                                         facts, reports):
    fake.unplug()
    made = spooler_for(network(fake, poll_seconds=30.0))  # the next try is 30 s away
    assert reports.state(status.UNREACHABLE)
    fake.plug()
    began = time.monotonic()
    made.submit(Pending(facts, token="t1"))
    outcome = reports.outcome()
    assert time.monotonic() - began < WAIT  # not after the pause
    assert not outcome.ok and "Không kết nối được" in outcome.detail
    assert fake.connections == 0 and made.status.state == status.UNREACHABLE


def test_printer_off_at_start(spooler_for, fake, facts, reports):
    config = network(fake)
    fake.unplug()
    spooler_for(config)
    reading = reports.state(status.UNREACHABLE)
    assert not reading.ready and "DeviceNotFoundError" in reading.detail
    fake.plug()
    assert reports.state(status.READY).ready


def test_silent_network_printer_is_not_printed_to(spooler_for, fake, facts, reports):
    fake.state = "silent"
    made = spooler_for(network(fake))
    reports.state(status.NO_ANSWER)
    made.submit(Pending(facts, token="t1"))
    outcome = reports.outcome()
    assert not outcome.ok and "không trả lời" in outcome.detail
    assert fake.jobs == 0


def test_a_failing_report_does_not_stop_the_printer(fake, facts, reports):
    calls = []

    def broken(name, outcome):
        calls.append(outcome)
        raise RuntimeError("report failed")

    made = Spooler("K1", network(fake), TicketLayout(), on_status=reports.on_status,
                   on_done=broken)
    made.start()
    try:
        made.submit(Pending(facts, token="t1"))
        made.submit(Pending(facts, token="t2"))
        assert fake.wait_for_jobs(2, WAIT)
    finally:
        made.close(WAIT)
    assert [o.pending.token for o in calls] == ["t1", "t2"] and not made.running


def test_stop_ends_the_worker_at_once_and_closes_the_printer(fake, reports):
    made = Spooler("K1", network(fake, poll_seconds=30.0), TicketLayout(),
                   on_status=reports.on_status, on_done=reports.on_done)
    stop = Stop()
    thread = made.start(stop)
    reports.state(status.READY)  # now idle until the next poll, 30 s away
    assert fake.active_connections == 1
    stop.set()
    thread.join(WAIT)  # ends long before the poll
    assert not thread.is_alive() and made._link is None
    wait_for(lambda: fake.active_connections == 0, "the socket closed", WAIT)


# -- serial ------------------------------------------------------------------------------------

def serial(fake: FakeSerialPrinter) -> PrinterConfig:
    return PrinterConfig(connection="serial", device=fake.device, status_timeout=0.2,
                         poll_seconds=0.1)


def test_serial_ticket_prints_as_text(spooler_for, serial_fake, facts, reports):
    made = spooler_for(serial(serial_fake))
    reports.state(status.READY)
    made.submit(Pending(facts, token="t1"))
    outcome = reports.outcome()
    assert outcome.ok and outcome.mode == "text"  # 9600 baud: text
    assert serial_fake.wait_for_jobs(1, WAIT)
    receipt = decode(serial_fake.data(), "TM-T20II")
    assert "A001" in receipt.lines and "Đổi giấy phép lái xe" in receipt.lines
    assert [q.data for q in receipt.qr_codes] == [facts.url]


def test_silent_serial_printer_is_not_printed_to(spooler_for, serial_fake, facts, reports):
    serial_fake.state = "silent"
    made = spooler_for(serial(serial_fake))
    assert not reports.state(status.NO_ANSWER).ready
    made.submit(Pending(facts, token="t1"))
    outcome = reports.outcome()
    assert not outcome.ok and "không trả lời" in outcome.detail
    assert serial_fake.jobs == 0 and serial_fake.data() == b""


def test_serial_unplugged_then_back(spooler_for, serial_fake, facts, reports):
    made = spooler_for(serial(serial_fake))
    reports.state(status.READY)
    serial_fake.unplug()
    made.submit(Pending(facts, token="t1"))
    assert not reports.outcome().ok
    mark = reports.mark()
    serial_fake.plug()
    assert reports.state(status.READY, after=mark)  # reopened when its pause was over
    made.submit(Pending(facts, token="t2"))
    assert reports.outcome(2).ok
    assert serial_fake.wait_for_jobs(1, WAIT)


# -- a folder ----------------------------------------------------------------------------------

def test_folder_spooler(spooler_for, tmp_path, facts, reports):
    made = spooler_for(PrinterConfig(connection="file", folder=str(tmp_path / "K1")))
    assert reports.state(status.READY)
    made.submit(Pending(facts, token="t1"))
    outcome = reports.outcome()
    assert outcome.ok
    [job] = (tmp_path / "K1").glob("*-A001.escpos")
    assert job.read_bytes() == encode(facts, TicketLayout(), made.config).data
    assert len(list((tmp_path / "K1").glob("*-A001.png"))) == 1
