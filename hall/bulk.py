"""Acting on many tickets at once: select today's waiting tickets (by queue, counter, procedure,
priority, issue time or by number), then move, cancel, re-activate, reprint them, close a
counter and hand its tickets on, or close the day early.

Every action is planned first (``plan``: what would change, ticket by ticket, changing nothing)
and applied in one change (``apply``): the same selection is read again inside the
``BEGIN IMMEDIATE`` transaction and must be the one the person saw (its ``fingerprint``), so a
confirmation never applies to tickets nobody previewed. Each ticket logs the event boards and
counters already follow, and one ``bulk_applied`` event records who did what, to how many.

A day closed early is a row of ``closed_days``: ``numbering.next_seq`` refuses every ticket of
that business day (the kiosks say why) until staff ``reopen_day``; the next day is open by
itself, and a restart changes nothing.
"""

import hashlib
from dataclasses import dataclass, field, replace

from . import errors, records
from .events import EventKind
from .rules import PRIORITY_REASONS, parse_hhmm
from .transaction import Change, Reading, Transactions
from .words import N_

ACTIONS = ("move", "cancel", "reactivate", "reprint", "close_counter", "close_day",
           "reopen_day")
FILTER_KEYS = ("queue", "counter", "procedure", "priority", "issued_from", "issued_until",
               "tickets")
# "priority" filter: any priority reason, none, or one reason of rules.PRIORITY_REASONS.
ANY_PRIORITY, NO_PRIORITY = "any", "none"
MAX_REASON = 200
MAX_TICKETS = 5000


REASON_NEEDED = N_("Hãy nêu lý do (reason).")
ONE_TARGET = N_("Hãy chọn đúng một nơi chuyển đến: một hàng đợi (to_queue) hoặc một quầy"
                " (to_counter).")
SAME_PLACE = N_("Các vé đã ở nơi chuyển đến.")


@dataclass(frozen=True)
class Selection:
    """Which tickets an action is for; every given criterion must hold (``tickets``: printed
    numbers, chosen by hand)."""

    queue: str | None = None
    counter: int | None = None
    procedure: str | None = None
    priority: str | None = None
    issued_from: str | None = None
    issued_until: str | None = None
    tickets: tuple[str, ...] = ()

    @classmethod
    def of(cls, given: dict | None) -> "Selection":
        """A selection from JSON-like data, each value checked."""
        given = given or {}
        if not isinstance(given, dict):
            raise errors.InvalidInput(field="filter")
        extra = sorted(set(given) - set(FILTER_KEYS))
        if extra:
            raise errors.InvalidInput(errors.InvalidInput.UNEXPECTED, fields=", ".join(extra))
        values = {k: v for k, v in given.items() if v not in (None, "", [])}
        for key in ("queue", "procedure"):
            if key in values and not isinstance(values[key], str):
                raise errors.InvalidInput(errors.InvalidInput.NOT_TEXT, field=key)
        if "counter" in values and not records.is_counter_number(values["counter"]):
            raise errors.InvalidInput(field="counter")
        priority = values.get("priority")
        choices = (ANY_PRIORITY, NO_PRIORITY, *PRIORITY_REASONS)
        if priority is not None and priority not in choices:
            raise errors.not_one_of("priority", priority, choices)
        for key in ("issued_from", "issued_until"):
            if key in values:
                if not isinstance(values[key], str):
                    raise errors.InvalidInput(errors.InvalidInput.NOT_TEXT, field=key)
                parse_hhmm(values[key], key)
        numbers = values.get("tickets", [])
        if not isinstance(numbers, list) or len(numbers) > MAX_TICKETS or not all(
                isinstance(n, str) and n.strip() for n in numbers):
            raise errors.InvalidInput(errors.InvalidInput.NOT_LIST, field="tickets")
        values["tickets"] = tuple(dict.fromkeys(n.strip().upper() for n in numbers))
        return cls(**values)

    def as_dict(self) -> dict:
        """The criteria given (for the audit log and the answer)."""
        out = {k: getattr(self, k) for k in FILTER_KEYS if getattr(self, k)}
        if self.tickets:
            out["tickets"] = list(self.tickets)
        return out


