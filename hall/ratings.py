"""Satisfaction ratings: one press by the citizen after service, one rating per ticket.

The prompt belongs to a counter: the ticket it finished last, for ``rating_seconds`` after
"finish". The clerk who served cannot rate it.
"""

import time

from . import errors, events
from .rules import Rules
from .store import Store


class Ratings:
    """Ratings over the hall's store."""

    def __init__(self, store: Store, clock=time.time, rules: Rules | None = None):
        self.store = store
        self.clock = clock
        self.rules = rules or Rules()

    def _awaiting(self, conn, counter: int, now: float):
        """The ticket this counter finished last, if still within the window and unrated."""
        # The last one finished, rated or not: once it is rated, an older ticket's citizen has
        # left and its prompt must not come back.
        ticket = conn.execute(
            "SELECT t.*, r.id AS rating_id FROM tickets t LEFT JOIN ratings r"
            " ON r.ticket_id = t.id WHERE t.counter_number = ? AND t.day = ?"
            " AND t.status = 'done' AND t.finished_at >= ?"
            " ORDER BY t.finished_at DESC, t.id DESC LIMIT 1",
            (counter, self.rules.business_day(now), now - self.rules.rating_seconds)).fetchone()
        return None if ticket is None or ticket["rating_id"] is not None else ticket

    def prompt(self, counter: int) -> dict | None:
        """What the rating screen of ``counter`` asks about now (None: nothing to rate)."""
        with self.store.read() as conn:
            now = self.clock()
            ticket = self._awaiting(conn, counter, now)
            if ticket is None:
                return None
            proc = conn.execute("SELECT name FROM procedures WHERE code = ?",
                                (ticket["procedure_code"],)).fetchone()
            return {"counter": counter, "number": ticket["number"],
                    "procedure": proc["name"] if proc else None,
                    "levels": list(self.rules.rating_levels),
                    "seconds_left": max(0, round(ticket["finished_at"]
                                                 + self.rules.rating_seconds - now))}

    def rate(self, counter: int, level: int, source: str = "screen",
             rater_clerk: int | None = None) -> dict:
        """Record the citizen's rating of the service just finished at ``counter``."""
        levels = self.rules.rating_levels
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= len(levels):
            raise errors.InvalidInput(detail=f"level: 1..{len(levels)}")
        if source not in ("screen", "keypad", "api"):
            raise errors.InvalidInput(detail="source")
        with self.store.write() as conn:
            now = self.clock()
            ticket = self._awaiting(conn, counter, now)
            if ticket is None:
                raise errors.NothingToRate(number=counter)
            if rater_clerk is not None and rater_clerk == ticket["clerk_id"]:
                raise errors.Forbidden(errors.N_("Cán bộ không tự đánh giá lượt phục vụ của"
                                                 " mình."))
            day = self.rules.business_day(now)
            conn.execute(
                "INSERT INTO ratings (ticket_id, day, at, counter_number, clerk_id,"
                " procedure_code, queue_code, level, levels, label, source)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (ticket["id"], day, now, counter, ticket["clerk_id"], ticket["procedure_code"],
                 ticket["queue_code"], level, len(levels), levels[level - 1], source))
            events.append(conn, day, now, "rated", ticket=ticket["id"], counter=counter,
                          clerk=ticket["clerk_id"], queue=ticket["queue_code"],
                          data={"number": ticket["number"], "level": level,
                                "levels": len(levels), "label": levels[level - 1],
                                "source": source, "procedure": ticket["procedure_code"]})
            return {"number": ticket["number"], "counter": counter, "level": level,
                    "label": levels[level - 1]}

    def summary(self, day: str | None = None, counter: int | None = None) -> dict:
        """How many ratings of each level a day had (at one counter, or the whole hall)."""
        day = day or self.rules.business_day(self.clock())
        sql = "SELECT level, count(*) FROM ratings WHERE day = ?"
        args: list = [day]
        if counter is not None:
            sql += " AND counter_number = ?"
            args.append(counter)
        with self.store.read() as conn:
            counts = dict(conn.execute(sql + " GROUP BY level", args).fetchall())
        levels = self.rules.rating_levels
        return {"day": day, "counter": counter,
                "levels": [{"level": i + 1, "label": label, "count": counts.get(i + 1, 0)}
                           for i, label in enumerate(levels)],
                "total": sum(counts.values())}
