"""Which waiting ticket a counter calls next: the priority policy, as pure functions.

A *lane* is one queue a counter serves (or the tickets transferred to that counter by name).
Inside a lane, tickets are FIFO by ``order_at`` within each class (priority, normal); the lane's
policy decides between the two heads. Across lanes the counter's select mode decides.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Waiting:
    """A waiting ticket as the policy sees it."""

    id: int
    order_at: float
    priority: bool


@dataclass(frozen=True)
class Lane:
    """One queue as seen by one counter at the moment of a call."""

    key: str
    policy: str  # 'strict' or 'interleave'
    every: int  # interleave: one priority after this many normal calls
    streak: int  # normal calls since this queue's last priority call today
    weight: float
    position: int
    urgent: Waiting | None  # oldest priority ticket
    normal: Waiting | None  # oldest normal ticket


def lane_head(lane: Lane) -> Waiting | None:
    """The ticket this lane offers next under its policy."""
    if lane.urgent is None:
        return lane.normal
    if lane.normal is None or lane.policy == "strict":
        return lane.urgent
    return lane.urgent if lane.streak >= lane.every else lane.normal


def pick(lanes: list[Lane], mode: str, now: float) -> tuple[Lane, Waiting] | None:
    """The lane and ticket a counter calls next, or None if nothing waits.

    ``ordered``: the first lane (by position) that has someone waiting.
    ``oldest``: strict-priority heads first, then the longest weighted wait
    (a lane of weight 2 counts its waits twice); ties go to the earlier ticket.
    """
    offers = [(lane, head) for lane in lanes if (head := lane_head(lane)) is not None]
    if not offers:
        return None
    if mode == "ordered":
        return min(offers, key=lambda o: (o[0].position, o[1].order_at, o[1].id))

    def rank(offer):
        lane, head = offer
        jumps = head.priority and lane.policy == "strict"
        return (not jumps, -(now - head.order_at) * lane.weight, head.order_at, head.id)

    return min(offers, key=rank)


def next_streak(lane: Lane, called: Waiting) -> int:
    """The lane's normal streak after calling ``called``."""
    return 0 if called.priority else lane.streak + 1
