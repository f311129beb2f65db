"""A simulated day of a hall through the real core, to measure the wait estimate.

A transport department's hall (4 queues, 6 procedures, 8 counters) runs one day on a real SQLite
file with a fake clock, every action through ``hall`` as a counter page would do it:

* arrivals by hour with a morning peak (Poisson), 8 % priority tickets;
* service times per procedure from a lognormal distribution, each clerk with their own pace;
* counter 7 opens late (09:00), counter 3's clerk is absent all day (the counter was left open),
  every counter pauses for lunch in turns, counter 5 pauses for 15 minutes holding a ticket;
* 5 % no-shows (recalled after a minute, then marked no-show), 6 % of the driving-licence
  tickets transferred to the transport queue after their service;
* the driving-licence queue interleaves priority tickets, the others serve them first.

The hall runs two such days (different arrivals): the first is its history, whose habits the
estimate learns (lunch in turns, the late opening); the second is measured. For every ticket
the estimate is taken when it is issued and again every 10 minutes while it
waits; once it is called, each estimate is compared with the real wait: absolute error of the
centre in minutes (median, P90), the share of real waits (in whole minutes) inside the shown
range and the range's median width, for goiso's estimator and for the naive one (people ahead ×
mean service time ÷ open counters, shown as "about N minutes", counted right within ±20 % or 1
minute).
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hall import Hall, Rules, errors, estimate, records

from . import percentile

TITLE = "a simulated day: wait estimate vs real waits (error, range coverage, naive)"

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = datetime(2026, 11, 26, tzinfo=TZ)  # a Thursday
TARGETS = {"median": 3.0, "p90": 8.0, "coverage": 0.80}

QUEUES = {
    "GPLX": {"name": "Giấy phép lái xe", "prefix": "A", "service_minutes": 6,
             "priority_policy": "interleave", "interleave_every": 3, "position": 1},
    "VT": {"name": "Vận tải đường bộ", "prefix": "B", "service_minutes": 9, "position": 2},
    "DKX": {"name": "Đăng ký xe", "prefix": "C", "service_minutes": 8, "position": 3},
    "TKQ": {"name": "Trả kết quả", "prefix": "D", "service_minutes": 3, "position": 4},
}


@dataclass(frozen=True)
class Procedure:
    """A procedure of the simulated hall: its queue, share of arrivals, and the lognormal of
    its service time (median minutes, sigma)."""

    code: str
    name: str
    queue: str
    share: float
    median: float
    sigma: float


PROCEDURES = (
    Procedure("SIM-001", "Đổi giấy phép lái xe", "GPLX", 0.25, 5.0, 0.5),
    Procedure("SIM-002", "Cấp lại giấy phép lái xe", "GPLX", 0.12, 8.0, 0.5),
    Procedure("SIM-007", "Cấp giấy phép kinh doanh vận tải", "VT", 0.10, 11.0, 0.6),
    Procedure("SIM-010", "Cấp phù hiệu xe", "VT", 0.13, 6.0, 0.5),
    Procedure("SIM-015", "Đăng ký xe", "DKX", 0.15, 8.0, 0.5),
    Procedure("SIM-021", "Nhận kết quả", "TKQ", 0.25, 2.5, 0.4),
)


@dataclass(frozen=True)
class Clerk:
    """A counter's day: its queues, its clerk's pace (× the service time), when it opens
    (hall time, None: at opening), its lunch (start, minutes), or absent all day."""

    queues: tuple[str, ...]
    pace: float = 1.0
    opens: str | None = None
    lunch: tuple[str, int] | None = None
    absent: bool = False


COUNTERS = {
    1: Clerk(("GPLX",), 1.0, lunch=("11:00", 45)),
    2: Clerk(("GPLX",), 1.15, lunch=("11:45", 45)),
    3: Clerk(("GPLX",), absent=True),
    4: Clerk(("GPLX", "VT"), 0.9, lunch=("11:15", 45)),
    5: Clerk(("VT",), 1.1, lunch=("12:00", 45)),
    6: Clerk(("VT", "DKX"), 1.0, lunch=("11:30", 45)),
    7: Clerk(("DKX",), 1.2, opens="09:00", lunch=("12:15", 45)),
    8: Clerk(("TKQ",), 1.0, lunch=("11:30", 40)),
}
HELD_PAUSE = (5, "14:30", 15)  # counter 5 pauses at 14:30 for 15 minutes holding its ticket

# Tickets an hour for the whole hall, by the hour the hour starts (07:30 opens).
ARRIVALS = {7: 36, 8: 64, 9: 66, 10: 52, 11: 36, 12: 20, 13: 34, 14: 44, 15: 36, 16: 18}
OPENS, CLOSES, ISSUE_UNTIL = "07:30", "17:00", "16:30"
PRIORITY_SHARE, NO_SHOW_SHARE, TRANSFER_SHARE = 0.08, 0.05, 0.06
SAMPLE_EVERY = 600.0  # seconds between re-estimates of each waiting ticket
REACTION = 20.0  # seconds a free clerk takes to press "next" when someone arrives


class Clock:
    """The simulation's wall clock (epoch seconds), moved by the event loop."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def at(hhmm: str, day: int = 0) -> float:
    """Epoch seconds of HH:MM on the simulated day ``day`` (0: the first)."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    return (DAY + timedelta(days=day, hours=hour, minutes=minute)).timestamp()


@dataclass
class Guess:
    """One estimate of one waiting ticket: when, goiso's centre and range, and the naive one."""

    ticket: int
    when: float
    at_issue: bool
    minutes: int | None
    low: int | None
    high: int | None
    naive: int | None


