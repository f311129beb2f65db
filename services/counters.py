"""Counters: a clerk's press (from the page, the API or a keypad), sign-in at a counter, the
rating a citizen gives, and what each counter's LED display shows."""

from hall import errors
from hall.desk import ACTIONS, SERIAL_KEYS

from . import signin
from .runtime import Runtime

PAUSED_TEXT = "----"  # an LED display of a counter that is not calling


def act(runtime: Runtime, at: int, action: str, clerk: int | None, **args) -> dict:
    """Do one action at counter ``at`` for a clerk (the same rules for every door; ``args``
    may name another counter, a transfer's target)."""
    return runtime.act(runtime.hall.desk.perform, at, action, clerk, **args)


def press_key(runtime: Runtime, counter: int, key: str, digits: str = "") -> dict:
    """A key of a serial keypad at ``counter`` (its letter on the wire, and the digits of a
    number to call): acts for the clerk seated there, as that clerk's button would."""
    action = SERIAL_KEYS.get(key)
    if action is None:
        raise errors.NotFound()
    args = {"number": digits} if "number" in ACTIONS[action].takes else {}
    if action == "call" and not digits:
        raise errors.InvalidInput(field="number")
    clerk = runtime.read(runtime.hall.accounts.seated, counter)
    return act(runtime, counter, action, clerk, **args)


def rate(runtime: Runtime, counter: int, level: int, source: str,
         rater_clerk: int | None = None) -> dict:
    """Record a citizen's rating of the service just finished at ``counter``."""
    return runtime.act(runtime.hall.ratings.rate, counter, level, source, rater_clerk)


def seat(runtime: Runtime, login, pin, counter: int | None = None,
         take_over: bool = False, address: str = "local") -> dict:
    """Check a clerk's PIN (throttled per login and ``address``) and, when a counter is given,
    seat them there; returns the clerk."""
    return signin.sign_in(runtime, login, pin, address, counter, take_over)


def unseat(runtime: Runtime, counter: int, clerk: int) -> None:
    """The clerk leaves the counter (if they hold it)."""
    runtime.act(runtime.hall.accounts.sign_out, counter, clerk)


def display_text(runtime: Runtime, counter: int) -> str:
    """What a counter's LED shows: the number being served, dashes when not calling, else
    blank."""
    view = runtime.read(runtime.hall.screens.counter, counter)
    if view["status"] != "open":
        return PAUSED_TEXT
    current = view.get("current")
    return current["number"] if current else ""
