"""The life of a ticket: issue, call, recall, no-show, transfer, finish; counters pause and resume.

Every change runs in one ``BEGIN IMMEDIATE`` transaction that also appends to the event log, so
a number handed out is on disk with its event before anyone sees it, and two kiosks or two
counters acting at once are serialised by SQLite itself.
"""

import json
import math
import secrets
import sqlite3
import time
from collections.abc import Callable

from . import errors, events, numbering, policy
from .errors import N_
from .rules import PRIORITY_REASONS, Rules, parse_hhmm
from .store import Store

OPEN_STATUSES = ("waiting", "called")
STATUS_WORDS = {
    "waiting": N_("đang chờ"), "called": N_("đã gọi"), "done": N_("đã xong"),
    "no_show": N_("vắng mặt"), "cancelled": N_("đã hủy"), "expired": N_("hết hạn"),
}


def _heads(origins: tuple[str, ...]) -> str:
    """The heads of a lane: for each class (priority, normal) and each origin (the queue's own
    tickets, those sent to the counter by name) the oldest waiting ticket, each part one ordered
    index lookup."""
    return " UNION ALL ".join(
        "SELECT * FROM (SELECT id, order_at, priority FROM tickets WHERE queue_code = :queue"
        f" AND day = :day AND status = 'waiting' AND priority IS {klass}"
        f" AND target_counter {origin} ORDER BY order_at, id LIMIT 1)"
        for klass in ("NOT NULL", "NULL") for origin in origins)


_HEADS = _heads(("IS NULL", "= :counter"))  # a queue the counter serves
_HEADS_SENT = _heads(("= :counter",))  # another queue: only what was sent to this counter


