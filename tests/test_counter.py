"""The counter page (/counter/<n>) and the citizen's rating screen (/rate/<n>) through the Flask
test client, on a copy of the seeded demo hall (a real SQLite file, no mocks).

Demo hall: GPLX (block numbers 1001…) is served by counters 1 and 2, VT (B001…) by 2, 3 and 4.
``clerk_client`` is clerk "an" seated at counter 1.
"""

from __future__ import annotations

import re

import pytest

from hall.desk import ACTIONS
from hall.desk import PAGE_KEYS as SHORTCUTS
from tests.plugins.web import (
    HX,
    csrf_of,
    db_state,
    error_of,
    issue_in_hall,
    row_count,
    staff_client,
)

HTML = {"Accept": "text/html"}
GPLX = "DEMO-GT-001"  # → GPLX, 1001…
VT = "DEMO-GT-007"  # → VT, B001…
LEVELS = ["Rất hài lòng", "Hài lòng", "Không hài lòng"]


# -- helpers ------------------------------------------------------------------------------------

def hall_of(app):
    return app.extensions["goiso"].hall


def act(client, action: str, at: int = 1, **form):
    """One button press at counter ``at`` as htmx sends it: the form's fields, HX-Request (and
    the CSRF token); a form field may be named "counter" (a transfer's target)."""
    return client.post(f"/counter/{at}/act/{action}", data=form, headers=HX)


def said(html: str) -> tuple[str, str] | None:
    """("ok" or "error", the message) of the panel's notice, if any."""
    found = re.search(r'<p id="said" class="notice notice-(\w+)" role="status">(.*?)</p>', html)
    return (found[1], found[2]) if found else None


def current_number(html: str) -> str:
    return re.search(r'id="current-number">([^<]*)<', html)[1]


def button(html: str, action: str) -> tuple[bool, str | None]:
    """(disabled?, the reason shown next to it) of the action's button on the panel."""
    tag = re.search(rf'<button [^>]*data-action="{action}"[^>]*>', html)
    assert tag, f"no button for {action}"
    disabled = " disabled" in tag[0]
    why = re.search(rf'<span class="why" id="why-{action}">([^<]*)</span>', html)
    return disabled, why[1] if why else None


def waiting_items(html: str, queue: str = "GPLX") -> list[str]:
    """The <li> of a lane's waiting list, whitespace squeezed."""
    lane = re.search(rf'<ul class="next-list" data-queue="{queue}">(.*?)</ul>', html, re.S)[1]
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) + f" [{cls.strip()}]"
            for cls, item in re.findall(r'<li class="([^"]*)">(.*?)</li>', lane, re.S)]


def ticket(app, number: str) -> dict:
    return hall_of(app).tickets.find(number)


def counter_now(app, number: int = 1) -> dict:
    return hall_of(app).screens.counter(number)


# -- who gets in --------------------------------------------------------------------------------

def test_the_start_page_sends_people_to_sign_in_or_to_their_counter(client, clerk_client,
                                                                      supervisor_client):
    response = client.get("/counter/")
    assert response.status_code == 302 and response.location == "/login?next=/counter/"
    response = client.get("/counter/?counter=3")
    assert response.location == "/login?next=/counter/&counter=3"
    response = clerk_client.get("/counter/")
    assert response.status_code == 302 and response.location == "/counter/1"
    # A supervisor is seated nowhere: the sign-in form, where a counter can be chosen.
    assert supervisor_client.get("/counter/").location == "/login?next=/counter/"


def test_a_counter_page_needs_a_signed_in_clerk(client):
    response = client.get("/counter/1", headers=HTML)
    assert response.status_code == 302 and response.location == "/login?next=/counter/1"
    error_of(client.get("/counter/1"), 401, "unauthorized")  # not a browser: no redirect
    error_of(client.get("/counter/1/panel", headers=HX), 401, "unauthorized")


