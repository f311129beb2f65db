"""What a supervisor describes: fields, procedures, queues, counters, kiosks and boards.

Everything here is data edited at run time (decrees reorganise catalogues); nothing is code.
"""

import csv
import io
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import errors, events, numbering
from .rules import POLICIES, Rules, parse_hhmm
from .store import Store

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
IMPORT_COLUMNS = ("code", "field", "name", "queue")
TRUE_WORDS = {"1", "true", "yes", "y", "x", "có", "co"}
FALSE_WORDS = {"0", "false", "no", "n", "không", "khong"}
MAX_COUNTER = 999  # counters are numbered 1..MAX_COUNTER


def _text(value, name: str, limit: int = 300) -> str:
    if not isinstance(value, str) or not value.strip():
        raise errors.InvalidInput(detail=f"{name} trống")
    value = " ".join(value.split())
    if len(value) > limit:
        raise errors.InvalidInput(detail=f"{name} dài quá {limit} ký tự")
    return value


def _code(value, name: str = "code") -> str:
    value = _text(value, name, 40)
    if not CODE_RE.match(value):
        raise errors.InvalidInput(detail=f"{name} = {value!r}: chỉ dùng chữ, số, . _ -")
    return value


def _int(value, name: str, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.InvalidInput(detail=f"{name} phải là số nguyên")
    if (low is not None and value < low) or (high is not None and value > high):
        raise errors.InvalidInput(detail=f"{name} = {value} ngoài khoảng cho phép")
    return value


def _bool(value, name: str = "active") -> bool:
    if not isinstance(value, bool):
        raise errors.InvalidInput(detail=f"{name} phải là true hoặc false")
    return value


def _weight(value, code) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise errors.InvalidInput(detail=f"weight of {code!r}")
    try:
        weight = float(value)
    except OverflowError:
        weight = math.inf
    if not (math.isfinite(weight) and weight > 0):
        raise errors.InvalidInput(detail=f"weight of {code!r}")
    return weight


class Catalogue:
    """Reads and edits the description of a hall."""

    def __init__(self, store: Store, clock=time.time, rules: Rules | None = None):
        self.store = store
        self.clock = clock
        self.rules = rules or Rules()

    def _changed(self, conn, what: str, key, **data) -> None:
        now = self.clock()
        events.append(conn, self.rules.business_day(now), now, "catalogue_changed",
                      data={"what": what, "key": key, **data})

    # -- fields and procedures ---------------------------------------------------------------

    def field_id(self, conn, name: str, create: bool = True) -> int:
        """The id of a field by name, created at the end of the list when new."""
        name = _text(name, "field", 200)
        row = conn.execute("SELECT id FROM fields WHERE name = ?", (name,)).fetchone()
        if row:
            return row[0]
        if not create:
            raise errors.InvalidInput(detail=f"field {name!r}")
        position = conn.execute("SELECT coalesce(max(position), 0) + 1 FROM fields").fetchone()[0]
        return conn.execute("INSERT INTO fields (name, position) VALUES (?, ?)",
                            (name, position)).lastrowid

    def put_procedure(self, code: str, *, name: str, field: str, queue: str,
                      position: int | None = None, active: bool = True) -> dict:
        """Create or update one procedure."""
        code, name, queue = _code(code), _text(name, "name"), _code(queue, "queue")
        _bool(active)
        if position is not None:
            _int(position, "position", 0, 100_000)
        with self.store.write() as conn:
            if not conn.execute("SELECT 1 FROM queues WHERE code = ?", (queue,)).fetchone():
                raise errors.UnknownQueue(code=queue)
            field_id = self.field_id(conn, field)
            if position is None:
                row = conn.execute("SELECT position FROM procedures WHERE code = ?",
                                   (code,)).fetchone()
                position = row[0] if row else conn.execute(
                    "SELECT coalesce(max(position), 0) + 1 FROM procedures").fetchone()[0]
            conn.execute(
                "INSERT INTO procedures (code, name, field_id, queue_code, position, active)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO UPDATE SET name = excluded.name,"
                " field_id = excluded.field_id, queue_code = excluded.queue_code,"
                " position = excluded.position, active = excluded.active",
                (code, name, field_id, queue, _int(position, "position", 0), int(bool(active))))
            self._changed(conn, "procedure", code)
        return self.procedure(code)

    def procedure(self, code: str) -> dict:
        """One procedure with its field and queue."""
        for proc in self.procedures(include_inactive=True):
            if proc["code"] == code:
                return proc
        raise errors.UnknownProcedure(code=code)

    def procedures(self, include_inactive: bool = False) -> list[dict]:
        """Procedures in kiosk order (field order, then procedure order)."""
        with self.store.read() as conn:
            rows = conn.execute(
                "SELECT p.code, p.name, p.position, p.active, f.name AS field, f.id AS field_id,"
                " q.code AS queue_code, q.name AS queue_name FROM procedures p"
                " JOIN fields f ON f.id = p.field_id JOIN queues q ON q.code = p.queue_code"
                + ("" if include_inactive else " WHERE p.active AND q.active AND f.active")
                + " ORDER BY f.position, f.name, p.position, p.code").fetchall()
        return [{"code": r["code"], "name": r["name"], "field": r["field"],
                 "field_id": r["field_id"], "queue": {"code": r["queue_code"],
                                                      "name": r["queue_name"]},
                 "position": r["position"], "active": bool(r["active"])} for r in rows]

    def fields(self) -> list[dict]:
        """Fields that have at least one active procedure, in order."""
        with self.store.read() as conn:
            rows = conn.execute(
                "SELECT f.id, f.name, count(p.code) AS procedures FROM fields f"
                " JOIN procedures p ON p.field_id = f.id AND p.active WHERE f.active"
                " GROUP BY f.id ORDER BY f.position, f.name").fetchall()
        return [dict(r) for r in rows]

    # -- queues ------------------------------------------------------------------------------

    def put_queue(self, code: str, *, name: str, number_format: str = "prefix",
                  prefix: str = "", digits: int = 3, block: int | None = None,
                  priority_policy: str | None = None, interleave_every: int | None = None,
                  issue_from: str | None = None, issue_until: str | None = None,
                  daily_limit: int | None = None, service_minutes: float = 5,
                  position: int = 0, active: bool = True) -> dict:
        """Create or update a queue; number formats may not collide with another queue's."""
        code, name = _code(code), _text(name, "name", 200)
        if number_format not in numbering.FORMATS:
            raise errors.InvalidInput(detail=f"number_format = {number_format!r}")
        if not isinstance(prefix, str) or not re.fullmatch(r"[A-Z]{0,2}", prefix):
            raise errors.InvalidInput(detail=f"prefix = {prefix!r}: tối đa 2 chữ in hoa")
        if number_format == "prefix" and not prefix:
            raise errors.InvalidInput(detail="định dạng prefix cần chữ cái đầu (A, B…)")
        _int(digits, "digits", 1, 6)
        if number_format == "block":
            _int(block, "block", 1, 9)
        if priority_policy is not None and priority_policy not in POLICIES:
            raise errors.InvalidInput(detail=f"priority_policy = {priority_policy!r}")
        if interleave_every is not None:
            _int(interleave_every, "interleave_every", 1, 100)
        for value, label in ((issue_from, "issue_from"), (issue_until, "issue_until")):
            if value is not None:
                parse_hhmm(value, label)
        if daily_limit is not None:
            _int(daily_limit, "daily_limit", 1, 100_000)
        _int(position, "position", 0, 100_000)
        _bool(active)
        if isinstance(service_minutes, bool) or not isinstance(service_minutes, int | float) \
                or not 0 < service_minutes <= 480:
            raise errors.InvalidInput(detail="service_minutes phải trong (0, 480]")
        with self.store.write() as conn:
            for other in conn.execute("SELECT * FROM queues WHERE code != ?", (code,)):
                if number_format == "prefix" and other["number_format"] == "prefix" \
                        and other["prefix"] == prefix:
                    raise errors.InvalidInput(detail=f"chữ {prefix} đã dùng cho {other['code']}")
                if number_format == "block" and other["number_format"] == "block" \
                        and other["block"] == block:
                    raise errors.InvalidInput(detail=f"khối {block} đã dùng cho {other['code']}")
            conn.execute(
                "INSERT INTO queues (code, name, number_format, prefix, digits, block,"
                " priority_policy, interleave_every, issue_from, issue_until, daily_limit,"
                " service_minutes, position, active) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT (code) DO UPDATE SET name = excluded.name,"
                " number_format = excluded.number_format, prefix = excluded.prefix,"
                " digits = excluded.digits, block = excluded.block,"
                " priority_policy = excluded.priority_policy,"
                " interleave_every = excluded.interleave_every, issue_from = excluded.issue_from,"
                " issue_until = excluded.issue_until, daily_limit = excluded.daily_limit,"
                " service_minutes = excluded.service_minutes, position = excluded.position,"
                " active = excluded.active",
                (code, name, number_format, prefix, digits, block, priority_policy,
                 interleave_every, issue_from, issue_until, daily_limit, float(service_minutes),
                 position, int(bool(active))))
            self._changed(conn, "queue", code)
        return self.queue(code)

    def queue(self, code: str) -> dict:
        """One queue with its settings."""
        for queue in self.queues(include_inactive=True):
            if queue["code"] == code:
                return queue
        raise errors.UnknownQueue(code=code)

    def queues(self, include_inactive: bool = False, day: str | None = None) -> list[dict]:
        """Queues in order, with today's waiting count when ``day`` is given."""
        with self.store.read() as conn:
            rows = conn.execute(
                "SELECT * FROM queues" + ("" if include_inactive else " WHERE active")
                + " ORDER BY position, code").fetchall()
            result = []
            for r in rows:
                queue = dict(r)
                queue["active"] = bool(queue["active"])
                queue["counters"] = [c[0] for c in conn.execute(
                    "SELECT counter_number FROM counter_queues WHERE queue_code = ?"
                    " ORDER BY counter_number", (r["code"],))]
                if day is not None:
                    queue["waiting"] = conn.execute(
                        "SELECT count(*) FROM tickets WHERE queue_code = ? AND day = ?"
                        " AND status = 'waiting'", (r["code"], day)).fetchone()[0]
                result.append(queue)
        return result

    # -- counters, kiosks, boards ------------------------------------------------------------

    def put_counter(self, number: int, *, name: str | None = None,
                    queues: list | None = None, select_mode: str | None = None) -> dict:
        """Create or update a counter and the queues it serves; what is not given is kept.

        ``queues`` is a list of codes or of {"code", "weight"}; list order is the serving order.
        A new counter is called "Quầy N" and picks the oldest wait unless told otherwise.
        """
        _int(number, "number", 1, MAX_COUNTER)
        name = None if name in (None, "") else _text(name, "name", 100)
        if queues is not None and not isinstance(queues, list):
            raise errors.InvalidInput(detail="queues phải là một danh sách")
        if select_mode is not None and select_mode not in ("oldest", "ordered"):
            raise errors.InvalidInput(detail=f"select_mode = {select_mode!r}")
        lanes = []
        for item in queues or []:
            code, weight = (item, 1.0) if isinstance(item, str) else (
                item.get("code") if isinstance(item, dict) else None,
                item.get("weight", 1.0) if isinstance(item, dict) else None)
            lanes.append((_code(code, "queue"), _weight(weight, code)))
        if len({code for code, _ in lanes}) != len(lanes):
            raise errors.InvalidInput(detail="một hàng đợi được kê hai lần")
        with self.store.write() as conn:
            for code, _ in lanes:
                if not conn.execute("SELECT 1 FROM queues WHERE code = ?", (code,)).fetchone():
                    raise errors.UnknownQueue(code=code)
            conn.execute(
                "INSERT INTO counters (number, name, select_mode) VALUES (?, ?, ?)"
                " ON CONFLICT (number) DO UPDATE SET name = coalesce(?, name),"
                " select_mode = coalesce(?, select_mode)",
                (number, name or f"Quầy {number}", select_mode or "oldest", name, select_mode))
            if queues is not None:
                conn.execute("DELETE FROM counter_queues WHERE counter_number = ?", (number,))
                for position, (code, weight) in enumerate(lanes):
                    conn.execute("INSERT INTO counter_queues VALUES (?, ?, ?, ?)",
                                 (number, code, position, weight))
            self._changed(conn, "counter", number)
        return self.counter(number)

    def counter(self, number: int) -> dict:
        """One counter's configuration."""
        for desk in self.counters():
            if desk["number"] == number:
                return desk
        raise errors.UnknownCounter(number=number)

    def counters(self) -> list[dict]:
        """Counters with the queues they serve, in order."""
        with self.store.read() as conn:
            result = []
            for r in conn.execute("SELECT * FROM counters ORDER BY number").fetchall():
                lanes = conn.execute(
                    "SELECT queue_code, weight FROM counter_queues WHERE counter_number = ?"
                    " ORDER BY position", (r["number"],)).fetchall()
                result.append({"number": r["number"], "name": r["name"], "status": r["status"],
                               "select_mode": r["select_mode"],
                               "queues": [{"code": q[0], "weight": q[1]} for q in lanes]})
        return result

    def put_kiosk(self, kiosk_id: str, *, name: str, active: bool = True) -> dict:
        """Create or update a kiosk."""
        kiosk_id, name = _code(kiosk_id, "kiosk"), _text(name, "name", 100)
        _bool(active)
        with self.store.write() as conn:
            conn.execute("INSERT INTO kiosks (id, name, active) VALUES (?, ?, ?) ON CONFLICT (id)"
                         " DO UPDATE SET name = excluded.name, active = excluded.active",
                         (kiosk_id, name, int(bool(active))))
            self._changed(conn, "kiosk", kiosk_id)
        return {"id": kiosk_id, "name": name, "active": bool(active)}

    def kiosks(self) -> list[dict]:
        """All kiosks."""
        with self.store.read() as conn:
            return [dict(r) | {"active": bool(r["active"])}
                    for r in conn.execute("SELECT * FROM kiosks ORDER BY id")]

    def put_board(self, board_id: str, *, name: str, queues: list[str] | None = None,
                  counters: list[int] | None = None, notice: str | None = None) -> dict:
        """Create or update a board, optionally limited to some queues or counters; a notice
        it scrolls (None keeps the one it has)."""
        board_id, name = _code(board_id, "board"), _text(name, "name", 100)
        if notice is not None:
            notice = "" if not str(notice).strip() else _text(notice, "notice", 300)
        for value, label in ((queues, "queues"), (counters, "counters")):
            if value is not None and not isinstance(value, list):
                raise errors.InvalidInput(detail=f"{label} phải là một danh sách")
        queues = [_code(q, "queue") for q in queues or []]
        counters = [_int(c, "counter", 1, MAX_COUNTER) for c in counters or []]
        with self.store.write() as conn:
            conn.execute("INSERT INTO boards (id, name, queues, counters, notice)"
                         " VALUES (?, ?, ?, ?, coalesce(?, ''))"
                         " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
                         " queues = excluded.queues, counters = excluded.counters,"
                         " notice = coalesce(?, notice)",
                         (board_id, name, json.dumps(queues), json.dumps(counters), notice,
                          notice))
            notice = conn.execute("SELECT notice FROM boards WHERE id = ?",
                                  (board_id,)).fetchone()[0]
            self._changed(conn, "board", board_id)
        return {"id": board_id, "name": name, "queues": queues, "counters": counters,
                "notice": notice}

    def boards(self) -> list[dict]:
        """All boards with their filters."""
        with self.store.read() as conn:
            return [{"id": r["id"], "name": r["name"], "queues": json.loads(r["queues"]),
                     "counters": json.loads(r["counters"]), "notice": r["notice"]}
                    for r in conn.execute("SELECT * FROM boards ORDER BY id")]

    # -- import ------------------------------------------------------------------------------

    def import_procedures(self, path: str | Path, *, create_queues: bool = False,
                          dry_run: bool = False) -> "ImportReport":
        """Import a CSV or XLSX catalogue (code, field, name, queue); all rows or none."""
        rows = read_table(Path(path))
        report = ImportReport()
        seen: dict[str, int] = {}
        parsed = []
        for line, row in rows:
            try:
                code = _code(row.get("code"), "code")
                name = _text(row.get("name"), "name")
                field_name = _text(row.get("field"), "field", 200)
                queue = _code(row.get("queue"), "queue")
                active = _flag(row.get("active"))
            except errors.InvalidInput as exc:
                report.errors.append((line, str(exc)))
                continue
            if code in seen:
                report.errors.append((line, f"mã {code} trùng với dòng {seen[code]}"))
                continue
            seen[code] = line
            parsed.append((line, code, name, field_name, queue, active))
        if report.errors:
            return report
        with self.store.write() as conn:
            known_queues = {r[0] for r in conn.execute("SELECT code FROM queues")}
            for line, *_, queue, _active in parsed:
                if queue not in known_queues and not create_queues:
                    report.errors.append((line, f"không có hàng đợi {queue} (dùng"
                                                f" --create-queues để tạo)"))
            if report.errors:
                conn.execute("ROLLBACK")
                conn.execute("BEGIN IMMEDIATE")
                return report
            free_letters = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in {
                r[0] for r in conn.execute("SELECT prefix FROM queues")}]
            for line, code, name, field_name, queue, active in parsed:
                if queue not in known_queues:
                    if not free_letters:
                        report.errors.append((line, "hết chữ cái cho hàng đợi mới"))
                        break
                    conn.execute("INSERT INTO queues (code, name, prefix) VALUES (?, ?, ?)",
                                 (queue, queue, free_letters.pop(0)))
                    known_queues.add(queue)
                    report.queues_created.append(queue)
                field_id = self.field_id(conn, field_name)
                old = conn.execute("SELECT * FROM procedures WHERE code = ?", (code,)).fetchone()
                if old is None:
                    position = len(seen) and line
                    conn.execute(
                        "INSERT INTO procedures (code, name, field_id, queue_code, position,"
                        " active) VALUES (?, ?, ?, ?, ?, ?)",
                        (code, name, field_id, queue, position, int(active)))
                    report.added.append(code)
                    continue
                changes = {}
                for column, value in (("name", name), ("field_id", field_id),
                                      ("queue_code", queue), ("active", int(active))):
                    if old[column] != value:
                        changes[column] = (old[column], value)
                if changes:
                    sets = ", ".join(f"{column} = ?" for column in changes)
                    conn.execute(f"UPDATE procedures SET {sets} WHERE code = ?",
                                 [new for _, new in changes.values()] + [code])
                    report.updated.append((code, sorted(changes)))
                else:
                    report.unchanged.append(code)
            report.missing = sorted(
                r[0] for r in conn.execute("SELECT code FROM procedures") if r[0] not in seen)
            if report.errors or dry_run:
                conn.execute("ROLLBACK")
                conn.execute("BEGIN IMMEDIATE")
                return report
            self._changed(conn, "procedures", None, added=len(report.added),
                          updated=len(report.updated))
        return report


