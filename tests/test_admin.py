"""The supervisors' printing panel /admin/: printers, test pages, reprints, unprinted tickets."""

import re

import pytest

from settings import KioskOptions
from tests.plugins.printers import print_files
from tests.plugins.waiting import wait_for
from tests.plugins.web import (
    DOI_GPLX,
    HX,
    csrf_of,
    db_state,
    error_of,
    issue_in_hall,
    local_links,
    sheet,
    tap,
)

NOTHING_FAILED = "Không có vé nào bị lỗi in."


def panel(client, status: int = 200) -> str:
    """The printing panel alone, as htmx reloads it."""
    response = client.get("/admin/printing", headers=HX)
    assert response.status_code == status, response.text
    return response.text


def row_of(html: str, number: str) -> str | None:
    """The row of ``number`` in the list of unprinted tickets."""
    start = html.find(f'<tr data-number="{number}">')
    return None if start < 0 else html[start:html.index("</tr>", start)]


def states(html: str) -> list[str]:
    """The state column of the printers table."""
    return [s.strip() for s in re.findall(r'<td class="state">([^<]*)', html)]


def post(client, path: str, **form):
    """A panel form sent by htmx."""
    return client.post(path, data=form, headers=HX)


@pytest.fixture
def failed(app) -> dict:
    """Ticket 1001 of kiosk k1, whose printing failed ("Hết giấy")."""
    ticket = issue_in_hall(app, kiosk="k1")  # as a kiosk would, before printing
    runtime = app.extensions["goiso"]
    runtime.act(runtime.hall.printing.mark_printed, ticket["token"], False, "Hết giấy",
                printer="k1")
    return ticket


def printed(app, token: str) -> bool:
    return sheet(app, token)["printed"] is True


# -- who may see it ---------------------------------------------------------------------------

