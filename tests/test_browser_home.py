"""The landing page and staff sign-in in a real Chromium against a real `goiso serve`."""

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_landing_page_in_vietnamese_then_english(live_server, page):
    hosts = set()
    page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.set_extra_http_headers({"Accept-Language": "vi-VN,vi;q=0.9"})
    page.goto(live_server.url("/"))
    assert page.locator("h1").inner_text() == "Hệ thống gọi số"
    assert page.get_by_text("Giấy phép lái xe", exact=True).first.is_visible()
    assert page.locator("table").nth(1).locator("tbody tr").count() == 6
    # htmx is served by the hall itself (offline halls: never a CDN).
    assert page.evaluate("typeof htmx") == "object"
    page.get_by_role("link", name="English").click()
    assert page.locator("h1").inner_text() == "Queue calling system"
    assert hosts == {urlsplit(live_server.base_url).netloc}
    assert errors == []


def test_staff_sign_in_and_out(live_server, page):
    page.goto(live_server.url("/login?lang=vi"))
    page.fill("input[name=login]", "an")
    page.fill("input[name=pin]", "000000" if live_server.pins["an"] != "000000" else "111111")
    page.select_option("select[name=counter]", "1")
    page.get_by_role("button", name="Đăng nhập").click()
    assert page.get_by_role("alert").inner_text() == "Sai thông tin đăng nhập."
    page.fill("input[name=pin]", live_server.pins["an"])
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(live_server.url("/"))
    assert "Nguyễn Văn An" in page.inner_text("main")
    # The session is the clerk's: the API now says who is signed in, at which counter.
    who = page.evaluate("fetch('/api/v1/session').then(r => r.json())")
    assert (who["role"], who["counter"]) == ("clerk", 1)
    page.get_by_role("button", name="Đăng xuất").click()
    who = page.evaluate("fetch('/api/v1/session').then(r => r.json())")
    assert who["role"] == "public"
