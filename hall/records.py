"""Finding the rows the core works on: a ticket by id, token or printed number, a counter by
number, the ticket a counter serves. Each refuses clearly when there is no such thing."""

import sqlite3

from . import errors
from .catalogue import MAX_COUNTER
from .transaction import Reading


def ticket(reading: Reading, ticket_id: int) -> sqlite3.Row:
    """A ticket row by id (it must exist)."""
    return reading.one("SELECT * FROM tickets WHERE id = ?", (ticket_id,))


def ticket_by_token(reading: Reading, token: str) -> sqlite3.Row:
    """A ticket row by its holder's token."""
    row = reading.one("SELECT * FROM tickets WHERE token = ?", (token,)) \
        if isinstance(token, str) else None
    if row is None:
        raise errors.NotFound(errors.N_("Không tìm thấy vé này."))
    return row


def ticket_by_number(reading: Reading, number, queue=None, day: str | None = None,
                     served_by: int | None = None) -> sqlite3.Row:
    """A ticket of the day by its printed number; ``queue`` (the queue that issued it) tells
    apart two queues whose formats give the same number, and so does ``served_by`` (prefer the
    ticket a counter serves)."""
    if not isinstance(number, str) or not number.strip():
        raise errors.InvalidInput(field="number")
    if queue is not None and not isinstance(queue, str):
        raise errors.InvalidInput(field="queue")
    number = number.strip().upper()
    sql = "SELECT * FROM tickets WHERE day = ? AND number = ?"
    args: list = [day or reading.day, number]
    if queue is not None:
        sql += " AND issued_queue = ?"
        args.append(queue)
    rows = reading.all(sql + " ORDER BY id", args)
    if len(rows) > 1 and served_by is not None:
        served = served_queues(reading, served_by)
        rows = [r for r in rows if r["queue_code"] in served] or rows
    if not rows:
        raise errors.UnknownTicket(number=number)
    if len(rows) > 1:
        raise errors.AmbiguousNumber(number=number)
    return rows[0]


def counter(reading: Reading, number) -> sqlite3.Row:
    """A counter row by number."""
    if not isinstance(number, int) or isinstance(number, bool):
        raise errors.InvalidInput(field="counter")
    if not is_counter_number(number):
        raise errors.UnknownCounter(number=number)
    row = reading.one("SELECT * FROM counters WHERE number = ?", (number,))
    if row is None:
        raise errors.UnknownCounter(number=number)
    return row


def open_counter(reading: Reading, number) -> sqlite3.Row:
    """A counter that may call now (neither paused nor closed)."""
    desk = counter(reading, number)
    if desk["status"] == "paused":
        raise errors.CounterPaused(number=number)
    if desk["status"] == "closed":
        raise errors.CounterClosed(number=number)
    return desk


def current_ticket(reading: Reading, desk) -> sqlite3.Row:
    """The ticket a counter is serving."""
    if desk["current_ticket_id"] is None:
        raise errors.NoCurrentTicket(number=desk["number"])
    return ticket(reading, desk["current_ticket_id"])


def served_queues(reading: Reading, number: int) -> set[str]:
    """The codes of the queues a counter serves."""
    return {r[0] for r in reading.all(
        "SELECT queue_code FROM counter_queues WHERE counter_number = ?", (number,))}


def queue(reading: Reading, code: str) -> sqlite3.Row:
    """A queue row by code."""
    row = reading.one("SELECT * FROM queues WHERE code = ?", (code,)) \
        if isinstance(code, str) else None
    if row is None:
        raise errors.UnknownQueue(code=code)
    return row


def is_counter_number(number) -> bool:
    """Whether ``number`` can be a counter's number (else SQLite could not even look it up)."""
    return isinstance(number, int) and not isinstance(number, bool) \
        and 1 <= number <= MAX_COUNTER
