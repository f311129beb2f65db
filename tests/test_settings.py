"""Settings: a TOML file, then GOISO_* environment variables, then command-line flags."""

import re
import stat
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

import settings as settings_module
from counter.config import BusConfig
from display.config import BoardOptions, VoiceOptions
from hall.rules import Rules
from printer import PrinterConfig, TicketLayout
from server import create_app
from settings import KioskOptions, Settings, SettingsError, load

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "goiso.example.toml"
# Settings fields that live under another name in the file.
TOML_NAMES = {"hall_name": "name", "hall_unit": "unit"}


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "goiso.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file():
    s = load(environ={})
    assert (s.host, s.port, s.data_dir, s.secure_cookies) == ("127.0.0.1", 8080, Path("var"),
                                                              False)
    assert s.rules == Rules() and s.default_language == "vi"
    assert s.database_path == Path("var") / "goiso.db"


def test_toml_file_is_loaded(tmp_path):
    path = write(tmp_path, f"""
[hall]
name = "Bộ phận Một cửa Sở Giao thông vận tải"
unit = "Tỉnh Lâm Đồng"
default_language = "en"

[server]
host = "192.168.1.10"
port = 9000
data_dir = "{tmp_path / 'data'}"
database = "{tmp_path / 'db' / 'hall.db'}"
secure_cookies = true
session_minutes = 60
sse_keepalive_seconds = 5.5
db_threads = 2
public_url = "https://goiso.example.vn"

[rules]
timezone = "Asia/Bangkok"
day_starts_at = "02:00"
priority_policy = "interleave"
interleave_every = 2
transfer_keeps_time = false
outcomes = ["xong", "thiếu hồ sơ"]
recent_calls = 5
""")
    s = load(path, environ={})
    assert s.hall_name == "Bộ phận Một cửa Sở Giao thông vận tải"
    assert s.hall_unit == "Tỉnh Lâm Đồng" and s.default_language == "en"
    assert (s.host, s.port, s.secure_cookies, s.session_minutes) == ("192.168.1.10", 9000, True, 60)
    assert s.sse_keepalive_seconds == 5.5 and s.db_threads == 2
    assert s.data_dir == tmp_path / "data"
    assert s.database_path == tmp_path / "db" / "hall.db"
    assert s.public_url == "https://goiso.example.vn"
    r = s.rules
    assert (r.timezone, r.day_starts_at, r.priority_policy, r.interleave_every) == (
        "Asia/Bangkok", "02:00", "interleave", 2)
    assert r.transfer_keeps_time is False and r.recent_calls == 5
    assert r.outcomes == ("xong", "thiếu hồ sơ")
    config = s.flask_config()
    assert s.database_path == tmp_path / "db" / "hall.db"
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["PERMANENT_SESSION_LIFETIME"] == 3600
    assert config["BABEL_DEFAULT_LOCALE"] == "en" and s.rules is r


@pytest.mark.parametrize(("text", "words"), [
    ("[server]\nprot = 8080\n", ["server", "prot"]),
    ("[rules]\npriority = 'strict'\n", ["rules", "priority"]),
    ("[hall]\ntitle = 'x'\n", ["hall", "title"]),
    ("[sever]\nport = 8080\n", ["sever"]),
    ("port = 8080\n", ["port"]),
])
def test_unknown_keys_are_refused_by_name(tmp_path, text, words):
    with pytest.raises(SettingsError) as caught:
        load(write(tmp_path, text), environ={})
    message = str(caught.value)
    for word in words:
        assert word in message, message


