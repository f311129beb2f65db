"""Bulk actions through the doors: POST /api/v1/bulk (preview, apply, errors in the API's
shape) and the /admin/bulk page (filters, checkboxes, preview, confirm, errors next to fields),
and who may use them (supervisors; a clerk gets 403, a kiosk, board or anonymous caller 401, a
counter's device token 403, and CSRF is required)."""

import re

import pytest

from tests.plugins.web import HX, csrf_of, db_state, error_of, issue_in_hall

VT = "DEMO-GT-007"  # queue VT, numbers B001…


def waiting_numbers(app, queue: str) -> list[str]:
    with app.extensions["goiso"].hall.store.read() as conn:
        return [r[0] for r in conn.execute(
            "SELECT number FROM tickets WHERE queue_code = ? AND status = 'waiting'"
            " ORDER BY order_at, id", (queue,))]


@pytest.fixture
def three(app) -> list[dict]:
    """Tickets 1001, 1002, 1003 waiting in GPLX."""
    return [issue_in_hall(app) for _ in range(3)]


# -- the JSON API -------------------------------------------------------------------------------

def test_dry_run_answers_what_would_change_and_changes_nothing(app, supervisor_client, three):
    before = db_state(app)
    response = supervisor_client.post("/api/v1/bulk", json={
        "action": "move", "tickets": {"queue": "GPLX"}, "to_queue": "VT", "dry_run": True})
    assert response.status_code == 200, response.text
    plan = response.get_json()
    assert plan["count"] == 3 and plan["dry_run"] and not plan["applied"]
    assert [(t["number"], t["from"], t["to"]) for t in plan["tickets"]] == [
        ("1001", "GPLX", "VT"), ("1002", "GPLX", "VT"), ("1003", "GPLX", "VT")]
    assert db_state(app) == before


def test_apply_moves_in_order_and_audits_who(app, supervisor_client, three, demo):
    plan = supervisor_client.post("/api/v1/bulk", json={
        "action": "move", "filter": {"queue": "GPLX"}, "to_queue": "VT"}).get_json()
    issue_in_hall(app, VT)  # B001, after them
    response = supervisor_client.post("/api/v1/bulk", json={
        "action": "move", "filter": {"queue": "GPLX"}, "to_queue": "VT", "dry_run": False,
        "expect": plan["fingerprint"]})
    assert response.status_code == 200, response.text
    assert response.get_json()["applied"] and response.get_json()["count"] == 3
    assert waiting_numbers(app, "VT") == ["1001", "1002", "1003", "B001"]
    log = app.extensions["goiso"].hall.log.since(0, 10000)
    audit = [e for e in log if e.kind == "bulk_applied"]
    assert len(audit) == 1 and audit[0].data["count"] == 3
    supervisor = app.extensions["goiso"].hall.accounts.clerks()
    assert audit[0].clerk == next(c["id"] for c in supervisor if c["login"] == "giamsat")


def test_apply_by_numbers_and_refused_when_the_selection_changed(app, supervisor_client,
                                                                 three):
    body = {"action": "cancel", "tickets": ["1001", "1003"], "reason": "trùng vé"}
    plan = supervisor_client.post("/api/v1/bulk", json=body).get_json()
    assert plan["count"] == 2
    app.extensions["goiso"].act(app.extensions["goiso"].hall.calling.cancel, "1003", None,
                                None, "khách về")
    before = db_state(app)
    error_of(supervisor_client.post("/api/v1/bulk", json={
        **body, "dry_run": False, "expect": plan["fingerprint"]}), 409, "not_selectable")
    error_of(supervisor_client.post("/api/v1/bulk", json={
        "action": "cancel", "filter": {"queue": "GPLX"}, "reason": "x", "dry_run": False,
        "expect": [t["id"] for t in plan["tickets"]]}), 409, "selection_changed")
    assert db_state(app) == before


@pytest.mark.parametrize("body, status, code", [
    ({"action": "explode", "tickets": {"queue": "GPLX"}}, 400, "invalid_input"),
    ({"action": "move", "tickets": {"queue": "GPLX"}}, 400, "invalid_input"),
    ({"action": "move", "tickets": {"queue": "GPLX"}, "to_queue": "NOPE"}, 404, "unknown_queue"),
    ({"action": "move", "tickets": {"queue": "GPLX"}, "to_counter": 99}, 404,
     "unknown_counter"),
    ({"action": "cancel", "tickets": {"queue": "GPLX"}}, 400, "invalid_input"),
    ({"action": "cancel", "tickets": {"queue": "HD"}, "reason": "x"}, 409, "empty_selection"),
    ({"action": "cancel", "tickets": {"colour": "red"}, "reason": "x"}, 400, "invalid_input"),
    ({"action": "cancel", "tickets": "1001", "reason": "x"}, 400, "invalid_input"),
    ({"action": "move", "tickets": {"queue": "GPLX"}, "to_queue": "VT", "dry_run": "no"}, 400,
     "invalid_input"),
    ({"action": "move", "bogus": 1}, 400, "invalid_input"),
])
def test_validation_errors_in_the_api_shape(app, supervisor_client, three, body, status, code):
    before = db_state(app)
    error_of(supervisor_client.post("/api/v1/bulk", json={**body, "dry_run": body.get(
        "dry_run", False)}), status, code)
    assert db_state(app) == before


