"""Pytest plugin: check a page with axe-core (the npm package pinned in package.json).

``axe_violations(page, impacts=...)`` injects ``node_modules/axe-core/axe.min.js`` into the page
as it is now and returns axe's violations of the given impacts, each as
``"<rule> (<impact>): <help> — <first targets>"`` so a failing assert names what to fix.
Run it in every state a screen can be in: axe only sees the DOM of the moment.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("critical", "serious")
MODERATE = ("critical", "serious", "moderate")


def axe_violations(page: Page, impacts: tuple[str, ...] = SERIOUS, *,
                   context: str | None = None) -> list[str]:
    """axe-core's violations of ``impacts`` on ``page`` now (optionally within ``context``, a
    CSS selector), described for an assert message."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make test` (or `scripts/setup`) to install it")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # As a script's text, not a URL: the page's own Content-Security-Policy allows only
        # 'self' scripts, and the file is not served by the hall.
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;window.axe = axe;")
    found = page.evaluate(
        """async (context) => {
            const result = await axe.run(context ? document.querySelector(context) : document,
                                         {resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
            }));
        }""", context)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {', '.join(v['targets'])}"
            for v in found if v["impact"] in impacts]
