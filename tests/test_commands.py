"""The real `goiso` console script, run in subprocesses on folders in tmp_path."""

import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
import requests

from hall import Hall
from tests.liveserver import GOISO, LiveServer, demo_credentials, free_port, goiso_env
from tests.plugins.halls import write_xlsx

DATA = Path(__file__).with_name("data")
SAMPLE_CSV = DATA / "procedures-sample.csv"


def goiso(*args, cwd: Path, ok: bool = True, env: dict | None = None, timeout: float = 60):
    """Run `goiso ARGS` in ``cwd``; check the exit status unless ``ok`` is None."""
    result = subprocess.run([str(GOISO), *map(str, args)], cwd=cwd, capture_output=True,
                            text=True, timeout=timeout, env=goiso_env(**(env or {})))
    if ok is True:
        assert result.returncode == 0, result.stdout + result.stderr
    elif ok is False:
        assert result.returncode != 0, result.stdout + result.stderr
    return result


def count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def procedures(db: Path) -> dict[str, tuple]:
    with sqlite3.connect(db) as conn:
        return {r[0]: r[1:] for r in conn.execute(
            "SELECT code, name, queue_code, active FROM procedures")}


@pytest.fixture
def demo_dir(tmp_path, demo_db) -> Path:
    """A data folder holding a copy of the seeded demo hall."""
    folder = tmp_path / "demo"
    folder.mkdir()
    shutil.copyfile(demo_db[0], folder / "goiso.db")
    return folder


def test_init_creates_the_database_and_a_private_secret(tmp_path):
    data = tmp_path / "hall"
    result = goiso("init", "--data-dir", data, cwd=tmp_path)
    assert str(data / "goiso.db") in result.stdout
    assert count(data / "goiso.db", "queues") == 0
    assert stat.S_IMODE((data / "secret_key").stat().st_mode) == 0o600
    secret = (data / "secret_key").read_text()
    goiso("init", "--data-dir", data, cwd=tmp_path)  # again: nothing lost
    assert (data / "secret_key").read_text() == secret
    assert not (tmp_path / "var").exists()


def test_init_demo_prints_working_pins_and_tokens(tmp_path):
    data = tmp_path / "hall"
    pins, tokens = demo_credentials(goiso("init", "--demo", "--data-dir", data,
                                          cwd=tmp_path).stdout)
    assert set(pins) == {"an", "binh", "cuong", "dung", "giang", "hoa", "giamsat", "quantri"}
    assert set(tokens) == {1, 2, 3, 4, 5, 6}
    assert count(data / "goiso.db", "procedures") == 22
    hall = Hall.open(data / "goiso.db")
    try:
        assert hall.accounts.verify("quantri", pins["quantri"])["role"] == "admin"
        assert all(hall.accounts.token_seat(t)[0] == n for n, t in tokens.items())
    finally:
        hall.close()


# -- import-procedures ---------------------------------------------------------------------------

def test_import_csv_needs_queues_or_creates_them(tmp_path):
    data = tmp_path / "hall"
    goiso("init", "--data-dir", data, cwd=tmp_path)
    refused = goiso("import-procedures", SAMPLE_CSV, "--data-dir", data, cwd=tmp_path, ok=False)
    assert "dòng 2:" in refused.stderr and "--create-queues" in refused.stderr
    assert count(data / "goiso.db", "procedures") == 0
    done = goiso("import-procedures", SAMPLE_CSV, "--create-queues", "--data-dir", data,
                 cwd=tmp_path)
    assert "+ hàng đợi GPLX" in done.stdout and "+ DEMO-GT-022" in done.stdout
    assert count(data / "goiso.db", "procedures") == 22
    assert count(data / "goiso.db", "queues") == 5
    again = goiso("import-procedures", SAMPLE_CSV, "--data-dir", data, cwd=tmp_path)
    assert "giữ nguyên 22" in again.stdout


def test_import_dry_run_changes_nothing(tmp_path, demo_dir):
    db = demo_dir / "goiso.db"
    before = procedures(db)
    changed = tmp_path / "changed.csv"
    changed.write_text(SAMPLE_CSV.read_text(encoding="utf-8").replace(
        "Cấp lại giấy phép lái xe,GPLX", "Cấp lại giấy phép lái xe bị mất,GPLX"), encoding="utf-8")
    result = goiso("import-procedures", changed, "--dry-run", "--data-dir", demo_dir,
                   cwd=tmp_path)
    assert "~ DEMO-GT-002: name" in result.stdout and "Sẽ" in result.stdout
    assert procedures(db) == before