def test_a_clerk_seated_elsewhere_is_sent_to_sign_in(app, clerk_client):
    binh = staff_client(app, "binh", 2)
    response = binh.get("/counter/1", headers=HTML)
    assert response.status_code == 302
    assert response.location == "/login?next=/counter/&counter=1"
    assert binh.get("/counter/2").status_code == 200
    error_of(binh.get("/counter/1/panel", headers=HX), 403, "forbidden")
    nowhere = staff_client(app, "cuong")  # signed in, but at no counter
    assert nowhere.get("/counter/3").location == "/login?next=/counter/&counter=3"
    assert clerk_client.get("/counter/2").location == "/login?next=/counter/&counter=2"


def chosen_counter(html: str) -> str:
    """The counter the sign-in form has chosen ("" for none: supervising)."""
    found = re.search(r'<option value="(\d*)"\s*selected', html)
    return found[1] if found else ""


def form_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


@pytest.mark.parametrize(("address", "counter"), [
    ("/login?next=/counter/1", "1"), ("/login?next=/counter/3/panel", "3"),
    ("/login?next=/counter/4/", "4"), ("/login?next=/counter/&counter=2", "2"),
    ("/login?next=/counter/1&counter=2", "2"), ("/login?next=/counter/", ""),
    ("/login?next=/admin/", ""), ("/login?next=/counter/x", ""),
    ("/login?next=//evil.example/counter/1", ""), ("/login", ""),
])
def test_the_sign_in_form_chooses_the_counter_it_was_sent_from(client, address, counter):
    assert chosen_counter(client.get(address).text) == counter


def test_sign_in_from_a_counter_page_lands_on_it_seated_there(app, client, demo):
    response = client.get("/counter/1", headers=HTML)
    assert response.location == "/login?next=/counter/1"
    form = client.get(response.location).text
    assert chosen_counter(form) == "1"
    signed = client.post(response.location, data={
        "login": "an", "pin": demo["pins"]["an"], "counter": chosen_counter(form),
        "csrf_token": form_token(form)})
    assert signed.status_code == 302 and signed.location == "/counter/1"
    assert hall_of(app).accounts.seated(1) is not None
    assert client.get("/api/v1/session").get_json()["counter"] == 1
    page = client.get("/counter/1")
    assert page.status_code == 200 and "<h1>Quầy 1</h1>" in page.text


def test_sign_in_lands_on_the_counter_chosen_in_the_form(app, client, demo):
    # Sent from counter 1's page, the clerk sits at counter 2: counter 2's page, not a refusal.
    form = client.get("/login?next=/counter/1").text
    signed = client.post("/login?next=/counter/1", data={
        "login": "binh", "pin": demo["pins"]["binh"], "counter": "2",
        "csrf_token": form_token(form)})
    assert signed.status_code == 302 and signed.location == "/counter/2"
    assert hall_of(app).accounts.seated(2) is not None


def test_a_supervisor_may_open_and_work_any_counter(app, supervisor_client):
    for number in (1, 3, 6):
        page = supervisor_client.get(f"/counter/{number}")
        assert page.status_code == 200, number
        assert f"<h1>Quầy {number}</h1>" in page.text
    issue_in_hall(app, VT)
    response = act(supervisor_client, "next", 3)
    assert response.status_code == 200 and said(response.text) == ("ok", "Đã gọi số B001.")
    assert supervisor_client.get("/counter/9").status_code == 404
    # A number no counter can have is simply not a page (not a server error).
    assert supervisor_client.get("/counter/99999999999999999999").status_code == 404
    assert act(supervisor_client, "next", 99999999999999999999).status_code == 404


# -- the page -----------------------------------------------------------------------------------

def test_the_page_has_the_buttons_and_the_shortcuts(clerk_client):
    page = clerk_client.get("/counter/1")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.text
    assert "<h1>Quầy 1</h1>" in html and "Nguyễn Văn An" in html
    for action in ("next", "recall", "no-show", "finish", "pause", "call", "transfer"):
        assert f'data-action="{action}"' in html, action
    for action in ("next", "recall", "no-show", "finish", "pause", "call"):
        assert f'hx-post="/counter/1/act/{action}"' in html, action
    assert 'data-action="resume"' not in html  # open: the pause button, not resume
    assert '<select name="outcome"' in html and 'name="number"' in html
    assert 'hx-get="/counter/1/panel"' in html and 'sse-connect="/api/v1/events"' in html
    assert 'action="/counter/1/logout"' in html
    shortcuts = re.search(r'<section class="card shortcuts">(.*?)</section>', html, re.S)[1]
    keys = re.findall(r"<li><kbd>([^<]+)</kbd> ([^<]+)</li>", shortcuts)
    assert keys == [("+", "Gọi tiếp"), ("*", "Gọi lại"), ("-", "Vắng mặt"),
                    ("Enter", "Hoàn thành"), ("/", "Tạm dừng / Tiếp tục"), (".", "Gọi số")]
    assert {action for _, action in SHORTCUTS} <= set(ACTIONS)