@dataclass
class ImportReport:
    """What an import did, or would do, and the rows it refused (line number, reason)."""

    added: list[str] = field(default_factory=list)
    updated: list[tuple[str, list[str]]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    queues_created: list[str] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _flag(value) -> bool:
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    if isinstance(value, bool | int):
        return bool(value)
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise errors.InvalidInput(detail=f"active = {value!r}")


def _cell_text(value) -> str:
    """A spreadsheet cell as text; whole numbers typed into a cell lose no ".0" suffix."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_table(path: Path) -> list[tuple[int, dict]]:
    """Rows of a CSV (UTF-8, with or without BOM) or XLSX file as (line number, dict)."""
    if not path.exists():
        raise errors.InvalidInput(detail=f"không có tệp {path}")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        import openpyxl

        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:
            raise errors.InvalidInput(detail=f"{path.name}: không đọc được XLSX ({exc})") from None
        sheet = book.worksheets[0]
        lines = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        book.close()
    else:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise errors.InvalidInput(detail=f"{path.name}: cần mã hóa UTF-8") from None
        lines = list(csv.reader(io.StringIO(text)))
    if not lines:
        raise errors.InvalidInput(detail=f"{path.name}: tệp rỗng")
    header = [h.strip().lower() for h in lines[0]]
    missing = [c for c in IMPORT_COLUMNS if c not in header]
    if missing:
        raise errors.InvalidInput(detail=f"{path.name}: thiếu cột " + ", ".join(missing))
    rows = []
    for number, values in enumerate(lines[1:], start=2):
        if not any(v.strip() for v in values):
            continue
        rows.append((number, dict(zip(header, (v.strip() for v in values), strict=False))))
    return rows
