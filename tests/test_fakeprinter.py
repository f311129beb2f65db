"""tests.fakeprinter driven by plain sockets, pyserial and python-escpos (no goiso code)."""

import os
import socket
import threading
import time

import pytest
import serial
from escpos.printer import Dummy, Network
from PIL import Image

from tests.escpos_decode import decode
from tests.fakeprinter import (
    BLOCKING_STATES,
    FakeNetworkPrinter,
    FakePrinterCore,
    FakeSerialPrinter,
    PrinterState,
    status_byte,
)
from tests.plugins.printers import socat_children

Q = {n: bytes([0x10, 0x04, n]) for n in range(1, 5)}  # DLE EOT n
ANSWERING = [s for s in PrinterState if s is not PrinterState.SILENT]
# state -> the replies to n = 1, 2, 3, 4
EXPECTED = {
    PrinterState.READY: (0x12, 0x12, 0x12, 0x12),
    PrinterState.PAPER_LOW: (0x12, 0x12, 0x12, 0x1E),
    PrinterState.PAPER_OUT: (0x1A, 0x32, 0x12, 0x72),
    PrinterState.COVER_OPEN: (0x1A, 0x16, 0x12, 0x12),
    PrinterState.OFFLINE: (0x1A, 0x12, 0x12, 0x12),
    PrinterState.ERROR: (0x1A, 0x52, 0x32, 0x12),
}


