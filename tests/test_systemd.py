"""The server started the way the unit starts it talks systemd's notify protocol: READY=1
once it serves, WATCHDOG=1 pings while it is healthy, STOPPING=1 on the way out."""

import socket
import sqlite3
import subprocess
import time

import pytest
import sqlite_utils

from services import systemd
from tests.liveserver import LiveServer


@pytest.fixture
def notify_socket(tmp_path):
    """A datagram socket standing in for systemd's $NOTIFY_SOCKET."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.2)
    yield path, sock
    sock.close()


def receive_until(sock, wanted: str, seconds: float = 30.0) -> list[str]:
    """Every message received until one holding the line ``wanted`` (fails on time out)."""
    got: list[str] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            got.append(sock.recv(4096).decode())
        except TimeoutError:
            continue
        if wanted in got[-1].splitlines():
            return got
    raise AssertionError(f"no {wanted} in {got}")


@pytest.mark.slow
def test_serve_says_ready_then_pings_the_watchdog_then_stopping(tmp_path, notify_socket):
    path, sock = notify_socket
    env = {"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000"}  # a ping every 0.2 s
    with LiveServer(tmp_path / "data", env=env) as server:
        before_ready = receive_until(sock, "READY=1")
        # Only the worker speaks, and only once the app answers.
        assert not any("Gunicorn" in message for message in before_ready)
        assert server.request("GET", "/healthz")[0] == 200
        receive_until(sock, "WATCHDOG=1")
        receive_until(sock, "WATCHDOG=1")
        # Writes cannot commit (another process holds the lock): the pings stop, systemd hears why.
        holder = sqlite3.connect(server.data_dir / "goiso.db", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            stuck = "STATUS=Không ghi được cơ sở dữ liệu: dừng báo cho watchdog"
            receive_until(sock, stuck)
            # Until the next failed check, no ping slips in while the lock is held.
            assert "WATCHDOG=1" not in receive_until(sock, stuck)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        receive_until(sock, "WATCHDOG=1")
    receive_until(sock, "STOPPING=1")


def test_no_notify_socket_sends_nothing(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv(systemd.CLAIMED, raising=False)
    assert systemd.notify("READY=1") is False


@pytest.mark.parametrize(("usec", "seconds"), [("", None), ("0", None), ("x", None),
                                               ("30000000", 15.0)])
def test_watchdog_interval_is_half_of_watchdog_usec(monkeypatch, usec, seconds):
    monkeypatch.setenv("WATCHDOG_USEC", usec)
    assert systemd.watchdog_seconds() == seconds


@pytest.mark.slow
def test_serve_exits_with_the_reason_when_the_upgrade_fails(tmp_path, notify_socket):
    from hall import Hall
    from hall.schema import migrations
    from tests.liveserver import GOISO, goiso_env

    path, sock = notify_socket
    data = tmp_path / "data"
    Hall.open(data / "goiso.db").close()
    last = [m.name for m in migrations.pending(sqlite_utils.Database(memory=True))][-1]
    with sqlite3.connect(data / "goiso.db") as conn:
        # The last migration looks pending again: running it twice fails (its tables exist).
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = ?", (last,))
    conn.close()
    before = (data / "goiso.db").read_bytes()
    result = subprocess.run([str(GOISO), "serve", "--data-dir", str(data)], capture_output=True,
                            text=True, timeout=60, env=goiso_env(NOTIFY_SOCKET=str(path)))
    assert result.returncode == 3
    assert f"thất bại ở bước {last}" in result.stderr and "giữ nguyên" in result.stderr
    assert (data / "goiso.db").read_bytes() == before
    sock.settimeout(5)
    assert sock.recv(4096).decode().startswith(
        f"STATUS=nâng cấp cơ sở dữ liệu thất bại ở bước {last}")
