"""The supervisor's monitor: the hall's picture from the core, with the kiosk printers this
process knows of that never reported a state (so a printer that never came up is seen too)."""

import shutil
from pathlib import Path

from hall.monitor import PAPER
from printer.status import READY_STATES, WORDS

from .runtime import Runtime
from .tickets import printer_names

# A printer's states in words (msgids), for pages that show them.
PRINTER_STATE_WORDS = dict(WORDS)


def picture(runtime: Runtime) -> dict:
    """Counters, queues, devices, unprinted tickets and alerts, now."""
    found = runtime.read(runtime.hall.monitor.now)
    known = {d["id"] for d in found["devices"]}
    for name in printer_names(runtime):
        if f"printer:{name}" in known:
            continue
        reading = runtime.printers.status(name)
        state = reading.state
        found["devices"].append({
            "id": f"printer:{name}", "kind": "printer", "place": name, "state": state,
            "online": state in READY_STATES, "detail": reading.detail,
            "paper": PAPER.get(state),
            "since": None, "down_s": None, "last_error": None})
    found["alerts"] += disk_alerts(runtime) + hub_alerts(runtime)
    found["hub"] = hub_state(runtime)
    return found


def alerts(runtime: Runtime) -> list[dict]:
    """Only what needs someone now: tickets waiting too long, devices down too long, a disk
    running out of space, the province hub far behind."""
    return runtime.read(runtime.hall.monitor.alerts) + disk_alerts(runtime) \
        + hub_alerts(runtime)


def hub_state(runtime: Runtime) -> dict | None:
    """Where the push to the province hub stands (None: this hall reports to no hub)."""
    options = runtime.settings.hub
    if not options.url:
        return None
    return {"url": options.url, "hall_id": options.hall_id,
            **runtime.read(runtime.hall.outbox.state)}


def hub_alerts(runtime: Runtime) -> list[dict]:
    """An alert when the oldest event the hub does not have is older than
    ``[hub] lag_alert_seconds`` (the link or the hub is down, or the hub refuses)."""
    state = hub_state(runtime)
    if state is None or state["lag_seconds"] < runtime.settings.hub.lag_alert_seconds:
        return []
    return [{"kind": "hub", "lag_minutes": int(state["lag_seconds"] // 60),
             "pending": state["pending"], "error": state["error"]}]


def disk_alerts(runtime: Runtime) -> list[dict]:
    """An alert when the database's disk has less free space than ``[backup] min_free_mb``:
    when it is full no ticket can be issued (``StorageFull``), so staff must hear of it
    before."""
    limit_mb = runtime.settings.backup.min_free_mb
    try:
        free_mb = shutil.disk_usage(Path(runtime.hall.store.path).parent).free // (1 << 20)
    except OSError:
        return []
    if free_mb >= limit_mb:
        return []
    return [{"kind": "disk", "free_mb": free_mb, "limit_mb": limit_mb}]
