"""Pytest plugin: drive Debian's Chromium through Playwright.

Enable it with ``pytest_plugins = ["tests.plugins.chromium"]`` in tests/conftest.py.

Fixtures:

* ``chromium_browser`` (session): one headless Chromium for the whole run.
* ``page`` (function): a fresh browser context (1366x768, vi-VN) and page,
  closed after the test.
* ``watch_errors(page)``: the page's console errors and uncaught exceptions, as they come.

The browser is the Debian ``chromium`` package (installed by ``scripts/setup``),
never a Playwright-downloaded build.  When it is missing the fixtures *fail*:
a browser test that silently skips would hide a broken machine.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",  # AUTOPLAY
]
# A hall TV's sound policy (play without a tap), and a browser's ordinary one (after a tap).
AUTOPLAY = "--autoplay-policy=no-user-gesture-required"
ASK_FIRST = "--autoplay-policy=document-user-activation-required"
VIEWPORT = {"width": 1366, "height": 768}
LOCALE = "vi-VN"

_HINT = "Run `make test` (or `scripts/setup`) to install it from Debian's `chromium` package."


def chromium_executable() -> str:
    """Path of Debian's Chromium, or pytest.fail with a hint when it is absent."""
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"Chromium not found (looked for `chromium` on PATH and {path}). {_HINT}")
    return path


@contextmanager
def browser_with_policy(chromium_browser: Browser, policy: str) -> Iterator[Browser]:
    """Another Chromium like ``chromium_browser`` but with the sound ``policy`` (``AUTOPLAY``
    or ``ASK_FIRST``), closed at the end."""
    args = [a for a in CHROMIUM_ARGS if not a.startswith("--autoplay-policy")] + [policy]
    browser = chromium_browser.browser_type.launch(executable_path=chromium_executable(),
                                                   headless=True, args=args)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Browser]:
    """One headless Debian Chromium shared by the whole test session."""
    executable = chromium_executable()
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - depends on the venv
        pytest.fail(f"Playwright is not installed in this environment ({exc}). {_HINT}")

    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(
                executable_path=executable,
                headless=True,
                args=CHROMIUM_ARGS,
            )
        except PlaywrightError as exc:
            pytest.fail(f"Chromium at {executable} did not start: {exc}\n{_HINT}")
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium_browser: Browser) -> Iterator[Page]:
    """A new page in its own context (1366x768, locale vi-VN)."""
    context = chromium_browser.new_context(viewport=VIEWPORT, locale=LOCALE)
    try:
        page = context.new_page()
        try:
            yield page
        finally:
            page.close()
    finally:
        context.close()


def watch_errors(page: Page) -> list[str]:
    """Console errors and uncaught exceptions of ``page``, collected as they happen."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors
