"""Settings of a goiso hall: a TOML file (see goiso.example.toml), then ``GOISO_<KEY>``
environment variables and command-line flags for the [server] keys.

Each table of the file is a typed class: its annotations give the types, ranges and choices, and
its ``__post_init__`` checks what spans several keys (the core's ``Rules`` is a dataclass that
checks itself the same way). Every value, from the file, a variable or a flag, goes through one
``msgspec.convert``; whatever is wrong becomes a SettingsError with one whole sentence per
problem, naming the file (or variable, or flag), the table and the key.
"""

import dataclasses
import difflib
import json
import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct, field, structs
from msgspec import inspect as types

from counter.config import BusConfig
from display.config import BoardOptions, VoiceOptions
from hall import Rules
from hall.errors import InvalidInput
from hall.signin import SigninLimits
from printer.connection import PrinterConfig
from printer.layout import TicketLayout

ENV_PREFIX = "GOISO_"
HALL_NAME = "Trung tâm Phục vụ hành chính công"
Language = Literal["vi", "en"]
KioskSeconds = Annotated[int, Meta(ge=3, le=3600)]


class SettingsError(Exception):
    """Settings that cannot be used: one whole sentence per problem, naming where it is
    (``places``: (table, key, sentence) of each, for a form to show beside its field)."""

    def __init__(self, problems: list[str], places: list[tuple[str | None, str, str]] = ()):
        super().__init__("\n".join(problems))
        self.problems = problems
        self.places = list(places)


class HallOptions(Struct, kw_only=True, forbid_unknown_fields=True):
    """The hall's names and the language its screens start in ([hall])."""

    hall_name: str = field(default=HALL_NAME, name="name")
    hall_unit: str = field(default="", name="unit")
    default_language: Language = "vi"


class ServerOptions(Struct, kw_only=True, forbid_unknown_fields=True):
    """The web server ([server]; ``GOISO_<KEY>`` variables and flags override each key)."""

    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 8080
    data_dir: Path = Path("var")
    database: Path | None = None  # default <data_dir>/goiso.db
    secret_key: str = ""
    secure_cookies: bool = False
    session_minutes: Annotated[int, Meta(ge=1)] = 480
    sse_keepalive_seconds: Annotated[float, Meta(gt=0, le=300)] = 15.0
    sse_poll_seconds: Annotated[float, Meta(gt=0, le=60)] = 1.0
    db_threads: Annotated[int, Meta(ge=1, le=64)] = 4
    public_url: str = ""
    # "single": one process, gevent's WSGI server; "gunicorn": its arbiter + one gevent worker.
    process_model: Literal["single", "gunicorn"] = "single"
    # Reverse proxies in front of goiso (nginx for HTTPS: 1) whose X-Forwarded-For is trusted
    # for the client's address (sign-in throttling and rate limits count by it); 0 = none, so
    # a client cannot pick its own address with that header.
    trusted_proxies: Annotated[int, Meta(ge=0, le=5)] = 0
    # Event streams open at once (boards, counters, phones), in all and per client address;
    # beyond them a stream is refused with 503 + Retry-After and the screen polls instead.
    # 0 streams: every screen polls. Requests never wait behind streams: the server takes
    # this many connections more for them (serving.REQUEST_CONNECTIONS).
    max_streams: Annotated[int, Meta(ge=0, le=20000)] = 2000
    max_streams_per_address: Annotated[int, Meta(ge=1, le=20000)] = 20

    def __post_init__(self):
        """The data folder may not exist yet (it is made), but it cannot be a file."""
        if Path(self.data_dir).is_file():
            raise InvalidInput("đây là một tệp; cần một thư mục (sẽ được tạo nếu chưa có).",
                               field="data_dir", table="server")
        if self.public_url and not PUBLIC_URL.fullmatch(self.public_url):
            # Printed in every ticket's QR code: a typo here sends a day of phones nowhere.
            raise InvalidInput("cần một địa chỉ http:// hoặc https:// đầy đủ, ví dụ"
                               " \"https://hcc.example.gov.vn\" (không có ?, # hay khoảng"
                               " trắng).", field="public_url", table="server")


PUBLIC_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s?#]*)?")


class KioskOptions(Struct, kw_only=True, forbid_unknown_fields=True):
    """How kiosks behave ([kiosk])."""

    idle_seconds: KioskSeconds = 60  # back to the start screen (and the hall's language)
    ticket_seconds: KioskSeconds = 15  # how long the ticket screen stays after a good print
    failed_ticket_seconds: KioskSeconds = 60  # … and after a failed one (to photograph the QR)
    printer_down: Literal["refuse", "screen"] = "refuse"  # refuse tickets, or give screen ones


class BackupOptions(Struct, kw_only=True, forbid_unknown_fields=True):
    """Backups of the database ([backup]; ``goiso backup``, run by a timer)."""

    keep: Annotated[int, Meta(ge=1, le=1000)] = 14  # copies kept in <data_dir>/backups
    copy_to: Path | None = None  # a USB stick or network share; a failed copy is reported only
    min_free_mb: Annotated[int, Meta(ge=0)] = 200  # `goiso check` warns below this free space


class Settings(ServerOptions, kw_only=True):
    """Everything configurable, with the defaults a small hall can start from: the [server]
    keys (inherited), the [hall] keys, and one field per other table."""

    hall_name: str = HALL_NAME
    hall_unit: str = ""
    default_language: Language = "vi"
    rules: Rules = field(default_factory=Rules)
    kiosk: KioskOptions = field(default_factory=KioskOptions)
    ticket: TicketLayout = field(default_factory=TicketLayout)
    printers: dict[str, PrinterConfig] = field(default_factory=dict)
    serial: dict[str, BusConfig] = field(default_factory=dict)
    board: BoardOptions = field(default_factory=BoardOptions)
    voice: VoiceOptions = field(default_factory=VoiceOptions)
    backup: BackupOptions = field(default_factory=BackupOptions)
    security: SigninLimits = field(default_factory=SigninLimits)

    def __post_init__(self):
        """What spans tables: two [serial.<name>] tables cannot share one port."""
        super().__post_init__()
        first: dict[str, str] = {}
        for name, bus in self.serial.items():
            if bus.port in first:
                raise InvalidInput("cổng này đã dùng cho [serial.%(other)s]; các thiết bị trên"
                                   " cùng một cổng phải nằm chung một bảng.", field="port",
                                   table=f"serial.{name}", other=first[bus.port])
            first[bus.port] = name

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


# The tables of the file and the class each becomes; [printers.<kiosk id>] and
# [serial.<name>] are families: one table per name.
TABLES = {"hall": HallOptions, "server": ServerOptions, "rules": Rules, "kiosk": KioskOptions,
          "ticket": TicketLayout, "board": BoardOptions, "voice": VoiceOptions,
          "backup": BackupOptions, "security": SigninLimits}
FAMILIES = {"printers": PrinterConfig, "serial": BusConfig}
SERVER_KEYS = tuple(f.name for f in structs.fields(ServerOptions))
# The tables a supervisor may set in the browser (stored in the database over the file); the
# server, printers and serial devices belong to the machine and stay in the file.
EDITABLE = ("hall", "rules", "kiosk", "ticket", "board", "voice", "security")
HALL_KEYS = {"name": "hall_name", "unit": "hall_unit", "default_language": "default_language"}


class Wrong(Exception):
    """One problem: where (a table such as "printers.k1", and a key such as "devices[0].kind")
    and a sentence saying what is wrong (internal; load turns it into a line)."""

    def __init__(self, table: str | None, key: str, sentence: str):
        super().__init__(table, key, sentence)
        self.table, self.key, self.sentence = table, key, sentence