@dataclass
class Day:
    """What a simulated day produced."""

    guesses: list[Guess] = field(default_factory=list)
    calls: dict[int, list[float]] = field(default_factory=dict)  # ticket -> its call times
    issued: int = 0
    served: int = 0
    no_shows: int = 0
    transfers: int = 0
    last_call: float = 0.0
    costs: list[float] = field(default_factory=list)  # seconds per estimate (position())


class Simulation:
    """One seeded day through the real core."""

    def __init__(self, folder: Path, seed: int, until: str = ISSUE_UNTIL, days: int = 2):
        self.random = random.Random(seed)
        self.clock = Clock(at(OPENS) - 60)
        self.hall = Hall.open(folder / "hall.db", rules=Rules(opens_at=OPENS, closes_at=CLOSES),
                              clock=self.clock)
        self.until_hhmm = until
        self.days = days
        self.today = 0  # the simulated day running; only the last one is measured
        self.day = Day()
        self.events: list = []
        self.seq = 0
        self.idle: set[int] = set()
        self.busy: dict[int, int] = {}  # counter -> version of its pending end event
        self.lunch_due: set[int] = set()
        self._furnish()

    @property
    def measured(self) -> bool:
        """Whether the day running is the one measured (the days before it are the hall's
        history: its habits, such as lunch pauses, are learnt from them)."""
        return self.today == self.days - 1

    def _furnish(self) -> None:
        put = self.hall.catalogue
        for code, values in QUEUES.items():
            put.put_queue(code, issue_until=ISSUE_UNTIL, **values)
        for p in PROCEDURES:
            put.put_procedure(p.code, name=p.name, field=QUEUES[p.queue]["name"], queue=p.queue)
        for number, clerk in COUNTERS.items():
            put.put_counter(number, queues=list(clerk.queues), select_mode="oldest")
            if clerk.opens:
                self.hall.desk.close(number)

    # -- the event loop ------------------------------------------------------------------------

    def later(self, when: float, kind: str, *args) -> None:
        self.seq += 1
        heapq.heappush(self.events, (when, self.seq, kind, args))

    def run(self) -> Day:
        """Run the days to their end (every ticket called) and return what the last one did."""
        for today in range(self.days):
            self.today = today
            self.clock.now = max(self.clock.now, at(OPENS, today) - 60)
            if today:
                self.day = Day()
                for number, clerk in COUNTERS.items():
                    if clerk.opens:
                        self.hall.desk.close(number)
            self._plan()
            while self.events:
                when, _, kind, args = heapq.heappop(self.events)
                self.clock.now = max(self.clock.now, when)
                getattr(self, f"_on_{kind}")(*args)
        self.hall.close()
        return self.day

    def at(self, hhmm: str) -> float:
        """Epoch seconds of HH:MM on the day running."""
        return at(hhmm, self.today)

    def _plan(self) -> None:
        start, until = self.at(OPENS), self.at(self.until_hhmm)
        t = start
        while True:
            rate = ARRIVALS[self.clock_hour(t)] / 3600
            t += self.random.expovariate(rate)
            if t >= until:
                break
            self.later(t, "arrive")
        for number, clerk in COUNTERS.items():
            if clerk.absent:
                continue
            self.later(self.at(clerk.opens) if clerk.opens else start, "open", number)
            if clerk.lunch:
                self.later(self.at(clerk.lunch[0]), "lunch", number, clerk.lunch[1] * 60)
        number, hhmm, minutes = HELD_PAUSE
        self.later(self.at(hhmm), "hold", number, minutes * 60)
        if not self.measured:
            return
        t = start
        while t <= until + 3 * 3600:
            self.later(t, "sample")
            t += SAMPLE_EVERY

    @staticmethod
    def clock_hour(t: float) -> int:
        return datetime.fromtimestamp(t, TZ).hour

    # -- citizens ------------------------------------------------------------------------------

    def _on_arrive(self) -> None:
        procedure = self.random.choices(PROCEDURES, [p.share for p in PROCEDURES])[0]
        priority = "elderly" if self.random.random() < PRIORITY_SHARE else None
        try:
            ticket = self.hall.issuing.issue(procedure.code, priority=priority)
        except errors.HallError:
            return
        self.day.issued += 1
        if self.measured:
            self._guess([ticket["id"]], at_issue=True)
        self._wake(procedure.queue)

    def _wake(self, queue: str) -> None:
        """Idle clerks of ``queue`` see someone new and press "next"."""
        for number in sorted(self.idle):
            if queue in COUNTERS[number].queues:
                self.idle.discard(number)
                self.later(self.clock.now + REACTION, "call", number)

    def _on_sample(self) -> None:
        with self.hall.tx.reading() as reading:
            waiting = [r[0] for r in reading.all(
                "SELECT id FROM tickets WHERE day = ? AND status = 'waiting'", (reading.day,))]
        if waiting:
            self._guess(waiting, at_issue=False)

    def _guess(self, ids: list[int], at_issue: bool) -> None:
        with self.hall.tx.reading() as reading:
            for ticket_id in ids:
                ticket = records.ticket(reading, ticket_id)
                queue = records.queue(reading, ticket["queue_code"])
                started = time.perf_counter()
                ahead, found = estimate.position(reading, ticket, queue)
                self.day.costs.append(time.perf_counter() - started)
                naive = estimate.naive_minutes(reading, ticket, queue, ahead)
                self.day.guesses.append(Guess(ticket_id, reading.now, at_issue, found.minutes,
                                              found.low, found.high, naive))

    # -- counters ------------------------------------------------------------------------------

    def _on_open(self, number: int) -> None:
        if COUNTERS[number].opens:
            self.hall.desk.resume(number)
        self._on_call(number)

    def _on_call(self, number: int) -> None:
        if number in self.busy:
            return
        try:
            ticket = self.hall.calling.call_next(number)
        except (errors.NothingWaiting, errors.CounterPaused, errors.CounterStateRefused):
            self.idle.add(number)
            return
        except errors.HallError:
            return
        self.idle.discard(number)
        self.day.calls.setdefault(ticket["id"], []).append(self.clock.now)
        self.day.last_call = self.clock.now
        if self.random.random() < NO_SHOW_SHARE:
            self._end(number, 60, "recall")
            return
        procedure = next(p for p in PROCEDURES if p.code == ticket["procedure"]["code"])
        minutes = self.random.lognormvariate(math.log(procedure.median), procedure.sigma)
        minutes *= COUNTERS[number].pace
        then = ("transfer" if ticket["queue"]["code"] == "GPLX" and ticket["transfers"] == 0
                and self.random.random() < TRANSFER_SHARE else "finish")
        self._end(number, minutes * 60, then)

    def _end(self, number: int, seconds: float, kind: str) -> None:
        version = self.busy.get(number, 0) + 1
        self.busy[number] = version
        self.later(self.clock.now + seconds, "end", number, version, kind)

    def _on_end(self, number: int, version: int, kind: str) -> None:
        if self.busy.get(number) != version:
            return  # postponed by a pause while holding the ticket
        if kind == "recall":
            self.hall.calling.recall(number)
            self._end(number, 90, "no_show")
            return
        if kind == "no_show":
            self.hall.calling.no_show(number)
            self.day.no_shows += 1
        elif kind == "transfer":
            self.hall.calling.transfer(number, queue="VT")
            self.day.transfers += 1
            self._wake("VT")
        else:
            self.hall.calling.finish(number)
            self.day.served += 1
        del self.busy[number]
        if number in self.lunch_due:
            self.lunch_due.discard(number)
            self._pause(number, COUNTERS[number].lunch[1] * 60)
        else:
            self.later(self.clock.now + 10, "call", number)

    def _on_lunch(self, number: int, seconds: float) -> None:
        if number in self.busy:
            self.lunch_due.add(number)  # after the citizen being served
        else:
            self.idle.discard(number)
            self._pause(number, seconds)

    def _pause(self, number: int, seconds: float) -> None:
        self.hall.desk.pause(number)
        self.later(self.clock.now + seconds, "resume", number)

    def _on_resume(self, number: int) -> None:
        self.hall.desk.resume(number)
        if number not in self.busy:
            self.later(self.clock.now + 10, "call", number)

    def _on_hold(self, number: int, seconds: float) -> None:
        """A pause with the ticket still open: its service runs ``seconds`` longer."""
        if number not in self.busy:
            return
        self.hall.desk.pause(number)
        self.later(self.clock.now + seconds, "unhold", number, seconds)
        for i, (when, seq, kind, args) in enumerate(self.events):
            if kind == "end" and args[0] == number and args[1] == self.busy[number]:
                self.events[i] = (when + seconds, seq, kind, args)
        heapq.heapify(self.events)

    def _on_unhold(self, number: int, seconds: float) -> None:
        self.hall.desk.resume(number)