def test_buttons_that_make_no_sense_are_disabled_and_say_why(app, clerk_client):
    html = clerk_client.get("/counter/1/panel", headers=HX).text
    assert said(html) is None
    assert current_number(html) == "—"
    assert button(html, "next") == (True, "Không còn ai chờ.")
    for action in ("recall", "no-show", "finish"):
        assert button(html, action) == (True, "Chưa gọi số nào."), action
    assert button(html, "pause") == (False, None)
    assert button(html, "call") == (False, None)  # a no-show who came back can be called
    assert 'data-action="transfer" aria-disabled="true"' in html
    issue_in_hall(app)
    html = clerk_client.get("/counter/1/panel", headers=HX).text
    assert button(html, "next") == (False, None)
    html = act(clerk_client, "next").text
    for action in ("recall", "no-show", "finish"):
        assert button(html, action) == (False, None), action
    assert 'aria-disabled' not in html
    assert 'data-transfer-queue="VT"' in html and 'data-transfer-counter="2"' in html
    assert 'data-transfer-counter="1"' not in html  # not to itself
    html = act(clerk_client, "pause").text
    assert button(html, "next") == (True, "Quầy đang tạm dừng.")
    assert button(html, "call") == (True, "Quầy đang tạm dừng.")
    assert button(html, "resume") == (False, None)
    assert 'data-action="pause"' not in html
    assert button(html, "finish") == (False, None)  # the ticket being served stays


def test_the_panel_lists_waiting_tickets_with_their_marks(app, clerk_client):
    first = issue_in_hall(app, kiosk="k1")
    hall_of(app).printing.mark_printed(first["token"], False, "x")
    issue_in_hall(app)
    issue_in_hall(app, priority="elderly")
    html = clerk_client.get("/counter/1/panel", headers=HX).text
    assert re.search(r'Giấy phép lái xe <span class="count">3</span>\s*'
                     r'<span class="priority-mark">1 ưu tiên</span>', html)
    assert waiting_items(html) == [
        "1003 ưu tiên 0 phút [prio]", "1001 không in được 0 phút [unprinted]", "1002 0 phút []"]


def test_a_ticket_sent_to_the_counter_is_shown_there(app, clerk_client, supervisor_client):
    issue_in_hall(app, VT)
    act(supervisor_client, "next", 3)
    act(supervisor_client, "transfer", 3, counter="1")
    html = clerk_client.get("/counter/1/panel", headers=HX).text
    assert "<h3>Chuyển đến quầy này</h3>" in html
    assert re.search(r"<li><strong>B001</strong> <span class=\"muted\">VT</span></li>", html)
    assert button(html, "next") == (False, None)
    html = act(clerk_client, "next").text
    assert said(html) == ("ok", "Đã gọi số B001.") and current_number(html) == "B001"


# -- actions ------------------------------------------------------------------------------------

def test_next_calls_and_the_panel_says_so(app, clerk_client):
    issue_in_hall(app)
    issue_in_hall(app)
    an = hall_of(app).accounts.seated(1)
    mark = hall_of(app).log.last_id()
    response = act(clerk_client, "next")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "<html" not in response.text  # only the panel
    assert said(response.text) == ("ok", "Đã gọi số 1001.")
    assert current_number(response.text) == "1001"
    assert counter_now(app)["current"]["number"] == "1001"
    [event] = hall_of(app).log.since(mark)
    assert (event.kind, event.counter, event.clerk) == ("called", 1, an)
    # The next press finishes 1001 and calls 1002.
    assert said(act(clerk_client, "next").text) == ("ok", "Đã gọi số 1002.")
    assert ticket(app, "1001")["status"] == "done"
    assert re.search(r'<dd id="served">1</dd>', clerk_client.get("/counter/1").text)


