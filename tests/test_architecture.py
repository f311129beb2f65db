"""The map of docs/architecture.md holds: the import rules (import-linter contracts in
pyproject.toml), event kinds named only by their enum, and a core of modest modules."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hall.events import EventKind

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
SOURCE_DIRS = ("hall", "services", "web", "device", "printer", "counter", "display", "kiosk",
               "phone", "admin", "api", "staff", "home", "templates", "static/js")
CORE_MODULE_LINES = 600  # hall/tickets.py was 880 lines of one 45-method class


def lint_imports(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_the_import_rules_hold():
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_broken_import_rule_is_caught(tmp_path):
    # The same checker, told that doors may not use the application layer (they all do):
    # proof that the check above looks at the real imports.
    (tmp_path / ".importlinter").write_text(
        "[importlinter]\nroot_packages =\n    kiosk\n    services\n\n"
        "[importlinter:contract:probe]\nname = probe\ntype = forbidden\n"
        "source_modules =\n    kiosk\nforbidden_modules =\n    services\n", encoding="utf-8")
    result = lint_imports("--config", str(tmp_path / ".importlinter"))
    assert result.returncode != 0
    assert "kiosk.views -> services" in result.stdout


KIND_VALUES = {kind.value for kind in EventKind}
# Event kinds that are not also a ticket status, a column or a JSON key of some view.
DISTINCT_KINDS = KIND_VALUES - {"called", "no_show", "cancelled", "expired", "printed",
                                "issued"}


def _sources():
    for folder in SOURCE_DIRS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in (".py", ".html", ".js") and path != ROOT / "hall" / "events.py":
                yield path


def _kind_literals(source: str) -> list[str]:
    """String constants of Python code that are event kinds, leaving out dict keys (a JSON
    field "transferred") and error codes (``code = "counter_paused"``)."""
    tree = ast.parse(source)
    spared = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            spared.update(id(key) for key in node.keys if key is not None)
        elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "code" for t in node.targets):
            spared.add(id(node.value))
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
            and node.value in DISTINCT_KINDS and id(node) not in spared]


def test_event_kinds_are_named_only_by_their_enum():
    found = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        for kind in KIND_VALUES:
            # An htmx trigger or swap list, or SQL comparing the kind column.
            if re.search(rf"sse:{kind}\b|kind\s*(=|IN)\s*\(?\s*'{kind}'", text):
                found.append((path.relative_to(ROOT), kind))
        if path.suffix == ".py":
            found += [(path.relative_to(ROOT), name) for name in _kind_literals(text)]
    assert found == []


@pytest.mark.parametrize("path", sorted((ROOT / "hall").glob("*.py")), ids=lambda p: p.name)
def test_core_modules_stay_of_modest_size(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= CORE_MODULE_LINES
