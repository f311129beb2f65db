"""A device's worker: its own thread that connects, works step by step and reconnects.

Printers, the counters' serial buses and the event-feed poller all run on a ``Worker``. It
owns what they share: a growing pause between reconnections (reset once the device has stayed
up), nothing tried on a device known to be gone except the reconnection when its pause is over,
each state reported once per change, unexpected errors logged and survived, and a stop that
takes effect at once (every wait is on an event that the stop sets, never a fixed sleep).
It knows nothing of Flask or of the hall: states go out through a callback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("goiso.device")
_UNTOLD = object()


def why(exc: BaseException) -> str:
    """An exception in a few words for a log line or a device's state."""
    return f"{type(exc).__name__}: {exc}"[:200]


class Stop:
    """The signal that ends workers: setting it wakes each worker started with it at once.

    It reads like a ``threading.Event`` (``set``, ``is_set``, ``wait``); a plain event cannot
    tell waiting workers that it was set, so workers take this one.
    """

    def __init__(self):
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    def on_set(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when the signal is set (at once if it is set already)."""
        with self._lock:
            self._callbacks.append(callback)
            already = self._event.is_set()
        if already:
            callback()

    def set(self) -> None:
        """Stop everything started with this signal."""
        self._event.set()
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)


class Worker:
    """One device on a thread of its own; subclasses fill in the hooks.

    ``connect()`` opens the device (raising when it cannot), ``step()`` does one piece of work
    and waits for the next with ``rest()``, ``disconnect()`` closes it. An exception of
    ``lost_on`` from ``connect`` or ``step`` means the device is gone: it is disconnected,
    ``lost(exc)`` reports it, and the worker waits ``pause`` seconds (doubling from
    ``first_pause`` to ``max_pause``; back to ``first_pause`` once the device had stayed up
    ``stable_after`` seconds) before it connects again. Work that comes meanwhile is
    ``offline()``'s to refuse. ``tell(device_id, state)`` passes a state to ``on_state`` once
    per change.
    """

    kind = "device"  # for the logs and the thread's name
    lost_on: tuple[type[BaseException], ...] = (OSError,)

    def __init__(self, name: str, *, on_state: Callable[[str, Any], None] | None = None,
                 first_pause: float = 0.2, max_pause: float = 10.0,
                 stable_after: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.name = name
        self.on_state = on_state
        self.first_pause = first_pause
        self.max_pause = max(max_pause, first_pause)
        self.stable_after = stable_after
        self.clock = clock  # measures how long the device stayed up (tests pass a fake one)
        self.pause = 0.0  # the wait before the next connection; 0 until the device is lost
        self.up = False
        self.up_since = 0.0
        self.stopping = threading.Event()
        self._bell = threading.Event()  # set by wake(): new work, or stop
        self._retry_at = 0.0  # time.monotonic() of the next connection
        self._errors = 0  # unexpected errors in a row (the pause after them grows)
        self._told: dict[str, Any] = {}
        self._thread: threading.Thread | None = None

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"

    # -- the owner's side --------------------------------------------------------------------

    def start(self, stop: Stop | None = None) -> threading.Thread:
        """Run the worker on a daemon thread until ``stop`` is set or ``close()`` is called."""
        if stop is not None:
            if not hasattr(stop, "on_set"):
                raise TypeError("a worker stops on a device.worker.Stop, not a plain Event")
            stop.on_set(self.stop)
        self._thread = threading.Thread(target=self.run, daemon=True,
                                        name=f"goiso-{self.kind.replace(' ', '-')}-{self.name}")
        self._thread.start()
        return self._thread

    def wake(self) -> None:
        """Cut the worker's current wait short: there is new work (or it must stop)."""
        self._bell.set()

    def stop(self) -> None:
        """End the loop once the step under way is done; from any thread."""
        self.stopping.set()
        self.wake()

    def close(self, timeout: float = 5.0) -> None:
        """End the loop and wait (up to ``timeout``) until it has closed the device."""
        self.stop()
        thread = self._thread
        if thread is None:
            self._disconnect()  # never started: nothing else will close it
        elif thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- hooks ---------------------------------------------------------------------------------

    def connect(self) -> None:
        """Open the device; raise (one of ``lost_on``) when it cannot be reached."""

    def step(self) -> None:
        """Do one piece of work and wait for the next (``rest``); raise if the device is lost."""
        raise NotImplementedError

    def disconnect(self) -> None:
        """Close the device (it may be half open or gone already)."""

    def lost(self, exc: BaseException) -> None:
        """The device is gone or cannot be opened: report it (``tell``)."""

    def offline(self) -> None:
        """Work came while the device is gone: refuse it now rather than try the device."""

    # -- for the hooks -------------------------------------------------------------------------

    def rest(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True when woken early (new work, or stop)."""
        woken = self._bell.wait(max(0.0, seconds))
        self._bell.clear()
        return woken or self.stopping.is_set()

    def tell(self, device_id: str, state: Any) -> None:
        """Report ``state`` of ``device_id`` through ``on_state``, once per change."""
        if self._told.get(device_id, _UNTOLD) == state:
            return
        self._told[device_id] = state
        self.report(self.on_state, device_id, state)

    def report(self, callback: Callable | None, *args) -> None:
        """Call a report callback; one that fails is logged and never stops the device."""
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:  # noqa: BLE001 - a failing report must not stop the device
            log.exception("%s: reporting failed", self)

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> None:
        """Connect, step, reconnect after a loss; until stopped. Never raises."""
        try:
            while not self.stopping.is_set():
                if not self.up and not self._connect():
                    continue
                try:
                    self.step()
                except self.lost_on as exc:
                    self._lose(exc)
                except Exception:  # noqa: BLE001 - the loop must outlive any bug
                    self._survive()
                else:
                    self._errors = 0
        finally:
            if self.up:
                self.up = False
                self._disconnect()

    def _connect(self) -> bool:
        # Until the pause is over the device is not touched; work that comes is refused.
        while (left := self._retry_at - time.monotonic()) > 0:
            if self.rest(left):
                if self.stopping.is_set():
                    return False
                self._hook(self.offline)
        try:
            self.connect()
        except Exception as exc:  # noqa: BLE001 - whatever stops opening it, try again later
            if not isinstance(exc, self.lost_on):
                log.exception("%s: unexpected error while connecting", self)
            self._lose(exc)
            return False
        if self.pause:
            log.info("%s: back", self)
        self.up = True
        self.up_since = self.clock()
        return True

    def _lose(self, exc: BaseException) -> None:
        stayed = self.up and self.clock() - self.up_since >= self.stable_after
        if self.up:
            log.warning("%s: lost: %s", self, why(exc))
        elif not self.pause:
            log.warning("%s: cannot connect: %s", self, why(exc))
        self.up = False
        self._disconnect()
        self.pause = (self.first_pause if stayed or not self.pause
                      else min(self.max_pause, self.pause * 2))
        self._retry_at = time.monotonic() + self.pause
        self._hook(self.lost, exc)
        self._hook(self.offline)  # what waited for the device waits no more

    def _hook(self, hook: Callable, *args) -> None:
        try:
            hook(*args)
        except Exception:  # noqa: BLE001 - a bug in a report must not end the loop
            log.exception("%s: %s failed", self, hook.__name__)

    def _survive(self) -> None:
        log.exception("%s: unexpected error", self)
        self.rest(min(self.max_pause, self.first_pause * 2 ** self._errors))
        self._errors = min(self._errors + 1, 16)

    def _disconnect(self) -> None:
        try:
            self.disconnect()
        except Exception as exc:  # noqa: BLE001 - closing a broken device must not raise
            log.debug("%s: closing: %s", self, why(exc))


class Poller(Worker):
    """Calls ``poll`` every ``every`` seconds; backs off while it raises one of ``lost_on``."""

    kind = "poller"

    def __init__(self, name: str, poll: Callable[[], None], every: float, *,
                 lost_on: tuple[type[BaseException], ...] = (OSError,),
                 max_pause: float = 30.0):
        super().__init__(name, first_pause=every, max_pause=max_pause)
        self.poll = poll
        self.every = every
        self.lost_on = lost_on

    def step(self) -> None:
        if not self.rest(self.every):
            self.poll()