def test_import_xlsx(tmp_path, demo_dir):
    sheet = write_xlsx(tmp_path / "thu-tuc.xlsx", [
        ["Code", "Field", "Name", "Queue", "Active"],
        ["DEMO-GT-022", "Hướng dẫn", "Hướng dẫn, tư vấn thủ tục", "HD", "có"],
        ["DEMO-GT-021", "Trả kết quả", "Nhận kết quả giải quyết thủ tục hành chính", "TKQ",
         "không"],
        [None, None, None, None, None],
        ["DEMO-GT-023", "Hướng dẫn", "Tiếp nhận phản ánh, kiến nghị", "HD", None],
    ])
    result = goiso("import-procedures", sheet, "--data-dir", demo_dir, cwd=tmp_path)
    assert "+ DEMO-GT-023" in result.stdout and "~ DEMO-GT-022: name" in result.stdout
    now = procedures(demo_dir / "goiso.db")
    assert now["DEMO-GT-023"] == ("Tiếp nhận phản ánh, kiến nghị", "HD", 1)
    assert now["DEMO-GT-022"][0] == "Hướng dẫn, tư vấn thủ tục"
    assert now["DEMO-GT-021"][2] == 0
    assert len(now) == 23


def test_bad_csv_reports_every_bad_line_and_imports_nothing(tmp_path, demo_dir):
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([
        "code,field,name,queue",
        "NEW-1,Hướng dẫn,Một thủ tục tốt,HD",            # line 2: fine
        "NEW-2,Hướng dẫn,,HD",                           # line 3: no name
        "bad code!,Hướng dẫn,Mã sai,HD",                 # line 4: bad code
        "NEW-1,Hướng dẫn,Trùng mã dòng 2,HD",            # line 5: duplicate
        "NEW-3,Hướng dẫn,Hàng đợi không có,XYZ",         # line 6: unknown queue (checked later)
    ]) + "\n", encoding="utf-8")
    before = procedures(demo_dir / "goiso.db")
    result = goiso("import-procedures", bad, "--data-dir", demo_dir, cwd=tmp_path, ok=False)
    for line in (3, 4, 5):
        assert f"dòng {line}:" in result.stderr, result.stderr
    assert "dòng 2:" not in result.stderr
    assert "không nhập gì" in result.stderr
    assert procedures(demo_dir / "goiso.db") == before


def test_bad_xlsx_reports_its_line_and_imports_nothing(tmp_path, demo_dir):
    sheet = write_xlsx(tmp_path / "bad.xlsx", [
        ["code", "field", "name", "queue", "active"],
        ["NEW-1", "Hướng dẫn", "Tốt", "HD", None],
        ["NEW-2", "Hướng dẫn", "Hàng đợi không có", "NOPE", "x"],
        ["NEW-3", "Hướng dẫn", "Hoạt động?", "HD", "có lẽ"],
    ])
    before = procedures(demo_dir / "goiso.db")
    result = goiso("import-procedures", sheet, "--data-dir", demo_dir, cwd=tmp_path, ok=False)
    assert "dòng 4:" in result.stderr
    assert procedures(demo_dir / "goiso.db") == before
    unknown_queue = write_xlsx(tmp_path / "queue.xlsx", [
        ["code", "field", "name", "queue"], ["NEW-1", "Hướng dẫn", "Tốt", "HD"],
        ["NEW-2", "Hướng dẫn", "Hàng đợi không có", "NOPE"]])
    result = goiso("import-procedures", unknown_queue, "--data-dir", demo_dir, cwd=tmp_path,
                   ok=False)
    assert "dòng 3:" in result.stderr and "NOPE" in result.stderr
    assert procedures(demo_dir / "goiso.db") == before


@pytest.mark.parametrize(("content", "words"), [
    ("code,field,name\nNEW-1,f,n\n", ["queue"]),
    ("", ["rỗng"]),
    (b"code,field,name,queue\nNEW-1,f,\xff\xfe,HD\n", ["UTF-8"]),
])
def test_unreadable_files_are_refused(tmp_path, demo_dir, content, words):
    path = tmp_path / "file.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    before = procedures(demo_dir / "goiso.db")
    result = goiso("import-procedures", path, "--data-dir", demo_dir, cwd=tmp_path, ok=False)
    for word in words:
        assert word in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert procedures(demo_dir / "goiso.db") == before


