"""The last known state of each device of the hall (printers, keypads, LED displays).

Devices report through their drivers; only a change of state goes into the event log, so a
printer polled every few seconds does not flood it, and staff screens learn of a change at once.
"""

from .events import EventKind
from .transaction import Transactions


class Devices:
    """Device states over the hall's store."""

    def __init__(self, tx: Transactions):
        self.tx = tx

    def report(self, device_id: str, *, kind: str, state: str, ready: bool, detail: str = "",
               place: str = "") -> bool:
        """Record what a device says now; returns True when its state changed (and was logged)."""
        with self.tx.change() as change:
            now = change.now
            row = change.one("SELECT state, ready, detail FROM devices WHERE id = ?",
                             (device_id,))
            changed = row is None or (row["state"], bool(row["ready"]), row["detail"]) != (
                state, ready, detail)
            if row is None:
                change.run(
                    "INSERT INTO devices (id, kind, place, state, ready, detail, changed_at,"
                    " seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (device_id, kind, place, state, int(ready), detail, now, now))
            elif changed:
                change.run(
                    "UPDATE devices SET kind = ?, place = ?, state = ?, ready = ?, detail = ?,"
                    " changed_at = ?, seen_at = ? WHERE id = ?",
                    (kind, place, state, int(ready), detail, now, now, device_id))
            else:
                change.run("UPDATE devices SET seen_at = ? WHERE id = ?", (now, device_id))
            if changed:
                change.log(EventKind.DEVICE_STATE, device=device_id, kind=kind, place=place,
                           state=state, ready=ready, detail=detail,
                           previous=row["state"] if row else None)
            return changed

    def all(self, kind: str | None = None) -> list[dict]:
        """Every known device (of one kind), with when its state last changed."""
        sql = "SELECT * FROM devices"
        args: tuple = ()
        if kind is not None:
            sql += " WHERE kind = ?"
            args = (kind,)
        with self.tx.reading() as reading:
            return [{**dict(r), "ready": bool(r["ready"]),
                     "changed_at": reading.rules.iso(r["changed_at"]),
                     "seen_at": reading.rules.iso(r["seen_at"])}
                    for r in reading.all(sql + " ORDER BY kind, id", args)]

    def get(self, device_id: str) -> dict | None:
        """One device's last state, or None when it never reported."""
        for device in self.all():
            if device["id"] == device_id:
                return device
        return None
