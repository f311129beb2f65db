"""Clerks, their PINs and roles, counter sign-in, and API tokens for counter devices.

PINs are short, so they are stored with a slow salted hash (werkzeug's scrypt); API tokens are
long random strings, so a SHA-256 of them is enough and lets a token be found by its hash.
"""

import functools
import hashlib
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from . import errors
from .catalogue import audit_change, valid_text
from .events import EventKind
from .records import is_counter_number
from .transaction import Transactions

ROLES = ("clerk", "supervisor", "admin")
ROLE_RANK = {"public": 0, "clerk": 1, "supervisor": 2, "admin": 3}
MAX_PIN = 12
# A hash of a PIN nobody has, so an unknown login costs as much time as a wrong PIN.


@functools.cache
def _dummy_hash() -> str:
    """A hash to check unknown logins against (same time as a real check); made on first use,
    not at import: a scrypt hash takes about 0.1 s, which ``goiso serve``'s start need not pay."""
    return generate_password_hash("not-a-real-pin")


def hash_pin(pin: str) -> str:
    """The stored form of a PIN (scrypt: about 0.1 s of CPU, run off the event loop)."""
    return generate_password_hash(pin)


def pin_matches(pin_hash: str | None, pin) -> bool:
    """Whether ``pin`` is the PIN of ``pin_hash`` (as slow as ``hash_pin``; None, an unknown
    login's, matches nothing)."""
    pin_hash = pin_hash or _dummy_hash()
    if not isinstance(pin, str) or len(pin) > MAX_PIN:
        check_password_hash(pin_hash, "")  # the same time as a real check
        return False
    return check_password_hash(pin_hash, pin)


MAX_ROW_ID = 2**63 - 1  # SQLite's largest integer


