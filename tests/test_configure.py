"""Setting up a hall in the browser (role admin): the settings page and the catalogue pages,
their errors beside the fields, the audit entries, and the hall following at once."""

import json
import re

import pytest

from tests.plugins.web import db_state, error_of


def audit(app, kind: str) -> list[dict]:
    """The audited events of one kind, oldest first (clerk and data)."""
    with app.extensions["goiso"].hall.store.read() as conn:
        rows = conn.execute("SELECT clerk_id, data FROM events WHERE kind = ? ORDER BY id",
                            (kind,)).fetchall()
    return [{"clerk": row[0], **json.loads(row[1])} for row in rows]


def admin_id(app) -> int:
    with app.extensions["goiso"].hall.store.read() as conn:
        return conn.execute("SELECT id FROM clerks WHERE role = 'admin'").fetchone()[0]


def field_html(html: str, field_id: str) -> str:
    """The form row holding the input whose id is ``field_id``."""
    found = re.search(r'<div class="form-row[^"]*">(?:(?!<div class="form-row).)*?id="'
                      + re.escape(field_id) + r'".*?</div>', html, re.S)
    assert found, field_id
    return found[0]


# -- settings ---------------------------------------------------------------------------------

def test_the_settings_page_has_one_form_per_table(admin_client):
    html = admin_client.get("/admin/settings").text
    for table in ("hall", "rules", "kiosk", "ticket", "board", "voice"):
        assert f'action="/admin/settings/{table}"' in html
    assert '<label for="rules-target_wait_minutes">' in html
    assert 'id="rules-target_wait_minutes" name="target_wait_minutes" value="15"' in html
    assert '<option value="interleave">Xen kẽ ưu tiên và thường</option>' in html
    english = admin_client.get("/admin/settings?lang=en").text
    assert "Target waiting time (minutes)" in english


def test_a_change_applies_at_once_and_is_audited(app, admin_client):
    form = admin_client.get("/admin/settings").text
    assert "Sảnh Một Cửa" not in form
    response = admin_client.post("/admin/settings/hall", data={
        "name": "Sảnh Một Cửa", "unit": "UBND quận", "default_language": "vi"})
    assert response.status_code == 200 and "Đã lưu 2 thay đổi." in response.text
    assert "Sảnh Một Cửa · UBND quận" in admin_client.get("/kiosk/").text
    changes = audit(app, "settings_changed")
    assert {(c["what"], c["key"], c["before"], c["after"], c["clerk"]) for c in changes} == {
        ("hall", "name", None, "Sảnh Một Cửa", admin_id(app)),
        ("hall", "unit", None, "UBND quận", admin_id(app))}


def test_a_wrong_value_is_shown_beside_its_field_and_what_was_typed_stays(app, admin_client):
    before = db_state(app)
    page = admin_client.get("/admin/settings").text
    form = {"timezone": "Asia/Ho_Chi_Minh", "day_starts_at": "00:00", "priority_policy":
            "strict", "interleave_every": "3", "outcomes": "served\nincomplete",
            "recent_calls": "10", "service_samples": "20", "rating_levels": "Tốt\nKém",
            "rating_seconds": "30", "target_wait_minutes": "mười lăm",
            "alert_wait_minutes": "20", "alert_device_seconds": "60", "opens_at": "7:30",
            "closes_at": "", "keep_tickets_days": "0"}
    assert "mười lăm" not in page
    response = admin_client.post("/admin/settings/rules", data=form)
    assert response.status_code == 422
    row = field_html(response.text, "rules-target_wait_minutes")
    assert 'value="mười lăm"' in row and 'aria-invalid="true"' in row
    assert "cần một số nguyên" in row
    assert 'value="20"' in field_html(response.text, "rules-alert_wait_minutes")
    assert "Tốt\nKém" in field_html(response.text, "rules-rating_levels")
    assert db_state(app) == before and audit(app, "settings_changed") == []


