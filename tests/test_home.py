"""The landing page and the sign-in form, in Vietnamese and English."""

import re

from tests.plugins.web import issue

QUEUES = ("Giấy phép lái xe", "Vận tải đường bộ", "Đường thủy nội địa", "Trả kết quả",
          "Hướng dẫn")


def page(client, path: str, status: int = 200, **kwargs) -> str:
    response = client.get(path, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


def test_landing_page_in_vietnamese(client):
    html = page(client, "/")
    assert '<html lang="vi">' in html
    assert "Hệ thống gọi số" in html and "Hàng đợi" in html
    for code, name in zip(("GPLX", "VT", "DTND", "TKQ", "HD"), QUEUES, strict=True):
        assert f"<td>{code}</td><td>{name}</td>" in html
    for number in range(1, 7):
        assert f"<td>Quầy {number}</td>" in html
    assert 'href="/api/v1/openapi.json"' in html and "Tài liệu API (OpenAPI 3)" in html
    assert 'href="/api/v1/hall"' in html and 'href="/api/v1/events"' in html
    assert 'href="/login"' in html
    assert "k1 (Ki-ốt sảnh chính)" in html and "gplx (Màn hình khu giấy phép lái xe)" in html


def test_landing_page_in_english_is_remembered(client):
    html = page(client, "/?lang=en")
    assert '<html lang="en">' in html
    assert "Queue calling system" in html and "API documentation (OpenAPI 3)" in html
    assert "Hệ thống gọi số" not in html
    assert "Giấy phép lái xe" in html  # queue names are data, not translated
    assert '<html lang="en">' in page(client, "/")  # the choice stays with the session
    assert '<html lang="vi">' in page(client, "/?lang=vi")


def test_browser_language_is_followed(client):
    assert '<html lang="en">' in page(client, "/", headers={"Accept-Language": "en-GB,en"})
    assert '<html lang="vi">' in page(client, "/", headers={"Accept-Language": "vi-VN,vi"})
    assert '<html lang="vi">' in page(client, "/", headers={"Accept-Language": "fr"})


def test_landing_page_shows_waiting_and_serving(client, clerk_client):
    issue(client)
    issue(client, "DEMO-GT-002")
    issue(client, "DEMO-GT-007")
    clerk_client.post("/api/v1/counters/1/next")
    html = page(client, "/")
    assert "<td>GPLX</td><td>Giấy phép lái xe</td><td>1</td><td>2</td>" in html
    assert "<td>VT</td><td>Vận tải đường bộ</td><td>1</td><td>1</td>" in html
    row = re.search(r"<tr><td>Quầy 1</td>.*?</tr>", html, re.S)[0]
    assert "Đang mở" in row and "1001" in row


def test_login_page(client):
    html = page(client, "/login")
    assert "Nhân viên đăng nhập" in html
    assert 'name="login"' in html and 'name="pin"' in html and 'type="password"' in html
    assert csrf_of(html)
    assert all(f'<option value="{n}"' in html for n in range(1, 7))
    assert "Staff sign-in" in page(client, "/login?lang=en")
    assert 'value="3" selected' in page(client, "/login?counter=3")


def test_form_sign_in_and_sign_out(app, client, demo):
    token = csrf_of(page(client, "/login"))
    response = client.post("/login", data={"login": "an", "pin": demo["pins"]["an"],
                                           "counter": "1", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    who = client.get("/api/v1/session").get_json()
    assert (who["role"], who["name"], who["counter"]) == ("clerk", "Nguyễn Văn An", 1)
    accounts = app.extensions["goiso"].hall.accounts
    assert accounts.seated(1) == who["clerk"]
    home = page(client, "/")
    assert "Đang đăng nhập: Nguyễn Văn An." in home and "Đăng xuất" in home

    out = client.post("/logout", data={"csrf_token": csrf_of(home)})
    assert out.status_code == 302 and out.headers["Location"] == "/"
    assert client.get("/api/v1/session").get_json()["role"] == "public"
    assert accounts.seated(1) is None
    assert "Nhân viên đăng nhập" in page(client, "/")


def test_form_sign_in_refusals(app, client, demo):
    token = csrf_of(page(client, "/login"))
    wrong = client.post("/login", data={"login": "an", "pin": "000000", "csrf_token": token})
    assert wrong.status_code == 401
    assert "Sai thông tin đăng nhập." in wrong.get_data(as_text=True)
    assert 'value="an"' in wrong.get_data(as_text=True)  # the login is kept, never the PIN
    bad_counter = client.post("/login", data={"login": "an", "pin": demo["pins"]["an"],
                                              "counter": "một", "csrf_token": token})
    assert bad_counter.status_code in (400, 401)
    assert client.get("/api/v1/session").get_json()["role"] == "public"
    assert app.extensions["goiso"].hall.accounts.seated(1) is None


def test_taking_over_a_counter(client, clerk_client, demo):
    token = csrf_of(page(client, "/login"))
    form = {"login": "binh", "pin": demo["pins"]["binh"], "counter": "1", "csrf_token": token}
    refused = client.post("/login", data=form)
    assert refused.status_code == 401 and "Nguyễn Văn An" in refused.get_data(as_text=True)
    taken = client.post("/login", data={**form, "take_over": "1"})
    assert taken.status_code == 302
    assert client.get("/api/v1/session").get_json()["counter"] == 1
    # The clerk who was there can no longer act at counter 1.
    assert clerk_client.post("/api/v1/counters/1/pause").status_code == 403
