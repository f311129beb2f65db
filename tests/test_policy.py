"""Priority ordering: which waiting ticket a counter calls next.

The documented rules (hall/policy.py, domain.md "Priority and fairness"):

* In one queue, tickets are FIFO by ``order_at`` (then id) within each class, priority and normal.
* ``strict``: a waiting priority ticket always goes before every normal ticket.
* ``interleave`` (every N): one priority ticket after every N normal calls of that queue; a
  priority ticket goes first when N normal calls have happened since the queue's last priority
  call of the business day, or when there has been no priority call yet today (day start). With
  only one class waiting, that class is called.
* A queue may override the hall's policy and N.
* A counter serving several queues: ``ordered`` takes the first queue in its list that has
  someone waiting; ``oldest`` takes the longest weighted wait (weight × seconds waited), except
  that the head of a ``strict`` queue that is a priority ticket goes before any other head.
  Tickets transferred to this counter by name from queues it does not serve come first in
  ``ordered`` mode and count with weight 1 in ``oldest`` mode; only that counter may call them.
* A transfer keeps the ticket's original place (issue time) unless
  ``Rules(transfer_keeps_time=False)``; a no-show put back keeps its place too.

``Model`` below simulates those rules in plain Python without importing hall.policy; the tests
compare it with the real ``Tickets`` on a real SQLite file, exhaustively for short sequences
and with hypothesis for long random ones.
"""

import copy
import itertools
import os
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hall import Hall, Rules, errors, policy
from hall.policy import Lane, PriorityPolicy, Waiting
from tests.plugins.halls import START, Catalogue, Clock, open_hall

NOW = START.timestamp()

# -- the reference model -------------------------------------------------------------------


@dataclass
class MTicket:
    id: int
    number: str
    queue: str
    priority: bool
    order_at: float
    day: int
    status: str = "waiting"
    target: int | None = None
    counter: int | None = None
    recalls: int = 0


@dataclass
class MCounter:
    number: int
    lanes: list[tuple[str, float]]  # (queue, weight) in serving order
    mode: str = "oldest"
    status: str = "open"
    current: int | None = None


@dataclass
class MQueue:
    code: str
    prefix: str
    policy: str  # effective policy (queue override or hall default)
    every: int  # effective N