def test_a_setting_goes_back_to_the_files_value(app, admin_client):
    admin_client.post("/admin/settings/kiosk", data={
        "idle_seconds": "90", "ticket_seconds": "15", "failed_ticket_seconds": "60",
        "printer_down": "screen"})
    runtime = app.extensions["goiso"]
    assert runtime.settings.kiosk.idle_seconds == 90
    assert runtime.settings.kiosk.printer_down == "screen"
    page = admin_client.get("/admin/settings").text
    assert 'form="reset-kiosk-idle_seconds"' in page
    assert 'form="reset-kiosk-ticket_seconds"' not in page  # never changed: nothing to reset
    response = admin_client.post("/admin/settings/kiosk/reset", data={"key": "idle_seconds"})
    assert response.status_code == 200
    assert runtime.settings.kiosk.idle_seconds == 60
    assert runtime.settings.kiosk.printer_down == "screen"
    assert audit(app, "settings_changed")[-1] | {"clerk": None} == {
        "clerk": None, "what": "kiosk", "key": "idle_seconds", "before": 90, "after": None}


def test_unticked_flags_are_switched_off(app, admin_client):
    page = admin_client.get("/admin/settings").text
    assert 'id="voice-chime" name="chime" value="1" checked' in page
    form = {"template": "Mời số {number} đến quầy {counter}", "style": "digits",
            "dialect": "south", "four": "tư", "voice": "vi", "speed": "150", "repeat": "2",
            "pack_dir": "", "enabled": "1"}
    assert admin_client.post("/admin/settings/voice", data=form).status_code == 200
    voice = app.extensions["goiso"].settings.voice
    assert (voice.chime, voice.style, voice.repeat, voice.enabled) == (False, "digits", 2, True)


# -- who may -----------------------------------------------------------------------------------

CONFIGURE_ROUTES = [
    ("GET", "/admin/settings"), ("POST", "/admin/settings/hall"),
    ("POST", "/admin/settings/hall/reset"), ("GET", "/admin/catalogue"),
    *[("POST", f"/admin/catalogue/{kind}") for kind in (
        "field", "procedure", "queue", "counter", "clerk", "kiosk", "board")],
    ("POST", "/admin/catalogue/queue/move"), ("POST", "/admin/catalogue/import"),
    ("POST", "/admin/catalogue/import/apply"), ("GET", "/admin/catalogue/export.csv"),
    ("GET", "/admin/catalogue/export.xlsx")]


@pytest.mark.parametrize(("method", "path"), CONFIGURE_ROUTES)
def test_only_admins_configure(app, client, clerk_client, supervisor_client, method, path):
    before = db_state(app)
    error_of(client.open(path, method=method, headers={"Accept": "application/json"}), 401,
             "unauthorized")
    for staff in (clerk_client, supervisor_client):
        error_of(staff.open(path, method=method, data={"name": "X"},
                            headers={"Accept": "application/json"}), 403, "forbidden")
    # A counter's device (its keypad's token) acts as a clerk: no further.
    device = {"Authorization": f"Bearer {app.config['DEMO']['tokens'][1]}",
              "Accept": "application/json"}
    error_of(client.open(path, method=method, data={"name": "X"}, headers=device), 403,
             "forbidden")
    # A kiosk or a board is an anonymous screen: a browser there is sent to sign in.
    if method == "GET":
        assert client.get(path, headers={"Accept": "text/html"}).status_code == 302
    assert db_state(app) == before


@pytest.mark.parametrize(("method", "path"), [r for r in CONFIGURE_ROUTES if r[0] == "POST"])
def test_configure_forms_need_the_csrf_token(app, admin_client, method, path):
    before = db_state(app)
    response = admin_client.open(path, method=method, data={"name": "X", "key": "name"},
                                 csrf=False)
    assert response.status_code == 400
    assert db_state(app) == before


# -- catalogue ---------------------------------------------------------------------------------

def test_the_catalogue_page_lists_every_kind(admin_client):
    html = admin_client.get("/admin/catalogue").text
    for kind in ("field", "procedure", "queue", "counter", "clerk", "kiosk", "board"):
        assert f'action="/admin/catalogue/{kind}#{kind}s"' in html
    assert "DEMO-GT-001" in html and "Ki-ốt sảnh chính" in html and "Màn hình sảnh chính" in html
    assert '<label for="procedure-keywords">Từ khóa tìm kiếm</label>' in html
    edit = admin_client.get("/admin/catalogue?edit=procedure:DEMO-GT-001").text
    assert 'id="procedure-code" name="code" value="DEMO-GT-001" readonly' in edit


