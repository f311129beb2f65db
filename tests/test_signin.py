"""Sign-in throttling (hall/signin.py, services/signin.py): wrong PINs per login and per client
address, growing delays, locks that survive a restart, 429 + Retry-After on every sign-in door,
the supervisor's unlock (audited), the sign-in log lines, the shortest new PIN, PIN hashes off
the event loop, and the counters' tokens listed and revoked one by one."""

import logging
import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from hall import errors
from hall.signin import SigninLimits
from server import create_app
from services.runtime import bounded_runner
from settings import Settings
from tests.plugins.halls import Clock
from tests.plugins.waiting import wait_for
from tests.plugins.web import close_app, csrf_of, error_of, sign_in, staff_client

LIMITS = SigninLimits()
DAY = 24 * 3600
WRONG = "000000"


# -- the core, on the fake clock -----------------------------------------------------------------

def test_defaults_leave_a_six_digit_pin_no_chance_in_a_day(hall, clock):
    """The arithmetic of hall/signin.py replayed: a guesser who waits out every delay and lock
    of one login makes at most 70 guesses a day, a chance of 0.007 % against 10⁶ PINs."""
    assert hall.signin.limits == LIMITS
    end, guesses = clock.now + DAY, 0
    while clock.now < end:
        try:
            hall.signin.attempt("lan", "10.0.0.9")
        except errors.SigninThrottled as exc:
            clock.advance(exc.params["seconds"])
            continue
        guesses += 1
    assert guesses <= 70
    assert guesses / 10**6 < 0.0001  # under 0.01 % for the day


def test_delays_grow_then_a_lock(hall, clock):
    waits = []
    for _ in range(LIMITS.lock_after):
        verdict = hall.signin.attempt("lan", "10.0.0.9")  # the clock waits out each delay
        waits.append(verdict["wait"])
        if verdict["wait"] and not verdict["locked"]:
            for refuse in (hall.signin.check, hall.signin.attempt):
                with pytest.raises(errors.SigninThrottled) as refused:
                    refuse("lan", "10.0.0.9")
                assert refused.value.params["seconds"] == verdict["wait"]
                assert refused.value.status == 429
        clock.advance(verdict["wait"])
    assert waits[:3] == [0, 0, 0]
    assert waits[3:9] == [2, 4, 8, 16, 32, 60]  # doubling, up to max_delay_seconds
    assert waits[9] == 15 * 60 and [x[0] for x in verdict["locked"]] == ["login"]


def lock(hall, login="lan", address="10.0.0.9") -> None:
    """Wrong PINs for ``login`` until it is locked (the fake clock waits out the delays)."""
    while True:
        verdict = hall.signin.attempt(login, address)
        if verdict["locked"]:
            hall.signin.failed(login, address, verdict)
            return
        hall.tx.clock.advance(verdict["wait"])


def test_a_lock_expires_and_the_next_one_is_longer(hall, clock):
    lock(hall)
    with pytest.raises(errors.SigninThrottled) as refused:
        hall.signin.check("lan", "10.0.0.1")  # another address: the login itself is locked
    assert refused.value.text == errors.SigninThrottled.LOCKED
    assert refused.value.params == {"seconds": 900, "minutes": 15}
    assert [(x["scope"], x["key"]) for x in hall.signin.locks()] == [("login", "lan")]
    clock.advance(15 * 60)
    hall.signin.check("lan", "10.0.0.9")  # expired
    assert hall.signin.locks() == []
    lock(hall)
    assert hall.signin.locks()[0]["seconds_left"] == 30 * 60


def test_a_right_pin_forgives_the_login_not_the_address(hall, clock):
    for _ in range(3):
        hall.signin.attempt("lan", "10.0.0.9")
    right = hall.signin.attempt("lan", "10.0.0.9")
    assert right["wait"] == 2
    hall.signin.succeeded({"id": 1, "login": "lan"}, "10.0.0.9", right)
    verdict = hall.signin.attempt("lan", "10.0.0.9")
    assert verdict["wait"] == 0  # the login counts from 1 again
    with hall.tx.reading() as reading:
        address = reading.one("SELECT failures FROM signin_failures WHERE scope = 'address'")
    assert address["failures"] == 4


