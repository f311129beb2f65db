"""A ticket followed by its holder on a phone: what the page shows, nothing more.

The holder's only key is the ticket's token (128 random bits); it opens that one ticket and
only for its business day. After the day the page says so and shows nothing of the ticket,
whether or not a change has yet closed the day's tickets (expiry is read from the clock, not
from the roll-over).
"""

from . import errors, records
from .tickets import view
from .transaction import Reading, Transactions

FINAL = ("done", "cancelled", "expired")  # nothing more will happen to the ticket


def _where(reading: Reading, row) -> list[str]:
    """Where the holder will be called: the named counter, else the open ones of the queue."""
    if row["target_counter"] is not None:
        rows = reading.all("SELECT name FROM counters WHERE number = ?", (row["target_counter"],))
    else:
        rows = reading.all(
            "SELECT c.name FROM counter_queues cq JOIN counters c ON c.number = cq.counter_number"
            " WHERE cq.queue_code = ? AND c.active AND c.status != 'closed' ORDER BY c.number",
            (row["queue_code"],))
    return [r["name"] for r in rows]


def _rating(reading: Reading, row, on_phone: bool) -> dict | None:
    """The rating the holder may give from the phone (a served ticket, once), or gave."""
    if not on_phone or row["status"] != "done" or row["counter_number"] is None:
        return None
    given = reading.one("SELECT level, label FROM ratings WHERE ticket_id = ?", (row["id"],))
    return {"levels": list(reading.rules.rating_levels),
            "given": None if given is None else {"level": given["level"],
                                                 "label": given["label"]}}


class Following:
    """Reads of a ticket by its token, for the holder's phone."""

    def __init__(self, tx: Transactions):
        self.tx = tx

    def ticket(self, token: str) -> dict:
        """The ticket as its holder's phone shows it now; ``TicketExpired`` after its day."""
        with self.tx.reading() as reading:
            row = records.ticket_by_token(reading, token)
            if row["day"] != reading.day:
                raise errors.TicketExpired(day=row["day"])
            found = view(reading, row)
            field = reading.one("SELECT f.name FROM procedures p JOIN fields f"
                                " ON f.id = p.field_id WHERE p.code = ?", (row["procedure_code"],))
            moved_from = None
            if row["transfers"] and row["issued_queue"] != row["queue_code"]:
                first = reading.one("SELECT name FROM queues WHERE code = ?",
                                    (row["issued_queue"],))
                moved_from = first["name"] if first else row["issued_queue"]
            found.update(field=field["name"] if field else None, counters=_where(reading, row),
                         moved_from=moved_from, final=row["status"] in FINAL,
                         rating=_rating(reading, row, reading.rules.rate_on_phone))
            return found
