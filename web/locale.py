"""Which language a page speaks: ?lang=, then the session's choice, then the browser's, then
the hall's default."""

from flask import request, session

from . import runtime

LANGUAGES = ("vi", "en")


def select_locale() -> str:
    """The language of this request (Flask-Babel's locale selector)."""
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    return request.accept_languages.best_match(LANGUAGES) or runtime().settings.default_language
