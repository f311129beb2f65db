"""Server-Sent Events: the event log as a stream, with the hall's state on every (re)connect."""

import json
import time
import weakref

from flask import Response

from hall.events import STATE_FRAME

RETRY_MS = 2000
RENDERED_KEEP = 1000  # rendered events kept per feed (streams ask for the newest ones)
# A stream writes at most once per this many seconds: the first event after a quiet spell goes
# out at once, a burst (a queue of kiosks at opening time) goes out in one write per stream
# instead of one per ticket per stream, which with 200 screens capped the hall near 100
# tickets/s.
COALESCE_SECONDS = 0.05


def frame(kind: str, data: dict, event_id: int | None = None) -> str:
    """One SSE message."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


class Rendered:
    """Each event rendered to an SSE message once per process, not once per open stream."""

    def __init__(self, iso):
        self.iso = iso
        self._text: dict[int, str] = {}

    def __call__(self, event) -> str:
        text = self._text.get(event.id)
        if text is None:
            text = self._text[event.id] = frame(event.kind, event.as_dict(self.iso), event.id)
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


def event_stream(runtime, after: int | None, queues, counters, keepalive: float) -> Response:
    """Stream events after ``after``; first replay what was missed, then the current state.

    Whatever events one wake-up finds go out as one write, and a stream wakes at most once per
    ``COALESCE_SECONDS``: under a burst of tickets each stream sends a chunk every 50 ms, not
    one per event.
    """
    hall, feed = runtime.hall, runtime.feed
    render = rendered(feed, hall.rules.iso)

    def generate():
        # A comment at once: proxies and browsers see the stream is open before any event.
        yield f": goiso\nretry: {RETRY_MS}\n\n"
        state = runtime.read(hall.screens.snapshot, queues, counters)
        cursor = state["last_event_id"]
        missed = []
        if after is not None and after < cursor:
            for event in feed.after(after):
                if event.id > cursor:
                    break
                if _wanted(event, queues, counters):
                    missed.append(render(event))
        yield "".join(missed) + frame(STATE_FRAME, state, cursor)
        sent = time.monotonic()
        while True:
            events = feed.wait(cursor, keepalive)
            if events:
                cursor = events[-1].id
                chunk = "".join(render(e) for e in events if _wanted(e, queues, counters))
                if chunk:
                    yield chunk
                    sent = time.monotonic()
                    time.sleep(COALESCE_SECONDS)  # gevent.sleep under gunicorn
                    continue
            if time.monotonic() - sent >= keepalive:
                # Also when only filtered-out events came: proxies keep the stream, and a
                # screen that went away is noticed at this write.
                yield ": keep-alive\n\n"
                sent = time.monotonic()

    return Response(generate(), mimetype="text/event-stream", headers={
        "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
