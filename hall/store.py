"""The SQLite file of a hall: durable connections, short transactions, migrations."""

import fcntl
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _without_numpy():
    """sqlite_utils, imported without numpy: it imports numpy when it can (15 MB and 30 ms,
    because matplotlib brings it) only to store numpy values, which the hall never has."""
    if "numpy" in sys.modules:
        import sqlite_utils
    else:
        sys.modules["numpy"] = None  # makes ``import numpy`` raise ImportError, this once
        try:
            import sqlite_utils
        finally:
            del sys.modules["numpy"]
    return sqlite_utils


sqlite_utils = _without_numpy()

from .schema import migrations  # noqa: E402 - after the import above: it uses sqlite_utils too

BUSY_TIMEOUT_MS = 15_000


class Store:
    """A pool of SQLite connections to one file; each connection is used by one thread at a time.

    Connections are lent out, not bound to threads, so the same code runs under OS threads and
    gevent greenlets (where ``threading.local`` would mean one connection per request).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        # list.pop() and list.append() are atomic, so no lock is needed; a lock would be
        # wrong here anyway under gevent, whose locks are not shared with the native threads
        # that run database work.
        self._idle: list[sqlite3.Connection] = []

    def migrate(self) -> list[str]:
        """Create or upgrade the schema; returns the names of migrations applied now."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # An exclusive file lock so two processes starting together do not race the migrations.
        with open(f"{self.path}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            db = sqlite_utils.Database(self.path)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                pending = [m.name for m in migrations.pending(db)]
                migrations.apply(db)
            finally:
                db.close()
        return pending

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
            check_same_thread=False,
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit that handed out a number is on disk before the number is returned.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    @contextmanager
    def _borrow(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = self._idle.pop()
        except IndexError:
            conn = self._open()
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
        self._idle.append(conn)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A connection inside a read transaction: one consistent snapshot for several queries."""
        with self._borrow() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A connection inside ``BEGIN IMMEDIATE``: committed on success, rolled back on error."""
        with self._borrow() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                # SQLite may have ended the transaction itself (RAISE(ROLLBACK), a full disk):
                # a second ROLLBACK would fail and hide the error that caused it.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def backup(self, dest: str | Path) -> None:
        """Copy the live database to ``dest`` with SQLite's online backup API."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with self._borrow() as conn:
            target = sqlite3.connect(dest)
            try:
                conn.backup(target)
            finally:
                target.close()

    def close(self) -> None:
        """Close every idle connection (connections in use close when returned and dropped)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
