"""Fake ESC/POS printers (TCP port 9100 and serial through socat) that answer status queries."""

from __future__ import annotations

import contextlib
import enum
import os
import select
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.escpos_decode import DLE, EOT, PREFIXES, Receipt, command_length, decode, is_cut

__all__ = [
    "BLOCKING_STATES", "FakeNetworkPrinter", "FakePrinterCore", "FakeSerialPrinter",
    "PrinterState", "StatusRecord", "status_byte",
]


class PrinterState(enum.StrEnum):
    """What the fake printer is going through; it decides the DLE EOT replies."""

    READY = "ready"
    PAPER_LOW = "paper_low"  # roll near its end: still prints
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    ERROR = "error"  # unrecoverable error (e.g. head overheated for good)
    SILENT = "silent"  # answers nothing: no status support, or dead


BLOCKING_STATES = frozenset({PrinterState.PAPER_OUT, PrinterState.COVER_OPEN,
                             PrinterState.OFFLINE, PrinterState.ERROR})

FIXED = 0x12  # bit 1 and bit 4 are always 1, bits 0 and 7 always 0: byte & 0x93 == 0x12
OFFLINE_BIT = 0x08  # n=1
STATUS_BITS: dict[PrinterState, dict[int, int]] = {
    PrinterState.READY: {},
    PrinterState.PAPER_LOW: {4: 0x0C},
    PrinterState.PAPER_OUT: {1: OFFLINE_BIT, 2: 0x20, 4: 0x60},
    PrinterState.COVER_OPEN: {1: OFFLINE_BIT, 2: 0x04},
    PrinterState.OFFLINE: {1: OFFLINE_BIT},
    PrinterState.ERROR: {1: OFFLINE_BIT, 2: 0x40, 3: 0x20},
}


def status_byte(state: PrinterState | str, n: int) -> int | None:
    """The byte a real printer sends back for DLE EOT ``n`` (1-4) in ``state``; None if silent.

    n=1 printer status (0x08 offline); n=2 offline cause (0x04 cover open, 0x08 paper fed by
    the button, 0x20 stopped by paper end, 0x40 error); n=3 error cause (0x08 autocutter,
    0x20 unrecoverable, 0x40 auto-recoverable); n=4 roll paper sensor (0x0C near end, 0x60 out).
    """
    state = PrinterState(state)
    if not 1 <= n <= 4:
        raise ValueError(f"DLE EOT n must be 1-4, not {n}")
    if state is PrinterState.SILENT:
        return None
    return FIXED | STATUS_BITS[state].get(n, 0)


@dataclass(frozen=True)
class StatusRecord:
    """One DLE EOT n seen: ``offset`` is len(received) at that moment, ``reply`` what was sent."""

    n: int
    offset: int
    state: PrinterState
    reply: bytes


class _Stream:
    """The incremental parser of one connection: commands may arrive split across reads.

    It follows the command structure (via the decoder's ``command_length``), so bytes inside a
    payload (image data, QR data) that happen to read DLE EOT n are data, not a status query.
    """

    HOLD = 64  # commands up to this long are held until complete; longer ones stream through

    def __init__(self, core: FakePrinterCore):
        self.core = core
        self.pending = bytearray()  # an incomplete command header
        self.skip = 0  # payload bytes of the current command still to pass through

    def feed(self, chunk: bytes, send: Callable[[bytes], object] | None = None) -> bytes:
        """Take ``chunk``; answer status queries through ``send`` (also returned, joined)."""
        core = self.core
        if core.delay_per_byte:
            time.sleep(core.delay_per_byte * len(chunk))
        buf = self.pending + chunk
        self.pending = bytearray()
        out = bytearray()  # data not yet handed to the core
        replies = bytearray()
        i, n = 0, len(buf)
        while i < n:
            if self.skip:
                k = min(self.skip, n - i)
                out += buf[i:i + k]
                i += k
                self.skip -= k
                continue
            if buf[i] not in PREFIXES:
                j = i + 1
                while j < n and buf[j] not in PREFIXES:
                    j += 1
                out += buf[i:j]
                i = j
                continue
            length = command_length(buf, i)
            if length is None or (i + length > n and length <= self.HOLD):
                break  # wait for the rest of this command
            if buf[i] == DLE and buf[i + 1] == EOT:
                core._accept(out, cut=False)
                out = bytearray()
                reply = core._query(buf[i + 2])
                if reply:
                    replies += reply
                    if send is not None:
                        if core.reply_delay:
                            time.sleep(core.reply_delay)
                        send(reply)
                i += length
                continue
            if i + length > n:  # a long command (image): stream its payload through
                out += buf[i:]
                self.skip = i + length - n
                i = n
                break
            cmd = buf[i:i + length]
            out += cmd
            i += length
            if is_cut(cmd):
                core._accept(out, cut=True)
                out = bytearray()
        self.pending = bytearray(buf[i:])
        core._accept(out, cut=False)
        return bytes(replies)


