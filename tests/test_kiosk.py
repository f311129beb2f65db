"""The kiosk screens through the Flask test client: a real SQLite file, real printers to a folder.

``printing`` starts the printers as ``goiso serve`` does
(``services.background.start_printers``); without it every printer reads "stopped", as in a
process that only called ``create_app``.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from itsdangerous import URLSafeSerializer

import settings
from display.voice import check_wav
from hall import errors
from hall.rules import PRIORITY_REASONS
from printer.connection import PrinterConfig
from services import readaloud
from services.readaloud import MAX_CHARS, spoken_parts
from tests.escpos_decode import QR, Cut, decode
from tests.plugins.printers import print_files, printers_running
from tests.plugins.waiting import wait_for
from tests.plugins.web import (
    DOI_GPLX,
    HX,
    csrf_of,
    local_links,
    new_key,
    row_count,
    sheet,
    tap,
)

FIELD_GPLX = "Giấy phép lái xe"
GPLX_CODES = [f"DEMO-GT-00{n}" for n in range(1, 7)]


# -- helpers ------------------------------------------------------------------------------------

def token_of(screen: str) -> str:
    """The ticket token on a ticket screen whose printing is pending (from its poll)."""
    return re.search(r'/tickets/([A-Za-z0-9_-]+)/printing"', screen)[1]


def ticket_on(app, screen: str) -> dict:
    """The ticket a ticket screen shows, as the hall has it now (found by its number)."""
    hall = app.extensions["goiso"].hall
    found = hall.tickets.find(re.search(r'data-number="([^"]+)"', screen)[1])
    return hall.printing.sheet(found["token"])


def printing_settled(client, token: str, kiosk: str = "k1") -> str:
    """Poll the ticket screen's printing fragment until it is no longer pending; returns it."""
    def settled():
        html = client.get(f"/kiosk/{kiosk}/tickets/{token}/printing", headers=HX).text
        return None if "printing pending" in html else html

    return wait_for(settled, "the ticket to print")


def buttons(html: str) -> dict[str, dict]:
    """The procedure buttons of a screen: code → the values a tap posts (hx-vals)."""
    found = re.findall(r'<button class="choice procedure"[^>]*?data-procedure="([^"]+)"'
                       r'[^>]*?hx-vals=\'([^\']+)\'', html, re.S)
    return {code: json.loads(vals) for code, vals in found}


def closed(html: str) -> dict[str, str]:
    """The greyed procedures of a screen: name → why."""
    return dict(re.findall(r'<div class="choice closed" role="note">\s*<span class="choice-name">'
                           r'([^<]+)</span>\s*<span class="choice-note">'
                           r'<span aria-hidden="true">✖</span> ([^<]+)</span>', html))


def field_id(app, name: str = FIELD_GPLX) -> int:
    fields = app.extensions["goiso"].hall.catalogue.fields()
    return next(f["id"] for f in fields if f["name"] == name)


def put_gplx(app, **changes) -> dict:
    """Change some settings of queue GPLX, keeping the others."""
    catalogue = app.extensions["goiso"].hall.catalogue
    queue = catalogue.queue("GPLX")
    kept = {k: v for k, v in queue.items() if k not in ("code", "counters")}
    return catalogue.put_queue("GPLX", **{**kept, **changes})


def closed_hours(app) -> tuple[str, str]:
    """An issuing window that does not contain the hall's time now."""
    hall = app.extensions["goiso"].hall
    now = hall.rules.local(hall.clock())
    return ("00:00", "00:30") if now.hour >= 1 else ("12:00", "12:30")


# -- fixtures ---------------------------------------------------------------------------------

@pytest.fixture
def kiosk_page(client) -> str:
    """The kiosk k1 start page, loaded in full as the kiosk browser loads it."""
    response = client.get("/kiosk/k1")
    assert response.status_code == 200 and response.mimetype == "text/html"
    return response.text


@pytest.fixture
def csrf(kiosk_page) -> str:
    """The form token of the kiosk page (its htmx requests send it as X-CSRFToken)."""
    return csrf_of(kiosk_page)


# -- choosing a kiosk, the page ---------------------------------------------------------------

def test_two_kiosks_are_offered_to_choose(client):
    response = client.get("/kiosk/")
    assert response.status_code == 200
    assert "Chọn ki-ốt" in response.text
    assert '<a class="button" href="/kiosk/k1">Ki-ốt sảnh chính (k1)</a>' in response.text
    assert '<a class="button" href="/kiosk/k2">Ki-ốt cửa phụ (k2)</a>' in response.text
    local_links(response.text)


