"""`make install DESTDIR=…` (scripts/install) staged into tmp_path: files, modes, owners, the
config, a second run, an upgrade, the units under `systemd-analyze verify`, the udev rules."""

import grp
import hashlib
import http.server
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import pytest

import settings as settings_module
from tests.liveserver import GOISO, goiso_env

ROOT = Path(__file__).resolve().parents[1]
INSTALL = ROOT / "scripts" / "install"
UNITS = "etc/systemd/system"
ALL_UNITS = ("goiso.service", "goiso-backup.service", "goiso-backup.timer",
             "goiso-screen@.service")
# Binaries the units run that the install does not place when staging: the venv (skipped with
# GOISO_INSTALL_VENV=0), cage and the base system's shell tools.
OUTSIDE = ("opt/goiso/.venv/bin/goiso", "usr/bin/cage", "bin/sh", "usr/bin/mkdir")
PRINTER_VENDORS = {"04b8", "0416", "0519", "1d90", "1504", "0fe6"}
SERIAL_VENDORS = {"0403", "067b", "1a86", "10c4"}


def install(root: Path, *args: str) -> subprocess.CompletedProcess:
    """Run `make install DESTDIR=root` without the venv step; fail the test on an error."""
    result = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT),
                             *(args or ("install",)), f"DESTDIR={root}"],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "GOISO_INSTALL_VENV": "0"})
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def manifest(root: Path) -> dict[str, tuple[str, str]]:
    """The staged paths and their (mode, owner:group) from goiso-install.manifest."""
    rows = (line.split(" ", 2) for line in
            (root / "goiso-install.manifest").read_text().splitlines())
    return {path: (mode, owner) for mode, owner, path in rows}


def tree(root: Path) -> dict[str, str]:
    """Every path under root with its mode and content hash (what a second run must keep)."""
    found = {}
    for path in sorted(root.rglob("*")):
        mode = oct(path.lstat().st_mode)
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        found[str(path.relative_to(root))] = f"{mode} {digest}"
    return found


@pytest.fixture(scope="module")
def staged_root(tmp_path_factory) -> Path:
    """A root folder with the hall install staged once (read only for the tests using it)."""
    root = tmp_path_factory.mktemp("staged")
    install(root)
    return root


def test_every_staged_file_has_its_mode_and_owner_name(staged_root):
    listed = manifest(staged_root)
    expected = {
        "/etc/goiso/goiso.toml": ("600", "goiso:goiso"),
        "/var/lib/goiso": ("750", "goiso:goiso"),
        "/etc/goiso": ("755", "root:root"),
        "/etc/goiso/screen.env": ("644", "root:root"),
        "/opt/goiso": ("755", "root:root"),
        "/opt/goiso/bin/goiso-screen": ("755", "root:root"),
        "/opt/goiso/scripts/install": ("755", "root:root"),
        "/opt/goiso/hall/store.py": ("644", "root:root"),
        "/opt/goiso/static/vendor/htmx.min.js": ("644", "root:root"),
        "/opt/goiso/translations/en/LC_MESSAGES/messages.mo": ("644", "root:root"),
        "/etc/udev/rules.d/60-goiso.rules": ("644", "root:root"),
        "/etc/systemd/journald.conf.d/goiso.conf": ("644", "root:root"),
        "/etc/chromium/policies/managed/goiso.json": ("644", "root:root"),
        **{f"/{UNITS}/{unit}": ("644", "root:root") for unit in ALL_UNITS},
    }
    for path, want in expected.items():
        assert listed.get(path) == want, path
    # The manifest tells the truth about the tree: every staged file is in it (folders such
    # as /etc/systemd belong to the system).
    files = {"/" + str(p.relative_to(staged_root)) for p in staged_root.rglob("*") if p.is_file()}
    assert files - {"/goiso-install.manifest"} <= set(listed)
    for path, (mode, _owner) in listed.items():
        assert format((staged_root / path[1:]).stat().st_mode & 0o7777, "o") == mode, path
    # Development-only parts stay out of /opt/goiso.
    for absent in ("tests", ".venv", ".git", "node_modules", "bench", "var"):
        assert not (staged_root / "opt/goiso" / absent).exists(), absent


