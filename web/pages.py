"""Pages and the htmx fragments inside them."""

from flask import render_template
from markupsafe import Markup

from hall.events import STATE_FRAME

from . import runtime
from .extensions import htmx


def fragment_or_page(fragment: str, page: str, **context) -> str:
    """The fragment alone when htmx asks for it (not when it restores its history), the whole
    page around it otherwise (first load, reload, a browser without JavaScript)."""
    if htmx and not htmx.history_restore_request:
        return render_template(fragment, **context)
    return render_template(page, **context)


def fragment_or_alone(fragment: str, title: str, **context) -> str:
    """The fragment alone when htmx asks for it; opened on its own (a bookmark, a technician),
    the fragment inside a plain page with ``title`` as its title and heading."""
    if htmx and not htmx.history_restore_request:
        return render_template(fragment, **context)
    return render_template("fragment.html", fragment=fragment, fragment_title=title,
                           **context)


def sse_triggers(kinds, *also: str) -> str:
    """An ``hx-trigger`` that refreshes on the stream's first frame (the whole hall) and on
    events of ``kinds`` (a group of hall/events.py), and on whatever else is named
    (``every 30s``). A part that carries ``data-seen`` (the newest event when it was drawn)
    skips a first frame that brings nothing newer: see counter.js and board.js."""
    return ", ".join([f"sse:{STATE_FRAME}", *(f"sse:{kind}" for kind in kinds), *also])


def hall_clock() -> Markup:
    """The attributes of a screen's clock (static/js/clock.js): the hall's time zone (IANA) and
    the server's time now (ms), so a device set to another zone, or whose own clock is wrong (a
    Pi without a real-time clock), still shows the hall's time."""
    hall = runtime().hall
    return Markup('data-zone="%s" data-now="%d"') % (hall.rules.timezone,
                                                     round(hall.clock() * 1000))
