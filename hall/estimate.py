"""Where a waiting ticket stands: how many will be called before it, and how long that takes, as
an honest range (the words every ticket, kiosk screen, phone page and the monitor show).

The model (measured against a simulated day by ``python -m bench simulate``):

* **Service time** of the queue: its last ``service_samples`` served tickets of the day, each
  capped at ``OUTLIER_CAP`` × their median so a ticket held open across a clerk's pause cannot
  blow it up; blended with the configured minutes while there are few samples. The people ahead
  take their own procedures' recent times (``mix``).
* **Counters**: each counter serving the queue that is open and really calling (an open counter
  idle while people wait, or that has served nobody today while others have, is a clerk who is
  not there — unless no other counter calls), with its share of the queue (a counter serving
  several queues also serves their tickets that came first, and its last calls show its habit)
  and when it is next free (the rest of the ticket it serves; a paused counter at the end of its
  usual pause). The last business day's pauses and late openings are expected again at the same
  hours (``habits``); a closed counter counts only when it opened about now on that day.
* **Order**: the people ahead under the queue's priority policy (``PriorityPolicy.ahead``), plus
  the priority tickets and kept-place transfers still to come at the last hour's rate. The
  ticket is called at the (ahead + 1)-th free slot of those counters.
* **Range**: the spread of a sum of service times (√n) and of the services in progress, plus a
  share for what the model cannot know; "unknown" when no counter serving the queue works. A
  hall not open yet adds the time until it opens; a wait that runs past the hall's (or the
  queue's) closing time is flagged.
"""

import heapq
import math
from dataclasses import dataclass
from datetime import datetime

from .events import EventKind
from .policy import PriorityPolicy
from .rules import parse_hhmm
from .transaction import Reading

PRIOR_WEIGHT = 3  # the configured service time counts as this many samples
OUTLIER_CAP = 3.0  # a sample above this many medians counts as this many medians
PAUSE_MINUTES = 30.0  # how long a pause usually lasts
PAUSE_GONE_MINUTES = 120.0  # a pause this long is a counter gone for the day
IDLE_GRACE_MINUTES = 3.0  # an open counter idle this long while people wait is not staffed
STEADY_AFTER = 16  # calls still to place before the steady pace is extrapolated
SPREAD_MODEL = 0.25  # what the model cannot know, as a share of the wait
SPREAD_CURRENT = 0.5  # the uncertainty of the services in progress, in services
SPREAD_LOW, SPREAD_HIGH = 1.0, 1.8  # standard deviations below and above the centre
PROCEDURE_SAMPLES = 100  # the queue's last served tickets each procedure's time is read from
PROCEDURE_PRIOR = 5  # the queue's time counts as this many samples of a procedure's
MIX_SAMPLES = 40  # the tickets just ahead whose procedures stand for all those ahead
PRIORITY_SAMPLES = 100  # the queue's last tickets the rate of priority tickets is read from
RECENT_CALLS = 10  # a shared counter's last calls that tell the share it gives each queue
SOON_MINUTES = 2  # a call expected within this many minutes is "soon"


@dataclass(frozen=True)
class Estimate:
    """A waiting ticket's expected wait: ``minutes`` the centre, ``low``–``high`` the range (all
    None when unknown), ``after_closing`` when the range runs past closing time."""

    minutes: int | None = None
    low: int | None = None
    high: int | None = None
    after_closing: bool = False

    @property
    def known(self) -> bool:
        """Whether there is an estimate at all."""
        return self.minutes is not None

    def as_view(self) -> dict:
        """The ticket view's fields."""
        return {"eta_minutes": self.minutes,
                "eta_range": None if self.low is None else [self.low, self.high],
                "eta_after_closing": self.after_closing}


UNKNOWN = Estimate()
NO_ESTIMATE = {"eta_minutes": None, "eta_range": None, "eta_after_closing": False}


@dataclass(frozen=True)
class Service:
    """A queue's service time per ticket, in minutes: mean and standard deviation."""

    mean: float
    spread: float


def closed(reading: Reading, queue) -> list[tuple[str, str | None, float]]:
    """The queue's last served tickets today, newest first (the ``tickets_finished`` index):
    status, procedure, minutes held."""
    return [("done", code, max(0.0, seconds) / 60) for code, seconds in reading.all(
        "SELECT procedure_code, finished_at - called_at FROM tickets"
        " WHERE queue_code = ? AND day = ? AND status = 'done'"
        " AND called_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?",
        (queue["code"], reading.day, max(reading.rules.service_samples, PROCEDURE_SAMPLES)))]


