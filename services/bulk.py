"""Bulk actions as a supervisor asks for them: a preview (what would change) or the change
itself, run through the runtime so boards and counters hear every ticket's event; a bulk
reprint hands the tickets to their kiosks' printers once the change is committed."""

from hall import errors

from .runtime import Runtime
from .tickets import reprint


def preview(runtime: Runtime, action: str, selection=None, *, to_queue=None, to_counter=None,
            reason: str = "") -> dict:
    """What ``action`` would change now, ticket by ticket; changes nothing."""
    return runtime.read(runtime.hall.bulk.plan, action, selection, to_queue=to_queue,
                        to_counter=to_counter, reason=reason)


def apply(runtime: Runtime, action: str, selection=None, *, to_queue=None, to_counter=None,
          reason: str = "", clerk: int | None = None, expect=None, base=None) -> dict:
    """Do ``action`` in one change (refused when ``expect`` no longer matches the selection);
    for a reprint, then queue each ticket on its kiosk's printer (``printing``: how many were
    queued, ``not_printed``: the numbers a printer refused, with why)."""
    done = runtime.act(runtime.hall.bulk.apply, action, selection, to_queue=to_queue,
                       to_counter=to_counter, reason=reason, clerk=clerk, expect=expect)
    if action == "reprint":
        queued, refused = 0, []
        for change in done["tickets"]:
            try:
                reprint(runtime, token=runtime.read(runtime.hall.bulk.token_of, change["id"]),
                        base=base, audited=False)  # the bulk action is audited
                queued += 1
            except errors.HallError as exc:
                refused.append({"number": change["number"], "error": exc.code})
        done.update(printing=queued, not_printed=refused)
    return done
