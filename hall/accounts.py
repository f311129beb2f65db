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
# A hash of a PIN nobody has, so an unknown login costs as much time as a wrong PIN.


@functools.cache
def _dummy_hash() -> str:
    """A hash to check unknown logins against (same time as a real check); made on first use,
    not at import: a scrypt hash takes about 0.1 s, which ``goiso serve``'s start need not pay."""
    return generate_password_hash("not-a-real-pin")


def token_digest(token: str) -> str:
    """The stored form of an API token."""
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Who may act in the hall."""

    def __init__(self, tx: Transactions):
        self.tx = tx

    def put_clerk(self, login: str, *, name: str, pin: str | None = None, role: str = "clerk",
                  active: bool = True, by: int | None = None) -> dict:
        """Create or update a clerk; a new clerk needs a PIN of 4 to 12 digits. Audited with
        who and before → after, a PIN shown as "***"."""
        if not isinstance(login, str) or not login.strip() or len(login) > 40:
            raise errors.InvalidInput(field="login")
        name = valid_text(name, "name", 100)
        if role not in ROLES:
            raise errors.not_one_of("role", role, ROLES)
        if pin is not None and not (isinstance(pin, str) and pin.isdigit() and 4 <= len(pin) <= 12):
            raise errors.InvalidInput(errors.N_("PIN phải gồm từ 4 đến 12 chữ số."))
        if not isinstance(active, bool):
            raise errors.InvalidInput(errors.InvalidInput.NOT_BOOL, field="active")
        login = login.strip().lower()
        with self.tx.change() as change:
            old = change.one("SELECT * FROM clerks WHERE login = ?", (login,))
            if old is None and pin is None:
                raise errors.InvalidInput(errors.N_("Nhân viên mới cần có PIN."))
            pin_hash = generate_password_hash(pin) if pin is not None else old["pin_hash"]
            change.run(
                "INSERT INTO clerks (login, name, pin_hash, role, active) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (login) DO UPDATE SET name = excluded.name,"
                " pin_hash = excluded.pin_hash, role = excluded.role, active = excluded.active",
                (login, name.strip(), pin_hash, role, int(bool(active))))
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

    def clerk(self, clerk_id: int) -> dict | None:
        """One active clerk by id, or None."""
        with self.tx.reading() as reading:
            row = reading.one("SELECT * FROM clerks WHERE id = ? AND active",
                               (clerk_id,))
        return _clerk(row) if row else None

    def verify(self, login: str, pin: str) -> dict:
        """The clerk whose login and PIN match, or AuthError (same time either way)."""
        if not isinstance(login, str) or not isinstance(pin, str):
            raise errors.AuthError()
        with self.tx.reading() as reading:
            row = reading.one("SELECT * FROM clerks WHERE login = ? AND active",
                               (login.strip().lower(),))
        if row is None:
            check_password_hash(_dummy_hash(), pin)
            raise errors.AuthError()
        if not check_password_hash(row["pin_hash"], pin):
            raise errors.AuthError()
        return _clerk(row)

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

    def new_token(self, counter: int) -> str:
        """A new API token for a counter's devices; only its hash is stored."""
        if not is_counter_number(counter):
            raise errors.UnknownCounter(number=counter)
        token = "gs_" + secrets.token_urlsafe(32)
        with self.tx.change() as change:
            if not change.one("SELECT 1 FROM counters WHERE number = ?", (counter,)):
                raise errors.UnknownCounter(number=counter)
            change.run("INSERT INTO api_tokens (counter_number, token_hash, created_at)"
                       " VALUES (?, ?, ?)", (counter, token_digest(token), change.now))
            change.log(EventKind.TOKEN_CREATED, counter=counter)
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

    def revoke_tokens(self, counter: int) -> int:
        """Revoke every token of a counter; returns how many."""
        if not is_counter_number(counter):
            return 0
        with self.tx.change() as change:
            cur = change.run("UPDATE api_tokens SET revoked_at = ? WHERE counter_number = ?"
                             " AND revoked_at IS NULL", (change.now, counter))
            if cur.rowcount:
                change.log(EventKind.TOKENS_REVOKED, counter=counter, count=cur.rowcount)
            return cur.rowcount


def _clerk(row) -> dict:
    return {"id": row["id"], "login": row["login"], "name": row["name"], "role": row["role"],
            "active": bool(row["active"])}
