"""The hub's background work in ``goiso hub serve``: a daemon thread per job in each worker,
each look on a connection of the worker's pool (the jobs take locks in the database, so
several workers never do the same work twice)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Job:
    """Run ``work(conn)`` every ``period`` seconds, again at once while it reports work done
    (a truthy answer), on a connection of ``pool``."""

    def __init__(self, name: str, pool, work: Callable, period: float):
        self.name, self.pool, self.work, self.period = name, pool, work, period
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
            try:
                with self.pool.connection() as conn:
                    busy = bool(self.work(conn))
            except Exception:  # a lost connection or a restart of PostgreSQL: try again later
                log.warning("%s: failed", self.name, exc_info=True)
                busy = False
