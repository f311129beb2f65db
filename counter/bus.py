"""One serial port with the counter devices on it: keypads, rating pads, LED number displays.

``SerialBus`` owns the port and does all of its I/O on its worker's thread (a
``device.worker.Worker``): it reads, parses with the port's protocol (``counter.protocol``),
passes each new key press to ``on_key`` and answers with its result, and writes the displays'
texts; the worker reopens the port with a growing pause when it is unplugged. It knows nothing
of the hall or the web: everything goes out through the ``on_key`` and ``on_state`` callbacks.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import serial

from device.worker import Worker, why

from .protocol import (
    MAX_GARBAGE,
    PROTOCOLS,
    Garbage,
    Hello,
    KeyPress,
    check_address,
    check_level,
    check_text,
)

log = logging.getLogger("goiso.counter")

KINDS = ("keypad", "display", "rating")
FIRST_PAUSE = 0.2  # before reopening a lost port (doubling up to max_pause)
STABLE_SECONDS = 10.0  # a port up this long is healthy again: the next loss starts at 0.2 s
LOG_EVERY = 10.0  # seconds between two log lines about the same kind of garbage
CHECK_EVERY = 0.1  # seconds between two looks at silence, refresh and dedup ageing
READ_SIZE = 4096


class SerialBus(Worker):
    """The devices behind one serial port (``url`` is anything pyserial opens: a device path,
    ``loop://``, a pty).

    ``devices`` maps each address (1-247) to its kind: "keypad", "display" or "rating".
    ``on_key(bus_name, press) -> bool`` is called in the loop thread once per new key press;
    its result is the ack ('+' for True, '-' for False or an exception). It should be quick:
    devices wait ~300 ms for the ack before they retry.
    ``on_state(device_id, info)`` is called on each change of the port (``device_id`` =
    ``name``) or of a device (``f"{name}:{address}"``); ``info`` has ``kind``, ``state``
    ("connected", "disconnected", "online", "silent"), ``ready`` and ``detail``.
    """

    kind = "counter bus"

    def __init__(self, name: str, url: str, *, devices: dict[int, str],
                 on_key: Callable[[str, KeyPress], bool],
                 on_state: Callable[[str, dict], None],
                 baudrate: int = 9600, protocol: str = "goiso",
                 open_port: Callable = serial.serial_for_url,
                 read_timeout: float = 0.05, max_pause: float = 10.0,
                 refresh_seconds: float = 30.0, silent_after: float = 30.0,
                 dedup_seconds: float = 10.0, write_timeout: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r} (one of {', '.join(PROTOCOLS)})")
        for address, kind in devices.items():
            check_address(address)
            if kind not in KINDS:
                raise ValueError(f"device {address}: kind must be one of {KINDS}, not {kind!r}")
        super().__init__(name, on_state=on_state, first_pause=FIRST_PAUSE, max_pause=max_pause,
                         stable_after=STABLE_SECONDS, clock=clock)
        self.url = url
        self.devices = dict(devices)
        self.baudrate = baudrate
        self.protocol = PROTOCOLS[protocol]()
        self.on_key = on_key
        self.open_port = open_port
        self.read_timeout = read_timeout
        self.refresh_seconds = refresh_seconds
        self.silent_after = silent_after
        self.dedup_seconds = dedup_seconds
        self.write_timeout = write_timeout
        self.stats = {"frames": 0, "keys": 0, "duplicates": 0, "garbage": 0, "echoes": 0,
                      "reconnects": 0}
        self.texts: dict[int, str] = {}  # address -> what its display shows
        self.levels: dict[int, int] = {}  # address -> brightness set by brightness()
        self._lock = threading.Lock()  # guards texts, levels and the queue of changes
        self._changed: dict[int, None] = {}  # addresses to send (an ordered set, bounded)
        self._port = None
        self._opened_once = False
        self._connected_at = 0.0
        self._last_refresh = 0.0
        self._last_check = 0.0
        self._heard: dict[int, float] = {}
        self._names: dict[int, str] = {}
        self._seen: OrderedDict[tuple[int, int], tuple[float, bool]] = OrderedDict()
        self._logged: dict[str, tuple[float, int]] = {}

    # -- the outside world -----------------------------------------------------------------

    def display(self, address: int, text: str) -> None:
        """Show ``text`` (0-8 ASCII characters, "" = blank) on the display at ``address``.

        Remembered and sent by the loop at once; sent again when the port comes back and
        every ``refresh_seconds``. Raises ValueError for bad text or an
        address that is not one of this bus's devices (0 = every display).
        """
        self._check_target(address)
        check_text(text)
        with self._lock:
            self.texts[address] = text
            self._changed[address] = None
        self.wake()

    def wake(self) -> None:
        """Cut the loop's wait for bytes short, so a new number goes out now, not after it."""
        super().wake()
        port = self._port
        if port is not None and hasattr(port, "cancel_read"):
            try:
                port.cancel_read()
            except Exception as exc:  # noqa: BLE001 - a port closing under us; the loop copes
                log.debug("counter bus %s: waking the loop: %s", self.name, why(exc))

    def brightness(self, address: int, level: int) -> None:
        """Set a display's brightness (0-7); remembered and re-sent like the text."""
        self._check_target(address)
        check_level(level)
        with self._lock:
            self.levels[address] = level
            self._changed[address] = None
        self.wake()

    def _check_target(self, address: int) -> None:
        check_address(address, broadcast=True)
        if address and address not in self.devices:
            raise ValueError(f"bus {self.name}: no device at address {address}")

    # -- the worker's hooks ------------------------------------------------------------------

    def connect(self) -> None:
        try:
            port = self.open_port(self.url, baudrate=self.baudrate, timeout=self.read_timeout)
        except (serial.SerialException, OSError):
            raise  # the loop's own kinds of failure, as they are
        except Exception as exc:  # noqa: BLE001 - a bad URL is a port that cannot open, too
            raise serial.SerialException(why(exc)) from exc
        with contextlib.suppress(AttributeError, ValueError, serial.SerialException):
            port.write_timeout = self.write_timeout  # a hung line must not block the loop
        self._port = port
        now = self.clock()
        self._connected_at = self._last_refresh = self._last_check = now
        if self._opened_once:
            self.stats["reconnects"] += 1
        self._opened_once = True
        log.info("counter bus %s: %s open", self.name, self.url)
        self._tell(self.name, "serial_bus", "connected", True,
                   f"{self.url} {self.baudrate} baud, {self.protocol.name}")
        for address, kind in sorted(self.devices.items()):
            if kind == "display":
                self._tell_device(address, "online", True, "")
        self._send_all()  # a re-plugged display is right at once

    def step(self) -> None:
        port = self._port
        waiting = port.in_waiting
        began = self.clock()
        chunk = port.read(min(max(waiting, 1), READ_SIZE))
        now = self.clock()
        if chunk:
            events = self.protocol.feed(chunk)
        elif now - began >= self.read_timeout * 0.9:
            events = self.protocol.flush()  # the line was quiet: drop any half-sent frame
        else:
            events = []  # woken early by display(): a frame may still be arriving
        for event in events:
            self._handle(event, now)
        self._send_changes()
        if now - self._last_check >= CHECK_EVERY:
            self._last_check = now
            self._housekeeping(now)

    def disconnect(self) -> None:
        port, self._port = self._port, None
        self.protocol.flush()  # half a frame from before the loss is not the start of a new one
        if port is not None:
            port.close()

    def lost(self, exc: BaseException) -> None:
        detail = why(exc)
        self._tell(self.name, "serial_bus", "disconnected", False, detail)
        for address in sorted(self.devices):
            self._tell_device(address, "disconnected", False, "cổng nối tiếp mất kết nối")

    def _write(self, data: bytes) -> None:
        self._port.write(data)

    # -- what the devices say ----------------------------------------------------------------

    def _handle(self, event, now: float) -> None:
        if isinstance(event, Garbage):
            self._garbage(event)
            return
        address = event.address
        if address not in self.devices:
            self._garbage(Garbage(repr(event).encode()[:MAX_GARBAGE], f"unknown address {address}"),
                          key=f"address {address}")
            return
        self.stats["frames"] += 1
        if isinstance(event, Hello):
            self._names[address] = event.name
        self._heard[address] = now
        if self.devices[address] != "display":
            name = self._names.get(address, "")
            self._tell_device(address, "online", True, name)
        if isinstance(event, KeyPress):
            self._key(event, now)

    def _key(self, press: KeyPress, now: float) -> None:
        ident = (press.address, press.seq)
        seen = self._seen.get(ident)
        if seen is not None and now - seen[0] < self.dedup_seconds:
            self.stats["duplicates"] += 1
            self._write(self.protocol.ack(press.address, press.seq, seen[1]))
            return
        self.stats["keys"] += 1
        try:
            ok = bool(self.on_key(self.name, press))
        except Exception:  # noqa: BLE001 - a failing handler refuses the key, nothing more
            log.exception("counter bus %s: handling %s", self.name, press)
            ok = False
        self._seen.pop(ident, None)
        self._seen[ident] = (now, ok)
        self._write(self.protocol.ack(press.address, press.seq, ok))

    def _garbage(self, item: Garbage, key: str | None = None) -> None:
        if item.echo:  # our own frame, heard back on a two-wire RS-485 line
            self.stats["echoes"] += 1
            return
        self.stats["garbage"] += 1
        key = key or " ".join(item.reason.split()[:2])
        last, quiet = self._logged.get(key, (None, 0))
        now = time.monotonic()
        if last is None or now - last >= LOG_EVERY:
            more = f" (and {quiet} more since)" if quiet else ""
            log.warning("counter bus %s: dropped %s: %r%s", self.name, item.reason,
                        item.data[:16], more)
            self._logged[key] = (now, 0)
        else:
            self._logged[key] = (last, quiet + 1)

    # -- what the host sends -------------------------------------------------------------------

    def _frames_for(self, address: int) -> bytes:
        with self._lock:
            text = self.texts.get(address)
            level = self.levels.get(address)
        data = b""
        if level is not None:
            data += self.protocol.brightness(address, level)
        if text is not None:
            data += self.protocol.display(address, text)
        return data

    def _send_changes(self) -> None:
        if not self._changed:
            return
        with self._lock:
            addresses = list(self._changed)
            self._changed.clear()
        for address in addresses:
            self._write(self._frames_for(address))

    def _send_all(self) -> None:
        with self._lock:
            addresses = sorted(set(self.texts) | set(self.levels))
            self._changed.clear()
        for address in addresses:
            self._write(self._frames_for(address))
        self._last_refresh = self.clock()

    def _housekeeping(self, now: float) -> None:
        if now - self._last_refresh >= self.refresh_seconds:
            self._send_all()
        while self._seen:  # forget key presses older than the dedup window
            ident, (when, _) = next(iter(self._seen.items()))
            if now - when < self.dedup_seconds:
                break
            del self._seen[ident]
        for address, kind in self.devices.items():
            if kind == "display":
                continue
            last = max(self._heard.get(address, 0.0), self._connected_at)
            if now - last >= self.silent_after:
                self._tell_device(address, "silent", False,
                                  f"không nghe thấy sau {self.silent_after:g} giây")

    # -- reporting -------------------------------------------------------------------------

    def _tell_device(self, address: int, state: str, ready: bool, detail: str) -> None:
        self._tell(f"{self.name}:{address}", self.devices[address], state, ready, detail)

    def _tell(self, device_id: str, kind: str, state: str, ready: bool, detail: str) -> None:
        self.tell(device_id, {"kind": kind, "state": state, "ready": ready, "detail": detail})
