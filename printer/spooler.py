"""One printer's worker: a queue of jobs and a loop that prints them and watches the printer.

Printing never happens in a request: the kiosk view queues a job and shows the ticket; this
worker (a ``device.worker.Worker``) draws, encodes and sends it, then reports how it went. When
idle it reads the printer's status every ``poll_seconds``. A printer that cannot be reached or
does not answer is closed and tried again after a growing pause; jobs that come meanwhile fail
at once with the known state, without touching the printer.
"""

import logging
import queue as jobqueue
import time
from collections.abc import Callable
from dataclasses import dataclass

from device.worker import Worker, why

from . import status
from .connection import Link, PrinterConfig, open_link
from .encode import Plan, encode, plan
from .layout import TicketFacts, TicketLayout
from .status import PrinterStatus

log = logging.getLogger("goiso.printer")
MAX_PAUSE = 30.0
# The printer took the bytes but then said this: the paper may be cut short.
SPOILED = (status.PAPER_OUT, status.COVER_OPEN, status.ERROR, status.OFFLINE)


@dataclass
class Pending:
    """A ticket (or test page) waiting for the printer."""

    facts: TicketFacts
    token: str | None = None  # None: a test page
    reprint: bool = False


@dataclass
class Outcome:
    """How one job went."""

    pending: Pending
    ok: bool
    detail: str
    seconds: float
    mode: str = ""
    size: int = 0


class Silent(ConnectionError):
    """The link is open but the printer does not answer its status question."""

    def __init__(self, reading: PrinterStatus):
        super().__init__(reading.detail)
        self.reading = reading


def direct(fn, *args):
    """Run blocking printer work right here (threads, tests)."""
    return fn(*args)


class Spooler(Worker):
    """The print queue and worker of one printer."""

    kind = "printer"
    # python-escpos, pyusb and pyserial raise many kinds of errors; any of them from the link
    # means the printer cannot be reached (a drawing fault is caught apart, in _print).
    lost_on = (Exception,)

    def __init__(self, name: str, config: PrinterConfig, layout: TicketLayout, *,
                 on_status: Callable[[str, PrinterStatus], None],
                 on_done: Callable[[str, Outcome], None],
                 run: Callable = direct):
        super().__init__(name, on_state=on_status, first_pause=config.poll_seconds,
                         max_pause=MAX_PAUSE)
        self.config = config
        self.layout = layout
        self.plan: Plan = plan(config)
        self.on_done = on_done
        # Device work (connect, send, read, draw) goes through ``run``: under gevent, one native
        # thread owned by this printer, so a slow USB call or a long raster never blocks the
        # event loop and a socket is always used by the thread that opened it.
        self.run_io = run
        self.jobs: jobqueue.Queue[Pending] = jobqueue.Queue()
        self.status = PrinterStatus(status.CHECKING)
        self.last: Outcome | None = None
        self._link: Link | None = None

    # -- the request side --------------------------------------------------------------------

    def submit(self, pending: Pending) -> None:
        """Queue a job; returns at once."""
        self.jobs.put(pending)
        self.wake()

    @property
    def waiting(self) -> int:
        return self.jobs.qsize()

    # -- the worker's hooks ------------------------------------------------------------------

    def connect(self) -> None:
        self._link = self.run_io(open_link, self.config)
        self._check(self.run_io(self._link.status))

    def step(self) -> None:
        pending = self._next()
        if pending is not None:
            self._print_job(pending)
        elif not self.rest(self.config.poll_seconds):
            self._check(self.run_io(self._link.status))

    def disconnect(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            self.run_io(link.close)

    def lost(self, exc: BaseException) -> None:
        self._set_status(exc.reading if isinstance(exc, Silent)
                         else PrinterStatus(status.UNREACHABLE, why(exc)))

    def offline(self) -> None:
        while (pending := self._next()) is not None:
            self._finish(Outcome(pending, False, _say(self.status), 0.0))

    # -- jobs ----------------------------------------------------------------------------------

    def _next(self) -> Pending | None:
        try:
            return self.jobs.get_nowait()
        except jobqueue.Empty:
            return None

    def _print_job(self, pending: Pending) -> None:
        started = time.monotonic()
        try:
            outcome, after = self.run_io(self._print, pending)
        except Exception as exc:  # unplugged mid-job, refused, timed out …: the worker reopens
            self._finish(Outcome(pending, False,
                                 _say(PrinterStatus(status.UNREACHABLE, why(exc))),
                                 time.monotonic() - started))
            raise
        outcome.seconds = time.monotonic() - started
        self._finish(outcome)
        self._check(after)

    def _print(self, pending: Pending) -> tuple[Outcome, PrinterStatus]:
        """Check, draw, send, check again (device work, in ``run_io``)."""
        before = self._link.status()
        if not before.ready:
            return Outcome(pending, False, _say(before), 0.0), before
        try:
            job = encode(pending.facts, self.layout, self.config, self.plan)
        except Exception as exc:  # noqa: BLE001 - a drawing fault is not a cable fault
            log.exception("printer %s: drawing ticket %s", self.name, pending.facts.number)
            return Outcome(pending, False, "lỗi dựng vé: " + why(exc), 0.0), before
        self._link.send(job.data, name=pending.facts.number, preview=job.preview)
        after = self._link.status()
        if after.state in SPOILED:
            return Outcome(pending, False, "vé có thể in thiếu: " + _say(after), 0.0,
                           job.mode, len(job.data)), after
        return Outcome(pending, True, "", 0.0, job.mode, len(job.data)), after

    def _finish(self, outcome: Outcome) -> None:
        self.last = outcome
        self.report(self.on_done, self.name, outcome)

    def _check(self, reading: PrinterStatus) -> None:
        """Record a reading; silence means the printer is gone (the worker backs off)."""
        if reading.state == status.NO_ANSWER:
            raise Silent(reading)
        self._set_status(reading)

    def _set_status(self, reading: PrinterStatus) -> None:
        self.status = reading
        self.tell(self.name, reading)


def _say(reading: PrinterStatus) -> str:
    return reading.words + (f" ({reading.detail})" if reading.detail else "")