def test_a_renamed_procedure_shows_on_the_kiosk_at_once(app, admin_client, client):
    assert "Đổi bằng lái (mẫu mới)" not in client.get("/kiosk/k1").text
    response = admin_client.post("/admin/catalogue/procedure", data={
        "editing": "DEMO-GT-001", "code": "DEMO-GT-001", "name": "Đổi bằng lái (mẫu mới)",
        "name_en": "Driving licence renewal", "keywords": "bằng lái, GPLX",
        "field": "Giấy phép lái xe", "queue": "GPLX", "active": "1"})
    assert response.status_code == 200, response.text
    kiosk = client.get("/kiosk/k1").text + "".join(
        client.get(f"/kiosk/k1/fields/{f['id']}").text
        for f in app.extensions["goiso"].hall.catalogue.fields())
    assert "Đổi bằng lái (mẫu mới)" in kiosk
    [change] = [c for c in audit(app, "catalogue_changed") if c.get("key") == "DEMO-GT-001"]
    assert change["clerk"] == admin_id(app) and change["what"] == "procedure"
    assert change["before"]["name"] == "Đổi giấy phép lái xe do ngành Giao thông vận tải cấp"
    assert change["after"] == {"name": "Đổi bằng lái (mẫu mới)",
                               "name_en": "Driving licence renewal",
                               "keywords": "bằng lái, GPLX"}


def test_a_catalogue_error_is_beside_its_field_and_keeps_what_was_typed(app, admin_client):
    before = db_state(app)
    response = admin_client.post("/admin/catalogue/queue", data={
        "code": "MOI", "name": "Hàng mới", "number_format": "prefix", "prefix": "A",
        "digits": "ba", "priority_policy": "", "service_minutes": "5", "active": "1"})
    assert response.status_code == 422
    row = field_html(response.text, "queue-digits")
    assert 'value="ba"' in row and "digits phải là số nguyên." in row
    assert 'value="Hàng mới"' in field_html(response.text, "queue-name")
    response = admin_client.post("/admin/catalogue/procedure", data={
        "code": "MOI 1", "name": "Thủ tục", "field": "Giấy phép lái xe", "queue": "GPLX"})
    assert response.status_code == 422
    assert "mã chỉ gồm chữ, số" in field_html(response.text, "procedure-code")
    assert db_state(app) == before


def test_deactivate_a_procedure_a_counter_and_a_clerk(app, admin_client, client):
    hall = app.extensions["goiso"].hall
    admin_client.post("/admin/catalogue/procedure", data={
        "editing": "DEMO-GT-001", "code": "DEMO-GT-001", "name": "Đổi GPLX",
        "field": "Giấy phép lái xe", "queue": "GPLX"})
    assert "DEMO-GT-001" not in [p["code"] for p in hall.catalogue.procedures()]
    assert hall.catalogue.procedure("DEMO-GT-001")["active"] is False  # kept for history
    admin_client.post("/admin/catalogue/counter", data={
        "editing": "6", "number": "6", "name": "Quầy 6", "queues": ["HD"], "weight-HD": "2",
        "select_mode": "oldest"})
    assert hall.catalogue.counter(6)["active"] is False
    assert hall.catalogue.counter(6)["queues"] == [{"code": "HD", "weight": 2.0}]
    admin_client.post("/admin/catalogue/clerk", data={
        "editing": "an", "login": "an", "name": "Nguyễn Văn An", "role": "clerk"})
    pin = app.config["DEMO"]["pins"]["an"]
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    assert client.post("/api/v1/session", json={"login": "an", "pin": pin},
                       headers={"X-CSRFToken": token}).status_code == 401


