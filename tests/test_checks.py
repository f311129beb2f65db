"""``goiso check``: one line per check, non-zero exit when a printer or a serial port is absent."""

import datetime

from services import checks
from tests.fakekeypad import FakeBusDevice
from tests.fakeprinter import FakeNetworkPrinter
from tests.test_commands import goiso


def config_for(tmp_path, printer_port: int, serial_device: str) -> str:
    path = tmp_path / "goiso.toml"
    path.write_text(
        f'[server]\ndata_dir = "{tmp_path / "data"}"\n\n'
        f'[printers.K1]\nconnection = "network"\nhost = "127.0.0.1"\nport = {printer_port}\n'
        f'timeout = 1\n\n'
        f'[serial.quay]\nport = "{serial_device}"\n\n'
        f'[serial.thieu]\nport = "{tmp_path / "ttyGONE"}"\n', encoding="utf-8")
    return str(path)


def test_check_reports_unplugged_printer_and_missing_serial_port(tmp_path):
    goiso("init", "--data-dir", tmp_path / "data", cwd=tmp_path)
    with FakeNetworkPrinter() as printer, FakeBusDevice(tmp_path) as bus:
        config = config_for(tmp_path, printer.address[1], bus.device)
        first = goiso("check", "--config", config, cwd=tmp_path, ok=False)
        lines = first.stdout.splitlines()
        assert "✓ Cấu hình hợp lệ" in lines
        assert any(line.startswith("✓ Cơ sở dữ liệu ghi được") for line in lines)
        assert any(line.startswith("✓ Máy in K1") for line in lines)
        assert any(line.startswith("✓ Cổng nối tiếp quay") for line in lines)
        # Only the port that never existed fails.
        assert [line for line in lines if line.startswith("✗")] == [
            next(line for line in lines if "thieu" in line)]
        assert first.returncode == 1
        printer.unplug()
        bus.unplug()
        second = goiso("check", "--config", config, cwd=tmp_path, ok=False)
    failed = [line for line in second.stdout.splitlines() if line.startswith("✗")]
    assert second.returncode == 1
    assert [line.split()[1:3] for line in failed] == [["Máy", "in"], ["Cổng", "nối"],
                                                     ["Cổng", "nối"]]
    assert "K1" in failed[0] and "quay" in failed[1] and "thieu" in failed[2]


def test_check_passes_on_a_healthy_machine(tmp_path):
    goiso("init", "--data-dir", tmp_path / "data", cwd=tmp_path)
    result = goiso("check", "--data-dir", tmp_path / "data", cwd=tmp_path)
    assert result.returncode == 0 and "✗" not in result.stdout


def test_an_unset_clock_fails():
    assert not checks.clock(datetime.date(1970, 1, 1)).ok
    assert checks.clock(datetime.date(2026, 12, 4)).ok


def test_a_full_disk_warns(tmp_path):
    assert not checks.disk(tmp_path, 10**9).ok
    assert checks.disk(tmp_path, 0).ok
