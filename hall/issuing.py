"""Giving citizens numbers: issue a ticket (once per request key), and what can be issued now."""

import secrets

from . import errors, limits, numbering
from .events import EventKind
from .rules import PRIORITY_REASONS
from .tickets import view
from .transaction import Reading, Transactions

MAX_REQUEST_KEY = 200
MAX_PRINT_ERROR = 300


class Issuing:
    """Issues tickets."""

    def __init__(self, tx: Transactions):
        self.tx = tx

    def issue(self, procedure: str, *, priority: str | None = None, kiosk: str | None = None,
              request_key: str | None = None, to_print: bool = False,
              not_printed: str | None = None, client: str | None = None) -> dict:
        """Give a citizen the next number of the procedure's queue; idempotent by request key.

        ``client``: the address a public door was asked from; with ``kiosk`` it is held to the
        hall's tickets a minute (``IssueLimited``, logged for staff once a minute; a retry of
        an issued request key is never refused). Staff doors pass neither.

        ``to_print``: a printer is about to print it, so a restart that finds it neither printed
        nor failed knows printing was cut short. ``not_printed``: why a ticket of a kiosk will
        have no paper (a screen ticket); it is flagged for staff in the same change.
        """
        _check_arguments(procedure, priority, kiosk, request_key)
        if client is not None and (not isinstance(client, str) or len(client) > limits.MAX_CLIENT):
            raise errors.InvalidInput(field="client")
        with self.tx.change() as change:
            if request_key is not None:
                earlier = change.one("SELECT * FROM tickets WHERE request_key = ?",
                                     (request_key,))
                if earlier is not None:
                    if earlier["procedure_code"] != procedure or earlier["priority"] != priority:
                        raise errors.DuplicateRequest(key=request_key)
                    return view(change, earlier)
            queue = _queue_of(change, procedure, kiosk)
            refused = limits.refusal(change, kiosk, client)
            if refused is None:
                return _insert(change, queue, procedure, priority, kiosk, request_key,
                               to_print, not_printed, client)
            # Committed (staff see the refusal), then raised: nothing else changed.
            limits.record(change, refused)
        raise refused

    def check(self, procedure: str, *, priority: str | None = None,
              kiosk: str | None = None) -> None:
        """Raise what ``issue`` would refuse now, without issuing (a kiosk whose printer is
        down says why a ticket cannot be had only for a ticket that could)."""
        _check_arguments(procedure, priority, kiosk, None)
        with self.tx.reading() as reading:
            numbering.next_seq(reading, _queue_of(reading, procedure, kiosk))

    def availability(self) -> dict[str, dict]:
        """Per active queue: whether a ticket can be issued now (else the error that says why
        and when to come back) and how many wait; kiosks grey out what would be refused."""
        with self.tx.reading() as reading:
            out = {}
            for queue in reading.all("SELECT * FROM queues WHERE active"):
                waiting = reading.value("SELECT count(*) FROM tickets WHERE queue_code = ?"
                                        " AND day = ? AND status = 'waiting'",
                                        (queue["code"], reading.day))
                refusal = None
                try:
                    numbering.next_seq(reading, queue)
                except errors.HallError as exc:
                    refusal = exc
                out[queue["code"]] = {"refusal": refusal, "waiting": waiting}
            return out


def _insert(change, queue, procedure, priority, kiosk, request_key, to_print, not_printed,
            client) -> dict:
    """Give the queue's next number (the refusals are checked)."""
    seq = numbering.next_seq(change, queue)
    # In line after every ticket already issued to the queue today, even when the clock was
    # set back since (NTP at boot): a later ticket never overtakes an earlier one.
    order_at = max(change.now, change.value(
        "SELECT coalesce(max(order_at), 0) FROM tickets WHERE day = ? AND issued_queue = ?"
        " AND seq = ?", (change.day, queue["code"], seq - 1)))
    cursor = change.run(
        "INSERT INTO tickets (day, issued_queue, seq, number, queue_code, procedure_code,"
        " priority, issued_at, order_at, kiosk_id, token, request_key, print_expected,"
        " client) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (change.day, queue["code"], seq, numbering.label_of(queue, seq), queue["code"],
         procedure, priority, change.now, order_at, kiosk, secrets.token_urlsafe(16),
         request_key, int(to_print), client))
    if not_printed is not None:
        change.run("UPDATE tickets SET printed = 0, print_error = ? WHERE id = ?",
                   (not_printed[:MAX_PRINT_ERROR], cursor.lastrowid))
    ticket = change.one("SELECT * FROM tickets WHERE id = ?", (cursor.lastrowid,))
    change.log(EventKind.ISSUED, ticket=ticket, kiosk=kiosk)
    if not_printed is not None:
        change.log(EventKind.PRINT_FAILED, ticket=ticket, printer=kiosk,
                   detail=not_printed[:MAX_PRINT_ERROR], reprint=False, kiosk=kiosk)
    return view(change, ticket, queue=queue,
                procedure={"code": procedure, "name": queue["procedure_name"]})


def _check_arguments(procedure, priority, kiosk, request_key) -> None:
    if not isinstance(procedure, str) or not procedure.strip():
        raise errors.InvalidInput(field="procedure")
    if priority is not None and priority not in PRIORITY_REASONS:
        raise errors.not_one_of("priority", priority, PRIORITY_REASONS)
    if kiosk is not None and not isinstance(kiosk, str):
        raise errors.InvalidInput(field="kiosk")
    if request_key is not None and (not isinstance(request_key, str)
                                    or not 1 <= len(request_key) <= MAX_REQUEST_KEY):
        raise errors.InvalidInput(field="Idempotency-Key")


def _queue_of(reading: Reading, procedure: str, kiosk: str | None):
    """The procedure's queue row, with what the procedure adds, in one query; refused when the
    procedure or the kiosk cannot issue."""
    queue = reading.one(
        "SELECT q.*, p.active AS procedure_active, p.name AS procedure_name"
        " FROM procedures p JOIN queues q ON q.code = p.queue_code WHERE p.code = ?",
        (procedure,))
    if queue is None:
        raise errors.UnknownProcedure(code=procedure)
    if not queue["procedure_active"] or not queue["active"]:
        raise errors.InactiveProcedure(code=procedure)
    if kiosk is not None and not reading.one("SELECT 1 FROM kiosks WHERE id = ? AND active",
                                             (kiosk,)):
        raise errors.UnknownKiosk(kiosk=kiosk)
    return queue