def test_config_is_made_from_the_example_with_a_generated_secret(staged_root):
    path = staged_root / "etc/goiso/goiso.toml"
    parsed = tomllib.loads(path.read_text())
    assert re.fullmatch(r"[0-9a-f]{64}", parsed["server"]["secret_key"])
    assert parsed["server"]["data_dir"] == "/var/lib/goiso"
    assert parsed["server"]["host"] == "0.0.0.0"  # noqa: S104 (the hall network is served)
    # goiso itself accepts the file (the same check `goiso serve --config` makes).
    loaded = settings_module.load(path)
    assert loaded.secret_key == parsed["server"]["secret_key"]
    assert str(loaded.data_dir) == "/var/lib/goiso"


def test_a_second_run_changes_nothing_and_keeps_the_secret(tmp_path):
    install(tmp_path)
    before = tree(tmp_path)
    again = install(tmp_path)
    assert tree(tmp_path) == before
    assert "writing /etc/goiso/goiso.toml" not in again.stderr


def test_an_upgrade_keeps_config_and_data_and_drops_old_files(tmp_path):
    install(tmp_path)
    config = tmp_path / "etc/goiso/goiso.toml"
    config.write_text(config.read_text().replace('name = "Trung tâm', 'name = "Sảnh A — Trung tâm'))
    database = tmp_path / "var/lib/goiso/goiso.db"
    database.write_bytes(b"tickets")
    old = tmp_path / "opt/goiso/hall/gone_in_this_version.py"
    old.write_text("x = 1\n")
    changed_code = tmp_path / "opt/goiso/hall/store.py"
    changed_code.write_text("# an older version\n")
    install(tmp_path)
    assert "Sảnh A — Trung tâm" in config.read_text()
    assert format(config.stat().st_mode & 0o777, "o") == "600"
    assert database.read_bytes() == b"tickets"
    assert not old.exists()
    assert changed_code.read_bytes() == (ROOT / "hall/store.py").read_bytes()


def test_the_screen_only_install_places_only_the_screen(tmp_path):
    install(tmp_path, "install-screen")
    listed = manifest(tmp_path)
    assert listed["/opt/goiso/bin/goiso-screen"] == ("755", "root:root")
    assert f"/{UNITS}/goiso-screen@.service" in listed
    assert not (tmp_path / "etc/goiso/goiso.toml").exists()
    assert not (tmp_path / "opt/goiso/hall").exists()
    assert not (tmp_path / UNITS / "goiso.service").exists()
    assert not (tmp_path / "var/lib/goiso").exists()


def verify_root(staged_root: Path, tmp_path: Path, *, outside=OUTSIDE) -> Path:
    """The staged tree plus what `systemd-analyze verify --root` needs beside it: systemd's own
    units (targets) and stand-ins for the binaries of the base system and the skipped venv."""
    root = tmp_path / "root"
    shutil.copytree(staged_root, root, symlinks=True)
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    for name in outside:
        stand_in = root / name
        stand_in.parent.mkdir(parents=True, exist_ok=True)
        stand_in.write_text("#!/bin/sh\n")
        stand_in.chmod(0o755)
    return root


def verify(root: Path, unit: str) -> subprocess.CompletedProcess:
    """`systemd-analyze verify --root=root` on one staged unit file."""
    return subprocess.run(["systemd-analyze", "verify", f"--root={root}",
                           str(root / UNITS / unit)],
                          capture_output=True, text=True, timeout=60)


needs_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None or
                                   not Path("/usr/lib/systemd/system").is_dir(),
                                   reason="systemd-analyze or systemd's units not installed")


