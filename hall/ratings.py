"""Satisfaction ratings: one press by the citizen after service, one rating per ticket.

The prompt belongs to a counter: the ticket it finished last, for ``rating_seconds`` after
"finish". The clerk who served cannot rate it.
"""

from . import errors, records
from .events import EventKind
from .transaction import Reading, Transactions

SOURCES = ("screen", "keypad", "api", "phone")


def _awaiting(reading: Reading, counter: int):
    """The ticket this counter finished last, if still within the window and unrated."""
    # The last one finished, rated or not: once it is rated, an older ticket's citizen has
    # left and its prompt must not come back.
    ticket = reading.one(
        "SELECT t.*, r.id AS rating_id FROM tickets t LEFT JOIN ratings r"
        " ON r.ticket_id = t.id WHERE t.counter_number = ? AND t.day = ?"
        " AND t.status = 'done' AND t.finished_at >= ?"
        " ORDER BY t.finished_at DESC, t.id DESC LIMIT 1",
        (counter, reading.day, reading.now - reading.rules.rating_seconds))
    return None if ticket is None or ticket["rating_id"] is not None else ticket


class Ratings:
    """Ratings over the hall's store."""

    def __init__(self, tx: Transactions):
        self.tx = tx

    def prompt(self, counter: int) -> dict | None:
        """What the rating screen of ``counter`` asks about now (None: nothing to rate)."""
        with self.tx.reading() as reading:
            ticket = _awaiting(reading, counter)
            if ticket is None:
                return None
            proc = reading.one("SELECT name FROM procedures WHERE code = ?",
                               (ticket["procedure_code"],))
            rules = reading.rules
            return {"counter": counter, "number": ticket["number"],
                    "procedure": proc["name"] if proc else None,
                    "levels": list(rules.rating_levels),
                    "seconds_left": max(0, round(ticket["finished_at"] + rules.rating_seconds
                                                 - reading.now))}

    def rate(self, counter: int, level: int, source: str = "screen",
             rater_clerk: int | None = None) -> dict:
        """Record the citizen's rating of the service just finished at ``counter``."""
        levels = self.tx.rules.rating_levels
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= len(levels):
            raise errors.out_of_range("level", 1, len(levels))
        if source not in SOURCES:
            raise errors.not_one_of("source", source, SOURCES)
        with self.tx.change() as change:
            ticket = _awaiting(change, counter)
            if ticket is None:
                raise errors.NothingToRate(number=counter)
            if rater_clerk is not None and rater_clerk == ticket["clerk_id"]:
                raise errors.Forbidden(errors.N_("Cán bộ không tự đánh giá lượt phục vụ của"
                                                 " mình."))
            label = levels[level - 1]
            change.run(
                "INSERT INTO ratings (ticket_id, day, at, counter_number, clerk_id,"
                " procedure_code, queue_code, level, levels, label, source)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (ticket["id"], change.day, change.now, counter, ticket["clerk_id"],
                 ticket["procedure_code"], ticket["queue_code"], level, len(levels), label,
                 source))
            change.log(EventKind.RATED, ticket=ticket, counter=counter,
                       clerk=ticket["clerk_id"], level=level, levels=len(levels), label=label,
                       source=source)
            return {"number": ticket["number"], "counter": counter, "level": level,
                    "label": label}

    def rate_ticket(self, token: str, level: int) -> dict:
        """Record the holder's own rating of their served ticket, from the phone page (once,
        on the ticket's day, where the hall allows it)."""
        rules = self.tx.rules
        if not rules.rate_on_phone:
            raise errors.PhoneRatingOff()
        levels = rules.rating_levels
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= len(levels):
            raise errors.out_of_range("level", 1, len(levels))
        with self.tx.change() as change:
            ticket = records.ticket_by_token(change, token)
            if ticket["day"] != change.day or ticket["status"] != "done" \
                    or ticket["counter_number"] is None:
                raise errors.NotRateable()
            if change.one("SELECT 1 FROM ratings WHERE ticket_id = ?", (ticket["id"],)):
                raise errors.AlreadyRated()
            label = levels[level - 1]
            change.run(
                "INSERT INTO ratings (ticket_id, day, at, counter_number, clerk_id,"
                " procedure_code, queue_code, level, levels, label, source)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'phone')",
                (ticket["id"], change.day, change.now, ticket["counter_number"],
                 ticket["clerk_id"], ticket["procedure_code"], ticket["queue_code"], level,
                 len(levels), label))
            change.log(EventKind.RATED, ticket=ticket, counter=ticket["counter_number"],
                       clerk=ticket["clerk_id"], level=level, levels=len(levels), label=label,
                       source="phone")
            return {"number": ticket["number"], "counter": ticket["counter_number"],
                    "level": level, "label": label}

    def summary(self, day: str | None = None, counter: int | None = None) -> dict:
        """How many ratings of each level a day had (at one counter, or the whole hall)."""
        sql = "SELECT level, count(*) FROM ratings WHERE day = ?"
        with self.tx.reading() as reading:
            day = day or reading.day
            args: list = [day]
            if counter is not None:
                sql += " AND counter_number = ?"
                args.append(counter)
            counts = dict(reading.all(sql + " GROUP BY level", args))
        levels = self.tx.rules.rating_levels
        return {"day": day, "counter": counter,
                "levels": [{"level": i + 1, "label": label, "count": counts.get(i + 1, 0)}
                           for i, label in enumerate(levels)],
                "total": sum(counts.values())}