@dataclass
class Model:
    """The documented queue rules as a plain simulation (one business day at a time)."""

    queues: dict[str, MQueue]
    counters: dict[int, MCounter]
    keeps_time: bool = True
    finishes: bool = True
    tickets: dict[int, MTicket] = field(default_factory=dict)  # today's (and stale ones)
    archive: dict[int, MTicket] = field(default_factory=dict)  # closed tickets of earlier days
    streak: dict[str, int] = field(default_factory=dict)  # normal calls since last priority
    seq: dict[str, int] = field(default_factory=dict)
    day: int = 0
    stale: bool = False  # earlier days' open tickets not expired yet (done by the next write)

    # Every operation is all-or-nothing, like the real transactions.
    def run(self, name: str, *args):
        saved = self._snapshot()
        try:
            self._expire_stale()
            return getattr(self, name)(*args)
        except errors.HallError:
            for tid in saved["tickets"]:
                self.archive.pop(tid, None)
            self.__dict__.update(saved)
            raise

    def _snapshot(self) -> dict:
        """A copy of everything an operation may change (closed tickets of past days never do)."""
        return {"tickets": {i: copy.copy(t) for i, t in self.tickets.items()},
                "counters": {n: copy.copy(c) for n, c in self.counters.items()},
                "streak": dict(self.streak), "seq": dict(self.seq), "stale": self.stale}

    def _expire_stale(self):
        if not self.stale:
            return
        for c in self.counters.values():
            if c.current is not None and self.tickets[c.current].day < self.day:
                c.current = None
        for t in list(self.tickets.values()):
            if t.day < self.day:
                if t.status in ("waiting", "called"):
                    t.status = "expired"
                self.archive[t.id] = self.tickets.pop(t.id)
        self.stale = False

    def new_day(self):
        self.day += 1
        self.streak = {}
        self.seq = {}
        self.stale = True

    def served(self, queue: str) -> bool:
        return any(queue == q for c in self.counters.values() for q, _ in c.lanes)

    def today(self) -> list[MTicket]:
        return sorted((t for t in self.tickets.values() if t.day == self.day),
                      key=lambda t: t.id)

    # citizens
    def issue(self, queue: str, priority: bool, now: float) -> MTicket:
        if not self.served(queue):
            raise errors.NoCounterServes(queue=queue)
        self.seq[queue] = self.seq.get(queue, 0) + 1
        number = f"{self.queues[queue].prefix}{self.seq[queue]:03d}"
        t = MTicket(len(self.tickets) + len(self.archive) + 1, number, queue, priority, now,
                    self.day)
        self.tickets[t.id] = t
        return t

    # choosing
    def offer(self, queue: str, waiting: list[MTicket]) -> MTicket | None:
        """The ticket one queue offers to a counter, given the tickets it may take from it."""
        fifo = sorted(waiting, key=lambda t: (t.order_at, t.id))
        urgent = [t for t in fifo if t.priority]
        normal = [t for t in fifo if not t.priority]
        if not urgent:
            return normal[0] if normal else None
        q = self.queues[queue]
        if q.policy == "strict" or not normal:
            return urgent[0]
        priority_turn = self.streak.get(queue, q.every) >= q.every
        return urgent[0] if priority_turn else normal[0]

    def choose(self, number: int, now: float) -> MTicket | None:
        c = self.counters[number]
        waiting = [t for t in self.today() if t.status == "waiting"]
        offers = []  # (ticket, queue, position, weight)
        served = [q for q, _ in c.lanes]
        for position, (queue, weight) in enumerate(c.lanes):
            mine = [t for t in waiting if t.queue == queue and t.target in (None, number)]
            if (t := self.offer(queue, mine)) is not None:
                offers.append((t, queue, position, weight))
        for queue in sorted({t.queue for t in waiting if t.target == number} - set(served)):
            mine = [t for t in waiting if t.queue == queue and t.target == number]
            if (t := self.offer(queue, mine)) is not None:
                offers.append((t, queue, -1, 1.0))
        if not offers:
            return None
        if c.mode == "ordered":
            return min(offers, key=lambda o: (o[2], o[0].order_at, o[0].id))[0]
        jumping = [o for o in offers if o[0].priority and self.queues[o[1]].policy == "strict"]
        pool = jumping or offers
        return min(pool, key=lambda o: (-(now - o[0].order_at) * o[3], o[0].order_at,
                                        o[0].id))[0]

    # counters
    def _desk(self, number: int, calling: bool = False) -> MCounter:
        c = self.counters[number]
        if calling and c.status == "paused":
            raise errors.CounterPaused(number=number)
        if calling and c.status == "closed":
            raise errors.CounterClosed(number=number)
        return c

    def _current(self, c: MCounter) -> MTicket:
        if c.current is None:
            raise errors.NoCurrentTicket(number=c.number)
        return self.tickets[c.current]

    def _release(self, c: MCounter):
        if c.current is None:
            return
        if not self.finishes:
            raise errors.CounterBusy(number=c.number, ticket="?")
        self.tickets[c.current].status = "done"
        c.current = None

    def _take(self, c: MCounter, t: MTicket):
        every = self.queues[t.queue].every
        self.streak[t.queue] = 0 if t.priority else self.streak.get(t.queue, every) + 1
        t.status, t.counter, t.target = "called", c.number, None
        c.current = t.id
        return t

    def call(self, number: int, now: float) -> MTicket:
        c = self._desk(number, calling=True)
        self._release(c)
        t = self.choose(number, now)
        if t is None:
            raise errors.NothingWaiting(number=number)
        return self._take(c, t)

    def call_number(self, number: int, tid: int) -> MTicket:
        c = self._desk(number, calling=True)
        t = self.tickets[tid]
        if t.status == "no_show":
            t.status, t.counter = "waiting", None
        if t.status != "waiting":
            raise errors.IllegalTransition(number=t.number, status=t.status, action="call")
        if t.queue not in [q for q, _ in c.lanes] and t.target != number:
            raise errors.NotServedHere(number=t.number, counter=number)
        if t.target not in (None, number):
            raise errors.NotServedHere(number=t.number, counter=number)
        self._release(c)
        return self._take(c, t)

    def recall(self, number: int) -> MTicket:
        t = self._current(self._desk(number))
        t.recalls += 1
        return t

    def _close(self, number: int, status: str) -> MTicket:
        c = self._desk(number)
        t = self._current(c)
        t.status = status
        c.current = None
        return t

    def finish(self, number: int) -> MTicket:
        return self._close(number, "done")

    def no_show(self, number: int) -> MTicket:
        return self._close(number, "no_show")

    def transfer(self, number: int, queue: str | None, to: int | None, now: float) -> MTicket:
        c = self._desk(number)
        t = self._current(c)
        if queue is not None and not self.served(queue):
            raise errors.NoCounterServes(queue=queue)
        if to == number:
            raise errors.InvalidInput(field="counter")
        t.status, t.counter = "waiting", None
        t.queue = queue if queue is not None else t.queue
        t.target = to
        t.order_at = t.order_at if self.keeps_time else now
        c.current = None
        return t

    def reactivate(self, tid: int) -> MTicket:
        t = self.tickets[tid]
        if t.status != "no_show":
            raise errors.IllegalTransition(number=t.number, status=t.status, action="reactivate")
        t.status, t.counter = "waiting", None
        return t

    def cancel(self, tid: int) -> MTicket:
        t = self.tickets[tid]
        if t.status != "waiting":
            raise errors.IllegalTransition(number=t.number, status=t.status, action="cancel")
        t.status = "cancelled"
        return t

    def set_status(self, number: int, status: str):
        c = self._desk(number)
        allowed = {"paused": ("open",), "open": ("paused", "closed"),
                   "closed": ("open", "paused")}[status]
        if c.status not in allowed:
            if c.status == "paused" and status == "paused":
                raise errors.CounterPaused(number=number)
            raise errors.CounterStateRefused(number=number, status=c.status, action=status)
        if status == "closed" and c.current is not None:
            raise errors.CounterBusy(number=number, ticket="?")
        c.status = status

    # predictions
    def call_order(self, number: int, now: float) -> list[int]:
        """Ids the counter would call, in order, if nobody else arrived or acted."""
        today = {t.id: copy.copy(t) for t in self.today()}
        ghost = Model(self.queues, {n: copy.copy(c) for n, c in self.counters.items()},
                      tickets=today, streak=dict(self.streak), day=self.day)
        ghost.counters[number].status = "open"
        order = []
        while (t := ghost.choose(number, now)) is not None:
            ghost._release(ghost.counters[number])
            order.append(ghost._take(ghost.counters[number], t).id)
        return order