def test_a_browser_that_is_not_signed_in_goes_to_the_sign_in_page(client):
    response = client.get("/admin/", headers={"Accept": "text/html"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/admin/"


@pytest.mark.parametrize("method, path", [
    ("GET", "/admin/"), ("GET", "/admin/printing"), ("POST", "/admin/tickets/reprint"),
    ("POST", "/admin/tickets/cancel"), ("POST", "/admin/printers/k1/test")])
def test_anonymous_requests_are_401_and_clerks_403(app, client, clerk_client, method, path):
    before = db_state(app)
    error_of(client.open(path, method=method, headers={"Accept": "application/json"}), 401,
             "unauthorized")
    error_of(client.open(path, method=method), 401, "unauthorized")
    if method == "GET":
        error_of(client.get(path, headers=HX), 401, "unauthorized")  # an htmx fragment
    error_of(clerk_client.open(path, method=method, headers={"Accept": "application/json"}),
             403, "forbidden")
    page = clerk_client.open(path, method=method, headers={"Accept": "text/html"})
    assert page.status_code == 403 and "Bạn không có quyền làm việc này." in page.text
    assert db_state(app) == before


# -- the panel --------------------------------------------------------------------------------

def test_supervisor_sees_the_printers(app, supervisor_client):
    page = supervisor_client.get("/admin/")
    assert page.status_code == 200 and "<html" in page.text
    assert "Đang đăng nhập: Đỗ Minh Khoa." in page.text
    assert 'sse-connect="/api/v1/events"' in page.text
    local_links(page.text)
    html = panel(supervisor_client)
    assert "<html" not in html
    assert "Dịch vụ in chưa chạy trong tiến trình này" in html
    for name in ("k1", "k2"):
        assert f'<tr data-printer="{name}" class="bad">' in html
        assert f'hx-post="/admin/printers/{name}/test"' in html
    assert states(html) == ["Dịch vụ in chưa chạy"] * 2
    assert NOTHING_FAILED in html
    assert "Printing is not running in this process" in supervisor_client.get(
        "/admin/?lang=en").text


def test_running_printers_are_ready(supervisor_client, printing):
    html = panel(supervisor_client)
    assert "Dịch vụ in chưa chạy" not in html
    for name in ("k1", "k2"):
        assert f'<tr data-printer="{name}" class="">' in html
        assert f"thư mục {printing / name}" in html
    assert states(html) == ["Sẵn sàng"] * 2


def test_a_ticket_that_did_not_print_is_listed(supervisor_client, failed):
    html = panel(supervisor_client)
    assert '<span class="count" id="unprinted-count">1</span>' in html
    row = row_of(html, "1001")
    assert row is not None and DOI_GPLX in row and "Hết giấy" in row
    assert "<td>k1</td>" in row
    assert 'hx-post="/admin/tickets/reprint"' in row and 'hx-post="/admin/tickets/cancel"' in row
    assert row.count(f'<input type="hidden" name="token" value="{failed["token"]}">') == 2
    assert '<option value="k1" selected>k1</option>' in row


def test_screen_tickets_are_listed(app, client, supervisor_client):
    app.extensions["goiso"].settings.kiosk = KioskOptions(printer_down="screen")
    screen = tap(client, csrf_of(client.get("/kiosk/k1").text))
    assert screen.status_code == 200 and "Chưa in được vé." in screen.text
    row = row_of(panel(supervisor_client), "1001")
    assert row is not None and "vé trên màn hình: Dịch vụ in chưa chạy" in row


def test_after_a_restart_unreported_prints_are_listed(app, supervisor_client):
    runtime = app.extensions["goiso"]
    hall = runtime.hall
    # Handed to the kiosk's printer, then the process stopped before the printer said a word.
    sent = runtime.act(hall.issuing.issue, "DEMO-GT-001", kiosk="k1", to_print=True)
    issue_in_hall(app)  # issued through the API for a phone: nobody waits for paper
    issue_in_hall(app, kiosk="k1")  # a kiosk ticket never handed to a printer: no paper promised
    assert sheet(app, sent["token"])["printed"] is None
    assert NOTHING_FAILED in panel(supervisor_client)
    assert hall.printing.settle_prints() == 1
    html = panel(supervisor_client)
    assert "máy chủ dừng trước khi in xong" in row_of(html, "1001")
    assert row_of(html, "1002") is None and row_of(html, "1003") is None
    assert hall.printing.settle_prints() == 0  # once only


# -- reprint, cancel, test page ---------------------------------------------------------------

def test_reprint_a_failed_ticket(app, supervisor_client, failed, printing):
    response = post(supervisor_client, "/admin/tickets/reprint", token=failed["token"],
                    printer="k2")
    assert response.status_code == 200
    assert "Đang in lại số 1001 trên k2." in response.text
    wait_for(lambda: printed(app, failed["token"]), "the reprint")
    [job] = print_files(printing, "k2")
    assert job.name.endswith("-1001.escpos") and print_files(printing, "k1") == []
    html = panel(supervisor_client)
    assert row_of(html, "1001") is None and NOTHING_FAILED in html
    assert "1001: tốt" in html  # k2's last job


def test_reprint_by_number(app, supervisor_client, printing):
    ticket = issue_in_hall(app, kiosk="k1")
    response = post(supervisor_client, "/admin/tickets/reprint", number=" 1001 ", printer="k1")
    assert response.status_code == 200 and "Đang in lại số 1001 trên k1." in response.text
    wait_for(lambda: printed(app, ticket["token"]), "the reprint")
    assert len(print_files(printing, "k1")) == 1
    # Reprinting again prints again: a lost ticket is not a double tap.
    post(supervisor_client, "/admin/tickets/reprint", number="1001", printer="k1")
    wait_for(lambda: len(print_files(printing, "k1")) == 2, "the second reprint")


def test_reprint_of_an_unknown_number(app, supervisor_client, printing):
    before = db_state(app)
    response = post(supervisor_client, "/admin/tickets/reprint", number="9999", printer="k1")
    assert response.status_code == 404
    assert "Không có số thứ tự 9999 trong ngày hôm nay." in response.text
    assert 'class="notice notice-error"' in response.text
    assert db_state(app) == before and print_files(printing, "k1") == []


def test_reprint_on_an_unknown_printer(app, supervisor_client, failed, printing):
    before = db_state(app)
    response = post(supervisor_client, "/admin/tickets/reprint", token=failed["token"],
                    printer="k9")
    assert response.status_code == 404 and "Không có máy in k9." in response.text
    assert not (printing / "k9").exists()
    assert db_state(app) == before


def test_reprint_while_printing_is_not_running(app, supervisor_client, failed):
    response = post(supervisor_client, "/admin/tickets/reprint", token=failed["token"],
                    printer="k1")
    assert response.status_code == 503
    assert "Máy in k1 chưa sẵn sàng: Dịch vụ in chưa chạy" in response.text
    assert row_of(response.text, "1001") is not None


def test_cancel_a_ticket_nobody_holds(app, supervisor_client, failed):
    response = post(supervisor_client, "/admin/tickets/cancel", token=failed["token"])
    assert response.status_code == 200 and "Đã hủy số 1001." in response.text
    assert row_of(response.text, "1001") is None and NOTHING_FAILED in response.text
    assert sheet(app, failed["token"])["status"] == "cancelled"
    again = post(supervisor_client, "/admin/tickets/cancel", token=failed["token"])
    assert again.status_code == 409 and "không thể hủy" in again.text
    gone = post(supervisor_client, "/admin/tickets/cancel", token="nope")
    assert gone.status_code == 404 and "Không tìm thấy vé này." in gone.text


def test_print_a_test_page(app, supervisor_client, printing):
    before = db_state(app)
    response = post(supervisor_client, "/admin/printers/k1/test")
    assert response.status_code == 200 and "Đã gửi trang in thử tới k1." in response.text
    wait_for(lambda: print_files(printing, "k1"), "the test page")
    assert print_files(printing, "k2") == []
    assert db_state(app)["tickets"] == before["tickets"]


def test_test_page_on_an_unknown_or_stopped_printer(supervisor_client):
    unknown = post(supervisor_client, "/admin/printers/k9/test")
    assert unknown.status_code == 404 and "Không có máy in k9." in unknown.text
    stopped = post(supervisor_client, "/admin/printers/k1/test")
    assert stopped.status_code == 503
    assert "Máy in k1 chưa sẵn sàng: Dịch vụ in chưa chạy" in stopped.text


@pytest.mark.parametrize("path, form", [
    ("/admin/tickets/reprint", {"number": "1001", "printer": "k1"}),
    ("/admin/tickets/cancel", {"number": "1001"}),
    ("/admin/printers/k1/test", {}),
])
def test_forms_without_the_csrf_token_change_nothing(app, supervisor_client, failed, printing,
                                                     path, form):
    if "cancel" in path:
        form = {"token": failed["token"]}
    before = db_state(app)
    response = supervisor_client.post(path, data=form, headers=HX, csrf=False)
    error_of(response, 400, "csrf_failed")
    assert db_state(app) == before
    assert all(print_files(printing, name) == [] for name in ("k1", "k2"))


def test_supervisor_sets_and_clears_a_board_notice(app, supervisor_client, client):
    page = supervisor_client.get("/admin/")
    assert 'data-board="main"' in page.get_data(as_text=True)
    reply = supervisor_client.post("/admin/boards/main/notice", data={
        "notice": "Chiều thứ Sáu tiếp dân đến 16:30"}, headers={"HX-Request": "true"})
    assert reply.status_code == 200 and "Đã lưu thông báo" in reply.get_data(as_text=True)
    assert "Chiều thứ Sáu tiếp dân đến 16:30" in client.get("/display/main").get_data(as_text=True)
    board = {b["id"]: b for b in app.extensions["goiso"].hall.catalogue.boards()}["main"]
    assert board["queues"] == [] and board["name"] == "Màn hình sảnh chính"  # kept as it was
    supervisor_client.post("/admin/boards/main/notice", data={"notice": ""},
                           headers={"HX-Request": "true"})
    assert 'class="notice"' not in client.get("/display/main").get_data(as_text=True)
    assert supervisor_client.post("/admin/boards/nope/notice", data={"notice": "x"},
                                  headers={"HX-Request": "true"}).status_code == 404
    too_long = supervisor_client.post("/admin/boards/main/notice", data={"notice": "x" * 301},
                                      headers={"HX-Request": "true"})
    assert too_long.status_code == 400


def test_a_clerk_cannot_set_a_board_notice(clerk_client):
    assert clerk_client.post("/admin/boards/main/notice", data={"notice": "x"},
                             headers={"HX-Request": "true"}).status_code == 403


def test_devices_panel_says_when_configured_ports_are_not_open(other_app):
    from counter.config import BusConfig, DeviceConfig
    from tests.plugins.web import staff_client

    bus = BusConfig(port="/dev/ttyUSB9", devices=[DeviceConfig(1, "keypad", 1)])
    app = other_app(serial={"desk": bus})
    html = staff_client(app, "giamsat").get("/admin/").get_data(as_text=True)
    assert "chưa được mở trong tiến trình này" in html
