"""printer.connection: [printers] settings and real links (TCP, serial on socat ptys, files)."""

import json
import os
import select
import termios
import time

import pytest
from escpos.exceptions import DeviceNotFoundError
from escpos.printer import Dummy
from PIL import Image

from hall.errors import InvalidInput
from printer import status
from printer.connection import (
    KINDS,
    LINKS,
    DeviceFileLink,
    FolderLink,
    NetworkLink,
    PrinterConfig,
    SerialLink,
    UsbLink,
    open_link,
)
from tests.escpos_decode import decode
from tests.fakeprinter import FakeNetworkPrinter, FakeSerialPrinter, PrinterState
from tests.settings_files import load, problems, toml_table

# fake printer state -> what the link must report
READINGS = {
    PrinterState.READY: status.READY,
    PrinterState.PAPER_LOW: status.PAPER_LOW,
    PrinterState.PAPER_OUT: status.PAPER_OUT,
    PrinterState.COVER_OPEN: status.COVER_OPEN,
    PrinterState.OFFLINE: status.OFFLINE,
    PrinterState.ERROR: status.ERROR,
    PrinterState.SILENT: status.NO_ANSWER,
}


def printer_settings(tmp_path, values: dict) -> PrinterConfig:
    """Printer K1 with ``values``, read from a settings file as goiso reads it."""
    path = tmp_path / "goiso.toml"
    path.write_text("[printers.K1]\n" + "".join(f"{key} = {json.dumps(value)}\n"
                                                for key, value in values.items()),
                    encoding="utf-8")
    return load(path, environ={}).printers["K1"]


def ticket_bytes(text: str = "Số thứ tự A001") -> bytes:
    out = Dummy(profile="TM-T20II")
    out.hw("INIT")
    out.text(text + "\n")
    out.image(Image.new("1", (64, 24), 0), impl="bitImageRaster", center=False)
    out.cut()
    return out.output


def network(fake: FakeNetworkPrinter) -> PrinterConfig:
    return PrinterConfig(connection="network", host=fake.host, port=fake.port, timeout=2,
                         status_timeout=0.2)


def serial(fake: FakeSerialPrinter) -> PrinterConfig:
    return PrinterConfig(connection="serial", device=fake.device, status_timeout=0.2)


@pytest.fixture
def link(fake):
    opened = open_link(network(fake))
    yield opened
    opened.close()


@pytest.fixture
def serial_link(serial_fake):
    opened = open_link(serial(serial_fake))
    yield opened
    opened.close()


# -- settings ----------------------------------------------------------------------------------

# Each bad [printers.K1] table and the whole line a person reads (goiso.toml as given).
BAD_PRINTERS = {
    "connection": ({"connection": "bluetooth"}, 'connection = "bluetooth": cần một trong:'
                   ' "device", "file", "network", "none", "serial", "usb".'),
    "mode": ({"mode": "fast"}, 'mode = "fast": cần một trong: "auto", "raster", "text".'),
    "qr": ({"qr": "yes"}, 'qr = "yes": cần một trong: "auto", "image", "native".'),
    "flow": ({"flow": "hardware"}, 'flow = "hardware": cần một trong: "dsrdtr", "none",'
             ' "rtscts", "xonxoff".'),
    "width not of 8": ({"width": 580}, "width = 580: cần một số nguyên từ 200 đến 1024, là bội"
                       " của 8."),
    "width small": ({"width": 100}, "width = 100: cần một số nguyên từ 200 đến 1024, là bội"
                    " của 8."),
    "width large": ({"width": 2048}, "width = 2048: cần một số nguyên từ 200 đến 1024, là bội"
                    " của 8."),
    "width as text": ({"width": "wide"}, 'width = "wide": cần một số nguyên từ 200 đến 1024, là'
                      " bội của 8."),
    "wider than the profile": ({"width": 576, "profile": "TM-T88V"}, "width = 576: khổ 576 chấm"
                               " rộng hơn khổ in của hồ sơ TM-T88V (512 chấm); hãy đặt width ="
                               " 512."),
    "default width, narrow profile": ({"profile": "POS-5890"}, "width: khổ 576 chấm rộng hơn"
                                      " khổ in của hồ sơ POS-5890 (384 chấm); hãy đặt width ="
                                      " 384."),
    "profile": ({"profile": "TM-XYZ"}, 'profile = "TM-XYZ": python-escpos không có hồ sơ máy in'
                " này (ví dụ: TM-T20II, TM-T88V, POS-5890)."),
    "network": ({"connection": "network"}, 'host: cần địa chỉ của máy in mạng khi connection ='
                ' "network".'),
    "serial": ({"connection": "serial"}, 'device: cần cổng của máy in (ví dụ "/dev/ttyUSB0")'
               ' khi connection = "serial".'),
    "device": ({"connection": "device"}, 'device: cần tệp thiết bị của máy in (ví dụ'
               ' "/dev/usb/lp0") khi connection = "device".'),
    "usb": ({"connection": "usb"}, "vendor_id: cần mã hãng của máy in USB (xem lsusb) khi"
            ' connection = "usb".'),
    "usb product": ({"connection": "usb", "vendor_id": 0x04B8}, "product_id: cần mã sản phẩm"
                    ' của máy in USB (xem lsusb) khi connection = "usb".'),
    "usb id too big": ({"connection": "usb", "vendor_id": 0x10000, "product_id": 1},
                       "vendor_id = 65536: cần một số nguyên từ 0 đến 65535."),
    "baudrate": ({"baudrate": 9601}, "baudrate = 9601: cần một trong: 1200, 2400, 4800, 9600,"
                 " 19200, 38400, 57600, 115200, 230400."),
    "timeout": ({"timeout": 0}, "timeout = 0: cần một số lớn hơn 0 và không quá 120."),
    "unknown key": ({"ip": "10.0.0.5"}, 'ip = "10.0.0.5": không có thiết lập này (xem'
                    " goiso.example.toml)."),
    "misspelt key": ({"baud": 9600}, "baud = 9600: không có thiết lập này; có phải là baudrate"
                     " không?"),
}