def service(reading: Reading, queue, recent: list | None = None) -> Service:
    """The queue's service time from its last closed tickets today (``closed``, read when not
    given), robust to outliers."""
    if recent is None:
        recent = closed(reading, queue)
    prior = float(queue["service_minutes"])
    samples = sorted(minutes for _, _, minutes in recent[:reading.rules.service_samples])
    if not samples:
        return Service(prior, prior * 0.6)
    half = len(samples) // 2
    median = samples[half] if len(samples) % 2 else (samples[half - 1] + samples[half]) / 2
    capped = [min(s, OUTLIER_CAP * max(median, 0.5)) for s in samples]
    n = len(capped)
    mean = sum(capped) / n
    var = sum((s - mean) ** 2 for s in capped) / max(1, n - 1) if n > 1 else (0.6 * mean) ** 2
    blended = (mean * n + prior * PRIOR_WEIGHT) / (n + PRIOR_WEIGHT)
    spread = math.sqrt((var * n + (0.6 * prior) ** 2 * PRIOR_WEIGHT) / (n + PRIOR_WEIGHT))
    return Service(max(0.5, blended), spread)


def mix(reading: Reading, queue, served: Service, before: float, recent: list) -> float:
    """The mean service time of the tickets in line before ``before`` (an ``order_at``), from
    their procedures: each procedure's times among the ``recent`` closed tickets (capped as in
    ``service``), leaning on the queue's while it has few. The queue's mean when nobody is
    ahead."""
    # The mix of the nearest normal tickets ahead (one range of the index, backwards) stands
    # for all.
    ahead = reading.all("SELECT procedure_code, count(*) FROM (SELECT procedure_code"
                        " FROM tickets WHERE queue_code = ? AND day = ? AND status = 'waiting'"
                        " AND priority IS NULL AND target_counter IS NULL AND order_at < ?"
                        " ORDER BY order_at DESC LIMIT ?) GROUP BY procedure_code",
                        (queue["code"], reading.day, before, MIX_SAMPLES))
    if not ahead:
        return served.mean
    cap = OUTLIER_CAP * served.mean
    sums: dict[str | None, list[float]] = {}
    for status, code, minutes in recent:
        if status == "done":
            sums.setdefault(code, []).append(min(minutes, cap))
    times = {code: (len(values), sum(values) / len(values)) for code, values in sums.items()}
    total = weighted = 0.0
    for code, waiting in ahead:
        n, mean = times.get(code, (0, served.mean))
        weighted += waiting * (n * mean + PROCEDURE_PRIOR * served.mean) / (n + PROCEDURE_PRIOR)
        total += waiting
    return max(0.5, weighted / total)


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


def ahead_of(reading: Reading, ticket, queue) -> int:
    """People called before ``ticket`` under its queue's policy, if nobody new comes."""
    priority = ticket["priority"] is not None
    streak = reading.one("SELECT normal_streak FROM queue_days WHERE day = ? AND queue_code = ?",
                         (ticket["day"], queue["code"]))
    return PriorityPolicy.of(queue, reading.rules).ahead(
        priority, _count(reading, ticket, priority, True),
        _count(reading, ticket, not priority, False), None if streak is None else streak[0])


@dataclass(frozen=True)
class Desk:
    """A counter as the estimate sees it: when it is next free (minutes from now) and the share
    of its time the queue gets."""

    free_in: float
    share: float
    off: tuple[tuple[float, float], ...] = ()  # stretches it will not call (its habits)


# A counter's changes of state, as the SQL's parameters.
_MOVES = {"paused": EventKind.COUNTER_PAUSED.value, "resumed": EventKind.COUNTER_RESUMED.value,
          "closed": EventKind.COUNTER_CLOSED.value}

# Each counter serving the queue, with what the estimate needs in one read (each part one
# index lookup): the ticket it serves, its last finish today, its last change of state today,
# and which queues its last calls were for.
_DESKS = """
SELECT c.number, c.status, cq.weight,
       (SELECT called_at FROM tickets WHERE id = c.current_ticket_id AND status = 'called')
           AS serving_since,
       (SELECT max(finished_at) FROM tickets WHERE counter_number = c.number AND day = :day)
           AS last_finish,
       (SELECT max(at) FROM events WHERE day = :day AND kind IN
           (:paused, :resumed, :closed) AND counter_number = c.number)
           AS last_move,
       (SELECT avg(queue_code = :queue) FROM (SELECT queue_code FROM tickets
           WHERE counter_number = c.number AND day = :day AND finished_at IS NOT NULL
           ORDER BY finished_at DESC LIMIT :recent)) AS recent_share
FROM counters c LEFT JOIN counter_queues cq
    ON cq.counter_number = c.number AND cq.queue_code = :queue
WHERE c.active AND """