# -- comparing the model with the real hall ------------------------------------------------


def db_state(h: Hall, today_only: bool = False) -> dict:
    """The rows the model predicts, read straight from the SQLite file."""
    day = h.rules.business_day(h.clock())
    with h.store.read() as conn:
        tickets = {r["id"]: (r["number"], r["status"], r["queue_code"], r["target_counter"],
                             r["order_at"], r["counter_number"], r["recalls"])
                   for r in conn.execute("SELECT * FROM tickets WHERE day = ? OR NOT ?",
                                         (day, today_only))}
        counters = {r["number"]: (r["status"], r["current_ticket_id"])
                    for r in conn.execute("SELECT * FROM counters")}
        streaks = {r["queue_code"]: r["normal_streak"] for r in conn.execute(
            "SELECT * FROM queue_days WHERE day = ?", (day,))}
        events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    return {"tickets": tickets, "counters": counters, "streaks": streaks, "events": events}


def model_state(m: Model, today_only: bool = False) -> dict:
    tickets = m.today() if today_only else [*m.archive.values(), *m.tickets.values()]
    return {
        "tickets": {t.id: (t.number, t.status, t.queue, t.target, t.order_at, t.counter,
                           t.recalls) for t in tickets},
        "counters": {c.number: (c.status, c.current) for c in m.counters.values()},
        "streaks": dict(m.streak),
        "events": None,
    }


def catalogue_of(queues: dict, counters: dict) -> Catalogue:
    """Queues (code → (prefix, policy override, every override)) each with one procedure named
    P<code>, and counters number → (lanes, mode)."""
    return Catalogue(
        queues={code: {"name": f"Hàng {code}", "prefix": prefix, "priority_policy": pol,
                       "interleave_every": every, "position": position}
                for position, (code, (prefix, pol, every)) in enumerate(queues.items())},
        procedures={f"P{code}": {"name": f"Thủ tục {code}", "field": "Lĩnh vực", "queue": code}
                    for code in queues},
        counters={number: {"queues": [{"code": q, "weight": w} for q, w in lanes],
                           "select_mode": mode}
                  for number, (lanes, mode) in counters.items()})


def model_for(rules: Rules, queues: dict, counters: dict) -> Model:
    return Model(
        queues={code: MQueue(code, prefix, pol or rules.priority_policy,
                             every or rules.interleave_every)
                for code, (prefix, pol, every) in queues.items()},
        counters={n: MCounter(n, list(lanes), mode) for n, (lanes, mode) in counters.items()},
        keeps_time=rules.transfer_keeps_time, finishes=rules.next_finishes_current)


# -- pure functions of hall.policy ---------------------------------------------------------


def lane(key="A", policy_name="strict", every=3, streak=0, weight=1.0, position=0,
         urgent=None, normal=None) -> Lane:
    return Lane(key, PriorityPolicy(policy_name, every), streak, weight, position, urgent, normal)


P1 = Waiting(1, NOW + 10, True)
N1 = Waiting(2, NOW + 5, False)


def test_lane_head_with_one_class_offers_that_class():
    assert lane().head() is None
    assert lane(urgent=P1).head() == P1
    assert lane(normal=N1).head() == N1
    assert lane("A", "interleave", 3, 0, urgent=P1).head() == P1


def test_lane_head_strict_prefers_priority_whatever_the_streak():
    for streak in range(5):
        assert lane(streak=streak, urgent=P1, normal=N1).head() == P1


@pytest.mark.parametrize("every", [1, 2, 3, 5])
def test_lane_head_interleave_turns_on_the_streak(every):
    for streak in range(every + 3):
        head = lane(policy_name="interleave", every=every, streak=streak,
                                     urgent=P1, normal=N1).head()
        assert head == (P1 if streak >= every else N1), streak


