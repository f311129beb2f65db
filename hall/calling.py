"""A ticket's way through the counters: call (next, or a number out of turn), recall, no-show
and back, transfer, finish, cancel. Each is one change with its event (see transaction.py)."""

from . import errors, lanes, policy, records
from .events import EventKind
from .tickets import view
from .transaction import Change, Transactions
from .words import TICKET_STATUS, VERB, term

# A scanner reads one code per dossier; a ticket rarely brings more than a few.
MAX_DOSSIERS = 20
MAX_DOSSIER_CODE = 64


def _since(start: float | None, now: float) -> float | None:
    # Never negative: after the wall clock stepped back, "now" can be before ``start``.
    return None if start is None else max(0.0, round(now - start, 3))


def dossier_codes(dossiers) -> list[str]:
    """The dossier codes of a finish, checked: text, trimmed, blanks dropped, each at most
    MAX_DOSSIER_CODE characters, repeats kept once, at most MAX_DOSSIERS of them."""
    if isinstance(dossiers, str) or not isinstance(dossiers, (list, tuple)):
        raise errors.InvalidInput(errors.InvalidInput.NOT_LIST, field="dossiers")
    codes: list[str] = []
    for item in dossiers:
        if not isinstance(item, str):
            raise errors.InvalidInput(errors.InvalidInput.NOT_TEXT, field="dossiers")
        code = item.strip()
        if not code:
            continue
        if len(code) > MAX_DOSSIER_CODE:
            raise errors.InvalidInput(errors.InvalidInput.TOO_LONG, field="dossiers",
                                      limit=MAX_DOSSIER_CODE)
        if not code.isprintable():
            raise errors.InvalidInput(errors.BAD_DOSSIER_CODE, code=repr(code))
        if code not in codes:
            codes.append(code)
    if len(codes) > MAX_DOSSIERS:
        raise errors.InvalidInput(errors.TOO_MANY_DOSSIERS, limit=MAX_DOSSIERS)
    return codes


def _refuse(ticket, verb: str) -> errors.IllegalTransition:
    return errors.IllegalTransition(number=ticket["number"],
                                    status=term(TICKET_STATUS, ticket["status"]),
                                    action=term(VERB, verb))