@pytest.mark.parametrize(("values", "said"), BAD_PRINTERS.values(), ids=BAD_PRINTERS.keys())
def test_a_bad_printer_table_is_refused_naming_file_table_and_key(tmp_path, values, said):
    assert problems(tmp_path, toml_table("printers.K1", values)) == [
        f"goiso.toml: [printers.K1] {said}"]


@pytest.mark.parametrize("values", [
    {},
    {"connection": "network", "host": "10.0.0.9"},
    {"connection": "serial", "device": "/dev/ttyUSB0", "baudrate": 115200, "flow": "rtscts"},
    {"connection": "device", "device": "/dev/usb/lp0"},
    {"connection": "usb", "vendor_id": 0x04B8, "product_id": 0x0E15},
    {"connection": "none"},
    {"width": 512, "profile": "TM-T88V"},
    {"width": 384, "profile": "POS-5890", "mode": "raster", "qr": "image"},
    {"width": 576, "profile": "default"},  # width unknown to the profile: trust the setting
])
def test_good_printer_tables_are_loaded(tmp_path, values):
    config = load(tmp_path, toml_table("printers.K1", values)).printers["K1"]
    assert config == PrinterConfig(**values) and config.describe()


def test_a_printer_made_in_code_is_checked_too():
    with pytest.raises(InvalidInput) as caught:
        PrinterConfig(connection="network")
    assert caught.value.params["field"] == "host"


def test_describe_and_link_speed():
    assert PrinterConfig(connection="usb", vendor_id=0x04B8,
                         product_id=0x0E15).describe() == "USB 04b8:0e15"
    slow = PrinterConfig(connection="serial", device="/dev/ttyS0", baudrate=9600)
    assert "9600 baud" in slow.describe()
    assert slow.seconds_per_byte() == pytest.approx(1 / 960)
    assert PrinterConfig(connection="network", host="h").seconds_per_byte() == 0


# -- network -----------------------------------------------------------------------------------

def test_network_send_arrives_exactly(fake, link):
    assert isinstance(link, NetworkLink) and link.can_query
    data = ticket_bytes()
    link.send(data, name="A001")
    assert fake.wait_for_jobs(1, timeout=2)
    assert fake.data() == data
    assert fake.receipt("TM-T20II").lines == ["Số thứ tự A001"]


@pytest.mark.parametrize("state", list(PrinterState))
def test_network_status_for_every_state(fake, link, state):
    fake.state = state
    started = time.monotonic()
    reading = link.status()
    assert reading.state == READINGS[state]
    assert reading.ready is (state in (PrinterState.READY, PrinterState.PAPER_LOW))
    assert time.monotonic() - started < 1.0


def test_network_status_follows_the_printer(fake, link):
    assert link.status().state == status.READY
    fake.state = "paper_out"
    assert link.status().state == status.PAPER_OUT
    fake.state = "silent"
    assert link.status().state == status.NO_ANSWER
    fake.state = "ready"
    assert link.status().state == status.READY