def load(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None,
         **flags) -> Settings:
    """Settings from an optional TOML file, then ``GOISO_<KEY>`` variables, then ``flags``
    (given [server] keys, e.g. ``data_dir=`` for --data-dir; None means not given). Raises
    SettingsError naming every problem; nothing is half-loaded."""
    origin = str(path) if path is not None else "cấu hình"
    doc = _read(Path(path)) if path is not None else {}
    given = _given(os.environ if environ is None else environ, flags)
    if given and isinstance(server := doc.get("server", {}), dict):
        doc = {**doc, "server": server | {key: value for key, (_, value) in given.items()}}
    values, wrongs = {}, []
    for name, raw in doc.items():
        try:
            values[name] = _table(name, raw)
        except Wrong as wrong:
            wrongs.append(wrong)
    if not wrongs:
        hall, server = values.pop("hall", HallOptions()), values.pop("server", ServerOptions())
        try:
            return Settings(**structs.asdict(hall), **structs.asdict(server), **values)
        except InvalidInput as exc:
            wrongs.append(_own_check(exc, None))
    raise SettingsError([_line(wrong, doc, origin, given) for wrong in wrongs],
                        [(w.table, w.key, w.sentence) for w in wrongs])


def section(settings: Settings, table: str) -> dict:
    """One editable table of ``settings`` as the file writes it (key -> plain value)."""
    if table == "hall":
        return {key: getattr(settings, name) for key, name in HALL_KEYS.items()}
    value = getattr(settings, table)
    if dataclasses.is_dataclass(value):
        # Every field: a dataclass msgspec built from a file keeps the keys the file left out
        # as class defaults, which to_builtins (reading __dict__) would leave out.
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return msgspec.to_builtins(value, enc_hook=str)


def with_overrides(settings: Settings, stored: Mapping[str, Mapping],
                   origin: str = "cài đặt trong cơ sở dữ liệu") -> Settings:
    """``settings`` with the values set in the browser (table -> key -> value) laid over its
    editable tables; each table is checked whole, as the file's are. Raises SettingsError
    naming every wrong key; nothing is half-applied."""
    changes, wrongs, doc = {}, [], {}
    for table, values in stored.items():
        if table not in EDITABLE:
            wrongs.append(Wrong(None, table, "bảng này không đặt được trên trang cài đặt."))
            continue
        doc[table] = raw = section(settings, table) | dict(values)
        try:
            converted = _table(table, raw)
        except Wrong as wrong:
            wrongs.append(wrong)
            continue
        if table == "hall":
            changes.update(structs.asdict(converted))
        else:
            changes[table] = converted
    if wrongs:
        raise SettingsError([_line(wrong, doc, origin, {}) for wrong in wrongs],
                            [(w.table, w.key, w.sentence) for w in wrongs])
    return structs.replace(settings, **changes)


def _given(environ: Mapping[str, str], flags: dict) -> dict[str, tuple[str, str]]:
    """The [server] keys given outside the file: key -> (how it was given, its text)."""
    given = {key: (f"{ENV_PREFIX}{key.upper()} = ", environ[ENV_PREFIX + key.upper()])
             for key in SERVER_KEYS if ENV_PREFIX + key.upper() in environ}
    for key, value in flags.items():
        if key not in SERVER_KEYS:
            raise TypeError(f"{key} is no [server] key")
        if value is not None:
            given[key] = (f"--{key.replace('_', '-')} ", str(value))
    return given


# The TOML parser's (English) words for the commonest mistakes, and what to say instead.
TOML_MISTAKES = (
    ("Cannot", "khai báo hai lần cùng một bảng hoặc cùng một khoá."),
    ("Duplicate", "khai báo hai lần cùng một bảng hoặc cùng một khoá."),
    ("Unterminated string", "chuỗi chưa có dấu ngoặc kép đóng."),
    ("Unclosed", "danh sách hoặc bảng thiếu dấu ] hoặc } đóng."),
    ("Expected '=' after a key", "sau tên khoá cần dấu = rồi giá trị."),
    ("Expected ']'", "tên bảng cần dấu ] đóng, ví dụ [server]."),
    ("Invalid value", "giá trị không hợp lệ; chuỗi phải nằm trong ngoặc kép, ví dụ \"vi\"."),
)