def _loads(reading: Reading, queue_code: str, before: float
           ) -> dict[int, list[tuple[str, float, int]]]:
    """Per counter serving ``queue_code``: each other queue it serves, that lane's weight and
    how many wait in it that came before ``before`` (an ``order_at``: a counter picking the
    oldest wait calls them first; one range of the waiting index per queue)."""
    lanes = reading.all(
        "SELECT o.counter_number, o.queue_code, o.weight FROM counter_queues o"
        " WHERE o.counter_number IN (SELECT counter_number FROM counter_queues"
        " WHERE queue_code = ?) AND o.queue_code != ?", (queue_code, queue_code))
    codes = sorted({row[1] for row in lanes})
    marks = ",".join("?" * len(codes))
    waiting = dict(reading.all(
        f"SELECT queue_code, count(*) FROM tickets WHERE queue_code IN ({marks}) AND day = ?"
        f" AND status = 'waiting' AND order_at < ? GROUP BY queue_code",
        (*codes, reading.day, before))) if codes else {}
    found: dict[int, list[tuple[str, float, int]]] = {}
    for counter, code, weight in lanes:
        found.setdefault(counter, []).append((code, weight, waiting.get(code, 0)))
    return found


def _minute_of_day(reading: Reading, ts: float) -> float:
    local = reading.rules.local(ts)
    return local.hour * 60 + local.minute + local.second / 60


def habits(reading: Reading) -> dict[int, list[tuple[float, float]]]:
    """Per counter, the stretches of the last business day it did not call, in minutes from
    now on today's clock: each pause or closing until it opened again, and the morning until a
    late opening. Halls keep their hours: lunch in turns, a desk that opens at nine."""
    last = reading.value("SELECT max(day) FROM events WHERE day < ?", (reading.day,))
    if last is None:
        return {}
    now = _minute_of_day(reading, reading.now)
    found: dict[int, list[tuple[float, float]]] = {}
    off: dict[int, float] = {}  # counter -> when its stretch off (pause or closing) began
    for at, kind, counter in reading.all(
            "SELECT at, kind, counter_number FROM events WHERE day = ? AND kind IN (?, ?, ?)"
            " ORDER BY at", (last, *_MOVES.values())):
        minute = _minute_of_day(reading, at) - now
        if kind != EventKind.COUNTER_RESUMED:
            off.setdefault(counter, minute)
        elif counter in off:
            found.setdefault(counter, []).append((off.pop(counter), minute))
        elif counter not in found:  # opened as the day's first change: closed until then
            found[counter] = [(-now, minute)]
    for counter, start in off.items():  # off until the end of that day
        found.setdefault(counter, []).append((start, 24 * 60 - now))
    return found


