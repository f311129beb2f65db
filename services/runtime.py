"""The running hall of one process: its settings, core, event feed, printers and counter
devices, and how blocking work is run (in gevent's native threads under ``goiso serve``).

``open_runtime`` opens nothing but the database: printers and serial ports are opened only by
``services.background.start`` (called by ``goiso serve``, never by ``create_app``).
"""

import os
import threading
from pathlib import Path

from hall import Hall
from hall.events import Feed
from printer import Printers
from settings import Settings

from . import configuration
from .readaloud import Reader
from .streams import StreamSlots


def direct(fn, *args, **kwargs):
    """Run ``fn`` here and now (threaded servers, tests, the command line)."""
    return fn(*args, **kwargs)


def _gevent_patched() -> bool:
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("socket")


def choose_offload(threads: int):
    """Under gevent, run SQLite work in native threads so the event loop never blocks on it."""
    if not _gevent_patched():
        return direct
    from gevent import get_hub

    pool = get_hub().threadpool
    pool.maxsize = max(1, threads)

    def offload(fn, *args, **kwargs):
        # The exception comes back as a value and is raised here, in the request: the hub
        # would print the traceback of every one that crosses the pool (a refusal of the
        # rules too), and the request's handler logs a real fault once.
        failed, value = pool.apply(_outcome, (fn, args, kwargs))
        if failed:
            raise value
        return value

    return offload


def _outcome(fn, args, kwargs):
    """(False, what ``fn`` returned) or (True, what it raised)."""
    try:
        return False, fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - raised again by the caller
        return True, exc


def dedicated_runner():
    """Under gevent, one native thread for one device, so its blocking calls never stall the
    event loop and its socket or port is always used by the same thread; else run in place."""
    if not _gevent_patched():
        return direct
    from gevent.threadpool import ThreadPool

    pool = ThreadPool(1)
    return lambda fn, *args, **kwargs: pool.apply(fn, args, kwargs)


# PIN hashes (scrypt, about 0.1 s of one core each) run at most this many at once: on a Pi's 4
# cores (or this machine's 2) a flood of sign-ins leaves the other cores to tickets and calls.
HASH_THREADS = max(1, (os.cpu_count() or 2) // 2)


def bounded_runner(threads: int):
    """Run CPU-heavy work (PIN hashes) with at most ``threads`` at once: under gevent in a
    pool of native threads of its own (hashlib's scrypt releases the GIL), so neither the
    event loop nor the database threads wait for it; else here, behind a semaphore."""
    if not _gevent_patched():
        slots = threading.BoundedSemaphore(threads)

        def run(fn, *args, **kwargs):
            with slots:
                return fn(*args, **kwargs)
        return run
    from gevent.threadpool import ThreadPool

    pool = ThreadPool(threads)
    return lambda fn, *args, **kwargs: pool.apply(fn, args, kwargs)


class Runtime:
    """What every door needs: the settings, the hall, the event feed, the printers, the
    counters' devices once ``serve`` opened them, and how to run reads and changes."""

    def __init__(self, settings: Settings, hall: Hall, feed: Feed, offload=direct,
                 printers: Printers | None = None):
        # The settings of the file, variables and flags; ``settings`` adds what was set in the
        # browser (``services.configuration``) and is replaced whole when that changes.
        self.file_settings = settings
        self.settings = settings
        self.settings_problems: list[str] = []  # stored settings that could not be applied
        self.hall = hall
        self.feed = feed
        self.offload = offload
        self.printers = printers or Printers({}, settings.ticket)
        self.hardware = None  # the counters' serial devices, once `serve` opened them
        # Changes of this process take turns here rather than in SQLite's busy handler, which
        # sleeps and retries (1, 2, 5 … 100 ms) and lets one writer lose again and again: with
        # 8 kiosks at once that was p99 > 100 ms and stalls near 1 s.  A greenlet lock under
        # gevent (taken in the event loop, around the hand-off to the thread pool), a thread
        # lock otherwise.  Other processes still meet ``BEGIN IMMEDIATE`` and the busy timeout.
        self._changes = threading.Lock()
        self.hash = bounded_runner(HASH_THREADS)  # PIN hashes, off the loop and bounded
        self.token_uses: dict[str, float] = {}  # token digest -> when its use was last written
        self.streams = StreamSlots(settings.max_streams, settings.max_streams_per_address)
        self.reader = Reader()  # the kiosk's read-aloud audio, counted per client address

    def read(self, fn, *args, **kwargs):
        """Run a read of the hall."""
        return self.offload(fn, *args, **kwargs)

    def act(self, fn, *args, **kwargs):
        """Run a change of the hall, then wake every open stream with what it logged."""
        with self._changes:
            try:
                return self.offload(fn, *args, **kwargs)
            finally:
                # Taken while no other change of this process can commit: in order.
                self.feed.publish(self.hall.tx.take_committed())

    def apply(self, settings: Settings) -> None:
        """Run by ``settings`` from now on: the rules of the next change, the next ticket's
        texts, the next page."""
        self.settings = settings
        self.hall.follow(settings.rules)
        self.hall.secure(settings.security)
        self.printers.use_layout(settings.ticket)

    def close(self) -> None:
        """Close the hall's database connections."""
        self.hall.close()


def open_runtime(settings: Settings) -> Runtime:
    """The runtime of the hall the settings describe (the database created or upgraded)."""
    hall = Hall.open(settings.database_path, settings.rules)
    offload = choose_offload(settings.db_threads)
    feed = Feed(hall.log, poll_seconds=settings.sse_poll_seconds, offload=offload)
    printers = Printers(settings.printers, settings.ticket,
                        default_folder=Path(settings.data_dir) / "tickets")
    runtime = Runtime(settings, hall, feed, offload, printers)
    configuration.apply_stored(runtime)
    return runtime
