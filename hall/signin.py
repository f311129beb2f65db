"""Sign-in throttling: wrong PINs counted per login and per client address, growing delays,
then a lock that grows with each new lock; a supervisor may lift one. Kept in SQLite, so a
restart forgets nothing.

How many guesses a day can an attacker make against one login with the defaults? A cycle is
``lock_after`` (10) wrong PINs (the last few after growing waits of 2, 4 … 60 s), then a lock
that doubles from 15 min: 15 + 30 + 60 + 120 + 240 + 480 = 945 min for six cycles, and the
seventh lock (960 min) ends after the day. So at most 7 × 10 = 70 guesses a day: a 6-digit PIN
(10⁶ values) is found in a day with a chance of at most 70 / 10⁶ = 0.007 %, and locks never
shrink below 1 440 min (10 guesses a day) while the guessing goes on (they are forgotten only
``forget_hours`` after the last lock ended). One address reaches 7 × 30 = 210 guesses a day
over all logins. ``tests/test_signin.py`` replays a day of guessing against these defaults.
"""

from dataclasses import dataclass, fields

from . import errors
from .events import EventKind
from .transaction import Transactions

SCOPES = ("login", "address")
MAX_KEY = 100  # a login or address longer than this is cut (a login is at most 40 anyway)


@dataclass(frozen=True)
class SigninLimits:
    """The [security] settings: how wrong PINs are slowed down and locked, and how long a new
    PIN must be."""

    free_failures: int = 3  # wrong PINs of one login answered at once
    delay_seconds: int = 2  # then the wait before the next try, doubled at each wrong PIN …
    max_delay_seconds: int = 60  # … up to this
    lock_after: int = 10  # wrong PINs of one login that lock it
    address_free_failures: int = 10  # wrong PINs from one address (any login) answered at once
    address_lock_after: int = 30  # wrong PINs from one address that lock it
    lock_minutes: int = 15  # the first lock; each next one doubles …
    max_lock_minutes: int = 1440  # … up to this
    forget_hours: int = 24  # failures and locks are forgotten this long after the last lock
    min_pin_length: int = 6  # digits of a new PIN (older, shorter PINs still work)

    def __post_init__(self):
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise errors.InvalidInput(errors.InvalidInput.NOT_INTEGER, field=item.name)
        for name, low, high in (("free_failures", 0, 100), ("delay_seconds", 0, 3600),
                                ("max_delay_seconds", 0, 3600), ("lock_after", 1, 1000),
                                ("address_free_failures", 0, 1000),
                                ("address_lock_after", 1, 10000),
                                ("lock_minutes", 1, 10080), ("max_lock_minutes", 1, 10080),
                                ("forget_hours", 1, 720), ("min_pin_length", 4, 12)):
            if not low <= getattr(self, name) <= high:
                raise errors.out_of_range(name, low, high)
        if self.lock_after <= self.free_failures:
            raise errors.InvalidInput(errors.N_("lock_after phải lớn hơn free_failures."),
                                      field="lock_after")
        if self.address_lock_after <= self.address_free_failures:
            raise errors.InvalidInput(
                errors.N_("address_lock_after phải lớn hơn address_free_failures."),
                field="address_lock_after")

    def free(self, scope: str) -> int:
        """Wrong PINs answered at once for a login or an address."""
        return self.free_failures if scope == "login" else self.address_free_failures

    def locking(self, scope: str) -> int:
        """Wrong PINs that lock a login or an address."""
        return self.lock_after if scope == "login" else self.address_lock_after

    def delay(self, scope: str, failures: int) -> float:
        """The wait after the ``failures``-th wrong PIN (0 while still free)."""
        beyond = failures - self.free(scope)
        if beyond <= 0 or self.delay_seconds == 0:
            return 0.0
        return float(min(self.delay_seconds * 2 ** min(beyond - 1, 30), self.max_delay_seconds))

    def lock(self, locks_before: int) -> float:
        """How long the next lock lasts, in seconds, after ``locks_before`` earlier ones."""
        return 60.0 * min(self.lock_minutes * 2 ** min(locks_before, 30), self.max_lock_minutes)


