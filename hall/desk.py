"""What a counter can do, by name: the one list the counter page, the API and keypads share."""

from . import errors
from .tickets import Tickets

# action name -> the arguments it takes (besides the counter and the clerk)
ACTIONS = {
    "next": (), "recall": (), "no-show": (), "finish": ("outcome",), "pause": (),
    "resume": (), "pause-toggle": (), "close": (), "transfer": ("queue", "counter"),
    "call": ("number", "queue"),
}


def perform(tickets: Tickets, at: int, action: str, clerk: int | None = None, **args) -> dict:
    """Do ``action`` at counter ``at`` for ``clerk``; the same rules wherever the press came
    from (``args`` may name another counter, a transfer's target)."""
    if action not in ACTIONS:
        raise errors.NotFound()
    unknown = set(args) - set(ACTIONS[action])
    if unknown:
        raise errors.InvalidInput(detail=", ".join(sorted(unknown)))
    if action == "next":
        return tickets.call_next(at, clerk)
    if action == "recall":
        return tickets.recall(at, clerk)
    if action == "no-show":
        return tickets.no_show(at, clerk)
    if action == "finish":
        return tickets.finish(at, args.get("outcome", tickets.rules.outcomes[0]), clerk)
    if action == "pause":
        return tickets.pause(at, clerk)
    if action == "resume":
        return tickets.resume(at, clerk)
    if action == "pause-toggle":
        # One key on a keypad: pause an open counter, open a paused or closed one.
        try:
            return tickets.pause(at, clerk)
        except (errors.CounterPaused, errors.IllegalTransition):
            return tickets.resume(at, clerk)
    if action == "close":
        return tickets.close_counter(at, clerk)
    if action == "transfer":
        return tickets.transfer(at, queue=args.get("queue"), to_counter=args.get("counter"),
                                clerk=clerk)
    return tickets.call_number(at, args.get("number"), clerk, args.get("queue"))