class FakePrinterCore:
    """What every fake printer shares: the byte stream, status replies, jobs and waiting.

    ``received`` holds every byte except the DLE EOT queries; ``jobs`` counts cuts. In a
    blocking state (paper out, cover open, offline, error) bytes are still taken, as a real
    printer buffers them, but ``printing_blocked`` is true and cuts count in ``blocked_jobs``.
    ``reply_override`` maps n to the exact bytes to answer (b"" for none), whatever the state.
    """

    def __init__(self, state: PrinterState | str = PrinterState.READY, *,
                 delay_per_byte: float = 0.0, reply_delay: float = 0.0):
        self._cond = threading.Condition()
        self._state = PrinterState(state)
        self.delay_per_byte = delay_per_byte
        self.reply_delay = reply_delay
        self.reply_override: dict[int, bytes] = {}
        self.received = bytearray()
        self.jobs = 0
        self.blocked_jobs = 0
        self.blocked_bytes = 0
        self.status_queries: list[int] = []
        self.status_log: list[StatusRecord] = []
        self._default_stream = _Stream(self)

    # -- state ---------------------------------------------------------------------------------

    @property
    def state(self) -> PrinterState:
        return self._state

    @state.setter
    def state(self, value: PrinterState | str) -> None:
        with self._cond:
            self._state = PrinterState(value)
            self._cond.notify_all()

    @property
    def printing_blocked(self) -> bool:
        """True while the state keeps the printer from printing (it still buffers bytes)."""
        return self._state in BLOCKING_STATES

    # -- input ---------------------------------------------------------------------------------

    def stream(self) -> _Stream:
        """A fresh parser for one connection (a new TCP client, a serial port plugged in)."""
        return _Stream(self)

    def feed(self, data: bytes) -> bytes:
        """Feed bytes as if they came over the wire (one shared stream); returns the replies."""
        return self._default_stream.feed(data)

    def _accept(self, data: bytes | bytearray, *, cut: bool) -> None:
        if not data and not cut:
            return
        with self._cond:
            self.received += data
            if self.printing_blocked:
                self.blocked_bytes += len(data)
            if cut:
                self.jobs += 1
                if self.printing_blocked:
                    self.blocked_jobs += 1
            self._cond.notify_all()

    def _query(self, n: int) -> bytes:
        with self._cond:
            state = self._state
            if n in self.reply_override:
                reply = bytes(self.reply_override[n])
            elif state is PrinterState.SILENT or not 1 <= n <= 4:
                reply = b""
            else:
                reply = bytes([status_byte(state, n)])
            self.status_queries.append(n)
            self.status_log.append(StatusRecord(n, len(self.received), state, reply))
            self._cond.notify_all()
        return reply

    # -- reading results -----------------------------------------------------------------------

    def data(self) -> bytes:
        """A snapshot of ``received``."""
        with self._cond:
            return bytes(self.received)

    def receipt(self, profile: str = "TM-T88V", *, strict: bool = False) -> Receipt:
        """``received`` decoded (see tests.escpos_decode.decode)."""
        return decode(self.data(), profile, strict=strict)

    def clear(self) -> None:
        """Forget everything received so far (bytes, jobs, queries); the state stays."""
        with self._cond:
            self.received.clear()
            self.jobs = self.blocked_jobs = self.blocked_bytes = 0
            self.status_queries.clear()
            self.status_log.clear()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Wait until ``predicate()`` (called with the lock held) is true; False on timeout."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def wait_for_jobs(self, n: int, timeout: float = 5.0) -> bool:
        """Wait until at least ``n`` jobs (cuts) arrived."""
        return self.wait_for(lambda: self.jobs >= n, timeout)

    def wait_for_bytes(self, predicate: Callable[[bytes], bool], timeout: float = 5.0) -> bool:
        """Wait until ``predicate(received bytes)`` is true."""
        return self.wait_for(lambda: predicate(bytes(self.received)), timeout)

    def wait_for_status_queries(self, n: int, timeout: float = 5.0) -> bool:
        """Wait until at least ``n`` DLE EOT queries arrived."""
        return self.wait_for(lambda: len(self.status_queries) >= n, timeout)