def test_settings_are_checked():
    with pytest.raises(errors.InvalidInput):
        SigninLimits(lock_after=2, free_failures=3)
    with pytest.raises(errors.InvalidInput):
        SigninLimits(min_pin_length=3)


def test_a_right_pin_on_the_locking_try_undoes_its_lock(hall, clock, clerk):
    for _ in range(LIMITS.lock_after - 1):
        clock.advance(hall.signin.attempt("lan", "10.0.0.9")["wait"])
    last = hall.signin.attempt("lan", "10.0.0.9")
    assert [x[0] for x in last["locked"]] == ["login"]
    hall.signin.succeeded(clerk, "10.0.0.9", last)
    assert hall.signin.locks() == []
    hall.signin.check("lan", "10.0.0.9")
    kinds = [e.kind for e in hall.log.since(0)]
    assert "signin_locked" not in kinds and kinds[-1] == "staff_signed_in"


# -- the doors ----------------------------------------------------------------------------------

def test_tries_sent_together_are_counted_one_after_another(app, demo):
    """20 wrong PINs at once cannot all pass the throttle before the first is judged."""
    def one(_):
        return post_session(app.test_client(), "an", WRONG).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(one, range(20)))
    assert statuses.count(401) == LIMITS.free_failures + 1  # the 4th sets the first delay
    assert statuses.count(429) == 20 - statuses.count(401)


@pytest.fixture
def clock_app(app):
    """The app with its hall on the fake clock (so delays and locks pass without waiting)."""
    clock = Clock()
    app.extensions["goiso"].hall.tx.clock = clock
    return app, clock


def post_session(client, login, pin, address="10.0.0.9", counter=None):
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    body = {"login": login, "pin": pin} | ({"counter": counter} if counter else {})
    return client.post("/api/v1/session", json=body, headers={"X-CSRFToken": token},
                       environ_base={"REMOTE_ADDR": address})


def test_200_wrong_pins_are_locked_out_and_the_right_pin_is_refused(clock_app, client, demo):
    app, clock = clock_app
    statuses = []
    for _ in range(200):
        response = post_session(client, "an", WRONG)
        statuses.append(response.status_code)
        wait = int(response.headers.get("Retry-After", 0))
        if response.status_code == 429 and wait <= LIMITS.max_delay_seconds:
            clock.advance(wait)  # a patient guesser waits out each delay, not the lock
    assert statuses.count(401) == LIMITS.lock_after
    assert set(statuses) == {401, 429}
    response = post_session(client, "an", demo["pins"]["an"])
    error = error_of(response, 429, "signin_throttled")
    assert response.headers["Retry-After"] == str(15 * 60)
    assert "khóa tạm thời" in error["messages"]["vi"] and "15 phút" in error["messages"]["vi"]
    assert "locked" in error["messages"]["en"]
    assert client.get("/api/v1/session").get_json()["role"] == "public"
    clock.advance(15 * 60)
    assert post_session(client, "an", demo["pins"]["an"]).status_code == 201


def test_one_address_is_locked_across_logins(clock_app, client, demo):
    app, clock = clock_app
    logins = ["an", "binh", "cuong", "dung", "giang", "hoa", *(f"ghost{n}" for n in range(6))]
    failures = 0
    while failures < LIMITS.address_lock_after:
        response = post_session(client, logins[failures % len(logins)], WRONG, "10.0.0.66")
        if response.status_code == 401:
            failures += 1
        else:
            clock.advance(int(response.headers["Retry-After"]))
    # No login got to a wait of its own (at most 3 wrong PINs each), the address is locked.
    response = post_session(client, "hoa", demo["pins"]["hoa"], "10.0.0.66")
    error_of(response, 429, "signin_throttled")
    assert int(response.headers["Retry-After"]) == 15 * 60
    assert post_session(client, "hoa", demo["pins"]["hoa"], "10.0.0.67").status_code == 201
    locks = app.extensions["goiso"].hall.signin.locks()
    assert [(x["scope"], x["key"]) for x in locks] == [("address", "10.0.0.66")]