def test_network_late_answer_is_not_taken_for_the_next_one(fake, link):
    """A reply that comes after the timeout is dropped before the next question."""
    fake.reply_delay = 0.4
    assert link.status().state == status.NO_ANSWER
    fake.reply_delay = 0.0  # the late "ready" is on its way
    readable, _, _ = select.select([link.printer.device], [], [], 2)
    assert readable
    fake.state = "paper_out"
    assert link.status().state == status.PAPER_OUT


def test_network_status_queries_are_not_printed(fake, link):
    link.status()
    link.send(ticket_bytes())
    link.status()
    assert fake.wait_for_jobs(1, timeout=2)
    assert fake.data() == ticket_bytes()
    assert fake.status_queries == [1, 4, 1, 4]


def test_network_unplugged(fake, link):
    fake.unplug()
    with pytest.raises(DeviceNotFoundError):
        open_link(network(fake))
    with pytest.raises(OSError):
        link.status()
    with pytest.raises(OSError):
        for _ in range(20):
            link.send(b"lost")
            time.sleep(0.01)
    link.close()
    link.close()  # closing a broken link twice does not raise
    fake.plug()
    again = open_link(network(fake))
    try:
        assert again.status().state == status.READY
    finally:
        again.close()


def test_network_refused(fake):
    config = network(fake)
    fake.close()
    with pytest.raises(DeviceNotFoundError):
        open_link(config)


# -- serial ------------------------------------------------------------------------------------

def test_serial_send_arrives_exactly(serial_fake, serial_link):
    assert serial_link.can_query
    assert isinstance(serial_link, SerialLink)
    port = serial_link.port
    assert port.write_timeout is None and not port.rtscts
    data = ticket_bytes() * 3
    serial_link.send(data)
    assert serial_fake.wait_for_jobs(3, timeout=2)
    assert serial_fake.data() == data


@pytest.mark.parametrize("state", list(PrinterState))
def test_serial_status_for_every_state(serial_fake, serial_link, state):
    serial_fake.state = state
    started = time.monotonic()
    reading = serial_link.status()
    assert reading.state == READINGS[state]
    assert time.monotonic() - started < 1.0


def test_serial_silent_printer_is_not_ready(serial_fake, serial_link):
    # python-escpos' paper_status() reads "paper adequate" from silence; the link must not.
    serial_fake.state = "silent"
    reading = serial_link.status()
    assert reading.state == status.NO_ANSWER and not reading.ready
    assert serial_fake.wait_for_status_queries(1, timeout=1)
    serial_fake.state = "ready"
    assert serial_link.status().state == status.READY


def test_serial_flow_settings(serial_fake):
    config = serial(serial_fake)
    config.flow = "rtscts"
    rts = open_link(config)
    try:
        assert rts.port.rtscts and not rts.port.xonxoff
    finally:
        rts.close()
    config.flow = "xonxoff"
    xon = open_link(config)
    try:
        assert xon.port.xonxoff and not xon.port.rtscts
    finally:
        xon.close()


def test_serial_unplugged(serial_fake, serial_link):
    port = serial_link.port
    serial_fake.unplug()
    with pytest.raises(OSError):
        serial_link.send(b"lost")
    with pytest.raises((OSError, termios.error)):
        serial_link.status()
    serial_link.close()
    assert not port.is_open  # released now, not when collected
    serial_link.close()
    with pytest.raises(DeviceNotFoundError):
        open_link(serial(serial_fake))
    serial_fake.plug()
    again = open_link(serial(serial_fake))
    try:
        assert again.status().state == status.READY
    finally:
        again.close()


# -- device file and folder --------------------------------------------------------------------

def test_device_file_is_write_only(tmp_path):
    path = tmp_path / "lp0"
    link = open_link(PrinterConfig(connection="device", device=str(path)))
    try:
        assert isinstance(link, DeviceFileLink) and not link.can_query
        reading = link.status()
        assert reading.state == status.WRITE_ONLY and reading.ready
        link.send(ticket_bytes())
        assert path.read_bytes() == ticket_bytes()  # flushed at once
    finally:
        link.close()


def test_folder_writes_the_job_and_its_picture(tmp_path):
    folder = tmp_path / "tickets" / "K1"
    link = open_link(PrinterConfig(connection="file", folder=str(folder)))
    assert isinstance(link, FolderLink) and folder.is_dir()
    reading = link.status()
    assert reading.state == status.READY and str(folder) in reading.detail
    picture = Image.new("1", (64, 32), 1)
    link.send(ticket_bytes(), name="A001", preview=picture)
    link.send(ticket_bytes("A002"))
    [job, other] = sorted(folder.glob("*.escpos"))
    assert job.name.endswith("-A001.escpos")
    assert job.read_bytes() == ticket_bytes()
    [png] = folder.glob("*.png")
    assert png.stem == job.stem
    with Image.open(png) as saved:
        assert saved.size == (64, 32)
    assert decode(other.read_bytes(), "TM-T20II").lines == ["A002"]


