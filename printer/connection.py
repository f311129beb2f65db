"""How a kiosk's printer is reached: USB, serial, network, a device file, or a folder (demo).

One ``Link`` class per kind, each over a python-escpos printer class and its public API (the
folder needs none): ``send`` a job's bytes, and, where the connection can read, ``query`` one
status byte.  ``open_link`` picks the class from ``LINKS``; nothing here is opened until the
print worker asks (never by ``create_app``).
"""

import logging
import os
import socket
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, get_args

from msgspec import Meta, Struct

from hall.errors import InvalidInput

from . import status
from .status import PrinterStatus

if TYPE_CHECKING:  # python-escpos takes 0.2 s to import: only a hall with printers pays it
    from escpos.escpos import Escpos

log = logging.getLogger("goiso.printer")
Connection = Literal["file", "usb", "serial", "network", "device", "none"]
KINDS = get_args(Connection)
UsbId = Annotated[int, Meta(ge=0, le=0xFFFF)]
Endpoint = Annotated[int, Meta(ge=0, le=0xFF)]
# What each connection cannot work without, and how to say it is missing.
NEEDS = {
    "network": {"host": "cần địa chỉ của máy in mạng khi connection = \"network\"."},
    "serial": {"device": "cần cổng của máy in (ví dụ \"/dev/ttyUSB0\") khi connection ="
                         " \"serial\"."},
    "device": {"device": "cần tệp thiết bị của máy in (ví dụ \"/dev/usb/lp0\") khi connection ="
                         " \"device\"."},
    "usb": {"vendor_id": "cần mã hãng của máy in USB (xem lsusb) khi connection = \"usb\".",
            "product_id": "cần mã sản phẩm của máy in USB (xem lsusb) khi connection ="
                          " \"usb\"."},
}


class PrinterConfig(Struct, kw_only=True, forbid_unknown_fields=True):
    """One printer, as a ``[printers.<kiosk id>]`` table of the settings describes it."""

    connection: Connection = "file"
    folder: str = ""  # file: where jobs and PNG previews go (default <data_dir>/tickets/<kiosk>)
    host: str = ""  # network
    port: Annotated[int, Meta(ge=1, le=65535)] = 9100
    device: str = ""  # serial (/dev/ttyUSB0) or device file (/dev/usb/lp0)
    baudrate: Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400] = 9600
    flow: Literal["none", "rtscts", "dsrdtr", "xonxoff"] = "none"
    vendor_id: UsbId = 0  # usb
    product_id: UsbId = 0
    in_ep: Endpoint = 0x82
    out_ep: Endpoint = 0x01
    # dots: 576 (80 mm), 512 (TM-T88), 384 (58 mm)
    width: Annotated[int, Meta(ge=200, le=1024, multiple_of=8)] = 576
    profile: str = "TM-T20II"  # python-escpos capability profile (80 mm, 576 dots)
    mode: Literal["auto", "raster", "text"] = "auto"
    qr: Literal["auto", "native", "image"] = "auto"
    timeout: Annotated[float, Meta(gt=0, le=120)] = 5.0  # seconds to connect or to send
    status_timeout: Annotated[float, Meta(gt=0, le=10)] = 0.5  # seconds to wait for a status byte
    poll_seconds: Annotated[float, Meta(gt=0, le=3600)] = 5.0  # status poll while idle

    def __post_init__(self):
        """What the types cannot say: the profile exists, the paper is no wider than the
        profile's, and the connection has its address."""
        try:
            from escpos.capabilities import get_profile

            media = get_profile(self.profile).profile_data["media"]
        except KeyError:
            raise InvalidInput("python-escpos không có hồ sơ máy in này (ví dụ: TM-T20II,"
                               " TM-T88V, POS-5890).", field="profile") from None
        dots = media.get("width", {}).get("pixels")
        if isinstance(dots, int) and self.width > dots:
            raise InvalidInput("khổ %(width)s chấm rộng hơn khổ in của hồ sơ %(profile)s"
                               " (%(dots)s chấm); hãy đặt width = %(dots)s.", field="width",
                               width=self.width, profile=self.profile, dots=dots)
        for name, missing in NEEDS.get(self.connection, {}).items():
            if not getattr(self, name):
                raise InvalidInput(missing, field=name)

    def describe(self) -> str:
        """Where the printer is, in a few words for staff."""
        return {
            "file": f"thư mục {self.folder}",
            "usb": f"USB {self.vendor_id:04x}:{self.product_id:04x}",
            "serial": f"cổng nối tiếp {self.device} {self.baudrate} baud",
            "network": f"mạng {self.host}:{self.port}",
            "device": f"tệp thiết bị {self.device}",
            "none": "không có máy in",
        }[self.connection]

    def seconds_per_byte(self) -> float:
        """Link time per byte: only serial lines are slow enough to matter (10 bits a byte)."""
        return 10 / self.baudrate if self.connection == "serial" else 0.0


