"""A raw-socket client of ``GET /api/v1/events``: one stream or hundreds, read by one thread.

``Streams`` holds the connections in one ``selectors`` loop: it decodes HTTP/1.1 chunked
bodies and SSE messages incrementally and stamps each frame with ``time.perf_counter()`` when
its last byte arrived (the benchmarks' latencies).  One stream is read frame by frame::

    with Streams(server.port) as streams:
        stream = streams.open_one(headers={"Last-Event-ID": "12"})
        stream.next()          # ": goiso" and the retry time
        stream.next_event()    # the next frame with an event (keep-alives skipped)

Every wait takes a timeout.  Close the connections with ``close()`` (FIN) or ``abort()`` (RST,
as a crashed screen or a pulled cable would).
"""

from __future__ import annotations

import contextlib
import json
import selectors
import socket
import struct
import time
from dataclasses import dataclass, field

HOST = "127.0.0.1"
EVENTS = "/api/v1/events"


@dataclass
class Frame:
    """One SSE message as received: its event (None for comments alone), data, id, retry,
    comments, and ``at``, the ``time.perf_counter()`` when its last byte arrived."""

    kind: str | None
    data: str | None
    id: int | None
    at: float
    comments: list[str] = field(default_factory=list)
    retry: int | None = None

    def json(self):
        """The data, decoded."""
        return json.loads(self.data)


@dataclass(eq=False)
class Stream:
    """One open event stream: raw bytes in, frames out; ``next()`` reads them in order."""

    sock: socket.socket
    owner: Streams
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    frames: list[Frame] = field(default_factory=list)
    closed: bool = False
    read: int = 0  # frames handed out by next()
    _raw: bytes = b""
    _chunked: bool = False
    _body: bytes = b""
    _chunk_left: int = 0

    def feed(self, data: bytes, now: float) -> None:
        """Take the bytes that just arrived."""
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
            frame = Frame(None, None, None, now)
            data = []
            for line in block.decode("utf-8").split("\n"):
                if line.startswith(":"):
                    frame.comments.append(line[1:].strip())
                    continue
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "event":
                    frame.kind = value
                elif name == "data":
                    data.append(value)
                elif name == "id":
                    frame.id = int(value)  # goiso's ids are event numbers
                elif name == "retry":
                    frame.retry = int(value)
            if data:
                frame.data = "\n".join(data)
                frame.kind = frame.kind or "message"
            self.frames.append(frame)

    def find(self, kind: str, contains: str | None = None) -> Frame | None:
        """The first frame of ``kind`` whose data holds ``contains``, if any arrived."""
        for f in self.frames:
            if f.kind == kind and (contains is None or contains in f.data):
                return f
        return None

    def next(self, timeout: float = 8.0) -> Frame:
        """The next frame not read yet, waiting up to ``timeout`` s for it to arrive."""
        if not self.owner.pump(lambda: len(self.frames) > self.read or self.closed, timeout) \
                or len(self.frames) <= self.read:
            raise TimeoutError(f"no SSE frame within {timeout} s: {self._body!r}")
        self.read += 1
        return self.frames[self.read - 1]

    def next_event(self, timeout: float = 8.0) -> Frame:
        """The next frame that is an event (keep-alive comments skipped)."""
        end = time.monotonic() + timeout
        while True:
            frame = self.next(max(0.1, end - time.monotonic()))
            if frame.kind is not None:
                return frame

    def forget(self) -> None:
        """Drop the frames received so far."""
        self.frames.clear()
        self.read = 0

    def close(self) -> None:
        """Close this connection (FIN)."""
        self.owner.close(self)