class Tickets:
    """The queue rules of one hall over its store: plain Python, no web and no hardware."""

    def __init__(self, store: Store, rules: Rules | None = None,
                 clock: Callable[[], float] = time.time):
        self.store = store
        self.rules = rules or Rules()
        self.clock = clock
        self._rolled_day: str | None = None

    # -- helpers -----------------------------------------------------------------------------

    def today(self) -> str:
        """The current business day."""
        return self.rules.business_day(self.clock())

    def _log(self, conn: sqlite3.Connection, kind: str, *, ticket: sqlite3.Row | None = None,
             counter: int | None = None, clerk: int | None = None, now: float, **data) -> int:
        """Append one event; returns its id."""
        if ticket is not None:
            data = {"number": ticket["number"], "queue": ticket["queue_code"],
                    "procedure": ticket["procedure_code"], "priority": ticket["priority"],
                    "status": ticket["status"], **data}
        return events.append(
            conn, self.rules.business_day(now), now, kind,
            ticket=ticket["id"] if ticket else None, counter=counter, clerk=clerk,
            queue=ticket["queue_code"] if ticket else data.get("queue"), data=data)

    def roll_over(self, conn: sqlite3.Connection, now: float) -> int:
        """Close the open tickets of earlier business days as expired (never deleted)."""
        day = self.rules.business_day(now)
        if self._rolled_day == day:
            return 0
        stale = conn.execute(
            "SELECT * FROM tickets WHERE day < ? AND status IN ('waiting', 'called')", (day,)
        ).fetchall()
        for ticket in stale:
            conn.execute("UPDATE tickets SET status = 'expired', finished_at = ? WHERE id = ?",
                         (now, ticket["id"]))
            self._log(conn, "expired", ticket=_with(ticket, status="expired"), now=now,
                      previous=ticket["status"])
        conn.execute(
            "UPDATE counters SET current_ticket_id = NULL WHERE current_ticket_id IN "
            "(SELECT id FROM tickets WHERE day < ?)", (day,))
        # Remember the day only once there is nothing left to do: when this transaction expired
        # tickets and is then rolled back (any refused action), the next one must do it again.
        if not stale:
            self._rolled_day = day
        return len(stale)

    def _write(self):
        return self.store.write()

    # -- citizens ----------------------------------------------------------------------------

    def issue(self, procedure: str, *, priority: str | None = None, kiosk: str | None = None,
              request_key: str | None = None) -> dict:
        """Give a citizen the next number of the procedure's queue; idempotent by request key."""
        if not isinstance(procedure, str) or not procedure.strip():
            raise errors.InvalidInput(detail="procedure")
        if priority is not None and priority not in PRIORITY_REASONS:
            raise errors.InvalidInput(detail=f"priority = {priority!r}; dùng một trong "
                                      + ", ".join(PRIORITY_REASONS))
        if kiosk is not None and not isinstance(kiosk, str):
            raise errors.InvalidInput(detail="kiosk")
        if request_key is not None and (not isinstance(request_key, str)
                                        or not 1 <= len(request_key) <= 200):
            raise errors.InvalidInput(detail="Idempotency-Key")
        with self._write() as conn:
            now = self.clock()
            self.roll_over(conn, now)
            if request_key is not None:
                earlier = conn.execute("SELECT * FROM tickets WHERE request_key = ?",
                                       (request_key,)).fetchone()
                if earlier is not None:
                    if earlier["procedure_code"] != procedure or earlier["priority"] != priority:
                        raise errors.DuplicateRequest(key=request_key)
                    return self._view(conn, earlier, now)
            # The procedure's queue, with what the procedure adds, in one query.
            queue = conn.execute(
                "SELECT q.*, p.active AS procedure_active, p.name AS procedure_name"
                " FROM procedures p JOIN queues q ON q.code = p.queue_code WHERE p.code = ?",
                (procedure,)).fetchone()
            if queue is None:
                raise errors.UnknownProcedure(code=procedure)
            if not queue["procedure_active"] or not queue["active"]:
                raise errors.InactiveProcedure(code=procedure)
            if kiosk is not None and not conn.execute(
                    "SELECT 1 FROM kiosks WHERE id = ? AND active", (kiosk,)).fetchone():
                raise errors.UnknownKiosk(kiosk=kiosk)
            day = self.rules.business_day(now)
            seq = self._next_seq(conn, queue, now, day)
            number = numbering.label(queue["number_format"], seq, prefix=queue["prefix"],
                                     digits=queue["digits"], block=queue["block"])
            cur = conn.execute(
                "INSERT INTO tickets (day, issued_queue, seq, number, queue_code, procedure_code,"
                " priority, issued_at, order_at, kiosk_id, token, request_key)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (day, queue["code"], seq, number, queue["code"], procedure, priority, now, now,
                 kiosk, secrets.token_urlsafe(16), request_key))
            ticket = self._ticket(conn, cur.lastrowid)
            self._log(conn, "issued", ticket=ticket, now=now, kiosk=kiosk)
            return self._view(conn, ticket, now, queue=queue,
                              procedure={"code": procedure, "name": queue["procedure_name"]})

    def availability(self) -> dict[str, dict]:
        """Per active queue: whether a ticket can be issued now (else the error that says why
        and when to come back) and how many wait; kiosks grey out what would be refused."""
        with self.store.read() as conn:
            now = self.clock()
            day = self.rules.business_day(now)
            out = {}
            for queue in conn.execute("SELECT * FROM queues WHERE active").fetchall():
                waiting = conn.execute(
                    "SELECT count(*) FROM tickets WHERE queue_code = ? AND day = ?"
                    " AND status = 'waiting'", (queue["code"], day)).fetchone()[0]
                refusal = None
                try:
                    self._next_seq(conn, queue, now, day)
                except errors.HallError as exc:
                    refusal = exc
                out[queue["code"]] = {"refusal": refusal, "waiting": waiting}
            return out

    def _next_seq(self, conn, queue: sqlite3.Row, now: float, day: str) -> int:
        """The sequence number the queue's next ticket would get, or the refusal that says why
        there is none (issuing hours, no counter serving it, the day's numbers used up)."""
        self._check_issuing_hours(queue, now)
        if not conn.execute("SELECT 1 FROM counter_queues WHERE queue_code = ?",
                            (queue["code"],)).fetchone():
            raise errors.NoCounterServes(queue=queue["name"])
        seq = conn.execute(
            "SELECT coalesce(max(seq), 0) + 1 FROM tickets WHERE day = ? AND issued_queue = ?",
            (day, queue["code"])).fetchone()[0]
        limits = [x for x in (queue["daily_limit"], numbering.capacity(queue["number_format"]))
                  if x]
        if limits and seq > min(limits):
            raise errors.DailyLimitReached(queue=queue["name"], limit=min(limits))
        return seq

    def _check_issuing_hours(self, queue: sqlite3.Row, now: float) -> None:
        if not queue["issue_from"] and not queue["issue_until"]:
            return
        opens = queue["issue_from"] or "00:00"
        closes = queue["issue_until"] or "23:59"
        clock = self.rules.local(now)
        minute = clock.hour * 60 + clock.minute
        h1, m1 = parse_hhmm(opens, "issue_from")
        h2, m2 = parse_hhmm(closes, "issue_until")
        if minute < h1 * 60 + m1:
            raise errors.QueueClosed(errors.QueueClosed.not_yet, queue=queue["name"],
                                     opens=opens, closes=closes)
        if minute >= h2 * 60 + m2:
            raise errors.QueueClosed(errors.QueueClosed.over, queue=queue["name"], opens=opens,
                                     closes=closes)

    def ticket(self, token: str) -> dict:
        """A ticket as its holder sees it now, found by its unguessable token."""
        with self.store.read() as conn:
            row = conn.execute("SELECT * FROM tickets WHERE token = ?", (token,)).fetchone()
            if row is None:
                raise errors.NotFound()
            return self._view(conn, row, self.clock())

    def by_request_key(self, key: str) -> dict | None:
        """The ticket an earlier request with this idempotency key issued, if any."""
        with self.store.read() as conn:
            row = conn.execute("SELECT * FROM tickets WHERE request_key = ?", (key,)).fetchone()
            return None if row is None else self._view(conn, row, self.clock())

    def find(self, number: str, queue: str | None = None, day: str | None = None) -> dict:
        """A ticket of the day by its printed number (and queue, when formats overlap)."""
        with self.store.read() as conn:
            row = self._by_number(conn, number, queue, day or self.today())
            return self._view(conn, row, self.clock())

    # -- printing ----------------------------------------------------------------------------

    def sheet(self, token: str) -> dict:
        """What a printed ticket says: the holder's view plus field, counters and issue time."""
        with self.store.read() as conn:
            row = conn.execute("SELECT * FROM tickets WHERE token = ?", (token,)).fetchone()
            if row is None:
                raise errors.NotFound()
            view = self._view(conn, row, self.clock())
            field = conn.execute(
                "SELECT f.name FROM procedures p JOIN fields f ON f.id = p.field_id"
                " WHERE p.code = ?", (row["procedure_code"],)).fetchone()
            # Where the holder will be called: the named counter, else those serving the queue.
            if row["target_counter"] is not None:
                desks = conn.execute("SELECT name FROM counters WHERE number = ?",
                                     (row["target_counter"],)).fetchall()
            else:
                desks = conn.execute(
                    "SELECT c.name FROM counter_queues cq JOIN counters c"
                    " ON c.number = cq.counter_number WHERE cq.queue_code = ?"
                    " AND c.status != 'closed' ORDER BY c.number", (row["queue_code"],)).fetchall()
            view["field"] = field["name"] if field else None
            view["counters"] = [d["name"] for d in desks]
            view["issued_ts"] = row["issued_at"]
            view["issued_queue"] = row["issued_queue"]
            view["print_error"] = row["print_error"]
            return view

    def mark_printed(self, token: str, ok: bool, detail: str = "", printer: str | None = None,
                     reprint: bool = False) -> dict:
        """Record how printing a ticket went; a failure flags it for staff to reprint or cancel."""
        with self._write() as conn:
            now = self.clock()
            row = conn.execute("SELECT * FROM tickets WHERE token = ?", (token,)).fetchone()
            if row is None:
                raise errors.NotFound()
            if ok:
                conn.execute("UPDATE tickets SET printed = 1, print_error = NULL WHERE id = ?",
                             (row["id"],))
            else:
                # A failed reprint leaves a ticket that once printed counted as printed.
                conn.execute(
                    "UPDATE tickets SET printed = CASE WHEN printed = 1 THEN 1 ELSE 0 END,"
                    " print_error = CASE WHEN printed = 1 THEN print_error ELSE ? END"
                    " WHERE id = ?", (detail[:300], row["id"]))
            ticket = self._ticket(conn, row["id"])
            self._log(conn, "printed" if ok else "print_failed", ticket=ticket, now=now,
                      printer=printer, detail=detail[:300], reprint=reprint,
                      kiosk=ticket["kiosk_id"])
            return self._view(conn, ticket, now)

    def settle_prints(self) -> int:
        """After a restart: kiosk tickets of today whose printing never reported are flagged as
        not printed (the process stopped between issuing and printing), so staff see them."""
        with self._write() as conn:
            now = self.clock()
            rows = conn.execute(
                "SELECT * FROM tickets WHERE day = ? AND printed IS NULL AND kiosk_id IS NOT NULL"
                " AND status IN ('waiting', 'called')",
                (self.rules.business_day(now),)).fetchall()
            detail = "máy chủ dừng trước khi in xong"
            for row in rows:
                conn.execute("UPDATE tickets SET printed = 0, print_error = ? WHERE id = ?",
                             (detail, row["id"]))
                self._log(conn, "print_failed", ticket=self._ticket(conn, row["id"]), now=now,
                          printer=row["kiosk_id"], detail=detail, reprint=False,
                          kiosk=row["kiosk_id"])
            return len(rows)

    def unprinted(self, day: str | None = None) -> list[dict]:
        """Open tickets of the day that nobody holds on paper: staff reprint or cancel them."""
        with self.store.read() as conn:
            now = self.clock()
            rows = conn.execute(
                "SELECT * FROM tickets WHERE day = ? AND printed = 0 AND status IN"
                " ('waiting', 'called') ORDER BY issued_at, id", (day or self.today(),)).fetchall()
            out = []
            for row in rows:
                view = self._view(conn, row, now)
                view["print_error"] = row["print_error"]
                out.append(view)
            return out

    # -- counters ----------------------------------------------------------------------------

    def call_next(self, counter: int, clerk: int | None = None) -> dict:
        """Call the next ticket for ``counter`` under the priority policy."""
        with self._write() as conn:
            now = self.clock()
            self.roll_over(conn, now)
            desk = self._open_counter(conn, counter)
            self._release_current(conn, desk, clerk, now)
            lanes = self._lanes(conn, desk, now)
            chosen = policy.pick(lanes, desk["select_mode"], now)
            if chosen is None:
                raise errors.NothingWaiting(number=counter)
            lane, head = chosen
            return self._call(conn, desk, self._ticket(conn, head.id), clerk, now, "called",
                              lane=lane)

    def call_number(self, counter: int, number: str, clerk: int | None = None,
                    queue: str | None = None) -> dict:
        """Call a specific waiting number out of order (or a no-show who came back)."""
        with self._write() as conn:
            now = self.clock()
            self.roll_over(conn, now)
            desk = self._open_counter(conn, counter)
            ticket = self._by_number(conn, number, queue, self.rules.business_day(now),
                                     served_by=counter)
            if ticket["status"] == "no_show":
                ticket = self._reactivate(conn, ticket, counter, clerk, now)
            if ticket["status"] != "waiting":
                raise errors.IllegalTransition(number=ticket["number"],
                                               status=STATUS_WORDS[ticket["status"]],
                                               action="gọi")
            served = {r[0] for r in conn.execute(
                "SELECT queue_code FROM counter_queues WHERE counter_number = ?", (counter,))}
            if ticket["queue_code"] not in served and ticket["target_counter"] != counter:
                raise errors.NotServedHere(number=ticket["number"], counter=counter)
            if ticket["target_counter"] not in (None, counter):
                raise errors.NotServedHere(number=ticket["number"], counter=counter)
            self._release_current(conn, desk, clerk, now)
            lane = self._lane_for(conn, desk, ticket, now)
            return self._call(conn, desk, ticket, clerk, now, "called", lane=lane, chosen=True)

    def recall(self, counter: int, clerk: int | None = None) -> dict:
        """Call the current ticket again (the board flashes and speaks it again)."""
        with self._write() as conn:
            now = self.clock()
            self.roll_over(conn, now)
            desk = self._counter(conn, counter)
            ticket = self._current(conn, desk)
            conn.execute("UPDATE tickets SET recalls = recalls + 1 WHERE id = ?", (ticket["id"],))
            ticket = self._ticket(conn, ticket["id"])
            self._log(conn, "recalled", ticket=ticket, counter=counter, clerk=clerk, now=now,
                      counter_name=desk["name"], recalls=ticket["recalls"])
            return self._view(conn, ticket, now)

    def no_show(self, counter: int, clerk: int | None = None) -> dict:
        """Mark the current ticket as not present; the counter is free again."""
        with self._write() as conn:
            now = self.clock()
            self.roll_over(conn, now)
            desk = self._counter(conn, counter)
            ticket = self._current(conn, desk)
            ticket = self._close(conn, desk, ticket, "no_show", None, clerk, now)
            return self._view(conn, ticket, now)

    def reactivate(self, number: str, clerk: int | None = None, queue: str | None = None) -> dict:
        """Put a no-show of today back in its queue, in its original place."""
        with self._write() as conn:
            now = self.clock()
            self.roll_over(conn, now)
            ticket = self._by_number(conn, number, queue, self.rules.business_day(now))
            ticket = self._reactivate(conn, ticket, None, clerk, now)
            return self._view(conn, ticket, now)

    def _reactivate(self, conn, ticket, counter, clerk, now):
        if ticket["status"] != "no_show":
            raise errors.IllegalTransition(number=ticket["number"],
                                           status=STATUS_WORDS[ticket["status"]],
                                           action="cho chờ lại")
        conn.execute("UPDATE tickets SET status = 'waiting', counter_number = NULL,"
                     " called_at = NULL, finished_at = NULL WHERE id = ?", (ticket["id"],))
        ticket = self._ticket(conn, ticket["id"])
        self._log(conn, "reactivated", ticket=ticket, counter=counter, clerk=clerk, now=now)
        return ticket

    def transfer(self, counter: int, *, queue: str | None = None, to_counter: int | None = None,
                 clerk: int | None = None) -> dict:
        """Send the current ticket to another queue or to a named counter; it waits there."""
        if (queue is None) == (to_counter is None):
            raise errors.InvalidInput(detail="cần đúng một trong hai: queue hoặc counter")
        if queue is not None and not isinstance(queue, str):
            raise errors.InvalidInput(detail="queue")
        with self._write() as conn:
            now = self.clock()
            self.roll_over(conn, now)
            desk = self._counter(conn, counter)
            ticket = self._current(conn, desk)
            target_queue, target_counter = ticket["queue_code"], None
            if queue is not None:
                row = conn.execute("SELECT * FROM queues WHERE code = ?", (queue,)).fetchone()
                if row is None:
                    raise errors.UnknownQueue(code=queue)
                if not conn.execute("SELECT 1 FROM counter_queues WHERE queue_code = ?",
                                    (queue,)).fetchone():
                    raise errors.NoCounterServes(queue=row["name"])
                target_queue = queue
            else:
                if to_counter == counter:
                    raise errors.InvalidInput(detail="không thể chuyển về chính quầy này")
                self._counter(conn, to_counter)
                target_counter = to_counter
            order_at = ticket["order_at"] if self.rules.transfer_keeps_time else now
            conn.execute(
                "UPDATE tickets SET status = 'waiting', queue_code = ?, target_counter = ?,"
                " order_at = ?, transfers = transfers + 1, counter_number = NULL,"
                " called_at = NULL WHERE id = ?",
                (target_queue, target_counter, order_at, ticket["id"]))
            conn.execute("UPDATE counters SET current_ticket_id = NULL WHERE number = ?",
                         (counter,))
            moved = self._ticket(conn, ticket["id"])
            self._log(conn, "transferred", ticket=moved, counter=counter, clerk=clerk, now=now,
                      from_queue=ticket["queue_code"], to_queue=target_queue,
                      to_counter=target_counter, served_seconds=_since(ticket["called_at"], now))
            return self._view(conn, moved, now)

    def finish(self, counter: int, outcome: str = "served", clerk: int | None = None) -> dict:
        """Close the current ticket as served, with an outcome from the hall's list."""
        if outcome not in self.rules.outcomes:
            raise errors.InvalidInput(detail=f"outcome = {outcome!r}; dùng một trong "
                                      + ", ".join(self.rules.outcomes))
        with self._write() as conn:
            now = self.clock()
            self.roll_over(conn, now)
            desk = self._counter(conn, counter)
            ticket = self._current(conn, desk)
            ticket = self._close(conn, desk, ticket, "done", outcome, clerk, now)
            return self._view(conn, ticket, now)

    def cancel(self, number: str, clerk: int | None = None, queue: str | None = None,
               reason: str = "") -> dict:
        """Withdraw a waiting ticket of today (for example one that never printed)."""
        with self._write() as conn:
            now = self.clock()
            self.roll_over(conn, now)
            ticket = self._by_number(conn, number, queue, self.rules.business_day(now))
            if ticket["status"] != "waiting":
                raise errors.IllegalTransition(number=ticket["number"],
                                               status=STATUS_WORDS[ticket["status"]],
                                               action="hủy")
            conn.execute("UPDATE tickets SET status = 'cancelled', finished_at = ? WHERE id = ?",
                         (now, ticket["id"]))
            ticket = self._ticket(conn, ticket["id"])
            self._log(conn, "cancelled", ticket=ticket, clerk=clerk, now=now, reason=reason[:200])
            return self._view(conn, ticket, now)

    def pause(self, counter: int, clerk: int | None = None) -> dict:
        """Stop calling at this counter for a while (the current ticket stays)."""
        return self._set_status(counter, "paused", ("open",), clerk, "counter_paused")

    def resume(self, counter: int, clerk: int | None = None) -> dict:
        """Start calling again at a paused or closed counter."""
        return self._set_status(counter, "open", ("paused", "closed"), clerk, "counter_resumed")

    def close_counter(self, counter: int, clerk: int | None = None) -> dict:
        """Close the counter for the day; it must not be serving anyone."""
        return self._set_status(counter, "closed", ("open", "paused"), clerk, "counter_closed")

    def _set_status(self, counter, status, allowed, clerk, kind) -> dict:
        with self._write() as conn:
            now = self.clock()
            self.roll_over(conn, now)
            desk = self._counter(conn, counter)
            if desk["status"] not in allowed:
                raise (errors.CounterPaused if desk["status"] == "paused" and status == "paused"
                       else errors.IllegalTransition)(
                    number=counter, status=desk["status"], action=kind)
            if status == "closed" and desk["current_ticket_id"] is not None:
                current = self._ticket(conn, desk["current_ticket_id"])
                raise errors.CounterBusy(number=counter, ticket=current["number"])
            conn.execute("UPDATE counters SET status = ? WHERE number = ?", (status, counter))
            self._log(conn, kind, counter=counter, clerk=clerk, now=now,
                      counter_name=desk["name"], status=status, previous=desk["status"])
            return self.counter_view(conn, counter, now)

    # -- internals of calling ----------------------------------------------------------------

    def _counter(self, conn, number) -> sqlite3.Row:
        if not isinstance(number, int) or isinstance(number, bool):
            raise errors.InvalidInput(detail=f"counter = {number!r}")
        row = conn.execute("SELECT * FROM counters WHERE number = ?", (number,)).fetchone()
        if row is None:
            raise errors.UnknownCounter(number=number)
        return row

    def _open_counter(self, conn, number) -> sqlite3.Row:
        desk = self._counter(conn, number)
        if desk["status"] == "paused":
            raise errors.CounterPaused(number=number)
        if desk["status"] == "closed":
            raise errors.CounterClosed(number=number)
        return desk

    def _current(self, conn, desk) -> sqlite3.Row:
        if desk["current_ticket_id"] is None:
            raise errors.NoCurrentTicket(number=desk["number"])
        return self._ticket(conn, desk["current_ticket_id"])

    def _release_current(self, conn, desk, clerk, now) -> None:
        """Before a new call: finish the ticket being served, or refuse, per the rules."""
        if desk["current_ticket_id"] is None:
            return
        current = self._ticket(conn, desk["current_ticket_id"])
        if current["status"] != "called":
            conn.execute("UPDATE counters SET current_ticket_id = NULL WHERE number = ?",
                         (desk["number"],))
            return
        if not self.rules.next_finishes_current:
            raise errors.CounterBusy(number=desk["number"], ticket=current["number"])
        self._close(conn, desk, current, "done", self.rules.outcomes[0], clerk, now, auto=True)

    def _close(self, conn, desk, ticket, status, outcome, clerk, now, auto=False):
        conn.execute("UPDATE tickets SET status = ?, outcome = ?, finished_at = ? WHERE id = ?",
                     (status, outcome, now, ticket["id"]))
        conn.execute("UPDATE counters SET current_ticket_id = NULL WHERE number = ?",
                     (desk["number"],))
        closed = self._ticket(conn, ticket["id"])
        kind = "finished" if status == "done" else status
        extra = {"outcome": outcome, "auto": True} if auto else {"outcome": outcome}
        self._log(conn, kind, ticket=closed, counter=desk["number"], clerk=clerk, now=now,
                  counter_name=desk["name"], served_seconds=_since(ticket["called_at"], now),
                  **extra)
        return closed

    def _call(self, conn, desk, ticket, clerk, now, kind, lane, chosen=False) -> dict:
        counter = desk["number"]
        conn.execute(
            "UPDATE tickets SET status = 'called', counter_number = ?, target_counter = NULL,"
            " called_at = ?, clerk_id = ? WHERE id = ?", (counter, now, clerk, ticket["id"]))
        conn.execute("UPDATE counters SET current_ticket_id = ? WHERE number = ?",
                     (ticket["id"], counter))
        if lane is not None:
            streak = policy.next_streak(lane, policy.Waiting(ticket["id"], ticket["order_at"],
                                                             ticket["priority"] is not None))
            conn.execute(
                "INSERT INTO queue_days (day, queue_code, normal_streak) VALUES (?, ?, ?)"
                " ON CONFLICT (day, queue_code)"
                " DO UPDATE SET normal_streak = excluded.normal_streak",
                (self.rules.business_day(now), ticket["queue_code"], streak))
        called = self._ticket(conn, ticket["id"])
        self._log(conn, kind, ticket=called, counter=counter, clerk=clerk, now=now,
                  counter_name=desk["name"], waited_seconds=_since(ticket["order_at"], now),
                  out_of_order=chosen)
        return self._view(conn, called, now, desk=desk)

    def _queue_lane(self, conn, queue, day, weight, position, counter, now,
                    served: bool = True) -> policy.Lane:
        """``queue`` is a queues row with the day's ``normal_streak`` (NULL: no call yet);
        a queue the counter does not ``served`` offers only the tickets sent to the counter."""
        policy_name = queue["priority_policy"] or self.rules.priority_policy
        every = queue["interleave_every"] or self.rules.interleave_every
        streak = queue["normal_streak"]
        # No call yet today: nobody has been kept waiting, so a priority ticket goes first.
        if streak is None:
            streak = every
        # The oldest priority and the oldest normal ticket, among the queue's own and those
        # sent to this counter by name: one query of four index lookups.
        heads: dict[bool, policy.Waiting] = {}
        args = {"queue": queue["code"], "day": day, "counter": counter}
        for row in conn.execute(_HEADS if served else _HEADS_SENT, args):
            found = policy.Waiting(row["id"], row["order_at"], row["priority"] is not None)
            best = heads.get(found.priority)
            if best is None or (found.order_at, found.id) < (best.order_at, best.id):
                heads[found.priority] = found
        return policy.Lane(queue["code"], policy_name, every, streak, weight, position,
                           urgent=heads.get(True), normal=heads.get(False))

    def _lanes(self, conn, desk, now) -> list[policy.Lane]:
        day = self.rules.business_day(now)
        counter = desk["number"]
        lanes = []
        for cq in conn.execute(
                "SELECT q.*, cq.weight, cq.position AS lane_position, qd.normal_streak"
                " FROM counter_queues cq JOIN queues q ON q.code = cq.queue_code"
                " LEFT JOIN queue_days qd ON qd.day = ? AND qd.queue_code = q.code"
                " WHERE cq.counter_number = ? ORDER BY cq.position, q.code",
                (day, counter)).fetchall():
            lanes.append(self._queue_lane(conn, cq, day, cq["weight"], cq["lane_position"],
                                          counter, now))
        # Tickets sent to this counter by name, from queues it does not serve itself.
        served = tuple(lane.key for lane in lanes) or ("",)
        marks = ",".join("?" * len(served))
        for queue in conn.execute(
                f"SELECT q.*, qd.normal_streak FROM queues q"
                f" LEFT JOIN queue_days qd ON qd.day = ? AND qd.queue_code = q.code"
                f" WHERE q.code IN (SELECT t.queue_code FROM tickets t WHERE t.day = ?"
                f" AND t.status = 'waiting' AND t.target_counter = ?"
                f" AND t.queue_code NOT IN ({marks}))", (day, day, counter, *served)).fetchall():
            lanes.append(self._queue_lane(conn, queue, day, 1.0, -1, counter, now,
                                          served=False))
        return lanes

    def _lane_for(self, conn, desk, ticket, now) -> policy.Lane:
        for lane in self._lanes(conn, desk, now):
            if lane.key == ticket["queue_code"]:
                return lane
        raise errors.NotServedHere(number=ticket["number"], counter=desk["number"])

    def _ticket(self, conn, ticket_id) -> sqlite3.Row:
        return conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()

    def _by_number(self, conn, number, queue, day, served_by: int | None = None) -> sqlite3.Row:
        if not isinstance(number, str) or not number.strip():
            raise errors.InvalidInput(detail="number")
        if queue is not None and not isinstance(queue, str):
            raise errors.InvalidInput(detail="queue")
        number = number.strip().upper()
        sql = "SELECT * FROM tickets WHERE day = ? AND number = ?"
        args: list = [day, number]
        if queue is not None:
            sql += " AND issued_queue = ?"
            args.append(queue)
        rows = conn.execute(sql + " ORDER BY id", args).fetchall()
        if len(rows) > 1 and served_by is not None:
            served = {r[0] for r in conn.execute(
                "SELECT queue_code FROM counter_queues WHERE counter_number = ?", (served_by,))}
            rows = [r for r in rows if r["queue_code"] in served] or rows
        if not rows:
            raise errors.UnknownTicket(number=number)
        if len(rows) > 1:
            raise errors.InvalidInput(detail=f"số {number} có ở nhiều hàng đợi; hãy nêu hàng đợi")
        return rows[0]

    # -- views -------------------------------------------------------------------------------

    def _view(self, conn, ticket: sqlite3.Row, now: float, *, queue=None, procedure=None,
              desk=None) -> dict:
        """The ticket as its holder sees it; ``queue`` (a full queues row), ``procedure`` and
        ``desk`` save a lookup when the caller already has the ticket's own."""
        if queue is None or queue["code"] != ticket["queue_code"]:
            queue = conn.execute("SELECT * FROM queues WHERE code = ?",
                                 (ticket["queue_code"],)).fetchone()
        proc = procedure
        if proc is None or proc["code"] != ticket["procedure_code"]:
            proc = conn.execute("SELECT code, name FROM procedures WHERE code = ?",
                                (ticket["procedure_code"],)).fetchone()
        view = {
            "id": ticket["id"],
            "number": ticket["number"],
            "day": ticket["day"],
            "queue": {"code": queue["code"], "name": queue["name"]},
            "procedure": {"code": proc["code"], "name": proc["name"]} if proc else None,
            "priority": ticket["priority"],
            "status": ticket["status"],
            "issued_at": self.rules.iso(ticket["issued_at"]),
            "called_at": self.rules.iso(ticket["called_at"]),
            "finished_at": self.rules.iso(ticket["finished_at"]),
            "counter": None,
            "target_counter": ticket["target_counter"],
            "outcome": ticket["outcome"],
            "recalls": ticket["recalls"],
            "transfers": ticket["transfers"],
            "kiosk": ticket["kiosk_id"],
            "printed": None if ticket["printed"] is None else bool(ticket["printed"]),
            "token": ticket["token"],
            "waiting_ahead": None,
            "eta_minutes": None,
        }
        if ticket["counter_number"] is not None:
            if desk is None or desk["number"] != ticket["counter_number"]:
                desk = conn.execute("SELECT number, name FROM counters WHERE number = ?",
                                    (ticket["counter_number"],)).fetchone()
            view["counter"] = {"number": desk["number"], "name": desk["name"]}
        if ticket["status"] == "waiting":
            ahead, eta = self._estimate(conn, ticket, now, queue)
            view["waiting_ahead"], view["eta_minutes"] = ahead, eta
        return view

    def _estimate(self, conn, ticket, now, queue=None) -> tuple[int, int | None]:
        """People who will be called before this ticket, and the expected wait in minutes."""
        if queue is None or queue["code"] != ticket["queue_code"]:
            queue = conn.execute("SELECT * FROM queues WHERE code = ?",
                                 (ticket["queue_code"],)).fetchone()
        policy_name = queue["priority_policy"] or self.rules.priority_policy
        every = queue["interleave_every"] or self.rules.interleave_every
        key = (ticket["order_at"], ticket["id"])

        def count(priority_clause, before):
            where = ("FROM tickets WHERE queue_code = ? AND day = ? AND status = 'waiting'"
                     f" AND target_counter IS NULL AND priority IS {priority_clause}")
            args = (queue["code"], ticket["day"])
            if not before:
                return conn.execute(f"SELECT count(*) {where}", args).fetchone()[0]
            # (order_at, id) < key as two plain ranges of the index (no test row by row)
            return conn.execute(
                f"SELECT (SELECT count(*) {where} AND order_at < ?)"
                f" + (SELECT count(*) {where} AND order_at = ? AND id < ?)",
                (*args, key[0], *args, *key)).fetchone()[0]

        # Interleave: normal calls still due before the next priority turn (none at day start).
        streak = conn.execute("SELECT normal_streak FROM queue_days WHERE day = ? AND"
                              " queue_code = ?", (ticket["day"], queue["code"])).fetchone()
        gap = 0 if streak is None else max(0, every - streak[0])
        if ticket["priority"] is None:
            normals_before = count("NULL", True)
            urgent = count("NOT NULL", False)
            ahead = normals_before + (
                urgent if policy_name == "strict" else 0 if normals_before < gap
                else min(urgent, (normals_before - gap) // every + 1))
        else:
            urgent_before = count("NOT NULL", True)
            normals = count("NULL", False)
            ahead = urgent_before + (0 if policy_name == "strict"
                                     else min(normals, gap + urgent_before * every))
        desks = conn.execute(
            "SELECT c.status, c.current_ticket_id FROM counters c JOIN counter_queues cq"
            " ON cq.counter_number = c.number WHERE cq.queue_code = ?", (queue["code"],)
        ).fetchall()
        working = [d for d in desks if d["status"] == "open"] or [
            d for d in desks if d["status"] == "paused"]
        if not working:
            return ahead, None
        minutes = self.service_minutes(conn, queue)
        if ahead == 0 and any(d["current_ticket_id"] is None for d in working):
            return 0, 0
        return ahead, math.ceil((ahead + 1) * minutes / len(working))

    def service_minutes(self, conn, queue: sqlite3.Row) -> float:
        """The measured mean service time of the queue today, else the configured one."""
        rows = conn.execute(
            "SELECT finished_at - called_at FROM tickets WHERE queue_code = ? AND day = ?"
            " AND status = 'done' AND called_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?",
            (queue["code"], self.today(), self.rules.service_samples)).fetchall()
        if len(rows) >= 3:
            return max(0.5, sum(r[0] for r in rows) / len(rows) / 60)
        return float(queue["service_minutes"])

    def counter(self, number: int) -> dict:
        """One counter now, as screens show it."""
        with self.store.read() as conn:
            return self.counter_view(conn, number, self.clock())

    def counter_view(self, conn, number: int, now: float) -> dict:
        """One counter as screens show it."""
        desk = self._counter(conn, number)
        current = None
        if desk["current_ticket_id"] is not None:
            current = self._view(conn, self._ticket(conn, desk["current_ticket_id"]), now)
            # Screens are public: the holder's token must not leak through them.
            current.pop("token")
        clerk = None
        if desk["clerk_id"] is not None:
            row = conn.execute("SELECT id, name FROM clerks WHERE id = ?",
                               (desk["clerk_id"],)).fetchone()
            clerk = {"id": row["id"], "name": row["name"]}
        queues = [r[0] for r in conn.execute(
            "SELECT queue_code FROM counter_queues WHERE counter_number = ? ORDER BY position,"
            " queue_code", (number,))]
        return {"number": desk["number"], "name": desk["name"], "status": desk["status"],
                "select_mode": desk["select_mode"], "queues": queues, "clerk": clerk,
                "current": current}


def desk(tickets: Tickets, number: int) -> dict:
    """A counter as its clerk sees it: the counter, its queues' waiting lists (priority and
    unprinted marks), what was sent to it by name, and its totals of the day."""
    with tickets.store.read() as conn:
        now = tickets.clock()
        day = tickets.rules.business_day(now)
        view = tickets.counter_view(conn, number, now)
        lanes = []
        for code in view["queues"]:
            queue = conn.execute("SELECT code, name FROM queues WHERE code = ?",
                                 (code,)).fetchone()
            waiting = conn.execute(
                "SELECT number, priority, printed, order_at, target_counter FROM tickets"
                " WHERE queue_code = ? AND day = ? AND status = 'waiting'"
                " AND (target_counter IS NULL OR target_counter = ?)"
                " ORDER BY priority IS NULL, order_at, id", (code, day, number)).fetchall()
            lanes.append({
                "code": queue["code"], "name": queue["name"], "waiting": len(waiting),
                "priority_waiting": sum(1 for w in waiting if w["priority"]),
                "next": [{"number": w["number"], "priority": w["priority"],
                          "unprinted": w["printed"] == 0, "sent_here": w["target_counter"]
                          is not None, "waited_minutes": int((now - w["order_at"]) // 60)}
                         for w in waiting[:8]]})
        sent = conn.execute(
            "SELECT number, queue_code, priority, printed FROM tickets WHERE day = ?"
            " AND status = 'waiting' AND target_counter = ? ORDER BY order_at, id",
            (day, number)).fetchall()
        totals = conn.execute(
            "SELECT count(*) FILTER (WHERE status = 'done'),"
            " count(*) FILTER (WHERE status = 'no_show'),"
            " avg(finished_at - called_at) FILTER (WHERE status = 'done'),"
            " avg(called_at - order_at) FILTER (WHERE called_at IS NOT NULL)"
            " FROM tickets WHERE day = ? AND counter_number = ?", (day, number)).fetchone()
        transferred = conn.execute(
            "SELECT count(*) FROM events WHERE day = ? AND kind = 'transferred'"
            " AND counter_number = ?", (day, number)).fetchone()[0]
        current = view["current"]
        if current is not None:
            row = conn.execute("SELECT called_at, order_at FROM tickets WHERE id = ?",
                               (current["id"],)).fetchone()
            current["waited_seconds"] = round(row["called_at"] - row["order_at"])
            current["serving_seconds"] = round(now - row["called_at"])
        view.update({
            "day": day, "at": tickets.rules.iso(now), "lanes": lanes,
            "sent_here": [{"number": r["number"], "queue": r["queue_code"],
                           "priority": r["priority"], "unprinted": r["printed"] == 0}
                          for r in sent],
            "totals": {"served": totals[0], "no_show": totals[1], "transferred": transferred,
                       "mean_service_seconds": None if totals[2] is None else round(totals[2]),
                       "mean_wait_seconds": None if totals[3] is None else round(totals[3])},
        })
        return view


def _since(start: float | None, now: float) -> float | None:
    return None if start is None else round(now - start, 3)


def _with(row: sqlite3.Row, **changes) -> dict:
    data = dict(row)
    data.update(changes)
    return data


def snapshot(tickets: Tickets, queues: list[str] | None = None,
             counters: list[int] | None = None) -> dict:
    """The hall as a screen shows it, with the id of the last event it includes."""
    rules = tickets.rules
    with tickets.store.read() as conn:
        now = tickets.clock()
        day = rules.business_day(now)
        last_event = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
        queue_rows = conn.execute("SELECT * FROM queues WHERE active ORDER BY position, code")
        queue_list = []
        for q in queue_rows.fetchall():
            if queues and q["code"] not in queues:
                continue
            waiting = conn.execute(
                "SELECT number, priority, printed FROM tickets WHERE queue_code = ? AND day = ?"
                " AND status = 'waiting' ORDER BY order_at, id", (q["code"], day)).fetchall()
            queue_list.append({
                "code": q["code"], "name": q["name"], "waiting": len(waiting),
                "priority_waiting": sum(1 for w in waiting if w["priority"]),
                "next": [w["number"] for w in waiting[:5]],
                # Waiting tickets nobody holds on paper (printing failed): staff must see them.
                "unprinted": [w["number"] for w in waiting if w["printed"] == 0],
                "issued": conn.execute("SELECT count(*) FROM tickets WHERE issued_queue = ?"
                                       " AND day = ?", (q["code"], day)).fetchone()[0],
            })
        desks = [tickets.counter_view(conn, r[0], now)
                 for r in conn.execute("SELECT number FROM counters ORDER BY number").fetchall()
                 if not counters or r[0] in counters]
        if queues and not counters:
            # A screen of some queues shows the counters serving them, and a counter's ticket
            # only when it is of those queues: another queue's call is not its to show.
            shown, kept = set(queues), []
            for desk in desks:
                current = desk["current"]
                if current and current["queue"]["code"] not in shown:
                    current = None
                if current or shown & set(desk["queues"]):
                    kept.append({**desk, "current": current})
            desks = kept
        recent = []
        for e in conn.execute(
                "SELECT * FROM events WHERE day = ? AND kind IN ('called', 'recalled')"
                " ORDER BY id DESC LIMIT ?", (day, rules.recent_calls * 4)).fetchall():
            data = json.loads(e["data"])
            if (queues and e["queue_code"] not in queues) or (
                    counters and e["counter_number"] not in counters):
                continue
            recent.append({"event": e["id"], "kind": e["kind"], "number": data.get("number"),
                           "queue": e["queue_code"], "counter": e["counter_number"],
                           "counter_name": data.get("counter_name"), "at": rules.iso(e["at"])})
            if len(recent) == rules.recent_calls:
                break
    return {"day": day, "at": rules.iso(now), "last_event_id": last_event,
            "queues": queue_list, "counters": desks, "recent_calls": recent}
