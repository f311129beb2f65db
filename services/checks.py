"""``goiso check`` for the technician: one plain Vietnamese line per check (✓ or ✗ and why)."""

import datetime
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hall.store import Store


@dataclass
class Check:
    """One check's outcome and the sentence the technician reads."""

    ok: bool
    text: str

    def line(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.text}"


def run(settings) -> list[Check]:
    """Every check for the machine the settings describe (the settings loaded means valid)."""
    done = [Check(True, "Cấu hình hợp lệ")]
    done.append(database(settings.database_path))
    done += [printer(name, config) for name, config in settings.printers.items()]
    done += [serial_port(name, bus.port, bus.baudrate) for name, bus in settings.serial.items()]
    done.append(disk(Path(settings.data_dir), settings.backup.min_free_mb))
    done.append(clock())
    return done


def database(path: Path) -> Check:
    """The database exists and takes a write (rolled back)."""
    if not path.exists():
        return Check(False, f"Chưa có cơ sở dữ liệu {path} (chạy goiso init)")
    store = Store(path)
    try:
        if store.writable():
            return Check(True, f"Cơ sở dữ liệu ghi được ({path})")
        return Check(False, f"Không ghi được cơ sở dữ liệu {path} (bị khóa, chỉ đọc hoặc đầy đĩa)")
    finally:
        store.close()


def printer(name: str, config) -> Check:
    """The printer's connection opens once (nothing is printed)."""
    from printer.connection import open_link

    try:
        link = open_link(config)
    except Exception as exc:  # noqa: BLE001 - escpos raises its own kinds; all mean "absent"
        return Check(False, f"Máy in {name} ({config.describe()}) không kết nối được: {exc}")
    link.close()
    return Check(True, f"Máy in {name} ({config.describe()}) kết nối được")


def serial_port(name: str, port: str, baudrate: int) -> Check:
    """The serial port is there and opens."""
    import serial

    try:
        serial.serial_for_url(port, baudrate=baudrate, timeout=0).close()
    except (serial.SerialException, OSError, ValueError) as exc:
        return Check(False, f"Cổng nối tiếp {name} ({port}) không mở được: {exc}")
    return Check(True, f"Cổng nối tiếp {name} ({port}) mở được")


def disk(folder: Path, min_free_mb: int) -> Check:
    """Free space in the data folder, against [backup] min_free_mb."""
    free = shutil.disk_usage(folder if folder.exists() else folder.parent).free // (1 << 20)
    if free < min_free_mb:
        return Check(False, f"Đĩa sắp đầy: còn {free} MB trống (cần ít nhất {min_free_mb} MB)")
    return Check(True, f"Đĩa còn {free} MB trống")


def clock(today: datetime.date | None = None) -> Check:
    """The clock is set: NTP synchronised (timedatectl) or at least a plausible year."""
    today = today or datetime.date.today()
    synced = None
    if shutil.which("timedatectl"):
        try:
            out = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
                                 capture_output=True, text=True, timeout=5).stdout.strip()
            synced = {"yes": True, "no": False}.get(out)
        except (OSError, subprocess.SubprocessError):
            synced = None
    if today.year < 2024:
        return Check(False, f"Đồng hồ chưa đặt (ngày {today.isoformat()})")
    if synced is False:
        return Check(True, f"Đồng hồ: {today.isoformat()} (chưa đồng bộ NTP)")
    return Check(True, f"Đồng hồ: {today.isoformat()}")
