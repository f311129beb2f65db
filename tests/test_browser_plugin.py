"""Smoke test for tests/plugins/chromium.py: Debian's Chromium loads a page and clicks."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

PAGE = """<!doctype html>
<html lang="vi">
<head><meta charset="utf-8"><title>Gọi số</title></head>
<body>
  <p id="status">Chưa lấy số</p>
  <button id="take" type="button"
          onclick="document.getElementById('status').textContent = 'Số của bạn: A001';
                   this.textContent = 'Đã lấy số';">Lấy số</button>
</body>
</html>
"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def static_site(tmp_path: Path) -> Iterator[str]:
    """Serve tmp_path over HTTP on 127.0.0.1 with an ephemeral port."""
    (tmp_path / "index.html").write_text(PAGE, encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.browser
def test_button_click_changes_text(page, static_site: str) -> None:
    from playwright.sync_api import expect

    page.goto(static_site)
    expect(page).to_have_title("Gọi số")
    button = page.get_by_role("button", name="Lấy số")
    expect(page.locator("#status")).to_have_text("Chưa lấy số")

    button.click()

    expect(page.locator("#status")).to_have_text("Số của bạn: A001")
    expect(page.locator("#take")).to_have_text("Đã lấy số")
    assert page.evaluate("navigator.language") == "vi-VN"
    assert page.viewport_size == {"width": 1366, "height": 768}
