"""The SQLite file of a hall: durable connections, short transactions, migrations."""

import fcntl
import os
import sqlite3
import sys
import time
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


class MigrationFailed(Exception):
    """An upgrade of the schema that failed; the database file was left as it was."""

    def __init__(self, name: str, cause: BaseException, backup: Path):
        super().__init__(f"nâng cấp cơ sở dữ liệu thất bại ở bước {name}: {cause}."
                         f" Cơ sở dữ liệu giữ nguyên; bản sao lưu: {backup}")
        self.name, self.cause, self.backup = name, cause, backup


def _after(name: str) -> list[str]:
    """The migrations after ``name`` (``apply``'s ``stop_before``: one migration at a time)."""
    names = [m.name for m in migrations.pending(sqlite_utils.Database(memory=True))]
    return names[names.index(name) + 1:]


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
        """Create or upgrade the schema; returns the names of migrations applied now.

        An existing file is first backed up (``backups/goiso-pre-migrate-<first pending>-…``),
        then upgraded on a copy that replaces it only when every migration succeeded: a
        migration written with ``executescript`` commits as it goes, so a transaction alone
        could not undo a failure half-way. On failure the file is untouched and
        ``MigrationFailed`` says which migration and where the backup is."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # An exclusive file lock so two processes starting together do not race the migrations.
        with open(f"{self.path}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            db = sqlite_utils.Database(self.path)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                pending = [m.name for m in migrations.pending(db)]
                existing = bool(migrations.applied(db))
                if not existing:
                    migrations.apply(db)
            finally:
                db.close()
            if pending and existing:
                self._upgrade(pending)
        return pending

    def _upgrade(self, pending: list[str]) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        saved = self.path.parent / "backups" / f"goiso-pre-migrate-{pending[0]}-{stamp}.db"
        self.backup(saved)
        work = self.path.with_name(f".{self.path.name}.migrating")
        self.backup(work)
        self.close()
        db = sqlite_utils.Database(work)
        try:
            for name in pending:
                migrations.apply(db, stop_before=_after(name))
        except Exception as exc:
            db.close()
            work.unlink(missing_ok=True)
            raise MigrationFailed(name, exc, saved) from exc
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        with open(work, "rb+") as f:
            os.fsync(f.fileno())
        # The old file's log must not be read with the new file: fold it in, then drop it.
        conn = sqlite3.connect(self.path)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        os.replace(work, self.path)
        for stale in (f"{self.path}-wal", f"{self.path}-shm", f"{work}-wal", f"{work}-shm"):
            Path(stale).unlink(missing_ok=True)

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
            try:
                if conn.in_transaction:
                    conn.rollback()
            except sqlite3.Error:
                conn.close()  # unusable: the next borrow opens a fresh one
                raise
            # A refusal (nobody waiting, a full queue) ends here too: the connection goes back
            # to the pool. Dropped, it stayed open (with its file descriptors) for as long as
            # the exception's traceback was kept, and every refusal opened one more.
            self._idle.append(conn)
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

    def writable(self) -> bool:
        """Whether a write can commit now: takes the write lock and rolls back, changing nothing."""
        try:
            with self._borrow() as conn:
                # A short wait: a health check must answer while the screen waits, not in 15 s.
                conn.execute("PRAGMA busy_timeout=1000")
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    # A real row change in the main file, then rolled back: nothing is kept.
                    conn.execute("UPDATE _sqlite_migrations SET name = name"
                                 " WHERE rowid = (SELECT max(rowid) FROM _sqlite_migrations)")
                    conn.execute("ROLLBACK")
                finally:
                    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            return True
        except sqlite3.Error:
            return False

    def schema_version(self) -> str | None:
        """The name of the last migration applied to the file (None for an empty file)."""
        with self.read() as conn:
            row = conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = ?"
                               " ORDER BY rowid DESC LIMIT 1", (migrations.name,)).fetchone()
        return row["name"] if row else None

    def close(self) -> None:
        """Close every idle connection (connections in use close when returned and dropped)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
