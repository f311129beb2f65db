"""One printer's worker: a queue of jobs and a loop that prints them and watches the printer.

Printing never happens in a request: the kiosk view queues a job and shows the ticket; this loop
draws, encodes and sends it, then reports how it went.  When idle it polls the printer's status
where the connection can read it, and reopens a lost connection with a growing pause.
"""

import logging
import queue as jobqueue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import status
from .connection import Link, PrinterConfig, open_link
from .encode import Plan, encode, plan
from .layout import TicketFacts, TicketLayout
from .status import PrinterStatus

log = logging.getLogger("goiso.printer")
MAX_PAUSE = 30.0


@dataclass
class Pending:
    """A ticket (or test page) waiting for the printer."""

    facts: TicketFacts
    token: str | None = None  # None: a test page
    reprint: bool = False
    queued_at: float = field(default_factory=time.monotonic)


@dataclass
class Outcome:
    """How one job went."""

    pending: Pending
    ok: bool
    detail: str
    seconds: float
    mode: str = ""
    size: int = 0


def direct(fn, *args):
    """Run blocking printer work right here (threads, tests)."""
    return fn(*args)


class Spooler:
    """The print queue and worker of one printer."""

    def __init__(self, name: str, config: PrinterConfig, layout: TicketLayout, *,
                 on_status: Callable[[str, PrinterStatus], None],
                 on_done: Callable[[str, Outcome], None],
                 run: Callable = direct):
        self.name = name
        self.config = config
        self.layout = layout
        self.plan: Plan = plan(config)
        self.on_status = on_status
        self.on_done = on_done
        # Device work (connect, send, read, draw) goes through ``run``: under gevent, one native
        # thread owned by this printer, so a slow USB call or a long raster never blocks the
        # event loop and a socket is always used by the thread that opened it.
        self.run_io = run
        self.jobs: jobqueue.Queue[Pending | None] = jobqueue.Queue()
        self.status = PrinterStatus(status.CHECKING)
        self.last: Outcome | None = None
        self._link: Link | None = None
        self._pause = config.poll_seconds
        self._thread: threading.Thread | None = None

    # -- the request side --------------------------------------------------------------------

    def submit(self, pending: Pending) -> None:
        """Queue a job; returns at once."""
        self.jobs.put(pending)

    @property
    def waiting(self) -> int:
        return self.jobs.qsize()

    # -- the worker --------------------------------------------------------------------------

    def start(self, stop: threading.Event) -> threading.Thread:
        """Run the worker loop until ``stop`` is set."""
        self._thread = threading.Thread(target=self.loop, args=(stop,), daemon=True,
                                        name=f"goiso-printer-{self.name}")
        self._thread.start()
        return self._thread

    def loop(self, stop: threading.Event) -> None:
        """Print jobs as they come; between them, watch the printer."""
        self._set_status(self.run_io(self._poll))
        while not stop.is_set():
            try:
                pending = self.jobs.get(timeout=self._pause)
            except jobqueue.Empty:
                self._set_status(self.run_io(self._poll))
                continue
            if pending is None:
                break
            outcome = self.run_io(self._print, pending)
            self.last = outcome
            try:
                self.on_done(self.name, outcome)
            except Exception:  # noqa: BLE001 - a failing report must not stop the printer
                log.exception("printer %s: reporting a job failed", self.name)
            self._set_status(self.status)
        self.run_io(self._close)

    def stop(self) -> None:
        """Ask the loop to finish after the jobs already queued."""
        self.jobs.put(None)

    def _set_status(self, reading: PrinterStatus) -> None:
        self.status = reading
        # Poll often while things are fine; back off while the printer is gone.
        if reading.state in (status.UNREACHABLE, status.NO_ANSWER):
            self._pause = min(MAX_PAUSE, self._pause * 2)
        else:
            self._pause = self.config.poll_seconds
        try:
            self.on_status(self.name, reading)
        except Exception:  # noqa: BLE001
            log.exception("printer %s: reporting its state failed", self.name)

    # -- device work (in ``run_io``) ---------------------------------------------------------

    def _open(self) -> Link:
        if self._link is None:
            self._link = open_link(self.config)
        return self._link

    def _close(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None

    def _poll(self) -> PrinterStatus:
        try:
            return self._open().status()
        except Exception as exc:  # noqa: BLE001 - any driver error means "cannot reach it"
            self._close()
            return PrinterStatus(status.UNREACHABLE, _why(exc))

    def _print(self, pending: Pending) -> Outcome:
        started = time.monotonic()
        try:
            link = self._open()
            before = link.status()
            if not before.ready:
                self.status = before
                return Outcome(pending, False, _say(before), time.monotonic() - started)
            try:
                job = encode(pending.facts, self.layout, self.config, self.plan)
            except Exception as exc:  # noqa: BLE001 - a drawing fault is not a cable fault
                log.exception("printer %s: drawing ticket %s", self.name, pending.facts.number)
                return Outcome(pending, False, "lỗi dựng vé: " + _why(exc),
                               time.monotonic() - started)
            link.send(job.data, name=pending.facts.number, preview=job.preview)
            after = link.status()
            self.status = after
            # Paper ran out or the cover opened during the job: the paper may be cut short.
            if after.state in (status.PAPER_OUT, status.COVER_OPEN, status.ERROR,
                               status.OFFLINE):
                return Outcome(pending, False, "vé có thể in thiếu: " + _say(after),
                               time.monotonic() - started, job.mode, len(job.data))
            return Outcome(pending, True, "", time.monotonic() - started, job.mode,
                           len(job.data))
        except Exception as exc:  # noqa: BLE001 - unplugged mid-job, refused, timed out …
            self._close()
            self.status = PrinterStatus(status.UNREACHABLE, _why(exc))
            log.warning("printer %s: %s", self.name, _why(exc))
            return Outcome(pending, False, _say(self.status), time.monotonic() - started)


def _why(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


def _say(reading: PrinterStatus) -> str:
    return reading.words + (f" ({reading.detail})" if reading.detail else "")
