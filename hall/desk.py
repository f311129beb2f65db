"""What a counter can do, by name, and the keys that do it: the one list the counter page, the
API, keypads on the page and serial keypads share; and the counter's own state (open, paused,
closed)."""

from dataclasses import dataclass

from . import errors, records
from .calling import Calling
from .events import EventKind
from .screens import counter_view
from .transaction import Transactions
from .words import COUNTER_STATUS, VERB, term


@dataclass(frozen=True)
class Action:
    """One thing a clerk does at a counter: the arguments it takes, the key of a USB numeric
    keypad (the counter page listens to it) and the key letter of a serial keypad."""

    name: str
    takes: tuple[str, ...] = ()
    page_key: str | None = None
    serial_key: str | None = None


ACTIONS = {a.name: a for a in (
    Action("next", page_key="+", serial_key="N"),
    Action("recall", page_key="*", serial_key="R"),
    Action("no-show", page_key="-", serial_key="X"),
    Action("finish", ("outcome", "dossiers"), page_key="Enter", serial_key="F"),
    Action("pause"),
    Action("resume"),
    Action("pause-toggle", page_key="/", serial_key="P"),
    Action("close"),
    Action("transfer", ("queue", "counter")),
    # On the page "." starts typing a number (ended by Enter); a serial keypad sends the digits
    # with its key.
    Action("call", ("number", "queue"), page_key=".", serial_key="C"),
)}
PAGE_KEYS = tuple((a.page_key, a.name) for a in ACTIONS.values() if a.page_key)
SERIAL_KEYS = {a.serial_key: a.name for a in ACTIONS.values() if a.serial_key}

# verb -> (status it moves to, statuses it may come from, event); the verb names a refusal
_MOVES = {
    "pause": ("paused", ("open",), EventKind.COUNTER_PAUSED),
    "resume": ("open", ("paused", "closed"), EventKind.COUNTER_RESUMED),
    "close": ("closed", ("open", "paused"), EventKind.COUNTER_CLOSED),
}


class Desk:
    """A counter's state, and every action of a counter by name."""

    def __init__(self, tx: Transactions, calling: Calling):
        self.tx = tx
        self.calling = calling

    def pause(self, counter: int, clerk: int | None = None) -> dict:
        """Stop calling at this counter for a while (the current ticket stays)."""
        return self._move(counter, "pause", clerk)

    def resume(self, counter: int, clerk: int | None = None) -> dict:
        """Start calling again at a paused or closed counter."""
        return self._move(counter, "resume", clerk)

    def close(self, counter: int, clerk: int | None = None) -> dict:
        """Close the counter for the day; it must not be serving anyone."""
        return self._move(counter, "close", clerk)

    def _move(self, counter: int, verb: str, clerk: int | None) -> dict:
        status, allowed, kind = _MOVES[verb]
        with self.tx.change() as change:
            desk = records.counter(change, counter)
            if desk["status"] not in allowed:
                if desk["status"] == "paused" and status == "paused":
                    raise errors.CounterPaused(number=counter)
                raise errors.CounterStateRefused(
                    number=counter, status=term(COUNTER_STATUS, desk["status"]),
                    action=term(VERB, verb))
            if status == "closed" and desk["current_ticket_id"] is not None:
                current = records.ticket(change, desk["current_ticket_id"])
                raise errors.CounterBusy(number=counter, ticket=current["number"])
            change.run("UPDATE counters SET status = ? WHERE number = ?", (status, counter))
            change.log(kind, counter=counter, clerk=clerk, counter_name=desk["name"],
                       status=status, previous=desk["status"])
            return counter_view(change, counter)

    def perform(self, at: int, action: str, clerk: int | None = None, **args) -> dict:
        """Do ``action`` at counter ``at`` for ``clerk``; the same rules wherever the press came
        from (``args`` may name another counter, a transfer's target)."""
        if action not in ACTIONS:
            raise errors.NotFound()
        unknown = set(args) - set(ACTIONS[action].takes)
        if unknown:
            raise errors.InvalidInput(errors.InvalidInput.UNEXPECTED,
                                      fields=", ".join(sorted(unknown)))
        calling = self.calling
        if action == "next":
            return calling.call_next(at, clerk)
        if action == "recall":
            return calling.recall(at, clerk)
        if action == "no-show":
            return calling.no_show(at, clerk)
        if action == "finish":
            outcome = args.get("outcome", self.tx.rules.outcomes[0])
            if not isinstance(outcome, str):  # an explicit null is not "the usual outcome"
                raise errors.not_one_of("outcome", outcome, self.tx.rules.outcomes)
            return calling.finish(at, outcome, clerk, args.get("dossiers", ()))
        if action == "transfer":
            return calling.transfer(at, queue=args.get("queue"), to_counter=args.get("counter"),
                                    clerk=clerk)
        if action == "call":
            return calling.call_number(at, args.get("number"), clerk, args.get("queue"))
        if action == "pause-toggle":
            # One key on a keypad: pause an open counter, open a paused or closed one.
            try:
                return self.pause(at, clerk)
            except (errors.CounterPaused, errors.CounterStateRefused):
                return self.resume(at, clerk)
        return self._move(at, action, clerk)
