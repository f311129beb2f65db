"""Counter actions with altered credentials (``web/access.py`` ``may_act_at``): a tampered or
another counter's token, a tampered session, a session whose seat was taken; each refused and
nothing changed. A supervisor acting at any counter is allowed by design.

Why schemathesis once reported "a counter action accepted with altered credentials": its run
was given the credentials as raw headers (``-H "Authorization: Bearer …"``, ``-H "Cookie: …"``),
which its ``ignored_auth`` probes cannot take away; the probe "without credentials" still
carried the real ones, and the action was rightly accepted. ``tests/test_api_fuzz.py`` gives
them through schemathesis's per-scheme auth, so the probes really drop or alter them, and the
check passes in every run (device, clerk, supervisor). The tests below prove the refusals
directly.
"""

import base64

from tests.plugins.web import db_state, error_of, issue, staff_client

SESSION = "goiso_session"


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _tampered(secret: str) -> str:
    """The same secret with its last character changed."""
    return secret[:-1] + ("A" if secret[-1] != "A" else "B")


def test_a_tampered_counter_token_is_refused(app, client, demo):
    issue(client)
    before = db_state(app)
    error_of(client.post("/api/v1/counters/1/next", headers=_bearer(_tampered(
        demo["tokens"][1]))), 401, "unauthorized")
    assert db_state(app) == before
    assert client.post("/api/v1/counters/1/next",
                       headers=_bearer(demo["tokens"][1])).status_code == 200


def test_another_counters_token_is_refused_even_with_a_seated_clerks_session(app, client, demo):
    issue(client)
    clerk = staff_client(app, "an", 1)  # seated at counter 1
    before = db_state(app)
    # The bearer token decides who acts: counter 2's box may not act at counter 1, whatever
    # session cookie comes with it.
    error_of(clerk.post("/api/v1/counters/1/next", headers=_bearer(demo["tokens"][2])), 403,
             "forbidden")
    assert db_state(app) == before


def test_a_bad_token_does_not_fall_back_to_the_session(app, client, demo, supervisor_client):
    issue(client)
    before = db_state(app)
    error_of(supervisor_client.post("/api/v1/counters/1/next",
                                    headers=_bearer("gs_" + "x" * 43)), 401, "unauthorized")
    assert db_state(app) == before


def _flip(secret: str, at: int) -> str:
    """The secret with one character changed (one that decodes to other bytes)."""
    return secret[:at] + ("A" if secret[at] != "A" else "g") + secret[at + 1:]


def test_a_tampered_session_is_anonymous(app, client, clerk_client):
    issue(client)
    cookie = clerk_client.get_cookie(SESSION).value
    before = db_state(app)
    for at in (1, len(cookie) // 2, len(cookie) - 5):  # the data, the time, the signature
        clerk_client.set_cookie(SESSION, _flip(cookie, at))
        error_of(clerk_client.post("/api/v1/counters/1/next"), 401, "unauthorized")
        assert db_state(app) == before
    clerk_client.set_cookie(SESSION, cookie)
    assert clerk_client.post("/api/v1/counters/1/next").status_code == 200


def test_a_session_signature_written_another_way_is_the_same_signature(app, client,
                                                                       clerk_client):
    """What a fuzzer calls "accepted with altered credentials": the signature's last base64
    character carries two spare bits (20 bytes in 27 characters), so U, V, W and X there decode
    to the same bytes. The signed bytes are the same; no new session can be made this way."""
    issue(client)
    cookie = clerk_client.get_cookie(SESSION).value
    spare = cookie[-1]
    group = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    index = group.index(spare)
    sibling = group[index ^ 1]  # the same 4 high bits, the spare bits changed
    assert base64.urlsafe_b64decode(cookie.rsplit(".", 1)[1][:-1] + spare + "=") \
        == base64.urlsafe_b64decode(cookie.rsplit(".", 1)[1][:-1] + sibling + "=")
    clerk_client.set_cookie(SESSION, cookie[:-1] + sibling)
    assert clerk_client.post("/api/v1/counters/1/next").status_code == 200


def test_a_clerk_acts_only_where_seated_now(app, client, clerk_client, demo):
    issue(client)
    before = db_state(app)
    error_of(clerk_client.post("/api/v1/counters/2/next"), 403, "forbidden")
    assert db_state(app) == before
    # A colleague takes counter 1 over: the first clerk's session (still signed and valid) no
    # longer acts there.
    colleague = staff_client(app, "binh")
    colleague.post("/api/v1/session", json={"login": "binh", "pin": demo["pins"]["binh"],
                                            "counter": 1, "take_over": True})
    an = clerk_client.get("/api/v1/session").get_json()["clerk"]
    assert app.extensions["goiso"].hall.accounts.seated(1) not in (None, an)
    before = db_state(app)
    error_of(clerk_client.post("/api/v1/counters/1/next"), 403, "forbidden")
    assert db_state(app) == before


def test_a_supervisor_acts_at_any_counter(client, supervisor_client):
    """Not a hole: a supervisor steps in at any counter (``may_act_at``)."""
    issue(client)
    assert supervisor_client.post("/api/v1/counters/2/next").status_code == 200
    # ...but only with the session's own CSRF token.
    error_of(supervisor_client.post("/api/v1/counters/2/recall", csrf=False), 400,
             "csrf_failed")


def test_revoking_a_token_id_beyond_sqlite_is_not_found(supervisor_client):
    """Found by schemathesis: an id past SQLite's integers was a 500."""
    error_of(supervisor_client.delete(f"/api/v1/tokens/{2**64}"), 404)
    error_of(supervisor_client.delete("/api/v1/tokens/0"), 404)
