"""A real ``goiso serve`` in a subprocess, and a light raw-socket SSE client for many streams.

Used by the load test (tests/test_load.py) and the HTTP/SSE benchmarks (bench/http.py,
bench/sse.py).  Everything is bounded: the server is stopped (SIGTERM, then SIGKILL) when the
``with`` block ends, and every wait takes a timeout.

``Streams`` holds hundreds of ``GET /api/v1/events`` connections in one thread with
``selectors``: it decodes HTTP/1.1 chunked bodies and SSE frames incrementally and stamps each
frame with ``time.perf_counter()`` when its last byte arrives.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOISO = Path(sys.executable).with_name("goiso")
HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 free right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# -- the server --------------------------------------------------------------------------------

class LiveServer:
    """``goiso serve --demo`` on a free port and a fresh data folder, as a real subprocess.

    ``tokens[n]`` is counter n's API token, ``master`` and ``worker`` the gunicorn pids.
    """

    def __init__(self, env: dict[str, str] | None = None, start_timeout: float = 20.0):
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.start_timeout = start_timeout
        self.tokens: dict[int, str] = {}
        self.proc: subprocess.Popen | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.worker: int | None = None
        self._worker_proc = None

    @property
    def master(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __enter__(self) -> LiveServer:
        self._tmp = tempfile.TemporaryDirectory(prefix="goiso-live-")
        data = Path(self._tmp.name) / "data"
        self._log = open(Path(self._tmp.name) / "server.log", "w+b")  # noqa: SIM115
        command = [str(GOISO)] if GOISO.exists() else [sys.executable, "-m", "commands"]
        self.proc = subprocess.Popen(
            [*command, "serve", "--demo", "--data-dir", str(data), "--host", HOST,
             "--port", str(self.port)],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self) -> None:
        end = time.monotonic() + self.start_timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"goiso serve exited with {self.proc.returncode}:\n"
                                   + self.output())
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5) as s:
                    s.sendall(b"GET /api/v1/hall HTTP/1.0\r\nHost: x\r\n\r\n")
                    s.settimeout(5)
                    if s.recv(12).startswith(b"HTTP/1.") and self._find_worker():
                        break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("goiso serve did not answer in time:\n" + self.output())
        for number, token in re.findall(r"quầy (\d+): (gs_\S+)", self.output()):
            self.tokens[int(number)] = token
        if not self.tokens:
            raise RuntimeError("no counter tokens printed:\n" + self.output())

    def _find_worker(self) -> bool:
        import psutil

        children = psutil.Process(self.proc.pid).children()
        if len(children) == 1:
            self._worker_proc = children[0]
            self.worker = children[0].pid
        return self.worker is not None

    def output(self) -> str:
        """What the server printed so far (stdout and stderr)."""
        self._log.flush()
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace")
        self._log.seek(0, os.SEEK_END)
        return text

    def rss(self) -> tuple[int, int]:
        """Resident set size in bytes of (the gunicorn master, its worker)."""
        import psutil

        return psutil.Process(self.master).memory_info().rss, \
            psutil.Process(self.worker).memory_info().rss

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self._worker_proc is not None:  # a worker outliving its master: end it too
            import psutil

            with contextlib.suppress(psutil.NoSuchProcess):
                if self._worker_proc.is_running():  # the same process (pid and start time)
                    self._worker_proc.kill()
        if getattr(self, "_log", None) is not None:
            self._log.close()
        if self._tmp is not None:
            self._tmp.cleanup()


# -- plain requests (http.client, no extra dependency) -----------------------------------------

def request(server: LiveServer, method: str, path: str, body: dict | None = None,
            token: str | None = None, timeout: float = 10.0) -> tuple[int, dict | None, float]:
    """One request on a fresh connection: (status, JSON body or None, seconds taken)."""
    import http.client

    headers = {"Accept": "application/json"}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    began = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, server.port, timeout=timeout)
    try:
        conn.request(method, path, body=payload, headers=headers)
        reply = conn.getresponse()
        raw = reply.read()
        took = time.perf_counter() - began
    finally:
        conn.close()
    data = json.loads(raw) if raw and reply.getheader("Content-Type", "").startswith(
        "application/json") else None
    return reply.status, data, took


# -- many SSE streams --------------------------------------------------------------------------

@dataclass
class Frame:
    """One SSE message as received."""

    kind: str
    data: str
    id: str | None
    at: float  # time.perf_counter() when its last byte arrived

    def json(self):
        return json.loads(self.data)


@dataclass
class Stream:
    """One open ``GET /api/v1/events``: raw bytes in, frames out."""

    sock: socket.socket
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    frames: list[Frame] = field(default_factory=list)
    closed: bool = False
    _raw: bytes = b""
    _chunked: bool = False
    _body: bytes = b""
    _chunk_left: int = 0

    def feed(self, data: bytes, now: float) -> None:
        self._raw += data
        if self.status is None:
            head, sep, rest = self._raw.partition(b"\r\n\r\n")
            if not sep:
                return
            lines = head.decode("latin-1").split("\r\n")
            self.status = int(lines[0].split()[1])
            for line in lines[1:]:
                name, _, value = line.partition(":")
                self.headers[name.strip().lower()] = value.strip()
            self._chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
            self._raw = rest
        if self._chunked:
            self._dechunk()
        else:
            self._body += self._raw
            self._raw = b""
        self._frames(now)

    def _dechunk(self) -> None:
        raw = self._raw
        while raw:
            if self._chunk_left > 0:
                take = raw[:self._chunk_left]
                self._body += take
                self._chunk_left -= len(take)
                raw = raw[len(take):]
                if self._chunk_left == 0:
                    self._chunk_left = -2  # the CRLF after the chunk
                continue
            if self._chunk_left < 0:
                skip = min(-self._chunk_left, len(raw))
                raw = raw[skip:]
                self._chunk_left += skip
                continue
            line, sep, rest = raw.partition(b"\r\n")
            if not sep:
                break
            size = int(line.split(b";")[0], 16)
            raw = rest
            if size == 0:
                self.closed = True
                raw = b""
                break
            self._chunk_left = size
        self._raw = raw

    def _frames(self, now: float) -> None:
        while True:
            block, sep, rest = self._body.partition(b"\n\n")
            if not sep:
                return
            self._body = rest
            kind, data, event_id = "message", [], None
            for line in block.decode("utf-8").split("\n"):
                if not line or line.startswith(":"):
                    continue
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "event":
                    kind = value
                elif name == "data":
                    data.append(value)
                elif name == "id":
                    event_id = value
            if data:
                self.frames.append(Frame(kind, "\n".join(data), event_id, now))

    def find(self, kind: str, contains: str | None = None) -> Frame | None:
        for f in self.frames:
            if f.kind == kind and (contains is None or contains in f.data):
                return f
        return None


class Streams:
    """Many SSE connections served by one thread (``selectors``); close them with ``close()``
    (orderly) or ``abort()`` (RST, as a crashed screen or a pulled cable would)."""

    def __init__(self, port: int, path: str = "/api/v1/events"):
        self.port = port
        self.path = path
        self.sel = selectors.DefaultSelector()
        self.streams: list[Stream] = []

    def __enter__(self) -> Streams:
        return self

    def __exit__(self, *exc) -> None:
        self.abort()
        self.sel.close()

    def __len__(self) -> int:
        return len(self.streams)

    def open(self, count: int, timeout: float = 20.0) -> list[Stream]:
        """Open ``count`` more streams and wait until each has its ``state`` frame."""
        request = (f"GET {self.path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
                   "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n").encode()
        new = []
        for _ in range(count):
            sock = socket.create_connection((HOST, self.port), timeout=timeout)
            sock.sendall(request)
            sock.setblocking(False)
            stream = Stream(sock)
            self.sel.register(sock, selectors.EVENT_READ, stream)
            new.append(stream)
        self.streams.extend(new)
        self.pump(lambda: all(s.find("state") for s in new), timeout)
        missing = sum(1 for s in new if not s.find("state"))
        if missing:
            raise TimeoutError(f"{missing} of {count} streams got no state frame in {timeout} s")
        return new

    def pump(self, done, timeout: float) -> bool:
        """Read whatever arrives until ``done()`` is true or ``timeout`` s pass."""
        end = time.monotonic() + timeout
        while not done():
            left = end - time.monotonic()
            if left <= 0:
                return False
            for key, _ in self.sel.select(min(left, 0.5)):
                stream: Stream = key.data
                now = time.perf_counter()
                try:
                    data = stream.sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    stream.closed = True
                    self.sel.unregister(stream.sock)
                    continue
                stream.feed(data, now)
        return True

    def drain(self, stop, timeout: float) -> None:
        """Read and drop whatever arrives (no parsing) until ``stop()`` or ``timeout`` s."""
        end = time.monotonic() + timeout
        while not stop() and time.monotonic() < end:
            for key, _ in self.sel.select(min(max(0.0, end - time.monotonic()), 0.2)):
                stream: Stream = key.data
                try:
                    data = stream.sock.recv(1 << 18)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    stream.closed = True
                    self.sel.unregister(stream.sock)

    def wait_for(self, kind: str, contains: str, timeout: float) -> list[Frame | None]:
        """Pump until every stream has a ``kind`` frame containing ``contains``; one frame (or
        None) per stream, in order."""
        self.pump(lambda: all(s.find(kind, contains) for s in self.streams), timeout)
        return [s.find(kind, contains) for s in self.streams]

    def forget_frames(self) -> None:
        for s in self.streams:
            s.frames.clear()

    def abort(self) -> None:
        """Reset every connection (SO_LINGER 0: RST, no FIN) without reading what is pending."""
        for s in self.streams:
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(s.sock)
            with contextlib.suppress(OSError):
                s.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.sock.close()
        self.streams.clear()

    def close(self) -> None:
        """Close every connection the ordinary way (FIN)."""
        for s in self.streams:
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(s.sock)
            s.sock.close()
        self.streams.clear()
