"""The audit log: the staff's changes to the hall (the ``AUDITED`` events), who made each, when,
what, before → after and how many, newest first, filtered and a page at a time."""

import json
from dataclasses import dataclass
from datetime import date

from . import errors
from .events import AUDITED, EventKind
from .transaction import Transactions

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_PAGE = 1_000_000  # far beyond any log; an offset SQLite can take
MAX_ID = 2**63 - 1  # SQLite's largest integer: a larger clerk id would overflow the query
MAX_TEXT = 100
# Keys of an event's data shown in their own columns; the rest is shown as details.
SHOWN = ("what", "key", "before", "after", "count")


@dataclass(frozen=True)
class AuditFilter:
    """What to show: one kind, one clerk, business days from..to (inclusive), a text found in
    the change or the clerk's name; ``page`` counts from 1."""

    kind: str | None = None
    clerk: int | None = None
    day_from: str | None = None
    day_to: str | None = None
    text: str = ""
    page: int = 1
    page_size: int = PAGE_SIZE

    def checked(self) -> "AuditFilter":
        """The filter, or InvalidInput naming the field that cannot be used."""
        if self.kind is not None and self.kind not in {k.value for k in AUDITED}:
            raise errors.not_one_of("kind", self.kind, [k.value for k in AUDITED])
        for name in ("day_from", "day_to"):
            value = getattr(self, name)
            if value is not None:
                try:
                    date.fromisoformat(value)
                except (TypeError, ValueError):
                    raise errors.InvalidInput(field=name) from None
        if self.day_from and self.day_to and self.day_from > self.day_to:
            raise errors.InvalidInput(errors.BAD_DAY_RANGE, field="day_to")
        if not isinstance(self.text, str) or len(self.text) > MAX_TEXT:
            raise errors.InvalidInput(errors.InvalidInput.TOO_LONG, field="text",
                                      limit=MAX_TEXT)
        if self.clerk is not None and not 1 <= self.clerk <= MAX_ID:
            raise errors.out_of_range("clerk", 1, MAX_ID)
        if not 1 <= self.page <= MAX_PAGE:
            raise errors.out_of_range("page", 1, MAX_PAGE)
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise errors.out_of_range("page_size", 1, MAX_PAGE_SIZE)
        return self


def _entry(row, iso) -> dict:
    data = json.loads(row["data"])
    count = data.get("count")
    return {
        "id": row["id"], "at": iso(row["at"]), "day": row["day"], "kind": row["kind"],
        "clerk": None if row["clerk_id"] is None else {
            "id": row["clerk_id"], "name": row["clerk_name"]},
        "counter": row["counter_number"],
        "what": data.get("what"), "key": data.get("key"),
        "before": data.get("before"), "after": data.get("after"),
        "count": count if isinstance(count, int) else None,
        "details": {k: v for k, v in data.items() if k not in SHOWN},
    }


class Audit:
    """Reads the audit log."""

    def __init__(self, tx: Transactions):
        self.tx = tx

    def entries(self, wanted: AuditFilter = AuditFilter()) -> dict:
        """One page of the audit log, newest first, with how many entries match in all."""
        wanted = wanted.checked()
        kinds = [wanted.kind] if wanted.kind else [EventKind(k).value for k in AUDITED]
        where = [f"e.kind IN ({', '.join('?' * len(kinds))})"]
        args: list = list(kinds)
        if wanted.clerk is not None:
            where.append("e.clerk_id = ?")
            args.append(wanted.clerk)
        if wanted.day_from:
            where.append("e.day >= ?")
            args.append(wanted.day_from)
        if wanted.day_to:
            where.append("e.day <= ?")
            args.append(wanted.day_to)
        if wanted.text.strip():
            # Data is stored as UTF-8 JSON (not \u escapes), so Vietnamese text is found too;
            # LIKE ignores the case of ASCII letters only, instr() finds the exact accents.
            needle = wanted.text.strip()
            pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace(
                "_", "\\_") + "%"
            where.append("(e.data LIKE ? ESCAPE '\\' OR coalesce(c.name, '') LIKE ? ESCAPE '\\'"
                         " OR instr(e.data, ?) OR instr(coalesce(c.name, ''), ?))")
            args += [pattern, pattern, needle, needle]
        sql = (" FROM events e LEFT JOIN clerks c ON c.id = e.clerk_id WHERE "
               + " AND ".join(where))
        with self.tx.reading() as reading:
            total = reading.value("SELECT count(*)" + sql, args)
            rows = reading.all(
                "SELECT e.*, c.name AS clerk_name" + sql + " ORDER BY e.id DESC LIMIT ? OFFSET ?",
                [*args, wanted.page_size, (wanted.page - 1) * wanted.page_size])
            iso = reading.rules.iso
            return {"entries": [_entry(r, iso) for r in rows], "total": total,
                    "page": wanted.page, "page_size": wanted.page_size,
                    "pages": max(1, -(-total // wanted.page_size))}

    def clerks(self) -> list[dict]:
        """Every clerk, by name (the page's filter offers them)."""
        with self.tx.reading() as reading:
            return [dict(r) for r in reading.all("SELECT id, name FROM clerks ORDER BY name")]
