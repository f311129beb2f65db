"""Power cuts: the database's files as a cut leaves them, taken at random instants while a
writer issues and counters call: whole (the writer frozen mid-work), with the log's tail lost
at a random byte, with half a log page overwritten, without the shared-memory index. Each copy
must open, pass ``integrity_check`` and keep the hall's invariants; a whole copy also keeps
every ticket the writer had handed out."""

import fcntl
import os
import random
import shutil
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from tests.hallproc import audit, open_at, spawn

pytestmark = pytest.mark.slow

INSTANTS = 60
WAL_HEADER, FRAME_HEADER = 32, 24


def drain(proc) -> list[str]:
    """The lines the (frozen) writer has printed so far."""
    out = b""
    fd = proc.stdout.fileno()
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return out.decode().splitlines()
        if not chunk:
            return out.decode().splitlines()
        out += chunk


def snapshot(source: Path, target: Path) -> Path:
    """Copy the database, its log and its index as they are on disk now."""
    target.mkdir(parents=True)
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{source}{suffix}")
        if path.exists():
            shutil.copyfile(path, target / f"goiso.db{suffix}")
    return target / "goiso.db"


def frames(wal: bytes) -> tuple[int, list[int]]:
    """The log's page size and the 1-based numbers of its commit frames, as recovery reads
    them: frames of the header's generation (its salts), up to the first that is not."""
    page = int.from_bytes(wal[8:12], "big")
    salts = wal[16:24]
    commits, number = [], 1
    while WAL_HEADER + number * (FRAME_HEADER + page) <= len(wal):
        start = WAL_HEADER + (number - 1) * (FRAME_HEADER + page)
        if wal[start + 8:start + 16] != salts:
            break
        if int.from_bytes(wal[start + 4:start + 8], "big"):  # the database size: a commit
            commits.append(number)
        number += 1
    return page, commits


def durable_frames(wal: bytes, shm: bytes) -> int:
    """How many frames of the log a power cut cannot touch any more: those before the last
    commit (synchronous=FULL synced them when that earlier commit returned) and those already
    copied into the database file (nBackfill in the index: synced before the copy). Only the
    frames after are what a cut mid-write can tear."""
    _, commits = frames(wal)
    before_last = commits[-2] if len(commits) > 1 else 0
    backfilled = int.from_bytes(shm[96:100], sys.byteorder) if len(shm) >= 100 else 0
    return max(before_last, backfilled)


def tear(copy: Path, rng: random.Random) -> str:
    """Damage the copy as a cut mid-write would (only the log's frames not yet durable: a
    cut cannot reach back into what an earlier commit synced); what was done."""
    wal = Path(f"{copy}-wal")
    shm = Path(f"{copy}-shm")
    how = rng.choice(("truncated log", "half a page", "no index"))
    if how == "no index" or not wal.exists() or wal.stat().st_size <= WAL_HEADER:
        shm.unlink(missing_ok=True)
        return "no index"
    data = wal.read_bytes()
    page, _ = frames(data)
    kept = durable_frames(data, shm.read_bytes() if shm.exists() else b"")
    first = WAL_HEADER + kept * (FRAME_HEADER + page)  # where the tearable tail begins
    size = len(data)
    if first >= size:
        shm.unlink(missing_ok=True)
        return "no index"  # nothing written since the last durable point
    if how == "truncated log":
        with open(wal, "r+b") as f:
            f.truncate(rng.randrange(first, size))
    else:
        count = (size - first) // (FRAME_HEADER + page)
        frame = kept + rng.randrange(max(1, count))
        start = WAL_HEADER + frame * (FRAME_HEADER + page) + FRAME_HEADER + page // 2
        with open(wal, "r+b") as f:
            f.seek(min(start, size - 1))
            f.write(rng.randbytes(page // 2))
    shm.unlink(missing_ok=True)  # the index is rebuilt from the log, as after a reboot
    return how


def invariants(copy: Path) -> dict[str, list[int]]:
    """Open the copy as a restarting server would, then check it."""
    hall = open_at(copy)  # the hall's own clock (its day), the migrations checked
    try:
        with hall.store.read() as conn:
            held = conn.execute(
                "SELECT current_ticket_id FROM counters WHERE current_ticket_id IS NOT NULL"
                " GROUP BY current_ticket_id HAVING count(*) > 1").fetchall()
        assert not held, f"tickets held by two counters: {held}"
        hall.issuing.issue("PA")  # and it works on
    finally:
        hall.close()
    return audit(copy)


def test_copies_taken_at_random_instants_open_intact(hall_file, tmp_path):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"\nseed {seed}")
    writer = spawn("issue", hall_file, 0, go=False)
    caller = spawn("call", hall_file, 1, 2, 3, 4, "--pause-ms", "5", go=False)
    for proc in (writer, caller):
        fcntl.fcntl(proc.stdout.fileno(), fcntl.F_SETFL, os.O_NONBLOCK)
    given: set[int] = set()
    torn: dict[str, int] = {}
    try:
        for instant in range(INSTANTS):
            time.sleep(rng.uniform(0.01, 0.06))
            for proc in (writer, caller):
                if proc.poll() is None:
                    os.kill(proc.pid, signal.SIGSTOP)  # the instant of the cut
            try:
                given |= {int(line.split()[4]) for line in drain(writer)
                          if line.startswith("ISSUED")}
                whole = snapshot(hall_file, tmp_path / f"cut{instant}")
                damaged = snapshot(hall_file, tmp_path / f"torn{instant}")
            finally:
                for proc in (writer, caller):
                    if proc.poll() is None:
                        os.kill(proc.pid, signal.SIGCONT)
            kept = {i for ids in invariants(whole).values() for i in ids}
            lost = given - kept
            assert not lost, f"seed {seed} at {instant}: handed out but lost {sorted(lost)[:5]}"
            how = tear(damaged, rng)
            torn[how] = torn.get(how, 0) + 1
            invariants(damaged)
            shutil.rmtree(tmp_path / f"cut{instant}")
            shutil.rmtree(tmp_path / f"torn{instant}")
    finally:
        for proc in (writer, caller):
            proc.kill()
            proc.wait(10)
    assert len(given) > INSTANTS, len(given)
    print(f"{INSTANTS} cuts, {len(given)} tickets handed out, torn copies: {torn}")
    conn = sqlite3.connect(hall_file)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