def test_the_only_active_kiosk_opens_at_once_and_others_are_404(app, client):
    app.extensions["goiso"].hall.catalogue.put_kiosk("k2", name="Ki-ốt cửa phụ", active=False)
    response = client.get("/kiosk/")
    assert response.status_code == 302 and response.headers["Location"] == "/kiosk/k1"
    for path in ("/kiosk/k2", "/kiosk/k9", "/kiosk/k2/ping", "/kiosk/k9/search?q=gplx",
                 "/kiosk/k2/priority", "/kiosk/k2/banner"):
        assert client.get(path).status_code == 404, path
    csrf = csrf_of(client.get("/kiosk/k1").text)
    assert tap(client, csrf, kiosk="k2").status_code == 404
    assert row_count(app, "tickets") == 0


def test_kiosk_page_is_whole_and_self_contained(kiosk_page):
    assert '<html lang="vi">' in kiosk_page
    assert '<body class="kiosk"' in kiosk_page and 'id="screen"' in kiosk_page
    assert csrf_of(kiosk_page)
    assert '<script src="/static/vendor/htmx.min.js" defer></script>' in kiosk_page
    assert '<script src="/static/js/kiosk.js" defer></script>' in kiosk_page
    assert 'href="/kiosk/k1?lang=vi"' in kiosk_page and 'href="/kiosk/k1?lang=en"' in kiosk_page
    assert 'data-ping="/kiosk/k1/ping"' in kiosk_page
    assert 'data-screen="fields"' in kiosk_page and "Mời chọn lĩnh vực" in kiosk_page
    for name in (FIELD_GPLX, "Vận tải đường bộ", "Đường thủy nội địa"):
        assert f'<span class="choice-name">{name}</span>' in kiosk_page
    links = local_links(kiosk_page)
    assert "/static/css/kiosk.css" in links and "/kiosk/k1/search" in links


def test_a_field_with_one_procedure_is_its_button_at_the_start(kiosk_page):
    offered = buttons(kiosk_page)
    assert set(offered) == {"DEMO-GT-021", "DEMO-GT-022"}  # Trả kết quả, Hướng dẫn
    assert offered["DEMO-GT-021"]["procedure"] == "DEMO-GT-021"
    assert 'hx-post="/kiosk/k1/tickets"' in kiosk_page
    assert "Nhận kết quả giải quyết thủ tục hành chính" in kiosk_page
    assert "6 thủ tục" in kiosk_page and "8 thủ tục" in kiosk_page


def test_field_screen_lists_its_procedures_with_fresh_keys(app, client):
    path = f"/kiosk/k1/fields/{field_id(app)}"
    first = client.get(path, headers=HX)
    assert first.status_code == 200
    assert "<html" not in first.text and 'data-screen="procedures"' in first.text
    assert "Mời chọn thủ tục" in first.text and FIELD_GPLX in first.text
    assert "Quay lại" in first.text and "Làm lại từ đầu" in first.text
    offered = buttons(first.text)
    assert list(offered) == GPLX_CODES
    again = buttons(client.get(path, headers=HX).text)
    keys, keys_again = ({v["key"] for v in b.values()} for b in (offered, again))
    assert len(keys) == len(keys_again) == 6
    assert not keys & keys_again
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{8,64}", k) for k in keys | keys_again)
    # Reloading the same screen gives the whole page around it.
    assert "<html" in client.get(path).text
    # A field that is gone: back to the start.
    gone = client.get("/kiosk/k1/fields/999", headers=HX)
    assert gone.status_code == 302 and gone.headers["Location"] == "/kiosk/k1"


def test_a_hall_with_one_field_skips_the_field_step(app, client):
    catalogue = app.extensions["goiso"].hall.catalogue
    for proc in catalogue.procedures():
        if proc["field"] != FIELD_GPLX:
            catalogue.put_procedure(proc["code"], name=proc["name"], field=proc["field"],
                                    queue=proc["queue"]["code"], active=False)
    html = client.get("/kiosk/k1").text
    assert 'data-screen="procedures"' in html and 'data-screen="fields"' not in html
    assert "Mời chọn thủ tục" in html and f'<p class="subtitle">{FIELD_GPLX}</p>' in html
    assert list(buttons(html)) == GPLX_CODES
    assert "Tìm thủ tục" in html and "Quay lại" not in html  # the start screen has no way back


