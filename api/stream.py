"""Server-Sent Events: the event log as a stream, with the hall's state on every (re)connect."""

import json
import time
import weakref

from flask import Response

from hall.events import STATE_FRAME

RETRY_MS = 2000
RENDERED_KEEP = 1000  # rendered events kept per feed (streams ask for the newest ones)
# In a burst (a queue of kiosks at opening time) a stream writes once per this many seconds,
# carrying every event that came meanwhile, instead of once per ticket: with 200 screens open,
# one write per ticket per screen capped the hall near 100 tickets/s.
COALESCE_SECONDS = 0.05
# Writes a stream makes back to back before it counts as a burst: two clerks calling a few
# milliseconds apart (or a call and a ticket) each reach the screens at once.
BURST_WRITES = 4


class Pacer:
    """When a stream may write: at once, unless it is in a burst; then once per ``interval``.

    A token bucket: ``burst`` writes may follow each other at once, and one more is earned per
    ``interval`` of quiet, so a lone event or two quick calls never wait, a long burst goes out
    one write per ``interval`` (never waiting longer than that), and after a quiet spell of
    ``burst * interval`` writes are immediate again.
    """

    def __init__(self, interval: float = COALESCE_SECONDS, burst: int = BURST_WRITES,
                 clock=None, sleep=None):
        # Looked up when used, not bound here: under gunicorn gevent patches time.sleep after
        # this module may have been imported, and a real sleep would stop every stream.
        self.interval = interval
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._at = self._now()

    def _now(self) -> float:
        return (self._clock or time.monotonic)()

    def _refill(self) -> None:
        now = self._now()
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) / self.interval)
        self._at = now

    def delay(self) -> float:
        """Seconds the next write should wait (0: write now)."""
        self._refill()
        wait = (1 - self._tokens) * self.interval
        # Less than a millisecond is not worth a trip through the event loop (and is what
        # rounding leaves of a whole interval on a large clock).
        return wait if wait >= 0.001 else 0.0

    def pause(self) -> float:
        """Wait out ``delay()`` (gevent's sleep under gunicorn); the seconds waited."""
        wait = self.delay()
        if wait > 0:
            (self._sleep or time.sleep)(wait)
        return wait

    def wrote(self) -> None:
        """Count one write."""
        self._refill()
        self._tokens = max(0.0, self._tokens - 1)


def frame(kind: str, data: dict, event_id: int | None = None) -> str:
    """One SSE message."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


class Rendered:
    """Each event rendered to an SSE message, in bytes, once per process, not once per open
    stream (a stream then writes it as it is)."""

    def __init__(self, iso):
        self.iso = iso
        self._text: dict[int, bytes] = {}

    def __call__(self, event) -> bytes:
        text = self._text.get(event.id)
        if text is None:
            text = self._text[event.id] = frame(event.kind, event.as_dict(self.iso),
                                                event.id).encode()
            if len(self._text) > RENDERED_KEEP:
                del self._text[next(iter(self._text))]  # the oldest (dicts keep order)
        return text


_rendered: "weakref.WeakKeyDictionary[object, Rendered]" = weakref.WeakKeyDictionary()


def rendered(feed, iso) -> Rendered:
    """The renderer shared by every stream of ``feed``."""
    found = _rendered.get(feed)
    if found is None:
        found = _rendered[feed] = Rendered(iso)
    return found


def _wanted(event, queues, counters) -> bool:
    if queues and event.queue is not None and event.queue not in queues:
        return False
    return not (counters and event.counter is not None and event.counter not in counters)


def event_stream(runtime, after: int | None, queues, counters, keepalive: float,
                 pacer: Pacer | None = None) -> Response:
    """Stream events after ``after``; first replay what was missed, then the current state.

    Whatever events one wake-up finds go out as one write, at once unless the stream is in a
    burst (``Pacer``): then it sleeps up to ``COALESCE_SECONDS`` after a write, and what came
    meanwhile goes out in one chunk, one every 50 ms, not one per event.
    """
    pacer = pacer or Pacer()
    hall, feed = runtime.hall, runtime.feed
    render = rendered(feed, hall.rules.iso)

    def generate():
        # A comment at once: proxies and browsers see the stream is open before any event.
        yield f": goiso\nretry: {RETRY_MS}\n\n".encode()
        state = runtime.read(hall.screens.snapshot, queues, counters)
        cursor = state["last_event_id"]
        missed = []
        if after is not None and after < cursor:
            for event in feed.after(after):
                if event.id > cursor:
                    break
                if _wanted(event, queues, counters):
                    missed.append(render(event))
        yield b"".join(missed) + frame(STATE_FRAME, state, cursor).encode()
        sent = time.monotonic()
        while True:
            events = feed.wait(cursor, keepalive)
            if events:
                cursor = events[-1].id
                chunk = b"".join(render(e) for e in events if _wanted(e, queues, counters))
                if chunk:
                    yield chunk
                    sent = time.monotonic()
                    pacer.wrote()
                    # In a burst, what comes while this sleeps goes out in the next write; a
                    # lone event or a second quick call does not sleep.
                    pacer.pause()
                    continue
            if time.monotonic() - sent >= keepalive:
                # Also when only filtered-out events came: proxies keep the stream, and a
                # screen that went away is noticed at this write.
                yield b": keep-alive\n\n"
                sent = time.monotonic()

    return Response(generate(), mimetype="text/event-stream", headers={
        "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
