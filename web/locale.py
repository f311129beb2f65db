"""Which language a page speaks.

Staff pages follow ``?lang=``, then the session's choice, then the browser's Accept-Language,
then the hall's ``default_language``.

The citizen's phone page (``phone_screen``) speaks the hall's language, Vietnamese first, even
to a phone set to English; its own button adds ``?lang=`` to its address. It keeps nothing in a
session: the page needs no cookie.

Hall screens (the kiosk, the board, the rating tablet) start in the hall's language whatever
the browser asks: a Raspberry Pi with an en-GB locale or a headless browser must not turn the
hall English. Only a choice made on the screen (``?lang=``) switches it, and not for good:

* ``hall_screen`` (the kiosk, the rating tablet): the choice is kept in the session for the
  citizen who made it. The kiosk goes back to the hall's language when idle (kiosk.js opens
  its start screen with ``?lang=`` the hall's); the rating tablet when that citizen is done
  (``for_one_citizen``).
* ``board_screen`` (the board): nobody stands at a board to choose; it speaks the language in
  its own address (a board set up in English) or the hall's, never a session's.
"""

import time

from flask import current_app, request, session
from flask_babel import get_locale, refresh

from . import runtime

LANGUAGES = ("vi", "en")
HALL_SCREEN, BOARD_SCREEN, PHONE_SCREEN = "hall", "board", "phone"


def hall_screen(view):
    """Mark a view as a hall screen a citizen may switch (the kiosk, the rating tablet)."""
    view.goiso_screen = HALL_SCREEN
    return view


def board_screen(view):
    """Mark a view as a hall screen nobody touches (the board)."""
    view.goiso_screen = BOARD_SCREEN
    return view


def phone_screen(view):
    """Mark a view as the citizen's phone page: ``?lang=`` else the hall's, never a cookie."""
    view.goiso_screen = PHONE_SCREEN
    return view


def _screen() -> str | None:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, "goiso_screen", None)


def select_locale() -> str:
    """The language of this request (Flask-Babel's locale selector)."""
    screen = _screen()
    default = runtime().settings.default_language
    chosen = request.args.get("lang")
    if screen == PHONE_SCREEN:
        return chosen if chosen in LANGUAGES else default
    if chosen in LANGUAGES:
        if screen != BOARD_SCREEN:
            session["lang"] = chosen
            # A new choice belongs to whoever made it, not to the citizen of an earlier one.
            session.pop("lang_for", None)
            session.pop("lang_until", None)
        return chosen
    if screen == BOARD_SCREEN:
        return default
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    if screen == HALL_SCREEN:
        return default
    return request.accept_languages.best_match(LANGUAGES) or default


def board_language() -> str | None:
    """The language a board's address asks for, to carry on to the parts it fetches (None:
    the hall's)."""
    chosen = request.args.get("lang")
    return chosen if chosen in LANGUAGES and chosen != runtime().settings.default_language \
        else None


def for_one_citizen(citizen) -> bool:
    """On a screen that serves one citizen at a time (the rating tablet), tie a language choice
    to the citizen in front of it (``citizen``: who the screen asks now, None between two) and
    drop it once they are done or another comes. True when it was dropped just now: the page
    must be drawn again in the hall's language."""
    get_locale()  # a choice in this request's address (?lang=) first
    if session.get("lang") in (None, runtime().settings.default_language):
        return False
    held = session.get("lang_for")
    if held is None:
        if citizen is not None:
            session["lang_for"] = citizen
        return False
    if held == citizen or time.time() < session.get("lang_until", 0):
        return False
    for key in ("lang", "lang_for", "lang_until"):
        session.pop(key, None)
    refresh()
    return True


def linger(seconds: float) -> None:
    """Keep the current citizen's language choice ``seconds`` longer (their thanks on screen)."""
    if session.get("lang_for") is not None:
        session["lang_until"] = time.time() + seconds