@pytest.mark.parametrize(("text", "word"), [
    ("[server]\nport = 'eighty'\n", "port"),
    ("[server]\nsession_minutes = 'long'\n", "session_minutes"),
    ("[rules]\ntimezone = 'Mars/Olympus'\n", "timezone"),
    ("[rules]\npriority_policy = 'random'\n", "priority_policy"),
    ("[rules]\nday_starts_at = '25:00'\n", "day_starts_at"),
    ("[rules]\ninterleave_every = 0\n", "interleave_every"),
    ("[rules]\noutcomes = []\n", "outcomes"),
    ("[hall]\ndefault_language = 'fr'\n", "default_language"),
    ("[server\nport = 1\n", "goiso.toml"),
])
def test_bad_values_are_refused_clearly(tmp_path, text, word):
    with pytest.raises(SettingsError) as caught:
        load(write(tmp_path, text), environ={})
    assert word in str(caught.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(SettingsError, match="nowhere.toml"):
        load(tmp_path / "nowhere.toml", environ={})


def test_environment_overrides_the_file(tmp_path):
    path = write(tmp_path, "[server]\nport = 9000\nhost = '192.168.1.10'\nsecure_cookies = true\n")
    s = load(path, environ={
        "GOISO_PORT": "9100", "GOISO_SECURE_COOKIES": "0", "GOISO_DATA_DIR": str(tmp_path / "env"),
        "GOISO_SSE_KEEPALIVE_SECONDS": "2.5", "GOISO_SECRET_KEY": "k" * 40,
        "GOISO_SESSION_MINUTES": "30", "PORT": "1", "GOISO_UNRELATED": "x"})
    assert s.port == 9100 and s.host == "192.168.1.10" and s.secure_cookies is False
    assert s.data_dir == tmp_path / "env" and s.sse_keepalive_seconds == 2.5
    assert s.session_minutes == 30 and s.flask_config()["SECRET_KEY"] == "k" * 40


@pytest.mark.parametrize("value", ["1", "true", "yes", "on", "TRUE"])
def test_environment_switches(value):
    assert load(environ={"GOISO_SECURE_COOKIES": value}).secure_cookies is True


def test_flag_beats_environment(tmp_path):
    s = load(data_dir=tmp_path / "flag", environ={"GOISO_DATA_DIR": str(tmp_path / "env")})
    assert s.data_dir == tmp_path / "flag"


def test_bad_environment_value_is_refused():
    with pytest.raises(SettingsError, match="port"):
        load(environ={"GOISO_PORT": "http"})


def test_secret_key_is_made_once_and_kept_private(tmp_path):
    first = load(data_dir=tmp_path, environ={}).flask_config()["SECRET_KEY"]
    second = load(data_dir=tmp_path, environ={}).flask_config()["SECRET_KEY"]
    assert first == second and len(first) >= 32
    mode = stat.S_IMODE((tmp_path / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_create_app_from_settings(tmp_path):
    s = load(data_dir=tmp_path, environ={"GOISO_SESSION_MINUTES": "15"})
    app = create_app(s)
    try:
        assert app.extensions["goiso"].settings.database_path == tmp_path / "goiso.db"
        assert app.permanent_session_lifetime.total_seconds() == 900
        assert app.config["SESSION_COOKIE_HTTPONLY"] is True
        assert (tmp_path / "goiso.db").exists()
        assert app.test_client().get("/api/v1/queues").get_json() == []
    finally:
        app.extensions["goiso"].hall.close()


# -- the example file ----------------------------------------------------------------------------

def documented_names() -> set[str]:
    """Every setting the example file mentions, set or commented out (`# key = value`)."""
    text = EXAMPLE.read_text(encoding="utf-8")
    return set(re.findall(r"(?m)^\s*#?\s*([a-z_]+)\s*=", text))


def test_example_config_loads(tmp_path):
    s = load(EXAMPLE, environ={}, data_dir=tmp_path)
    assert isinstance(s, Settings) and isinstance(s.rules, Rules)
    doc = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert set(doc) <= {"hall", "server", "rules", "kiosk", "ticket", "printers", "serial",
                        "board", "voice"}


def test_example_config_documents_every_setting():
    names = documented_names()
    text = EXAMPLE.read_text(encoding="utf-8")
    for section in ("[hall]", "[server]", "[rules]", "[kiosk]", "[ticket]", "[printers.",
                    "[serial."):
        assert re.search(rf"(?m)^\s*#?\s*{re.escape(section)}", text), section
    tables = {"rules", "kiosk", "ticket", "printers", "serial", "board", "voice"}
    wanted = {TOML_NAMES.get(f.name, f.name) for f in fields(Settings) if f.name not in tables}
    wanted |= {f.name for f in fields(Rules) if f.init}
    for kind in (KioskOptions, TicketLayout, PrinterConfig, BusConfig, BoardOptions,
                 VoiceOptions):
        wanted |= {f.name for f in fields(kind)}
    assert wanted - names == set(), "settings missing from goiso.example.toml"
    known = wanted | set(TOML_NAMES.values())
    assert names - known == set(), "goiso.example.toml names settings that do not exist"
    assert names >= settings_module.SERVER_KEYS


def test_example_config_commented_values_are_valid_too(tmp_path):
    """Uncommenting the example's `# key = value` lines (keys not already set) still loads."""
    lines, section, seen = [], "", set()
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^\s*#?\s*(\[[a-z_.0-9]+\])\s*$", line):
            section = m[1]
            line = section
        elif m := re.match(r"^\s*([a-z_]+)\s*=", line):
            seen.add((section, m[1]))
        elif (m := re.match(r"^#\s?(([a-z_]+)\s*=.*)$", line)) and (section, m[2]) not in seen:
            seen.add((section, m[2]))
            line = m[1]
        lines.append(line)
    doc = "\n".join(lines)
    try:
        tomllib.loads(doc)
    except tomllib.TOMLDecodeError as exc:
        pytest.fail(f"uncommenting the example's settings makes invalid TOML: {exc}")
    path = tmp_path / "uncommented.toml"
    path.write_text(doc, encoding="utf-8")
    load(path, environ={}, data_dir=tmp_path)