def test_folder_gone_is_unreachable(tmp_path):
    folder = tmp_path / "K1"
    link = open_link(PrinterConfig(connection="file", folder=str(folder)))
    folder.rmdir()
    reading = link.status()
    assert reading.state == status.UNREACHABLE and not reading.ready
    assert str(folder) in reading.detail


def test_folder_unwritable_is_unreachable(tmp_path):
    folder = tmp_path / "K1"
    link = open_link(PrinterConfig(connection="file", folder=str(folder)))
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: chmod does not stop writing")
        assert link.status().state == status.UNREACHABLE
    finally:
        folder.chmod(0o700)


def test_folder_that_cannot_be_made(tmp_path):
    blocker = tmp_path / "K1"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(OSError):
        open_link(PrinterConfig(connection="file", folder=str(blocker)))


def test_every_kind_but_none_has_its_link_class():
    assert set(LINKS) == set(KINDS) - {"none"}
    assert len(set(LINKS.values())) == len(LINKS)


def test_no_printer_does_not_open():
    with pytest.raises(ConnectionError, match="none"):
        open_link(PrinterConfig(connection="none"))


# -- USB: no USB printer can exist here, so the fake sits at the lowest layer (pyusb's device) --

class FakeUsbDevice:
    """What ``usb.core.find`` returns: bulk endpoints over a fake printer that answers DLE EOT."""

    class backend:  # noqa: N801 - pyusb's attribute name; python-escpos reads its module
        pass

    class _ctx:  # noqa: N801 - what usb.util.dispose_resources (python-escpos' close) releases
        @staticmethod
        def dispose(device):
            device.released = True

    def __init__(self, core):
        self.core = core
        self.answers = bytearray()
        self.configured = False
        self.released = False
        self.gone = False

    def set_configuration(self):
        self.configured = True

    def reset(self):
        pass

    def write(self, endpoint, data, timeout=None):
        import usb.core

        if self.gone:
            raise usb.core.USBError("No such device (it may have been disconnected)", errno=19)
        assert endpoint == 0x01
        self.answers += self.core.feed(bytes(data))
        return len(data)

    def read(self, endpoint, size, timeout=None):
        import usb.core

        assert endpoint == 0x82
        if not self.answers:
            raise usb.core.USBTimeoutError("Operation timed out", errno=110)
        out, self.answers[:] = bytes(self.answers[:size]), self.answers[size:]
        return out


@pytest.fixture
def usb_printer(monkeypatch):
    """A USB printer 04b8:0202 that exists only at pyusb's level."""
    import usb.core

    from tests.fakeprinter import FakePrinterCore

    device = FakeUsbDevice(FakePrinterCore())
    found = {}

    def find(**match):
        found.update(match)
        return None if device.gone else device

    monkeypatch.setattr(usb.core, "find", find)
    device.match = found
    return device


def usb_config(**extra) -> PrinterConfig:
    return PrinterConfig(connection="usb", vendor_id=0x04B8, product_id=0x0202,
                         status_timeout=0.2, **extra)


def test_usb_link_finds_configures_sends_and_reads_status(usb_printer):
    link = open_link(usb_config())
    try:
        assert isinstance(link, UsbLink)
        assert usb_printer.match == {"idVendor": 0x04B8, "idProduct": 0x0202}
        assert usb_printer.default_timeout == 200  # status_timeout, for query_status's read
        assert usb_printer.configured
        assert link.can_query and link.status().state == status.READY
        data = ticket_bytes()
        link.send(data)
        assert bytes(usb_printer.core.received) == data
        usb_printer.core.state = PrinterState.PAPER_OUT
        assert link.status().state == status.PAPER_OUT
        usb_printer.core.state = PrinterState.SILENT
        assert link.status().state == status.NO_ANSWER  # silence is never "paper OK"
    finally:
        link.close()
    assert usb_printer.released


def test_usb_printer_missing_or_unplugged(usb_printer):
    usb_printer.gone = True
    with pytest.raises(DeviceNotFoundError):
        open_link(usb_config())
    usb_printer.gone = False
    link = open_link(usb_config())
    usb_printer.gone = True  # pulled out while open: the next write fails loudly
    with pytest.raises(Exception, match="No such device"):
        link.send(ticket_bytes())
    link.close()