def lock_in_app(app, clock, client, login="an", address="10.0.0.9") -> None:
    while not app.extensions["goiso"].hall.signin.locks():
        response = post_session(client, login, WRONG, address)
        if response.status_code == 429:
            clock.advance(int(response.headers["Retry-After"]))


def test_the_login_page_and_the_counter_sign_in_say_429(clock_app, client, demo):
    app, clock = clock_app
    lock_in_app(app, clock, client)
    html = client.get("/login?counter=1").get_data(as_text=True)
    for counter in ("", "1"):  # the back office's sign-in, and a clerk's at a counter
        response = client.post("/login", data={
            "login": "an", "pin": demo["pins"]["an"], "counter": counter,
            "csrf_token": csrf_of(html)}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
        assert response.status_code == 429 and response.headers["Retry-After"] == "900"
        text = response.get_data(as_text=True)
        assert "Đã nhập sai PIN quá nhiều lần" in text and 'value="an"' in text
    english = client.post("/login?lang=en", data={
        "login": "an", "pin": WRONG, "csrf_token": csrf_of(html)})
    assert english.status_code == 429 and "Too many wrong PINs" in english.get_data(as_text=True)
    assert app.extensions["goiso"].hall.accounts.seated(1) is None


def test_a_supervisor_unlocks_and_it_is_audited(clock_app, client, supervisor_client, demo):
    app, clock = clock_app
    lock_in_app(app, clock, client)
    locks = supervisor_client.get("/api/v1/signin/locks").get_json()
    assert [(x["scope"], x["key"], x["seconds_left"]) for x in locks] == [("login", "an", 900)]
    page = supervisor_client.get("/admin/security").get_data(as_text=True)
    assert 'data-key="an"' in page and "Mở khóa" in page
    response = supervisor_client.post("/api/v1/signin/unlock",
                                      json={"scope": "login", "key": "an"})
    assert response.status_code == 200 and response.get_json() == {"scope": "login", "key": "an"}
    error_of(supervisor_client.post("/api/v1/signin/unlock", json={"scope": "login", "key": "an"}),
             404, "not_locked")
    assert post_session(client, "an", demo["pins"]["an"], "10.0.0.1").status_code == 201
    audit = supervisor_client.get("/api/v1/audit").get_json()["entries"]
    kinds = [(e["kind"], e["key"]) for e in audit if e["kind"].startswith("signin")]
    assert kinds == [("signin_unlocked", "an"), ("signin_locked", "an")]
    unlocked = audit[[e["kind"] for e in audit].index("signin_unlocked")]
    assert unlocked["clerk"]["name"] == "Đỗ Minh Khoa"
    signed_in = next(e for e in audit if e["kind"] == "staff_signed_in")
    assert signed_in["clerk"]["name"] == "Nguyễn Văn An"
    assert signed_in["details"]["address"] == "10.0.0.1"


def test_the_unlock_page_unlocks_with_its_form(clock_app, client, supervisor_client):
    app, clock = clock_app
    lock_in_app(app, clock, client)
    page = supervisor_client.get("/admin/security").get_data(as_text=True)
    form = {"scope": "login", "key": "an", "csrf_token": csrf_of(page)}
    response = supervisor_client.post("/admin/security/unlock", data=form, csrf=False)
    assert response.status_code == 200 and "Đã mở khóa" in response.get_data(as_text=True)
    assert app.extensions["goiso"].hall.signin.locks() == []
    no_token = supervisor_client.post("/admin/security/unlock", data=form | {"csrf_token": ""},
                                      csrf=False)
    assert no_token.status_code == 400


def test_a_clerk_cannot_unlock(clock_app, client, clerk_client):
    app, clock = clock_app
    lock_in_app(app, clock, client, login="binh")
    error_of(clerk_client.post("/api/v1/signin/unlock", json={"scope": "login", "key": "binh"}),
             403, "forbidden")
    error_of(clerk_client.get("/api/v1/signin/locks"), 403)
    assert clerk_client.get("/admin/security").status_code == 403
    assert clerk_client.post("/admin/security/unlock",
                             data={"scope": "login", "key": "binh"}).status_code == 403
    assert len(app.extensions["goiso"].hall.signin.locks()) == 1


def test_a_lock_survives_a_restart(tmp_path, demo_db):
    from tests.plugins.web import make_app

    first = make_app(tmp_path / "data", *demo_db)
    client = first.test_client()
    for _ in range(3):
        assert post_session(client, "an", WRONG).status_code == 401
    first.extensions["goiso"].hall.tx.clock = clock = Clock()
    clock.now = time.time()
    lock_in_app(first, clock, client)
    close_app(first)
    again = create_app(Settings(data_dir=tmp_path / "data"), testing=True)
    try:
        response = post_session(again.test_client(), "an", demo_db[1]["pins"]["an"])
        error_of(response, 429, "signin_throttled")
        # Locked, not delayed (the fake clock that waited out the delays ran ahead of now).
        assert LIMITS.max_delay_seconds < int(response.headers["Retry-After"]) <= 900 + 122
    finally:
        close_app(again)


def test_wrong_pins_and_locks_are_logged_on_one_line(clock_app, client, caplog):
    app, clock = clock_app
    caplog.set_level(logging.WARNING, logger="goiso.security")
    lock_in_app(app, clock, client, login="cuong\nforged=1", address="10.0.0.77")
    lines = [r for r in caplog.records if r.name == "goiso.security"]
    failed = [r.getMessage() for r in lines if r.getMessage().startswith("signin_failed")]
    locked = [r.getMessage() for r in lines if r.getMessage().startswith("signin_locked")]
    assert len(failed) == LIMITS.lock_after and len(locked) == 1
    assert 'login="cuong\\nforged=1" address="10.0.0.77"' in failed[0]
    assert all("\n" not in text for text in failed + locked)
    assert "scope=login" in locked[0] and "lock_s=900" in locked[0]
    assert all(r.exc_info is None for r in lines)


# -- PINs ---------------------------------------------------------------------------------------

def test_new_pins_have_six_digits_old_short_ones_still_work_and_show(other_app, demo):
    app = other_app(security=SigninLimits(min_pin_length=4))
    admin = staff_client(app, "quantri")
    assert admin.put("/api/v1/clerks/lan", json={"name": "Lan", "pin": "2468"}).status_code == 200
    runtime = app.extensions["goiso"]
    runtime.apply(Settings(data_dir=runtime.settings.data_dir))  # back to the default: 6
    error = error_of(admin.put("/api/v1/clerks/mai", json={"name": "Mai", "pin": "1357"}), 400)
    assert error["messages"]["vi"] == "PIN phải gồm từ 6 đến 12 chữ số."
    assert sign_in(app.test_client(), "lan", "2468").status_code == 201  # still works
    page = admin.get("/admin/catalogue").get_data(as_text=True)
    assert "PIN chỉ có 4 chữ số: nên đổi sang PIN từ 6 chữ số." in page
    assert admin.put("/api/v1/clerks/lan", json={"name": "Lan", "pin": "246813"}).status_code == 200
    assert "PIN chỉ có" not in admin.get("/admin/catalogue").get_data(as_text=True)


def test_min_pin_length_is_a_setting_of_the_settings_page(admin_client):
    page = admin_client.get("/admin/settings").get_data(as_text=True)
    assert 'name="min_pin_length"' in page and 'name="lock_after"' in page


def test_security_settings_set_in_the_browser_apply_at_once(app):
    from services import configuration
    from settings import SettingsError

    runtime = app.extensions["goiso"]
    configuration.change(runtime, "security", {"lock_after": 5, "min_pin_length": 8}, by=None)
    assert runtime.hall.signin.limits.lock_after == 5
    assert runtime.hall.accounts.min_pin_length == 8
    with pytest.raises(SettingsError) as wrong:
        configuration.change(runtime, "security", {"lock_after": 2}, by=None)
    assert [(table, key) for table, key, _ in wrong.value.places] == [("security", "lock_after")]
    assert runtime.hall.signin.limits.lock_after == 5


# -- hashing off the event loop -----------------------------------------------------------------

def test_hashes_run_at_most_n_at_once():
    run = bounded_runner(1)
    inside, most, lock = [0], [0], threading.Lock()

    def work():
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.02)
        with lock:
            inside[0] -= 1
        return True

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(lambda _: run(work), range(8)))
    assert most[0] == 1