def test_next_streak_counts_normal_calls_and_resets_on_priority():
    lanes = lane(streak=2)
    assert lanes.streak_after(N1) == 3
    assert lanes.streak_after(P1) == 0


def test_pick_nothing_waiting_is_none():
    assert policy.pick([], "oldest", NOW) is None
    assert policy.pick([lane(), lane("B")], "ordered", NOW) is None


def test_pick_ordered_takes_the_first_lane_with_someone_waiting():
    old = Waiting(9, NOW - 3600, False)
    lanes = [lane("A", position=0), lane("B", position=1, normal=N1),
             lane("C", position=2, normal=old)]
    assert policy.pick(lanes, "ordered", NOW) == (lanes[1], N1)


def test_pick_oldest_takes_the_longest_weighted_wait():
    a = Waiting(1, NOW - 100, False)  # waited 100 s
    b = Waiting(2, NOW - 60, False)  # waited 60 s
    lanes = [lane("A", normal=a), lane("B", position=1, normal=b)]
    assert policy.pick(lanes, "oldest", NOW)[1] == a
    heavy = [lane("A", normal=a), lane("B", position=1, weight=2.0, normal=b)]
    assert policy.pick(heavy, "oldest", NOW)[1] == b  # 120 weighted seconds beat 100


def test_pick_oldest_ties_go_to_the_earlier_ticket():
    a = Waiting(5, NOW - 100, False)
    b = Waiting(3, NOW - 50, False)
    lanes = [lane("A", normal=a), lane("B", weight=2.0, normal=b)]  # both 100 weighted s
    assert policy.pick(lanes, "oldest", NOW)[1] == a
    same = Waiting(4, NOW - 100, False)
    lanes = [lane("A", normal=a), lane("B", normal=same)]
    assert policy.pick(lanes, "oldest", NOW)[1] == same  # same time: lower id


def test_pick_oldest_strict_priority_heads_jump_interleave_ones_do_not():
    old = Waiting(1, NOW - 3000, False)
    young_p = Waiting(2, NOW - 1, True)
    strict = [lane("A", normal=old), lane("B", "strict", urgent=young_p)]
    assert policy.pick(strict, "oldest", NOW)[1] == young_p
    inter = [lane("A", normal=old), lane("B", "interleave", every=1, streak=5, urgent=young_p)]
    assert policy.pick(inter, "oldest", NOW)[1] == old


@settings(max_examples=500, deadline=None, database=None)
@given(kind=st.sampled_from(("strict", "interleave")), every=st.integers(1, 6),
       streak=st.one_of(st.none(), st.integers(0, 12)),
       classes=st.lists(st.booleans(), min_size=1, max_size=40))
def test_who_is_next_and_how_many_ahead_always_agree(kind, every, streak, classes):
    """One queue of waiting tickets (True: priority) in arrival order, and a streak: calling
    them one by one with ``head`` (as a counter does) calls exactly ``ahead`` tickets before
    each one (as its ticket and phone page promise)."""
    rule = PriorityPolicy(kind, every)
    waiting = [Waiting(i, NOW + i, urgent) for i, urgent in enumerate(classes)]
    promised = {}
    for ticket in waiting:
        mine = [t for t in waiting if t.priority == ticket.priority]
        before = mine.index(ticket)
        others = sum(1 for t in waiting if t.priority != ticket.priority)
        promised[ticket.id] = rule.ahead(ticket.priority, before, others, streak)
    called, left, now_streak = [], list(waiting), streak
    while left:
        urgent = next((t for t in left if t.priority), None)
        normal = next((t for t in left if not t.priority), None)
        head = rule.head(urgent, normal, now_streak)
        called.append(head.id)
        now_streak = rule.next_streak(now_streak, head.priority)
        left.remove(head)
    assert {t.id: called.index(t.id) for t in waiting} == promised


# -- readable examples on the real hall ----------------------------------------------------


@pytest.fixture
def two_queues(tmp_path, clock):
    """Builder of a hall with queues A, B (prefix A, B) and counters given as lanes/mode."""
    opened = []

    def make(rules=None, queues=None, counters=None):
        rules = rules or Rules()
        queues = queues or {"A": ("A", None, None), "B": ("B", None, None)}
        counters = counters or {1: ([("A", 1.0)], "oldest")}
        h = open_hall(tmp_path / f"h{len(opened)}.db", catalogue_of(queues, counters),
                      clock=clock, rules=rules)
        opened.append(h)
        return h

    yield make
    for h in opened:
        h.close()


def issue_all(h: Hall, clock: Clock, pattern: str, procedure: str = "PA") -> list[str]:
    """Issue one ticket per letter (P priority, N normal), a second apart; their numbers."""
    numbers = []
    for kind in pattern:
        numbers.append(h.issuing.issue(procedure, priority="elderly" if kind == "P" else None)
                       ["number"])
        clock.advance(1)
    return numbers


