"""The province dashboard as staff use it: a real ``goiso hub serve``, sign-in by the page
(Vietnamese first, English by ``?lang=en``), the hall list, its SSE stream following a hall's
push, and axe-core on the pages in Chromium."""

import re
import time

import psycopg
import pytest
import requests

from tests.hubserver import HubServer
from tests.plugins.accessibility import axe_violations
from tests.plugins.waiting import wait_for

pytestmark = pytest.mark.slow
DAY = "2026-12-04"


def batch(hall: int, after: int, count: int) -> dict:
    now = time.time()
    return {"hall": hall, "after": after, "events": [
        [seq, now - 1200 + seq, DAY, "issued", seq, None, None, "GPLX", "DEMO-GT-001",
         f"A{seq}", None] for seq in range(after + 1, after + count + 1)]}


@pytest.fixture(scope="module")
def hub(postgres):
    from hub.accounts import add_user
    from hub.schema import migrate

    name = "hub_dashboard"
    postgres.drop_database(name)
    dsn = postgres.create_database(name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
        add_user(conn, "tinh", "Sở Nội vụ", "supervisor", "246810")
    with HubServer(dsn) as server:
        yield server
    postgres.drop_database(name)


def signed_in(hub) -> requests.Session:
    session = requests.Session()
    page = session.get(hub.url("/login"), timeout=5).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    reply = session.post(hub.url("/login"), data={"csrf_token": token, "login": "tinh",
                                                  "pin": "246810"}, timeout=10)
    assert reply.status_code == 200 and reply.url.endswith("/dashboard?lang=vi")
    return session


def test_strangers_are_sent_to_sign_in_and_wrong_pins_are_told(hub):
    reply = requests.get(hub.url("/dashboard"), timeout=5)
    assert reply.url.endswith("/login") and "Cán bộ tỉnh đăng nhập" in reply.text
    assert requests.get(hub.url("/dashboard/stream"), timeout=5,
                        allow_redirects=False).status_code == 302
    english = requests.get(hub.url("/login?lang=en"), timeout=5).text
    assert 'lang="en"' in english and "Sign in" in english
    session = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      session.get(hub.url("/login"), timeout=5).text)[1]
    wrong = session.post(hub.url("/login"), timeout=10, data={
        "csrf_token": token, "login": "tinh", "pin": "111111"})
    assert wrong.status_code == 401 and "Sai thông tin đăng nhập" in wrong.text  # as a hall says
    assert 'value="tinh"' in wrong.text  # what was typed stays
    no_csrf = session.post(hub.url("/login"), data={"login": "tinh", "pin": "246810"},
                           timeout=10)
    assert no_csrf.status_code == 400


def test_the_dashboard_lists_halls_and_streams_their_pushes(hub):
    hall, token = hub.add_hall("Xã Tân Phú")
    session = signed_in(hub)
    page = session.get(hub.url("/dashboard?sort=name"), timeout=5).text
    assert "Xã Tân Phú" in page and "chưa bao giờ" in page
    stream = session.get(hub.url("/dashboard/stream?sort=name"), stream=True, timeout=10)
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    lines = stream.iter_lines(decode_unicode=True)
    frames = []

    def next_frame():
        data = []
        for line in lines:
            if line.startswith("data: "):
                data.append(line[6:])
            elif line == "" and data:
                frames.append("\n".join(data))
                return frames[-1]
        return None

    first = next_frame()
    assert "Xã Tân Phú" in first
    started = time.monotonic()
    assert hub.post("/api/v1/ingest", batch(hall, 0, 7), token)[0] == 200
    after = next_frame()
    took = time.monotonic() - started
    row = re.search(rf'data-hall="{hall}">(.*?)</tr>', after, re.S)[1]
    assert re.search(r'<td class="num">7</td>', row)  # seven waiting
    assert "quá mục tiêu" in row  # the first has waited 20 minutes, over the 15
    assert took < 5, took
    stream.close()
    english = session.get(hub.url("/dashboard?lang=en"), timeout=5).text
    assert "Waiting" in english


@pytest.mark.browser
def test_the_pages_pass_axe(hub, page):
    hub.add_hall("Phường Hòa Bình")
    for lang in ("vi", "en"):
        page.goto(hub.url(f"/login?lang={lang}"))
        assert not axe_violations(page)
        page.fill("input[name=login]", "tinh")
        page.fill("input[name=pin]", "000000" if lang == "vi" else "246810")
        page.click("button")
        if lang == "vi":
            assert page.locator("[role=alert]").is_visible()
            assert not axe_violations(page)
            continue
        wait_for(lambda: "/dashboard" in page.url, "the dashboard")
        wait_for(lambda: page.locator("#halls").get_attribute("data-updated"),
                 "a streamed frame")
        assert not axe_violations(page)