def _keys(login, address) -> list[tuple[str, str]]:
    login = login.strip().lower()[:MAX_KEY] if isinstance(login, str) else ""
    return [("login", login), ("address", str(address)[:MAX_KEY])]


class Signin:
    """Counts wrong PINs and says when the next try may come."""

    def __init__(self, tx: Transactions, limits: SigninLimits | None = None):
        self.tx = tx
        self.limits = limits or SigninLimits()

    def _live(self, row, now: float) -> bool:
        """Whether a row still counts (not forgotten ``forget_hours`` after its last event)."""
        last = max(row["last_failed_at"], row["blocked_until"])
        return now - last < self.limits.forget_hours * 3600

    def _refuse_if_blocked(self, rows, now: float) -> None:
        """SigninThrottled (the seconds to wait, and whether it is a lock) if any of ``rows``
        (of the login and the address) is waiting out a delay or a lock."""
        blocking = [row for row in rows if row is not None and self._live(row, now)
                    and row["blocked_until"] > now]
        if blocking:
            wait = max(row["blocked_until"] for row in blocking) - now
            locked = any(row["locked_at"] is not None for row in blocking)
            raise errors.SigninThrottled(
                errors.SigninThrottled.LOCKED if locked else errors.SigninThrottled.text,
                seconds=int(-(-wait // 1)), minutes=int(-(-wait // 60)))

    def check(self, login, address) -> None:
        """Refuse (SigninThrottled) while the login or the address waits out a delay or a lock
        (a read: a flood of refused tries takes no write lock)."""
        with self.tx.reading() as reading:
            self._refuse_if_blocked(
                [reading.one("SELECT * FROM signin_failures WHERE scope = ? AND key = ?", k)
                 for k in _keys(login, address)], reading.now)

    def attempt(self, login, address) -> dict:
        """Before a PIN is checked: refuse as ``check`` does, else count the try as a wrong PIN
        at once (its delay or lock included), so tries sent together are counted one after
        another and cannot all pass before the first is judged; ``succeeded`` forgives it when
        the PIN was right. Returns {"wait": seconds before the next try, "locked": [(scope,
        key, until, locks) of the locks this try made]}."""
        wait, locked = 0.0, []
        with self.tx.change() as change:
            rows = [(scope, key, change.one("SELECT * FROM signin_failures WHERE scope = ?"
                                            " AND key = ?", (scope, key)))
                    for scope, key in _keys(login, address)]
            self._refuse_if_blocked([row for _, _, row in rows], change.now)
            for scope, key, row in rows:
                live = row is not None and self._live(row, change.now)
                failures = (row["failures"] if live else 0) + 1
                locks = row["locks"] if live else 0
                if failures >= self.limits.locking(scope):
                    span = self.limits.lock(locks)
                    until, locked_at, locks, failures = change.now + span, change.now, locks + 1, 0
                    locked.append((scope, key, until, locks))
                else:
                    span = self.limits.delay(scope, failures)
                    until, locked_at = change.now + span, None
                wait = max(wait, span)
                change.run(
                    "INSERT INTO signin_failures (scope, key, failures, last_failed_at,"
                    " blocked_until, locked_at, locks) VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (scope, key) DO UPDATE SET failures = excluded.failures,"
                    " last_failed_at = excluded.last_failed_at,"
                    " blocked_until = excluded.blocked_until, locked_at = excluded.locked_at,"
                    " locks = excluded.locks",
                    (scope, key, failures, change.now, until, locked_at, locks))
            # Rows nobody tried for a long time are dropped (random logins must not pile up).
            change.run("DELETE FROM signin_failures WHERE max(last_failed_at, blocked_until)"
                       " < ?", (change.now - self.limits.forget_hours * 3600,))
        return {"wait": wait, "locked": locked}

    def failed(self, login, address, verdict: dict) -> None:
        """The PIN of an ``attempt`` was wrong: each lock it made is audited."""
        if not verdict["locked"]:
            return
        with self.tx.change() as change:
            for scope, key, until, locks in verdict["locked"]:
                clerk = change.one("SELECT id FROM clerks WHERE login = ?", (key,)) \
                    if scope == "login" else None
                change.log(EventKind.SIGNIN_LOCKED, what=scope, key=key,
                           login=str(login)[:MAX_KEY], address=str(address)[:MAX_KEY],
                           until=change.rules.iso(until), locks=locks,
                           locked_clerk=clerk["id"] if clerk else None)

    def succeeded(self, clerk: dict, address, verdict: dict, counter: int | None = None,
                  signed_in: bool = True) -> None:
        """The PIN of an ``attempt`` was right: the login's wrong PINs are forgiven (not its
        earlier locks: the next one still grows), the address is forgiven this try only (a
        known PIN must not reset a guesser's count), a lock this try made is undone; the
        sign-in is audited (``signed_in`` False: the PIN was right but the seat refused)."""
        login, place = (key for _, key in _keys(clerk["login"], address))
        made = {scope for scope, *_ in verdict["locked"]}
        with self.tx.change() as change:
            change.run("UPDATE signin_failures SET failures = 0, locked_at = NULL,"
                       " blocked_until = min(blocked_until, ?), locks = locks - ?"
                       " WHERE scope = 'login' AND key = ?",
                       (change.now, int("login" in made), login))
            if "address" in made:
                change.run("UPDATE signin_failures SET failures = ?, locked_at = NULL,"
                           " blocked_until = ?, locks = locks - 1"
                           " WHERE scope = 'address' AND key = ?",
                           (self.limits.address_lock_after - 1, change.now, place))
            else:
                change.run("UPDATE signin_failures SET failures = max(failures - 1, 0)"
                           " WHERE scope = 'address' AND key = ?", (place,))
            if signed_in:
                change.log(EventKind.STAFF_SIGNED_IN, clerk=clerk["id"], counter=counter,
                           address=str(address)[:MAX_KEY])

    def signed_out(self, clerk: int, address, counter: int | None = None) -> None:
        """A staff session ended by its owner: audited."""
        with self.tx.change() as change:
            change.log(EventKind.STAFF_SIGNED_OUT, clerk=clerk, counter=counter,
                       address=str(address)[:MAX_KEY])

    def locks(self) -> list[dict]:
        """The logins and addresses locked now, the longest first."""
        with self.tx.reading() as reading:
            rows = reading.all("SELECT * FROM signin_failures WHERE locked_at IS NOT NULL"
                               " AND blocked_until > ? ORDER BY blocked_until DESC",
                               (reading.now,))
            iso = reading.rules.iso
            return [{"scope": r["scope"], "key": r["key"], "locked_at": iso(r["locked_at"]),
                     "until": iso(r["blocked_until"]),
                     "seconds_left": int(-(-(r["blocked_until"] - reading.now) // 1)),
                     "locks": r["locks"]} for r in rows]

    def unlock(self, scope: str, key: str, by: int | None) -> dict:
        """Lift a lock (and forget the wrong PINs) of a login or an address; audited with who.
        NotFound when it is not locked."""
        if scope not in SCOPES:
            raise errors.not_one_of("scope", scope, SCOPES)
        if not isinstance(key, str) or not key or len(key) > MAX_KEY:
            raise errors.InvalidInput(field="key")
        if scope == "login":
            key = key.strip().lower()
        with self.tx.change() as change:
            row = change.one("SELECT * FROM signin_failures WHERE scope = ? AND key = ?"
                             " AND locked_at IS NOT NULL AND blocked_until > ?",
                             (scope, key, change.now))
            if row is None:
                raise errors.NotLocked(key=key)
            change.run("DELETE FROM signin_failures WHERE scope = ? AND key = ?", (scope, key))
            change.log(EventKind.SIGNIN_UNLOCKED, clerk=by, what=scope, key=key,
                       until=change.rules.iso(row["blocked_until"]))
        return {"scope": scope, "key": key}
