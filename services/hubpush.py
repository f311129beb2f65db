"""The push of the hall's event log to its province hub (``[hub]``): run by ``serve`` every
``interval_seconds``, in order, in gzip batches, resuming from what the hub acknowledged.

A failure is recorded (the monitor and ``/healthz`` show it) and the next try waits longer
(the poller's backoff); nothing is lost, because nothing leaves the log: the hub only ever
acknowledges a position. Catching up after an outage is paced to ``max_events_per_second``,
and reading the log never blocks a ticket (WAL readers), so a week offline does not slow the
hall. The hub answers a batch that does not follow what it has with the position it expects
(``gap``): the pusher goes back there (the hub was restored) or, if the hub has more than this
hall ever wrote (the hall was restored), stops and says so.
"""

from __future__ import annotations

import gzip
import json
import time
import urllib.error
import urllib.request

from .runtime import Runtime

USER_AGENT = "goiso-hall-pusher"


class HubUnreachable(OSError):
    """No answer from the hub (network, DNS, timeout, a 5xx): tried again later."""


class HubRefused(Exception):
    """The hub answered with a refusal (4xx): ``status``, ``code``, the error body."""

    def __init__(self, status: int, error: dict):
        super().__init__(f"{status} {error.get('code')}: {error.get('message')}")
        self.status, self.code, self.error = status, error.get("code"), error


def send(options, after: int, events: list[list]) -> int:
    """POST one batch to the hub; the position it acknowledged."""
    body = gzip.compress(json.dumps({"hall": options.hall_id, "after": after, "events": events},
                                    ensure_ascii=False, separators=(",", ":")).encode())
    request = urllib.request.Request(  # noqa: S310 - [hub] url is checked as http(s)
        options.url.rstrip("/") + "/api/v1/ingest", data=body, method="POST", headers={
            "Content-Type": "application/json", "Content-Encoding": "gzip",
            "Authorization": f"Bearer {options.token}", "User-Agent": USER_AGENT})
    try:
        # The address is the hub's, checked as http(s) when the settings were loaded.
        with urllib.request.urlopen(request, timeout=options.timeout_seconds) as reply:  # noqa: S310
            return int(json.loads(reply.read())["acked"])
    except urllib.error.HTTPError as exc:
        try:
            error = json.loads(exc.read()).get("error") or {}
        except (ValueError, AttributeError, OSError):
            error = {}
        if exc.code >= 500 or exc.code == 429:
            raise HubUnreachable(f"HTTP {exc.code} {error.get('message', exc.reason)}") from None
        raise HubRefused(exc.code, error) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise HubUnreachable(str(getattr(exc, "reason", exc))) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise HubUnreachable(f"not a hub's answer: {exc}") from None


def push_once(runtime: Runtime, sleep=time.sleep) -> int:
    """Send what the hub does not have yet, at most ``max_events_per_second`` ×
    ``interval_seconds`` events this round; the number sent. Raises ``HubUnreachable`` (after
    recording it) so the poller waits longer before the next round."""
    options = runtime.settings.hub
    outbox = runtime.hall.outbox
    budget = max(options.batch_events,
                 int(options.max_events_per_second * options.interval_seconds))
    sent = 0
    while sent < budget:
        after, events = runtime.read(outbox.pending, min(options.batch_events, budget - sent))
        if not events:
            break
        began = time.monotonic()
        try:
            acked = send(options, after, events)
        except HubUnreachable as exc:
            runtime.act(outbox.failed, f"hub unreachable: {exc}")
            raise
        except HubRefused as exc:
            if exc.code == "gap" and isinstance(exc.error.get("expected"), int):
                expected_after = exc.error["expected"] - 1
                head = runtime.read(outbox.state)["head"]
                if expected_after <= head:
                    runtime.act(outbox.acknowledged, expected_after)  # go back (or on) there
                    continue
                runtime.act(outbox.failed, f"the hub has {expected_after} events of this hall,"
                            f" the hall only {head}: was the hall restored from a backup?")
                return sent
            runtime.act(outbox.failed, f"hub refused: {exc}")
            return sent
        if acked > events[-1][0]:
            # The hub holds events of this hall beyond what the hall has written: the hall's
            # database went back (a restore). Sending on would have the hub skip new events
            # under old numbers; stop and say so.
            runtime.act(outbox.failed, f"the hub has {acked} events of this hall, the hall"
                        f" only {events[-1][0]}: was the hall restored from a backup?")
            return sent
        runtime.act(outbox.acknowledged, acked)
        sent += len(events)
        # Paced: a long catch-up takes the hall's disk and CPU a little at a time.
        rest = len(events) / options.max_events_per_second - (time.monotonic() - began)
        if rest > 0:
            sleep(rest)
    return sent
