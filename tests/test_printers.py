"""printer.printers: the hall's printers facade, on demo folders and on a fake network printer."""

import threading
from pathlib import Path

import pytest
from PIL import Image

from device.worker import Stop
from printer import status
from printer.connection import PrinterConfig
from printer.layout import TicketFacts, TicketLayout
from printer.printers import Printers
from printer.spooler import Outcome
from printer.status import PrinterStatus
from tests.escpos_decode import decode, image_equal, stack_images
from tests.fakeprinter import FakeNetworkPrinter

WAIT = 5.0


class Reports:
    """on_status / on_done of every printer, with waits."""

    def __init__(self):
        self.statuses: list[tuple[str, PrinterStatus]] = []
        self.outcomes: list[tuple[str, Outcome]] = []
        self._cond = threading.Condition()

    def on_status(self, name: str, reading: PrinterStatus) -> None:
        with self._cond:
            self.statuses.append((name, reading))
            self._cond.notify_all()

    def on_done(self, name: str, outcome: Outcome) -> None:
        with self._cond:
            self.outcomes.append((name, outcome))
            self._cond.notify_all()

    def outcome(self, n: int = 1) -> Outcome:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.outcomes) >= n, WAIT), self.outcomes
            return self.outcomes[n - 1][1]

    def state(self, name: str, state: str) -> PrinterStatus:
        def found():
            return next((r for n, r in self.statuses if n == name and r.state == state), None)
        with self._cond:
            assert self._cond.wait_for(found, WAIT), (name, state, self.statuses)
            return found()


@pytest.fixture
def facts() -> TicketFacts:
    return TicketFacts(hall_name="Trung tâm Phục vụ hành chính công", number="A001",
                       procedure="Đổi giấy phép lái xe", counters=["Quầy 1"],
                       url="https://goiso.example.vn/t/t1")


@pytest.fixture
def reports() -> Reports:
    return Reports()


@pytest.fixture
def stop() -> Stop:
    return Stop()


@pytest.fixture
def running(stop, reports):
    """Start a Printers; stop every worker it started afterwards."""
    started: list[Printers] = []

    def start(printers: Printers, names=("K1",)) -> Printers:
        printers.start(list(names), stop, on_status=reports.on_status,
                       on_done=reports.on_done)
        started.append(printers)
        return printers

    yield start
    stop.set()
    for printers in started:
        for spooler in printers.spoolers.values():
            spooler.close(WAIT)
            assert not spooler.running


@pytest.fixture
def demo(tmp_path) -> Printers:
    """The demo hall: no [printers], every kiosk prints to a folder of its own."""
    return Printers({}, TicketLayout(), default_folder=tmp_path)