class Calling:
    """What counters do with tickets."""

    def __init__(self, tx: Transactions):
        self.tx = tx

    def call_next(self, counter: int, clerk: int | None = None) -> dict:
        """Call the next ticket for ``counter`` under the priority policy."""
        with self.tx.change() as change:
            desk = records.open_counter(change, counter)
            self._release_current(change, desk, clerk)
            chosen = policy.pick(lanes.lanes(change, counter), desk["select_mode"], change.now)
            if chosen is None:
                raise errors.NothingWaiting(number=counter)
            lane, head = chosen
            return self._call(change, desk, records.ticket(change, head.id), clerk, lane)

    def call_number(self, counter: int, number: str, clerk: int | None = None,
                    queue: str | None = None) -> dict:
        """Call a specific waiting number out of order (or a no-show who came back)."""
        with self.tx.change() as change:
            desk = records.open_counter(change, counter)
            ticket = records.ticket_by_number(change, number, queue, served_by=counter)
            if ticket["status"] == "no_show":
                ticket = self._reactivate(change, ticket, counter, clerk)
            if ticket["status"] != "waiting":
                raise _refuse(ticket, "call")
            if ticket["target_counter"] not in (None, counter) or (
                    ticket["target_counter"] is None
                    and ticket["queue_code"] not in records.served_queues(change, counter)):
                raise errors.NotServedHere(number=ticket["number"], counter=counter)
            self._release_current(change, desk, clerk)
            lane = lanes.lane_of(change, counter, ticket)
            return self._call(change, desk, ticket, clerk, lane, out_of_order=True)

    def recall(self, counter: int, clerk: int | None = None) -> dict:
        """Call the current ticket again (the board flashes and speaks it again)."""
        with self.tx.change() as change:
            desk = records.counter(change, counter)
            ticket = records.current_ticket(change, desk)
            change.run("UPDATE tickets SET recalls = recalls + 1 WHERE id = ?", (ticket["id"],))
            ticket = records.ticket(change, ticket["id"])
            change.log(EventKind.RECALLED, ticket=ticket, counter=counter, clerk=clerk,
                       counter_name=desk["name"], recalls=ticket["recalls"])
            return view(change, ticket)

    def no_show(self, counter: int, clerk: int | None = None) -> dict:
        """Mark the current ticket as not present; the counter is free again."""
        with self.tx.change() as change:
            desk = records.counter(change, counter)
            ticket = records.current_ticket(change, desk)
            return view(change, self._close(change, desk, ticket, "no_show", None, clerk))

    def finish(self, counter: int, outcome: str | None = None, clerk: int | None = None,
               dossiers=()) -> dict:
        """Close the current ticket as served, with an outcome from the hall's list and the
        codes of the dossiers received for it (recorded with it, in the same change)."""
        outcomes = self.tx.rules.outcomes
        outcome = outcomes[0] if outcome is None else outcome
        if outcome not in outcomes:
            raise errors.not_one_of("outcome", outcome, outcomes)
        codes = dossier_codes(dossiers)
        with self.tx.change() as change:
            desk = records.counter(change, counter)
            ticket = records.current_ticket(change, desk)
            for code in codes:
                change.run("INSERT INTO dossiers (ticket_id, code, day, at, counter_number,"
                           " clerk_id) VALUES (?, ?, ?, ?, ?, ?)",
                           (ticket["id"], code, change.day, change.now, counter, clerk))
            closed = self._close(change, desk, ticket, "done", outcome, clerk, dossiers=codes)
            return {**view(change, closed), "dossiers": codes}

    def reactivate(self, number: str, clerk: int | None = None, queue: str | None = None) -> dict:
        """Put a no-show of today back in its queue, in its original place."""
        with self.tx.change() as change:
            ticket = records.ticket_by_number(change, number, queue)
            return view(change, self._reactivate(change, ticket, None, clerk))

    def transfer(self, counter: int, *, queue: str | None = None, to_counter: int | None = None,
                 clerk: int | None = None) -> dict:
        """Send the current ticket to another queue or to a named counter; it waits there."""
        if (queue is None) == (to_counter is None):
            raise errors.InvalidInput(errors.N_("Hãy chọn đúng một nơi chuyển đến: một hàng đợi"
                                                " (queue) hoặc một quầy (counter)."))
        if queue is not None and not isinstance(queue, str):
            raise errors.InvalidInput(field="queue")
        with self.tx.change() as change:
            desk = records.counter(change, counter)
            ticket = records.current_ticket(change, desk)
            target_queue, target_counter = ticket["queue_code"], None
            if queue is not None:
                row = records.queue(change, queue)
                if not change.one("SELECT 1 FROM counter_queues WHERE queue_code = ?", (queue,)):
                    raise errors.NoCounterServes(queue=row["name"])
                target_queue = queue
            else:
                if to_counter == counter:
                    raise errors.InvalidInput(errors.N_("Không thể chuyển về chính quầy này."))
                target_counter = records.counter(change, to_counter)["number"]
            order_at = ticket["order_at"] if change.rules.transfer_keeps_time else change.now
            change.run(
                "UPDATE tickets SET status = 'waiting', queue_code = ?, target_counter = ?,"
                " order_at = ?, transfers = transfers + 1, counter_number = NULL,"
                " called_at = NULL WHERE id = ?",
                (target_queue, target_counter, order_at, ticket["id"]))
            change.run("UPDATE counters SET current_ticket_id = NULL WHERE number = ?",
                       (counter,))
            moved = records.ticket(change, ticket["id"])
            change.log(EventKind.TRANSFERRED, ticket=moved, counter=counter, clerk=clerk,
                       from_queue=ticket["queue_code"], to_queue=target_queue,
                       to_counter=target_counter,
                       served_seconds=_since(ticket["called_at"], change.now))
            return view(change, moved)

    def cancel(self, number: str, clerk: int | None = None, queue: str | None = None,
               reason: str = "") -> dict:
        """Withdraw a waiting ticket of today (for example one that never printed)."""
        with self.tx.change() as change:
            ticket = records.ticket_by_number(change, number, queue)
            if ticket["status"] != "waiting":
                raise _refuse(ticket, "cancel")
            change.run("UPDATE tickets SET status = 'cancelled', finished_at = ? WHERE id = ?",
                       (change.now, ticket["id"]))
            ticket = records.ticket(change, ticket["id"])
            change.log(EventKind.CANCELLED, ticket=ticket, clerk=clerk, reason=reason[:200])
            return view(change, ticket)

    # -- the steps the commands share ----------------------------------------------------------

    def _reactivate(self, change: Change, ticket, counter, clerk):
        if ticket["status"] != "no_show":
            raise _refuse(ticket, "reactivate")
        change.run("UPDATE tickets SET status = 'waiting', counter_number = NULL,"
                   " called_at = NULL, finished_at = NULL WHERE id = ?", (ticket["id"],))
        ticket = records.ticket(change, ticket["id"])
        change.log(EventKind.REACTIVATED, ticket=ticket, counter=counter, clerk=clerk)
        return ticket

    def _release_current(self, change: Change, desk, clerk) -> None:
        """Before a new call: finish the ticket being served, or refuse, per the rules."""
        if desk["current_ticket_id"] is None:
            return
        current = records.ticket(change, desk["current_ticket_id"])
        if current["status"] != "called":
            change.run("UPDATE counters SET current_ticket_id = NULL WHERE number = ?",
                       (desk["number"],))
            return
        if not change.rules.next_finishes_current:
            raise errors.CounterBusy(number=desk["number"], ticket=current["number"])
        self._close(change, desk, current, "done", change.rules.outcomes[0], clerk, auto=True)

    def _close(self, change: Change, desk, ticket, status, outcome, clerk, auto=False,
               dossiers: list[str] | None = None):
        change.run("UPDATE tickets SET status = ?, outcome = ?, finished_at = ? WHERE id = ?",
                   (status, outcome, change.now, ticket["id"]))
        change.run("UPDATE counters SET current_ticket_id = NULL WHERE number = ?",
                   (desk["number"],))
        closed = records.ticket(change, ticket["id"])
        kind = EventKind.FINISHED if status == "done" else EventKind.NO_SHOW
        extra = {"outcome": outcome, "auto": True} if auto else {"outcome": outcome}
        if kind == EventKind.FINISHED:  # reports count the dossiers from this list
            extra["dossiers"] = dossiers or []
        change.log(kind, ticket=closed, counter=desk["number"], clerk=clerk,
                   counter_name=desk["name"],
                   served_seconds=_since(ticket["called_at"], change.now), **extra)
        return closed

    def _call(self, change: Change, desk, ticket, clerk, lane, out_of_order=False) -> dict:
        counter = desk["number"]
        change.run(
            "UPDATE tickets SET status = 'called', counter_number = ?, target_counter = NULL,"
            " called_at = ?, clerk_id = ? WHERE id = ?", (counter, change.now, clerk,
                                                            ticket["id"]))
        change.run("UPDATE counters SET current_ticket_id = ? WHERE number = ?",
                   (ticket["id"], counter))
        lanes.record_call(change, lane, policy.Waiting(ticket["id"], ticket["order_at"],
                                                       ticket["priority"] is not None))
        called = records.ticket(change, ticket["id"])
        change.log(EventKind.CALLED, ticket=called, counter=counter, clerk=clerk,
                   counter_name=desk["name"],
                   waited_seconds=_since(ticket["order_at"], change.now),
                   out_of_order=out_of_order)
        return view(change, called, desk=desk)