def test_recall_and_no_show(app, clerk_client):
    issue_in_hall(app)
    act(clerk_client, "next")
    response = act(clerk_client, "recall")
    assert said(response.text) == ("ok", "Đã gọi lại số 1001.")
    assert "Đã gọi lại 1 lần" in response.text
    assert ticket(app, "1001")["recalls"] == 1
    response = act(clerk_client, "no-show")
    assert said(response.text) == ("ok", "Số 1001 vắng mặt.")
    assert ticket(app, "1001")["status"] == "no_show"
    assert current_number(response.text) == "—"


def test_finish_with_an_outcome_or_the_first_one(app, clerk_client):
    issue_in_hall(app)
    issue_in_hall(app)
    act(clerk_client, "next")
    response = act(clerk_client, "finish", outcome="referred")
    assert said(response.text) == ("ok", "Đã hoàn thành số 1001.")
    assert ticket(app, "1001")["outcome"] == "referred"
    act(clerk_client, "next")
    assert act(clerk_client, "finish").status_code == 200
    assert ticket(app, "1002")["outcome"] == "served"


def test_finish_with_an_unknown_outcome_is_refused(app, clerk_client):
    issue_in_hall(app)
    act(clerk_client, "next")
    before = db_state(app)
    response = act(clerk_client, "finish", outcome="lost")
    assert response.status_code == 400
    kind, text = said(response.text)
    assert kind == "error" and text.startswith("outcome = ") and "lost" in text
    assert "không hợp lệ; hãy dùng một trong: served, incomplete, referred, rejected." in text
    assert db_state(app) == before


def test_pause_resume_and_pause_toggle(app, clerk_client):
    response = act(clerk_client, "pause")
    assert said(response.text) == ("ok", "Quầy tạm dừng.")
    assert counter_now(app)["status"] == "paused"
    assert 'data-status="paused"' in response.text
    response = act(clerk_client, "resume")
    assert said(response.text) == ("ok", "Quầy tiếp tục làm việc.")
    assert counter_now(app)["status"] == "open"
    response = act(clerk_client, "pause-toggle")
    assert said(response.text) == ("ok", "Quầy tạm dừng.")
    assert counter_now(app)["status"] == "paused"
    response = act(clerk_client, "pause-toggle")
    assert said(response.text) == ("ok", "Quầy tiếp tục làm việc.")
    assert counter_now(app)["status"] == "open"


def test_a_closed_counter_opens_with_pause_toggle(app, clerk_client):
    act(clerk_client, "close")
    assert counter_now(app)["status"] == "closed"
    html = clerk_client.get("/counter/1/panel", headers=HX).text
    assert button(html, "next") == (True, "Quầy đang đóng.")
    assert button(html, "resume") == (False, None)
    assert said(act(clerk_client, "pause-toggle").text) == ("ok", "Quầy tiếp tục làm việc.")
    assert counter_now(app)["status"] == "open"


def test_call_a_number(app, clerk_client):
    for _ in range(3):
        issue_in_hall(app)
    response = act(clerk_client, "call", number=" 1003 ")
    assert said(response.text) == ("ok", "Đã gọi số 1003.")
    assert counter_now(app)["current"]["number"] == "1003"
    issue_in_hall(app, VT)
    before = db_state(app)
    response = act(clerk_client, "call", number="1999")
    assert response.status_code == 404
    assert said(response.text) == ("error", "Không có số thứ tự 1999 trong ngày hôm nay.")
    response = act(clerk_client, "call")
    assert response.status_code == 400
    assert said(response.text) == ("error", "Giá trị của number không hợp lệ.")
    response = act(clerk_client, "call", number="B001")
    assert response.status_code == 409
    assert said(response.text) == ("error", "Số B001 không thuộc hàng đợi của quầy 1.")
    assert db_state(app) == before