# -- network -----------------------------------------------------------------------------------

def _abort(conn: socket.socket) -> None:
    """Close with a reset (like a printer losing power), not a polite FIN."""
    with contextlib.suppress(OSError):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        conn.close()


class FakeNetworkPrinter(FakePrinterCore):
    """A printer on 127.0.0.1 (a raw port like 9100; ``port=0`` picks a free one).

    It listens from construction on; clients are served each on its own daemon thread, with
    its own parser. ``unplug()`` stops listening (connecting is refused) and resets every
    client connection; ``plug()`` listens again on the same port.
    """

    def __init__(self, state: PrinterState | str = PrinterState.READY, *,
                 host: str = "127.0.0.1", port: int = 0, **core_options):
        super().__init__(state, **core_options)
        self.host = host
        self.port = port
        self.connections = 0  # accepted so far
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._accepter: threading.Thread | None = None
        self._clients: dict[socket.socket, threading.Thread] = {}
        self._closed = False
        self.plug()

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def plugged(self) -> bool:
        return self._listener is not None

    @property
    def active_connections(self) -> int:
        with self._lock:
            return len(self._clients)

    def plug(self) -> None:
        """Listen (again, on the same port once one was picked)."""
        if self._closed:
            raise RuntimeError("the fake printer is closed")
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self.port))
            listener.listen(8)
        except OSError:
            listener.close()
            raise
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._accepter = threading.Thread(target=self._accept_loop, args=(listener,),
                                          name=f"fake-printer-{self.port}", daemon=True)
        self._accepter.start()

    def unplug(self) -> None:
        """Stop listening and reset every open connection (the client's next I/O fails)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
            listener.close()
        if self._accepter is not None:
            self._accepter.join(2)
            self._accepter = None
        with self._lock:
            clients = list(self._clients.items())
        for conn, _ in clients:
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.shutdown(socket.SHUT_RD)  # wakes recv(); the serving thread then resets
        for _, thread in clients:
            thread.join(2)

    def close(self) -> None:
        self.unplug()
        self._closed = True

    def __enter__(self) -> FakeNetworkPrinter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            if self._listener is not listener:  # unplugged meanwhile
                _abort(conn)
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True,
                                      name=f"fake-printer-{self.port}-client")
            with self._lock:
                self.connections += 1
                self._clients[conn] = thread
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        stream = self.stream()
        try:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                stream.feed(chunk, conn.sendall)
        except OSError:
            pass
        finally:
            with self._lock:
                self._clients.pop(conn, None)
            if self._listener is None:  # unplugged: reset the connection
                _abort(conn)
            else:
                with contextlib.suppress(OSError):
                    conn.close()


# -- serial ------------------------------------------------------------------------------------

def open_pty_pair(resources: dict, folder: Path, link: str, device: str,
                  timeout: float) -> None:
    """Start ``socat`` joining two ptys named ``link`` (this fake's end) and ``device`` (the
    driver's end); put the process, its log and both descriptors in ``resources`` (``_reap``
    undoes it). Keeping a handle on the driver's end means the driver closing its port does not
    end socat."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in (link, device):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    log = open(folder / "socat.log", "ab")  # noqa: SIM115 - closed by _reap
    proc = subprocess.Popen(
        ["socat", "-d", "-d", f"pty,raw,echo=0,link={link}", f"pty,raw,echo=0,link={device}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    resources.update(proc=proc, log=log)
    deadline = time.monotonic() + timeout
    while not (os.path.exists(link) and os.path.exists(device)):
        if proc.poll() is not None or time.monotonic() > deadline:
            _reap(resources)
            text = (folder / "socat.log").read_text(errors="replace")
            raise RuntimeError(f"socat did not create its ptys:\n{text}")
        time.sleep(0.005)
    resources["fd"] = os.open(link, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    resources["keeper"] = os.open(device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)


def _reap(resources: dict) -> None:
    """Kill socat and close descriptors (used by close() and as a finaliser)."""
    proc = resources.pop("proc", None)
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for key in ("fd", "keeper"):
        fd = resources.pop(key, None)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
    log = resources.pop("log", None)
    if log is not None:
        log.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [], 0.1)
            continue
        view = view[written:]


class PtyCable:
    """The cable of a serial fake: a socat pty pair whose ``device`` end the code under test
    opens, the fake reading ``link`` on a daemon thread. ``unplug()`` kills socat (the device
    path vanishes, the next read or write fails); ``plug()`` starts it again under the same
    names. Subclasses name themselves (``KIND``) and give ``_reader_state()`` and
    ``_received(fd, chunk, state)``."""

    LINK_TIMEOUT = 5.0
    KIND = "device"

    def _open_cable(self, tmp_dir: str | os.PathLike | None, name: str) -> None:
        if shutil.which("socat") is None:
            raise RuntimeError("socat is not installed")
        self._own_dir = tmp_dir is None
        self.dir = Path(tempfile.mkdtemp(prefix=f"fake{name}-") if tmp_dir is None
                        else tmp_dir)
        self.link = str(self.dir / name)  # the fake's end
        self.device = str(self.dir / f"{name}-dev")  # the end the code under test opens
        self._res: dict = {}
        self._finalizer = weakref.finalize(self, _reap, self._res)
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        self._closed = False
        self.plug()

    @property
    def plugged(self) -> bool:
        return "proc" in self._res

    @property
    def process(self) -> subprocess.Popen | None:
        """The running socat, if plugged."""
        return self._res.get("proc")

    def plug(self) -> None:
        """Start socat and the reader (no-op if already plugged); the same paths as before."""
        if self._closed:
            raise RuntimeError(f"the fake {self.KIND} is closed")
        if self.plugged:
            return
        open_pty_pair(self._res, self.dir, self.link, self.device, self.LINK_TIMEOUT)
        self._stop = threading.Event()
        self._reader = threading.Thread(
            target=self._read_loop, args=(self._res["fd"], self._stop, self._reader_state()),
            name=f"fake-{self.KIND.replace(' ', '-')}", daemon=True)
        self._reader.start()

    def unplug(self) -> None:
        """Kill socat (reaped), stop the reader; the device path is gone afterwards."""
        proc = self._res.pop("proc", None)
        if proc is not None:
            _reap({"proc": proc})
        self._stop.set()
        if self._reader is not None:
            self._reader.join(2)
            self._reader = None
        _reap(self._res)
        for path in (self.link, self.device):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def close(self) -> None:
        if self._closed:
            return
        self.unplug()
        self._closed = True
        self._finalizer.detach()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _reader_state(self):
        """What the reader keeps between chunks (a parser), made at each plug."""
        raise NotImplementedError

    def _received(self, fd: int, chunk: bytes, state) -> bool:
        """Take a chunk the host wrote (``fd`` to answer on); False ends the reader."""
        raise NotImplementedError

    def _read_loop(self, fd: int, stop: threading.Event, state) -> None:
        while not stop.is_set():
            try:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if not ready:
                    continue
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            except (OSError, ValueError):
                return  # socat gone (EIO) or descriptor closed
            if not chunk or not self._received(fd, chunk, state):
                return


class FakeSerialPrinter(FakePrinterCore, PtyCable):
    """A printer on a serial line: a socat pty pair whose ``device`` end the driver opens.

    ``device`` (``<dir>/printer-dev``) is a path for pyserial; the fake reads the other end
    (``<dir>/printer``) on a daemon thread. ``unplug()`` kills socat: the device path vanishes
    and the driver's next read or write fails; ``plug()`` starts socat again under the same
    names (a new pty behind them, so the driver has to reopen). The fake keeps an extra handle
    on the device end so that a driver closing the port does not end socat's loop.
    """

    KIND = "printer"

    def __init__(self, tmp_dir: str | os.PathLike | None = None,
                 state: PrinterState | str = PrinterState.READY, **core_options):
        super().__init__(state, **core_options)
        self._open_cable(tmp_dir, "printer")

    def _reader_state(self) -> _Stream:
        return self.stream()

    def _received(self, fd: int, chunk: bytes, stream: _Stream) -> bool:
        try:
            stream.feed(chunk, lambda data: _write_all(fd, data))
        except OSError:
            return False
        return True
