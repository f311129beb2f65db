"""How many event streams may be open: in all, and per client address.

A stream holds a connection for as long as its screen is open, so without a cap a crowd of
phones (or one script) can hold every connection the server has and starve the requests that
issue and call tickets. Beyond the cap a stream is refused at once (``503`` + ``Retry-After``);
the screens then poll and try the stream again later.
"""

import threading
from collections import Counter

from hall.words import N_

# Seconds a refused screen is asked to wait before it tries a stream again.
RETRY_AFTER_S = 30
TOO_MANY_STREAMS = N_("Máy chủ đang mở quá nhiều kết nối trực tiếp; màn hình sẽ tự cập nhật"
                      " định kỳ và thử kết nối lại sau.")


class StreamSlots:
    """Counts the open streams; ``take`` a slot before streaming, ``release`` it after."""

    def __init__(self, total: int, per_address: int):
        self.total = total
        self.per_address = per_address
        self._open: Counter[str] = Counter()
        self._count = 0
        # A thread lock: under gevent it is patched into a greenlet lock; held only for the
        # arithmetic, never across a switch.
        self._lock = threading.Lock()

    def take(self, address: str) -> "Slot | None":
        """A slot for a stream from ``address``, or None when the server or that address
        already has as many streams as allowed."""
        with self._lock:
            if self._count >= self.total or self._open[address] >= self.per_address:
                return None
            self._count += 1
            self._open[address] += 1
        return Slot(self, address)

    def _release(self, address: str) -> None:
        with self._lock:
            self._count -= 1
            self._open[address] -= 1
            if not self._open[address]:
                del self._open[address]  # addresses that left cost nothing

    def resize(self, total: int, per_address: int) -> None:
        """Apply new caps (streams already open stay; new ones meet the new caps)."""
        with self._lock:
            self.total, self.per_address = total, per_address

    @property
    def open(self) -> int:
        """Streams open now."""
        return self._count

    def addresses(self) -> int:
        """Client addresses with a stream open now."""
        return len(self._open)


class Slot:
    """One open stream's place; released once, however many times ``release`` is called (a
    stream ends by its screen leaving, an error or the server stopping)."""

    def __init__(self, slots: StreamSlots, address: str):
        self._slots = slots
        self._address = address
        self._released = False
        self._lock = threading.Lock()

    def release(self) -> None:
        """Give the place back."""
        with self._lock:
            if self._released:
                return
            self._released = True
        self._slots._release(self._address)
