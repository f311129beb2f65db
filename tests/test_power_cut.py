"""A power cut mid-write: copies of the hall's files taken at random instants while two writer
processes issue and call, as the disk would hold them after the cut, open with the app's store
and are consistent.

An instant is frozen with SIGSTOP on both writers (what the file system holds then is what a
cut would leave, had the page cache reached the disk), the files ``hall.db``, ``-wal`` and
``-shm`` are copied, and the writers go on.  From each frozen copy one torn variant is made as
well, the damage a cut does to the write in flight: the WAL cut at a random byte of the
transaction being written, a commit frame whose page is half-written (the rest garbage), or
the ``-shm`` lost.  (Only what was not yet fsynced can be torn: see ``unsynced_from``; an
earlier version cut the WAL anywhere and got a corrupt file, which is a disk lying about
fsync, not a power cut.)

Each copy is opened with ``Hall.open`` (the store, the migrations), must answer a read, pass
``PRAGMA integrity_check``, keep numbers per queue and day unique and gap-free with one
'issued' event per ticket, have no ticket at two counters, and take a new ticket whose number
follows the last one.  Seeded (``GOISO_POWER_CUT_SEED``); the seed is printed.
"""

import os
import random
import shutil
import signal
import sqlite3
import struct
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.hallproc import QUEUES, audit, open_at, release, spawn

INSTANTS = 60
WAL_HEADER = 32
FRAME_HEADER = 24


def freeze_copy(procs, source: Path, dest: Path) -> None:
    """Stop the writers, copy the hall's three files into ``dest``, let the writers go on."""
    for proc in procs:
        os.kill(proc.pid, signal.SIGSTOP)
    try:
        dest.mkdir()
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{source}{suffix}").exists():
                shutil.copyfile(f"{source}{suffix}", dest / f"hall.db{suffix}")
    finally:
        for proc in procs:
            os.kill(proc.pid, signal.SIGCONT)


def unsynced_from(wal: bytes) -> tuple[int, int, bytes]:
    """(page size, where the frames not yet made durable begin, the header's salts).

    With ``synchronous=FULL`` SQLite fsyncs the WAL at every commit, before the commit returns
    and before a checkpoint may copy it: a cut can lose or tear only the frames after the last
    commit frame (the transaction being written).  Cutting earlier would model a disk that
    lies about fsync, not a power cut."""
    page = struct.unpack(">I", wal[8:12])[0]
    salts = wal[16:24]
    end, at = WAL_HEADER, WAL_HEADER
    while at + FRAME_HEADER + page <= len(wal) and wal[at + 8:at + 16] == salts:
        commit = struct.unpack(">I", wal[at + 4:at + 8])[0]
        at += FRAME_HEADER + page
        if commit:
            end = at  # a commit frame: everything up to here was fsynced
    return page, end, salts


def tear(copy: Path, dest: Path, rng: random.Random) -> str:
    """A torn variant of ``copy`` in ``dest``; what was torn."""
    shutil.copytree(copy, dest)
    wal = dest / "hall.db-wal"
    data = wal.read_bytes() if wal.exists() else b""
    kind = rng.choice(("wal cut", "torn page", "no shm"))
    if kind == "no shm" or len(data) <= WAL_HEADER:
        (dest / "hall.db-shm").unlink(missing_ok=True)
        return "no shm"
    page, durable, salts = unsynced_from(data)
    if kind == "wal cut" and durable < len(data):
        cut = rng.randrange(durable, len(data))  # inside the transaction being written
        wal.write_bytes(data[:cut])
        return f"wal cut at {cut} of {len(data)}"
    # The transaction being written when the power went: a commit frame for page 1 whose
    # page is half new, half garbage (its checksum cannot match): it must be ignored.
    frame = struct.pack(">II", 1, 1) + salts + rng.randbytes(8)
    body = data[WAL_HEADER + FRAME_HEADER:WAL_HEADER + FRAME_HEADER + page // 2]
    body += rng.randbytes(page - len(body))
    wal.write_bytes(data[:durable] + frame + body)
    return f"torn page after byte {durable} of {len(data)}"


def assert_opens_consistent(path: Path) -> None:
    """The app opens the copy, it is consistent, and the next ticket follows the last."""
    hall = open_at(path)  # Hall.open: the store, the migrations
    try:
        with hall.store.read() as conn:
            conn.execute("SELECT count(*) FROM tickets").fetchone()
        before = audit(path)
        conn = sqlite3.connect(path)
        try:
            held = [r[0] for r in conn.execute(
                "SELECT current_ticket_id FROM counters WHERE current_ticket_id IS NOT NULL")]
            assert len(held) == len(set(held)), f"a ticket at two counters: {held}"
            status = dict(conn.execute("SELECT id, status FROM tickets"))
            assert all(status[t] == "called" for t in held), "a counter holds a ticket not called"
        finally:
            conn.close()
        ticket = hall.issuing.issue(QUEUES["A"], kiosk="K1")
        assert int(ticket["number"][1:]) == len(before.get("A", [])) + 1, ticket["number"]
    finally:
        hall.close()
    audit(path)


@pytest.mark.slow
def test_copies_taken_mid_write_open_consistent(hall_file, tmp_path):
    seed = int(os.environ.get("GOISO_POWER_CUT_SEED", random.randrange(2**32)))
    print(f"power cut seed: {seed} (GOISO_POWER_CUT_SEED={seed} replays it)")
    rng = random.Random(seed)
    procs = [spawn("churn", hall_file, 1, 2), spawn("churn", hall_file, 3, 4)]
    copies = []
    try:
        release(procs)
        for i in range(INSTANTS):
            time.sleep(rng.uniform(0.005, 0.05))  # the random instant of the cut, not a wait
            frozen = tmp_path / f"cut{i}"
            freeze_copy(procs, hall_file, frozen)
            copies.append((frozen, "frozen"))
        for proc in procs:
            assert proc.poll() is None, proc.stderr.read()
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=10)
    for frozen, _ in list(copies):
        torn = frozen.with_name(frozen.name + "-torn")
        copies.append((torn, tear(frozen, torn, rng)))
    tickets = 0
    for folder, how in copies:
        try:
            assert_opens_consistent(folder / "hall.db")
        except AssertionError as exc:
            raise AssertionError(f"{folder.name} ({how}): {exc}") from exc
        conn = sqlite3.connect(folder / "hall.db")
        tickets = max(tickets, conn.execute("SELECT count(*) FROM tickets").fetchone()[0])
        conn.close()
    kinds = Counter(" ".join(how.split()[:2]) for _, how in copies)
    print(f"{len(copies)} copies opened consistent ({dict(kinds)}); up to {tickets} tickets")
    assert tickets > 50, "the writers wrote almost nothing: the test proved little"