# -- scoring ---------------------------------------------------------------------------------

@dataclass
class Score:
    """Errors and coverage of one estimator over a day's guesses."""

    name: str
    errors: list[float] = field(default_factory=list)
    widths: list[int] = field(default_factory=list)  # high - low of each shown range
    inside: int = 0
    unknown: int = 0

    def add(self, real: float, centre: int | None, low: int | None, high: int | None) -> None:
        if centre is None:
            self.unknown += 1
            return
        self.errors.append(abs(centre - real))
        self.widths.append(high - low)
        self.inside += low <= round(real) <= high

    @property
    def coverage(self) -> float:
        return self.inside / len(self.errors) if self.errors else float("nan")

    def median(self) -> float:
        return percentile(self.errors, 50)

    def p90(self) -> float:
        return percentile(self.errors, 90)


def naive_range(minutes: int) -> tuple[int, int]:
    """The range the naive "about N minutes" is counted right in: ±20 %, at least 1 minute."""
    margin = max(1.0, 0.2 * minutes)
    return math.floor(minutes - margin), math.ceil(minutes + margin)


def score(day: Day, which: str = "all") -> tuple[Score, Score, int]:
    """goiso's and the naive estimator's scores (``which``: all, issue, update guesses) and how
    many guesses were of tickets never called."""
    ours, naive, never = Score("goiso"), Score("naive"), 0
    for g in day.guesses:
        if which != "all" and g.at_issue != (which == "issue"):
            continue
        call = next((c for c in day.calls.get(g.ticket, ()) if c >= g.when), None)
        if call is None:
            never += 1
            continue
        real = (call - g.when) / 60
        ours.add(real, g.minutes, g.low, g.high)
        naive.add(real, g.naive, *(naive_range(g.naive) if g.naive is not None else (0, 0)))
    return ours, naive, never