def drain(h: Hall, counter: int = 1) -> list[str]:
    """Call until nobody waits; the numbers in call order."""
    called = []
    while True:
        try:
            called.append(h.calling.call_next(counter)["number"])
        except errors.NothingWaiting:
            return called


def test_strict_serves_every_priority_ticket_first(two_queues, clock):
    h = two_queues(Rules(priority_policy="strict"))
    issue_all(h, clock, "NNNPNP")
    assert drain(h) == ["A004", "A006", "A001", "A002", "A003", "A005"]


def test_interleave_one_priority_after_every_n_normal(two_queues, clock):
    h = two_queues(Rules(priority_policy="interleave", interleave_every=2))
    issue_all(h, clock, "NNNNNNPPP")
    # Day start: no call yet today, so a priority ticket goes first; then 2 normal, 1 priority.
    assert drain(h) == ["A007", "A001", "A002", "A008", "A003", "A004", "A009", "A005", "A006"]


def test_interleave_counts_normal_calls_before_a_priority_arrives(two_queues, clock):
    h = two_queues(Rules(priority_policy="interleave", interleave_every=3))
    issue_all(h, clock, "NNNNN")
    assert h.calling.call_next(1)["number"] == "A001"
    issue_all(h, clock, "P")  # A006
    # No priority call yet today: the priority ticket's turn has come at once.
    assert h.calling.call_next(1)["number"] == "A006"
    issue_all(h, clock, "P")  # A007 waits for 3 normal calls after A006
    assert drain(h) == ["A002", "A003", "A004", "A007", "A005"]


def test_queue_overrides_the_hall_policy(two_queues, clock):
    h = two_queues(Rules(priority_policy="strict"),
                   queues={"A": ("A", "interleave", 2), "B": ("B", None, None)},
                   counters={1: ([("A", 1.0)], "oldest"), 2: ([("B", 1.0)], "oldest")})
    issue_all(h, clock, "PPNNNN", "PA")
    issue_all(h, clock, "NNNNPP", "PB")
    assert drain(h, 1) == ["A001", "A003", "A004", "A002", "A005", "A006"]
    assert drain(h, 2) == ["B005", "B006", "B001", "B002", "B003", "B004"]
    # Override only N: the policy stays the hall's.
    h2 = two_queues(Rules(priority_policy="interleave", interleave_every=3),
                    queues={"A": ("A", None, 1)})
    issue_all(h2, clock, "NNNPPP")
    assert drain(h2) == ["A004", "A001", "A005", "A002", "A006", "A003"]


def test_fifo_within_each_class_uses_issue_time_then_id(two_queues, clock):
    h = two_queues(Rules(priority_policy="strict"))
    for kind in "NPNP":  # all in the same second
        h.issuing.issue("PA", priority="elderly" if kind == "P" else None)
    assert drain(h) == ["A002", "A004", "A001", "A003"]


def test_transfer_keeps_the_original_issue_time(two_queues, clock):
    h = two_queues(Rules(priority_policy="strict"),
                   counters={1: ([("A", 1.0)], "oldest"), 2: ([("B", 1.0)], "oldest")})
    issue_all(h, clock, "N", "PA")  # A001 at 08:00:00
    clock.advance(600)
    issue_all(h, clock, "NN", "PB")  # B001, B002 at 08:10
    h.calling.call_next(1)
    h.calling.transfer(1, queue="B")
    # A001 was issued first, so it goes before B001 and B002 in queue B.
    assert drain(h, 2) == ["A001", "B001", "B002"]


def test_transfer_goes_to_the_back_when_rules_say_so(two_queues, clock):
    h = two_queues(Rules(priority_policy="strict", transfer_keeps_time=False),
                   counters={1: ([("A", 1.0)], "oldest"), 2: ([("B", 1.0)], "oldest")})
    issue_all(h, clock, "N", "PA")
    issue_all(h, clock, "NN", "PB")
    h.calling.call_next(1)
    clock.advance(60)
    h.calling.transfer(1, queue="B")
    assert drain(h, 2) == ["B001", "B002", "A001"]


def test_transferred_priority_ticket_stays_priority(two_queues, clock):
    h = two_queues(Rules(priority_policy="strict"),
                   counters={1: ([("A", 1.0)], "oldest"), 2: ([("B", 1.0)], "oldest")})
    issue_all(h, clock, "NN", "PB")
    issue_all(h, clock, "P", "PA")
    h.calling.call_next(1)
    h.calling.transfer(1, queue="B", clerk=None)
    assert drain(h, 2) == ["A001", "B001", "B002"]


