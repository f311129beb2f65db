"""Fake counter devices (keypads, rating pads, LED displays) on a serial line through socat.

``FakeBusDevice`` is every device of one bus at once: a socat pty pair whose ``device`` end
the code under test opens (``SerialBus(url=fake.device)``); the fake speaks from the other end.
It presses keys and says hello as any address, sends raw noise, and collects what the host
sends (acks, display texts, brightness) parsed with the same protocol module. ``unplug()``
kills socat (the device path vanishes, the host's next read fails) and ``plug()`` starts it
again under the same names, as FakeSerialPrinter does (tests/fakeprinter.py); no pyserial
``loop://`` is involved, so the host meets a real tty.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from counter.protocol import PROTOCOLS, Frame, Garbage, host_reply
from tests.fakeprinter import PtyCable, _write_all

__all__ = ["FakeBusDevice"]


class FakeBusDevice(PtyCable):
    """All devices of a bus, simulated behind a socat pty pair (``device`` is the host's end).

    ``acks`` lists (address, seq, '+'|'-') in arrival order; ``displays`` the latest text per
    address; ``levels`` the latest brightness; ``frames`` every host frame; ``garbage`` what did
    not parse. ``protocol`` is "goiso" or "ascii" (what the host under test speaks).
    """

    KIND = "bus"

    def __init__(self, tmp_dir: str | os.PathLike | None = None, *, protocol: str = "goiso"):
        self.protocol_name = protocol
        self._encoders = {name: cls() for name, cls in PROTOCOLS.items()}
        self._cond = threading.Condition()
        self.acks: list[tuple[int, int, str]] = []
        self.displays: dict[int, str] = {}
        self.levels: dict[int, int] = {}
        self.frames: list[Frame] = []
        self.garbage: list[Garbage] = []
        self._seq: dict[int, int] = {}
        self._open_cable(tmp_dir, "keypad")

    def _reader_state(self):
        return PROTOCOLS[self.protocol_name]()

    # -- the devices speak -----------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        """Put bytes on the line as they are (noise, hand-made frames)."""
        fd = self._res.get("fd")
        if fd is None:
            raise RuntimeError("the fake bus is unplugged")
        _write_all(fd, data)

    def next_seq(self, address: int) -> int:
        """The SEQ the next press of ``address`` will carry."""
        return (self._seq.get(address, 0) + 1) % 256

    def press(self, address: int, key: str, digits: str = "", seq: int | None = None,
              protocol: str | None = None) -> int:
        """Send a key frame from ``address``; returns its SEQ (one more than the last press of
        that address unless ``seq`` is given, e.g. to send a retry)."""
        if seq is None:
            seq = self.next_seq(address)
        self._seq[address] = seq
        self.send_raw(self._encoder(protocol).key(address, seq, key, digits))
        return seq

    def hello(self, address: int, name: str = "fake", protocol: str | None = None) -> None:
        self.send_raw(self._encoder(protocol).hello(address, name))

    def _encoder(self, protocol: str | None):
        return self._encoders[protocol or self.protocol_name]

    # -- what the host said ------------------------------------------------------------------------

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
        """Wait until ``predicate()`` (called with the lock held) is true; False on timeout."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def acks_for(self, address: int, seq: int) -> list[str]:
        with self._cond:
            return [r for a, s, r in self.acks if (a, s) == (address, seq)]

    def wait_for_ack(self, address: int, seq: int, timeout: float = 2.0,
                     count: int = 1) -> str | None:
        """The result ('+' or '-') of the ``count``-th ack of (address, seq); None if none came."""
        def arrived() -> bool:
            return sum(1 for a, s, _ in self.acks if (a, s) == (address, seq)) >= count

        if not self.wait_for(arrived, timeout):
            return None
        return self.acks_for(address, seq)[count - 1]

    def wait_for_display(self, address: int, text: str, timeout: float = 2.0) -> bool:
        return self.wait_for(lambda: self.displays.get(address) == text, timeout)

    def display_frames(self, address: int) -> list[str]:
        """Every text sent to ``address``, in order (re-sends included)."""
        with self._cond:
            return [f.data.decode("ascii") for f in self.frames
                    if f.command == "D" and f.address == address]

    def clear(self) -> None:
        with self._cond:
            self.acks.clear()
            self.displays.clear()
            self.levels.clear()
            self.frames.clear()
            self.garbage.clear()

    def _take(self, items: list[Frame | Garbage]) -> None:
        with self._cond:
            for item in items:
                if isinstance(item, Garbage):
                    self.garbage.append(item)
                    continue
                self.frames.append(item)
                what, value = host_reply(item)
                if what == "ack":
                    seq, result = value
                    self.acks.append((item.address, seq, result))
                elif what == "display":
                    self.displays[item.address] = value
                else:
                    self.levels[item.address] = value
            self._cond.notify_all()

    def _received(self, fd: int, chunk: bytes, parser) -> bool:
        self._take(parser.feed_host(chunk))
        return True