@needs_analyze
@pytest.mark.parametrize("unit", ALL_UNITS)
def test_systemd_analyze_verifies_each_unit_as_installed(staged_root, tmp_path, unit):
    root = verify_root(staged_root, tmp_path)
    if unit.endswith("@.service"):  # a template is verified through an instance
        instance = unit.replace("@.", "@kiosk-k1.")
        shutil.copy(root / UNITS / unit, root / UNITS / instance)
        unit = instance
    result = verify(root, unit)
    assert result.returncode == 0, result.stderr
    # Warnings (an unknown key, a bad value) do not change the exit status: none allowed.
    assert result.stderr.strip() == "", result.stderr


@needs_analyze
def test_systemd_analyze_catches_a_missing_executable(staged_root, tmp_path):
    root = verify_root(staged_root, tmp_path, outside=[p for p in OUTSIDE if ".venv" not in p])
    result = verify(root, "goiso.service")
    assert result.returncode != 0
    assert "/opt/goiso/.venv/bin/goiso" in result.stderr


def udev_rules(path: Path) -> list[list[tuple[str, str, str]]]:
    """The rules of a udev rules file as (key, operator, value) triples, checked like udev
    reads them: comma-separated, a known key, an operator, a double-quoted value."""
    pair = re.compile(r'\s*([A-Z_]+(?:\{[^}]+\})?)\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"\s*(?:,|$)')
    rules = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        triples, at = [], 0
        while at < len(line):
            found = pair.match(line, at)
            assert found, f"{path.name}:{number}: cannot read from column {at}: {line[at:]}"
            triples.append(found.groups())
            at = found.end()
        rules.append(triples)
    return rules


MATCH_KEYS = {"ACTION", "SUBSYSTEM", "KERNEL", "ENV", "ATTR", "ATTRS"}
ASSIGN_KEYS = {"GROUP", "MODE", "SYMLINK"}


def test_udev_rules_parse_and_name_the_documented_devices(staged_root):
    path = staged_root / "etc/udev/rules.d/60-goiso.rules"
    rules = udev_rules(path)
    assert rules
    printers, serials = set(), set()
    for rule in rules:
        for key, operator, value in rule:
            base = key.split("{")[0]
            if operator in ("==", "!="):
                assert base in MATCH_KEYS, key
            else:
                assert base in ASSIGN_KEYS and operator in ("=", "+="), key
            if key == "GROUP":
                assert value in ("lp", "dialout")
            if key == "MODE":
                assert value == "0660"
            if key == "SYMLINK":
                assert re.fullmatch(r"goiso-(printer|serial)-(%k|%n|\$attr\{serial\})", value)
            if key == "ATTRS{idVendor}" or key == "ATTR{idVendor}":
                vendors = set(value.split("|"))
                (printers if vendors & PRINTER_VENDORS else serials).update(vendors)
    assert printers == PRINTER_VENDORS
    assert serials == SERIAL_VENDORS
    text = path.read_text()
    for vendor in PRINTER_VENDORS | SERIAL_VENDORS:  # each id is named in the comment
        assert re.search(rf"^#.*\b{vendor}\b", text, re.M), vendor


def test_udev_rule_reader_refuses_a_broken_rule(tmp_path):
    broken = tmp_path / "broken.rules"
    broken.write_text('SUBSYSTEM=="tty", GROUP=dialout\n')
    with pytest.raises(AssertionError, match="cannot read"):
        udev_rules(broken)