def test_transfer_to_a_queue(app, clerk_client):
    issue_in_hall(app)
    act(clerk_client, "next")
    response = act(clerk_client, "transfer", queue="VT")
    assert said(response.text) == ("ok", "Đã chuyển số 1001.")
    moved = ticket(app, "1001")
    assert (moved["status"], moved["queue"]["code"]) == ("waiting", "VT")
    assert counter_now(app)["current"] is None


def test_transfer_to_a_counter(app, clerk_client, supervisor_client):
    issue_in_hall(app)
    act(clerk_client, "next")
    response = act(clerk_client, "transfer", counter="2")
    assert said(response.text) == ("ok", "Đã chuyển số 1001.")
    moved = ticket(app, "1001")
    assert (moved["status"], moved["target_counter"]) == ("waiting", 2)
    html = supervisor_client.get("/counter/2/panel", headers=HX).text
    assert "1001 chuyển đến quầy này 0 phút []" in waiting_items(html)
    assert said(act(supervisor_client, "next", 2).text) == ("ok", "Đã gọi số 1001.")


BAD_TRANSFERS = [
    ({"counter": "abc"}, 400, "Quầy chuyển đến không hợp lệ."),
    ({"counter": "²"}, 400, "Quầy chuyển đến không hợp lệ."),
    ({"counter": "99999999999999999999"}, 400, "Quầy chuyển đến không hợp lệ."),
    ({"counter": "9"}, 404, "Không có quầy số 9."),
    ({"counter": "1"}, 400, "Không thể chuyển về chính quầy này."),
    ({"queue": "XX"}, 404, "Không có hàng đợi mã XX."),
    ({"queue": "VT", "counter": "2"}, 400,
     "Hãy chọn đúng một nơi chuyển đến: một hàng đợi (queue) hoặc một quầy (counter)."),
    ({}, 400,
     "Hãy chọn đúng một nơi chuyển đến: một hàng đợi (queue) hoặc một quầy (counter)."),
]


def test_a_bad_transfer_is_refused_and_changes_nothing(app, clerk_client):
    issue_in_hall(app)
    act(clerk_client, "next")
    before = db_state(app)
    for form, status, text in BAD_TRANSFERS:
        response = act(clerk_client, "transfer", **form)
        assert response.status_code == status, form
        assert said(response.text) == ("error", text), form
        assert current_number(response.text) == "1001", form
    assert db_state(app) == before


def test_refused_actions_answer_409_with_the_reason_and_change_nothing(app, clerk_client):
    before = db_state(app)
    response = act(clerk_client, "next")
    assert response.status_code == 409
    assert said(response.text) == ("error", "Không còn ai chờ ở quầy 1.")
    for action in ("recall", "no-show", "finish", "transfer"):
        response = act(clerk_client, action, queue="VT") if action == "transfer" \
            else act(clerk_client, action)
        assert response.status_code == 409, action
        assert said(response.text) == ("error", "Quầy 1 chưa gọi số nào."), action
    assert db_state(app) == before
    issue_in_hall(app)
    act(clerk_client, "pause")
    before = db_state(app)
    for action in ("next", "pause"):
        response = act(clerk_client, action)
        assert response.status_code == 409, action
        assert said(response.text) == ("error", "Quầy 1 đang tạm dừng."), action
    response = act(clerk_client, "call", number="1001")
    assert response.status_code == 409
    assert db_state(app) == before
    assert ticket(app, "1001")["status"] == "waiting"


def test_an_unknown_action_is_404_and_changes_nothing(app, clerk_client):
    issue_in_hall(app)
    before = db_state(app)
    for action in ("dance", "no_show", "NEXT"):
        response = act(clerk_client, action)
        assert response.status_code == 404, action
        assert said(response.text) == ("error", "Không có thao tác này.")
    assert db_state(app) == before


def test_no_csrf_token_no_change(app, clerk_client):
    issue_in_hall(app)
    before = db_state(app)
    response = clerk_client.post("/counter/1/act/next", headers=HX, csrf=False)
    error_of(response, 400, "csrf_failed")
    response = clerk_client.post("/counter/1/act/next", csrf=False,
                                 headers={**HX, "X-CSRFToken": "forged"})
    error_of(response, 400, "csrf_failed")
    assert db_state(app) == before