@pytest.mark.slow
def test_tickets_are_answered_while_sign_ins_flood(tmp_path):
    """A real ``goiso serve``: while 4 clients send wrong PINs back to back (throttling relaxed
    so that every one is hashed), a kiosk's tickets are all issued, with PIN checks in flight
    all along (``python -m bench signin`` measures the latencies)."""
    from bench.signin import RELAXED, Flood
    from tests.liveserver import LiveServer

    with LiveServer(tmp_path / "data", config_text=RELAXED) as server:
        with Flood(server.port, 4) as flood:
            wait_for(lambda: sum(flood.checked) >= 4, "the floods reach the PIN check", 30)
            before, issued = sum(flood.checked), []
            # Until 8 PINs more were checked. Hashed on the database threads (as before), the
            # tickets queued behind the hashes: 21 tickets for 4 checks here; off them, 241.
            while sum(flood.checked) - before < 8 and len(issued) < 800:
                issued.append(server.issue()["number"])
            during = sum(flood.checked) - before
        assert len(set(issued)) == len(issued)
        assert len(issued) > 10 * during, (len(issued), during)
        assert sum(flood.other) == 0


# -- counter tokens -----------------------------------------------------------------------------

def test_tokens_are_listed_and_revoked_one_by_one(app, client, admin_client, supervisor_client,
                                                  clerk_client, demo):
    second = admin_client.post("/api/v1/counters/3/tokens").get_json()["token"]
    listed = supervisor_client.get("/api/v1/tokens").get_json()
    mine = [t for t in listed if t["counter"] == 3]
    assert len(mine) == 2 and all(
        set(t) == {"id", "counter", "created_at", "last_used_at", "revoked_at"} for t in listed)
    assert all(t["last_used_at"] is None for t in mine)
    assert demo["tokens"][3] not in str(listed) and second not in str(listed)
    first_id = min(t["id"] for t in mine)
    assert supervisor_client.delete(f"/api/v1/tokens/{first_id}").status_code == 204
    error_of(supervisor_client.delete(f"/api/v1/tokens/{first_id}"), 404)
    old = {"Authorization": f"Bearer {demo['tokens'][3]}"}
    new = {"Authorization": f"Bearer {second}"}
    error_of(client.post("/api/v1/counters/3/pause", headers=old), 401)
    assert client.post("/api/v1/counters/3/pause", headers=new).status_code == 200
    error_of(client.post("/api/v1/counters/2/pause", headers=new), 403)  # scoped to 3
    used = {t["id"]: t["last_used_at"] for t in supervisor_client.get("/api/v1/tokens").get_json()}
    assert used[first_id] is None and used[max(t["id"] for t in mine)] is not None
    error_of(clerk_client.get("/api/v1/tokens"), 403)
    error_of(clerk_client.delete(f"/api/v1/tokens/{first_id + 1}"), 403)
    audit = supervisor_client.get("/api/v1/audit?kind=tokens_revoked").get_json()["entries"]
    assert audit[0]["clerk"]["name"] == "Đỗ Minh Khoa" and audit[0]["count"] == 1
    made = supervisor_client.get("/api/v1/audit?kind=token_created").get_json()["entries"]
    assert made[0]["clerk"]["name"] == "Quản trị viên"