@dataclass
class Plan:
    """What an action does: each ticket's change, and the fingerprint a confirmation carries."""

    action: str
    selection: Selection
    to: dict
    reason: str
    changes: list[dict] = field(default_factory=list)
    applied: bool = False
    rows: dict = field(default_factory=dict, repr=False)  # id -> the ticket row, as selected

    @property
    def fingerprint(self) -> str:
        """What a confirmation must match: the action, destination, reason and tickets."""
        ids = ",".join(str(c["id"]) for c in self.changes)
        text = f"{self.action}|{sorted(self.to.items())}|{self.reason}|{ids}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def as_dict(self) -> dict:
        """The plan as JSON-ready data."""
        return {"action": self.action, "filter": self.selection.as_dict(), "to": self.to,
                "reason": self.reason, "count": len(self.changes), "tickets": self.changes,
                "fingerprint": self.fingerprint, "dry_run": not self.applied,
                "applied": self.applied}


def _place(ticket) -> str:
    """Where a ticket waits, as the preview says it: a queue code or ``counter N``."""
    if ticket["target_counter"] is not None:
        return f"counter {ticket['target_counter']}"
    return ticket["queue_code"]


class Bulk:
    """Bulk actions on today's tickets."""

    def __init__(self, tx: Transactions):
        self.tx = tx

    def plan(self, action: str, selection: dict | Selection | None = None, *,
             to_queue=None, to_counter=None, reason: str = "") -> dict:
        """What ``action`` would change now, ticket by ticket; changes nothing."""
        selection, reason = self._check(action, selection, to_queue, to_counter, reason)
        with self.tx.reading() as reading:
            return self._plan(reading, action, selection, to_queue, to_counter,
                              reason).as_dict()

    def apply(self, action: str, selection: dict | Selection | None = None, *,
              to_queue=None, to_counter=None, reason: str = "", clerk: int | None = None,
              expect: str | list | None = None) -> dict:
        """Do ``action`` in one change; ``expect`` (a plan's fingerprint or its ticket ids)
        refuses it when the selection is no longer the one previewed."""
        selection, reason = self._check(action, selection, to_queue, to_counter, reason)
        with self.tx.change() as change:
            plan = self._plan(change, action, selection, to_queue, to_counter, reason)
            _expect(plan, expect)
            getattr(self, f"_{action}")(change, plan, clerk)
            change.log(EventKind.BULK_APPLIED, clerk=clerk, action=action,
                       filter=selection.as_dict(), count=len(plan.changes), reason=reason,
                       to=plan.to, tickets=[c["number"] for c in plan.changes])
            plan.applied = True
            return plan.as_dict()

    def day_closed(self) -> dict | None:
        """Whether issuing stopped early today: when, by whom, why (None when open)."""
        with self.tx.reading() as reading:
            row = reading.one("SELECT * FROM closed_days WHERE day = ?", (reading.day,))
            return None if row is None else dict(row)

    def open_tickets(self, limit: int = 1000) -> list[dict]:
        """Today's waiting tickets and no-shows, in waiting order (what staff pick by hand)."""
        with self.tx.reading() as reading:
            rows = reading.all(
                "SELECT id, number, queue_code, procedure_code, priority, target_counter,"
                " status, issued_at FROM tickets WHERE day = ? AND status IN"
                " ('waiting', 'no_show') ORDER BY status DESC, order_at, id LIMIT ?",
                (reading.day, limit))
            local = reading.rules.local
            return [{**dict(r), "issued": local(r["issued_at"]).strftime("%H:%M")}
                    for r in rows]

    def token_of(self, ticket_id: int) -> str:
        """The holder's token of a ticket (what its printed sheet is found by)."""
        with self.tx.reading() as reading:
            return records.ticket(reading, ticket_id)["token"]

    # -- checks and the plan -------------------------------------------------------------------

    @staticmethod
    def _check(action, selection, to_queue, to_counter, reason) -> tuple[Selection, str]:
        if action not in ACTIONS:
            raise errors.not_one_of("action", action, ACTIONS)
        if not isinstance(selection, Selection):
            selection = Selection.of(selection)
        if not isinstance(reason, str):
            raise errors.InvalidInput(errors.InvalidInput.NOT_TEXT, field="reason")
        reason = reason.strip()
        if len(reason) > MAX_REASON:
            raise errors.InvalidInput(errors.InvalidInput.TOO_LONG, field="reason",
                                      limit=MAX_REASON)
        if action in ("cancel", "close_day") and not reason:
            raise errors.InvalidInput(REASON_NEEDED, field="reason")
        if to_queue is not None and not isinstance(to_queue, str):
            raise errors.InvalidInput(errors.InvalidInput.NOT_TEXT, field="to_queue")
        if to_counter is not None and not records.is_counter_number(to_counter):
            raise errors.InvalidInput(field="to_counter")
        if action == "move" and (to_queue is None) == (to_counter is None):
            raise errors.InvalidInput(ONE_TARGET, field="to_queue")
        if action == "close_counter":
            if selection.counter is None:
                raise errors.InvalidInput(errors.InvalidInput.MISSING, fields="counter")
            if to_queue is not None and to_counter is not None:
                raise errors.InvalidInput(ONE_TARGET, field="to_queue")
        elif action not in ("move",) and (to_queue is not None or to_counter is not None):
            raise errors.InvalidInput(errors.InvalidInput.UNEXPECTED,
                                      fields="to_queue, to_counter")
        if action in ("close_day", "reopen_day") and selection.as_dict():
            raise errors.InvalidInput(errors.InvalidInput.UNEXPECTED, fields="filter")
        return selection, reason

    def _plan(self, reading: Reading, action, selection: Selection, to_queue, to_counter,
              reason) -> Plan:
        to = {}
        if to_queue is not None:
            queue = records.queue(reading, to_queue)
            if not reading.one("SELECT 1 FROM counter_queues cq JOIN counters c"
                               " ON c.number = cq.counter_number WHERE cq.queue_code = ?"
                               " AND c.active AND c.status != 'closed'"
                               " AND c.number IS NOT ?", (to_queue, selection.counter
                                                          if action == "close_counter"
                                                          else None)):
                raise errors.NoCounterServes(queue=queue["name"])
            to = {"queue": to_queue}
        if to_counter is not None:
            desk = records.counter(reading, to_counter)
            if desk["status"] == "closed" or not desk["active"] or (
                    action == "close_counter" and to_counter == selection.counter):
                raise errors.CounterClosed(number=to_counter)
            to = {"counter": to_counter}
        plan = Plan(action, selection, to, reason)
        if action == "reopen_day":
            if not reading.one("SELECT 1 FROM closed_days WHERE day = ?", (reading.day,)):
                raise errors.DayOpen()
            return plan
        if action == "close_day" and reading.one("SELECT 1 FROM closed_days WHERE day = ?",
                                                 (reading.day,)):
            raise errors.DayClosed(reason=reason)
        if action == "close_counter":
            desk = records.counter(reading, selection.counter)
            if desk["status"] == "closed":
                raise errors.CounterClosed(number=selection.counter)
            if desk["current_ticket_id"] is not None:
                current = records.ticket(reading, desk["current_ticket_id"])
                raise errors.CounterBusy(number=desk["number"], ticket=current["number"])
        if action == "close_counter":
            rows = _counter_tickets(reading, selection, to)
        else:
            rows = _select(reading, selection,
                           "no_show" if action == "reactivate" else "waiting")
        if not rows and action not in ("close_day", "close_counter"):
            raise errors.EmptySelection()
        plan.rows = {row["id"]: row for row in rows}
        for row in rows:
            plan.changes.append({"id": row["id"], "number": row["number"],
                                 "from": _place(row) if action != "reactivate" else "no_show",
                                 "to": self._destination(action, row, to)})
        if action == "move":
            # Those already there are left alone (no transfer counted, no event).
            plan.changes = [c for c in plan.changes if c["from"] != c["to"]]
            if not plan.changes:
                raise errors.InvalidInput(SAME_PLACE, field="to_queue")
        if action == "reprint":
            kiosks = {r["id"]: r["kiosk_id"] for r in rows}
            missing = [c["number"] for c in plan.changes if not kiosks[c["id"]]]
            if missing:
                raise errors.NoPrinterFor(numbers=", ".join(missing))
        return plan

    @staticmethod
    def _destination(action, row, to) -> str | None:
        if action in ("move", "close_counter"):
            if "counter" in to:
                return f"counter {to['counter']}"
            return to.get("queue", row["queue_code"])
        if action == "reactivate":
            return row["queue_code"] if row["target_counter"] is None \
                else f"counter {row['target_counter']}"
        if action == "reprint":
            return f"printer {row['kiosk_id']}"
        return "cancelled"

    # -- the actions, inside the change --------------------------------------------------------

    def _move(self, change: Change, plan: Plan, clerk) -> None:
        to_queue, to_counter = plan.to.get("queue"), plan.to.get("counter")
        # Kept in their order: their own times, or (when a transfer goes to the end) the same
        # "now" spread by a microsecond each, in the order they had.
        keep = change.rules.transfer_keeps_time
        for i, c in enumerate(plan.changes):
            # Read in this change (the plan's rows): the event is built from them rather than
            # read back, a read per ticket less.
            before = plan.rows[c["id"]]
            moved = {**dict(before), "queue_code": to_queue or before["queue_code"],
                     "target_counter": to_counter,
                     "order_at": before["order_at"] if keep else change.now + i * 1e-6}
            change.run("UPDATE tickets SET queue_code = ?, target_counter = ?, order_at = ?,"
                       " transfers = transfers + 1 WHERE id = ?",
                       (moved["queue_code"], to_counter, moved["order_at"], c["id"]))
            change.log(EventKind.TRANSFERRED, ticket=moved, clerk=clerk,
                       from_queue=before["queue_code"], to_queue=moved["queue_code"],
                       to_counter=to_counter, from_counter=before["target_counter"], bulk=True)

    def _close_counter(self, change: Change, plan: Plan, clerk) -> None:
        number = plan.selection.counter
        desk = records.counter(change, number)
        self._move(change, plan, clerk)
        change.run("UPDATE counters SET status = 'closed' WHERE number = ?", (number,))
        change.log(EventKind.COUNTER_CLOSED, counter=number, clerk=clerk,
                   counter_name=desk["name"], status="closed", previous=desk["status"],
                   bulk=True)

    def _cancel(self, change: Change, plan: Plan, clerk) -> None:
        for c in plan.changes:
            change.run("UPDATE tickets SET status = 'cancelled', finished_at = ? WHERE id = ?",
                       (change.now, c["id"]))
            change.log(EventKind.CANCELLED, ticket={**dict(plan.rows[c["id"]]),
                                                    "status": "cancelled"},
                       clerk=clerk, reason=plan.reason, bulk=True)

    def _reactivate(self, change: Change, plan: Plan, clerk) -> None:
        for c in plan.changes:
            # Back in its original place: its order time is left as it was.
            change.run("UPDATE tickets SET status = 'waiting', counter_number = NULL,"
                       " called_at = NULL, finished_at = NULL WHERE id = ?", (c["id"],))
            change.log(EventKind.REACTIVATED, ticket={**dict(plan.rows[c["id"]]),
                                                      "status": "waiting"},
                       clerk=clerk, bulk=True)

    def _reprint(self, change: Change, plan: Plan, clerk) -> None:
        # The application layer prints once this commits; a restart before the printer
        # answers finds these expected and flags them (as for a ticket just issued).
        ids = [c["id"] for c in plan.changes]
        change.run(f"UPDATE tickets SET print_expected = 1 WHERE id IN"
                   f" ({','.join('?' * len(ids))})", ids)

    def _close_day(self, change: Change, plan: Plan, clerk) -> None:
        self._cancel(change, plan, clerk)
        change.run("INSERT INTO closed_days (day, at, clerk_id, reason) VALUES (?, ?, ?, ?)",
                   (change.day, change.now, clerk, plan.reason))

    def _reopen_day(self, change: Change, plan: Plan, clerk) -> None:
        change.run("DELETE FROM closed_days WHERE day = ?", (change.day,))


