"""Signing in with a PIN: throttled per login and per client address (``hall.signin``), the
PIN checked in a bounded pool of native threads (``Runtime.hash``) so a flood of sign-ins never
holds the event loop or the database threads, each wrong PIN and each lock logged on one line."""

import hashlib
import json
import logging
import sqlite3
import time

from hall import HallError, errors
from hall.accounts import MAX_PIN, hash_pin, pin_matches

from .runtime import Runtime

log = logging.getLogger("goiso.security")
# A token's last use is written at most this often (seconds): a write per request would cost
# every counter device's request a transaction.
TOKEN_USE_EVERY = 3600.0


def _shown(text) -> str:
    """A login or address as one safe token of a log line (quoted, escaped, cut)."""
    return json.dumps(str(text)[:60], ensure_ascii=False)


def sign_in(runtime: Runtime, login, pin, address: str, counter: int | None = None,
            take_over: bool = False) -> dict:
    """Check a clerk's PIN (refused with SigninThrottled while the login or address waits or
    is locked, even when right) and, when a counter is given, seat them there; the sign-in is
    audited. Returns the clerk."""
    hall = runtime.hall
    runtime.read(hall.signin.check, login, address)  # a flood's refusals take no write lock
    verdict = runtime.act(hall.signin.attempt, login, address)  # counted before the check
    clerk, pin_hash, digits = runtime.read(hall.accounts.credentials, login)
    if not runtime.hash(pin_matches, pin_hash, pin) or clerk is None:
        runtime.act(hall.signin.failed, login, address, verdict)
        log.warning("signin_failed login=%s address=%s wait_s=%d", _shown(login),
                    _shown(address), verdict["wait"])
        for scope, *_ in verdict["locked"]:
            log.warning("signin_locked scope=%s login=%s address=%s lock_s=%d", scope,
                        _shown(login), _shown(address), verdict["wait"])
        raise errors.AuthError()
    try:
        if counter is not None:
            runtime.act(hall.accounts.sign_in, counter, clerk["id"], take_over)
    except HallError:
        runtime.act(hall.signin.succeeded, clerk, address, verdict, counter, signed_in=False)
        raise
    runtime.act(hall.signin.succeeded, clerk, address, verdict, counter)
    if digits != len(pin):
        runtime.act(hall.accounts.note_pin_length, clerk["id"], len(pin))
    return clerk


def sign_out(runtime: Runtime, clerk: int, address: str, counter: int | None = None) -> None:
    """A clerk leaves: the counter's seat freed (if they hold it) and the sign-out audited."""
    if counter is not None:
        runtime.act(runtime.hall.accounts.sign_out, counter, clerk)
    runtime.act(runtime.hall.signin.signed_out, clerk, address, counter)


def locks(runtime: Runtime) -> list[dict]:
    """The logins and addresses locked now."""
    return runtime.read(runtime.hall.signin.locks)


def unlock(runtime: Runtime, scope: str, key: str, by: int | None) -> dict:
    """Lift a lock (audited with who) and log it."""
    done = runtime.act(runtime.hall.signin.unlock, scope, key, by)
    log.warning("signin_unlocked scope=%s key=%s by=%s", scope, _shown(key), by)
    return done


def with_pin_hash(runtime: Runtime, values: dict) -> dict:
    """A clerk's ``values`` with the new PIN hashed beforehand in the hash pool, so the 0.1 s
    of scrypt is not spent holding the hall's write lock."""
    pin = values.get("pin")
    if isinstance(pin, str) and pin.isdigit() and len(pin) <= MAX_PIN:
        return {**values, "pin_hash": runtime.hash(hash_pin, pin)}
    return values


def note_token_use(runtime: Runtime, token: str) -> None:
    """Remember that a (valid) counter token was used: in the database at most once an hour
    per token, the process remembering when it last wrote (by the token's digest)."""
    key = hashlib.sha256(token.encode()).hexdigest()
    now = time.monotonic()
    if now - runtime.token_uses.get(key, -TOKEN_USE_EVERY) < TOKEN_USE_EVERY:
        return
    runtime.token_uses[key] = now
    try:
        runtime.act(runtime.hall.accounts.token_used, token)
    except (sqlite3.Error, errors.StorageFull, errors.StorageBusy) as exc:  # a note for the
        # back office must never fail the request
        log.warning("token_use_not_noted error=%s", _shown(exc))
