"""Ticket numbers: the next sequence number a queue can give now (or why it cannot), and the
label people see for it."""

from . import errors
from .rules import parse_hhmm
from .transaction import Reading

FORMATS = ("prefix", "block", "plain")
BLOCK_SIZE = 999  # a 4-digit block N001..N999 holds 999 tickets a day


def label(number_format: str, seq: int, *, prefix: str = "", digits: int = 3,
          block: int | None = None) -> str:
    """The printed number for the ``seq``-th ticket of the day: A001, 1001 or 1."""
    if seq < 1:
        raise errors.out_of_range("seq", 1, "∞")
    if number_format == "prefix":
        return f"{prefix}{seq:0{digits}d}"
    if number_format == "block":
        if block is None or not 1 <= block <= 9:
            raise errors.out_of_range("block", 1, 9)
        if seq > BLOCK_SIZE:
            raise errors.out_of_range("seq", 1, BLOCK_SIZE)
        return str(block * 1000 + seq)
    if number_format == "plain":
        return str(seq)
    raise errors.not_one_of("number_format", number_format, FORMATS)


def capacity(number_format: str) -> int | None:
    """How many tickets a day the format can label, or None if unbounded."""
    return BLOCK_SIZE if number_format == "block" else None


def next_seq(reading: Reading, queue) -> int:
    """The sequence number the queue's next ticket would get now, or the refusal that says why
    there is none (issuing hours, no counter serving it, the day's numbers used up)."""
    closed = reading.one("SELECT reason FROM closed_days WHERE day = ?", (reading.day,))
    if closed is not None:
        raise errors.DayClosed(reason=closed["reason"])
    _check_issuing_hours(reading, queue)
    if not reading.one("SELECT 1 FROM counter_queues WHERE queue_code = ?", (queue["code"],)):
        raise errors.NoCounterServes(queue=queue["name"])
    seq = reading.value("SELECT coalesce(max(seq), 0) + 1 FROM tickets WHERE day = ?"
                        " AND issued_queue = ?", (reading.day, queue["code"]))
    limit = day_limit(reading, queue)
    if limit is not None and seq > limit:
        raise errors.DailyLimitReached(queue=queue["name"], limit=limit)
    return seq


def day_limit(reading: Reading, queue) -> int | None:
    """The most numbers a queue may give today: its daily limit plus today's extension (by a
    supervisor), within what its number format can label; None when unbounded."""
    own = queue["daily_limit"] or None
    if own is not None:  # an extension only ever raises a daily limit: no limit, no query
        own += reading.value("SELECT coalesce(sum(extra), 0) FROM number_extensions"
                             " WHERE day = ? AND queue_code = ?", (reading.day, queue["code"]))
    found = [x for x in (own, capacity(queue["number_format"])) if x]
    return min(found) if found else None


def label_of(queue, seq: int) -> str:
    """The label of the ``seq``-th ticket of a queue (a queues row)."""
    return label(queue["number_format"], seq, prefix=queue["prefix"], digits=queue["digits"],
                 block=queue["block"])


def _check_issuing_hours(reading: Reading, queue) -> None:
    """A queue's own hours, or else the hall's business hours, or no limit."""
    own = queue["issue_from"] or queue["issue_until"]
    opens, closes = ((queue["issue_from"], queue["issue_until"]) if own else
                     (reading.rules.opens_at, reading.rules.closes_at))
    if not opens and not closes:
        return
    opens, closes = opens or "00:00", closes or "23:59"
    clock = reading.rules.local(reading.now)
    minute = clock.hour * 60 + clock.minute
    h1, m1 = parse_hhmm(opens, "issue_from")
    h2, m2 = parse_hhmm(closes, "issue_until")
    if minute < h1 * 60 + m1:
        raise errors.QueueClosed(errors.QueueClosed.not_yet, queue=queue["name"], opens=opens,
                                 closes=closes)
    if minute >= h2 * 60 + m2:
        raise errors.QueueClosed(errors.QueueClosed.over, queue=queue["name"], opens=opens,
                                 closes=closes)