def test_oldest_mode_weighs_waits_and_lets_strict_priority_jump(two_queues, clock):
    h = two_queues(Rules(priority_policy="interleave", interleave_every=9),
                   queues={"A": ("A", None, None), "B": ("B", "strict", None)},
                   counters={1: ([("A", 1.0), ("B", 3.0)], "oldest")})
    issue_all(h, clock, "N", "PA")  # A001 at 0 s
    clock.advance(99)  # B001 at 100 s
    issue_all(h, clock, "N", "PB")
    clock.advance(49)  # now 150 s: A001 waited 150, B001 50 × 3 = 150 → tie → older ticket
    assert h.calling.call_next(1)["number"] == "A001"
    issue_all(h, clock, "N", "PA")  # A002 at 150
    clock.advance(1000)  # A002 waited 1001 s, B001 1051 × 3
    assert h.calling.call_next(1)["number"] == "B001"
    issue_all(h, clock, "P", "PB")  # B002: a strict priority head jumps a long wait
    assert h.calling.call_next(1)["number"] == "B002"
    assert h.calling.call_next(1)["number"] == "A002"


def test_ordered_mode_empties_queues_in_the_counters_order(two_queues, clock):
    h = two_queues(Rules(priority_policy="strict"),
                   counters={1: ([("B", 1.0), ("A", 1.0)], "ordered")})
    issue_all(h, clock, "NP", "PA")
    clock.advance(3600)
    issue_all(h, clock, "NN", "PB")
    assert drain(h) == ["B001", "B002", "A002", "A001"]


def test_ticket_sent_to_a_named_counter_is_called_only_there(two_queues, clock):
    h = two_queues(Rules(priority_policy="strict"),
                   counters={1: ([("A", 1.0)], "oldest"), 2: ([("A", 1.0)], "oldest"),
                             3: ([("B", 1.0)], "ordered")})
    issue_all(h, clock, "NN", "PA")
    h.calling.call_next(1)  # A001
    h.calling.transfer(1, to_counter=3)
    with pytest.raises(errors.NotServedHere):
        h.calling.call_number(2, "A001")
    assert drain(h, 2) == ["A002"]  # counter 2 serves A but A001 is not for it
    issue_all(h, clock, "P", "PA")  # A003, a priority ticket in A, which counter 3 doesn't serve
    issue_all(h, clock, "N", "PB")
    # Counter 3 takes the ticket sent to it (first in 'ordered' mode), then its own queue, and
    # never the other tickets of queue A.
    assert drain(h, 3) == ["A001", "B001"]
    assert h.tickets.find("A003")["status"] == "waiting"
    assert drain(h, 1) == ["A003"]


def test_ticket_sent_to_a_counter_of_its_own_queue_skips_other_counters(two_queues, clock):
    h = two_queues(Rules(priority_policy="strict"),
                   counters={1: ([("A", 1.0)], "oldest"), 2: ([("A", 1.0)], "oldest")})
    issue_all(h, clock, "NN", "PA")
    h.calling.call_next(1)
    h.calling.transfer(1, to_counter=2)  # keeps its place in A, but only for counter 2
    assert drain(h, 1) == ["A002"]
    assert drain(h, 2) == ["A001"]


def test_no_show_put_back_keeps_its_place(two_queues, clock):
    h = two_queues(Rules(priority_policy="strict"))
    issue_all(h, clock, "NNN")
    h.calling.call_next(1)
    h.calling.no_show(1)
    h.calling.reactivate("A001")
    assert drain(h) == ["A001", "A002", "A003"]


def test_priority_streak_belongs_to_the_queue_not_the_counter(two_queues, clock):
    h = two_queues(Rules(priority_policy="interleave", interleave_every=2),
                   counters={1: ([("A", 1.0)], "oldest"), 2: ([("A", 1.0)], "oldest")})
    issue_all(h, clock, "NNNNPP")
    called = [h.calling.call_next(n)["number"] for n in (1, 2, 1, 2, 1, 2)]
    assert called == ["A005", "A001", "A002", "A006", "A003", "A004"]


def test_business_day_restarts_the_interleave_turn(two_queues, clock):
    h = two_queues(Rules(priority_policy="interleave", interleave_every=3))
    issue_all(h, clock, "PN")
    assert drain(h) == ["A001", "A002"]  # streak 1 now
    clock.at(8, 0, days=1)
    issue_all(h, clock, "NP")
    assert drain(h) == ["A002", "A001"]  # new day: no call yet, priority first