# -- issuing and printing ---------------------------------------------------------------------

def test_a_tap_shows_the_ticket_and_prints_it(app, client, csrf, printing):
    response = tap(client, csrf)
    assert response.status_code == 200
    screen = response.text
    assert "<html" not in screen and 'data-screen="ticket"' in screen
    assert '<p class="ticket-number" id="ticket-number">1001</p>' in screen
    assert DOI_GPLX in screen
    assert "Mời đến: Quầy 1, Quầy 2" in screen
    assert "Số người chờ trước: 0" in screen
    assert re.search(r'<img class="qr" src="data:image/svg\+xml[^"]+"', screen)
    token = token_of(screen)
    assert 'class="printing pending"' in screen and "Đang in vé…" in screen
    local_links(screen)

    done = printing_settled(client, token)
    assert 'class="printing ok"' in done and "Mời quý khách nhận vé ở khe bên dưới." in done
    ticket = sheet(app, token)
    assert (ticket["printed"], ticket["print_error"], ticket["kiosk"]) == (True, None, "k1")
    [job] = print_files(printing)
    assert len(print_files(printing, suffix=".png")) == 1
    assert print_files(printing, "k2") == []
    assert job.name.endswith("-1001.escpos")
    receipt = decode(job.read_bytes(), "TM-T20II")
    [qr] = receipt.ops_of(QR)
    assert qr.data.endswith(f"/t/{token}")
    assert len(receipt.ops_of(Cut)) == 1

    # The next one has somebody ahead.
    second = tap(client, csrf).text
    assert "ticket-number\">1002</p>" in second and "Số người chờ trước: 1" in second
    printing_settled(client, token_of(second))
    assert len(print_files(printing)) == 2


def test_the_ticket_screen_reloads_as_a_whole_page(client, csrf, printing):
    token = token_of(tap(client, csrf).text)
    page = client.get(f"/kiosk/k1/tickets/{token}")
    assert page.status_code == 200 and "<html" in page.text and "1001" in page.text
    local_links(page.text)
    assert client.get("/kiosk/k1/tickets/nope/printing").status_code == 404
    assert client.get("/kiosk/k1/tickets/nope").status_code == 404


def test_the_same_key_is_one_ticket_printed_once(app, client, csrf, printing):
    key = new_key()
    first = tap(client, csrf, key=key)
    double = tap(client, csrf, key=key)  # a double tap, while the first is still printing
    assert first.status_code == double.status_code == 200
    token = token_of(first.text)
    assert token_of(double.text) == token
    printing_settled(client, token)
    retry = tap(client, csrf, key=key)  # the browser's retry after a network blip
    assert 'data-number="1001"' in retry.text
    assert "Mời quý khách nhận vé" in retry.text  # the retry knows it printed already
    assert row_count(app, "tickets") == 1
    assert app.extensions["goiso"].printers.spoolers["k1"].waiting == 0
    assert len(print_files(printing)) == 1


