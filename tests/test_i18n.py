"""Every Vietnamese text of the project has an English translation, compiled for the app."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
PYBABEL = Path(sys.executable).with_name("pybabel")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The messages `pybabel extract` finds in the project now."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    result = subprocess.run(
        [str(PYBABEL), "-q", "extract", "-F", "babel.cfg", "-k", "N_", "-k", "_",
         "--ignore-dirs", ".* ._ node_modules tests bench var", "-o", str(pot), "."],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    with pot.open("rb") as handle:
        catalog = read_po(handle)
    return [m for m in catalog if m.id]


@pytest.fixture(scope="module")
def english():
    """The English catalogue."""
    with PO.open("rb") as handle:
        return read_po(handle, locale="en")


def _forms(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple | list) else [message.string]


def test_extraction_finds_the_project_messages(extracted):
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in extracted}
    assert "Cần đăng nhập." in ids  # api/replies.py
    assert "Không có thủ tục mã %(code)s." in ids  # hall/errors.py, via N_
    assert "Hệ thống gọi số" in ids  # a template
    folders = {loc.split("/")[0] for m in extracted for loc, _ in m.locations}
    assert not folders & {"tests", "bench", ".venv", "node_modules"}


def test_every_message_has_an_english_translation(extracted, english):
    missing, fuzzy, placeholders = [], [], []
    for message in extracted:
        found = english.get(message.id, message.context)
        if found is None or not all(form.strip() for form in _forms(found)):
            missing.append(message.id)
            continue
        if found.fuzzy:
            fuzzy.append(message.id)
        ids = message.id if isinstance(message.id, tuple | list) else [message.id]
        wanted = set(PLACEHOLDER.findall(ids[0]))
        for form in _forms(found):
            if set(PLACEHOLDER.findall(form)) != wanted:
                placeholders.append((message.id, form))
    assert missing == [], f"{len(missing)} messages without English: {missing}"
    assert fuzzy == [], f"fuzzy translations: {fuzzy}"
    assert placeholders == [], f"translations with other placeholders: {placeholders}"


def _key(value):
    """Plural messages come back as lists from one reader and tuples from the other."""
    return tuple(value) if isinstance(value, list | tuple) else value


def test_compiled_catalogue_is_current(english):
    assert MO.exists(), "messages.mo is missing: run scripts/setup (make test does)"
    assert MO.stat().st_mtime >= PO.stat().st_mtime, "messages.mo is older than messages.po"
    with MO.open("rb") as handle:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(handle) if m.id}
    wanted = {_key(m.id): _key(m.string) for m in english if m.id and not m.fuzzy}
    assert compiled == wanted


def test_the_app_speaks_english(client):
    response = client.get("/api/v1/clerks", headers={"Accept-Language": "en"})
    assert response.get_json()["error"]["message"] == "Please sign in."
    assert "Queue calling system" in client.get("/?lang=en").get_data(as_text=True)