# -- token, clerk, backup --------------------------------------------------------------------------

def test_token_command(tmp_path, demo_dir):
    token = goiso("token", "--counter", "4", "--data-dir", demo_dir, cwd=tmp_path).stdout.strip()
    assert token.startswith("gs_") and len(token) > 40
    hall = Hall.open(demo_dir / "goiso.db")
    try:
        assert hall.accounts.token_seat(token)[0] == 4
        fresh = goiso("token", "--counter", "4", "--revoke", "--data-dir", demo_dir,
                      cwd=tmp_path).stdout.strip()
        assert hall.accounts.token_seat(token) is None
        assert hall.accounts.token_seat(fresh)[0] == 4
    finally:
        hall.close()
    for bad in ("99", "0", str(10**30)):
        result = goiso("token", "--counter", bad, "--data-dir", demo_dir, cwd=tmp_path,
                       ok=False)
        assert "Traceback" not in result.stderr and bad in result.stderr


@pytest.mark.slow
def test_token_works_as_bearer_on_the_live_app(tmp_path, live_server):
    token = goiso("token", "--counter", "4", "--data-dir", live_server.data_dir,
                  cwd=tmp_path).stdout.strip()
    headers = {"Authorization": f"Bearer {token}"}
    paused = requests.post(live_server.url("/api/v1/counters/4/pause"), headers=headers,
                           timeout=5)
    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused"
    assert requests.post(live_server.url("/api/v1/counters/4/resume"), headers=headers,
                         timeout=5).status_code == 200
    assert requests.post(live_server.url("/api/v1/counters/3/pause"), headers=headers,
                         timeout=5).status_code == 403


def test_clerk_command(tmp_path, demo_dir):
    goiso("clerk", "lan", "--name", "Đặng Thị Lan", "--role", "supervisor", "--pin", "246802",
          "--data-dir", demo_dir, cwd=tmp_path)
    hall = Hall.open(demo_dir / "goiso.db")
    try:
        assert hall.accounts.verify("lan", "246802")["role"] == "supervisor"
    finally:
        hall.close()
    result = goiso("clerk", "lan2", "--name", "X", "--pin", "12", "--data-dir", demo_dir,
                   cwd=tmp_path, ok=False)
    assert "PIN" in result.stderr and "Traceback" not in result.stderr


def test_backup_is_a_valid_sqlite_copy(tmp_path, demo_dir):
    dest = tmp_path / "backups" / "2026-11-26.db"
    result = goiso("backup", dest, "--data-dir", demo_dir, cwd=tmp_path)
    assert str(dest) in result.stdout
    with sqlite3.connect(dest) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert count(dest, "procedures") == 22 and count(dest, "clerks") == 8
    assert count(dest, "events") == count(demo_dir / "goiso.db", "events")
    hall = Hall.open(dest)  # a backup opens as a hall
    try:
        assert len(hall.catalogue.counters()) == 6
    finally:
        hall.close()


# -- --config -----------------------------------------------------------------------------------

@pytest.fixture
def config(tmp_path) -> Path:
    """A settings file naming its own data folder; commands run from an empty folder."""
    (tmp_path / "elsewhere").mkdir()
    path = tmp_path / "goiso.toml"
    path.write_text(f'[hall]\nname = "Sảnh thử"\n\n[server]\ndata_dir = "{tmp_path / "conf"}"\n'
                    f'port = {free_port()}\n', encoding="utf-8")
    return path


