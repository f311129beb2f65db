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


def send(options, after: int, events: list[list]) -> tuple[int, int | None]:
    """POST one batch to the hub; the position it acknowledged and the newest catalogue
    version it offers."""
    body = gzip.compress(json.dumps({"hall": options.hall_id, "after": after, "events": events},
                                    ensure_ascii=False, separators=(",", ":")).encode())
    request = urllib.request.Request(  # noqa: S310 - [hub] url is checked as http(s)
        options.url.rstrip("/") + "/api/v1/ingest", data=body, method="POST", headers={
            "Content-Type": "application/json", "Content-Encoding": "gzip",
            "Authorization": f"Bearer {options.token}", "User-Agent": USER_AGENT})
    try:
        # The address is the hub's, checked as http(s) when the settings were loaded.
        with urllib.request.urlopen(request, timeout=options.timeout_seconds) as reply:  # noqa: S310
            answer = json.loads(reply.read())
            offered = answer.get("catalogue")
            return int(answer["acked"]), offered if isinstance(offered, int) else None
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
            acked, offered = send(options, after, events)
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
        if offered is not None and runtime.act(outbox.catalogue_offered, offered) \
                and options.catalogue_auto_apply:
            apply_province_catalogue(runtime, offered)
        sent += len(events)
        # Paced: a long catch-up takes the hall's disk and CPU a little at a time.
        rest = len(events) / options.max_events_per_second - (time.monotonic() - began)
        if rest > 0:
            sleep(rest)
    return sent


# -- the province's catalogue, flowing down ---------------------------------------------------

def fetch_catalogue(options, version: int) -> tuple[str, bytes]:
    """The province's catalogue ``version`` from the hub: (a file name, its content)."""
    request = urllib.request.Request(  # noqa: S310 - [hub] url is checked as http(s)
        f"{options.url.rstrip('/')}/api/v1/catalogue/{version}", headers={
            "Authorization": f"Bearer {options.token}", "User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=options.timeout_seconds) as reply:  # noqa: S310
            content = reply.read()
            kind = reply.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        raise HubRefused(exc.code, {"code": "catalogue", "message": exc.reason}) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise HubUnreachable(str(getattr(exc, "reason", exc))) from None
    suffix = ".csv" if kind.startswith("text/csv") else ".xlsx"
    return f"province-catalogue-v{version}{suffix}", content


def preview_province_catalogue(runtime: Runtime):
    """What importing the newest offered catalogue would change: (version, the upload's name
    for ``catalogue.apply_import``, the report); None when nothing newer is offered."""
    from . import catalogue

    state = runtime.read(runtime.hall.outbox.state)["catalogue"]
    version = state["offered"]
    if version is None or (state["applied"] or 0) >= version:
        return None
    name, content = fetch_catalogue(runtime.settings.hub, version)
    upload, report = catalogue.preview_import(runtime, content, name)
    return version, upload, report


def apply_province_catalogue(runtime: Runtime, version: int) -> bool:
    """Import the province's catalogue ``version`` by itself (``catalogue_auto_apply``): the
    preview's own fingerprint, so what is applied is what was checked; a failure is kept for
    the admin to see. True when applied."""
    from . import catalogue

    try:
        found = preview_province_catalogue(runtime)
        if found is None:
            return False
        offered, upload, report = found
        if not report.ok:
            runtime.act(runtime.hall.outbox.catalogue_applied, offered,
                        error=f"{len(report.errors)} errors in the province's catalogue")
            return False
        applied = catalogue.apply_import(runtime, upload, report.fingerprint, by=None)
    except (HubRefused, HubUnreachable) as exc:
        runtime.act(runtime.hall.outbox.catalogue_applied, version, error=str(exc))
        return False
    if applied.ok:
        runtime.act(runtime.hall.outbox.catalogue_applied, offered)
    return applied.ok


def catalogue_state(runtime: Runtime) -> dict | None:
    """The province's catalogue as this hall knows it (None: no hub): offered, applied, error,
    and whether a newer one waits for the admin."""
    if not runtime.settings.hub.url:
        return None
    state = runtime.read(runtime.hall.outbox.state)["catalogue"]
    state["newer"] = state["offered"] is not None and (state["applied"] or 0) < state["offered"]
    state["auto"] = runtime.settings.hub.catalogue_auto_apply
    return state


def province_catalogue_applied(runtime: Runtime, version: int) -> None:
    """The admin imported the province's catalogue ``version`` (after its preview)."""
    runtime.act(runtime.hall.outbox.catalogue_applied, version)
