"""Hall screens speak the hall's language and show the hall's time, whatever the device asks
(issue 10, defects 1 and 2), through the Flask test client on a copy of the demo hall.

Hall screens: the kiosk, the board, the rating tablet and the ticket paper. They start in the
hall's ``default_language`` whatever the browser's Accept-Language (a Pi with an en-GB locale,
a headless browser); only a choice on the screen (``?lang=``) switches. Staff pages and the
citizen's phone page follow the browser.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from printer import TicketLayout
from printer.layout import blocks
from services import tickets
from tests.plugins.web import issue

ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}
VIETNAMESE = {"Accept-Language": "vi-VN,vi;q=0.9"}
HX = {"HX-Request": "true"}
HALL_SCREENS = ["/kiosk/k1", "/kiosk/", "/display/main", "/display/", "/rate/1"]
RATE_IDLE_VI = "Xin chào quý khách. Sau khi được phục vụ, xin mời đánh giá tại đây."
RATE_IDLE_EN = "Welcome. After your service, please rate it here."
RATE_QUESTION_EN = "satisfied"
HALL_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")  # the demo hall's zone (settings' default)


def lang_of(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True))[1]


def csrf_of(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html)[1]


# -- 1: which language ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", HALL_SCREENS)
def test_hall_screens_start_in_the_hall_language_whatever_the_browser_asks(client, path):
    assert lang_of(client.get(path, headers=ENGLISH)) == "vi"
    assert lang_of(client.get(path, headers=VIETNAMESE)) == "vi"


def test_the_kiosk_start_screen_is_vietnamese_for_an_english_browser(client):
    html = client.get("/kiosk/k1", headers=ENGLISH).text
    assert "Mời chọn lĩnh vực" in html and "Please choose a field" not in html
    assert 'data-lang="vi"' in html


def test_a_choice_on_the_kiosk_switches_and_lasts_until_the_hall_language_is_asked(client):
    html = client.get("/kiosk/k1?lang=en", headers=VIETNAMESE).text
    assert "Please choose a field" in html and '<html lang="en">' in html
    # The next screens (htmx fragments, no ?lang=) keep the citizen's choice…
    priority = client.get("/kiosk/k1/priority", headers={**HX, **VIETNAMESE}).text
    assert "Mời chọn" not in priority and "<html" not in priority
    assert lang_of(client.get("/kiosk/k1", headers=VIETNAMESE)) == "en"
    # …until the kiosk goes home in the hall's language (kiosk.js, when idle).
    assert 'data-home="/kiosk/k1?lang=vi"' in html
    assert lang_of(client.get("/kiosk/k1?lang=vi", headers=ENGLISH)) == "vi"
    assert lang_of(client.get("/kiosk/k1", headers=ENGLISH)) == "vi"


def test_staff_pages_follow_the_browser_the_phone_page_the_hall(app, client, clerk_client):
    assert lang_of(client.get("/login", headers=ENGLISH)) == "en"
    assert lang_of(client.get("/", headers=ENGLISH)) == "en"
    assert lang_of(clerk_client.get("/counter/1", headers=ENGLISH)) == "en"
    token = issue(client)["token"]
    # A phone set to English still reads the hall's language first; its button switches.
    phone = client.get(f"/t/{token}", headers=ENGLISH)
    assert lang_of(phone) == "vi" and "Trang này tự cập nhật" in phone.text
    english = client.get(f"/t/{token}?lang=en", headers=VIETNAMESE)
    assert lang_of(english) == "en" and "This page updates itself" in english.text


def test_a_hall_whose_language_is_english(other_app):
    client = other_app(default_language="en").test_client()
    for path in HALL_SCREENS:
        assert lang_of(client.get(path, headers=VIETNAMESE)) == "en", path
    assert 'data-home="/kiosk/k1?lang=en"' in client.get("/kiosk/k1").text
    assert lang_of(client.get("/kiosk/k1?lang=vi")) == "vi"


def test_a_board_speaks_the_hall_language_or_the_one_in_its_address(client):
    # A choice made on another screen of the same browser is that screen's, not the board's.
    client.get("/kiosk/k1?lang=en")
    board = client.get("/display/main", headers=ENGLISH)
    assert lang_of(board) == "vi" and "Vừa gọi" in board.text
    assert "Vừa gọi" in client.get("/display/main/live", headers={**HX, **ENGLISH}).text
    # A board set up in English says so in its address; its live part follows the address.
    english = client.get("/display/main?lang=en", headers=VIETNAMESE)
    assert lang_of(english) == "en" and "Just called" in english.text
    assert 'hx-get="/display/main/live?lang=en"' in english.text
    assert 'data-live="/display/main/live?lang=en"' in english.text
    assert "Just called" in client.get("/display/main/live?lang=en", headers=HX).text
    # Nothing of it is kept: the same board without the address's choice is Vietnamese.
    assert lang_of(client.get("/display/main", headers=ENGLISH)) == "vi"
    assert 'hx-get="/display/main/live"' in board.text


# -- the rating tablet: a choice for one citizen ------------------------------------------------

def finish(app, clerk_client) -> str:
    """Serve and finish one ticket at counter 1; its number."""
    number = issue(app.test_client())["number"]
    clerk_client.post("/api/v1/counters/1/next")
    clerk_client.post("/api/v1/counters/1/finish")
    return number


def test_the_rating_tablet_keeps_a_choice_for_one_citizen(app, client, clerk_client):
    # A citizen being served taps English: the screen stays English until their prompt…
    assert RATE_IDLE_EN in client.get("/rate/1?lang=en", headers=VIETNAMESE).text
    assert RATE_IDLE_EN in client.get("/rate/1", headers={**HX, **VIETNAMESE}).text
    finish(app, clerk_client)
    prompt = client.get("/rate/1", headers={**HX, **VIETNAMESE})
    assert RATE_QUESTION_EN in prompt.text and "HX-Refresh" not in prompt.headers
    # …they rate and are thanked in English…
    csrf = csrf_of(client.get("/rate/1").text)
    thanks = client.post("/rate/1", data={"level": "1"}, headers={**HX, "X-CSRFToken": csrf})
    assert "Thank you for your rating!" in thanks.text
    # …which stays up a few seconds (the page's live refresh must not reload it away)…
    assert "HX-Refresh" not in client.get("/rate/1", headers=HX).headers
    # …then the tablet goes back to the hall's language for whoever comes next.
    with client.session_transaction() as session:
        session["lang_until"] = time.time() - 1
    back = client.get("/rate/1", headers={**HX, **ENGLISH})
    assert back.headers.get("HX-Refresh") == "true"
    page = client.get("/rate/1", headers=ENGLISH)
    assert lang_of(page) == "vi" and RATE_IDLE_VI in page.text


def test_the_rating_tablet_drops_a_choice_when_the_next_citizen_comes(app, client, clerk_client):
    finish(app, clerk_client)
    assert lang_of(client.get("/rate/1?lang=en")) == "en"
    # That citizen walked away without rating; the clerk serves the next one.
    finish(app, clerk_client)
    assert client.get("/rate/1", headers=HX).headers.get("HX-Refresh") == "true"
    assert lang_of(client.get("/rate/1", headers=ENGLISH)) == "vi"


# -- the ticket paper ---------------------------------------------------------------------------

def printed_texts(app, token: str, request_path: str = "/kiosk/k1?lang=en") -> list[str]:
    """The texts of the ticket ``token`` as it prints, built while a screen asks in English."""
    runtime = app.extensions["goiso"]
    with app.test_request_context(request_path, headers=ENGLISH):
        facts = tickets.ticket_facts(runtime, runtime.hall.printing.sheet(token))
    top, bottom = blocks(facts, TicketLayout())
    return [block.text for block in top + bottom]


def test_the_paper_prints_in_the_hall_language(app, client):
    token = issue(client, priority="elderly")["token"]
    texts = printed_texts(app, token)
    assert "ƯU TIÊN: Người cao tuổi" in texts
    assert "SỐ THỨ TỰ" in texts  # the layout's texts are the hall's settings, as written


def test_a_hall_in_english_prints_english_words(other_app):
    app = other_app(default_language="en")
    token = issue(app.test_client(), priority="elderly")["token"]
    texts = printed_texts(app, token, "/kiosk/k1?lang=vi")
    assert "ƯU TIÊN: Elderly person" in texts
    assert "Quý khách vui lòng chờ đến lượt. Xin cảm ơn!" in texts


# -- 2: the hall's clock --------------------------------------------------------------------------

def clock_of(html: str) -> tuple[str, int]:
    """The time zone and the server's time (ms) a screen's clock was given."""
    found = re.search(r'id="clock"[^>]*data-zone="([^"]+)" data-now="(\d+)"', html)
    assert found, html[:2000]
    return found[1], int(found[2])


@pytest.mark.parametrize("path", ["/kiosk/k1", "/display/main"])
def test_screen_clocks_are_given_the_hall_zone_and_time(client, path):
    before = time.time() * 1000
    zone, now = clock_of(client.get(path).text)
    assert zone == "Asia/Ho_Chi_Minh"
    assert before - 1 <= now <= time.time() * 1000 + 1


def test_the_board_draws_the_hall_date_and_time_before_any_script(client):
    html = client.get("/display/main").text
    shown = re.search(r'id="clock"[^>]*>([^<]+)</div><div class="date" id="date">([^<]+)<', html)
    now = datetime.now(HALL_ZONE)
    expected = {(now - timedelta(minutes=m)).strftime("%H:%M %d/%m/%Y") for m in (0, 1)}
    assert f"{shown[1]} {shown[2]}" in expected
