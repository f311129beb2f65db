"""Clerks, their PINs and roles, counter sign-in, and API tokens for counter devices.

PINs are short, so they are stored with a slow salted hash (werkzeug's scrypt); API tokens are
long random strings, so a SHA-256 of them is enough and lets a token be found by its hash.
"""

import hashlib
import secrets
import time

from werkzeug.security import check_password_hash, generate_password_hash

from . import errors, events
from .catalogue import MAX_COUNTER
from .rules import Rules
from .store import Store

ROLES = ("clerk", "supervisor", "admin")
ROLE_RANK = {"public": 0, "clerk": 1, "supervisor": 2, "admin": 3}
# A hash of a PIN nobody has, so an unknown login costs as much time as a wrong PIN.
_DUMMY_HASH = generate_password_hash("not-a-real-pin")


def _counter_number(counter) -> bool:
    """Whether ``counter`` can be a counter's number (else SQLite could not even look it up)."""
    return isinstance(counter, int) and not isinstance(counter, bool) \
        and 1 <= counter <= MAX_COUNTER


def token_digest(token: str) -> str:
    """The stored form of an API token."""
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Who may act in the hall."""

    def __init__(self, store: Store, clock=time.time, rules: Rules | None = None):
        self.store = store
        self.clock = clock
        self.rules = rules or Rules()

    def _log(self, conn, kind, *, counter=None, clerk=None, **data):
        now = self.clock()
        events.append(conn, self.rules.business_day(now), now, kind, counter=counter,
                      clerk=clerk, data=data)

    def put_clerk(self, login: str, *, name: str, pin: str | None = None, role: str = "clerk",
                  active: bool = True) -> dict:
        """Create or update a clerk; a new clerk needs a PIN of 4 to 12 digits."""
        if not isinstance(login, str) or not login.strip() or len(login) > 40:
            raise errors.InvalidInput(detail="login")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise errors.InvalidInput(detail="name")
        if role not in ROLES:
            raise errors.InvalidInput(detail=f"role = {role!r}")
        if pin is not None and not (isinstance(pin, str) and pin.isdigit() and 4 <= len(pin) <= 12):
            raise errors.InvalidInput(detail="PIN phải gồm 4–12 chữ số")
        if not isinstance(active, bool):
            raise errors.InvalidInput(detail="active phải là true hoặc false")
        login = login.strip().lower()
        with self.store.write() as conn:
            old = conn.execute("SELECT * FROM clerks WHERE login = ?", (login,)).fetchone()
            if old is None and pin is None:
                raise errors.InvalidInput(detail="nhân viên mới cần PIN")
            pin_hash = generate_password_hash(pin) if pin is not None else old["pin_hash"]
            conn.execute(
                "INSERT INTO clerks (login, name, pin_hash, role, active) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (login) DO UPDATE SET name = excluded.name,"
                " pin_hash = excluded.pin_hash, role = excluded.role, active = excluded.active",
                (login, name.strip(), pin_hash, role, int(bool(active))))
            row = conn.execute("SELECT * FROM clerks WHERE login = ?", (login,)).fetchone()
        return _clerk(row)

    def clerks(self) -> list[dict]:
        """All clerks, without their PIN hashes."""
        with self.store.read() as conn:
            return [_clerk(r) for r in conn.execute("SELECT * FROM clerks ORDER BY name")]

    def clerk(self, clerk_id: int) -> dict | None:
        """One active clerk by id, or None."""
        with self.store.read() as conn:
            row = conn.execute("SELECT * FROM clerks WHERE id = ? AND active",
                               (clerk_id,)).fetchone()
        return _clerk(row) if row else None

    def verify(self, login: str, pin: str) -> dict:
        """The clerk whose login and PIN match, or AuthError (same time either way)."""
        if not isinstance(login, str) or not isinstance(pin, str):
            raise errors.AuthError()
        with self.store.read() as conn:
            row = conn.execute("SELECT * FROM clerks WHERE login = ? AND active",
                               (login.strip().lower(),)).fetchone()
        if row is None:
            check_password_hash(_DUMMY_HASH, pin)
            raise errors.AuthError()
        if not check_password_hash(row["pin_hash"], pin):
            raise errors.AuthError()
        return _clerk(row)

    def sign_in(self, counter: int, clerk_id: int, take_over: bool = False) -> dict:
        """Seat a clerk at a counter; another clerk already there is refused unless taken over."""
        if not _counter_number(counter):
            raise errors.UnknownCounter(number=counter)
        with self.store.write() as conn:
            desk = conn.execute("SELECT * FROM counters WHERE number = ?", (counter,)).fetchone()
            if desk is None:
                raise errors.UnknownCounter(number=counter)
            if desk["clerk_id"] not in (None, clerk_id) and not take_over:
                other = conn.execute("SELECT name FROM clerks WHERE id = ?",
                                     (desk["clerk_id"],)).fetchone()
                raise errors.Conflict(errors.N_("Quầy %(number)s đang do %(name)s phụ trách."),
                                      number=counter, name=other["name"] if other else "?")
            conn.execute("UPDATE counters SET clerk_id = NULL WHERE clerk_id = ?", (clerk_id,))
            conn.execute("UPDATE counters SET clerk_id = ? WHERE number = ?", (clerk_id, counter))
            self._log(conn, "clerk_signed_in", counter=counter, clerk=clerk_id,
                      replaced=desk["clerk_id"] if desk["clerk_id"] != clerk_id else None)
        return {"counter": counter, "clerk": clerk_id}

    def sign_out(self, counter: int, clerk_id: int) -> None:
        """Free the counter's seat if this clerk holds it."""
        with self.store.write() as conn:
            cur = conn.execute("UPDATE counters SET clerk_id = NULL WHERE number = ?"
                               " AND clerk_id = ?", (counter, clerk_id))
            if cur.rowcount:
                self._log(conn, "clerk_signed_out", counter=counter, clerk=clerk_id)

    def seated(self, counter: int) -> int | None:
        """The clerk seated at a counter, if any."""
        if not _counter_number(counter):
            return None
        with self.store.read() as conn:
            row = conn.execute("SELECT clerk_id FROM counters WHERE number = ?",
                               (counter,)).fetchone()
        return row[0] if row else None

    def new_token(self, counter: int) -> str:
        """A new API token for a counter's devices; only its hash is stored."""
        if not _counter_number(counter):
            raise errors.UnknownCounter(number=counter)
        token = "gs_" + secrets.token_urlsafe(32)
        with self.store.write() as conn:
            if not conn.execute("SELECT 1 FROM counters WHERE number = ?", (counter,)).fetchone():
                raise errors.UnknownCounter(number=counter)
            conn.execute("INSERT INTO api_tokens (counter_number, token_hash, created_at)"
                         " VALUES (?, ?, ?)", (counter, token_digest(token), self.clock()))
            self._log(conn, "token_created", counter=counter)
        return token

    def token_counter(self, token: str) -> int | None:
        """The counter an API token acts for, or None if unknown or revoked."""
        if not isinstance(token, str) or not token.startswith("gs_") or len(token) > 100:
            return None
        with self.store.read() as conn:
            row = conn.execute("SELECT counter_number FROM api_tokens WHERE token_hash = ?"
                               " AND revoked_at IS NULL", (token_digest(token),)).fetchone()
        return row[0] if row else None

    def revoke_tokens(self, counter: int) -> int:
        """Revoke every token of a counter; returns how many."""
        if not _counter_number(counter):
            return 0
        with self.store.write() as conn:
            cur = conn.execute("UPDATE api_tokens SET revoked_at = ? WHERE counter_number = ?"
                               " AND revoked_at IS NULL", (self.clock(), counter))
            if cur.rowcount:
                self._log(conn, "tokens_revoked", counter=counter, count=cur.rowcount)
            return cur.rowcount


def _clerk(row) -> dict:
    return {"id": row["id"], "login": row["login"], "name": row["name"], "role": row["role"],
            "active": bool(row["active"])}
