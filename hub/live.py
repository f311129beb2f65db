"""Live changes for the dashboard's streams: one ``LISTEN hub_events`` connection per process
(the ingest notifies on every batch it stores) fanning out to every open stream through a
condition, so a hundred open dashboards cost one database connection, not a hundred polls."""

from __future__ import annotations

import logging
import threading
import time

import psycopg

log = logging.getLogger(__name__)
RETRY_S = 2.0  # after the listening connection fails


class Changes:
    """A counter of batches stored anywhere in the hub, and a way to wait for the next one."""

    def __init__(self, conninfo: str):
        self.conninfo = conninfo
        self.version = 0
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> Changes:
        """Start listening (once per process; a stream calls this before it waits)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._listen, name="hub-listen",
                                                daemon=True)
                self._thread.start()
        return self

    def _listen(self) -> None:
        while True:
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute("LISTEN hub_events")
                    self._bump()  # what was missed while not listening
                    for _ in conn.notifies():
                        self._bump()
            except psycopg.Error as exc:
                log.warning("hub: listening for new events failed: %s", exc)
            time.sleep(RETRY_S)

    def _bump(self) -> None:
        with self._cond:
            self.version += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """The version once it is past ``seen``, or after ``timeout`` seconds."""
        with self._cond:
            self._cond.wait_for(lambda: self.version != seen, timeout)
            return self.version