def _expect(plan: Plan, expect) -> None:
    """Refuse a confirmation whose previewed selection is not the one found now."""
    if expect is None:
        return
    if isinstance(expect, str):
        if expect != plan.fingerprint:
            raise errors.SelectionChanged(now=len(plan.changes))
        return
    if not isinstance(expect, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in expect):
        raise errors.InvalidInput(errors.InvalidInput.NOT_LIST, field="expect")
    if sorted(expect) != sorted(c["id"] for c in plan.changes):
        raise errors.SelectionChanged(now=len(plan.changes))


def _select(reading: Reading, selection: Selection, status: str) -> list:
    """Today's tickets of ``status`` that meet every criterion, in their waiting order."""
    sql = "SELECT * FROM tickets WHERE day = ? AND status = ?"
    args: list = [reading.day, status]
    if selection.queue is not None:
        records.queue(reading, selection.queue)
        sql += " AND queue_code = ?"
        args.append(selection.queue)
    if selection.counter is not None:
        records.counter(reading, selection.counter)
        sql += " AND target_counter = ?"
        args.append(selection.counter)
    if selection.procedure is not None:
        if not reading.one("SELECT 1 FROM procedures WHERE code = ?", (selection.procedure,)):
            raise errors.UnknownProcedure(code=selection.procedure)
        sql += " AND procedure_code = ?"
        args.append(selection.procedure)
    if selection.priority == ANY_PRIORITY:
        sql += " AND priority IS NOT NULL"
    elif selection.priority == NO_PRIORITY:
        sql += " AND priority IS NULL"
    elif selection.priority is not None:
        sql += " AND priority = ?"
        args.append(selection.priority)
    if selection.tickets:
        sql += f" AND number IN ({','.join('?' * len(selection.tickets))})"
        args.extend(selection.tickets)
    rows = reading.all(sql + " ORDER BY order_at, id", args)
    if selection.tickets:
        found = {r["number"] for r in rows}
        missing = [n for n in selection.tickets if n not in found]
        if missing:
            raise errors.NotSelectable(numbers=", ".join(missing))
    if selection.issued_from or selection.issued_until:
        low = _minute(selection.issued_from or "00:00", "issued_from")
        high = _minute(selection.issued_until or "23:59", "issued_until")
        local = reading.rules.local
        rows = [r for r in rows
                if low <= (t := local(r["issued_at"])).hour * 60 + t.minute <= high]
    return rows


def _counter_tickets(reading: Reading, selection: Selection, to: dict) -> list:
    """What a closing counter hands on: the tickets sent to it by name, and those of the queues
    no other open counter serves (nobody would call them once it closes)."""
    number = selection.counter
    alone = [q for q in records.served_queues(reading, number) if not reading.one(
        "SELECT 1 FROM counter_queues cq JOIN counters c ON c.number = cq.counter_number"
        " WHERE cq.queue_code = ? AND c.number != ? AND c.active AND c.status != 'closed'",
        (q, number))]
    rows = [r for r in _select(reading, replace(selection, counter=None), "waiting")
            if r["target_counter"] == number
            or (r["target_counter"] is None and r["queue_code"] in alone)]
    stranded = [r for r in rows if r["target_counter"] is None]
    if stranded and not to:
        # Left in their queue they would wait for nobody: a place to send them is needed.
        raise errors.NoCounterServes(queue=records.queue(reading,
                                                         stranded[0]["queue_code"])["name"])
    return rows


def _minute(hhmm: str, name: str) -> int:
    hour, minute = parse_hhmm(hhmm, name)
    return hour * 60 + minute
