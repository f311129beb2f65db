"""Tickets as people see them: the holder's view (status, people ahead, expected wait, the
counter that called it), found by token, printed number or the request that issued it."""

import sqlite3

from . import records
from .estimate import NO_ESTIMATE, position
from .transaction import Reading, Transactions

OPEN_STATUSES = ("waiting", "called")


def view(reading: Reading, ticket: sqlite3.Row, *, queue=None, procedure=None,
         desk=None) -> dict:
    """The ticket as its holder sees it; ``queue`` (a full queues row), ``procedure`` and
    ``desk`` save a lookup when the caller already has the ticket's own."""
    if queue is None or queue["code"] != ticket["queue_code"]:
        queue = records.queue(reading, ticket["queue_code"])
    proc = procedure
    if proc is None or proc["code"] != ticket["procedure_code"]:
        proc = reading.one("SELECT code, name FROM procedures WHERE code = ?",
                           (ticket["procedure_code"],))
    iso = reading.rules.iso
    found = {
        "id": ticket["id"],
        "number": ticket["number"],
        "day": ticket["day"],
        "queue": {"code": queue["code"], "name": queue["name"]},
        "procedure": {"code": proc["code"], "name": proc["name"]} if proc else None,
        "priority": ticket["priority"],
        "status": ticket["status"],
        "issued_at": iso(ticket["issued_at"]),
        "called_at": iso(ticket["called_at"]),
        "finished_at": iso(ticket["finished_at"]),
        "counter": None,
        "target_counter": ticket["target_counter"],
        "outcome": ticket["outcome"],
        "recalls": ticket["recalls"],
        "transfers": ticket["transfers"],
        "kiosk": ticket["kiosk_id"],
        "printed": None if ticket["printed"] is None else bool(ticket["printed"]),
        "token": ticket["token"],
        "waiting_ahead": None,
        **NO_ESTIMATE,
    }
    if ticket["counter_number"] is not None:
        if desk is None or desk["number"] != ticket["counter_number"]:
            desk = reading.one("SELECT number, name FROM counters WHERE number = ?",
                               (ticket["counter_number"],))
        found["counter"] = {"number": desk["number"], "name": desk["name"]}
    if ticket["status"] == "waiting":
        found["waiting_ahead"], estimate = position(reading, ticket, queue)
        found.update(estimate.as_view())
    return found


class Tickets:
    """Reads tickets."""

    def __init__(self, tx: Transactions):
        self.tx = tx

    def ticket(self, token: str) -> dict:
        """A ticket as its holder sees it now, found by its unguessable token."""
        with self.tx.reading() as reading:
            return view(reading, records.ticket_by_token(reading, token))

    def by_request_key(self, key: str) -> dict | None:
        """The ticket an earlier request with this idempotency key issued, if any."""
        with self.tx.reading() as reading:
            row = reading.one("SELECT * FROM tickets WHERE request_key = ?", (key,))
            return None if row is None else view(reading, row)

    def find(self, number: str, queue: str | None = None, day: str | None = None) -> dict:
        """A ticket of the day by its printed number (and queue, when formats overlap)."""
        with self.tx.reading() as reading:
            return view(reading, records.ticket_by_number(reading, number, queue, day))
