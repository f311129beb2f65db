"""The lanes a counter calls from, read from the database for the priority policy.

For each queue the counter serves (and each other queue that has tickets sent to the counter by
name) a lane holds the oldest waiting priority ticket and the oldest normal one, each found by
one ordered index lookup, and the queue's streak of normal calls today.
"""

from . import errors
from .policy import Lane, PriorityPolicy, Waiting
from .transaction import Reading


def _heads(origins: tuple[str, ...]) -> str:
    """The heads of a lane: for each class (priority, normal) and each origin (the queue's own
    tickets, those sent to the counter by name) the oldest waiting ticket."""
    return " UNION ALL ".join(
        "SELECT * FROM (SELECT id, order_at, priority FROM tickets WHERE queue_code = :queue"
        f" AND day = :day AND status = 'waiting' AND priority IS {klass}"
        f" AND target_counter {origin} ORDER BY order_at, id LIMIT 1)"
        for klass in ("NOT NULL", "NULL") for origin in origins)


_HEADS = _heads(("IS NULL", "= :counter"))  # a queue the counter serves
_HEADS_SENT = _heads(("= :counter",))  # another queue: only what was sent to this counter


def _lane(reading: Reading, queue, counter: int, weight: float, position: int,
          served: bool = True) -> Lane:
    """``queue`` is a queues row with the day's ``normal_streak`` (NULL: no call yet)."""
    heads: dict[bool, Waiting] = {}
    args = {"queue": queue["code"], "day": reading.day, "counter": counter}
    for row in reading.all(_HEADS if served else _HEADS_SENT, args):
        found = Waiting(row["id"], row["order_at"], row["priority"] is not None)
        best = heads.get(found.priority)
        if best is None or (found.order_at, found.id) < (best.order_at, best.id):
            heads[found.priority] = found
    return Lane(queue["code"], PriorityPolicy.of(queue, reading.rules), queue["normal_streak"],
                weight, position, urgent=heads.get(True), normal=heads.get(False))


def lanes(reading: Reading, counter: int) -> list[Lane]:
    """Every lane of ``counter`` now, in its serving order."""
    found = [
        _lane(reading, row, counter, row["weight"], row["lane_position"])
        for row in reading.all(
            "SELECT q.*, cq.weight, cq.position AS lane_position, qd.normal_streak"
            " FROM counter_queues cq JOIN queues q ON q.code = cq.queue_code"
            " LEFT JOIN queue_days qd ON qd.day = ? AND qd.queue_code = q.code"
            " WHERE cq.counter_number = ? ORDER BY cq.position, q.code",
            (reading.day, counter))]
    # Tickets sent to this counter by name, from queues it does not serve itself.
    served = tuple(lane.key for lane in found) or ("",)
    marks = ",".join("?" * len(served))
    for queue in reading.all(
            f"SELECT q.*, qd.normal_streak FROM queues q"
            f" LEFT JOIN queue_days qd ON qd.day = ? AND qd.queue_code = q.code"
            f" WHERE q.code IN (SELECT t.queue_code FROM tickets t WHERE t.day = ?"
            f" AND t.status = 'waiting' AND t.target_counter = ?"
            f" AND t.queue_code NOT IN ({marks}))",
            (reading.day, reading.day, counter, *served)):
        found.append(_lane(reading, queue, counter, 1.0, -1, served=False))
    return found


def lane_of(reading: Reading, counter: int, ticket) -> Lane:
    """The lane of ``counter`` that ``ticket`` waits in."""
    for lane in lanes(reading, counter):
        if lane.key == ticket["queue_code"]:
            return lane
    raise errors.NotServedHere(number=ticket["number"], counter=counter)


def record_call(change, lane: Lane, called: Waiting) -> None:
    """Remember the queue's streak of normal calls after ``called`` (for interleaving)."""
    change.run("INSERT INTO queue_days (day, queue_code, normal_streak) VALUES (?, ?, ?)"
               " ON CONFLICT (day, queue_code)"
               " DO UPDATE SET normal_streak = excluded.normal_streak",
               (change.day, lane.key, lane.streak_after(called)))
