"""The ticket's page on its holder's phone, /t/<token>: what it shows in every state, in which
language and time zone, its rating, its expiry, and what a stranger's guess gets."""

import json
import re
import secrets
import time

import pytest

from hall.rules import Rules
from tests.plugins.web import DOI_GPLX, issue_in_hall, local_links

PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
           "X-Robots-Tag": "noindex"}


@pytest.fixture
def hall(app):
    """The app's hall."""
    return app.extensions["goiso"].hall


@pytest.fixture
def token(app) -> str:
    """The token of ticket 1001 (DEMO-GT-001), the first of the day."""
    return issue_in_hall(app, kiosk="k1")["token"]


def status_of(client, token: str, lang: str = "vi") -> dict:
    response = client.get(f"/t/{token}/status?lang={lang}")
    assert response.status_code == 200, response.text
    return response.get_json()


def text_of(html: str) -> str:
    """The words of an HTML fragment, tags dropped, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_a_waiting_ticket(client, token):
    response = client.get(f"/t/{token}")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.text
    assert '<html lang="vi">' in html
    assert "<title>Số 1001 · 0 người phía trước</title>" in html
    assert '<span class="number">1001</span>' in html and "<h1>" in html
    assert DOI_GPLX in html and "Giấy phép lái xe" in html
    words = text_of(html)
    assert "Đang chờ" in words and "Số người chờ trước bạn: 0" in words
    assert "Sẽ được gọi tại: Quầy 1, Quầy 2" in words
    # Light: its own small script and style, no htmx, and a refresh for phones without script.
    assert "htmx" not in html and "/static/js/phone.js" in html
    assert "/static/css/phone.css" in html and "/static/css/goiso.css" not in html
    assert '<noscript><meta http-equiv="refresh" content="30"></noscript>' in html
    # Zoom stays allowed.
    assert "user-scalable" not in html and "maximum-scale" not in html
    local_links(html)


def test_no_cookie_is_set_or_needed(client, token):
    for path in (f"/t/{token}", f"/t/{token}/status", f"/t/{token}?lang=en", "/t/nope"):
        response = client.get(path)
        assert "Set-Cookie" not in response.headers, path
    assert "csrf" not in client.get(f"/t/{token}").text.lower()


def test_the_token_stays_private(client, token):
    for path in (f"/t/{token}", f"/t/{token}/status", "/t/nope"):
        response = client.get(path)
        for name, value in PRIVATE.items():
            assert response.headers[name] == value, (path, name)


def test_vietnamese_first_even_to_an_english_phone(client, token):
    html = client.get(f"/t/{token}", headers={"Accept-Language": "en-US,en;q=0.9"}).text
    assert '<html lang="vi">' in html and "Đang chờ" in html
    assert '<a href="?lang=en" hreflang="en" lang="en">English</a>' in html


def test_english_by_the_button(app, client, token, hall):
    html = client.get(f"/t/{token}?lang=en").text
    assert '<html lang="en">' in html and "Waiting" in html
    assert "People ahead of you: 0" in html
    assert '<a href="?lang=vi" hreflang="vi" lang="vi">Tiếng Việt</a>' in html
    assert DOI_GPLX in html  # procedure names are data
    # The live parts keep the language the page was opened in.
    assert 'data-status-url="/t/' + token + '/status?lang=en"' in html
    assert 'data-events-url="/t/' + token + '/events?lang=en"' in html
    hall.calling.call_next(1)
    assert "Please go to Quầy 1" in status_of(client, token, "en")["html"]


def test_times_in_the_halls_time_zone(client, token, hall):
    issued = hall.tickets.ticket(token)["issued_at"]  # ISO with the hall's offset
    assert issued.endswith("+07:00")
    assert f"Cấp lúc {issued[11:16]}." in client.get(f"/t/{token}").text


def test_people_ahead_priority_and_the_wait(app, client, token, hall):
    elderly = issue_in_hall(app, "DEMO-GT-002", kiosk="k1", priority="elderly")
    last = issue_in_hall(app, "DEMO-GT-003", kiosk="k1")
    found = status_of(client, last["token"])
    assert found["ahead"] == 2 and "Số người chờ trước bạn: 2" in found["html"]
    assert re.search(r"Chờ khoảng \d+(–\d+)? phút|Sắp đến lượt", found["html"])
    assert found["title"] == f"Số {last['number']} · 2 người phía trước"
    assert "Ưu tiên: Người cao tuổi" in client.get(f"/t/{elderly['token']}").text


def test_called_recalled_no_show_and_reactivated(client, token, hall):
    hall.calling.call_next(1)
    called = status_of(client, token)
    assert called["status"] == "called" and called["counter"] == "Quầy 1"
    assert called["title"] == "Mời đến Quầy 1 · số 1001"
    assert '<div class="called" role="alert">' in called["html"]
    assert "Mời bạn đến Quầy 1" in called["html"] and "Gọi lúc" in called["html"]
    assert "Số người chờ trước bạn" not in called["html"]
    hall.calling.recall(1)
    recalled = status_of(client, token)
    assert recalled["recalls"] == 1 and "gọi lại lần 1" in recalled["html"]
    hall.calling.no_show(1)
    gone = status_of(client, token)
    at = hall.tickets.ticket(token)["called_at"][11:16]
    assert gone["status"] == "no_show" and not gone["final"]
    assert f"Bạn đã được gọi lúc {at} nhưng không có mặt." in gone["html"]
    assert "Hãy đến quầy và đề nghị cán bộ kích hoạt lại số của bạn." in gone["html"]
    hall.calling.reactivate("1001")
    assert status_of(client, token)["status"] == "waiting"


def test_a_transfer_shows_the_new_queue_and_place(app, client, token, hall):
    issue_in_hall(app, "DEMO-GT-002", kiosk="k1")
    hall.calling.call_next(1)
    hall.calling.transfer(1, queue="VT")
    found = status_of(client, token)
    assert found["status"] == "waiting" and found["ahead"] == 0
    assert "Vé đã được chuyển từ Giấy phép lái xe sang Vận tải đường bộ." in found["html"]
    assert "Sẽ được gọi tại: Quầy 2, Quầy 3, Quầy 4" in found["html"]


def test_finished_then_rated_once_from_the_phone(client, token, hall):
    hall.calling.call_next(1)
    hall.calling.finish(1)
    done = status_of(client, token)
    assert done["status"] == "done" and done["final"] and done["rateable"]
    assert "Bạn có hài lòng với lượt phục vụ này không?" in done["html"]
    assert done["html"].count("data-level=") == 3
    rated = client.post(f"/t/{token}/rating", json={"level": 2})
    assert rated.status_code == 200, rated.text
    assert not rated.get_json()["rateable"]
    assert "Cảm ơn bạn đã đánh giá: Hài lòng." in rated.get_json()["html"]
    again = client.post(f"/t/{token}/rating", json={"level": 1})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_rated"
    summary = hall.ratings.summary()
    assert summary["total"] == 1 and summary["levels"][1]["count"] == 1
    events = hall.log.since(0, 1000)
    assert [e.data["source"] for e in events if e.kind == "rated"] == ["phone"]


def test_a_rating_needs_a_served_ticket_and_a_good_level(client, token, hall):
    early = client.post(f"/t/{token}/rating", json={"level": 1})
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "not_rateable"
    hall.calling.call_next(1)
    hall.calling.finish(1)
    for body in ({"level": 0}, {"level": 4}, {"level": "1"}, {"level": True}, {}, []):
        response = client.post(f"/t/{token}/rating", json=body)
        assert response.status_code == 400, body
    form = client.post(f"/t/{token}/rating", data={"level": "1"})
    assert form.status_code == 415  # a form could come from another site: JSON only
    assert client.post("/t/nope/rating", json={"level": 1}).status_code == 404
    assert hall.ratings.summary()["total"] == 0


def test_halls_that_rate_only_at_the_counter(other_app, demo_db):
    app = other_app(rules=Rules(rate_on_phone=False))
    client = app.test_client()
    found = issue_in_hall(app, kiosk="k1")
    hall = app.extensions["goiso"].hall
    hall.calling.call_next(1)
    hall.calling.finish(1)
    done = client.get(f"/t/{found['token']}/status").get_json()
    assert not done["rateable"] and "data-level" not in done["html"]
    assert "Cảm ơn bạn." in done["html"]
    refused = client.post(f"/t/{found['token']}/rating", json={"level": 1})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "phone_rating_off"


def test_the_ticket_expires_with_its_day_without_any_write(client, token, hall):
    """The day ends on the clock: no change has closed yesterday's tickets yet, and still the
    page says the ticket is over and shows nothing of it."""
    hall.tx.clock = lambda: time.time() + 86_400
    page = client.get(f"/t/{token}")
    assert page.status_code == 410
    words = text_of(page.text)
    assert "Vé không còn hiệu lực" in words and "đã hết hạn" in words
    assert "1001" not in page.text and DOI_GPLX not in page.text
    assert "phone.js" not in page.text  # nothing left to follow
    for name, value in PRIVATE.items():
        assert page.headers[name] == value
    gone = client.get(f"/t/{token}/status")
    assert gone.status_code == 410 and gone.get_json()["status"] == "gone"
    assert gone.get_json()["final"] and gone.get_json()["number"] is None
    assert client.get(f"/t/{token}/events").status_code == 410
    assert client.get(f"/t/{token}?lang=en").text.count("This ticket") >= 1


@pytest.mark.parametrize("path", ["/t/nope", "/t/" + "a" * 65, "/t/", "/t/%00", "/t/../admin"])
def test_unknown_tokens_are_404(client, token, path):
    assert client.get(path).status_code == 404


def test_guessing_tokens_gets_nothing(app, client, token):
    """200 random tokens of the right shape: each a 404 with the same body, naming no ticket,
    and the real token has 128 random bits."""
    for _ in range(5):
        issue_in_hall(app, kiosk="k1")
    bodies = set()
    for _ in range(200):
        guess = secrets.token_urlsafe(16)
        for path in (f"/t/{guess}", f"/t/{guess}/status", f"/t/{guess}/events"):
            response = client.get(path)
            assert response.status_code == 404, path
            bodies.add(response.text.replace(guess, "TOKEN"))
    assert len(bodies) == 2  # the page, and the JSON of the status and the stream
    assert not any(re.search(r"\b100\d\b", body) for body in bodies)
    assert len(token) == 22 and re.fullmatch(r"[A-Za-z0-9_-]{22}", token)
    # Near-misses of a real token are as unknown as any other guess.
    for near in (token[:-1], token.upper(), token + "A", token[1:] + token[0]):
        if near != token:
            assert client.get(f"/t/{near}/status").status_code == 404


def test_a_ticket_reveals_only_itself(app, client, token):
    other = issue_in_hall(app, "DEMO-GT-002", kiosk="k1")
    found = status_of(client, token)
    blob = json.dumps(found, ensure_ascii=False) + client.get(f"/t/{token}").text
    assert other["number"] not in blob and other["token"] not in blob
    assert set(found) == {"status", "final", "ahead", "counter", "recalls", "number",
                          "called_at", "rateable", "title", "html"}


def frames(response):
    """The stream's messages as (event, data), read as they come."""
    buffer = ""
    for chunk in response.response:
        buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        while "\n\n" in buffer:
            message, buffer = buffer.split("\n\n", 1)
            fields = dict(line.split(": ", 1) for line in message.splitlines()
                          if ": " in line and not line.startswith(":"))
            if "event" in fields:
                yield fields["event"], json.loads(fields["data"])