def desks(reading: Reading, queue, service_time: float, target: int | None = None,
          ahead: int = 0, order_at: float | None = None) -> list[Desk]:
    """The counters that will call the queue's tickets, each with when it is next free and its
    share of the queue until the ticket (``ahead`` before it, in line since ``order_at``) is
    called; a ticket sent to one counter by name: that counter alone."""
    day, now = reading.day, reading.now
    oldest = reading.value("SELECT min(order_at) FROM tickets WHERE queue_code = ? AND day = ?"
                           " AND status = 'waiting'", (queue["code"], day))
    started = reading.one("SELECT 1 FROM tickets WHERE queue_code = ? AND status IN"
                          " ('called', 'done') AND day = ? LIMIT 1",
                          (queue["code"], day)) is not None
    before = now if order_at is None else order_at
    loads = _loads(reading, queue["code"], before) if target is None else {}
    usual = habits(reading)
    found: list[Desk] = []
    idle: list[Desk] = []  # open, free, and not calling while people wait
    which = "cq.queue_code IS NOT NULL" if target is None else "c.number = :target"
    for row in reading.all(_DESKS + which,
                           {"day": day, "queue": queue["code"], "target": target,
                            "recent": RECENT_CALLS, **_MOVES}):
        windows = usual.get(row["number"], ())
        current = next((end for start, end in windows if start <= 0 < end), None)
        later = tuple((start, end) for start, end in windows if start > 0)
        serving = row["serving_since"]
        rest = 0.0 if serving is None else max(0.4 * service_time,
                                               service_time - (now - serving) / 60)
        if row["status"] == "closed":
            if current is None or current >= 24 * 60:
                continue
            rest = current  # it opened about now on the last day
        elif row["status"] == "paused":
            paused_for = (now - (row["last_move"] or now)) / 60
            if current is not None and current < 24 * 60:
                rest = max(rest, current)  # the usual end of this pause
            elif paused_for > PAUSE_GONE_MINUTES:
                continue
            else:
                rest = max(rest, PAUSE_MINUTES - paused_for, 5.0)
        begun = next((start for start, end in windows if start <= 0 < end), None)
        if row["status"] == "open" and current is not None and current < 24 * 60 and (
                (row["last_move"] or 0.0) < now + begun * 60):
            # Its usual pause has begun, not taken yet: it pauses once free.
            later = ((rest, rest + current - begun), *later)
        into = found
        if row["status"] != "open":
            pass
        elif serving is None and row["last_move"] is None and (
                row["last_finish"] is None and started):
            # Open since before today and has served nobody while others have: nobody there.
            into = idle
        elif serving is None and oldest is not None:
            # Free while someone waits: a clerk who is there calls within a minute or two.
            idle_since = max(row["last_finish"] or 0.0, row["last_move"] or 0.0, oldest)
            if (now - idle_since) / 60 > IDLE_GRACE_MINUTES:
                into = idle
        if target is not None:
            into.append(Desk(rest, 1.0, later))
            continue
        others = loads.get(row["number"], [])
        # Until the ticket is called the counter serves this queue's ``ahead + 1`` and the
        # other queues' tickets that came before it (weighted by lane).
        mine = row["weight"] * (ahead + 1)
        share = mine / (mine + sum(weight * n for _, weight, n in others))
        if others and row["recent_share"] is not None:
            # What the counter really gave the queue lately tells its select mode's habits.
            share = (share + row["recent_share"]) / 2
        into.append(Desk(rest, max(0.1, share), later))
    # When no counter is seen calling, the open ones are all there is to go on.
    return found or idle


def slot(desks_: list[Desk], ahead: int, service_time: float) -> float:
    """Minutes until the (ahead + 1)-th call among ``desks_``: each is free at ``free_in``, then
    every service time ÷ its share."""
    heap = [(d.free_in, service_time / d.share, d.off) for d in desks_]
    heapq.heapify(heap)
    calls = ahead
    # Past every counter's habits the calls come at a steady pace: the rest is extrapolated.
    horizon = max((end for d in desks_ for _, end in d.off), default=0.0)
    while True:
        at, every, off = heapq.heappop(heap)
        end = next((end for start, end in off if start <= at < end), None)
        if end is not None:  # its usual pause: it calls again at the end of it
            heapq.heappush(heap, (end, every, off))
            continue
        if calls == 0:
            return at
        if at >= horizon and calls > STEADY_AFTER:
            return at + calls * service_time / sum(d.share for d in desks_)
        calls -= 1
        heapq.heappush(heap, (at + every, every, off))


def _minutes_until(reading: Reading, hhmm: str) -> float:
    """Minutes from now until ``hhmm`` today in the hall (negative when past)."""
    hour, minute = parse_hhmm(hhmm, "closes_at")
    local = reading.rules.local(reading.now)
    then = datetime(local.year, local.month, local.day, hour, minute, tzinfo=local.tzinfo)
    return (then.timestamp() - reading.now) / 60


def _priority_rate(reading: Reading, queue) -> float:
    """Priority tickets issued to the queue a minute, over the last hour."""
    # The queue's last tickets by number (one index range), not all of the day's.
    count = reading.value(
        "SELECT count(priority) FROM (SELECT priority, issued_at FROM tickets WHERE day = ?"
        " AND issued_queue = ? ORDER BY seq DESC LIMIT ?) WHERE issued_at > ?",
        (reading.day, queue["code"], PRIORITY_SAMPLES, reading.now - 3600))
    return count / 60


def _transfer_rate(reading: Reading, queue) -> float:
    """Tickets transferred into the queue a minute, over the last hour."""
    count = reading.value("SELECT count(*) FROM events WHERE day = ? AND kind = ?"
                          " AND at > ? AND queue_code = ?",
                          (reading.day, EventKind.TRANSFERRED.value, reading.now - 3600,
                           queue["code"]))
    return count / 60