class Link:
    """An open connection to a printer."""

    can_query = False

    def __init__(self, config: PrinterConfig):
        self.config = config

    def send(self, data: bytes, *, name: str = "", preview=None) -> None:
        """Send one job's bytes (``name`` and ``preview`` serve the folder)."""
        raise NotImplementedError

    def query(self, n: int) -> int | None:
        """One real-time status byte (DLE EOT n), or None when the printer says nothing."""
        raise NotImplementedError

    def status(self) -> PrinterStatus:
        """The printer's state now; a link that cannot read says so instead of guessing."""
        if not self.can_query:
            return PrinterStatus(status.WRITE_ONLY)
        return status.read(self.query)

    def close(self) -> None:
        """Let the printer go (never raises)."""


class FolderLink(Link):
    """The demo printer: each job's bytes and a PNG preview of the paper go to a folder."""

    def __init__(self, config: PrinterConfig):
        super().__init__(config)
        self.folder = Path(config.folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def send(self, data: bytes, *, name: str = "", preview=None) -> None:
        stem = datetime.now().strftime("%Y%m%d-%H%M%S-%f") + (f"-{name}" if name else "")
        (self.folder / f"{stem}.escpos").write_bytes(data)
        if preview is not None:
            preview.save(self.folder / f"{stem}.png", optimize=True)

    def status(self) -> PrinterStatus:
        if os.access(self.folder, os.W_OK):
            return PrinterStatus(status.READY, str(self.folder))
        return PrinterStatus(status.UNREACHABLE, f"không ghi được vào {self.folder}")


class EscposLink(Link):
    """A printer that python-escpos opens and writes to; subclasses say which and how to ask."""

    def __init__(self, config: PrinterConfig):
        super().__init__(config)
        self.printer: Escpos = self.make(config)
        self.printer.open()

    @staticmethod
    def make(config: PrinterConfig) -> "Escpos":
        """The python-escpos printer object for ``config`` (not opened yet)."""
        raise NotImplementedError

    def send(self, data: bytes, *, name: str = "", preview=None) -> None:
        # The one private call: python-escpos has no public way to send bytes that are already
        # ESC/POS (encode.py builds whole jobs, raster included); ``_raw`` is each printer
        # class's own writer, the same one its public commands end in.
        self.printer._raw(data)

    def close(self) -> None:
        try:
            self.printer.close()
        except Exception as exc:  # noqa: BLE001 - closing a broken link must not raise
            log.debug("closing %s: %s", self.config.describe(), exc)


class NetworkLink(EscposLink):
    """A printer on TCP port 9100."""

    can_query = True

    @staticmethod
    def make(config: PrinterConfig) -> "Escpos":
        from escpos import printer as escpos_printers

        return escpos_printers.Network(config.host, config.port, timeout=config.timeout)

    def query(self, n: int) -> int | None:
        sock: socket.socket = self.printer.device
        _drain(sock)
        # Bounded even when sending: a printer that stopped reading must not hang us.
        sock.settimeout(self.config.status_timeout)
        try:
            reply = self.printer.query_status(status.DLE_EOT + bytes([n]))
        except TimeoutError:
            return None
        finally:
            sock.settimeout(self.config.timeout)
        if reply == b"":
            raise ConnectionError("máy in đóng kết nối")
        return reply[-1]


class SerialLink(EscposLink):
    """A printer on a serial port (RS-232 or a USB serial adapter)."""

    can_query = True

    @staticmethod
    def make(config: PrinterConfig) -> "Escpos":
        from escpos import printer as escpos_printers

        return escpos_printers.Serial(
            config.device, baudrate=config.baudrate, timeout=config.status_timeout,
            xonxoff=config.flow == "xonxoff", dsrdtr=config.flow == "dsrdtr")

    def __init__(self, config: PrinterConfig):
        super().__init__(config)
        self.port = self.printer.device  # pyserial's port, opened by python-escpos
        self.port.rtscts = config.flow == "rtscts"
        # A long raster over a slow line: let the write take as long as the bytes need.
        self.port.write_timeout = None

    def send(self, data: bytes, *, name: str = "", preview=None) -> None:
        super().send(data)
        self.port.flush()  # returns once the line has taken every byte

    def query(self, n: int) -> int | None:
        # Not query_status(): its read(16) waits the whole timeout on a serial port, since a
        # printer answers one byte, not sixteen; read(1) returns as soon as the byte is in.
        self.port.reset_input_buffer()
        self.port.write(status.DLE_EOT + bytes([n]))
        reply = self.port.read(1)
        return reply[0] if reply else None

    def close(self) -> None:
        # python-escpos flushes a serial port before closing it: on an unplugged port the flush
        # fails and the port stays open, to fail again (noisily) when collected. pyserial's own
        # close does not flush; after it python-escpos finds the port closed and lets it go.
        try:
            self.port.close()
        except Exception as exc:  # noqa: BLE001
            log.debug("closing %s: %s", self.config.describe(), exc)
        super().close()


class UsbLink(EscposLink):
    """A printer on USB (bulk endpoints, through pyusb)."""

    can_query = True

    @staticmethod
    def make(config: PrinterConfig) -> "Escpos":
        from escpos import printer as escpos_printers

        return escpos_printers.Usb(config.vendor_id, config.product_id,
                                   timeout=int(config.timeout * 1000),
                                   in_ep=config.in_ep, out_ep=config.out_ep)

    def __init__(self, config: PrinterConfig):
        super().__init__(config)
        # query_status() reads with pyusb's default timeout; jobs are written with their own.
        self.printer.device.default_timeout = int(config.status_timeout * 1000)

    def query(self, n: int) -> int | None:
        import usb.core

        try:
            reply = self.printer.query_status(status.DLE_EOT + bytes([n]))
        except usb.core.USBTimeoutError:
            return None
        return reply[-1] if len(reply) else None


class DeviceFileLink(EscposLink):
    """A printer behind a device file (/dev/usb/lp0): it takes bytes but cannot be asked."""

    @staticmethod
    def make(config: PrinterConfig) -> "Escpos":
        from escpos import printer as escpos_printers

        return escpos_printers.File(config.device)  # flushes after every write


def _drain(sock: socket.socket) -> None:
    """Drop stale bytes (a late answer to an earlier query) before asking again."""
    sock.settimeout(0)
    try:
        while sock.recv(64):
            pass
    except (BlockingIOError, TimeoutError):
        pass
    finally:
        sock.settimeout(None)


LINKS: dict[str, type[Link]] = {
    "file": FolderLink,
    "usb": UsbLink,
    "serial": SerialLink,
    "network": NetworkLink,
    "device": DeviceFileLink,
}


def open_link(config: PrinterConfig) -> Link:
    """Open the connection the config names (raises OSError or escpos errors when it cannot)."""
    link = LINKS.get(config.connection)
    if link is None:
        raise ConnectionError(f"không có máy in (connection = {config.connection})")
    return link(config)
