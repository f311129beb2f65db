"""Fixtures of fake devices that answer like real ones (tests/fakeprinter.py, fakekeypad.py).

* ``fake``: a network printer on 127.0.0.1 (an ephemeral port), ready.
* ``serial_fake``: a serial printer behind a ``socat`` pty pair; the driver opens ``.device``.
* ``no_zombie_socat``: fails a test that leaves a ``socat`` child of this process running.
"""

from collections.abc import Iterator

import psutil
import pytest

from tests.fakeprinter import FakeNetworkPrinter, FakeSerialPrinter


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