def test_the_security_page_revokes_a_token(app, supervisor_client, demo):
    page = supervisor_client.get("/admin/security").get_data(as_text=True)
    token_id = int(re.search(r'data-token="(\d+)"', page)[1])
    response = supervisor_client.post(f"/admin/security/tokens/{token_id}/revoke",
                                      data={"csrf_token": csrf_of(page)}, csrf=False)
    assert response.status_code == 200 and "Đã thu hồi mã thiết bị" in response.text
    assert not any(t["id"] == token_id and t["revoked_at"] is None
                   for t in app.extensions["goiso"].hall.accounts.tokens())


# -- the audit of staff actions -----------------------------------------------------------------

def test_reprint_and_cancel_are_audited_with_who(app, client, supervisor_client, clerk_client,
                                                 printing):
    from tests.plugins.web import issue_in_hall

    issue_in_hall(app, kiosk="k1")
    issue_in_hall(app, kiosk="k1")
    assert supervisor_client.post("/api/v1/tickets/1001/reprint", json={}).status_code == 202
    assert clerk_client.post("/api/v1/tickets/1002/cancel", json={}).status_code == 200
    audit = supervisor_client.get("/api/v1/audit").get_json()["entries"]
    reprinted = next(e for e in audit if e["kind"] == "ticket_reprinted")
    assert reprinted["clerk"]["name"] == "Đỗ Minh Khoa"
    assert reprinted["details"]["number"] == "1001" and reprinted["details"]["printer"] == "k1"
    cancelled = next(e for e in audit if e["kind"] == "cancelled")
    assert cancelled["clerk"]["name"] == "Nguyễn Văn An"
    assert cancelled["details"]["number"] == "1002"
    page = supervisor_client.get("/admin/audit").get_data(as_text=True)
    assert "In lại vé" in page and "Hủy vé" in page and "Đăng nhập" in page


