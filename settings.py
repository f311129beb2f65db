"""Settings of a goiso hall: a TOML file (see goiso.example.toml), then environment overrides."""

import os
import secrets
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from counter.config import BusConfig
from display.config import BoardOptions, VoiceOptions
from hall import Rules
from hall.errors import HallError
from printer.connection import PrinterConfig
from printer.layout import TicketLayout

ENV_PREFIX = "GOISO_"


class SettingsError(HallError):
    """A settings file or variable that cannot be used (said to the person starting goiso)."""

    code = "invalid_settings"

    def __init__(self, detail: str):
        super().__init__("%(detail)s", detail=detail)


@dataclass
class KioskOptions:
    """How kiosks behave ([kiosk] in the TOML)."""

    idle_seconds: int = 60  # back to the start screen (and the hall's language) when untouched
    ticket_seconds: int = 15  # how long the ticket screen stays after a good print
    failed_ticket_seconds: int = 60  # … and after a failed one (time to photograph the QR)
    printer_down: str = "refuse"  # "refuse" new tickets, or give "screen" tickets, when down

    def check(self) -> None:
        if self.printer_down not in ("refuse", "screen"):
            raise SettingsError("[kiosk] printer_down phải là refuse hoặc screen")
        for name in ("idle_seconds", "ticket_seconds", "failed_ticket_seconds"):
            if not 3 <= int(getattr(self, name)) <= 3600:
                raise SettingsError(f"[kiosk] {name} phải từ 3 đến 3600 giây")


@dataclass
class Settings:
    """Everything configurable, with the defaults a small hall can start from."""

    hall_name: str = "Trung tâm Phục vụ hành chính công"
    hall_unit: str = ""
    rules: Rules = field(default_factory=Rules)
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("var")
    database: Path | None = None
    secret_key: str = ""
    secure_cookies: bool = False
    session_minutes: int = 480
    sse_keepalive_seconds: float = 15.0
    sse_poll_seconds: float = 1.0
    db_threads: int = 4
    default_language: str = "vi"
    public_url: str = ""
    kiosk: KioskOptions = field(default_factory=KioskOptions)
    ticket: TicketLayout = field(default_factory=TicketLayout)
    printers: dict[str, PrinterConfig] = field(default_factory=dict)
    serial: dict[str, BusConfig] = field(default_factory=dict)
    board: BoardOptions = field(default_factory=BoardOptions)
    voice: VoiceOptions = field(default_factory=VoiceOptions)

    @property
    def database_path(self) -> Path:
        return Path(self.database) if self.database else Path(self.data_dir) / "goiso.db"

    def flask_config(self) -> dict:
        """The Flask config keys derived from these settings (Flask's own and its extensions';
        everything else is read from the settings themselves)."""
        return {
            "SECRET_KEY": self.secret_key or load_secret(Path(self.data_dir)),
            "SESSION_COOKIE_SECURE": self.secure_cookies,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_NAME": "goiso_session",
            "PERMANENT_SESSION_LIFETIME": self.session_minutes * 60,
            "BABEL_DEFAULT_LOCALE": self.default_language,
            # API bodies are small JSON objects; anything bigger is refused (413) unread.
            "MAX_CONTENT_LENGTH": 1 << 20,
        }


RULE_KEYS = {f.name for f in fields(Rules) if f.init}
SERVER_KEYS = {"host", "port", "data_dir", "database", "secret_key", "secure_cookies",
               "session_minutes", "sse_keepalive_seconds", "sse_poll_seconds", "db_threads",
               "public_url"}


