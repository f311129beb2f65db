"""Halls on real SQLite files, built one way: ``open_hall(path, catalogue)``.

* ``clock``: a fake wall clock at Thursday 2026-11-26 08:00 in the hall (``Clock``).
* ``rules``: the hall's rules (defaults); a module overrides this fixture to change them.
* ``empty_hall``: a hall on a fresh file with no catalogue; ``hall``: the same with
  ``TRANSPORT`` (queues GPLX, VT, TKQ, counters 1-3, kiosk K1); ``clerk``: a clerk of it.
* ``hall_file``: a closed hall file with ``tests.hallproc.CATALOGUE`` (queues A and B, ten
  counters), for tests that open it from several threads or processes.

``open_hall`` is a plain function: the child processes of ``tests.hallproc`` build with it too.
``write_xlsx`` writes a spreadsheet for the catalogue's import.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hall import Hall, Rules

HALL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# A Thursday morning: the hall has just opened.
START = datetime(2026, 11, 26, 8, 0, tzinfo=HALL_TZ)


class Clock:
    """A fake wall clock: calling it gives epoch seconds; it moves only when told to."""

    def __init__(self, start: datetime = START):
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` and return the new time."""
        self.now += seconds
        return self.now

    def set(self, when: datetime) -> float:
        """Jump to an aware datetime (forward or back) and return the new time."""
        self.now = when.timestamp()
        return self.now

    def at(self, hour: int, minute: int = 0, days: int = 0) -> float:
        """Jump to HH:MM hall time, ``days`` after the start date."""
        day = START.date() + timedelta(days=days)
        return self.set(datetime(day.year, day.month, day.day, hour, minute, tzinfo=HALL_TZ))

    def local(self) -> datetime:
        """The current hall time."""
        return datetime.fromtimestamp(self.now, HALL_TZ)


@dataclass(frozen=True)
class Catalogue:
    """What a test hall holds: the keyword arguments of each ``hall.catalogue.put_*`` call,
    by queue code, procedure code, counter number and kiosk id, put in this order."""

    queues: dict[str, dict]
    procedures: dict[str, dict]
    counters: dict[int, dict]
    kiosks: dict[str, dict] = field(default_factory=dict)


# A small transport department.  Procedures DEMO-GT-001 and -002 → GPLX (prefix A), -007 → VT
# (prefix B), -021 → TKQ (block 1).  Counter 1 serves GPLX; 2 serves GPLX then VT ('oldest');
# 3 serves TKQ.
TRANSPORT = Catalogue(
    queues={
        "GPLX": {"name": "Giấy phép lái xe", "number_format": "prefix", "prefix": "A",
                 "position": 1},
        "VT": {"name": "Vận tải đường bộ", "number_format": "prefix", "prefix": "B",
               "position": 2},
        "TKQ": {"name": "Trả kết quả", "number_format": "block", "block": 1, "position": 3},
    },
    procedures={
        "DEMO-GT-001": {"name": "Đổi giấy phép lái xe", "field": "Giấy phép lái xe",
                        "queue": "GPLX"},
        "DEMO-GT-002": {"name": "Cấp lại giấy phép lái xe", "field": "Giấy phép lái xe",
                        "queue": "GPLX"},
        "DEMO-GT-007": {"name": "Cấp mới giấy phép kinh doanh vận tải",
                        "field": "Vận tải đường bộ", "queue": "VT"},
        "DEMO-GT-021": {"name": "Nhận kết quả giải quyết thủ tục hành chính",
                        "field": "Trả kết quả", "queue": "TKQ"},
    },
    counters={
        1: {"name": "Quầy 1", "queues": ["GPLX"]},
        2: {"name": "Quầy 2", "queues": ["GPLX", "VT"], "select_mode": "oldest"},
        3: {"name": "Quầy 3", "queues": ["TKQ"]},
    },
    kiosks={"K1": {"name": "Ki-ốt sảnh chính"}},
)


def furnish(hall: Hall, catalogue: Catalogue) -> Hall:
    """Put ``catalogue`` into ``hall`` (queues, procedures, counters, kiosks); return it."""
    put = hall.catalogue
    for code, values in catalogue.queues.items():
        put.put_queue(code, **values)
    for code, values in catalogue.procedures.items():
        put.put_procedure(code, **values)
    for number, values in catalogue.counters.items():
        put.put_counter(number, **values)
    for kiosk, values in catalogue.kiosks.items():
        put.put_kiosk(kiosk, **values)
    return hall


def write_xlsx(path: Path, rows: list[list]) -> Path:
    """A spreadsheet of ``rows`` at ``path`` (a catalogue to import); returns ``path``."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def open_hall(path: str | Path, catalogue: Catalogue | None = None, *,
              clock: Callable[[], float] = time.time, rules: Rules | None = None,
              migrate: bool = True) -> Hall:
    """The hall on the SQLite file at ``path`` (created if missing), with ``catalogue`` put in."""
    hall = Hall.open(path, rules=rules, clock=clock, migrate=migrate)
    return furnish(hall, catalogue) if catalogue else hall


@pytest.fixture
def clock() -> Clock:
    """A fake clock at 2026-11-26 08:00 Asia/Ho_Chi_Minh."""
    return Clock()


@pytest.fixture
def rules() -> Rules:
    """The hall's rules (defaults); override this fixture in a module to change them."""
    return Rules()


@pytest.fixture
def empty_hall(tmp_path, clock, rules):
    """A hall on a fresh SQLite file with no catalogue."""
    h = open_hall(tmp_path / "hall.db", clock=clock, rules=rules)
    yield h
    h.close()


@pytest.fixture
def hall(empty_hall) -> Hall:
    """A hall on a fresh SQLite file with the small catalogue ``TRANSPORT``."""
    return furnish(empty_hall, TRANSPORT)


@pytest.fixture
def clerk(hall) -> dict:
    """A clerk of ``hall`` (login "lan", PIN 246810), not seated anywhere."""
    return hall.accounts.put_clerk("lan", name="Nguyễn Thị Lan", pin="246810")


@pytest.fixture
def hall_file(tmp_path) -> Path:
    """A hall file with queues A and B, counters 1..10 and kiosk K1 (``tests.hallproc``),
    closed: tests open it from threads and processes (``hallproc.open_at``)."""
    from tests.hallproc import build

    path = tmp_path / "hall.db"
    build(path).close()
    return path
