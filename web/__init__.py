"""What every door of the web app shares: extensions, access rules, replies, locale, compression."""

from flask import current_app

from services.runtime import Runtime


def runtime() -> Runtime:
    """The running hall of this app: the one way a view reaches the hall, its settings, its
    printers and devices."""
    return current_app.extensions["goiso"]