def test_the_stream_follows_the_ticket_and_ends_with_its_day(other_app):
    app = other_app(sse_keepalive_seconds=0.2)
    hall = app.extensions["goiso"].hall
    token = issue_in_hall(app, kiosk="k1")["token"]
    response = app.test_client().get(f"/t/{token}/events", buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-store"
    stream = frames(response)
    kind, first = next(stream)
    assert kind == "ticket" and first["status"] == "waiting" and first["ahead"] == 0
    issue_in_hall(app, "DEMO-GT-007", kiosk="k1")  # another queue
    hall.calling.call_next(1)
    kinds = []
    for kind, data in stream:
        kinds.append(kind)
        if kind == "ticket":
            assert data["status"] == "called" and data["counter"] == "Quầy 1"
            break
    assert set(kinds) <= {"ticket", "ping"}
    hall.tx.clock = lambda: time.time() + 86_400
    for kind, data in stream:
        if kind == "gone":
            assert data["status"] == "gone" and "đã hết hạn" in data["html"]
            break
        assert kind == "ping"
    assert next(stream, None) is None  # the stream ends with the ticket
    response.close()
    assert app.extensions["goiso"].streams.open == 0


def test_only_changes_that_show_are_sent(other_app):
    """Events of other queues wake nothing; a ticket issued behind this one changes nothing it
    shows, so nothing is sent but the keep-alive."""
    app = other_app(sse_keepalive_seconds=0.2)
    token = issue_in_hall(app, kiosk="k1")["token"]
    response = app.test_client().get(f"/t/{token}/events", buffered=False)
    stream = frames(response)
    assert next(stream)[0] == "ticket"
    for _ in range(3):
        issue_in_hall(app, "DEMO-GT-001", kiosk="k1")
        issue_in_hall(app, "DEMO-GT-007", kiosk="k1")
    seen = [next(stream) for _ in range(3)]
    assert [kind for kind, _ in seen] == ["ping"] * 3
    response.close()