def test_two_requests_with_one_key_at_the_same_moment_are_one_ticket(app, client, csrf,
                                                                     printing):
    # Two connections, one session: the tap and its retry racing each other.
    twin = app.test_client()
    twin.set_cookie("goiso_session", client.get_cookie("goiso_session").value)
    key, start, screens = new_key(), threading.Barrier(2), {}

    def send(name, who):
        start.wait()
        screens[name] = tap(who, csrf, key=key)

    threads = [threading.Thread(target=send, args=pair) for pair in
               (("first", client), ("second", twin))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert [r.status_code for r in screens.values()] == [200, 200]
    assert all('data-number="1001"' in r.text for r in screens.values())
    printing_settled(client, ticket_on(app, screens["first"].text)["token"])
    assert row_count(app, "tickets") == 1
    assert app.extensions["goiso"].printers.spoolers["k1"].waiting == 0
    assert len(print_files(printing)) == 1


def test_different_keys_are_different_tickets(app, client, csrf, printing):
    tokens = [token_of(tap(client, csrf).text) for _ in range(2)]
    assert tokens[0] != tokens[1]
    assert [sheet(app, t)["number"] for t in tokens] == ["1001", "1002"]
    for token in tokens:
        printing_settled(client, token)
    assert len(print_files(printing)) == 2


@pytest.mark.parametrize("form", [
    {"procedure": "DEMO-GT-001", "key": "short"},
    {"procedure": "DEMO-GT-001", "key": "x" * 65},
    {"procedure": "DEMO-GT-001", "key": "has space 123"},
    {"procedure": "DEMO-GT-001", "key": "ab/cd.ef;gh"},
    {"procedure": "DEMO-GT-001", "key": "bàn-phím-việt"},
    {"procedure": "DEMO-GT-001"},
    {"key": "abcdefgh1234"},
    {"procedure": "", "key": "abcdefgh1234"},
], ids=["short", "long", "space", "punctuation", "accents", "no-key", "no-procedure", "empty"])
def test_bad_taps_are_refused(app, client, csrf, printing, form):
    response = client.post("/kiosk/k1/tickets", data=form, headers={**HX, "X-CSRFToken": csrf})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert 'data-screen="refused"' in response.text and "Chưa cấp được số" in response.text
    assert "Yêu cầu không hợp lệ. Xin vui lòng chọn lại thủ tục." in response.text
    assert "Làm lại từ đầu" in response.text
    assert row_count(app, "tickets") == 0


def test_a_tap_without_the_form_token_is_refused(app, client, kiosk_page, printing):
    response = client.post("/kiosk/k1/tickets", headers=HX,
                           data={"procedure": "DEMO-GT-001", "key": new_key()})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf_failed"
    assert row_count(app, "tickets") == 0


def test_unknown_or_withdrawn_procedures_are_refused(app, client, csrf, printing):
    unknown = tap(client, csrf, procedure="DEMO-XX-999")
    assert unknown.status_code == 404 and 'data-screen="refused"' in unknown.text
    assert "Không có thủ tục mã DEMO-XX-999." in unknown.text
    catalogue = app.extensions["goiso"].hall.catalogue
    catalogue.put_procedure("DEMO-GT-002", name="Cấp lại giấy phép lái xe", field=FIELD_GPLX,
                            queue="GPLX", active=False)
    withdrawn = tap(client, csrf, procedure="DEMO-GT-002")
    assert withdrawn.status_code == 409
    assert "Thủ tục DEMO-GT-002 hiện không nhận hồ sơ." in withdrawn.text
    assert row_count(app, "tickets") == 0
    assert print_files(printing) == []


def test_priority_is_carried_from_the_priority_screen(app, client, csrf, printing):
    kiosk_page = client.get("/kiosk/k1").text
    assert 'hx-get="/kiosk/k1/priority"' in kiosk_page
    screen = client.get("/kiosk/k1/priority", headers=HX).text
    assert 'data-screen="priority"' in screen
    for reason in PRIORITY_REASONS:
        assert f'hx-get="/kiosk/k1?priority={reason}"' in screen
    assert "Người cao tuổi" in screen

    start = client.get("/kiosk/k1?priority=elderly", headers=HX).text
    assert "Ưu tiên: <strong>Người cao tuổi</strong>" in start
    assert "Tôi thuộc diện ưu tiên" not in start
    assert buttons(start)["DEMO-GT-021"]["priority"] == "elderly"
    field_link = f"/kiosk/k1/fields/{field_id(app)}?priority=elderly"
    assert f'hx-get="{field_link}"' in start
    chosen = buttons(client.get(field_link, headers=HX).text)["DEMO-GT-001"]
    assert chosen["priority"] == "elderly"

    response = client.post("/kiosk/k1/tickets", data=chosen,
                           headers={**HX, "X-CSRFToken": csrf})
    assert response.status_code == 200
    assert "Ưu tiên: Người cao tuổi" in response.text
    assert sheet(app, token_of(response.text))["priority"] == "elderly"


def test_a_made_up_priority_is_ignored(app, client, csrf, printing):
    response = tap(client, csrf, priority="vip")
    assert response.status_code == 200 and "Ưu tiên" not in response.text
    assert sheet(app, token_of(response.text))["priority"] is None
    assert "Ưu tiên" not in client.get("/kiosk/k1?priority=vip", headers=HX).text


def test_outside_issuing_hours_the_procedures_are_greyed_and_refused(app, client, csrf,
                                                                     printing):
    opens, closes = closed_hours(app)
    queue = put_gplx(app, issue_from=opens, issue_until=closes)
    assert (queue["number_format"], queue["block"], queue["counters"]) == ("block", 1, [1, 2])
    screen = client.get(f"/kiosk/k1/fields/{field_id(app)}", headers=HX).text
    assert buttons(screen) == {} and "hx-post" not in screen
    greyed = closed(screen)
    assert len(greyed) == 6
    why = greyed[DOI_GPLX]
    # It says when to come back.
    assert why.startswith("Hàng đợi Giấy phép lái xe") and "Mời quý khách quay lại" in why
    assert opens in why
    start = client.get("/kiosk/k1", headers=HX).text
    assert re.search(r'class="choice field" type="button" aria-disabled="true"', start)

    forged = tap(client, csrf)
    assert forged.status_code == 409 and 'data-screen="refused"' in forged.text
    assert f'<p class="big">{why}</p>' in forged.text
    assert row_count(app, "tickets") == 0
    # Other queues still issue.
    assert tap(client, csrf, procedure="DEMO-GT-007").status_code == 200


def test_when_the_daily_limit_is_reached_the_procedures_are_greyed_and_refused(app, client,
                                                                               csrf, printing):
    put_gplx(app, daily_limit=1)
    assert tap(client, csrf).status_code == 200
    screen = client.get(f"/kiosk/k1/fields/{field_id(app)}", headers=HX).text
    assert buttons(screen) == {}
    why = closed(screen)[DOI_GPLX]
    assert why.startswith("Hàng đợi Giấy phép lái xe đã hết số hôm nay (tối đa 1 số).")
    forged = tap(client, csrf, procedure="DEMO-GT-002")
    assert forged.status_code == 409 and f'<p class="big">{why}</p>' in forged.text
    assert row_count(app, "tickets") == 1


# -- when the printer is not ready ------------------------------------------------------------

def test_a_stopped_printer_refuses_new_tickets(app, client, csrf):
    response = tap(client, csrf)
    assert response.status_code == 503 and 'data-screen="refused"' in response.text
    assert "Máy in Ki-ốt sảnh chính chưa sẵn sàng: Dịch vụ in chưa chạy" in response.text
    assert row_count(app, "tickets") == 0
    english = tap(client, csrf_of(client.get("/kiosk/k1?lang=en").text))
    assert english.status_code == 503
    assert "Printer Ki-ốt sảnh chính is not ready: Printing is not running" in english.text


def test_screen_tickets_while_the_printer_is_stopped(other_app):
    app = other_app(kiosk=settings.KioskOptions(printer_down="screen"))
    client = app.test_client()
    page = client.get("/kiosk/k1").text
    assert "số thứ tự sẽ hiện trên màn hình" in page
    response = tap(client, csrf_of(page))
    assert response.status_code == 200 and "1001" in response.text
    assert 'class="printing failed"' in response.text and "Chưa in được vé." in response.text
    assert 'src="data:image/svg+xml' in response.text
    ticket = ticket_on(app, response.text)
    assert ticket["printed"] is False
    assert ticket["print_error"] == "vé trên màn hình: Dịch vụ in chưa chạy"
    # Read aloud, it says the number and that the ticket was not printed.
    _, lines = spoken_lines(app, readings(response.text)[-1])
    assert lines[0] == "Số thứ tự của quý khách: một nghìn không trăm linh một"
    assert "Chưa in được vé." in lines
    unprinted = app.extensions["goiso"].hall.printing.unprinted()
    assert [t["number"] for t in unprinted] == ["1001"]
    assert not (Path(app.extensions["goiso"].settings.data_dir) / "tickets" / "k1").exists()


@pytest.mark.parametrize("printer_down", ["refuse", "screen"])
def test_a_kiosk_without_a_printer(other_app, printer_down):
    app = other_app(kiosk=settings.KioskOptions(printer_down=printer_down),
                    printers={"k1": PrinterConfig(connection="none")})
    client = app.test_client()
    with printers_running(app):
        assert client.get("/kiosk/k1/ping").get_json() == {
            "ok": True, "printer": {"state": "unreachable", "ready": False}}
        response = tap(client, csrf_of(client.get("/kiosk/k1").text))
    if printer_down == "refuse":
        assert response.status_code == 503
        assert "chưa sẵn sàng: Không kết nối được máy in" in response.text
        assert row_count(app, "tickets") == 0
    else:
        assert response.status_code == 200 and "Chưa in được vé." in response.text
        ticket = ticket_on(app, response.text)
        assert ticket["printed"] is False
        assert ticket["print_error"] == "vé trên màn hình: Không kết nối được máy in"


# -- search, language, heartbeat --------------------------------------------------------------

def test_search_finds_procedures_without_accents(client):
    found = client.get("/kiosk/k1/search?q=doi+gplx", headers={**HX, "HX-Target": "results"})
    assert found.status_code == 200 and "<section" not in found.text
    assert next(iter(buttons(found.text))) == "DEMO-GT-001"
    assert set(buttons(found.text)) <= set(GPLX_CODES)
    empty = client.get("/kiosk/k1/search?q=++", headers={**HX, "HX-Target": "results"})
    assert empty.status_code == 200 and empty.text.strip() == ""
    nothing = client.get("/kiosk/k1/search?q=zzzqqq", headers={**HX, "HX-Target": "results"})
    assert buttons(nothing.text) == {}
    assert "Không tìm thấy thủ tục nào cho “zzzqqq”" in nothing.text
    taxi = buttons(client.get("/kiosk/k1/search?q=phu+hieu+taxi&priority=elderly",
                              headers={**HX, "HX-Target": "results"}).text)
    assert next(iter(taxi)) == "DEMO-GT-009" and taxi["DEMO-GT-009"]["priority"] == "elderly"


def test_the_search_page_has_the_on_screen_keyboard(client):
    page = client.get("/kiosk/k1/search")
    assert page.status_code == 200 and "<html" in page.text
    assert 'data-screen="search"' in page.text and 'class="keyboard" data-for="query"' in page.text
    assert 'id="query" name="q"' in page.text and 'inputmode="none"' in page.text
    for key in ("a", "q", "0", "back", "clear", " "):
        assert f'data-key="{key}"' in page.text
    assert buttons(page.text) == {}
    local_links(page.text)
    with_query = client.get("/kiosk/k1/search?q=doi+gplx", headers=HX).text
    assert "<html" not in with_query and 'value="doi gplx"' in with_query
    assert "DEMO-GT-001" in buttons(with_query)


def test_language_switch(client):
    english = client.get("/kiosk/k1?lang=en").text
    assert '<html lang="en">' in english and "Please choose a field" in english
    assert '<a class="lang on" href="/kiosk/k1?lang=en"' in english
    assert "Mời chọn lĩnh vực" not in english
    assert "Please choose a field" in client.get("/kiosk/k1", headers=HX).text  # remembered
    assert "Find a procedure" in client.get("/kiosk/k1/search").text
    vietnamese = client.get("/kiosk/k1?lang=vi").text
    assert '<html lang="vi">' in vietnamese and "Mời chọn lĩnh vực" in vietnamese


def test_english_ticket_screen(client, printing):
    csrf = csrf_of(client.get("/kiosk/k1?lang=en").text)
    screen = tap(client, csrf).text
    assert "YOUR NUMBER" in screen and "People ahead of you: 0" in screen
    assert "Please take your ticket" in printing_settled(client, token_of(screen))


def test_ping_says_whether_the_printer_is_ready(app, client):
    assert client.get("/kiosk/k1/ping").get_json() == {
        "ok": True, "printer": {"state": "stopped", "ready": False}}
    with printers_running(app):
        assert client.get("/kiosk/k1/ping").get_json() == {
            "ok": True, "printer": {"state": "ready", "ready": True}}


def test_banner_warns_only_while_the_printer_is_not_ready(app, client):
    down = client.get("/kiosk/k1/banner", headers=HX).text
    assert 'class="banner banner-warn"' in down
    assert "Ki-ốt tạm ngừng cấp số: Dịch vụ in chưa chạy." in down
    with printers_running(app):
        up = client.get("/kiosk/k1/banner", headers=HX).text
        assert "banner-warn" not in up
        assert re.sub(r"<[^>]+>", "", up).strip() == ""
        assert "banner-warn" not in client.get("/kiosk/k1").text


# -- read aloud ---------------------------------------------------------------------------------

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
READ_URL = re.compile(r'data-read="([^"]+)"')


def readings(html: str) -> list[str]:
    """The read-aloud addresses a screen carries (the last one is what the button reads)."""
    return [url.replace("&amp;", "&") for url in READ_URL.findall(html)]


def spoken_lines(app, url: str) -> tuple[set[str], list[str]]:
    """(the languages of the screen's own words, every line) a read-aloud address asks for,
    unsigned with the app's key; the hall's names are checked to be said in Vietnamese."""
    blob = parse_qs(urlsplit(url).query)["s"][0]
    pairs = URLSafeSerializer(app.secret_key, salt="kiosk-read-aloud").loads(blob)
    catalogue = app.extensions["goiso"].hall.catalogue
    names = {n["name"] for n in catalogue.procedures() + catalogue.fields()}
    for text, language in pairs:
        if text in names:
            assert language == "vi", (text, language)
    return {language for text, language in pairs if text not in names}, [t for t, _ in pairs]


def assert_real_wav(response) -> float:
    """A 200 WAV reply that is real audio: RIFF/WAVE, PCM, more than half a second. Its length."""
    assert response.status_code == 200, response.text[:300]
    assert response.mimetype == "audio/wav"
    data = response.get_data()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", data[:16]
    assert len(data) > 20_000, len(data)
    with tempfile.NamedTemporaryFile(suffix=".wav") as copy:
        copy.write(data)
        copy.flush()
        info = check_wav(copy.name)
    assert info.duration > 0.5, info
    samples = data[44:44 + 20_000]
    assert len(set(samples)) > 50  # not silence
    return info.duration


def screens(client, csrf) -> dict[str, str]:
    """Every kind of kiosk screen, as the kiosk gets it (htmx fragments)."""
    shown = {
        "fields": client.get("/kiosk/k1", headers=HX).text,
        "procedures": client.get("/kiosk/k1/fields/1", headers=HX).text,
        "priority": client.get("/kiosk/k1/priority", headers=HX).text,
        "search": client.get("/kiosk/k1/search", headers=HX).text,
        "results": client.get("/kiosk/k1/search?q=doi+gplx",
                              headers={**HX, "HX-Target": "results"}).text,
        "no results": client.get("/kiosk/k1/search?q=zzzqqq",
                                 headers={**HX, "HX-Target": "results"}).text,
        "refused": tap(client, csrf, procedure="NO-SUCH").text,
    }
    return shown


@needs_espeak
def test_every_screen_reads_aloud_as_real_audio(app, client, csrf, printing):
    shown = screens(client, csrf)
    shown["ticket"] = tap(client, csrf).text
    for name, html in shown.items():
        urls = readings(html)
        assert urls, f"the {name} screen has no reading"
        assert_real_wav(client.get(urls[-1]))

    # What is read: the title and every choice of the screen, in its language.
    languages, lines = spoken_lines(app, readings(shown["procedures"])[-1])
    assert languages == {"vi"} and lines[0] == "Mời chọn thủ tục" and lines[1] == FIELD_GPLX
    assert DOI_GPLX in lines and lines[-2:] == ["Quay lại", "Làm lại từ đầu"]
    _, lines = spoken_lines(app, readings(shown["fields"])[-1])
    assert lines[0] == "Mời chọn lĩnh vực" and FIELD_GPLX in lines
    assert lines[-2:] == ["Tìm thủ tục", "Tôi thuộc diện ưu tiên"]
    _, lines = spoken_lines(app, readings(shown["results"])[-1])
    assert lines[0] == "Tìm thủ tục" and re.fullmatch(r"Tìm thấy \d+ thủ tục", lines[1])
    assert lines[2] == DOI_GPLX
    _, lines = spoken_lines(app, readings(shown["no results"])[-1])
    assert "Không tìm thấy thủ tục nào" in lines[1]
    _, lines = spoken_lines(app, readings(shown["refused"])[-1])
    assert lines[0] == "Chưa cấp được số" and "NO-SUCH" in lines[1]
    # The ticket: its number in words, as the board says it, and where to go.
    number = re.search(r'data-number="([^"]+)"', shown["ticket"])[1]
    _, lines = spoken_lines(app, readings(shown["ticket"])[-1])
    assert number == "1001"
    assert lines[0] == "Số thứ tự của quý khách: một nghìn không trăm linh một"
    assert DOI_GPLX in lines and any(line.startswith("Mời đến:") for line in lines)

    # English screens are read in English, with espeak-ng's English voice.
    client.get("/kiosk/k1?lang=en")
    english = readings(client.get("/kiosk/k1/priority", headers=HX).text)[-1]
    assert spoken_lines(app, english)[0] == {"en"}
    assert spoken_lines(app, english)[1][0] == "Priority"
    # On an English screen the hall's Vietnamese names keep the Vietnamese voice: one reading,
    # two voices joined.
    field = readings(client.get("/kiosk/k1/fields/1", headers=HX).text)[-1]
    languages, lines = spoken_lines(app, field)
    assert languages == {"en"} and lines[0] == "Please choose a procedure" and DOI_GPLX in lines
    mixed = assert_real_wav(client.get(field))
    assert mixed > 5
    assert_real_wav(client.get(english))


@needs_espeak
def test_read_aloud_is_cached_and_speaks_only_what_a_screen_signed(app, client):
    url = readings(client.get("/kiosk/k1/priority", headers=HX).text)[-1]
    first = client.get(url)
    assert_real_wav(first)
    assert first.cache_control.max_age == 3600
    folder = Path(app.extensions["goiso"].settings.data_dir) / "audio" / "screens"
    made = sorted(folder.glob("speech-*.wav"))
    assert len(made) == 1
    stamp = made[0].stat().st_mtime_ns
    assert client.get(url).get_data() == first.get_data()
    assert made[0].stat().st_mtime_ns == stamp  # taken from the cache, not made again

    # Anything not signed by this hall (or changed, or too long) is refused: no free speech.
    forged = URLSafeSerializer("not the hall's key", salt="kiosk-read-aloud").dumps(
        ["vi", ["Xin chào"]])
    for bad in (f"/kiosk/k1/read?s={forged}", "/kiosk/k1/read", "/kiosk/k1/read?s=abc",
                url[:-3] + "xyz", "/kiosk/k1/read?s=" + "a" * 9000):
        assert client.get(bad).status_code == 400, bad
    assert client.get(url.replace("/k1/", "/nope/")).status_code == 404
    assert sorted(folder.glob("speech-*.wav")) == made


def test_read_aloud_length_is_bounded_and_runs_of_a_language_are_one_part():
    lines = [(f"Thủ tục số {n} có một cái tên khá dài để đọc", "vi") for n in range(200)]
    parts = spoken_parts(lines)
    assert len(parts) == 1 and parts[0][1] == "vi"
    assert 0.8 * MAX_CHARS < len(parts[0][0]) <= MAX_CHARS
    assert parts[0][0].endswith(".") and parts[0][0].startswith("Thủ tục số 0 có")
    assert len(spoken_parts([("chữ " * 1000, "vi")])[0][0]) <= MAX_CHARS
    assert spoken_parts([("  ", "vi"), ("", "en")]) == []
    assert spoken_parts([("Choose", "en"), ("Đổi giấy phép", "vi"), ("Cấp lại", "vi"),
                         ("Back", "en")]) == [("Choose.", "en"), ("Đổi giấy phép. Cấp lại.", "vi"),
                                              ("Back.", "en")]


@needs_espeak
def test_read_aloud_limits_new_phrases_per_address(app, client, csrf, monkeypatch):
    monkeypatch.setattr(readaloud, "FRESH_PER_ADDRESS", 2)
    urls = [readings(client.get(path, headers=HX).text)[-1]
            for path in ("/kiosk/k1/priority", "/kiosk/k1", "/kiosk/k1/fields/1")]
    assert client.get(urls[0]).status_code == 200
    assert client.get(urls[1]).status_code == 200
    refused = client.get(urls[2])
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "read_aloud_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # What was already read costs nothing: still there for the same address.
    assert client.get(urls[0]).status_code == 200
    # Another address has its own count.
    other = client.get(urls[2], environ_overrides={"REMOTE_ADDR": "10.0.0.7"})
    assert other.status_code == 200


@needs_espeak
def test_read_aloud_limit_is_a_sliding_minute(app, monkeypatch):
    monkeypatch.setattr(readaloud, "FRESH_PER_ADDRESS", 1)
    now = [1000.0]
    reader = readaloud.Reader(clock=lambda: now[0])
    runtime = app.extensions["goiso"]
    first = reader.audio(runtime, [("Một", "vi")], "10.0.0.1")
    with pytest.raises(errors.ReadAloudLimited) as refused:
        reader.audio(runtime, [("Hai", "vi")], "10.0.0.1")
    assert refused.value.params["seconds"] == 60
    assert reader.audio(runtime, [("Một", "vi")], "10.0.0.1") == first  # made: never refused
    now[0] += 30
    with pytest.raises(errors.ReadAloudLimited) as refused:
        reader.audio(runtime, [("Hai", "vi")], "10.0.0.1")
    assert refused.value.params["seconds"] == 30
    now[0] += 31
    assert check_wav(reader.audio(runtime, [("Hai", "vi")], "10.0.0.1")).duration > 0.2
