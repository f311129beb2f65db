"""Backups and restores of the hall's database: consistent while tickets are issued, verified,
rotated, copied; a corrupt or foreign file is refused with nothing changed."""

import sqlite3
import threading
from pathlib import Path

import pytest

from services import backups
from tests.hallproc import open_at, run_threads


def consistent(path: Path) -> int:
    """Check a database file: integrity, every ticket with its ISSUED event and no event of a
    missing ticket; returns the number of tickets."""
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        tickets = {r[0] for r in conn.execute("SELECT id FROM tickets")}
        issued = {r[0] for r in conn.execute("SELECT ticket_id FROM events WHERE kind = 'issued'")}
        named = {r[0] for r in conn.execute("SELECT ticket_id FROM events"
                                            " WHERE ticket_id IS NOT NULL")}
    assert issued == tickets and named <= tickets
    return len(tickets)


def test_backup_while_tickets_are_issued_restores_to_a_consistent_database(hall_file, tmp_path):
    hall = open_at(hall_file)
    made: list[backups.Backup] = []
    done = threading.Event()

    def work(k: int) -> None:
        if k == 0:  # the technician's backups, while three kiosks issue
            while not done.is_set() or len(made) < 3:
                made.append(backups.make(hall_file, to=tmp_path / "b", keep=100))
            return
        for i in range(150):
            hall.issuing.issue(("PA", "PB")[(i + k) % 2], kiosk="K1")
        if k == 1:
            done.set()

    run_threads(4, work)
    hall.close()
    counts = [consistent(b.path) for b in made]
    assert counts == sorted(counts)  # each a later committed state
    assert any(0 < count < 450 for count in counts)  # some taken in the middle of the issuing
    middle = made[len(made) // 2]
    target = tmp_path / "restored" / "goiso.db"
    target.parent.mkdir()
    assert backups.restore(target, middle.path)[0] == middle.schema
    assert consistent(target) == consistent(middle.path)


def test_backups_are_rotated_and_copied(hall_file, tmp_path):
    stick = tmp_path / "stick"
    for _ in range(4):
        made = backups.make(hall_file, keep=2, copy_to=stick)
    assert len(list(backups.folder_of(hall_file).glob("goiso-*.db"))) == 2
    assert len(list(stick.glob("goiso-*.db"))) == 2
    assert made.copied_to == stick / made.path.name and made.copy_problem is None


def test_a_failed_copy_is_reported_not_fatal(hall_file, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    made = backups.make(hall_file, copy_to=blocker / "sub")
    assert made.path.exists() and made.copied_to is None
    assert "không chép được" in made.copy_problem


@pytest.mark.parametrize("content", [b"", b"not a database at all" * 100, "truncated"])
def test_restore_refuses_a_corrupt_file_and_changes_nothing(hall_file, tmp_path, content):
    bad = tmp_path / "bad.db"
    if content == "truncated":
        good = backups.make(hall_file).path
        data = good.read_bytes()
        bad.write_bytes(data[:4096] + b"\xff" * 4096 + data[8192:])
    else:
        bad.write_bytes(content)
    before = hall_file.read_bytes()
    folder = backups.folder_of(hall_file)
    backups_before = sorted(folder.iterdir()) if folder.exists() else []
    with pytest.raises(backups.BackupError):
        backups.restore(hall_file, bad)
    assert hall_file.read_bytes() == before
    assert (sorted(folder.iterdir()) if folder.exists() else []) == backups_before


def test_restore_refuses_a_foreign_sqlite_file(hall_file, tmp_path):
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    before = hall_file.read_bytes()
    with pytest.raises(backups.BackupError, match="không phải cơ sở dữ liệu goiso"):
        backups.restore(hall_file, foreign)
    assert hall_file.read_bytes() == before


def test_restore_refuses_while_a_server_holds_the_database(hall_file, tmp_path):
    copy = backups.make(hall_file).path
    lock = backups.serving_lock(hall_file)
    try:
        with pytest.raises(backups.BackupError, match="đang chạy"):
            backups.restore(hall_file, copy)
    finally:
        lock.close()
    assert backups.restore(hall_file, copy)[1].path.name.startswith("goiso-pre-restore-")
