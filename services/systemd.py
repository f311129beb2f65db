"""systemd's notify protocol (sd_notify(3)): READY=1 once the hall serves, STATUS= lines,
WATCHDOG=1 pings only while the hall is healthy, STOPPING=1 on the way out.

The protocol is one datagram of ``KEY=value`` lines to the socket named by $NOTIFY_SOCKET
(a path, or an abstract name written with a leading ``@``), so a few lines of ``socket`` do it.
``claim()`` moves the variable aside before gunicorn's arbiter starts: the arbiter would
otherwise say READY=1 before the worker has loaded the app; the worker (a child: the unit sets
``NotifyAccess=all``) says it instead."""

import os
import socket
import threading

from device.worker import Stop

from .runtime import Runtime

CLAIMED = "GOISO_NOTIFY_SOCKET"


def claim() -> None:
    """Keep $NOTIFY_SOCKET for goiso's own messages (hidden from gunicorn, inherited by its
    worker)."""
    address = os.environ.pop("NOTIFY_SOCKET", None)
    if address:
        os.environ[CLAIMED] = address


def _address() -> str | None:
    return os.environ.get(CLAIMED) or os.environ.get("NOTIFY_SOCKET")


def notify(*lines: str) -> bool:
    """Send the lines to systemd; False (and nothing sent) when not started by systemd."""
    address = _address()
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto("\n".join(lines).encode(), address)
        except OSError:
            return False  # systemd went away or the socket is gone: nothing to tell
    return True


def watchdog_seconds() -> float | None:
    """Half of $WATCHDOG_USEC (how often to ping), or None when no watchdog is set."""
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2_000_000 if usec > 0 else None


def healthy(runtime: Runtime) -> bool:
    """The watchdog's condition: the database takes a write (rolled back)."""
    return runtime.read(runtime.hall.store.writable)


def serving(runtime: Runtime, stop: Stop) -> None:
    """Say READY=1 and, when systemd keeps a watchdog, ping it while the hall is healthy.

    The pings come from a ``threading.Thread``, which under the gevent worker is a greenlet of
    the server's own event loop: when that loop is stuck, the pings stop and systemd restarts
    the service."""
    if not _address():
        return
    notify("READY=1", f"STATUS=Đang phục vụ (pid {os.getpid()})")
    stop.on_set(stopping)
    interval = watchdog_seconds()
    if interval is None:
        return

    def ping():
        while not stop.wait(interval):
            if healthy(runtime):
                notify("WATCHDOG=1")
            else:
                notify("STATUS=Không ghi được cơ sở dữ liệu: dừng báo cho watchdog")

    threading.Thread(target=ping, name="systemd-watchdog", daemon=True).start()


def stopping() -> None:
    """Tell systemd the server is on its way out (a stop it asked for, not a crash)."""
    notify("STOPPING=1", "STATUS=Đang dừng")