def job(text: str, cut: bool = True) -> bytes:
    p = Dummy(profile="TM-T88V")
    p.hw("INIT")
    p.text(text + "\n")
    if cut:
        p.cut()
    return p.output


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def connect(printer: FakeNetworkPrinter, timeout: float = 2.0) -> socket.socket:
    sock = socket.create_connection(printer.address, timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


@pytest.fixture
def net():
    with FakeNetworkPrinter() as printer:
        yield printer


@pytest.fixture
def ser(tmp_path):
    with FakeSerialPrinter(tmp_path) as printer:
        yield printer


def open_port(printer: FakeSerialPrinter, timeout: float = 1.0) -> serial.Serial:
    return serial.Serial(printer.device, 9600, timeout=timeout)


# -- the status byte ---------------------------------------------------------------------------

@pytest.mark.parametrize("state", ANSWERING)
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_status_byte_keeps_the_fixed_bits(state, n):
    byte = status_byte(state, n)
    assert byte & 0x93 == 0x12
    assert byte == EXPECTED[state][n - 1]


def test_status_byte_meanings():
    assert status_byte("ready", 1) & 0x08 == 0  # online
    for state in BLOCKING_STATES:
        assert status_byte(state, 1) & 0x08  # offline
    assert status_byte("paper_low", 1) & 0x08 == 0  # near end still prints
    assert status_byte("paper_low", 4) & 0x0C == 0x0C
    assert status_byte("paper_out", 4) & 0x60 == 0x60
    assert status_byte("paper_out", 2) & 0x20
    assert status_byte("cover_open", 2) & 0x04
    assert status_byte("error", 2) & 0x40 and status_byte("error", 3) & 0x20
    assert status_byte("silent", 1) is None
    with pytest.raises(ValueError):
        status_byte("ready", 5)
    with pytest.raises(ValueError):
        status_byte("jammed", 1)


# -- the core, fed directly --------------------------------------------------------------------

def test_received_excludes_status_queries():
    core = FakePrinterCore()
    replies = core.feed(b"abc" + Q[1] + b"def" + Q[4] + Q[2])
    assert replies == b"\x12\x12\x12"
    assert core.data() == b"abcdef"
    assert core.status_queries == [1, 4, 2]
    assert [(r.n, r.offset) for r in core.status_log] == [(1, 3), (4, 6), (2, 6)]


def test_byte_by_byte_is_the_same_as_all_at_once():
    p = Dummy(profile="TM-T88V")
    p.text("Số thứ tự A001\n")
    p.image(Image.new("1", (40, 30), 0))
    p.qr("https://example.vn/t/abc", native=True)
    p.cut()
    data = Q[1] + p.output + Q[4] + job("A002")
    whole, split = FakePrinterCore("paper_low"), FakePrinterCore("paper_low")
    replies = whole.feed(data)
    replies_split = b"".join(split.feed(data[i:i + 1]) for i in range(len(data)))
    assert replies == replies_split == b"\x12\x1e"
    assert whole.data() == split.data() == data.replace(Q[1], b"").replace(Q[4], b"")
    assert whole.jobs == split.jobs == 2
    assert split.status_queries == [1, 4]


def test_status_bytes_inside_a_payload_are_data():
    # A raster whose dots read 10 04 01: a real-time query only if the parser ignores structure.
    image_cmd = b"\x1dv0\x00\x03\x00\x01\x00" + Q[1]
    core = FakePrinterCore()
    assert core.feed(image_cmd[:5]) == b""
    assert core.feed(image_cmd[5:]) == b""
    assert core.feed(b"\x1d(k\x06\x001P0" + Q[2]) == b""  # in QR data too
    assert core.status_queries == []
    assert decode(core.data()).images[0].size == (24, 1)


def test_jobs_are_counted_at_cuts():
    core = FakePrinterCore()
    core.feed(job("A001") + job("A002", cut=False))
    assert core.jobs == 1
    core.feed(b"\x1dV")
    assert core.jobs == 1  # a cut split in two is one cut, once complete
    core.feed(b"\x00")
    assert core.jobs == 2
    assert core.receipt().lines[:2] == ["A001", "A002"]


def test_blocked_printer_buffers_but_does_not_print():
    core = FakePrinterCore("paper_out")
    assert core.printing_blocked
    core.feed(job("A001"))
    assert core.jobs == 1 and core.blocked_jobs == 1 and core.blocked_bytes == len(job("A001"))
    core.state = PrinterState.READY
    assert not core.printing_blocked
    core.feed(job("A002"))
    assert core.jobs == 2 and core.blocked_jobs == 1
    assert not FakePrinterCore("paper_low").printing_blocked


def test_silent_core_and_reply_override():
    core = FakePrinterCore("silent")
    assert core.feed(Q[1] + Q[4]) == b""
    assert core.status_queries == [1, 4]
    core.reply_override[1] = b"\x00\x99"  # a broken reply, for drivers that must reject it
    core.reply_override[4] = b""
    core.state = "ready"
    assert core.feed(Q[1] + Q[4] + Q[2]) == b"\x00\x99\x12"


def test_state_is_validated_and_clear_forgets():
    core = FakePrinterCore()
    with pytest.raises(ValueError):
        core.state = "jammed"
    core.feed(b"x" + Q[1] + job("y"))
    core.clear()
    assert core.data() == b"" and core.jobs == 0 and core.status_queries == []


def test_waiting_helpers():
    core = FakePrinterCore()
    assert not core.wait_for_jobs(1, timeout=0.05)
    timer = threading.Timer(0.05, core.feed, args=(b"ticket " + Q[1] + job("A001"),))
    timer.start()
    assert core.wait_for_bytes(lambda b: b"ticket" in b, timeout=2)
    assert core.wait_for_jobs(1, timeout=2)
    assert core.wait_for_status_queries(1, timeout=2)
    timer.join()


def test_delay_per_byte_slows_the_link():
    core = FakePrinterCore(delay_per_byte=0.002)
    start = time.monotonic()
    core.feed(b"x" * 50)
    assert time.monotonic() - start >= 0.1


# -- network printer ---------------------------------------------------------------------------

@pytest.mark.parametrize("state", ANSWERING)
def test_network_status_replies_for_every_state(state):
    with FakeNetworkPrinter(state) as printer, connect(printer) as sock:
        for n in range(1, 5):
            sock.sendall(Q[n])
            reply = recv_exactly(sock, 1)
            assert reply == bytes([status_byte(state, n)])
            assert reply[0] & 0x93 == 0x12


def test_network_silent_answers_nothing(net):
    net.state = "silent"
    with connect(net, timeout=0.3) as sock:
        sock.sendall(Q[1] + Q[4])
        with pytest.raises(TimeoutError):
            sock.recv(1)
    assert net.wait_for_status_queries(2, timeout=1)


def test_network_job_without_status_bytes(net):
    with connect(net) as sock:
        sock.sendall(Q[1] + job("A001")[:10])
        assert recv_exactly(sock, 1) == b"\x12"
        sock.sendall(job("A001")[10:] + Q[4])
        assert recv_exactly(sock, 1) == b"\x12"
    assert net.wait_for_jobs(1)
    assert net.data() == job("A001")
    assert net.receipt().lines == ["A001"]


def test_network_commands_split_across_writes(net):
    with connect(net) as sock:
        for piece in (b"\x10", b"\x04", b"\x01"):
            sock.sendall(piece)
            time.sleep(0.02)
        assert recv_exactly(sock, 1) == b"\x12"
        for piece in (b"A001\n\x1d", b"V", b"A\x03"):
            sock.sendall(piece)
            time.sleep(0.02)
        assert net.wait_for_jobs(1)
    assert net.data() == b"A001\n\x1dVA\x03"


def test_network_state_changes_mid_connection(net):
    with connect(net) as sock:
        sock.sendall(Q[4])
        assert recv_exactly(sock, 1) == b"\x12"
        net.state = "paper_out"
        sock.sendall(Q[4] + Q[1])
        assert recv_exactly(sock, 2) == b"\x72\x1a"
        sock.sendall(job("A001"))
        assert net.wait_for_jobs(1)
        assert net.printing_blocked and net.blocked_jobs == 1
        net.state = "ready"
        sock.sendall(Q[1])
        assert recv_exactly(sock, 1) == b"\x12"


def test_network_second_connection_does_not_deadlock(net):
    with connect(net) as first, connect(net) as second:
        second.sendall(Q[1])
        assert recv_exactly(second, 1) == b"\x12"
        first.sendall(Q[2])
        assert recv_exactly(first, 1) == b"\x12"
    with connect(net) as third:  # and one after the other
        third.sendall(Q[3])
        assert recv_exactly(third, 1) == b"\x12"
    assert net.connections == 3


def test_network_unplug_and_plug_on_the_same_port(net):
    port = net.port
    sock = connect(net)
    sock.sendall(b"before" + Q[1])
    assert recv_exactly(sock, 1) == b"\x12"
    net.unplug()
    assert not net.plugged and net.active_connections == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(net.address, timeout=1)
    with pytest.raises(OSError):  # the open connection was reset
        for _ in range(50):
            sock.sendall(b"lost")
            sock.recv(1)
            time.sleep(0.01)
    sock.close()
    net.plug()
    assert net.port == port
    with connect(net) as again:
        again.sendall(b"after" + Q[1])
        assert recv_exactly(again, 1) == b"\x12"
    assert net.wait_for_bytes(lambda b: b.endswith(b"after"))
    assert b"lost" not in net.data()


def test_python_escpos_client_reads_the_status(net):
    client = Network(net.host, port=net.port, timeout=2)
    client.open()
    try:
        assert client.is_online() is True
        assert client.paper_status() == 2
        net.state = "paper_low"
        assert client.paper_status() == 1
        net.state = "paper_out"
        assert client.paper_status() == 0
        assert client.is_online() is False
        net.state = "ready"
        client.text("Số thứ tự A001\n")
        client.cut()
    finally:
        client.close()
    assert net.wait_for_jobs(1)
    assert net.receipt().lines == ["Số thứ tự A001"]


def test_network_close_is_idempotent_and_final():
    printer = FakeNetworkPrinter()
    printer.close()
    printer.close()
    with pytest.raises(RuntimeError):
        printer.plug()


# -- serial printer ----------------------------------------------------------------------------

def test_serial_status_replies_and_data(ser):
    with open_port(ser) as port:
        for state in ANSWERING:
            ser.state = state
            port.write(Q[1] + Q[2] + Q[3] + Q[4])
            assert port.read(4) == bytes(EXPECTED[state])
        port.write(job("A001"))
        assert ser.wait_for_jobs(1)
    assert ser.data() == job("A001")
    assert len(ser.status_queries) == 4 * len(ANSWERING)


def test_serial_silent_answers_nothing(ser):
    ser.state = "silent"
    with open_port(ser, timeout=0.3) as port:
        port.write(Q[1])
        assert port.read(1) == b""


def test_serial_split_commands(ser):
    with open_port(ser) as port:
        for piece in (b"\x10", b"\x04", b"\x04"):
            port.write(piece)
            port.flush()
            time.sleep(0.02)
        assert port.read(1) == b"\x12"


def test_serial_port_can_be_closed_and_reopened(ser):
    for _ in range(3):
        with open_port(ser) as port:
            port.write(b"x" + Q[1])
            assert port.read(1) == b"\x12"
    assert ser.data() == b"xxx"
    assert ser.process.poll() is None


def test_serial_unplug_and_plug(ser):
    port = open_port(ser, timeout=0.3)
    port.write(Q[1])
    assert port.read(1) == b"\x12"
    first = ser.process
    ser.unplug()
    assert first.returncode is not None  # reaped, no zombie
    assert not os.path.exists(ser.device)
    with pytest.raises(serial.SerialException):
        port.read(1)
    with pytest.raises(serial.SerialException):
        port.write(b"lost")
    port.close()
    with pytest.raises(serial.SerialException):
        open_port(ser)
    ser.plug()
    with open_port(ser) as port:
        port.write(b"back" + Q[1])
        assert port.read(1) == b"\x12"
    assert ser.wait_for_bytes(lambda b: b.endswith(b"back"))


def test_serial_leaves_no_socat_behind(tmp_path):
    with FakeSerialPrinter(tmp_path / "a") as printer:
        printer.unplug()
        printer.plug()
        proc = printer.process
        assert proc.pid in [c.pid for c in socat_children()]
    assert proc.returncode is not None
    assert socat_children() == []
    own = FakeSerialPrinter()  # its own temporary folder, removed on close
    folder = own.dir
    own.close()
    own.close()
    assert not folder.exists() and socat_children() == []
