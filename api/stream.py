"""Server-Sent Events: the event log as a stream, with the hall's state on every (re)connect."""

import json

from flask import Response

RETRY_MS = 2000


def frame(kind: str, data: dict, event_id: int | None = None) -> str:
    """One SSE message."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _wanted(event, queues, counters) -> bool:
    if queues and event.queue is not None and event.queue not in queues:
        return False
    return not (counters and event.counter is not None and event.counter not in counters)


def event_stream(runtime, after: int | None, queues, counters, keepalive: float) -> Response:
    """Stream events after ``after``; first replay what was missed, then the current state."""
    hall, feed = runtime.hall, runtime.feed
    iso = hall.rules.iso

    def generate():
        # A comment at once: proxies and browsers see the stream is open before any event.
        yield f": goiso\nretry: {RETRY_MS}\n\n"
        state = runtime.read(hall.snapshot, queues, counters)
        cursor = state["last_event_id"]
        if after is not None and after < cursor:
            for event in feed.after(after):
                if event.id > cursor:
                    break
                if _wanted(event, queues, counters):
                    yield frame(event.kind, event.as_dict(iso), event.id)
        yield frame("state", state, cursor)
        while True:
            events = feed.wait(cursor, keepalive)
            if not events:
                yield ": keep-alive\n\n"
                continue
            for event in events:
                if _wanted(event, queues, counters):
                    yield frame(event.kind, event.as_dict(iso), event.id)
            cursor = events[-1].id

    return Response(generate(), mimetype="text/event-stream", headers={
        "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
