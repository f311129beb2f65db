"""The hall's event log on its way to the province hub: what is not yet there, in order and in
the hub's compact form, and where the push stands (``hub_push``).

An event goes as ``[seq, at, day, kind, ticket, counter, clerk, queue, procedure, number,
data]``: the log's id as the sequence, the ticket's procedure and printed number as columns
of their own, and ``data`` without what those columns say, what the times say (waits and
services), what a name repeats (a counter's name, a status the kind tells) or what a default
says (``false``, ``[]``): ids and numbers only; the hub stores it as it comes. Reading never
blocks a ticket (a read transaction of the WAL); recording the hub's answer is one small
change.
"""

import json

from .transaction import Transactions

# What an event's data repeats: said by the columns, by the kind, by the times of the ticket's
# events (the hub computes waits and services from them, as the hall's reports do), or a name
# the catalogue has.
DROPPED = frozenset({"number", "procedure", "queue", "counter_name", "status",
                     "waited_seconds", "served_seconds"})
MAX_DETAIL = 300


def wire(row) -> list:
    """One row of ``events`` in the hub's form."""
    data = json.loads(row["data"]) if row["data"] else {}
    # ``False``, empty lists and objects are the defaults: they say nothing (0 is a fact).
    kept = {k: v for k, v in data.items()
            if k not in DROPPED and not (v is None or v is False or v == [] or v == {})}
    return [row["id"], row["at"], row["day"], row["kind"], row["ticket_id"],
            row["counter_number"], row["clerk_id"], row["queue_code"], data.get("procedure"),
            data.get("number"), kept or None]


class Outbox:
    """The push's side of the log."""

    def __init__(self, tx: Transactions):
        self.tx = tx

    def state(self) -> dict:
        """Where the push stands: acknowledged, newest event, how many and how old the oldest
        one still to send is, the last success, the error if failing."""
        with self.tx.reading() as reading:
            push = reading.one("SELECT * FROM hub_push WHERE id = 1")
            head = reading.value("SELECT coalesce(max(id), 0) FROM events")
            oldest = reading.one("SELECT at FROM events WHERE id > ? ORDER BY id LIMIT 1",
                                 (push["acked_seq"],))
            return {"acked": push["acked_seq"], "head": head,
                    "pending": max(0, head - push["acked_seq"]),
                    "lag_seconds": 0.0 if oldest is None else max(0.0, reading.now - oldest[0]),
                    "last_success_at": reading.rules.iso(push["last_success_at"]),
                    "last_attempt_at": reading.rules.iso(push["last_attempt_at"]),
                    "error": push["error"],
                    "error_since": reading.rules.iso(push["error_since"]),
                    "catalogue": {"offered": push["catalogue_offered"],
                                  "applied": push["catalogue_applied"],
                                  "error": push["catalogue_error"]}}

    def pending(self, limit: int) -> tuple[int, list[list]]:
        """The acknowledged position and up to ``limit`` events after it, in the hub's form."""
        with self.tx.reading() as reading:
            acked = reading.value("SELECT acked_seq FROM hub_push WHERE id = 1")
            rows = reading.all("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?",
                               (acked, limit))
            return acked, [wire(row) for row in rows]

    def acknowledged(self, acked: int) -> None:
        """The hub has every event up to ``acked`` (it may say less than was sent, never
        more than the log has)."""
        with self.tx.change() as change:
            head = change.value("SELECT coalesce(max(id), 0) FROM events")
            change.run("UPDATE hub_push SET acked_seq = ?, last_success_at = ?,"
                       " last_attempt_at = ?, error = NULL, error_since = NULL WHERE id = 1",
                       (min(acked, head), change.now, change.now))

    def failed(self, detail: str) -> None:
        """A push failed: what went wrong, since when (the first failure of a run)."""
        with self.tx.change() as change:
            change.run("UPDATE hub_push SET last_attempt_at = ?, error = ?,"
                       " error_since = coalesce(error_since, ?) WHERE id = 1",
                       (change.now, detail[:MAX_DETAIL], change.now))

    def catalogue_offered(self, version: int) -> bool:
        """The hub offers catalogue ``version``; True when it is newer than any offered."""
        with self.tx.change() as change:
            return change.run("UPDATE hub_push SET catalogue_offered = ? WHERE id = 1 AND"
                              " (catalogue_offered IS NULL OR catalogue_offered < ?)",
                              (version, version)).rowcount == 1

    def catalogue_applied(self, version: int | None, error: str | None = None) -> None:
        """The province's catalogue ``version`` was imported (or could not be: ``error``)."""
        with self.tx.change() as change:
            if error is None:
                change.run("UPDATE hub_push SET catalogue_applied = ?, catalogue_error = NULL"
                           " WHERE id = 1", (version,))
            else:
                change.run("UPDATE hub_push SET catalogue_error = ? WHERE id = 1",
                           (error[:MAX_DETAIL],))
