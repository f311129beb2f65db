"""The core driven by a hypothesis state machine on a real SQLite file: tickets issued, called
(next and by number), recalled, sent away, finished, cancelled, marked absent and brought back,
counters paused, resumed and closed, days passing, in any order. After every step the hall's
invariants hold, and a refused command changes nothing."""

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from hall import HallError
from tests.plugins.halls import TRANSPORT, Clock, open_hall

PROCEDURES = tuple(TRANSPORT.procedures)
QUEUES = tuple(TRANSPORT.queues)
COUNTERS = tuple(TRANSPORT.counters)
PRIORITIES = (None, "elderly")
COUNTER_ACTIONS = ("pause", "resume", "pause-toggle", "close")
BULK = ("move:queue", "move:counter", "cancel", "close_day", "reopen_day")

# The status a ticket may move to from each status (a recall keeps it called).
MOVES = {
    "waiting": {"called", "cancelled", "expired"},
    "called": {"called", "done", "no_show", "waiting", "expired"},
    "no_show": {"waiting", "called", "expired"},
    "done": set(), "cancelled": set(), "expired": set(),
}
# The status a ticket has after each kind of event about it.
STATUS_AFTER = {"issued": "waiting", "called": "called", "recalled": "called",
                "no_show": "no_show", "reactivated": "waiting", "transferred": "waiting",
                "finished": "done", "cancelled": "cancelled", "expired": "expired"}