@pytest.mark.skipif(shutil.which("udevadm") is None, reason="udevadm not installed here")
def test_udevadm_verify_accepts_the_rules(staged_root):
    help_text = subprocess.run(["udevadm", "--help"], capture_output=True, text=True).stdout
    if "verify" not in help_text:
        pytest.skip("this udevadm has no verify command (systemd < 254)")
    rules = staged_root / "etc/udev/rules.d/60-goiso.rules"
    result = subprocess.run(["udevadm", "verify", str(rules)], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


class Health(http.server.BaseHTTPRequestHandler):
    """/healthz answering 503 once, then 200 (a server still starting)."""

    answers = [503, 200]

    def do_GET(self):
        """Answer the next status of ``answers`` (the last one for good)."""
        status = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        self.send_response(status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args):
        """Quiet."""


def test_the_screen_waits_for_the_server_health(staged_root):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        address = f"http://127.0.0.1:{server.server_address[1]}"
        result = subprocess.run([str(staged_root / "opt/goiso/bin/goiso-screen"), "wait"],
                                env={**os.environ, "GOISO_SERVER": address},
                                capture_output=True, text=True, timeout=30)
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    assert Health.answers == [200]  # it asked until the server was healthy


def test_the_screen_starts_chromium_with_the_hall_flags(staged_root, tmp_path):
    argv = tmp_path / "argv"
    browser = tmp_path / "chromium"
    browser.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {argv}\n')
    browser.chmod(0o755)
    env = {**os.environ, "GOISO_SERVER": "http://192.168.1.10:8080/", "GOISO_CHROMIUM":
           str(browser), "RUNTIME_DIRECTORY": str(tmp_path / "run"),
           "GOISO_CHROMIUM_FLAGS": "--force-device-scale-factor=1.25"}
    result = subprocess.run([str(staged_root / "opt/goiso/bin/goiso-screen"), "browser",
                             "kiosk/k1"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    flags = argv.read_text().splitlines()
    for flag in ("--kiosk", "--app=http://192.168.1.10:8080/kiosk/k1",
                 f"--user-data-dir={tmp_path / 'run'}/chromium", "--noerrdialogs",
                 "--hide-crash-restore-bubble", "--disable-pinch",
                 "--overscroll-history-navigation=0", "--touch-events=enabled",
                 "--disable-features=TranslateUI", "--disable-component-update",
                 "--autoplay-policy=no-user-gesture-required", "--start-maximized",
                 "--force-device-scale-factor=1.25"):
        assert flag in flags, flag


def test_the_unit_shows_the_page_of_its_instance(staged_root):
    unit = (staged_root / UNITS / "goiso-screen@.service").read_text()
    # %I unescapes the instance: goiso-screen@kiosk-k1 shows kiosk/k1 (systemd-escape kiosk/k1).
    assert "ExecStart=/usr/bin/cage -s -- /opt/goiso/bin/goiso-screen browser %I" in unit
    assert "ExecStartPre=/opt/goiso/bin/goiso-screen wait" in unit
    for page, instance in (("kiosk/k1", "kiosk-k1"), ("display/h-1", r"display-h\x2d1")):
        escaped = subprocess.run(["systemd-escape", page], capture_output=True, text=True)
        assert escaped.stdout.strip() == instance
        back = subprocess.run(["systemd-escape", "--unescape", instance], capture_output=True,
                              text=True)
        assert back.stdout.strip() == page


FAKE_PYTHON = """#!/bin/sh
# Stands in for python3 and the venv's python and pip: records each call in $CALLS.
echo "$(basename "$0") $*" >> "$CALLS"
if [ "$1 $2" = "-m venv" ]; then
    mkdir -p "$3/bin"
    cp "$0" "$3/bin/python"
    cp "$0" "$3/bin/pip"
fi
"""


def test_the_venv_is_made_once_and_reinstalled_when_dependencies_change(tmp_path):
    calls = tmp_path / "calls"
    python = tmp_path / "python3"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    root = tmp_path / "root"
    env = {**os.environ, "GOISO_INSTALL_VENV": "1", "PYTHON": str(python), "CALLS": str(calls)}

    def run():
        result = subprocess.run([str(INSTALL), f"DESTDIR={root}"], env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        lines = calls.read_text().splitlines()
        calls.unlink()
        return lines

    app = root / "opt/goiso"
    first = run()
    assert first[0] == f"python3 -m venv {app}/.venv"
    assert f"pip install --quiet --disable-pip-version-check -e {app}" in first
    assert first[-1].startswith(f"python -m compileall -q -x /\\.venv/ {app}")
    # Nothing new: the venv is kept, only the bytecode is brought up to date.
    assert [line.split()[0:3] for line in run()] == [["python", "-m", "compileall"]]
    # New dependencies (an upgrade's pyproject.toml): installed again into the same venv.
    (app / ".venv/.goiso-installed").write_text("an older pyproject.toml\n")
    again = run()
    assert f"pip install --quiet --disable-pip-version-check -e {app}" in again
    assert not any("-m venv" in line for line in again)


# The real install (users, chown, systemctl) run in a private mount namespace where /etc, /opt
# and /var are overlays whose changes land in tmp_path: the machine itself never changes.
# systemctl, udevadm and apt-mark are stand-ins that record their arguments.
REAL_INSTALL = r"""
set -eu
for place in etc opt var; do
    mkdir -p "$SANDBOX/$place/upper" "$SANDBOX/$place/work"
    mount -t overlay overlay -o \
        "lowerdir=/$place,upperdir=$SANDBOX/$place/upper,workdir=$SANDBOX/$place/work" "/$place"
    [ "$(findmnt -n -o FSTYPE "/$place")" = overlay ] || exit 97
done
for tool in systemctl udevadm apt-mark; do
    printf '#!/bin/sh\necho "%s $*" >> "$SANDBOX/calls"\n' "$tool" > "$SANDBOX/bin/$tool"
    chmod 755 "$SANDBOX/bin/$tool"
done
PATH="$SANDBOX/bin:$PATH" GOISO_INSTALL_VENV=0 "$INSTALL" 2> "$SANDBOX/first.log"
echo --- >> "$SANDBOX/calls"
PATH="$SANDBOX/bin:$PATH" GOISO_INSTALL_VENV=0 "$INSTALL" 2> "$SANDBOX/second.log"
id -nG goiso > "$SANDBOX/goiso.groups"
id -nG goiso-screen > "$SANDBOX/screen.groups"
for path in /etc/goiso/goiso.toml /var/lib/goiso /etc/goiso /opt/goiso/hall/store.py \
        /opt/goiso/bin/goiso-screen /etc/systemd/system/goiso.service; do
    stat -c '%a %U:%G %n' "$path"
done > "$SANDBOX/stat"
"""


def existing(*groups: str) -> set[str]:
    """Those of the groups this machine has."""
    found = set()
    for name in groups:
        try:
            grp.getgrnam(name)
        except KeyError:
            continue
        found.add(name)
    return found


def can_sandbox() -> bool:
    """Root with private mount namespaces and overlayfs (what REAL_INSTALL needs)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                           capture_output=True)
    return probe.returncode == 0 and "overlay" in Path("/proc/filesystems").read_text()


@pytest.mark.slow
@pytest.mark.skipif(not can_sandbox(), reason="needs root, unshare and overlayfs")
def test_the_real_install_makes_users_owns_files_and_enables_units(tmp_path):
    (tmp_path / "bin").mkdir()
    env = {**os.environ, "SANDBOX": str(tmp_path), "INSTALL": str(INSTALL)}
    result = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c",
                             REAL_INSTALL], env=env, capture_output=True, text=True,
                            timeout=300)
    logs = "".join((tmp_path / log).read_text() for log in ("first.log", "second.log")
                   if (tmp_path / log).exists())
    assert result.returncode == 0, result.stderr + logs
    assert not Path("/etc/goiso").exists()  # the machine is untouched
    # The groups a Pi has; this machine may lack some (input, render), which are then left out.
    assert {"goiso", *existing("dialout", "lp", "audio")} == set(
        (tmp_path / "goiso.groups").read_text().split())
    assert {"goiso-screen", *existing("video", "render", "input", "audio", "tty")} == set(
        (tmp_path / "screen.groups").read_text().split())
    assert (tmp_path / "stat").read_text().splitlines() == [
        "600 goiso:goiso /etc/goiso/goiso.toml",
        "750 goiso:goiso /var/lib/goiso",
        "755 root:root /etc/goiso",
        "644 root:root /opt/goiso/hall/store.py",
        "755 root:root /opt/goiso/bin/goiso-screen",
        "644 root:root /etc/systemd/system/goiso.service",
    ]
    first, second = (tmp_path / "calls").read_text().split("---\n")
    assert "systemctl enable goiso.service goiso-backup.timer" in first
    assert "systemctl restart goiso.service" in first
    assert "udevadm control --reload" in first
    assert "apt-mark hold" in first or "chromium" not in logs
    # The second run finds everything in place: no users made, the hall not restarted.
    assert "systemctl restart goiso.service" not in second.replace("is-active", "")
    assert "creating the system user" not in (tmp_path / "second.log").read_text()
    assert "writing /etc/goiso/goiso.toml" not in (tmp_path / "second.log").read_text()


def unit_value(unit: str, key: str) -> str:
    """The one value of ``key`` in a unit file's text."""
    values = re.findall(rf"^{key}=(.*)$", unit, re.M)
    assert len(values) == 1, (key, values)
    return values[0]


def test_the_backup_unit_command_backs_the_hall_up(staged_root, tmp_path):
    """The timer's command as systemd runs it (%% is %), with this checkout's goiso and a hall
    in tmp_path in place of /opt/goiso/.venv, /etc/goiso and /var/lib/goiso."""
    data = tmp_path / "data"
    config = tmp_path / "goiso.toml"
    config.write_text((staged_root / "etc/goiso/goiso.toml").read_text()
                      .replace('data_dir = "/var/lib/goiso"', f'data_dir = "{data}"'))
    subprocess.run([str(GOISO), "init", "--config", str(config)], check=True,
                   capture_output=True, env=goiso_env(), timeout=60)
    unit = (staged_root / UNITS / "goiso-backup.service").read_text()
    places = {"/opt/goiso/.venv/bin/goiso": str(GOISO), "/etc/goiso/goiso.toml": str(config),
              "/var/lib/goiso": str(data), "%%": "%"}
    commands = [unit_value(unit, "ExecStartPre"), unit_value(unit, "ExecStart")]
    for command in commands:
        for real, here in places.items():
            command = command.replace(real, here)
        argv = shlex.split(command)
        subprocess.run(argv, check=True, capture_output=True, env=goiso_env(), timeout=60)
    copies = list((data / "backups").glob("goiso-*.db"))
    assert len(copies) == 1
    assert re.fullmatch(r"goiso-\d{8}-\d{6}-\d{6}\.db", copies[0].name)  # rotated by [backup]
    with sqlite3.connect(copies[0]) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@needs_analyze
@pytest.mark.parametrize("unit", ["goiso.service", "goiso-backup.service"])
def test_the_server_and_backup_units_are_hardened(staged_root, unit):
    result = subprocess.run(["systemd-analyze", "security", "--offline=true",
                             str(staged_root / UNITS / unit)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    level = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", result.stdout)
    assert level, result.stdout
    assert float(level[1]) <= 2.0 and level[2] == "OK", level[0]


RUN_INSTALLED = """
import sys
from pathlib import Path
import server, settings
app_dir = Path(sys.argv[1])
assert Path(server.__file__).parent == app_dir, server.__file__
hall = settings.load(app_dir.parent.parent / "etc/goiso/goiso.toml", data_dir=sys.argv[2])
client = server.create_app(hall).test_client()
for path in ("/", "/static/vendor/htmx.min.js"):
    reply = client.get(path, headers={"Accept-Language": "en"})
    assert reply.status_code == 200, (path, reply.status_code)
print(client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True))
"""


def test_the_copied_application_serves_its_pages_and_static_files(staged_root, tmp_path):
    """What /opt/goiso holds is enough: the app imported from there (not this checkout) with
    the installed config answers its home page and the htmx asset."""
    app = staged_root / "opt/goiso"
    result = subprocess.run([sys.executable, "-c", RUN_INSTALLED, str(app), str(tmp_path)],
                            cwd=tmp_path, env={**goiso_env(), "PYTHONPATH": str(app)},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "<html" in result.stdout