def _read(path: Path) -> dict:
    """The TOML document at ``path``; a file that cannot be read or parsed is a SettingsError."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problem = "không có tệp cấu hình này."
    except IsADirectoryError:
        problem = "đây là một thư mục, không phải tệp cấu hình."
    except PermissionError:
        problem = "không có quyền đọc tệp này."
    except UnicodeDecodeError:
        problem = "tệp không phải văn bản UTF-8."
    except OSError:
        problem = "không đọc được tệp này."
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        problem = (f"dòng {where[1]}, cột {where[2]}: " if where else "cuối tệp: ") + next(
            (said for start, said in TOML_MISTAKES if str(exc).startswith(start)),
            "sai cú pháp TOML (xem goiso.example.toml).")
    raise SettingsError([f"{path}: {problem}"])


def _table(name: str, raw):
    """One table of the file, or a family of them, converted to its class."""
    if name in TABLES:
        return _convert(raw, TABLES[name], name)
    if name not in FAMILIES:
        home = next((t for t, kind in TABLES.items() if not isinstance(raw, dict) and name in
                     {f.encode_name for f in types.type_info(kind).fields}), None)
        if home:
            raise Wrong(None, name, f"thiết lập này phải nằm trong bảng [{home}] (viết nó ở"
                        f" dưới dòng [{home}]).")
        close = difflib.get_close_matches(name, [*TABLES, *FAMILIES], n=1, cutoff=0.65)
        raise Wrong(None, name, "không có bảng này" + (
            f"; có phải là [{close[0]}] không?" if close else
            f"; các bảng là {', '.join(f'[{t}]' for t in [*TABLES, *FAMILIES])}."))
    if not isinstance(raw, dict):
        raise Wrong(None, name, f"cần các bảng [{name}.<tên>], mỗi tên một bảng.")
    return {key: _convert(table, FAMILIES[name], f"{name}.{key}") for key, table in raw.items()}


def _convert(raw, kind, table: str):
    """``raw`` (a TOML table) as a ``kind``: the types from its annotations, then its own
    checks; the first problem is raised as a Wrong naming the key."""
    if dataclasses.is_dataclass(kind) and isinstance(raw, dict):
        # msgspec ignores unknown keys of a dataclass (it refuses them for Structs itself).
        names = {f.name for f in dataclasses.fields(kind)}
        if unknown := [key for key in raw if key not in names]:
            raise Wrong(table, unknown[0], _unknown(unknown[0], types.type_info(kind)))
    try:
        return msgspec.convert(raw, kind, strict=False, dec_hook=_path)
    except InvalidInput as exc:
        raise _own_check(exc, table) from None
    except msgspec.ValidationError as exc:
        info = types.type_info(kind)  # described only when something is wrong: it is slow
        message, _, at = str(exc).partition(" - at `$")
        key = at.rstrip("`").lstrip(".")
        if named := re.fullmatch(r"Object (contains unknown|missing required) field `(.+)`",
                                 message):
            inside = key + "." if key else ""
            if named[1] == "contains unknown":
                raise Wrong(table, inside + named[2], _unknown(named[2], _at(info, key))) from None
            raise Wrong(table, inside + named[2], "thiếu thiết lập bắt buộc này.") from None
        if not key:  # the table itself is no table: name it where its parent holds it
            parent, _, name = table.rpartition(".")
            raise Wrong(parent or None, name, f"cần một bảng [{table}].") from None
        expected = _at(info, key)
        raise Wrong(table, key, f"cần {_expected(expected)}." if expected else
                    "giá trị này không dùng được.") from None


def _path(kind, value):
    """msgspec's hook for the types it does not know: paths, from non-empty strings."""
    if kind is Path and isinstance(value, str) and value:
        return Path(value)
    raise ValueError("not a path")


def _own_check(exc: InvalidInput, table: str | None) -> Wrong:
    """A problem a class's own check (its ``__post_init__``) found."""
    return Wrong(exc.params.get("table", table), exc.params.get("field", ""), str(exc))