def test_a_new_clerk_with_a_pin_that_the_audit_never_shows(app, admin_client, client):
    response = admin_client.post("/admin/catalogue/clerk", data={
        "login": "lan", "name": "Trần Thị Lan", "role": "supervisor", "pin": "482913",
        "active": "1"})
    assert response.status_code == 200, response.text
    admin_client.post("/admin/catalogue/clerk", data={
        "editing": "lan", "login": "lan", "name": "Trần Thị Lan", "role": "supervisor",
        "pin": "112233", "active": "1"})
    changes = [c for c in audit(app, "catalogue_changed") if c["key"] == "lan"]
    assert [c["after"].get("pin") for c in changes] == ["***", "***"]
    assert changes[1]["before"] == {"pin": "***"}
    with app.extensions["goiso"].hall.store.read() as conn:
        assert "112233" not in json.dumps(
            [tuple(r) for r in conn.execute("SELECT * FROM events")], ensure_ascii=False)
        assert "112233" not in conn.execute(
            "SELECT pin_hash FROM clerks WHERE login = 'lan'").fetchone()[0]
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    assert client.post("/api/v1/session", json={"login": "lan", "pin": "112233"},
                       headers={"X-CSRFToken": token}).status_code == 201


def test_fields_are_added_translated_and_reordered(app, admin_client):
    hall = app.extensions["goiso"].hall
    response = admin_client.post("/admin/catalogue/field", data={
        "name": "Hộ tịch", "name_en": "Civil status", "active": "1"})
    assert response.status_code == 200
    names = [f["name"] for f in hall.catalogue.all_fields()]
    assert names[-1] == "Hộ tịch"
    new = hall.catalogue.all_fields()[-1]["id"]
    admin_client.post("/admin/catalogue/field/move", data={"key": str(new), "step": "up"})
    assert [f["name"] for f in hall.catalogue.all_fields()] == [
        *names[:-2], "Hộ tịch", names[-2]]
    [moved] = [c for c in audit(app, "catalogue_changed") if c["what"] == "field"
               and c["before"] is not None]
    assert moved["before"] == {"position": len(names)}


def test_a_kiosk_and_a_board_are_added(app, admin_client, client):
    response = admin_client.post("/admin/catalogue/kiosk", data={
        "id": "k3", "name": "Ki-ốt tầng 2", "active": "1"})
    assert response.status_code == 200
    assert client.get("/kiosk/k3").status_code == 200
    response = admin_client.post("/admin/catalogue/board", data={
        "id": "tv2", "name": "Màn hình tầng 2", "queues": ["VT"], "counters": ["2", "3"]})
    assert response.status_code == 200, response.text
    board = app.extensions["goiso"].hall.catalogue.board("tv2")
    assert (board["queues"], board["counters"]) == (["VT"], [2, 3])
    assert client.get("/display/tv2").status_code == 200


# -- the JSON API passes who and the new columns -------------------------------------------------

def test_api_puts_are_audited_with_who_and_take_english_names(app, admin_client):
    response = admin_client.put("/api/v1/procedures/DEMO-GT-001", json={
        "name": "Đổi GPLX", "field": "Giấy phép lái xe", "queue": "GPLX",
        "name_en": "Licence renewal", "keywords": "bằng lái"})
    assert response.status_code == 200
    assert (response.get_json()["name_en"], response.get_json()["keywords"]) == (
        "Licence renewal", "bằng lái")
    admin_client.put("/api/v1/counters/6", json={"active": False})
    admin_client.put("/api/v1/clerks/an", json={"name": "An", "pin": "998877"})
    who = admin_id(app)
    changes = audit(app, "catalogue_changed")[-3:]
    assert [(c["what"], c["key"], c["clerk"]) for c in changes] == [
        ("procedure", "DEMO-GT-001", who), ("counter", 6, who), ("clerk", "an", who)]
    assert changes[1]["after"] == {"active": 0} and changes[2]["after"]["pin"] == "***"


def test_the_kiosk_finds_a_procedure_by_its_search_words_and_english_name(admin_client, client):
    def found(query: str) -> str:
        return client.get(f"/kiosk/k1/search?q={query}",
                          headers={"HX-Request": "true", "HX-Target": "results"}).text

    assert "DEMO-GT-001" not in found("renewal")
    admin_client.post("/admin/catalogue/procedure", data={
        "editing": "DEMO-GT-001", "code": "DEMO-GT-001", "name": "Đổi giấy phép lái xe",
        "name_en": "Driving licence renewal", "keywords": "bằng lái",
        "field": "Giấy phép lái xe", "queue": "GPLX", "active": "1"})
    assert "DEMO-GT-001" in found("renewal") and "DEMO-GT-001" in found("bang+lai")


