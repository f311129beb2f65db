"""The paper side of tickets: what a ticket prints, how printing went, and the tickets nobody
holds on paper (flagged for staff to reprint or cancel)."""

from . import records
from .events import EventKind
from .tickets import OPEN_STATUSES, view
from .transaction import Transactions
from .words import N_

CUT_SHORT = N_("máy chủ dừng trước khi in xong")
MAX_DETAIL = 300


class Printing:
    """Print state of tickets."""

    def __init__(self, tx: Transactions):
        self.tx = tx

    def sheet(self, token: str) -> dict:
        """What a printed ticket says: the holder's view plus field, counters and issue time."""
        with self.tx.reading() as reading:
            row = records.ticket_by_token(reading, token)
            found = view(reading, row)
            field = reading.one("SELECT f.name FROM procedures p JOIN fields f"
                                " ON f.id = p.field_id WHERE p.code = ?",
                                (row["procedure_code"],))
            # Where the holder will be called: the named counter, else those serving the queue.
            if row["target_counter"] is not None:
                desks = reading.all("SELECT name FROM counters WHERE number = ?",
                                    (row["target_counter"],))
            else:
                desks = reading.all(
                    "SELECT c.name FROM counter_queues cq JOIN counters c"
                    " ON c.number = cq.counter_number WHERE cq.queue_code = ?"
                    " AND c.status != 'closed' ORDER BY c.number", (row["queue_code"],))
            found.update(field=field["name"] if field else None,
                         counters=[d["name"] for d in desks], issued_ts=row["issued_at"],
                         issued_queue=row["issued_queue"], print_error=row["print_error"])
            return found

    def reprint_asked(self, token: str, printer: str, clerk: int | None) -> None:
        """Staff sent a ticket to a printer again: audited with who (how the print went is
        logged by the printer, as ever)."""
        with self.tx.change() as change:
            row = records.ticket_by_token(change, token)
            change.log(EventKind.TICKET_REPRINTED, ticket=row, clerk=clerk, printer=printer)

    def mark_printed(self, token: str, ok: bool, detail: str = "", printer: str | None = None,
                     reprint: bool = False) -> dict:
        """Record how printing a ticket went; a failure flags it for staff to reprint or
        cancel (a failed reprint leaves a ticket that once printed counted as printed)."""
        with self.tx.change() as change:
            row = records.ticket_by_token(change, token)
            if ok:
                change.run("UPDATE tickets SET printed = 1, print_error = NULL WHERE id = ?",
                           (row["id"],))
            else:
                change.run(
                    "UPDATE tickets SET printed = CASE WHEN printed = 1 THEN 1 ELSE 0 END,"
                    " print_error = CASE WHEN printed = 1 THEN print_error ELSE ? END"
                    " WHERE id = ?", (detail[:MAX_DETAIL], row["id"]))
            ticket = records.ticket(change, row["id"])
            change.log(EventKind.PRINTED if ok else EventKind.PRINT_FAILED, ticket=ticket,
                       printer=printer, detail=detail[:MAX_DETAIL], reprint=reprint,
                       kiosk=ticket["kiosk_id"])
            return view(change, ticket)

    def settle_prints(self) -> int:
        """After a restart: today's open tickets that were handed to a printer and never heard
        of again are flagged as not printed (the process stopped before printing them)."""
        with self.tx.change() as change:
            rows = change.all(
                "SELECT * FROM tickets WHERE day = ? AND print_expected AND printed IS NULL"
                f" AND status IN {OPEN_STATUSES}", (change.day,))
            for row in rows:
                change.run("UPDATE tickets SET printed = 0, print_error = ? WHERE id = ?",
                           (CUT_SHORT, row["id"]))
                change.log(EventKind.PRINT_FAILED, ticket=records.ticket(change, row["id"]),
                           printer=row["kiosk_id"], detail=CUT_SHORT, reprint=False,
                           kiosk=row["kiosk_id"])
            return len(rows)

    def unprinted(self, day: str | None = None) -> list[dict]:
        """Open tickets of the day that nobody holds on paper: staff reprint or cancel them."""
        with self.tx.reading() as reading:
            rows = reading.all(
                "SELECT * FROM tickets WHERE day = ? AND printed = 0"
                f" AND status IN {OPEN_STATUSES} ORDER BY issued_at, id",
                (day or reading.day,))
            return [{**view(reading, row), "print_error": row["print_error"]} for row in rows]

