"""The supervisor's monitor: the hall's picture from the core, with the kiosk printers this
process knows of that never reported a state (so a printer that never came up is seen too)."""

from hall.monitor import PAPER
from printer.status import READY_STATES, WORDS

from .health import DISK_LOW_BYTES, disk_free
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
    found["alerts"] = _disk_alerts(runtime) + found["alerts"]
    return found


def alerts(runtime: Runtime) -> list[dict]:
    """Only what needs someone now: tickets waiting too long, devices down too long, a disk
    (nearly) full, where no ticket can be issued."""
    return _disk_alerts(runtime) + runtime.read(runtime.hall.monitor.alerts)


def _disk_alerts(runtime: Runtime) -> list[dict]:
    free = disk_free(runtime)
    if free >= DISK_LOW_BYTES:
        return []
    return [{"kind": "disk", "free_mb": free // (1024 * 1024),
             "path": str(runtime.hall.store.path)}]