def simulate(seed: int, until: str = ISSUE_UNTIL) -> Day:
    """Run one seeded day (arrivals until ``until``) in a temporary folder."""
    base = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(prefix="goiso-sim-", dir=base) as folder:
        return Simulation(Path(folder), seed, until).run()


def real_waits(day: Day) -> list[float]:
    """Each issued ticket's wait until its first call, in minutes."""
    first = {g.ticket: g.when for g in day.guesses if g.at_issue}
    return [(calls[0] - first[t]) / 60 for t, calls in day.calls.items() if t in first]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench simulate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, action="append",
                        help="seed of a day (repeat for several; default 1 2 3)")
    parser.add_argument("--until", default=ISSUE_UNTIL, help="last arrival, HH:MM")
    args = parser.parse_args(argv)
    seeds = args.seed or [1, 2, 3]
    print(f"{'seed':>4} {'guesses':>7} {'which':>6} {'estimator':>9} {'median':>7} {'P90':>6}"
          f" {'in range':>8} {'width':>6} {'unknown':>7}")
    met = True
    for seed in seeds:
        day = simulate(seed, args.until)
        waits = real_waits(day)
        for which in ("all", "issue", "update"):
            ours, naive, never = score(day, which)
            for s in (ours, naive):
                print(f"{seed:>4} {len(s.errors):>7} {which:>6} {s.name:>9} {s.median():>6.1f}m"
                      f" {s.p90():>5.1f}m {s.coverage:>7.0%}"
                      f" {percentile(s.widths, 50):>5.0f}m {s.unknown:>7}")
            if which == "all":
                met &= (ours.median() <= TARGETS["median"] and ours.p90() <= TARGETS["p90"]
                        and ours.coverage >= TARGETS["coverage"])
        print(f"     day: {day.issued} issued, {day.served} served, {day.no_shows} no-shows,"
              f" {day.transfers} transfers; real wait median {percentile(waits, 50):.0f} min,"
              f" P90 {percentile(waits, 90):.0f} min, longest {max(waits):.0f} min;"
              f" last call {datetime.fromtimestamp(day.last_call, TZ):%H:%M}; {never} guesses"
              f" of tickets never called; one estimate takes"
              f" {percentile(day.costs, 50) * 1e3:.2f} ms (P99"
              f" {percentile(day.costs, 99) * 1e3:.2f} ms)")
    print(f"targets (all guesses): median ≤ {TARGETS['median']:.0f} min, P90 ≤"
          f" {TARGETS['p90']:.0f} min, range holds the real wait ≥ {TARGETS['coverage']:.0%}:"
          f" {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
