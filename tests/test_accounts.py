"""Clerks, PINs, counter sign-in and API tokens: secrets never stored in clear."""

import hashlib

import pytest

from hall import errors
from hall.accounts import token_digest

PIN = "739164"  # distinctive enough to be searched for in the file's bytes


def file_bytes(h) -> bytes:
    """Everything SQLite has written for the hall: the database file and its WAL."""
    h.store.close()  # let the WAL be checkpointed where possible; the store reopens on demand
    data = b""
    for suffix in ("", "-wal", "-journal"):
        path = h.store.path.with_name(h.store.path.name + suffix)
        if path.exists():
            data += path.read_bytes()
    return data


def clerk_rows(h):
    with h.store.read() as conn:
        return [tuple(r) for r in conn.execute("SELECT * FROM clerks ORDER BY id")]


def test_pin_is_stored_as_a_slow_salted_hash(hall):
    clerk = hall.accounts.put_clerk("Minh", name="Trần Văn Minh", pin=PIN)
    assert clerk == {"id": clerk["id"], "login": "minh", "name": "Trần Văn Minh",
                     "role": "clerk", "active": True}
    with hall.store.read() as conn:
        stored = conn.execute("SELECT pin_hash FROM clerks WHERE login = 'minh'").fetchone()[0]
    assert stored.startswith("scrypt:") and PIN not in stored
    assert PIN.encode() not in file_bytes(hall)
    assert hashlib.sha256(PIN.encode()).hexdigest().encode() not in file_bytes(hall)
    other = hall.accounts.put_clerk("hoa", name="Lê Thị Hoa", pin=PIN)
    with hall.store.read() as conn:
        hashes = [r[0] for r in conn.execute("SELECT pin_hash FROM clerks ORDER BY id")]
    assert hashes[0] != hashes[1]  # salted: the same PIN hashes differently
    assert "pin_hash" not in other and all("pin_hash" not in c for c in hall.accounts.clerks())


def test_verify(hall):
    clerk = hall.accounts.put_clerk("minh", name="Trần Văn Minh", pin=PIN, role="supervisor")
    assert hall.accounts.verify(" MINH ", PIN) == clerk
    for login, pin in (("minh", "739165"), ("minh", ""), ("nobody", PIN), ("minh", None),
                       (None, PIN)):
        with pytest.raises(errors.AuthError):
            hall.accounts.verify(login, pin)
    hall.accounts.put_clerk("minh", name="Trần Văn Minh", active=False)
    with pytest.raises(errors.AuthError):
        hall.accounts.verify("minh", PIN)  # inactive
    assert hall.accounts.clerk(clerk["id"]) is None


def test_update_without_pin_keeps_it_and_with_pin_changes_it(hall):
    hall.accounts.put_clerk("minh", name="Minh", pin=PIN)
    renamed = hall.accounts.put_clerk("minh", name="Trần Văn Minh", role="admin")
    assert renamed["name"] == "Trần Văn Minh" and renamed["role"] == "admin"
    assert hall.accounts.verify("minh", PIN)["role"] == "admin"
    hall.accounts.put_clerk("minh", name="Trần Văn Minh", pin="135790")
    with pytest.raises(errors.AuthError):
        hall.accounts.verify("minh", PIN)
    assert hall.accounts.verify("minh", "135790")["login"] == "minh"


@pytest.mark.parametrize("login, kwargs", [
    ("", {"name": "A", "pin": "123456"}),
    ("x" * 41, {"name": "A", "pin": "123456"}),
    ("new", {"name": "", "pin": "123456"}),
    ("new", {"name": "A", "pin": "123"}),
    ("new", {"name": "A", "pin": "1234567890123"}),
    ("new", {"name": "A", "pin": "12a4"}),
    ("new", {"name": "A", "pin": 1234}),
    ("new", {"name": "A", "pin": "123456", "role": "boss"}),
    ("new", {"name": "A"}),  # a new clerk needs a PIN
])
def test_put_clerk_refuses_bad_input(hall, login, kwargs):
    before = clerk_rows(hall)
    with pytest.raises(errors.InvalidInput):
        hall.accounts.put_clerk(login, **kwargs)
    assert clerk_rows(hall) == before