def test_a_clerk_cannot_act_at_another_counter(app, clerk_client):
    issue_in_hall(app)
    before = db_state(app)
    for action in ("next", "pause", "pause-toggle", "dance"):
        error_of(act(clerk_client, action, 2), 403, "forbidden")
    assert db_state(app) == before


def test_the_public_cannot_act(app, client):
    issue_in_hall(app)
    csrf = csrf_of(client.get("/rate/1").text)
    before = db_state(app)
    response = client.post("/counter/1/act/next", headers={**HX, "X-CSRFToken": csrf})
    error_of(response, 401, "unauthorized")
    assert db_state(app) == before


def test_logout_frees_the_seat(app, clerk_client):
    assert hall_of(app).accounts.seated(1) is not None
    response = clerk_client.post("/counter/1/logout")
    assert response.status_code == 302 and response.location == "/counter/"
    assert hall_of(app).accounts.seated(1) is None
    assert clerk_client.get("/counter/").location == "/login?next=/counter/"
    assert clerk_client.get("/counter/1", headers=HTML).location == "/login?next=/counter/1"


def test_logout_needs_the_csrf_token(app, clerk_client):
    seated = hall_of(app).accounts.seated(1)
    error_of(clerk_client.post("/counter/1/logout", csrf=False), 400, "csrf_failed")
    assert hall_of(app).accounts.seated(1) == seated


def test_the_counter_page_in_english(app, clerk_client):
    html = clerk_client.get("/counter/1?lang=en").text
    assert '<html lang="en">' in html
    assert "Shortcuts (numeric keypad)" in html
    assert button(html, "next") == (True, "Nobody is waiting.")
    assert button(html, "recall") == (True, "No number called yet.")
    assert re.search(r'data-action="next"[^>]*>\s*Next <kbd>\+</kbd>', html)
    # The choice stays with the session: the panel and its messages are English too.
    assert said(act(clerk_client, "next").text) == (
        "error", "Nobody is waiting for counter 1.")
    issue_in_hall(app)
    assert said(act(clerk_client, "next").text) == ("ok", "Called number 1001.")


# -- the rating screen --------------------------------------------------------------------------

def rate(client, level, csrf: str, counter: int = 1):
    return client.post(f"/rate/{counter}", data={"level": str(level)},
                       headers={**HX, "X-CSRFToken": csrf})


def levels_of(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<button class="rate-button level-\d" data-level="(\d)">([^<]+)</button>',
                      html)


def ratings(app) -> list[dict]:
    with hall_of(app).store.read() as conn:
        return [dict(r) for r in conn.execute("SELECT * FROM ratings ORDER BY id")]


@pytest.fixture
def finished(app, clerk_client) -> dict:
    """Ticket 1001 served and finished at counter 1 by clerk "an"."""
    issue_in_hall(app)
    act(clerk_client, "next")
    act(clerk_client, "finish")
    return ticket(app, "1001")


def test_the_rating_screen_is_idle_until_a_service_is_finished(app, client, clerk_client):
    page = client.get("/rate/1")
    assert page.status_code == 200 and "<h1>Quầy 1</h1>" in page.text
    assert "Xin chào quý khách. Sau khi được phục vụ, xin mời đánh giá tại đây." in page.text
    assert levels_of(page.text) == []
    issue_in_hall(app)
    act(clerk_client, "next")
    assert levels_of(client.get("/rate/1").text) == []  # still being served
    act(clerk_client, "finish")
    page = client.get("/rate/1")
    assert "hồ sơ số 1001?" in page.text
    assert levels_of(page.text) == [("1", "Rất hài lòng"), ("2", "Hài lòng"),
                                    ("3", "Không hài lòng")]
    assert 'hx-post="/rate/1"' in page.text
    fragment = client.get("/rate/1", headers=HX).text
    assert "<html" not in fragment and len(levels_of(fragment)) == 3
    # Another counter's screen has nothing to ask.
    assert levels_of(client.get("/rate/2").text) == []
    error_of(client.get("/rate/9"), 404, "unknown_counter")


