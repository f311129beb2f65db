"""Fixtures of fake devices that answer like real ones (tests/fakeprinter.py, fakekeypad.py).

* ``fake``: a network printer on 127.0.0.1 (an ephemeral port), ready.
* ``serial_fake``: a serial printer behind a ``socat`` pty pair; the driver opens ``.device``.
* ``no_zombie_socat``: fails a test that leaves a ``socat`` child of this process running.
* ``printing``: the ``app``'s printers started as ``goiso serve`` starts them (demo: one folder
  per kiosk); yields the folder of those folders. ``printers_running(app)`` does the same for
  any app, as a context manager.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from device.worker import Stop
from services.background import start_printers
from tests.fakeprinter import FakeNetworkPrinter, FakeSerialPrinter
from tests.plugins.waiting import wait_for


@pytest.fixture
def fake() -> Iterator[FakeNetworkPrinter]:
    with FakeNetworkPrinter() as printer:
        yield printer


@pytest.fixture
def serial_fake(tmp_path) -> Iterator[FakeSerialPrinter]:
    with FakeSerialPrinter(tmp_path) as printer:
        yield printer


def socat_children() -> list[psutil.Process]:
    """The ``socat`` processes this test process started and that still run."""
    return [c for c in psutil.Process().children(recursive=True) if c.name() == "socat"]


@pytest.fixture
def no_zombie_socat():
    yield
    assert socat_children() == []


def print_files(folder: Path, kiosk: str = "k1", suffix: str = ".escpos") -> list[Path]:
    """The jobs a folder printer has written, oldest first."""
    return sorted((folder / kiosk).glob(f"*{suffix}"))


@contextmanager
def printers_running(app) -> Iterator[Path]:
    """The app's printers started as ``goiso serve`` starts them; yields <DATA_DIR>/tickets."""
    runtime = app.extensions["goiso"]
    stop = Stop()
    start_printers(runtime, stop)
    spoolers = runtime.printers.spoolers

    def reported():
        # Each worker polls its printer once before taking jobs (until then it reads
        # "stopped") and writes what it found to the hall's devices.
        known = {d["id"]: d["state"] for d in runtime.hall.devices.all("printer")}
        return all(s.status.state != "stopped" and known.get(f"printer:{name}") == s.status.state
                   for name, s in spoolers.items())

    try:
        wait_for(reported, "the printers' first status")
        yield Path(app.extensions["goiso"].settings.data_dir) / "tickets"
    finally:
        stop.set()  # ends every worker at once
        for spooler in spoolers.values():
            spooler.close(timeout=10)


@pytest.fixture
def printing(app) -> Iterator[Path]:
    """The app's printers, started and reporting; yields <data_dir>/tickets."""
    with printers_running(app) as folder:
        yield folder
