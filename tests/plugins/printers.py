"""Fixtures of fake printers that answer like real ones (see tests/fakeprinter.py).

* ``fake``: a network printer on 127.0.0.1 (an ephemeral port), ready.
* ``serial_fake``: a serial printer behind a ``socat`` pty pair; the driver opens ``.device``.
"""

from collections.abc import Iterator

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