# -- exhaustive small cases ----------------------------------------------------------------


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A directory for the many halls below: in RAM (/dev/shm) when there is one.

    These tests check ordering, not durability (tests/test_store.py does that), so they need
    not wait for tens of thousands of fsyncs; the files are still real SQLite databases opened
    with the same pragmas.
    """
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        with tempfile.TemporaryDirectory(dir=shm, prefix="goiso-policy-") as path:
            yield Path(path)
    else:
        yield tmp_path_factory.mktemp("policy")


EXHAUSTIVE_QUEUES = {  # code → (prefix, policy override, N override)
    "S": ("S", "strict", None),
    "I1": ("IA", "interleave", 1),
    "I2": ("IB", None, None),  # the hall default: interleave, N = 2
    "I3": ("IC", None, 3),
}
EXHAUSTIVE_COUNTERS = {n: ([(code, 1.0)], "oldest")
                       for n, code in enumerate(EXHAUSTIVE_QUEUES, start=1)}


def sequences():
    """Every arrival order of 1 to 7 tickets, and every 5-step mix of arrivals (P, N) and calls
    (C); each is followed by calls until nobody waits."""
    for length in range(1, 8):
        yield from ("".join(s) for s in itertools.product("PN", repeat=length))
    yield from ("".join(s) for s in itertools.product("PNC", repeat=5))


def call_and_compare(h: Hall, m: Model, counter: int, context) -> bool:
    """Call next at ``counter`` in both; False when both say nobody waits."""
    if m.choose(counter, h.clock()) is None:
        with pytest.raises(errors.NothingWaiting):
            h.calling.call_next(counter)
        return False
    got = h.calling.call_next(counter)
    assert got["number"] == m.run("call", counter, h.clock()).number, context
    return True


@pytest.mark.slow
def test_every_small_sequence_matches_the_model(scratch):
    clock = Clock()
    rules = Rules(priority_policy="interleave", interleave_every=2)
    h = open_hall(scratch / "exhaustive.db", catalogue_of(EXHAUSTIVE_QUEUES, EXHAUSTIVE_COUNTERS),
                  clock=clock, rules=rules)
    m = model_for(rules, EXHAUSTIVE_QUEUES, EXHAUSTIVE_COUNTERS)
    counter_of = {code: n for n, ([(code, _)], _) in EXHAUSTIVE_COUNTERS.items()}
    checked = 0
    try:
        for day, seq in enumerate(sequences()):
            clock.set(START + timedelta(days=day))
            if day:
                m.new_day()
            for step in seq:
                clock.advance(10)
                for code, counter in counter_of.items():
                    if step == "C":
                        checked += call_and_compare(h, m, counter, (seq, code))
                        continue
                    got = h.issuing.issue(f"P{code}",
                                          priority="elderly" if step == "P" else None)
                    t = m.run("issue", code, step == "P", clock())
                    assert (got["id"], got["number"]) == (t.id, t.number), (seq, code)
                    # waiting_ahead is exact for one counter serving one queue.
                    ahead = m.call_order(counter, clock()).index(t.id)
                    assert got["waiting_ahead"] == ahead, (seq, code, t.number)
            for code, counter in counter_of.items():  # then call until nobody waits
                clock.advance(10)
                while call_and_compare(h, m, counter, (seq, code)):
                    checked += 1
            assert model_state(m, True) == db_state(h, True) | {"events": None}, seq
    finally:
        h.close()
    assert checked > 9_000  # calls compared one by one


# -- random sequences with hypothesis ------------------------------------------------------

QUEUE_CODES = ("A", "B", "C")
COUNTER_NUMBERS = (1, 2, 3)


@st.composite
def hall_setups(draw):
    """A random hall: default policy and N, per-queue overrides, counters' lanes and modes."""
    rules = Rules(priority_policy=draw(st.sampled_from(("strict", "interleave"))),
                  interleave_every=draw(st.integers(1, 4)),
                  transfer_keeps_time=draw(st.booleans()),
                  next_finishes_current=draw(st.booleans()))
    queues = {code: (code, draw(st.sampled_from((None, "strict", "interleave"))),
                     draw(st.sampled_from((None, 1, 2, 3)))) for code in QUEUE_CODES}
    counters = {}
    for number in COUNTER_NUMBERS:
        served = draw(st.permutations(QUEUE_CODES))[:draw(st.integers(0 if number == 3 else 1,
                                                                      3))]
        counters[number] = ([(q, draw(st.sampled_from((0.5, 1.0, 2.0)))) for q in served],
                            draw(st.sampled_from(("oldest", "ordered"))))
    return rules, queues, counters


counter_st = st.sampled_from(COUNTER_NUMBERS)
pick_st = st.integers(0, 99)
OPERATIONS = st.one_of(
    *[st.tuples(st.just("issue"), st.sampled_from(QUEUE_CODES), st.booleans())] * 4,
    *[st.tuples(st.just("call"), counter_st)] * 3,
    *[st.tuples(st.just("advance"), st.integers(0, 900))] * 2,
    st.tuples(st.just("finish"), counter_st),
    st.tuples(st.just("no_show"), counter_st),
    st.tuples(st.just("recall"), counter_st),
    st.tuples(st.just("transfer_queue"), counter_st, st.sampled_from(QUEUE_CODES)),
    st.tuples(st.just("transfer_counter"), counter_st, counter_st),
    st.tuples(st.just("call_number"), counter_st, pick_st),
    st.tuples(st.just("reactivate"), pick_st),
    st.tuples(st.just("cancel"), pick_st),
    st.tuples(st.sampled_from(("pause", "resume", "close")), counter_st),
    st.tuples(st.just("new_day")),
)


