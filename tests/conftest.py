"""Shared fixtures: a fake clock and a small hall on a real SQLite file (no mocks)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hall import Hall, Rules

pytest_plugins = ["tests.plugins.chromium", "tests.plugins.printers", "tests.plugins.web"]

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


def build_hall(h: Hall) -> Hall:
    """Give ``h`` a small transport-department catalogue and return it.

    Queues: GPLX (prefix A, driving licences), VT (prefix B, road transport), TKQ (block 1,
    returning results). Procedures: DEMO-GT-001 and DEMO-GT-002 → GPLX, DEMO-GT-007 → VT,
    DEMO-GT-021 → TKQ. Counters: 1 serves GPLX; 2 serves GPLX then VT ('oldest'); 3 serves TKQ.
    Kiosk: K1.
    """
    c = h.catalogue
    c.put_queue("GPLX", name="Giấy phép lái xe", number_format="prefix", prefix="A", position=1)
    c.put_queue("VT", name="Vận tải đường bộ", number_format="prefix", prefix="B", position=2)
    c.put_queue("TKQ", name="Trả kết quả", number_format="block", block=1, position=3)
    c.put_procedure("DEMO-GT-001", name="Đổi giấy phép lái xe", field="Giấy phép lái xe",
                    queue="GPLX")
    c.put_procedure("DEMO-GT-002", name="Cấp lại giấy phép lái xe", field="Giấy phép lái xe",
                    queue="GPLX")
    c.put_procedure("DEMO-GT-007", name="Cấp mới giấy phép kinh doanh vận tải",
                    field="Vận tải đường bộ", queue="VT")
    c.put_procedure("DEMO-GT-021", name="Nhận kết quả giải quyết thủ tục hành chính",
                    field="Trả kết quả", queue="TKQ")
    c.put_counter(1, name="Quầy 1", queues=["GPLX"])
    c.put_counter(2, name="Quầy 2", queues=["GPLX", "VT"], select_mode="oldest")
    c.put_counter(3, name="Quầy 3", queues=["TKQ"])
    c.put_kiosk("K1", name="Ki-ốt sảnh chính")
    return h


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
    h = Hall.open(tmp_path / "hall.db", rules=rules, clock=clock)
    yield h
    h.close()


@pytest.fixture
def hall(empty_hall) -> Hall:
    """A hall on a fresh SQLite file with the small catalogue of ``build_hall``."""
    return build_hall(empty_hall)


@pytest.fixture
def clerk(hall) -> dict:
    """A clerk of ``hall`` (login "lan", PIN 2468), not seated anywhere."""
    return hall.accounts.put_clerk("lan", name="Nguyễn Thị Lan", pin="2468")