class HallMachine(RuleBasedStateMachine):
    """One hall (TRANSPORT) on its own file, with a fake clock."""

    def __init__(self):
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="goiso-machine-"))
        self.clock = Clock()
        self.hall = open_hall(self.folder / "hall.db", TRANSPORT, clock=self.clock)
        self.statuses: dict[int, str] = {}
        self.last_event = self.hall.log.last_id()

    def teardown(self):
        self.hall.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- reading the file ----------------------------------------------------------------------

    def _rows(self, sql: str, args=()) -> list:
        with self.hall.store.read() as conn:
            return [dict(row) for row in conn.execute(sql, args)]

    def _state(self) -> tuple:
        """Everything a command may change: tickets, counters, the log's end."""
        return (self._rows("SELECT * FROM tickets ORDER BY id"),
                self._rows("SELECT * FROM counters ORDER BY number"), self.hall.log.last_id())

    def _today_numbers(self, status: str | None = None) -> list[dict]:
        """Today's tickets (of one status, or all when there is none of it)."""
        rows = self._rows("SELECT number, issued_queue, status FROM tickets WHERE day = ?"
                          " ORDER BY id", (self.hall.today(),))
        return [r for r in rows if r["status"] == status] or rows

    def _counter(self, pick: int) -> int:
        """A counter serving someone if there is one (else any): actions on the current
        ticket then mostly do something, and are refused when nobody is served."""
        held = [r["number"] for r in self._rows(
            "SELECT number FROM counters WHERE current_ticket_id IS NOT NULL ORDER BY number")]
        return held[pick % len(held)] if held else COUNTERS[pick % len(COUNTERS)]

    def act(self, command, *args, **kwargs):
        """Run a command of the core; a refusal must leave the hall exactly as it was."""
        before = self._state()
        try:
            return command(*args, **kwargs)
        except HallError:
            assert self._state() == before, f"{command.__name__} was refused but changed the hall"
            return None

    # -- the rules -----------------------------------------------------------------------------

    @initialize()
    def open_hall(self):
        assert self.hall.today()

    @rule(procedure=st.sampled_from(PROCEDURES), priority=st.sampled_from(PRIORITIES),
          count=st.integers(1, 3))
    def issue(self, procedure, priority, count):
        """A few people take a ticket (a hall issues far more than it does anything else)."""
        for _ in range(count):
            ticket = self.act(self.hall.issuing.issue, procedure, priority=priority)
            if ticket is not None:
                assert ticket["status"] == "waiting"

    @rule(counter=st.sampled_from(COUNTERS))
    def call_next(self, counter):
        ticket = self.act(self.hall.calling.call_next, counter)
        if ticket is not None:
            assert ticket["status"] == "called" and ticket["counter"]["number"] == counter

    @precondition(lambda self: self._today_numbers())
    @rule(counter=st.sampled_from(COUNTERS), pick=st.integers(0, 200))
    def call_number(self, counter, pick):
        # Mostly a waiting number; now and then a no-show who came back.
        numbers = self._today_numbers("waiting" if pick % 4 else "no_show")
        chosen = numbers[pick % len(numbers)]
        ticket = self.act(self.hall.calling.call_number, counter, chosen["number"],
                          queue=chosen["issued_queue"])
        if ticket is not None:
            assert ticket["status"] == "called"

    @rule(pick=st.integers(0, 10))
    def recall(self, pick):
        self.act(self.hall.calling.recall, self._counter(pick))

    @rule(pick=st.integers(0, 10))
    def no_show(self, pick):
        self.act(self.hall.calling.no_show, self._counter(pick))

    @rule(pick=st.integers(0, 10), dossiers=st.lists(st.sampled_from(["HS-1", "HS-2"]),
                                                     max_size=2))
    def finish(self, pick, dossiers):
        ticket = self.act(self.hall.calling.finish, self._counter(pick), dossiers=dossiers)
        if ticket is not None:
            assert ticket["status"] == "done"

    @rule(pick=st.integers(0, 10),
          where=st.one_of(st.sampled_from(QUEUES).map(lambda q: {"queue": q}),
                           st.sampled_from(COUNTERS).map(lambda c: {"to_counter": c})))
    def transfer(self, pick, where):
        ticket = self.act(self.hall.calling.transfer, self._counter(pick), **where)
        if ticket is not None:
            assert ticket["status"] == "waiting"

    @precondition(lambda self: self._today_numbers())
    @rule(pick=st.integers(0, 200))
    def cancel(self, pick):
        numbers = self._today_numbers("waiting")
        chosen = numbers[pick % len(numbers)]
        self.act(self.hall.calling.cancel, chosen["number"], queue=chosen["issued_queue"],
                 reason="thử")

    @precondition(lambda self: self._today_numbers())
    @rule(pick=st.integers(0, 200))
    def reactivate(self, pick):
        numbers = self._today_numbers("no_show")
        chosen = numbers[pick % len(numbers)]
        self.act(self.hall.calling.reactivate, chosen["number"], queue=chosen["issued_queue"])

    @rule(counter=st.sampled_from(COUNTERS), action=st.sampled_from(COUNTER_ACTIONS))
    def counter_state(self, counter, action):
        desk = self.act(self.hall.desk.perform, counter, action)
        if desk is not None:
            assert desk["status"] in ("open", "paused", "closed")

    @rule(source=st.sampled_from(QUEUES), action=st.sampled_from(BULK),
          to_queue=st.sampled_from(QUEUES), to_counter=st.sampled_from(COUNTERS))
    def bulk(self, source, action, to_queue, to_counter):
        """A supervisor's action on many tickets in one change: a queue's waiting tickets
        moved or cancelled, the day closed early (waiting tickets cancelled) or opened again.
        One rule for all, so that they come as rarely as in a hall."""
        verb, _, where = action.partition(":")
        target = {"to_queue": to_queue} if where == "queue" else \
            {"to_counter": to_counter} if where == "counter" else {}
        selection = {"queue": source} if verb in ("move", "cancel") else None
        reason = "" if verb in ("move", "reopen_day") else "mất điện"
        self.act(self.hall.bulk.apply, verb, selection, reason=reason, **target)

    @rule(hours=st.sampled_from([1, 24]))
    def time_passes(self, hours):
        """An hour, or a day: the next change rolls the day over (open tickets expire)."""
        self.clock.advance(hours * 3600)

    # -- the invariants ------------------------------------------------------------------------

    @invariant()
    def numbers_are_unique_and_without_gaps(self):
        for group in self._rows("SELECT day, issued_queue, count(*) AS n, count(DISTINCT seq)"
                                " AS distinct_seqs, max(seq) AS top, count(DISTINCT number)"
                                " AS labels FROM tickets GROUP BY day, issued_queue"):
            assert group["n"] == group["distinct_seqs"] == group["top"] == group["labels"], group

    @invariant()
    def each_called_ticket_is_held_by_its_one_counter(self):
        held = self._rows("SELECT number, current_ticket_id FROM counters"
                          " WHERE current_ticket_id IS NOT NULL")
        ids = [row["current_ticket_id"] for row in held]
        assert len(ids) == len(set(ids)), f"a ticket held by two counters: {held}"
        called = {row["id"]: row["counter_number"] for row in self._rows(
            "SELECT id, counter_number FROM tickets WHERE status = 'called'")}
        # A counter holds its called ticket; a finished one is let go at once.
        assert {row["current_ticket_id"]: row["number"] for row in held} == called

    @invariant()
    def statuses_move_only_as_allowed(self):
        now = {row["id"]: row["status"] for row in self._rows("SELECT id, status FROM tickets")}
        for ticket, status in now.items():
            before = self.statuses.get(ticket)
            if before is None:
                assert status == "waiting" or self._was_issued_in_this_step(ticket), status
            elif status != before:
                assert status in MOVES[before], f"ticket {ticket}: {before} -> {status}"
        assert set(self.statuses) <= set(now), "a ticket disappeared"
        self.statuses = now

    def _was_issued_in_this_step(self, ticket: int) -> bool:
        return bool(self._rows("SELECT 1 FROM events WHERE ticket_id = ? AND kind = 'issued'"
                               " AND id > ?", (ticket, self.last_event)))

    @invariant()
    def waiting_counts_match(self):
        day = self.hall.today()
        counted = {row["queue_code"]: row["n"] for row in self._rows(
            "SELECT queue_code, count(*) AS n FROM tickets WHERE day = ? AND status = 'waiting'"
            " GROUP BY queue_code", (day,))}
        shown = {queue["code"]: queue["waiting"]
                 for queue in self.hall.catalogue.queues(False, day)}
        assert shown == {code: counted.get(code, 0) for code in shown}

    @invariant()
    def every_change_has_its_event_in_order(self):
        new = self._rows("SELECT id, at, kind, ticket_id, data FROM events WHERE id > ?"
                         " ORDER BY id", (self.last_event,))
        ats = [event["at"] for event in new]
        assert ats == sorted(ats), "events out of order"
        for event in new:
            if event["kind"] in STATUS_AFTER:
                assert json.loads(event["data"])["status"] == STATUS_AFTER[event["kind"]], event
        # Every ticket is as its last event says.
        last = self._rows("SELECT t.id, t.status, e.kind, e.data FROM tickets t JOIN events e"
                          " ON e.id = (SELECT max(id) FROM events WHERE ticket_id = t.id)")
        assert len(last) == len(self._rows("SELECT id FROM tickets"))
        for row in last:
            assert json.loads(row["data"])["status"] == row["status"], row
        if new:
            self.last_event = new[-1]["id"]


HallMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=50, deadline=None, derandomize=True,
    database=None, suppress_health_check=[HealthCheck.too_slow])
test_core_machine = pytest.mark.slow(HallMachine.TestCase)
