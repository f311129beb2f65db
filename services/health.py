"""The hall's health for screens, systemd and the technician: is the database writable, how
are the printers and serial devices, how much disk is left."""

import shutil
import time
from importlib import metadata
from pathlib import Path

from .monitor import disk_alerts, hub_state
from .runtime import Runtime

STARTED = time.monotonic()


def version() -> str:
    """The installed goiso version."""
    try:
        return metadata.version("goiso")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a plain checkout
        return "unknown"


def report(runtime: Runtime) -> dict:
    """What /healthz answers; ``ok`` is False when the database cannot be written or its disk
    is below ``[backup] min_free_mb`` (where tickets soon cannot be issued)."""
    store = runtime.hall.store
    path = Path(store.path)
    writable = runtime.read(store.writable)
    try:
        schema = runtime.read(store.schema_version)
    except Exception:  # noqa: BLE001 - a broken file is reported, not raised
        schema = None
    devices = runtime.read(runtime.hall.devices.all)
    low = bool(disk_alerts(runtime))
    return {
        "ok": writable and not low,
        "database": {"writable": writable, "path": str(path),
                     "size": path.stat().st_size if path.exists() else 0,
                     "schema_version": schema},
        "printers": {d["place"]: d["state"] for d in devices if d["kind"] == "printer"},
        "serial_devices": {d["id"]: d["state"] for d in devices if d["kind"] != "printer"},
        "disk": {"free_bytes": shutil.disk_usage(path.parent).free, "low": low},
        "hub": hub_state(runtime),
        "version": version(),
        "uptime_seconds": round(time.monotonic() - STARTED, 1),
    }
