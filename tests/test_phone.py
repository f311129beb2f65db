"""The ticket status page /t/<token> that the ticket's QR code opens on a phone."""

import pytest

from tests.plugins.web import DOI_GPLX, HX, issue_in_hall, local_links


@pytest.fixture
def token(app) -> str:
    """The token of ticket 1001 (DEMO-GT-001), the first of the day."""
    return issue_in_hall(app, kiosk="k1")["token"]


def test_status_page_of_a_waiting_ticket(client, token):
    response = client.get(f"/t/{token}")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.text
    assert '<html lang="vi">' in html and "<title>Số thứ tự 1001 · goiso</title>" in html
    assert '<p class="phone-number">1001</p>' in html
    assert DOI_GPLX in html and "<p>Giấy phép lái xe</p>" in html
    assert '<p class="status status-waiting">đang chờ</p>' in html
    assert "Số người chờ trước bạn: 0" in html
    assert "Sẽ được gọi tại: Quầy 1, Quầy 2" in html
    assert f'hx-get="/t/{token}"' in html  # it refreshes itself
    local_links(html)


def test_people_ahead_and_priority(app, client, token):
    later = issue_in_hall(app, "DEMO-GT-002", kiosk="k1", priority="elderly")
    last = issue_in_hall(app, "DEMO-GT-003", kiosk="k1")
    assert "Số người chờ trước bạn: 2" in client.get(f"/t/{last['token']}").text
    html = client.get(f"/t/{later['token']}").text
    assert '<p class="phone-number">1002</p>' in html
    assert "Ưu tiên: Người cao tuổi" in html


def test_a_called_ticket_shows_the_counter(app, client, token):
    app.extensions["goiso"].hall.calling.call_next(1)
    html = client.get(f"/t/{token}").text
    assert '<p class="status status-called">đã gọi</p>' in html
    assert '<p class="big call">Mời bạn đến Quầy 1</p>' in html
    assert "Số người chờ trước bạn" not in html
    app.extensions["goiso"].hall.calling.finish(1)
    assert "đã xong" in client.get(f"/t/{token}", headers=HX).text


@pytest.mark.parametrize("path", ["/t/nope", "/t/" + "a" * 65, "/t/"])
def test_unknown_tokens_are_404(client, token, path):
    assert client.get(path).status_code == 404


def test_the_token_stays_private(client, token):
    response = client.get(f"/t/{token}")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Robots-Tag"] == "noindex"


def test_htmx_gets_only_the_status(client, token):
    response = client.get(f"/t/{token}", headers=HX)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.text.strip()
    assert html.startswith('<p class="status status-waiting">đang chờ</p>')
    assert "<html" not in html and "phone-number" not in html and 'id="status"' not in html
    assert "Số người chờ trước bạn: 0" in html


def test_in_english(app, client, token):
    html = client.get(f"/t/{token}?lang=en").text
    assert '<html lang="en">' in html
    assert '<p class="status status-waiting">waiting</p>' in html
    assert "People ahead of you: 0" in html
    assert DOI_GPLX in html  # procedure names are data
    app.extensions["goiso"].hall.calling.call_next(1)
    assert "Please go to Quầy 1" in client.get(f"/t/{token}", headers=HX).text