def token_digest(token: str) -> str:
    """The stored form of an API token (long and random: a fast hash is enough)."""
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(authorization: str) -> str | None:
    """The token of an ``Authorization: Bearer …`` header's value (None: no such token)."""
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class Accounts:
    """Who may act in the hall."""

    def __init__(self, tx: Transactions):
        self.tx = tx
        self.min_pin_length = 6  # digits of a new PIN ([security] min_pin_length)

    def put_clerk(self, login: str, *, name: str, pin: str | None = None, role: str = "clerk",
                  active: bool = True, by: int | None = None,
                  pin_hash: str | None = None) -> dict:
        """Create or update a clerk; a new clerk needs a PIN of ``min_pin_length`` to 12 digits
        (``pin_hash``: its ``hash_pin`` made beforehand, off the write lock). Audited with who
        and before → after, a PIN shown as "***"."""
        if not isinstance(login, str) or not login.strip() or len(login) > 40:
            raise errors.InvalidInput(field="login")
        name = valid_text(name, "name", 100)
        if role not in ROLES:
            raise errors.not_one_of("role", role, ROLES)
        shortest = self.min_pin_length
        if pin is not None and not (isinstance(pin, str) and pin.isdigit()
                                    and shortest <= len(pin) <= MAX_PIN):
            raise errors.InvalidInput(errors.N_("PIN phải gồm từ %(low)s đến %(high)s chữ số."),
                                      field="pin", low=shortest, high=MAX_PIN)
        if not isinstance(active, bool):
            raise errors.InvalidInput(errors.InvalidInput.NOT_BOOL, field="active")
        login = login.strip().lower()
        # Hashed before the change: the write lock is not held for the 0.1 s of scrypt.
        new_hash = (pin_hash or hash_pin(pin)) if pin is not None else None
        with self.tx.change() as change:
            old = change.one("SELECT * FROM clerks WHERE login = ?", (login,))
            if old is None and pin is None:
                raise errors.InvalidInput(errors.N_("Nhân viên mới cần có PIN."))
            pin_hash = new_hash or old["pin_hash"]
            digits = len(pin) if pin is not None else old["pin_digits"]
            change.run(
                "INSERT INTO clerks (login, name, pin_hash, role, active, pin_digits)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (login) DO UPDATE SET name = excluded.name,"
                " pin_hash = excluded.pin_hash, role = excluded.role, active = excluded.active,"
                " pin_digits = excluded.pin_digits",
                (login, name.strip(), pin_hash, role, int(bool(active)), digits))
            row = change.one("SELECT * FROM clerks WHERE login = ?", (login,))
            before = None if old is None else {
                "name": old["name"], "role": old["role"], "active": old["active"],
                "pin": "***" if pin is None else "(cũ)"}
            after = {"name": row["name"], "role": row["role"], "active": row["active"],
                     "pin": "***" if pin is None else "(mới)"}
            audit_change(change, "clerk", login, before, after, by, hidden=("pin",))
        return _clerk(row)

    def clerks(self) -> list[dict]:
        """All clerks, without their PIN hashes."""
        with self.tx.reading() as reading:
            return [_clerk(r) for r in reading.all("SELECT * FROM clerks ORDER BY name")]

    def short_pins(self) -> dict[str, int]:
        """Login -> digits of the PINs known to be shorter than ``min_pin_length`` (set before
        it was raised; a PIN's length is learnt when set or at a right PIN)."""
        with self.tx.reading() as reading:
            return dict(reading.all("SELECT login, pin_digits FROM clerks WHERE pin_digits < ?",
                                    (self.min_pin_length,)))

    def clerk(self, clerk_id: int) -> dict | None:
        """One active clerk by id, or None."""
        with self.tx.reading() as reading:
            row = reading.one("SELECT * FROM clerks WHERE id = ? AND active",
                               (clerk_id,))
        return _clerk(row) if row else None

    def credentials(self, login) -> tuple[dict | None, str | None, int | None]:
        """The active clerk of a login (or None), the hash to check a PIN against (None for an
        unknown login: ``pin_matches`` then checks against a hash nobody's PIN matches, so both
        cost the same time) and how many digits the PIN is known to have."""
        if not isinstance(login, str) or len(login) > 100:
            return None, None, None
        with self.tx.reading() as reading:
            row = reading.one("SELECT * FROM clerks WHERE login = ? AND active",
                              (login.strip().lower(),))
        if row is None:
            return None, None, None
        return _clerk(row), row["pin_hash"], row["pin_digits"]

    def verify(self, login: str, pin: str) -> dict:
        """The clerk whose login and PIN match, or AuthError (same time either way); the
        command line's check (the web's goes through ``services.signin``)."""
        clerk, pin_hash, _digits = self.credentials(login)
        if not pin_matches(pin_hash, pin) or clerk is None:
            raise errors.AuthError()
        return clerk

    def note_pin_length(self, clerk_id: int, digits: int) -> None:
        """Remember how long a clerk's PIN is (learnt at a right PIN: PINs set before this was
        kept show in the catalogue as too short once known)."""
        with self.tx.change() as change:
            change.run("UPDATE clerks SET pin_digits = ? WHERE id = ?"
                       " AND pin_digits IS NOT ?", (digits, clerk_id, digits))

    def sign_in(self, counter: int, clerk_id: int, take_over: bool = False) -> dict:
        """Seat a clerk at a counter; another clerk already there is refused unless taken over."""
        if not is_counter_number(counter):
            raise errors.UnknownCounter(number=counter)
        with self.tx.change() as change:
            desk = change.one("SELECT * FROM counters WHERE number = ?", (counter,))
            if desk is None or not desk["active"]:  # a deactivated counter seats nobody
                raise errors.UnknownCounter(number=counter)
            if desk["clerk_id"] not in (None, clerk_id) and not take_over:
                other = change.one("SELECT name FROM clerks WHERE id = ?", (desk["clerk_id"],))
                raise errors.Conflict(errors.N_("Quầy %(number)s đang do %(name)s phụ trách."),
                                      number=counter, name=other["name"] if other else "?")
            change.run("UPDATE counters SET clerk_id = NULL WHERE clerk_id = ?", (clerk_id,))
            change.run("UPDATE counters SET clerk_id = ? WHERE number = ?", (clerk_id, counter))
            change.log(EventKind.CLERK_SIGNED_IN, counter=counter, clerk=clerk_id,
                       replaced=desk["clerk_id"] if desk["clerk_id"] != clerk_id else None)
        return {"counter": counter, "clerk": clerk_id}

    def sign_out(self, counter: int, clerk_id: int) -> None:
        """Free the counter's seat if this clerk holds it."""
        with self.tx.change() as change:
            cur = change.run("UPDATE counters SET clerk_id = NULL WHERE number = ?"
                             " AND clerk_id = ?", (counter, clerk_id))
            if cur.rowcount:
                change.log(EventKind.CLERK_SIGNED_OUT, counter=counter, clerk=clerk_id)

    def seated(self, counter: int) -> int | None:
        """The clerk seated at a counter, if any."""
        if not is_counter_number(counter):
            return None
        with self.tx.reading() as reading:
            row = reading.one("SELECT clerk_id FROM counters WHERE number = ?", (counter,))
        return row[0] if row else None

    def new_token(self, counter: int, by: int | None = None) -> str:
        """A new API token for a counter's devices; only its hash is stored."""
        if not is_counter_number(counter):
            raise errors.UnknownCounter(number=counter)
        token = "gs_" + secrets.token_urlsafe(32)
        with self.tx.change() as change:
            if not change.one("SELECT 1 FROM counters WHERE number = ?", (counter,)):
                raise errors.UnknownCounter(number=counter)
            change.run("INSERT INTO api_tokens (counter_number, token_hash, created_at)"
                       " VALUES (?, ?, ?)", (counter, token_digest(token), change.now))
            change.log(EventKind.TOKEN_CREATED, counter=counter, clerk=by)
        return token

    def token_seat(self, token: str) -> tuple[int, int | None] | None:
        """The counter an API token acts for and the clerk seated there now (one read: every
        keypad press and counter device asks it), or None if the token is unknown or revoked."""
        if not isinstance(token, str) or not token.startswith("gs_") or len(token) > 100:
            return None
        with self.tx.reading() as reading:
            row = reading.one("SELECT t.counter_number, c.clerk_id FROM api_tokens t"
                              " JOIN counters c ON c.number = t.counter_number"
                              " WHERE t.token_hash = ? AND t.revoked_at IS NULL",
                              (token_digest(token),))
        return (row[0], row[1]) if row else None

    def revoke_tokens(self, counter: int, by: int | None = None) -> int:
        """Revoke every token of a counter; returns how many."""
        if not is_counter_number(counter):
            return 0
        with self.tx.change() as change:
            cur = change.run("UPDATE api_tokens SET revoked_at = ? WHERE counter_number = ?"
                             " AND revoked_at IS NULL", (change.now, counter))
            if cur.rowcount:
                change.log(EventKind.TOKENS_REVOKED, counter=counter, count=cur.rowcount,
                           clerk=by)
            return cur.rowcount

    def token_used(self, token: str) -> None:
        """Note that a token was used now (callers do so at most about once an hour)."""
        with self.tx.change() as change:
            change.run("UPDATE api_tokens SET last_used_at = ? WHERE token_hash = ?",
                       (change.now, token_digest(token)))

    def tokens(self) -> list[dict]:
        """Every API token (never its value or hash): id, counter, made, last used (to the
        hour) and revoked when."""
        with self.tx.reading() as reading:
            iso = reading.rules.iso
            return [{"id": r["id"], "counter": r["counter_number"],
                     "created_at": iso(r["created_at"]), "last_used_at": iso(r["last_used_at"]),
                     "revoked_at": iso(r["revoked_at"])}
                    for r in reading.all("SELECT * FROM api_tokens"
                                         " ORDER BY revoked_at IS NOT NULL, counter_number, id")]

    def revoke_token(self, token_id: int, by: int | None = None) -> dict:
        """Revoke one token by its id (audited with who); NotFound unless it is in use."""
        if isinstance(token_id, bool) or not isinstance(token_id, int):
            raise errors.InvalidInput(errors.InvalidInput.NOT_INTEGER, field="id")
        if not 1 <= token_id <= MAX_ROW_ID:  # no such row, and SQLite could not even look
            raise errors.NotFound()
        with self.tx.change() as change:
            row = change.one("SELECT * FROM api_tokens WHERE id = ? AND revoked_at IS NULL",
                             (token_id,))
            if row is None:
                raise errors.NotFound()
            change.run("UPDATE api_tokens SET revoked_at = ? WHERE id = ?", (change.now, token_id))
            change.log(EventKind.TOKENS_REVOKED, counter=row["counter_number"], count=1,
                       clerk=by, token=token_id)
        return {"id": token_id, "counter": row["counter_number"]}


def _clerk(row) -> dict:
    return {"id": row["id"], "login": row["login"], "name": row["name"], "role": row["role"],
            "active": bool(row["active"])}
