"""The hub's background work in ``goiso hub serve``: a daemon thread per job in each worker,
each look on a connection of the worker's pool (the jobs take locks in the database, so
several workers never do the same work twice)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


class Traffic:
    """The batches a worker is storing, for the work that gives way to them: a hall's push is
    acknowledged first (the hall keeps its events until then), counted a moment later."""

    def __init__(self, settle: float = 0.2):
        self.settle = settle  # seconds without a batch before the worker counts as quiet
        self._changed = threading.Condition()
        self._in_flight = 0
        self._last_end = 0.0

    @contextmanager
    def carrying(self) -> Iterator[None]:
        """Around the storing of one batch."""
        with self._changed:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._changed:
                self._in_flight -= 1
                self._last_end = time.monotonic()
                self._changed.notify_all()

    def give_way(self, longest: float) -> float:
        """Wait until no batch has been in flight for ``settle`` seconds, ``longest`` seconds
        at most (so the work waiting never starves); the seconds waited."""
        started = time.monotonic()
        with self._changed:
            while True:
                now = time.monotonic()
                if now - started >= longest:
                    break
                if self._in_flight:
                    self._changed.wait(longest - (now - started))
                    continue
                quiet_in = self.settle - (now - self._last_end)
                if quiet_in <= 0:
                    break
                self._changed.wait(min(quiet_in, longest - (now - started)))
        return time.monotonic() - started


class Job:
    """Run ``work(conn)`` every ``period`` seconds, again at once while it reports work done
    (a truthy answer), on a connection of ``pool``; first ``before()``, if given (giving way
    to pushes)."""

    def __init__(self, name: str, pool, work: Callable, period: float,
                 before: Callable[[], object] | None = None):
        self.name, self.pool, self.work, self.period = name, pool, work, period
        self.before = before
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Job:
        """Start (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"hub-{self.name}",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the current look."""
        self._stop.set()

    def _run(self) -> None:
        busy = False
        while not self._stop.wait(0 if busy else self.period):
            if self.before is not None:
                self.before()
            try:
                with self.pool.connection() as conn:
                    busy = bool(self.work(conn))
            except Exception:  # a lost connection or a restart of PostgreSQL: try again later
                log.warning("%s: failed", self.name, exc_info=True)
                busy = False