def apply(h: Hall, m: Model, clock: Clock, op: tuple):
    """Run one operation on the model and on the hall; they must agree on the outcome."""
    name, *args = op
    now = clock()
    if name == "advance":
        clock.advance(args[0])
        return
    if name == "new_day":
        clock.set(clock.local().replace(hour=8, minute=0, second=0) + timedelta(days=1))
        m.new_day()
        return
    today = m.today()
    if name in ("call_number", "reactivate", "cancel"):
        if not today:
            return
        t = today[args[-1] % len(today)]
        args = [*args[:-1], t.id]
    real = {
        "issue": lambda q, p: h.issuing.issue(f"P{q}", priority="elderly" if p else None),
        "call": lambda n: h.calling.call_next(n),
        "finish": lambda n: h.calling.finish(n),
        "no_show": lambda n: h.calling.no_show(n),
        "recall": lambda n: h.calling.recall(n),
        "transfer_queue": lambda n, q: h.calling.transfer(n, queue=q),
        "transfer_counter": lambda n, to: h.calling.transfer(n, to_counter=to),
        "call_number": lambda n, tid: h.calling.call_number(n, m.tickets[tid].number),
        "reactivate": lambda tid: h.calling.reactivate(m.tickets[tid].number),
        "cancel": lambda tid: h.calling.cancel(m.tickets[tid].number),
        "pause": lambda n: h.desk.pause(n),
        "resume": lambda n: h.desk.resume(n),
        "close": lambda n: h.desk.close(n),
    }[name]
    modelled = {
        "issue": lambda q, p: m.run("issue", q, p, now),
        "call": lambda n: m.run("call", n, now),
        "transfer_queue": lambda n, q: m.run("transfer", n, q, None, now),
        "transfer_counter": lambda n, to: m.run("transfer", n, None, to, now),
        "pause": lambda n: m.run("set_status", n, "paused"),
        "resume": lambda n: m.run("set_status", n, "open"),
        "close": lambda n: m.run("set_status", n, "closed"),
    }.get(name, lambda *a: m.run(name, *a))
    try:
        expected = modelled(*args)
    except errors.HallError as exc:
        before = db_state(h)
        with pytest.raises(type(exc)):
            real(*args)
        assert db_state(h) == before, f"{op} failed but changed the database"
        return
    got = real(*args)
    if isinstance(expected, MTicket):
        assert (got["id"], got["number"]) == (expected.id, expected.number), op


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(setup=hall_setups(), ops=st.lists(OPERATIONS, min_size=10, max_size=60))
def test_random_operations_match_the_model(scratch, setup, ops):
    rules, queues, counters = setup
    clock = Clock()
    h = open_hall(Path(tempfile.mkdtemp(dir=scratch)) / "hall.db", catalogue_of(queues, counters),
                  clock=clock, rules=rules)
    m = model_for(rules, queues, counters)
    try:
        for i, op in enumerate(ops):
            apply(h, m, clock, op)
            assert db_state(h) | {"events": None} == model_state(m), f"after step {i}: {op}"
    finally:
        h.close()


SINGLE_OPS = st.one_of(
    *[st.tuples(st.just("issue"), st.just("A"), st.booleans())] * 3,
    *[st.tuples(st.just("call"), st.sampled_from((1, 2)))] * 2,
    st.tuples(st.just("advance"), st.integers(0, 300)),
    st.tuples(st.just("no_show"), st.sampled_from((1, 2))),
    st.tuples(st.just("reactivate"), pick_st),
    st.tuples(st.just("call_number"), st.sampled_from((1, 2)), pick_st),
)


@settings(max_examples=100, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(policy_name=st.sampled_from(("strict", "interleave")), every=st.integers(1, 4),
       counters=st.integers(1, 2), ops=st.lists(SINGLE_OPS, min_size=10, max_size=60))
def test_waiting_ahead_is_exact_for_one_queue(scratch, policy_name, every, counters, ops):
    """With one queue (served by one or two counters), "people ahead" is the true count."""
    clock = Clock()
    rules = Rules(priority_policy=policy_name, interleave_every=every)
    queues = {"A": ("A", None, None)}
    desks = {n: ([("A", 1.0)], "oldest") for n in range(1, counters + 1)}
    h = open_hall(Path(tempfile.mkdtemp(dir=scratch)) / "hall.db", catalogue_of(queues, desks),
                  clock=clock, rules=rules)
    m = model_for(rules, queues, desks)
    try:
        for op in ops:
            if op[0] in ("call", "no_show", "call_number") and op[1] > counters:
                continue
            apply(h, m, clock, op)
            order = m.call_order(1, clock())
            for t in m.today():
                if t.status == "waiting":
                    assert h.tickets.find(t.number)["waiting_ahead"] == order.index(t.id), (
                        t.number, order)
    finally:
        h.close()
