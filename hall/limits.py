"""Limits that keep the public doors fair: how many tickets a kiosk or a client address may take
a minute, how far a queue is into its day's numbers, and a supervisor's extension of them.

The rate limits count the tickets themselves (``tickets.kiosk_id``, ``tickets.client``) in the
issuing transaction, not a counter in memory: they hold across processes and restarts, cost no
memory whatever addresses an attacker cycles through, and two requests at once cannot both slip
under the limit (the issuing change holds the write lock).
"""

import math

from . import errors, numbering
from .events import EventKind
from .transaction import Change, Reading, Transactions

WINDOW_S = 60
# A refusal is logged (and alerts staff) at most once per kiosk or address in this long, so a
# flood adds a line a minute to the event log, not one per request.
RECORD_EVERY_S = 60
# The monitor shows a kiosk or address as limited for this long after its last refusal.
ALERT_S = 600
MAX_CLIENT = 64  # an IPv6 address is at most 45 characters
MAX_EXTRA = 9999


def refusal(reading: Reading, kiosk: str | None, client: str | None
            ) -> errors.IssueLimited | None:
    """Why a public door may not issue one more ticket now for this kiosk or client (the
    tickets it took in the last minute reached the hall's limit), or None. Without a client
    (staff doors, the command line) nothing is limited."""
    rules, now = reading.rules, reading.now
    if client is None:
        return None
    # A kiosk is named by whoever asks, so its tickets are counted from its own address: one
    # naming it from elsewhere is held to that address's limit and cannot block the kiosk.
    for where, args, limit, text in (
            ("kiosk_id = ? AND client = ?", (kiosk, client), rules.kiosk_tickets_per_minute,
             errors.IssueLimited.text),
            ("client = ?", (client,), rules.client_tickets_per_minute,
             errors.IssueLimited.CLIENT)):
        if args[0] is None or not limit:
            continue
        # Only the last minute up to now: after the clock is set back (NTP at boot), tickets
        # stamped "in the future" do not keep a kiosk blocked.
        times = [row[0] for row in reading.all(
            f"SELECT issued_at FROM tickets WHERE {where} AND issued_at > ?"  # noqa: S608
            " AND issued_at <= ? ORDER BY issued_at DESC LIMIT ?",
            (*args, now - WINDOW_S, now, limit))]
        if len(times) >= limit:
            seconds = max(1, math.ceil(times[-1] + WINDOW_S - now))
            return errors.IssueLimited(text, seconds=seconds, limit=limit,
                                       source="kiosk" if where.startswith("kiosk") else "client",
                                       kiosk=kiosk, client=client)
    return None


def record(change: Change, refused: errors.IssueLimited) -> None:
    """Log a refusal for staff, unless this kiosk or address was logged in the last minute."""
    source = refused.params["source"]  # "kiosk" or "client": also the key of its value
    if change.one("SELECT 1 FROM events WHERE day = ? AND kind = ? AND at > ?"
                  f" AND json_extract(data, '$.{source}') = ? LIMIT 1",  # noqa: S608
                  (change.day, EventKind.ISSUE_LIMITED, change.now - RECORD_EVERY_S,
                   refused.params[source])):
        return
    change.log(EventKind.ISSUE_LIMITED, source=source,
               kiosk=refused.params["kiosk"], client=refused.params["client"],
               limit=refused.params["limit"])


def used_numbers(reading: Reading) -> dict[str, int]:
    """How many numbers each queue has given today."""
    return dict(reading.all("SELECT issued_queue, max(seq) FROM tickets WHERE day = ?"
                            " GROUP BY issued_queue", (reading.day,)))


def limited_sources(reading: Reading) -> list[dict]:
    """Kiosks and addresses refused for taking too many tickets in the last minutes."""
    return [{"source": r["source"], "kiosk": r["kiosk"], "client": r["client"],
             "minutes": r["n"], "last_at": reading.rules.iso(r["last"]), "limit": r["lim"]}
            for r in reading.all(
                "SELECT json_extract(data, '$.source') AS source,"
                " json_extract(data, '$.kiosk') AS kiosk, json_extract(data, '$.client') AS client,"
                " count(*) AS n, max(at) AS last, max(json_extract(data, '$.limit')) AS lim"
                " FROM events WHERE day = ? AND kind = ? AND at > ?"
                " GROUP BY source, kiosk, client ORDER BY last DESC",
                (reading.day, EventKind.ISSUE_LIMITED, reading.now - ALERT_S))]


class Limits:
    """A supervisor's say over the day's numbers."""

    def __init__(self, tx: Transactions):
        self.tx = tx

    def extend(self, queue_code: str, extra, by: int | None = None) -> dict:
        """Give a queue ``extra`` more numbers today (on top of its daily limit); audited."""
        if isinstance(extra, bool) or not isinstance(extra, int):
            raise errors.InvalidInput(errors.InvalidInput.NOT_INTEGER, field="extra")
        if not 1 <= extra <= MAX_EXTRA:
            raise errors.out_of_range("extra", 1, MAX_EXTRA)
        if not isinstance(queue_code, str):
            raise errors.UnknownQueue(code=queue_code)
        with self.tx.change() as change:
            queue = change.one("SELECT * FROM queues WHERE code = ?", (queue_code,))
            if queue is None:
                raise errors.UnknownQueue(code=queue_code)
            before = numbering.day_limit(change, queue)
            capacity = numbering.capacity(queue["number_format"])
            if not queue["daily_limit"]:
                if capacity is None:
                    raise errors.NothingToExtend(queue=queue["name"])
                raise errors.FormatFull(queue=queue["name"], limit=capacity)
            if capacity is not None and queue["daily_limit"] + extra > capacity \
                    and before >= capacity:
                raise errors.FormatFull(queue=queue["name"], limit=capacity)
            change.run("INSERT INTO number_extensions (day, queue_code, extra, at, clerk_id)"
                       " VALUES (?, ?, ?, ?, ?) ON CONFLICT (day, queue_code) DO UPDATE SET"
                       " extra = extra + excluded.extra, at = excluded.at,"
                       " clerk_id = excluded.clerk_id",
                       (change.day, queue_code, extra, change.now, by))
            after = numbering.day_limit(change, queue)
            change.log(EventKind.NUMBERS_EXTENDED, clerk=by, queue=queue_code, extra=extra,
                       before=before, after=after)
            used = used_numbers(change).get(queue_code, 0)
        return {"queue": queue_code, "day": change.day, "limit": after, "before": before,
                "used": used}