def wait(reading: Reading, ticket, queue, ahead: int) -> Estimate:
    """The expected wait of ``ticket`` with ``ahead`` people before it, as a range."""
    rules = reading.rules
    recent = closed(reading, queue)
    served = service(reading, queue, recent)
    order_at = ticket.get("order_at") if isinstance(ticket, dict) else ticket["order_at"]
    working = desks(reading, queue, served.mean, ticket["target_counter"], ahead, order_at)
    opening = _minutes_until(reading, rules.opens_at) if rules.opens_at else 0.0
    if not working:
        return UNKNOWN
    capacity = sum(d.share for d in working)
    centre = slot(working, ahead, mix(reading, queue, served,
                                      reading.now if order_at is None else order_at, recent))
    policy = PriorityPolicy.of(queue, rules)
    # Tickets still to come that will go before this one, a minute: transfers in that keep
    # their place in line, and priority tickets (under interleaving, at most one every
    # ``every`` calls). Each takes a service time of the counters.
    load = 0.0
    if rules.transfer_keeps_time and not (ticket["priority"] and policy.kind == "strict"):
        load = _transfer_rate(reading, queue) * served.mean / capacity
    if ticket["priority"] is None:
        jumps = _priority_rate(reading, queue) * served.mean / capacity
        load += min(jumps, 1 / (policy.every + 1)) if policy.kind == "interleave" else jumps
    centre /= max(0.5, 1 - min(load, 0.5))
    # The sum of the services ahead spreads with √n over the counters; on top of it, when
    # each counter's current service ends is as uncertain as one service.
    spread = math.sqrt(served.spread ** 2 * ((ahead + 1) / capacity ** 2 + SPREAD_CURRENT)
                       + (SPREAD_MODEL * centre) ** 2)
    # Before opening, counters start at the opening time.
    opening = max(0.0, opening)
    centre += opening
    low = max(math.floor(opening), math.floor(centre - SPREAD_LOW * spread))
    high = max(low + 1, math.ceil(centre + SPREAD_HIGH * spread))
    minutes = round(centre)
    if high <= SOON_MINUTES:
        low, minutes = 0, 0
    closing = rules.closes_at or queue["issue_until"]
    late = bool(closing) and centre > _minutes_until(reading, closing)
    return Estimate(minutes, low, high, late)


def position(reading: Reading, ticket, queue) -> tuple[int, Estimate]:
    """People called before ``ticket`` under its queue's policy, and its expected wait."""
    ahead = ahead_of(reading, ticket, queue)
    return ahead, wait(reading, ticket, queue, ahead)


def new_ticket(reading: Reading, queue) -> Estimate:
    """The expected wait of a normal ticket taken now in ``queue`` (a full queues row): behind
    everyone waiting, as the policy would order it."""
    waiting = dict(reading.all(
        "SELECT priority IS NOT NULL, count(*) FROM tickets WHERE queue_code = ? AND day = ?"
        " AND status = 'waiting' AND target_counter IS NULL GROUP BY 1",
        (queue["code"], reading.day)))
    streak = reading.one("SELECT normal_streak FROM queue_days WHERE day = ? AND queue_code = ?",
                         (reading.day, queue["code"]))
    ahead = PriorityPolicy.of(queue, reading.rules).ahead(
        False, waiting.get(0, 0), waiting.get(1, 0), None if streak is None else streak[0])
    return wait(reading, {"priority": None, "target_counter": None}, queue, ahead)


def naive_minutes(reading: Reading, ticket, queue, ahead: int) -> int | None:
    """The naive estimate the simulator compares with: people ahead × the mean service time of
    the queue's last tickets ÷ the open counters serving it (None when none is open)."""
    rows = reading.all(
        "SELECT finished_at - called_at FROM tickets WHERE queue_code = ? AND day = ?"
        " AND status = 'done' AND called_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?",
        (queue["code"], reading.day, reading.rules.service_samples))
    mean = (sum(r[0] for r in rows) / len(rows) / 60 if len(rows) >= 3
            else float(queue["service_minutes"]))
    counters = reading.value(
        "SELECT count(*) FROM counters c JOIN counter_queues cq ON cq.counter_number = c.number"
        " WHERE cq.queue_code = ? AND c.active AND c.status = 'open'", (queue["code"],))
    return None if not counters else math.ceil(ahead * mean / counters)