class Streams:
    """Event streams to ``port`` (``path`` with its query), all read by one thread."""

    def __init__(self, port: int, path: str = EVENTS):
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

    def open(self, count: int, timeout: float = 20.0, path: str | None = None,
             headers: dict[str, str] | None = None, first: str = "state") -> list[Stream]:
        """Open ``count`` more streams and wait until each has its ``first`` frame (``state``
        on the hall's stream, ``ticket`` on a phone's; and so its status 200 and
        text/event-stream, or an error)."""
        lines = [f"GET {path or self.path} HTTP/1.1", f"Host: {HOST}:{self.port}",
                 "Accept: text/event-stream", "Cache-Control: no-cache",
                 *(f"{name}: {value}" for name, value in (headers or {}).items())]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode()
        new = []
        for _ in range(count):
            sock = socket.create_connection((HOST, self.port), timeout=timeout)
            sock.sendall(request)
            sock.setblocking(False)
            stream = Stream(sock, self)
            self.sel.register(sock, selectors.EVENT_READ, stream)
            new.append(stream)
        self.streams.extend(new)
        self.pump_until_all(lambda s: s.find(first) or s.closed
                            or s.status not in (None, 200), new, timeout)
        refused = [s for s in new if s.status != 200
                   or not s.headers.get("content-type", "").startswith("text/event-stream")]
        if refused:
            raise AssertionError(f"{len(refused)} of {count} streams refused: "
                                 f"{refused[0].status} {refused[0].headers} {refused[0]._body!r}")
        missing = sum(1 for s in new if not s.find(first))
        if missing:
            raise TimeoutError(f"{missing} of {count} streams got no {first} frame in {timeout} s")
        return new

    def open_one(self, path: str | None = None, headers: dict[str, str] | None = None,
                 timeout: float = 10.0, first: str = "state") -> Stream:
        """One more stream (``path`` with another query, ``headers`` such as Last-Event-ID),
        open and past its ``first`` frame."""
        return self.open(1, timeout, path, headers, first)[0]

    def pump(self, done, timeout: float, fed=None) -> bool:
        """Read whatever arrives until ``done()`` is true (True) or ``timeout`` s pass (False);
        ``fed(stream)`` is told of each stream that just got bytes."""
        end = time.monotonic() + timeout
        while not done():
            left = end - time.monotonic()
            if left <= 0:
                return False
            for key, _ in self.sel.select(min(left, 0.5)):
                stream: Stream = key.data
                now = time.perf_counter()
                data = self._receive(stream, 65536)
                if data:
                    stream.feed(data, now)
                    if fed is not None:
                        fed(stream)
        return True

    def pump_until_all(self, has, streams, timeout: float) -> bool:
        """Read until ``has(stream)`` holds for every one of ``streams``; each stream is looked
        at again only when it got bytes (a look at all of them after every read would make the
        reading itself the slowest part of a fan-out of hundreds)."""
        pending = {id(s): s for s in streams if not has(s)}

        def fed(stream):
            if id(stream) in pending and has(stream):
                del pending[id(stream)]

        return self.pump(lambda: not pending, timeout, fed)

    def drain(self, stop, timeout: float) -> None:
        """Read and drop whatever arrives (no parsing) until ``stop()`` or ``timeout`` s."""
        end = time.monotonic() + timeout
        while not stop() and time.monotonic() < end:
            for key, _ in self.sel.select(min(max(0.0, end - time.monotonic()), 0.2)):
                self._receive(key.data, 1 << 18)

    def _receive(self, stream: Stream, size: int) -> bytes | None:
        """What the socket holds (None: nothing yet); marks the stream closed at its end."""
        try:
            data = stream.sock.recv(size)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            data = b""
        if not data:
            stream.closed = True
            self.sel.unregister(stream.sock)
        return data

    def wait_for(self, kind: str, contains: str, timeout: float) -> list[Frame | None]:
        """Pump until every stream has a ``kind`` frame containing ``contains``; one frame (or
        None) per stream, in order."""
        self.pump_until_all(lambda s: s.find(kind, contains), self.streams, timeout)
        return [s.find(kind, contains) for s in self.streams]

    def forget_frames(self) -> None:
        """Drop the frames every stream received so far."""
        for s in self.streams:
            s.forget()

    def abort(self) -> None:
        """Reset every connection (SO_LINGER 0: RST, no FIN) without reading what is pending."""
        for s in self.streams:
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(s.sock)
            with contextlib.suppress(OSError):
                s.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.sock.close()
        self.streams.clear()

    def close(self, *streams: Stream) -> None:
        """Close these connections (all if none is named) the ordinary way (FIN)."""
        for s in streams or list(self.streams):
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(s.sock)
            s.sock.close()
            self.streams.remove(s)
