"""Settings: a TOML file, then GOISO_* environment variables, then command-line flags; one
conversion for all three, and every problem is a whole sentence naming file, table and key."""

import re
import stat
import tomllib
from pathlib import Path

import pytest
from msgspec import inspect as types
from msgspec import structs

import settings as settings_module
from counter.config import DeviceConfig
from hall.rules import Rules
from server import create_app
from settings import HallOptions, KioskOptions, ServerOptions, Settings, SettingsError, load
from tests.settings_files import problems, write

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "goiso.example.toml"


def test_defaults_without_a_file():
    s = load(environ={})
    assert (s.host, s.port, s.data_dir, s.secure_cookies) == ("127.0.0.1", 8080, Path("var"),
                                                              False)
    assert s.rules == Rules() and s.default_language == "vi"
    assert s.database_path == Path("var") / "goiso.db"
    assert s == Settings()


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

[kiosk]
printer_down = "screen"
idle_seconds = 90
""")
    s = load(path, environ={})
    assert s.hall_name == "Bộ phận Một cửa Sở Giao thông vận tải"
    assert s.hall_unit == "Tỉnh Lâm Đồng" and s.default_language == "en"
    assert (s.host, s.port, s.secure_cookies, s.session_minutes) == ("192.168.1.10", 9000, True, 60)
    assert s.sse_keepalive_seconds == 5.5 and s.db_threads == 2
    assert s.data_dir == tmp_path / "data"
    assert s.database_path == tmp_path / "db" / "hall.db"
    assert s.public_url == "https://goiso.example.vn"
    assert s.kiosk == KioskOptions(printer_down="screen", idle_seconds=90)
    r = s.rules
    assert (r.timezone, r.day_starts_at, r.priority_policy, r.interleave_every) == (
        "Asia/Bangkok", "02:00", "interleave", 2)
    assert r.transfer_keeps_time is False and r.recent_calls == 5
    assert r.outcomes == ("xong", "thiếu hồ sơ") and str(r.tz) == "Asia/Bangkok"
    config = s.flask_config()
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["PERMANENT_SESSION_LIFETIME"] == 3600
    assert config["BABEL_DEFAULT_LOCALE"] == "en" and s.rules is r


def test_numbers_and_switches_written_as_text_are_read_like_the_environment(tmp_path):
    """The file and the environment share one conversion: "8080" is 8080 in both."""
    s = settings_module.load(write(tmp_path, '[server]\nport = "9001"\nsecure_cookies ='
                                             ' "true"\n[board]\npoll_seconds = "2.5"\n'),
                             environ={})
    assert (s.port, s.secure_cookies, s.board.poll_seconds) == (9001, True, 2.5)


# -- what is wrong, and where ---------------------------------------------------------------------

# A bad file and the whole line a person reads about it (the file given as goiso.toml). The
# [printers], [serial], [board] and [voice] tables have their own tables of bad input in
# test_connection.py, test_hardware.py and test_display.py.
BAD = {
    # tables and keys that do not exist
    "unknown table": ("[sever]\nport = 8080\n",
                      "goiso.toml: [sever]: không có bảng này; có phải là [server] không?"),
    "unknown table, far": ("[bogus]\n", "goiso.toml: [bogus]: không có bảng này; các bảng là"
                           " [hall], [server], [rules], [kiosk], [ticket], [board], [voice],"
                           " [backup], [security], [printers], [serial]."),
    "key outside any table": ("port = 8080\n", "goiso.toml: port = 8080: thiết lập này phải"
                              " nằm trong bảng [server] (viết nó ở dưới dòng [server])."),
    "unknown [server] key": ("[server]\nprot = 8080\n", "goiso.toml: [server] prot = 8080:"
                             " không có thiết lập này; có phải là port không?"),
    "unknown [rules] key": ("[rules]\npriority = 'strict'\n", 'goiso.toml: [rules] priority ='
                            ' "strict": không có thiết lập này; có phải là priority_policy'
                            " không?"),
    "[rules] tz is no setting": ("[rules]\ntz = 'UTC'\n", 'goiso.toml: [rules] tz = "UTC":'
                                 " không có thiết lập này (xem goiso.example.toml)."),
    "unknown [hall] key": ("[hall]\ntitle = 'x'\n", 'goiso.toml: [hall] title = "x": không có'
                           " thiết lập này (xem goiso.example.toml)."),
    "unknown [ticket] key": ("[ticket]\nshow_qrcode = false\n", "goiso.toml: [ticket]"
                             " show_qrcode = false: không có thiết lập này; có phải là show_qr"
                             " không?"),
    "a table that is a value": ("kiosk = 3\n", "goiso.toml: kiosk = 3: cần một bảng [kiosk]."),
    # types, ranges and choices
    "port as words": ("[server]\nport = 'eighty'\n", 'goiso.toml: [server] port = "eighty": cần'
                      " một số nguyên từ 1 đến 65535."),
    "port out of range": ("[server]\nport = 0\n", "goiso.toml: [server] port = 0: cần một số"
                          " nguyên từ 1 đến 65535."),
    "minutes": ("[server]\nsession_minutes = 'long'\n", "goiso.toml: [server] session_minutes"
                ' = "long": cần một số nguyên từ 1 trở lên.'),
    "keepalive": ("[server]\nsse_keepalive_seconds = 0\n", "goiso.toml: [server]"
                  " sse_keepalive_seconds = 0: cần một số lớn hơn 0 và không quá 300."),
    "threads": ("[server]\ndb_threads = 1.5\n", "goiso.toml: [server] db_threads = 1.5: cần"
                " một số nguyên từ 1 đến 64."),
    "switch": ("[server]\nsecure_cookies = 'yes'\n", 'goiso.toml: [server] secure_cookies ='
               ' "yes": cần true hoặc false.'),
    "public address": ("[server]\npublic_url = 'hcc.example.gov.vn'\n", "goiso.toml: [server]"
                       ' public_url = "hcc.example.gov.vn": cần một địa chỉ http:// hoặc'
                       ' https:// đầy đủ, ví dụ "https://hcc.example.gov.vn" (không có ?, #'
                       ' hay khoảng trắng).'),
    "public address with a query": ("[server]\npublic_url = 'http://10.0.0.2:8080/?x=1'\n",
                                    'goiso.toml: [server] public_url = "http://10.0.0.2:8080/?x=1":'
                                    " cần một địa chỉ http:// hoặc https:// đầy đủ, ví dụ"
                                    ' "https://hcc.example.gov.vn" (không có ?, # hay khoảng'
                                    " trắng)."),
    "empty folder": ("[server]\ndata_dir = ''\n", 'goiso.toml: [server] data_dir = "": cần một'
                     " đường dẫn (chuỗi không trống trong ngoặc kép)."),
    "hall name": ("[hall]\nname = 5\n", "goiso.toml: [hall] name = 5: cần một chuỗi trong"
                  " ngoặc kép."),
    "language": ("[hall]\ndefault_language = 'fr'\n", "goiso.toml: [hall] default_language ="
                 ' "fr": cần một trong: "en", "vi".'),
    "kiosk choice": ("[kiosk]\nprinter_down = 'maybe'\n", "goiso.toml: [kiosk] printer_down ="
                     ' "maybe": cần một trong: "refuse", "screen".'),
    "kiosk seconds": ("[kiosk]\nidle_seconds = 1\n", "goiso.toml: [kiosk] idle_seconds = 1:"
                      " cần một số nguyên từ 3 đến 3600."),
    "ticket switch": ("[ticket]\nshow_qr = 'no'\n", 'goiso.toml: [ticket] show_qr = "no": cần'
                      " true hoặc false."),
    "ticket label": ("[ticket]\nwait_label = 'Chờ {phut} phút'\n", "goiso.toml: [ticket]"
                     ' wait_label = "Chờ {phut} phút": câu này chỉ dùng được {minutes}; muốn'
                     " viết dấu ngoặc nhọn thì gõ hai lần: {{ }}."),
    "outcome not text": ("[rules]\noutcomes = ['xong', 1]\n", "goiso.toml: [rules] outcomes[1]"
                         " = 1: cần một chuỗi trong ngoặc kép."),
    "outcomes not a list": ("[rules]\noutcomes = 'xong'\n", 'goiso.toml: [rules] outcomes ='
                            ' "xong": cần một danh sách [ … ], mỗi phần tử là một chuỗi trong'
                            " ngoặc kép."),
    # the core's own checks of [rules], reported the same way
    "time zone": ("[rules]\ntimezone = 'Mars/Olympus'\n", "goiso.toml: [rules] timezone ="
                  ' "Mars/Olympus": Giá trị của timezone không hợp lệ.'),
    "policy": ("[rules]\npriority_policy = 'random'\n", "goiso.toml: [rules] priority_policy ="
               " 'random' không hợp lệ; hãy dùng một trong: strict, interleave."),
    "day start": ("[rules]\nday_starts_at = '25:00'\n", "goiso.toml: [rules] day_starts_at ="
                  " '25:00': cần giờ dạng HH:MM."),
    "interleave": ("[rules]\ninterleave_every = 0\n", "goiso.toml: [rules] interleave_every"
                   " phải từ 1 đến 100."),
    "recent calls": ("[rules]\nrecent_calls = 0\n", "goiso.toml: [rules] recent_calls phải từ"
                     " 1 đến 100."),
    "no outcomes": ("[rules]\noutcomes = []\n", "goiso.toml: [rules] outcomes không được để"
                    " trống."),
    "rating levels": ("[rules]\nrating_levels = ['Tốt']\n", "goiso.toml: [rules]"
                      " rating_levels: cần từ 2 đến 5 nhãn, nhãn tốt nhất trước."),
    # the file itself
    "TOML syntax": ("[server\nport = 1\n", "goiso.toml: dòng 1, cột 8: tên bảng cần dấu ]"
                    " đóng, ví dụ [server]."),
    "unquoted text": ("[hall]\nname = Sảnh\n", "goiso.toml: dòng 2, cột 8: giá trị không hợp"
                      ' lệ; chuỗi phải nằm trong ngoặc kép, ví dụ "vi".'),
    "a table twice": ("[server]\nport = 1\n[server]\n", "goiso.toml: dòng 3, cột 8: khai báo"
                      " hai lần cùng một bảng hoặc cùng một khoá."),
}


@pytest.mark.parametrize(("text", "said"), BAD.values(), ids=BAD.keys())
def test_a_bad_file_is_refused_naming_file_table_and_key(tmp_path, text, said):
    assert problems(tmp_path, text) == [said]


def test_every_problem_is_listed_one_per_table(tmp_path):
    text = ("[server]\nport = 0\n[kiosk]\nidle_seconds = 1\n[voice]\nstyle = 'x'\n"
            "[rules]\nrecent_calls = 0\n[board]\nhighlight_seconds = 8\n")
    assert problems(tmp_path, text) == [
        "goiso.toml: [server] port = 0: cần một số nguyên từ 1 đến 65535.",
        "goiso.toml: [kiosk] idle_seconds = 1: cần một số nguyên từ 3 đến 3600.",
        'goiso.toml: [voice] style = "x": cần một trong: "cardinal", "digits".',
        "goiso.toml: [rules] recent_calls phải từ 1 đến 100.",
    ]


def test_the_file_is_named_as_it_was_given(tmp_path, monkeypatch):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "hall.toml").write_text("[server]\nport = 0\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError) as caught:
        load("conf/hall.toml", environ={})
    assert str(caught.value) == ("conf/hall.toml: [server] port = 0: cần một số nguyên từ 1 đến"
                                 " 65535.")


@pytest.mark.parametrize(("name", "said"), [
    ("nowhere.toml", "không có tệp cấu hình này."),
    ("", "đây là một thư mục, không phải tệp cấu hình."),
    ("latin1.toml", "tệp không phải văn bản UTF-8."),
], ids=["missing", "a folder", "not UTF-8"])
def test_a_file_that_cannot_be_read_is_named(tmp_path, name, said):
    (tmp_path / "latin1.toml").write_bytes("[hall]\nname = 'Café'\n".encode("latin-1"))
    with pytest.raises(SettingsError) as caught:
        load(tmp_path / name, environ={})
    assert caught.value.problems == [f"{tmp_path / name}: {said}"]


def test_nothing_is_half_loaded(tmp_path):
    """A good [server] before a bad [voice]: no settings, and nothing made on disk."""
    path = write(tmp_path, f'[server]\ndata_dir = "{tmp_path / "data"}"\n'
                           '[voice]\nspeed = 1000\n')
    with pytest.raises(SettingsError):
        load(path, environ={})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["goiso.toml"]


def test_a_data_folder_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "data").write_text("not a folder")
    said = "đây là một tệp; cần một thư mục (sẽ được tạo nếu chưa có)."
    assert problems(tmp_path, f'[server]\ndata_dir = "{tmp_path / "data"}"\n') == [
        f'goiso.toml: [server] data_dir = "{tmp_path / "data"}": {said}']
    with pytest.raises(SettingsError) as caught:
        load(environ={}, data_dir=tmp_path / "data")
    assert caught.value.problems == [f'--data-dir "{tmp_path / "data"}": {said}']


# -- the environment and the flags ----------------------------------------------------------------

def test_environment_overrides_the_file(tmp_path):
    path = write(tmp_path, "[server]\nport = 9000\nhost = '192.168.1.10'\n"
                           "secure_cookies = true\n")
    s = load(path, environ={
        "GOISO_PORT": "9100", "GOISO_SECURE_COOKIES": "0", "GOISO_DATA_DIR": str(tmp_path / "env"),
        "GOISO_SSE_KEEPALIVE_SECONDS": "2.5", "GOISO_SECRET_KEY": "k" * 40,
        "GOISO_SESSION_MINUTES": "30", "PORT": "1", "GOISO_UNRELATED": "x"})
    assert s.port == 9100 and s.host == "192.168.1.10" and s.secure_cookies is False
    assert s.data_dir == tmp_path / "env" and s.sse_keepalive_seconds == 2.5
    assert s.session_minutes == 30 and s.flask_config()["SECRET_KEY"] == "k" * 40


@pytest.mark.parametrize(("value", "on"), [("1", True), ("true", True), ("TRUE", True),
                                           ("0", False), ("false", False)])
def test_environment_switches(value, on):
    assert load(environ={"GOISO_SECURE_COOKIES": value}).secure_cookies is on


def test_flag_beats_environment(tmp_path):
    s = load(data_dir=tmp_path / "flag", environ={"GOISO_DATA_DIR": str(tmp_path / "env")})
    assert s.data_dir == tmp_path / "flag"
    s = load(environ={"GOISO_PORT": "9000"}, port="9001", host="192.168.1.10", data_dir=None)
    assert (s.port, s.host, s.data_dir) == (9001, "192.168.1.10", Path("var"))


# A bad variable or flag, and the line a person reads: the same checks as the file.
BAD_GIVEN = {
    "port as words": ({"GOISO_PORT": "http"}, {}, 'GOISO_PORT = "http": cần một số nguyên từ'
                      " 1 đến 65535."),
    "port too high": ({"GOISO_PORT": "70000"}, {}, 'GOISO_PORT = "70000": cần một số nguyên'
                      " từ 1 đến 65535."),
    "switch": ({"GOISO_SECURE_COOKIES": "yes"}, {}, 'GOISO_SECURE_COOKIES = "yes": cần true'
               " hoặc false."),
    "threads": ({"GOISO_DB_THREADS": "0"}, {}, 'GOISO_DB_THREADS = "0": cần một số nguyên từ 1'
                " đến 64."),
    "empty database": ({"GOISO_DATABASE": ""}, {}, 'GOISO_DATABASE = "": cần một đường dẫn'
                       " (chuỗi không trống trong ngoặc kép)."),
    "port flag": ({}, {"port": "abc"}, '--port "abc": cần một số nguyên từ 1 đến 65535.'),
    "data-dir flag": ({}, {"data_dir": ""}, '--data-dir "": cần một đường dẫn (chuỗi không'
                      " trống trong ngoặc kép)."),
}


@pytest.mark.parametrize(("environ", "flags", "said"), BAD_GIVEN.values(), ids=BAD_GIVEN.keys())
def test_a_bad_variable_or_flag_is_named(environ, flags, said):
    with pytest.raises(SettingsError) as caught:
        load(environ=environ, **flags)
    assert caught.value.problems == [said]


def test_a_bad_variable_is_named_over_a_good_file(tmp_path):
    assert problems(tmp_path, "[server]\nport = 9000\n", environ={"GOISO_PORT": "x"}) == [
        'GOISO_PORT = "x": cần một số nguyên từ 1 đến 65535.']


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

def documented() -> set[tuple[str, str]]:
    """(table, key) of every setting the example file shows, set or commented out
    (`# key = value`); [printers.k1] and [serial.desk] count as "printers" and "serial"."""
    found, table = set(), ""
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^\s*#?\s*\[([a-z_]+)[a-z_.0-9]*\]\s*$", line):
            table = m[1]
        elif m := re.match(r"^\s*#?\s*([a-z_]+)\s*=", line):
            found.add((table, m[1]))
    return found


def test_example_config_gives_the_defaults_or_what_it_says():
    """Every value the example sets is the default, but for the unit it names."""
    assert load(EXAMPLE, environ={}) == Settings(hall_unit="Sở Xây dựng")


def test_example_config_documents_every_setting_and_no_other():
    wanted = {(table, f.encode_name)
              for table, kind in {**settings_module.TABLES, **settings_module.FAMILIES}.items()
              for f in types.type_info(kind).fields}
    assert wanted - documented() == set(), "settings missing from goiso.example.toml"
    assert documented() - wanted == set(), "goiso.example.toml names settings that do not exist"
    devices = next(line for line in EXAMPLE.read_text(encoding="utf-8").splitlines()
                   if re.match(r"# devices = \[", line))
    for f in structs.fields(DeviceConfig):
        assert f"{f.name} = " in devices, f.name


def test_the_tables_are_the_settings_fields():
    """Settings holds [server] (inherited), [hall] and one field per other table."""
    names = {f.name for f in structs.fields(Settings)}
    hall = {f.name for f in structs.fields(HallOptions)}
    server = {f.name for f in structs.fields(ServerOptions)}
    others = set(settings_module.TABLES) - {"hall", "server"} | set(settings_module.FAMILIES)
    assert names == hall | server | others
    assert Settings().hall_name == HallOptions().hall_name
    assert {f.name: f.default for f in structs.fields(HallOptions)} == {
        f.name: f.default for f in structs.fields(Settings) if f.name in hall}
    assert {f.name: f.type for f in structs.fields(HallOptions)} == {
        f.name: f.type for f in structs.fields(Settings) if f.name in hall}


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
    s = load(path, environ={}, data_dir=tmp_path)
    assert set(s.printers) == {"k1", "k2", "k3", "k4", "k5"} and set(s.serial) == {"desk"}
    assert s.database_path == Path("/var/lib/goiso/goiso.db")


def test_a_table_the_file_gives_in_part_is_shown_whole(tmp_path):
    """A [rules] table with two keys: the settings page still sees every key of it."""
    path = tmp_path / "goiso.toml"
    path.write_text("[rules]\nkiosk_tickets_per_minute = 0\nclient_tickets_per_minute = 0\n",
                    encoding="utf-8")
    loaded = settings_module.load(path, data_dir=tmp_path)
    shown = settings_module.section(loaded, "rules")
    assert shown["timezone"] == "Asia/Ho_Chi_Minh" and shown["kiosk_tickets_per_minute"] == 0
