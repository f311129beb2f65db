"""The printers of the hall, one per kiosk: what the web views and the admin side talk to.

``create_app`` builds this facade without opening anything; the ``serve`` command starts it, and
only then are devices opened and worker loops running.  Until then every printer reads
"stopped", so a kiosk never claims a ticket is printing when nothing will print it.
"""

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from device.worker import Stop

from . import status
from .connection import PrinterConfig
from .encode import Plan, plan, test_facts
from .layout import TicketFacts, TicketLayout
from .spooler import Outcome, Pending, Spooler, direct
from .status import PrinterStatus

NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
SEEN_LIMIT = 5000  # several days of a busy hall; a retry comes within seconds


class Printers:
    """Every kiosk's printer: queue tickets, read states, print test pages."""

    def __init__(self, configs: dict[str, PrinterConfig], layout: TicketLayout,
                 default_folder: Path | None = None):
        self.configs = dict(configs)
        self.layout = layout
        # With no [printers] in the settings every kiosk prints to a folder (the demo hall).
        self.default_folder = default_folder if not configs else None
        self.spoolers: dict[str, Spooler] = {}
        self.running = False
        self._stop: Stop | None = None
        self._hooks: dict = {}
        # Tokens already queued, newest last; bounded, since a hall server runs for months.
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def config(self, name: str) -> PrinterConfig | None:
        """The printer of kiosk ``name``, configured or (demo) a folder of its own."""
        if name in self.configs:
            return self.configs[name]
        # A folder is made only for a plain kiosk id, never for a path someone typed.
        if self.default_folder is not None and NAME.fullmatch(name):
            return PrinterConfig(connection="file", folder=str(self.default_folder / name))
        return None

    def plan(self, name: str) -> Plan | None:
        """How the printer of ``name`` prints (raster or text, QR native or image) and why."""
        config = self.config(name)
        return plan(config) if config else None

    def start(self, names, stop: Stop, *,
              on_status: Callable[[str, PrinterStatus], None],
              on_done: Callable[[str, Outcome], None],
              runner: Callable[[], Callable] = lambda: direct) -> None:
        """Open the printers of ``names`` (kiosk ids) and of the settings; start their loops."""
        self._stop = stop
        self._hooks = {"on_status": on_status, "on_done": on_done, "runner": runner}
        self.running = True
        for name in sorted(set(names) | set(self.configs)):
            self.attach(name)

    def attach(self, name: str) -> Spooler | None:
        """The worker of kiosk ``name``'s printer, opened and started the first time (a kiosk
        added while the hall runs); None when it has no printer or printing does not run. Only
        for a kiosk of the hall: any name would make a worker and a folder."""
        with self._lock:
            spooler = self.spoolers.get(name)
            if spooler is not None or not self.running:
                return spooler
            config = self.config(name)
            if config is None or config.connection == "none":
                return None
            spooler = Spooler(name, config, self.layout, on_status=self._hooks["on_status"],
                              on_done=self._hooks["on_done"], run=self._hooks["runner"]())
            self.spoolers[name] = spooler
            spooler.start(self._stop)
            return spooler

    def use_layout(self, layout: TicketLayout) -> None:
        """Draw the next tickets with ``layout`` (the ticket texts changed live)."""
        self.layout = layout
        for spooler in list(self.spoolers.values()):
            spooler.layout = layout

    def status(self, name: str) -> PrinterStatus:
        """What kiosk ``name``'s printer last said (stopped while printing does not run)."""
        config = self.config(name)
        if config is None or config.connection == "none":
            return PrinterStatus(status.UNREACHABLE, "ki-ốt này không có máy in")
        spooler = self.spoolers.get(name)
        return spooler.status if spooler and self.running else PrinterStatus(status.STOPPED)

    def print_ticket(self, name: str, token: str, facts: TicketFacts,
                     reprint: bool = False) -> bool:
        """Queue a ticket for kiosk ``name``'s printer; False when it cannot be queued.

        A ticket is queued once per process unless it is a reprint: a double tap or a retried
        request that returns the same ticket does not print it twice.
        """
        spooler = self.attach(name)
        if spooler is None:  # not queued: a later try must not count it as queued already
            return False
        with self._lock:
            if not reprint and token in self._seen:
                return True
            self._seen[token] = None
            while len(self._seen) > SEEN_LIMIT:
                self._seen.popitem(last=False)
        spooler.submit(Pending(facts, token, reprint))
        return True

    def test_page(self, name: str, hall_name: str) -> bool:
        """Queue a test page (every Vietnamese letter, the plan, where the printer is)."""
        spooler = self.attach(name)
        if spooler is None:
            return False
        spooler.submit(Pending(test_facts(hall_name, name, spooler.config, spooler.plan)))
        return True

    def names(self, kiosks=()) -> list[str]:
        """The printers worth listing: configured ones and those of the given kiosks."""
        return sorted(set(self.configs) | set(kiosks) | set(self.spoolers))

    def describe(self, kiosks=()) -> list[dict]:
        """Each printer for the admin page: where, state, plan, queue and last job."""
        out = []
        for name in self.names(kiosks):
            config = self.config(name)
            spooler = self.spoolers.get(name)
            reading = self.status(name)
            chosen = plan(config) if config and config.connection != "none" else None
            last = spooler.last if spooler else None
            out.append({
                "name": name,
                "where": config.describe() if config else "không có máy in",
                "connection": config.connection if config else "none",
                "width": config.width if config else None,
                "state": reading.state, "ready": reading.ready, "words": reading.words,
                "detail": reading.detail,
                "mode": chosen.mode if chosen else None, "qr": chosen.qr if chosen else None,
                "reason": chosen.reason if chosen else "",
                "waiting": spooler.waiting if spooler else 0,
                "last": None if last is None else {
                    "ok": last.ok, "detail": last.detail, "seconds": round(last.seconds, 3),
                    "mode": last.mode, "bytes": last.size,
                    "number": last.pending.facts.number},
            })
        return out