def test_a_deactivated_counter_leaves_the_boards_and_seats_nobody(app, admin_client, client):
    assert 6 in [c["number"] for c in client.get("/api/v1/counters").get_json()]
    admin_client.post("/admin/catalogue/counter", data={
        "editing": "6", "number": "6", "name": "Quầy 6", "queues": ["HD"],
        "select_mode": "oldest"})
    assert 6 not in [c["number"] for c in client.get("/api/v1/counters").get_json()]
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    pin = app.config["DEMO"]["pins"]["an"]
    response = client.post("/api/v1/session", json={"login": "an", "pin": pin, "counter": 6},
                           headers={"X-CSRFToken": token})
    error_of(response, 404)


def test_a_kiosk_in_english_shows_the_english_names(app, admin_client, client):
    hall = app.extensions["goiso"].hall
    field = next(f for f in hall.catalogue.all_fields() if f["name"] == "Giấy phép lái xe")
    admin_client.post("/admin/catalogue/field", data={
        "id": str(field["id"]), "editing": str(field["id"]), "name": "Giấy phép lái xe",
        "name_en": "Driving licences", "active": "1"})
    admin_client.post("/admin/catalogue/procedure", data={
        "editing": "DEMO-GT-001", "code": "DEMO-GT-001", "name": "Đổi giấy phép lái xe",
        "name_en": "Driving licence renewal", "field": "Giấy phép lái xe", "queue": "GPLX",
        "active": "1"})
    english = client.get("/kiosk/k1?lang=en").text
    assert "Driving licences" in english
    procedures = client.get(f"/kiosk/k1/fields/{field['id']}").text
    assert "Driving licence renewal" in procedures
    vietnamese = client.get(f"/kiosk/k1/fields/{field['id']}?lang=vi").text
    assert "Driving licence renewal" not in vietnamese and "Đổi giấy phép lái xe" in vietnamese


def test_editing_a_queue_keeps_what_its_form_does_not_show(app, admin_client):
    hall = app.extensions["goiso"].hall
    before = hall.catalogue.queue("VT")
    page = admin_client.get("/admin/catalogue?edit=queue:VT").text
    assert 'id="queue-prefix" name="prefix" value="B"' in page
    response = admin_client.post("/admin/catalogue/queue", data={
        "editing": "VT", "code": "VT", "name": "Vận tải", "number_format": "prefix",
        "prefix": "B", "digits": "3", "priority_policy": "", "issue_from": "07:30",
        "issue_until": "", "service_minutes": "8", "active": "1"})
    assert response.status_code == 200, response.text
    after = hall.catalogue.queue("VT")
    assert (after["name"], after["issue_from"], after["position"]) == (
        "Vận tải", "07:30", before["position"])
    response = admin_client.post("/admin/catalogue/queue", data={
        "editing": "VT", "code": "VT", "name": "Vận tải", "number_format": "prefix",
        "prefix": "B", "issue_from": "7 giờ", "service_minutes": "8", "active": "1"})
    assert response.status_code == 422
    assert "HH:MM" in field_html(response.text, "queue-issue_from")


def test_a_decimal_comma_is_read(app, admin_client):
    response = admin_client.post("/admin/settings/board", data={
        "highlight_seconds": "8", "poll_seconds": "2,5"})
    assert response.status_code == 200
    assert app.extensions["goiso"].settings.board.poll_seconds == 2.5


def test_boards_and_kiosks_hear_of_every_change(app, admin_client):
    feed = app.extensions["goiso"].feed
    mark = feed.last_id
    admin_client.post("/admin/settings/hall", data={"name": "Sảnh B", "unit": "",
                                                    "default_language": "vi"})
    admin_client.post("/admin/catalogue/kiosk", data={"id": "k5", "name": "Ki-ốt 5",
                                                      "active": "1"})
    assert [str(e.kind) for e in feed.after(mark)] == ["settings_changed", "catalogue_changed"]
