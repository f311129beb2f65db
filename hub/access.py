"""Who may use a hub route: a hall (by its token, to push), province staff (signed in:
supervisor < admin), or anyone (``/healthz``). Every route declares its role."""

from __future__ import annotations

import hashlib
import secrets

from flask import abort, current_app, g, request

from hall.accounts import bearer_token

from . import errors
from .halls import hall_of_token

ROLES = ("public", "hall", "supervisor", "admin")


def role(needed: str):
    """Declare who may use a view."""
    if needed not in ROLES:
        raise ValueError(needed)

    def mark(view):
        view.hub_role = needed
        return view

    return mark


def pool():
    """The app's connection pool."""
    return current_app.extensions["hub"]["pool"]


def _bearer() -> str | None:
    return bearer_token(request.headers.get("Authorization", ""))


def guard():
    """Before every request: the route's role, the hall of a bearer token."""
    if request.endpoint is None or request.endpoint == "static":
        return None
    view = current_app.view_functions.get(request.endpoint)
    needed = getattr(view, "hub_role", None)
    if needed is None:
        abort(403)
    if needed == "hall":
        token = _bearer()
        with pool().connection() as conn:
            hall = hall_of_token(conn, token) if token else None
        if hall is None:
            raise errors.BadToken()
        g.hall = hall
    elif needed in ("supervisor", "admin"):
        from .accounts import current_user  # the staff side

        user = current_user()
        if user is None:
            raise errors.SignInNeeded()
        if needed == "admin" and user["role"] != "admin":
            raise errors.Forbidden()
        g.user = user
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            current_app.extensions["csrf"].protect()
    return None


def session_key(pool) -> str:
    """The key that signs staff sessions: made once, kept in the database, so every process
    and every restart of the hub agree."""
    # The table is the migrations' (h003): two workers starting at once must not both make it.
    with pool.connection() as conn, conn.transaction():
        conn.execute("INSERT INTO hub_secrets VALUES ('session', %s) ON CONFLICT DO NOTHING",
                     (secrets.token_hex(32),))
        value = conn.execute("SELECT value FROM hub_secrets WHERE name = 'session'").fetchone()
    return hashlib.sha256(value[0].encode()).hexdigest()
