"""One hall: its store, rules and the parts of the core over them, opened together."""

import time
from pathlib import Path

from .accounts import Accounts
from .audit import Audit
from .bulk import Bulk
from .calling import Calling
from .catalogue import Catalogue
from .desk import Desk
from .devices import Devices
from .events import EventLog
from .following import Following
from .issuing import Issuing
from .limits import Limits
from .monitor import Monitor
from .overrides import Overrides
from .printing import Printing
from .ratings import Ratings
from .reports import Reports
from .retention import Retention
from .rules import Rules
from .screens import Screens
from .signin import Signin, SigninLimits
from .store import Store
from .tickets import Tickets
from .transaction import Transactions


class Hall:
    """Everything the application layer, the devices and the command line need from the core.

    Commands: ``issuing``, ``calling``, ``desk`` (a counter's state and actions by name),
    ``printing``, ``catalogue``, ``accounts``, ``devices``, ``ratings``, ``overrides`` (settings
    set in the browser), ``bulk`` (many tickets at once), ``retention`` (the purge of old
    tickets). Reads: ``tickets``, ``screens``, ``log``, ``monitor``, ``audit``, ``reports``
    (with their rollups).
    """

    def __init__(self, store: Store, rules: Rules | None = None, clock=time.time):
        self.store = store
        self.clock = clock
        self.tx = Transactions(store, rules or Rules(), clock)
        self.issuing = Issuing(self.tx)
        self.calling = Calling(self.tx)
        self.desk = Desk(self.tx, self.calling)
        self.printing = Printing(self.tx)
        self.tickets = Tickets(self.tx)
        self.following = Following(self.tx)  # a ticket on its holder's phone, by token
        self.screens = Screens(self.tx)
        self.catalogue = Catalogue(self.tx)
        self.accounts = Accounts(self.tx)
        self.devices = Devices(self.tx)
        self.ratings = Ratings(self.tx)
        self.overrides = Overrides(self.tx)
        self.log = EventLog(store)
        self.monitor = Monitor(self.tx)
        self.audit = Audit(self.tx)
        self.bulk = Bulk(self.tx)  # many tickets at once: plan, then apply in one change
        self.reports = Reports(self.tx)
        self.retention = Retention(self.tx)
        self.limits = Limits(self.tx)  # the day's numbers a supervisor extends
        self.signin = Signin(self.tx)  # wrong PINs counted, delayed, locked ([security])

    @property
    def rules(self) -> Rules:
        """The rules the hall follows now."""
        return self.tx.rules

    def follow(self, rules: Rules) -> None:
        """Follow new rules from the next read or change on (settings changed live)."""
        self.tx.rules = rules

    def secure(self, limits: SigninLimits) -> None:
        """Follow new [security] settings: sign-in throttling and the shortest new PIN."""
        self.signin.limits = limits
        self.accounts.min_pin_length = limits.min_pin_length

    @classmethod
    def open(cls, path: str | Path, rules: Rules | None = None, clock=time.time,
             migrate: bool = True) -> "Hall":
        """Open (and by default create or upgrade) the hall database at ``path``."""
        store = Store(path)
        if migrate:
            store.migrate()
        return cls(store, rules or Rules(), clock)

    def today(self) -> str:
        """The current business day."""
        return self.tx.today()

    def close(self) -> None:
        """Close the database connections."""
        self.store.close()
