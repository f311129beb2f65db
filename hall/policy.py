"""Who is called next and how many are ahead: the priority policy, as pure functions.

One ``PriorityPolicy`` answers both questions, so what the counter does and what the ticket and
the phone page promise cannot drift apart (tests/test_policy.py checks them against each other
on random queues).

A *lane* is one queue a counter serves (or the tickets transferred to that counter by name).
Inside a lane, tickets are FIFO by ``order_at`` within each class (priority, normal); the lane's
policy decides between the two heads. Across lanes the counter's select mode decides.
"""

from dataclasses import dataclass

POLICIES = ("strict", "interleave")


@dataclass(frozen=True)
class Waiting:
    """A waiting ticket as the policy sees it."""

    id: int
    order_at: float
    priority: bool


@dataclass(frozen=True)
class PriorityPolicy:
    """``strict``: a waiting priority ticket always goes first; ``interleave``: one priority
    ticket after every ``every`` normal calls of the queue, and first of all at the start of the
    day.

    ``streak`` is the number of normal calls since the queue's last priority call today, or
    None when the queue has called nobody yet today (nobody has been kept waiting: a priority
    ticket goes first).
    """

    kind: str = "strict"
    every: int = 3

    @classmethod
    def of(cls, queue, rules) -> "PriorityPolicy":
        """The policy of a queue (a queues row), or the hall's when the queue sets none."""
        return cls(queue["priority_policy"] or rules.priority_policy,
                   queue["interleave_every"] or rules.interleave_every)

    def _due(self, streak: int | None) -> int:
        return self.every if streak is None else streak

    def head(self, urgent: Waiting | None, normal: Waiting | None,
             streak: int | None) -> Waiting | None:
        """The ticket called next from a lane whose oldest priority and normal tickets are
        ``urgent`` and ``normal``."""
        if urgent is None:
            return normal
        if normal is None or self.kind == "strict":
            return urgent
        return urgent if self._due(streak) >= self.every else normal

    def next_streak(self, streak: int | None, called_priority: bool) -> int:
        """The lane's streak after a call."""
        return 0 if called_priority else self._due(streak) + 1

    def ahead(self, priority: bool, before: int, others: int, streak: int | None) -> int:
        """How many tickets of the lane are called before one that waits now, if nobody new
        comes: ``before`` tickets of its own class wait ahead of it, ``others`` of the other
        class wait in all."""
        if self.kind == "strict":
            return before if priority else before + others
        # Normal calls still due before the next priority turn.
        gap = max(0, self.every - self._due(streak))
        if priority:
            # It is the (before + 1)-th priority turn: turns come after ``gap`` normal calls,
            # then one every ``every`` normal calls.
            return before + min(others, gap + before * self.every)
        if before < gap:
            return before
        # Priority turns that come before its own call, as long as priority tickets last.
        return before + min(others, (before - gap) // self.every + 1)


@dataclass(frozen=True)
class Lane:
    """One queue as seen by one counter at the moment of a call."""

    key: str
    policy: PriorityPolicy
    streak: int | None
    weight: float
    position: int
    urgent: Waiting | None  # oldest priority ticket
    normal: Waiting | None  # oldest normal ticket

    def head(self) -> Waiting | None:
        """The ticket this lane offers next."""
        return self.policy.head(self.urgent, self.normal, self.streak)

    def streak_after(self, called: Waiting) -> int:
        """The lane's streak once ``called`` is called."""
        return self.policy.next_streak(self.streak, called.priority)


def pick(lanes: list[Lane], mode: str, now: float) -> tuple[Lane, Waiting] | None:
    """The lane and ticket a counter calls next, or None if nothing waits.

    ``ordered``: the first lane (by position) that has someone waiting.
    ``oldest``: strict-priority heads first, then the longest weighted wait
    (a lane of weight 2 counts its waits twice); ties go to the earlier ticket.
    """
    offers = [(lane, head) for lane in lanes if (head := lane.head()) is not None]
    if not offers:
        return None
    if mode == "ordered":
        return min(offers, key=lambda o: (o[0].position, o[1].order_at, o[1].id))

    def rank(offer):
        lane, head = offer
        jumps = head.priority and lane.policy.kind == "strict"
        return (not jumps, -(now - head.order_at) * lane.weight, head.order_at, head.id)

    return min(offers, key=rank)
