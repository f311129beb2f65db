"""Where a waiting ticket stands: how many will be called before it, and about how long that
takes (the number every ticket, kiosk screen and phone page shows)."""

import math

from .policy import PriorityPolicy
from .transaction import Reading

SAMPLES_BEFORE_MEASURING = 3  # served tickets of the day before their mean replaces the setting


def service_minutes(reading: Reading, queue) -> float:
    """The mean service time of the queue's last tickets today, else its configured one."""
    rows = reading.all(
        "SELECT finished_at - called_at FROM tickets WHERE queue_code = ? AND day = ?"
        " AND status = 'done' AND called_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?",
        (queue["code"], reading.day, reading.rules.service_samples))
    if len(rows) >= SAMPLES_BEFORE_MEASURING:
        return max(0.5, sum(r[0] for r in rows) / len(rows) / 60)
    return float(queue["service_minutes"])


def _count(reading: Reading, ticket, priority: bool, before: bool) -> int:
    """Waiting tickets of the ticket's queue in one class, all or only those ahead of it (by
    ``(order_at, id)``, as two plain ranges of the index)."""
    where = ("FROM tickets WHERE queue_code = ? AND day = ? AND status = 'waiting'"
             f" AND target_counter IS NULL AND priority IS {'NOT NULL' if priority else 'NULL'}")
    args = (ticket["queue_code"], ticket["day"])
    if not before:
        return reading.value(f"SELECT count(*) {where}", args)
    return reading.value(
        f"SELECT (SELECT count(*) {where} AND order_at < ?)"
        f" + (SELECT count(*) {where} AND order_at = ? AND id < ?)",
        (*args, ticket["order_at"], *args, ticket["order_at"], ticket["id"]))


def position(reading: Reading, ticket, queue) -> tuple[int, int | None]:
    """People called before ``ticket`` under its queue's policy, and the expected wait in
    minutes: ``ceil((ahead + 1) × mean service time ÷ working counters)``, 0 when nobody is
    ahead and a working counter is free, None when no counter serving the queue works."""
    priority = ticket["priority"] is not None
    streak = reading.one("SELECT normal_streak FROM queue_days WHERE day = ? AND queue_code = ?",
                         (ticket["day"], queue["code"]))
    ahead = PriorityPolicy.of(queue, reading.rules).ahead(
        priority, _count(reading, ticket, priority, True),
        _count(reading, ticket, not priority, False), None if streak is None else streak[0])
    desks = reading.all(
        "SELECT c.status, c.current_ticket_id FROM counters c JOIN counter_queues cq"
        " ON cq.counter_number = c.number WHERE cq.queue_code = ? AND c.active",
        (queue["code"],))
    # Paused counters count only when no counter is open: a break ends, a closed desk does not.
    working = [d for d in desks if d["status"] == "open"] or [
        d for d in desks if d["status"] == "paused"]
    if not working:
        return ahead, None
    if ahead == 0 and any(d["current_ticket_id"] is None for d in working):
        return 0, 0
    return ahead, math.ceil((ahead + 1) * service_minutes(reading, queue) / len(working))
