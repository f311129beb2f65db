"""Ticket-level retention: ticket rows, their events, ratings and dossier codes older than
``rules.keep_tickets_days`` are purged once their days are summed up in the report rollups
(which stay, so reports over old ranges still work). The event log's append-only trigger lets
a delete through only inside a purge opened in the same transaction, for tickets older than
its day."""

from datetime import date, timedelta

from . import rollups
from .events import EventKind
from .transaction import Transactions


class Retention:
    """The purge of old ticket rows."""

    def __init__(self, tx: Transactions):
        self.tx = tx

    def purge(self, clerk: int | None = None, pushed_up_to: int | None = None) -> dict:
        """Purge tickets of business days older than ``keep_tickets_days`` (0: nothing);
        audited as ``tickets_purged`` with the day, counts and who. ``pushed_up_to``: the
        last event the province hub has; no day with a later event of its tickets is purged
        (the hub would never get it)."""
        keep = self.tx.rules.keep_tickets_days
        with self.tx.change() as change:
            if not keep:
                return {"before_day": None, "tickets": 0, "events": 0}
            before = (date.fromisoformat(change.day) - timedelta(days=keep)).isoformat()
            if pushed_up_to is not None:
                unpushed = change.value(
                    "SELECT min(t.day) FROM events e JOIN tickets t ON t.id = e.ticket_id"
                    " WHERE e.id > ?", (pushed_up_to,))
                if unpushed is not None:
                    before = min(before, unpushed)
            # The rollups of those days must be up to date before their source goes.
            rollups.refresh(change)
            tickets = change.value("SELECT count(*) FROM tickets WHERE day < ?", (before,))
            if not tickets:
                return {"before_day": before, "tickets": 0, "events": 0}
            purge = change.run("INSERT INTO purges (before_day, at, open) VALUES (?, ?, 1)",
                               (before, change.now)).lastrowid
            old = "(SELECT id FROM tickets WHERE day < ?)"
            events = change.run(f"DELETE FROM events WHERE ticket_id IN {old}",
                                (before,)).rowcount
            change.run(f"DELETE FROM ratings WHERE ticket_id IN {old}", (before,))
            change.run(f"DELETE FROM dossiers WHERE ticket_id IN {old}", (before,))
            change.run("UPDATE counters SET current_ticket_id = NULL WHERE current_ticket_id"
                       f" IN {old}", (before,))
            change.run("DELETE FROM tickets WHERE day < ?", (before,))
            change.run("UPDATE purges SET open = 0 WHERE id = ?", (purge,))
            change.log(EventKind.TICKETS_PURGED, clerk=clerk, before_day=before,
                       tickets=tickets, events=events, keep_days=keep)
            return {"before_day": before, "tickets": tickets, "events": events}