def test_sign_in_and_sign_out_are_audited(app, supervisor_client):
    clerk = staff_client(app, "an", counter=1)
    assert clerk.delete("/api/v1/session").status_code == 204
    assert app.extensions["goiso"].hall.accounts.seated(1) is None
    audit = supervisor_client.get("/api/v1/audit").get_json()["entries"]
    out = next(e for e in audit if e["kind"] == "staff_signed_out")
    came = next(e for e in audit if e["kind"] == "staff_signed_in" and e["counter"] == 1)
    assert out["clerk"]["name"] == came["clerk"]["name"] == "Nguyễn Văn An"
    assert out["counter"] == 1 and out["details"]["address"] == "127.0.0.1"


def test_the_command_line_unlocks_when_no_supervisor_can(tmp_path, demo_db):
    """Every supervisor locked out: the technician runs ``goiso unlock LOGIN``."""
    from click.testing import CliRunner

    from commands import cli
    from hall import Hall

    shutil.copyfile(demo_db[0], tmp_path / "goiso.db")
    clock = Clock()
    clock.now = time.time()  # the command runs on the real clock
    hall = Hall.open(tmp_path / "goiso.db", clock=clock)
    try:
        lock(hall, "giamsat")
    finally:
        hall.close()
    result = CliRunner().invoke(cli, ["unlock", "giamsat", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0 and "Đã mở khóa đăng nhập cho giamsat." in result.output
    again = CliRunner().invoke(cli, ["unlock", "giamsat", "--data-dir", str(tmp_path)])
    assert again.exit_code == 1 and "không bị khóa" in again.output
    hall = Hall.open(tmp_path / "goiso.db")
    try:
        assert hall.signin.locks() == []
        assert [e.kind for e in hall.log.since(0)][-1] == "signin_unlocked"
    finally:
        hall.close()