def test_close_day_stops_the_kiosk_until_reopened(app, client, supervisor_client, three):
    done = supervisor_client.post("/api/v1/bulk", json={
        "action": "close_day", "reason": "mất điện", "dry_run": False}).get_json()
    assert done["count"] == 3
    error_of(client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-001"}), 409,
             "day_closed")
    # Said once over every kiosk screen (the banner, refreshed every 10 s), and beside each
    # procedure a citizen could choose.
    banner = client.get("/kiosk/k1/banner").text
    assert "banner-warn" in banner
    assert "Hôm nay đã ngừng cấp số sớm: mất điện. Mời quý khách quay lại" in banner
    kiosk = client.get("/kiosk/k1").text
    assert kiosk[kiosk.index('id="banner"'):].count("ngừng cấp số sớm: mất điện") >= 1
    supervisor_client.post("/api/v1/bulk", json={"action": "reopen_day", "dry_run": False})
    assert client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-001"}).status_code == 201
    assert "ngừng cấp số sớm" not in client.get("/kiosk/k1/banner").text


# -- who may ----------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("POST", "/api/v1/bulk"), ("GET", "/admin/bulk"), ("POST", "/admin/bulk/preview"),
    ("POST", "/admin/bulk/apply")])
def test_only_supervisors(app, client, clerk_client, admin_client, demo, method, path, three):
    before = db_state(app)
    body = {"json": {"action": "cancel", "tickets": {"queue": "GPLX"}, "reason": "x",
                     "dry_run": False}} if path.startswith("/api") else {
        "data": {"action": "cancel", "queue": "GPLX", "reason": "x"}}
    # Anonymous (a kiosk or a board is not signed in).
    error_of(client.open(path, method=method, headers={"Accept": "application/json"}, **body),
             401, "unauthorized")
    error_of(clerk_client.open(path, method=method, headers={"Accept": "application/json"},
                               **body), 403, "forbidden")
    bearer = {"Authorization": f"Bearer {demo['tokens'][1]}", "Accept": "application/json"}
    error_of(client.open(path, method=method, headers=bearer, **body), 403, "forbidden")
    if method == "POST":  # a supervisor's session without the CSRF token
        error_of(admin_client.open(path, method=method, csrf=False,
                                   headers={"Accept": "application/json"}, **body), 400,
                 "csrf_failed")
    assert db_state(app) == before


# -- the page -----------------------------------------------------------------------------------

def test_page_lists_waiting_tickets_and_the_actions(supervisor_client, three):
    page = supervisor_client.get("/admin/bulk")
    assert page.status_code == 200
    html = page.text
    assert 'aria-current="page"' in html and "Xử lý hàng loạt" in html
    for t in three:
        assert f'name="tickets" value="{t["number"]}"' in html
    assert 'name="action"' in html and 'name="to_queue"' in html


def _post(client, path, **form):
    return client.post(path, data=form, headers=HX)


def test_preview_then_confirm_by_hand_picked_tickets(app, supervisor_client, three):
    before = db_state(app)
    preview = supervisor_client.post("/admin/bulk/preview", headers=HX, data={
        "action": "move", "tickets": ["1001", "1003"], "to_queue": "VT"})
    assert preview.status_code == 200, preview.text
    assert "2 vé sẽ chuyển từ Giấy phép lái xe sang Vận tải đường bộ." in preview.text
    assert db_state(app) == before
    expect = re.search(r'name="expect" value="([0-9a-f]+)"', preview.text)[1]
    done = supervisor_client.post("/admin/bulk/apply", headers=HX, data={
        "action": "move", "tickets": ["1001", "1003"], "to_queue": "VT", "expect": expect})
    assert done.status_code == 200, done.text
    assert "Đã xong: 2 vé." in done.text
    assert waiting_numbers(app, "VT") == ["1001", "1003"]
    assert waiting_numbers(app, "GPLX") == ["1002"]