def jobs_in(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.escpos"))


def test_stopped_until_started(demo, running, reports, tmp_path):
    reading = demo.status("K1")
    assert reading.state == status.STOPPED and not reading.ready
    assert demo.spoolers == {}
    assert not (tmp_path / "K1").exists()  # nothing opened before start
    running(demo)
    assert reports.state("K1", status.READY)
    assert demo.status("K1").state == status.READY and demo.status("K1").ready
    assert (tmp_path / "K1").is_dir()


def test_demo_kiosks_get_their_own_folder(demo, running, reports, tmp_path, facts):
    running(demo)
    assert demo.config("K2").folder == str(tmp_path / "K2")
    assert demo.plan("K2").mode == "raster"
    assert demo.print_ticket("K2", "t1", facts)  # a kiosk not named at start
    assert reports.outcome().ok
    assert len(jobs_in(tmp_path / "K2")) == 1


def test_a_ticket_is_printed_once_unless_reprinted(demo, running, reports, tmp_path, facts):
    running(demo)
    folder = tmp_path / "K1"
    assert demo.print_ticket("K1", "t1", facts)
    assert demo.print_ticket("K1", "t1", facts)  # a double tap: queued already
    assert demo.print_ticket("K1", "t1", facts, reprint=True)
    first, second = reports.outcome(1), reports.outcome(2)
    assert first.ok and not first.pending.reprint
    assert second.ok and second.pending.reprint  # the duplicate never reached the queue
    assert len(jobs_in(folder)) == 2
    assert len(list(folder.glob("*.png"))) == 2
    [job, _] = jobs_in(folder)
    receipt = decode(job.read_bytes(), "TM-T20II")
    assert [q.data for q in receipt.qr_codes] == [facts.url] and receipt.cuts == 1
    with Image.open(job.with_suffix(".png")) as preview:
        assert preview.width == 576


def test_test_page(demo, running, reports, tmp_path):
    running(demo)
    assert demo.test_page("K1", "Trung tâm Hà Tĩnh")
    outcome = reports.outcome()
    assert outcome.ok and outcome.pending.token is None
    page = outcome.pending.facts
    assert page.test_page and page.hall_name == "Trung tâm Hà Tĩnh"
    assert "K1" in page.field_name and str(tmp_path / "K1") in page.field_name
    [job] = jobs_in(tmp_path / "K1")
    assert job.name.endswith("-0000.escpos")
    receipt = decode(job.read_bytes(), "TM-T20II")
    assert receipt.unknown == [] and receipt.cuts == 1 and receipt.qr_codes == []
    # The folder printer prints raster: the dots are the saved picture of the paper.
    with Image.open(job.with_suffix(".png")) as preview:
        assert image_equal(stack_images(receipt.images), preview, padding=False)


def test_nothing_is_queued_while_stopped(demo, facts, tmp_path):
    assert not demo.print_ticket("K1", "t1", facts)
    assert not demo.test_page("K1", "Trung tâm")
    assert demo.spoolers == {} and not (tmp_path / "K1").exists()


def test_a_ticket_refused_while_stopped_prints_once_started(demo, running, reports, facts,
                                                            tmp_path):
    assert not demo.print_ticket("K1", "t1", facts)
    running(demo)
    assert demo.print_ticket("K1", "t1", facts)  # not "queued already": it never was
    assert reports.outcome().ok
    assert len(jobs_in(tmp_path / "K1")) == 1


def test_kiosk_without_printer(running, facts, stop):
    printers = Printers({"K1": PrinterConfig(connection="none")}, TicketLayout(),
                        default_folder=Path("/nonexistent"))
    assert printers.default_folder is None  # configured printers: no demo folders
    for _ in range(2):  # before and after start
        reading = printers.status("K1")
        assert reading.state == status.UNREACHABLE and not reading.ready
        assert not printers.print_ticket("K1", "t1", TicketFacts("H", "A001"))
        assert not printers.print_ticket("K1", "t1", TicketFacts("H", "A001"))
        assert not printers.test_page("K1", "H")
        running(printers)
    assert printers.spoolers == {}
    unknown = printers.status("K9")  # a kiosk the settings do not name
    assert unknown.state == status.UNREACHABLE
    assert printers.config("K9") is None and printers.plan("K9") is None
    assert not printers.print_ticket("K9", "t2", TicketFacts("H", "A002"))


def test_configured_network_printer(running, reports, facts):
    with FakeNetworkPrinter() as fake:
        config = PrinterConfig(connection="network", host=fake.host, port=fake.port,
                               timeout=2, status_timeout=0.2, poll_seconds=0.1)
        printers = running(Printers({"K1": config}, TicketLayout()), names=())
        assert reports.state("K1", status.READY)  # configured printers start without names
        assert printers.print_ticket("K1", "t1", facts)
        assert reports.outcome().ok
        assert fake.wait_for_jobs(1, WAIT)
        fake.state = "paper_out"
        assert reports.state("K1", status.PAPER_OUT)
        assert printers.status("K1").state == status.PAPER_OUT
        for spooler in printers.spoolers.values():
            spooler.close(WAIT)


def test_describe(demo, running, reports, facts, tmp_path):
    assert [row["state"] for row in demo.describe(["K1"])] == [status.STOPPED]
    running(demo)
    reports.state("K1", status.READY)
    assert demo.print_ticket("K1", "t1", facts)
    reports.outcome()
    rows = {row["name"]: row for row in demo.describe(["K1", "K2"])}
    assert set(rows) == {"K1", "K2"}
    k1 = rows["K1"]
    assert k1["state"] == status.READY and k1["ready"] and k1["words"] == "Sẵn sàng"
    assert k1["connection"] == "file" and k1["width"] == 576
    assert k1["where"] == f"thư mục {tmp_path / 'K1'}"
    assert (k1["mode"], k1["qr"]) == ("raster", "native") and "in ảnh" in k1["reason"]
    assert k1["waiting"] == 0
    assert k1["last"]["ok"] and k1["last"]["number"] == "A001"
    assert k1["last"]["mode"] == "raster" and k1["last"]["bytes"] > 30_000
    assert rows["K2"]["last"] is None


def test_describe_a_kiosk_without_printer():
    printers = Printers({"K1": PrinterConfig(connection="none")}, TicketLayout())
    [row] = printers.describe()
    assert row["name"] == "K1" and row["state"] == status.UNREACHABLE
    assert row["mode"] is None and row["reason"] == "" and row["last"] is None
    assert row["where"] == "không có máy in"