def _unknown(key: str, info) -> str:
    """The sentence for a key the table does not have, with the nearest known one."""
    known = [f.encode_name for f in getattr(info, "fields", ())]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.65)
    return "không có thiết lập này" + (f"; có phải là {close[0]} không?" if close else
                                       " (xem goiso.example.toml).")


def _at(info, key: str):
    """The type (msgspec.inspect) found at ``key`` ("devices[0].kind") inside ``info``."""
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", key):
        if isinstance(info, types.Metadata):
            info = info.type
        if name and hasattr(info, "fields"):
            info = next((f.type for f in info.fields if f.encode_name == name), None)
        elif index and hasattr(info, "item_type"):
            info = info.item_type
        else:
            return None
    return info


def _expected(info) -> str:
    """What a value of the type ``info`` must be, in words (they follow "cần")."""
    if isinstance(info, types.Metadata):
        return (info.extra_json_schema or {}).get("description") or _expected(info.type)
    if isinstance(info, types.UnionType):
        return " hoặc ".join(_expected(t) for t in info.types
                             if not isinstance(t, types.NoneType))
    if isinstance(info, types.LiteralType):
        return "một trong: " + ", ".join(_shown(v) for v in info.values)
    if isinstance(info, types.IntType | types.FloatType):
        noun = "một số nguyên" if isinstance(info, types.IntType) else "một số"
        return noun + _bounds(info)
    if isinstance(info, types.StrType):
        return "một chuỗi trong ngoặc kép" + (" và không để trống" if info.min_length else "")
    if isinstance(info, types.CustomType) and info.cls is Path:
        return "một đường dẫn (chuỗi không trống trong ngoặc kép)"
    if isinstance(info, types.BoolType):
        return "true hoặc false"
    if isinstance(info, types.ListType | types.VarTupleType):
        return f"một danh sách [ … ], mỗi phần tử là {_expected(info.item_type)}"
    return "một bảng"


def _bounds(info) -> str:
    """The range of a number type in words: " từ 1 đến 120", " lớn hơn 0", …"""
    def number(x) -> str:
        return str(int(x)) if float(x).is_integer() else str(x)

    if info.ge is not None and info.le is not None:
        words = [f"từ {number(info.ge)} đến {number(info.le)}"]
    else:
        words = [f"{said} {number(limit)}" for said, limit in (
            ("từ", info.ge), ("lớn hơn", info.gt), ("không quá", info.le), ("nhỏ hơn", info.lt))
            if limit is not None]
        if info.ge is not None:
            words[0] += " trở lên"
    text = " và ".join(words)
    if info.multiple_of:
        text += f", là bội của {info.multiple_of}"
    return f" {text}" if text else ""


def _line(wrong: Wrong, doc: dict, origin: str, given: dict) -> str:
    """The sentence a person reads: ``goiso.toml: [server] port = "x": cần một số nguyên …``."""
    first = re.match(r"[^.\[]*", wrong.key)[0]
    if wrong.table == "server" and first in given:
        label, value = given[first]
        return f"{label}{_shown(value)}: {wrong.sentence}"
    found, value = _lookup(doc, wrong.table, wrong.key)
    if wrong.sentence.startswith(wrong.key):  # the core's sentences name their field already
        said = wrong.sentence
    elif wrong.table is None and isinstance(value, dict):  # a whole table, as [name]
        said = f"[{wrong.key}]: {wrong.sentence}"
    else:
        said = wrong.key + (f" = {_shown(value)}" if found else "") + ": " + wrong.sentence
    return f"{origin}: " + (f"[{wrong.table}] " if wrong.table else "") + said


def _lookup(doc: dict, table: str | None, key: str) -> tuple[bool, object]:
    """(found, value) at ``table`` and ``key`` in the raw document."""
    value = doc
    for step in (table.split(".") if table else []) + re.findall(r"[^.\[\]]+", key):
        if isinstance(value, dict) and step in value:
            value = value[step]
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return False, None
    return True, value


def _shown(value) -> str:
    """A value as the file writes it (strings in double quotes), cut when long."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 160 else text[:159] + "…"


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