def test_confirm_without_a_matching_preview_is_refused(app, supervisor_client, three):
    preview = _post(supervisor_client, "/admin/bulk/preview", action="cancel", queue="GPLX",
                    reason="hết giờ")
    expect = re.search(r'name="expect" value="([0-9a-f]+)"', preview.text)[1]
    issue_in_hall(app)  # 1004 arrives in between
    before = db_state(app)
    refused = _post(supervisor_client, "/admin/bulk/apply", action="cancel", queue="GPLX",
                    reason="hết giờ", expect=expect)
    assert refused.status_code == 409
    assert "Danh sách vé đã thay đổi từ lúc xem trước (bây giờ có 4 vé)" in refused.text
    assert db_state(app) == before
    # Nothing previewed at all: refused too.
    assert _post(supervisor_client, "/admin/bulk/apply", action="cancel", queue="GPLX",
                 reason="x").status_code == 409


def test_errors_stand_next_to_their_field_and_the_form_keeps_what_was_typed(
        supervisor_client, three):
    response = _post(supervisor_client, "/admin/bulk/preview", action="cancel", queue="GPLX",
                     numbers="1001 1002", reason="")
    assert response.status_code == 400
    html = response.text
    assert re.search(r'name="reason"[^>]*aria-invalid="true" aria-describedby="error-reason"',
                     html)
    assert 'id="error-reason"' in html and "Hãy nêu lý do" in html
    assert 'value="1001 1002"' in html and '<option value="GPLX" selected>' in html
    response = _post(supervisor_client, "/admin/bulk/preview", action="move", queue="GPLX",
                     to_queue="NOPE")
    assert response.status_code == 404 and 'id="error-to_queue"' in response.text


def test_closing_the_day_from_the_page_ignores_the_filters_left_in_the_form(
        app, client, supervisor_client, three):
    form = {"action": "close_day", "queue": "VT", "reason": "mất điện"}
    preview = _post(supervisor_client, "/admin/bulk/preview", **form)
    assert "Hôm nay sẽ ngừng cấp số; 3 vé đang chờ sẽ bị hủy, lý do: mất điện." in preview.text
    expect = re.search(r'name="expect" value="([0-9a-f]+)"', preview.text)[1]
    done = _post(supervisor_client, "/admin/bulk/apply", **form, expect=expect)
    assert "Đã xong: 3 vé." in done.text
    assert "Hôm nay đã ngừng cấp số sớm: mất điện." in supervisor_client.get("/admin/bulk").text
    error_of(client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-001"}), 409,
             "day_closed")


def test_page_without_javascript_posts_whole_pages(supervisor_client, three):
    html = supervisor_client.get("/admin/bulk").text
    preview = supervisor_client.post("/admin/bulk/preview", data={
        "csrf_token": csrf_of(html), "action": "reactivate", "queue": "GPLX"},
        headers={"X-CSRFToken": ""}, csrf=False)
    # No no-show today: an empty selection, said on the whole page next to the tickets.
    assert preview.status_code == 409 and "<html" in preview.text
    assert 'id="error-tickets"' in preview.text


def test_bulk_reprint_prints_each_ticket_on_its_kiosk(app, supervisor_client, printing):
    from tests.plugins.printers import print_files
    from tests.plugins.waiting import wait_for

    for _ in range(3):
        issue_in_hall(app, kiosk="k1")
    issue_in_hall(app, "DEMO-GT-007")  # no kiosk: not picked by the filter below
    done = supervisor_client.post("/api/v1/bulk", json={
        "action": "reprint", "tickets": {"queue": "GPLX"}, "dry_run": False})
    assert done.status_code == 200, done.text
    assert done.get_json()["printing"] == 3 and done.get_json()["not_printed"] == []
    wait_for(lambda: len(print_files(printing)) == 3, "three reprints written")
    error_of(supervisor_client.post("/api/v1/bulk", json={
        "action": "reprint", "tickets": {"queue": "VT"}, "dry_run": False}), 400, "no_printer")


def test_bulk_reprint_says_which_tickets_a_stopped_printer_could_not_take(app,
                                                                          supervisor_client):
    for _ in range(2):
        issue_in_hall(app, kiosk="k1")
    preview = _post(supervisor_client, "/admin/bulk/preview", action="reprint", queue="GPLX")
    expect = re.search(r'name="expect" value="([0-9a-f]+)"', preview.text)[1]
    # No printer runs in this process (only `goiso serve` starts them): each one is refused.
    done = _post(supervisor_client, "/admin/bulk/apply", action="reprint", queue="GPLX",
                 expect=expect)
    assert done.status_code == 200
    assert "Đã xong: 2 vé. Đã gửi in 0 vé." in done.text
    assert "chưa in được: 1001, 1002." in done.text
