"""The hall settings set in the browser: stored in the database over the settings file.

The core keeps them as plain values by section (a table of the settings file: "hall",
"rules", …) and key; whether a value is right is the settings loader's to say, before it is
put here. Every change is one SETTINGS_CHANGED event with who made it and before → after.
"""

import json

from .events import EventKind
from .transaction import Transactions


class Overrides:
    """Reads and changes the settings stored in the hall's database."""

    def __init__(self, tx: Transactions):
        self.tx = tx

    def read(self) -> dict[str, dict]:
        """Every stored value: section -> key -> value."""
        with self.tx.reading() as reading:
            rows = reading.all("SELECT section, key, value FROM hall_settings"
                               " ORDER BY section, key")
        stored: dict[str, dict] = {}
        for row in rows:
            stored.setdefault(row["section"], {})[row["key"]] = json.loads(row["value"])
        return stored

    def put(self, section: str, values: dict, *, by: int | None = None,
            unset: tuple[str, ...] = ()) -> dict:
        """Store ``values`` of one section (and drop the keys in ``unset``, back to the file's
        value) in one change; returns what changed: key -> (before, after), None for unset."""
        changed = {}
        with self.tx.change() as change:
            before = {row["key"]: json.loads(row["value"]) for row in change.all(
                "SELECT key, value FROM hall_settings WHERE section = ?", (section,))}
            for key, value in values.items():
                if before.get(key, object()) == value:
                    continue
                change.run("INSERT INTO hall_settings (section, key, value, changed_at,"
                           " changed_by) VALUES (?, ?, ?, ?, ?) ON CONFLICT (section, key)"
                           " DO UPDATE SET value = excluded.value,"
                           " changed_at = excluded.changed_at, changed_by = excluded.changed_by",
                           (section, key, json.dumps(value, ensure_ascii=False), change.now, by))
                changed[key] = (before.get(key), value)
            for key in unset:
                if key in before:
                    change.run("DELETE FROM hall_settings WHERE section = ? AND key = ?",
                               (section, key))
                    changed[key] = (before[key], None)
            for key, (old, new) in changed.items():
                change.log(EventKind.SETTINGS_CHANGED, clerk=by, what=section, key=key,
                           before=old, after=new)
        return changed