def load(path: str | Path | None = None, data_dir: str | Path | None = None,
         environ: dict | None = None) -> Settings:
    """Settings from an optional TOML file, then ``GOISO_*`` environment variables, then flags."""
    environ = os.environ if environ is None else environ
    doc: dict = {}
    if path is not None:
        path = Path(path)
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError(f"không có tệp cấu hình {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: {exc}") from None
    unknown = set(doc) - {"hall", "server", "rules", "kiosk", "ticket", "printers", "serial",
                          "board", "voice"}
    if unknown:
        raise SettingsError("mục lạ trong cấu hình: " + ", ".join(sorted(unknown)))
    hall = dict(doc.get("hall", {}))
    server = dict(doc.get("server", {}))
    rules = dict(doc.get("rules", {}))
    for key in set(server) - SERVER_KEYS:
        raise SettingsError(f"[server] {key}: không có thiết lập này")
    for key in set(rules) - RULE_KEYS:
        raise SettingsError(f"[rules] {key}: không có thiết lập này")
    for key in set(hall) - {"name", "unit", "default_language"}:
        raise SettingsError(f"[hall] {key}: không có thiết lập này")
    for key in ("outcomes", "rating_levels"):
        if key in rules:
            rules[key] = tuple(rules[key])
    for key in SERVER_KEYS:
        value = environ.get(ENV_PREFIX + key.upper())
        if value is not None:
            server[key] = value
    if data_dir is not None:
        server["data_dir"] = data_dir
    try:
        hall_rules = Rules(**rules)
    except HallError as exc:
        raise SettingsError(f"[rules] {exc}") from None
    settings = Settings(
        hall_name=hall.get("name", Settings.hall_name),
        hall_unit=hall.get("unit", ""),
        default_language=hall.get("default_language", "vi"),
        rules=hall_rules,
        kiosk=_table(KioskOptions, "kiosk", doc.get("kiosk", {})),
        ticket=_table(TicketLayout, "ticket", doc.get("ticket", {})),
        printers=_printers(doc.get("printers", {})),
        serial=_buses(doc.get("serial", {})),
        board=_table(BoardOptions, "board", doc.get("board", {})),
        voice=_table(VoiceOptions, "voice", doc.get("voice", {})),
    )
    settings.kiosk.check()
    for options in (settings.board, settings.voice):
        try:
            options.check()
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
    for key, value in server.items():
        current = getattr(settings, key)
        try:
            if isinstance(current, bool):
                value = value if isinstance(value, bool) else str(value).lower() in (
                    "1", "true", "yes", "on")
            elif isinstance(current, int):
                value = int(value)
            elif isinstance(current, float):
                value = float(value)
            elif key in ("data_dir", "database"):
                value = Path(value)
        except ValueError:
            raise SettingsError(f"[server] {key} = {value!r}") from None
        setattr(settings, key, value)
    if settings.default_language not in ("vi", "en"):
        raise SettingsError("default_language phải là vi hoặc en")
    return settings


def _table(kind, section: str, values):
    """A settings dataclass from one TOML table, refusing unknown keys and wrong types."""
    if not isinstance(values, dict):
        raise SettingsError(f"[{section}] phải là một bảng")
    known = {f.name: f for f in fields(kind)}
    for key, value in values.items():
        if key not in known:
            raise SettingsError(f"[{section}] {key}: không có thiết lập này")
        default = getattr(kind(), key)
        if type(default) is not type(value) and not (
                isinstance(default, float) and isinstance(value, int)):
            raise SettingsError(f"[{section}] {key} = {value!r}: cần kiểu"
                               f" {type(default).__name__}")
    return kind(**values)


def _printers(tables) -> dict[str, PrinterConfig]:
    if not isinstance(tables, dict):
        raise SettingsError("[printers] phải là các bảng [printers.<mã ki-ốt>]")
    out = {}
    for name, values in tables.items():
        config = _table(PrinterConfig, f"printers.{name}", values)
        try:
            config.check(name)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        out[name] = config
    return out


def _buses(tables) -> dict[str, BusConfig]:
    if not isinstance(tables, dict) or not all(isinstance(v, dict) for v in tables.values()):
        raise SettingsError("[serial] phải là các bảng [serial.<tên cổng>]")
    try:
        buses = {name: BusConfig.from_dict(name, values) for name, values in tables.items()}
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    ports = [bus.port for bus in buses.values()]
    if len(ports) != len(set(ports)):
        raise SettingsError("[serial] hai cổng dùng chung một thiết bị")
    return buses


def load_secret(data_dir: Path) -> str:
    """The hall's session secret, made once and kept in the data folder (mode 600)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret
