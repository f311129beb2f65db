"""One hall: its store, rules and the services over them, opened together."""

import time
from dataclasses import dataclass, field
from pathlib import Path

from .accounts import Accounts
from .catalogue import Catalogue
from .devices import Devices
from .events import EventLog
from .ratings import Ratings
from .rules import Rules
from .store import Store
from .tickets import Tickets, desk, snapshot


@dataclass
class Hall:
    """Everything the web layer, the devices and the command line need from the core."""

    store: Store
    rules: Rules = field(default_factory=Rules)
    clock: object = time.time

    def __post_init__(self):
        self.tickets = Tickets(self.store, self.rules, self.clock)
        self.catalogue = Catalogue(self.store, self.clock, self.rules)
        self.accounts = Accounts(self.store, self.clock, self.rules)
        self.devices = Devices(self.store, self.clock, self.rules)
        self.ratings = Ratings(self.store, self.clock, self.rules)
        self.log = EventLog(self.store)

    @classmethod
    def open(cls, path: str | Path, rules: Rules | None = None, clock=time.time,
             migrate: bool = True) -> "Hall":
        """Open (and by default create or upgrade) the hall database at ``path``."""
        store = Store(path)
        if migrate:
            store.migrate()
        return cls(store, rules or Rules(), clock)

    def snapshot(self, queues: list[str] | None = None,
                 counters: list[int] | None = None) -> dict:
        """The live state of the hall (see ``tickets.snapshot``)."""
        return snapshot(self.tickets, queues, counters)

    def desk(self, number: int) -> dict:
        """One counter as its clerk sees it (see ``tickets.desk``)."""
        return desk(self.tickets, number)

    def close(self) -> None:
        """Close the database connections."""
        self.store.close()
