"""Backups of the hall's database: SQLite's online backup API (safe while tickets are issued),
each copy verified, rotated, optionally copied to a stick or share; restore that refuses a
corrupt or foreign file and replaces the database atomically."""

import datetime
import fcntl
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from hall.schema import migrations

SUFFIX = ".db"


class BackupError(Exception):
    """A backup or restore that could not be done; the message is for the technician."""


@dataclass
class Backup:
    """One backup made: where, of which schema, the copy elsewhere and the rotated-out files."""

    path: Path
    schema: str
    copied_to: Path | None = None
    copy_problem: str | None = None
    removed: list[Path] = field(default_factory=list)


def folder_of(database: Path) -> Path:
    """The default backup folder: ``backups`` beside the database."""
    return Path(database).parent / "backups"


def verify(path: Path) -> str:
    """The schema version of a goiso database file that passes ``integrity_check``; raises
    BackupError (saying why) for a corrupt, foreign or newer file."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"không có tệp {path}")
    try:
        # Read-only (mode=ro): looking at a file must never change it.
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            check = conn.execute("PRAGMA integrity_check").fetchall()
            if check != [("ok",)]:
                raise BackupError(f"tệp {path.name} bị hỏng: {check[0][0]}")
            rows = conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = ?"
                                " ORDER BY rowid", (migrations.name,)).fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"tệp {path.name} không phải cơ sở dữ liệu goiso ({exc})") from None
    known = [m.name for m in migrations.pending(_empty())]
    applied = [name for (name,) in rows]
    if not applied:
        raise BackupError(f"tệp {path.name} không phải cơ sở dữ liệu goiso")
    newer = [name for name in applied if name not in known]
    if newer:
        raise BackupError(f"tệp {path.name} từ phiên bản goiso mới hơn ({newer[-1]})")
    return applied[-1]


def _empty():
    import sqlite_utils

    return sqlite_utils.Database(memory=True)


def make(database: Path, *, to: Path | None = None, keep: int = 14, copy_to: Path | None = None,
         label: str = "") -> Backup:
    """Copy the live database into ``to`` (default: ``backups`` beside it) under a timestamped
    name, verify the copy, keep the newest ``keep`` of that label and copy it to ``copy_to``."""
    database = Path(database)
    folder = Path(to) if to else folder_of(database)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    prefix = f"goiso-{label}-" if label else "goiso-"
    final = folder / f"{prefix}{stamp}{SUFFIX}"
    partial = final.with_suffix(".partial")
    source = sqlite3.connect(database, timeout=15)
    try:
        target = sqlite3.connect(partial)
        try:
            # One step (pages=-1): one read snapshot, so the copy is a committed state even
            # while tickets are being issued.
            source.backup(target)
            # A plain rollback-journal file: readable alone (read-only, on a stick), no -wal.
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
    finally:
        source.close()
    try:
        schema = verify(partial)
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    _fsync(partial)
    os.replace(partial, final)
    _fsync_dir(folder)
    made = Backup(final, schema)
    made.removed = _rotate(folder, prefix, keep)
    if copy_to:
        try:
            Path(copy_to).mkdir(parents=True, exist_ok=True)
            made.copied_to = Path(shutil.copy2(final, Path(copy_to) / final.name))
            _rotate(Path(copy_to), prefix, keep)
        except OSError as exc:
            made.copy_problem = f"không chép được sang {copy_to}: {exc.strerror or exc}"
    return made


def _rotate(folder: Path, prefix: str, keep: int) -> list[Path]:
    # Plain backups ("goiso-2026…") and labelled ones ("goiso-pre-migrate-…") rotate apart.
    mine = sorted(p for p in folder.glob(f"{prefix}*{SUFFIX}")
                  if prefix != "goiso-" or p.name[len(prefix):][:1].isdigit())
    old = mine[:-keep] if keep else []
    for path in old:
        path.unlink(missing_ok=True)
    return old


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def serving_lock(database: Path):
    """Held by ``goiso serve`` for its lifetime (an open file with a shared flock, inherited by
    its worker), so ``restore`` can tell a running server; returns the open file."""
    lock = open(f"{database}.serving", "a")  # noqa: SIM115 - open for the process's lifetime
    fcntl.flock(lock, fcntl.LOCK_SH)
    return lock


def server_running(database: Path) -> bool:
    """Whether a ``goiso serve`` holds the database (its serving lock is taken)."""
    path = Path(f"{database}.serving")
    if not path.exists():
        return False
    with open(path, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
    return False


def restore(database: Path, file: Path, *, keep: int = 14) -> tuple[str, Backup | None]:
    """Replace the database by ``file`` after checking it and backing the current one up;
    returns (the restored schema, the backup of what was there). Nothing changes on refusal."""
    database, file = Path(database), Path(file)
    schema = verify(file)
    if server_running(database):
        raise BackupError("máy chủ goiso đang chạy: hãy dừng nó trước"
                          " (sudo systemctl stop goiso)")
    before = None
    if database.exists():
        before = make(database, keep=keep, label="pre-restore")
        # Fold the write-ahead log into the file: the log must not outlive its database.
        conn = sqlite3.connect(database, timeout=15)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    temp = database.with_name(f".{database.name}.restoring")
    shutil.copyfile(file, temp)
    _fsync(temp)
    os.replace(temp, database)
    for stale in (Path(f"{database}-wal"), Path(f"{database}-shm")):
        stale.unlink(missing_ok=True)
    _fsync_dir(database.parent)
    return schema, before