def test_a_press_is_stored_once(app, client, finished):
    csrf = csrf_of(client.get("/rate/1").text)
    response = rate(client, 2, csrf)
    assert response.status_code == 200
    assert "Cảm ơn quý khách đã đánh giá!" in response.text
    assert levels_of(response.text) == []  # the prompt is gone
    [row] = ratings(app)
    an = hall_of(app).accounts.seated(1)
    assert (row["ticket_id"], row["counter_number"], row["clerk_id"], row["level"],
            row["label"], row["source"]) == (finished["id"], 1, an, 2, "Hài lòng", "screen")
    again = rate(client, 1, csrf)
    assert again.status_code == 409
    assert "Quầy 1 không có lượt phục vụ nào đang chờ đánh giá." in again.text
    assert "Cảm ơn" not in again.text
    assert len(ratings(app)) == 1
    assert "Xin chào quý khách" in client.get("/rate/1").text  # idle again


def test_the_counter_page_shows_the_days_ratings(app, client, clerk_client, finished):
    rate(client, 1, csrf_of(client.get("/rate/1").text))
    html = clerk_client.get("/counter/1/panel", headers=HX).text
    assert "<dt>Rất hài lòng</dt><dd>1</dd><dt>Hài lòng</dt><dd>0</dd>" in html


def test_a_clerk_cannot_rate_from_a_staff_session(app, clerk_client, supervisor_client,
                                                  finished):
    for who in (clerk_client, supervisor_client):
        response = who.post("/rate/1", data={"level": "1"}, headers=HX)
        assert response.status_code == 409
        assert "Cán bộ không tự đánh giá lượt phục vụ của mình." in response.text
        assert len(levels_of(response.text)) == 3  # still open to the citizen
    assert ratings(app) == []


def test_a_bad_level_is_refused(app, client, finished):
    csrf = csrf_of(client.get("/rate/1").text)
    for level in ("0", "4", "", "x", "-1", "1.0", "²", "99999999999999999999"):
        response = rate(client, level, csrf)
        assert response.status_code == 409, level
        assert "level phải từ 1 đến 3." in response.text, level
        assert len(levels_of(response.text)) == 3, level
    assert ratings(app) == []
    assert rate(client, 3, csrf).status_code == 200  # the prompt was still open


def test_rating_needs_the_csrf_token(app, client, finished):
    client.get("/rate/1")
    error_of(client.post("/rate/1", data={"level": "1"}, headers=HX), 400, "csrf_failed")
    assert row_count(app, "ratings") == 0


def test_the_rating_screen_in_english(app, client, finished):
    html = client.get("/rate/1?lang=en").text
    assert '<html lang="en">' in html
    response = rate(client, 3, csrf_of(html))
    assert "Thank you for your rating!" in response.text
    assert ratings(app)[0]["label"] == "Không hài lòng"  # labels are the hall's own words


# -- the API ------------------------------------------------------------------------------------

def test_pause_toggle_through_the_api(app, clerk_client):
    response = clerk_client.post("/api/v1/counters/1/pause-toggle")
    assert response.status_code == 200 and response.get_json()["status"] == "paused"
    assert counter_now(app)["status"] == "paused"
    response = clerk_client.post("/api/v1/counters/1/pause-toggle", json={})
    assert response.status_code == 200 and response.get_json()["status"] == "open"
    before = db_state(app)
    error_of(clerk_client.post("/api/v1/counters/1/pause-toggle", json={"counter": 2}), 400,
             "invalid_input")
    error_of(clerk_client.post("/api/v1/counters/2/pause-toggle"), 403, "forbidden")
    assert db_state(app) == before


def test_the_panel_opened_on_its_own_is_the_whole_page(clerk_client):
    """A fragment opened by itself (a bookmark, a technician) is a page with a title."""
    alone = clerk_client.get("/counter/1/panel").text
    assert "<title>" in alone and 'id="panel"' in alone and "<h1>" in alone
    fragment = clerk_client.get("/counter/1/panel", headers=HX).text
    assert "<html" not in fragment and 'id="current-number"' in fragment