def test_config_is_honoured_by_every_subcommand(tmp_path, config):
    where = tmp_path / "elsewhere"
    data = tmp_path / "conf"
    goiso("init", "--config", config, cwd=where)
    assert (data / "goiso.db").exists() and (data / "secret_key").exists()
    goiso("import-procedures", SAMPLE_CSV, "--create-queues", "--config", config, cwd=where)
    assert count(data / "goiso.db", "procedures") == 22
    goiso("clerk", "lan", "--name", "Lan", "--pin", "246810", "--config", config, cwd=where)
    assert count(data / "goiso.db", "clerks") == 1
    with sqlite3.connect(data / "goiso.db") as conn:
        conn.execute("INSERT INTO counters (number, name) VALUES (9, 'Quầy 9')")
    token = goiso("token", "--counter", "9", "--config", config, cwd=where).stdout.strip()
    assert token.startswith("gs_") and count(data / "goiso.db", "api_tokens") == 1
    goiso("backup", tmp_path / "copy.db", "--config", config, cwd=where)
    assert count(tmp_path / "copy.db", "procedures") == 22
    # GOISO_CONFIG does the same as --config.
    goiso("clerk", "mai", "--name", "Mai", "--pin", "135790", cwd=where,
          env={"GOISO_CONFIG": str(config)})
    assert count(data / "goiso.db", "clerks") == 2
    assert list(where.iterdir()) == []  # nothing fell back to ./var


@pytest.mark.slow
def test_config_is_honoured_by_serve(tmp_path, config):
    goiso("init", "--demo", "--config", config, cwd=tmp_path / "elsewhere")
    # Only --config: the folder and the port are the file's.
    with LiveServer(config=config, demo=False, cwd=tmp_path / "elsewhere") as server:
        home = requests.get(server.url("/"), timeout=5)
        assert home.status_code == 200 and "Sảnh thử" in home.text
        procs = requests.get(server.url("/api/v1/procedures"), timeout=5).json()
        assert len(procs) == 22
    assert list((tmp_path / "elsewhere").iterdir()) == []


@pytest.mark.parametrize("command", [["init"], ["token", "--counter", "1"], ["backup", "x.db"],
                                     ["import-procedures", SAMPLE_CSV], ["serve"],
                                     ["clerk", "x", "--name", "X", "--pin", "123456"]])
def test_bad_config_stops_every_subcommand(tmp_path, command):
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nprot = 8080\n[voice]\nspeed = 1000\n", encoding="utf-8")
    result = goiso(*command, "--config", "bad.toml", cwd=tmp_path, ok=False)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "bad.toml: [server] prot = 8080: không có thiết lập này; có phải là port không?",
        "bad.toml: [voice] speed = 1000: cần một số nguyên từ 80 đến 300.",
        "goiso dừng lại: hãy sửa cấu hình như trên rồi chạy lại."]
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize(("args", "env", "said"), [
    (["serve", "--port", "http"], {}, '--port "http": cần một số nguyên từ 1 đến 65535.'),
    (["init", "--data-dir", "x.db"], {}, '--data-dir "x.db": đây là một tệp; cần một thư mục'
                                         " (sẽ được tạo nếu chưa có)."),
    (["init"], {"GOISO_DB_THREADS": "many"}, 'GOISO_DB_THREADS = "many": cần một số nguyên'
                                             " từ 1 đến 64."),
    (["init", "--config", "nowhere.toml"], {}, "nowhere.toml: không có tệp cấu hình này."),
    (["init", "--config", "."], {}, ".: đây là một thư mục, không phải tệp cấu hình."),
], ids=["--port", "--data-dir", "variable", "no file", "a folder"])
def test_bad_flags_and_variables_stop_a_command_the_same_way(tmp_path, args, env, said):
    (tmp_path / "x.db").write_text("not a folder")
    result = goiso(*args, cwd=tmp_path, env=env, ok=False)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[0] == said
    assert not (tmp_path / "var").exists()


def test_backup_into_its_folder_then_restore(tmp_path, demo_dir):
    result = goiso("backup", "--keep", "2", "--data-dir", demo_dir, cwd=tmp_path)
    made = sorted((demo_dir / "backups").glob("goiso-*.db"))
    assert len(made) == 1 and str(made[0]) in result.stdout
    bad = tmp_path / "bad.db"
    bad.write_bytes(made[0].read_bytes()[:5000])
    before = (demo_dir / "goiso.db").read_bytes()
    refused = goiso("restore", bad, "--data-dir", demo_dir, cwd=tmp_path, ok=False)
    assert refused.returncode != 0 and "không khôi phục" in refused.stderr
    assert (demo_dir / "goiso.db").read_bytes() == before
    done = goiso("restore", made[0], "--data-dir", demo_dir, cwd=tmp_path)
    assert "Đã khôi phục" in done.stdout and "pre-restore" in done.stdout
    assert count(demo_dir / "goiso.db", "procedures") == 22