def test_sign_in_refuses_a_second_clerk_unless_taken_over(hall, clerk):
    other = hall.accounts.put_clerk("hoa", name="Lê Thị Hoa", pin="135790")
    mark = hall.log.last_id()
    assert hall.accounts.sign_in(1, clerk["id"]) == {"counter": 1, "clerk": clerk["id"]}
    assert hall.accounts.sign_in(1, clerk["id"])["clerk"] == clerk["id"]  # again: fine
    with pytest.raises(errors.Conflict) as refused:
        hall.accounts.sign_in(1, other["id"])
    assert "Nguyễn Thị Lan" in str(refused.value)
    assert hall.accounts.seated(1) == clerk["id"]
    hall.accounts.sign_in(1, other["id"], take_over=True)
    assert hall.accounts.seated(1) == other["id"]
    events = [(e.kind, e.counter, e.clerk, e.data.get("replaced")) for e in hall.log.since(mark)]
    assert events == [("clerk_signed_in", 1, clerk["id"], None),
                      ("clerk_signed_in", 1, clerk["id"], None),
                      ("clerk_signed_in", 1, other["id"], clerk["id"])]


def test_a_clerk_sits_at_one_counter_at_a_time(hall, clerk):
    hall.accounts.sign_in(1, clerk["id"])
    hall.accounts.sign_in(2, clerk["id"])
    assert (hall.accounts.seated(1), hall.accounts.seated(2)) == (None, clerk["id"])


def test_sign_out(hall, clerk):
    other = hall.accounts.put_clerk("hoa", name="Lê Thị Hoa", pin="135790")
    hall.accounts.sign_in(1, clerk["id"])
    mark = hall.log.last_id()
    hall.accounts.sign_out(1, other["id"])  # not theirs: nothing happens
    assert hall.accounts.seated(1) == clerk["id"] and hall.log.since(mark) == []
    hall.accounts.sign_out(1, clerk["id"])
    assert hall.accounts.seated(1) is None
    assert [e.kind for e in hall.log.since(mark)] == ["clerk_signed_out"]


def test_sign_in_at_an_unknown_counter(hall, clerk):
    with pytest.raises(errors.UnknownCounter):
        hall.accounts.sign_in(42, clerk["id"])
    assert hall.accounts.seated(42) is None


def test_tokens_are_stored_hashed_and_can_be_revoked(hall):
    token = hall.accounts.new_token(2)
    second = hall.accounts.new_token(2)
    assert token.startswith("gs_") and len(token) > 40 and token != second
    with hall.store.read() as conn:
        stored = [r[0] for r in conn.execute("SELECT token_hash FROM api_tokens ORDER BY id")]
    assert stored == [token_digest(token), token_digest(second)]
    assert stored[0] == hashlib.sha256(token.encode()).hexdigest()
    data = file_bytes(hall)
    assert token.encode() not in data and token[3:].encode() not in data
    assert hall.accounts.token_seat(token)[0] == 2
    for bad in ("gs_unknown", "nope", "gs_" + "x" * 200, None, 42):
        assert hall.accounts.token_seat(bad) is None
    mark = hall.log.last_id()
    assert hall.accounts.revoke_tokens(2) == 2
    assert hall.accounts.token_seat(token) is None
    assert hall.accounts.token_seat(second) is None
    assert hall.accounts.revoke_tokens(2) == 0
    assert [(e.kind, e.counter, e.data) for e in hall.log.since(mark)] == [
        ("tokens_revoked", 2, {"count": 2})]
    fresh = hall.accounts.new_token(2)
    assert hall.accounts.token_seat(fresh)[0] == 2


def test_token_for_an_unknown_counter(hall):
    with pytest.raises(errors.UnknownCounter):
        hall.accounts.new_token(42)
    with hall.store.read() as conn:
        assert conn.execute("SELECT count(*) FROM api_tokens").fetchone()[0] == 0
