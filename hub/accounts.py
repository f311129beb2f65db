"""Province staff: supervisors and admins of the hub, who sign in with a PIN as in a hall,
throttled the same way (``hall.signin.SigninLimits``: free tries, growing waits, growing
locks, per login and per client address), counted in PostgreSQL so every process and every
restart agree."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import psycopg
from flask import session
from werkzeug.security import check_password_hash, generate_password_hash

from hall import errors
from hall.signin import MAX_KEY, SigninLimits

from .access import pool

LOGIN = re.compile(r"[a-z0-9._-]{2,40}")
ROLES = ("supervisor", "admin")
LIMITS = SigninLimits()


def add_user(conn: psycopg.Connection, login: str, name: str, role: str, pin: str,
             limits: SigninLimits = LIMITS) -> int:
    """A new staff account of the province; its id."""
    if not LOGIN.fullmatch(login or ""):
        raise ValueError("login: 2–40 of a-z 0-9 . _ -")
    if role not in ROLES:
        raise ValueError(f"role: one of {', '.join(ROLES)}")
    if not (pin or "").isdigit() or not limits.min_pin_length <= len(pin) <= 12:
        raise ValueError(f"PIN: {limits.min_pin_length} to 12 digits")
    if not (name or "").strip():
        raise ValueError("name: not empty")
    with conn.transaction():
        row = conn.execute("INSERT INTO hub_users (login, name, role, pin_hash)"
                           " VALUES (%s, %s, %s, %s) RETURNING id",
                           (login, name.strip(), role, generate_password_hash(pin))).fetchone()
    return row[0]


def _waits(conn, keys, now: datetime, limits: SigninLimits) -> float:
    """Seconds before another try is allowed, over the login's and the address's counts."""
    wait = 0.0
    for scope, key in keys:
        row = conn.execute("SELECT failures, locks, last_failure, locked_until FROM hub_signin"
                           " WHERE scope = %s AND key = %s FOR UPDATE", (scope, key)).fetchone()
        if row is None:
            continue
        failures, _, last, locked = row
        if last is not None and now - last > timedelta(hours=limits.forget_hours) \
                and (locked is None or locked < now):
            conn.execute("DELETE FROM hub_signin WHERE scope = %s AND key = %s", (scope, key))
            continue
        if locked is not None:
            wait = max(wait, (locked - now).total_seconds())
        if last is not None:
            wait = max(wait, (last + timedelta(seconds=limits.delay(scope, failures))
                              - now).total_seconds())
    return wait


def _failed(conn, keys, now: datetime, limits: SigninLimits) -> None:
    for scope, key in keys:
        row = conn.execute(
            "INSERT INTO hub_signin (scope, key, failures, last_failure) VALUES (%s, %s, 1, %s)"
            " ON CONFLICT (scope, key) DO UPDATE SET failures = hub_signin.failures + 1,"
            " last_failure = excluded.last_failure RETURNING failures, locks",
            (scope, key, now)).fetchone()
        failures, locks = row
        if failures >= limits.locking(scope):
            conn.execute("UPDATE hub_signin SET failures = 0, locks = locks + 1,"
                         " locked_until = %s WHERE scope = %s AND key = %s",
                         (now + timedelta(seconds=limits.lock(locks)), scope, key))


def sign_in(login: str, pin: str, address: str, limits: SigninLimits = LIMITS) -> dict:
    """The staff account of a right PIN; the hall's ``SigninThrottled`` while a wait or lock
    runs (the try not even checked), its ``AuthError`` otherwise (counted)."""
    login = (login or "")[:MAX_KEY]
    keys = (("login", login), ("address", (address or "?")[:MAX_KEY]))
    now = datetime.now(UTC)
    with pool().connection() as conn, conn.transaction():
        wait = _waits(conn, keys, now, limits)
        if wait > 0:
            raise errors.SigninThrottled(seconds=max(1, math.ceil(wait)))
        user = conn.execute("SELECT id, login, name, role, pin_hash FROM hub_users"
                            " WHERE login = %s AND active", (login,)).fetchone()
        if user is None or not check_password_hash(user[4], pin or ""):
            _failed(conn, keys, now, limits)
        else:
            conn.execute("DELETE FROM hub_signin WHERE scope = 'login' AND key = %s", (login,))
            return {"id": user[0], "login": user[1], "name": user[2], "role": user[3]}
    raise errors.AuthError()


def current_user() -> dict | None:
    """The signed-in staff account of this request, if any (and still active)."""
    user_id = session.get("hub_user")
    if user_id is None:
        return None
    with pool().connection() as conn:
        row = conn.execute("SELECT id, login, name, role FROM hub_users WHERE id = %s"
                           " AND active", (user_id,)).fetchone()
    if row is None:
        session.clear()
        return None
    return {"id": row[0], "login": row[1], "name": row[2], "role": row[3]}
