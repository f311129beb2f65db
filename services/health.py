"""The hall's health for screens, systemd and the technician: is the database writable, how
are the printers and serial devices, how much disk is left."""

import shutil
import time
from importlib import metadata
from pathlib import Path

from .runtime import Runtime

STARTED = time.monotonic()
# Below this, the disk under the database counts as full: a busy day writes a few MB, and
# SQLite needs room for its log before a ticket can be issued.
DISK_LOW_BYTES = 16 * 1024 * 1024


def disk_free(runtime: Runtime) -> int:
    """Bytes free on the file system that holds the hall's database."""
    return shutil.disk_usage(Path(runtime.hall.store.path).parent).free


def version() -> str:
    """The installed goiso version."""
    try:
        return metadata.version("goiso")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a plain checkout
        return "unknown"


def report(runtime: Runtime) -> dict:
    """What /healthz answers; ``ok`` is False when the database cannot be written or the disk
    under it is (nearly) full."""
    store = runtime.hall.store
    path = Path(store.path)
    writable = runtime.read(store.writable)
    try:
        schema = runtime.read(store.schema_version)
    except Exception:  # noqa: BLE001 - a broken file is reported, not raised
        schema = None
    devices = runtime.read(runtime.hall.devices.all)
    free = disk_free(runtime)
    return {
        "ok": writable and free >= DISK_LOW_BYTES,
        "database": {"writable": writable, "path": str(path),
                     "size": path.stat().st_size if path.exists() else 0,
                     "schema_version": schema},
        "printers": {d["place"]: d["state"] for d in devices if d["kind"] == "printer"},
        "serial_devices": {d["id"]: d["state"] for d in devices if d["kind"] != "printer"},
        "disk": {"free_bytes": free, "low": free < DISK_LOW_BYTES},
        "version": version(),
        "uptime_seconds": round(time.monotonic() - STARTED, 1),
    }
