"""What a supervisor describes: fields, procedures, queues, counters, kiosks and boards.

Everything here is data edited at run time (decrees reorganise catalogues); nothing is code.
"""

import contextlib
import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import errors, numbering
from .events import EventKind
from .policy import POLICIES
from .rules import parse_hhmm
from .transaction import Change, Transactions
from .words import N_

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
IMPORT_COLUMNS = ("code", "field", "name", "queue")
TRUE_WORDS = {"1", "true", "yes", "y", "x", "có", "co"}
FALSE_WORDS = {"0", "false", "no", "n", "không", "khong"}
MAX_COUNTER = 999  # counters are numbered 1..MAX_COUNTER
SELECT_MODES = ("oldest", "ordered")
MAX_WEIGHT = 100  # a queue counts its waits at most this many times at a counter


def _text(value, name: str, limit: int = 300) -> str:
    if not isinstance(value, str) or not value.strip():
        raise errors.InvalidInput(errors.InvalidInput.EMPTY, field=name)
    value = " ".join(value.split())
    if len(value) > limit:
        raise errors.InvalidInput(errors.InvalidInput.TOO_LONG, field=name, limit=limit)
    return value


def _code(value, name: str = "code") -> str:
    value = _text(value, name, 40)
    if not CODE_RE.match(value):
        raise errors.InvalidInput(errors.InvalidInput.BAD_CODE, field=name, value=repr(value))
    return value


def _int(value, name: str, low: int = 0, high: int = 100_000) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.InvalidInput(errors.InvalidInput.NOT_INTEGER, field=name)
    if not low <= value <= high:
        raise errors.out_of_range(name, low, high)
    return value


def _bool(value, name: str = "active") -> bool:
    if not isinstance(value, bool):
        raise errors.InvalidInput(errors.InvalidInput.NOT_BOOL, field=name)
    return value


def _weight(value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise errors.InvalidInput(errors.InvalidInput.NOT_NUMBER, field="weight")
    try:
        weight = float(value)
    except OverflowError:
        weight = math.inf
    if not (math.isfinite(weight) and 0 < weight <= MAX_WEIGHT):
        raise errors.out_of_range("weight", "0", MAX_WEIGHT)
    return weight


class _Undo(Exception):
    """Leave an import's transaction without keeping anything (refused rows, a dry run)."""


def _changed(change: Change, what: str, key, **data) -> None:
    change.log(EventKind.CATALOGUE_CHANGED, what=what, key=key, **data)


class Catalogue:
    """Reads and edits the description of a hall."""

    def __init__(self, tx: Transactions):
        self.tx = tx

    # -- fields and procedures ---------------------------------------------------------------

    def field_id(self, change: Change, name: str) -> int:
        """The id of a field by name, created at the end of the list when new."""
        name = _text(name, "field", 200)
        row = change.one("SELECT id FROM fields WHERE name = ?", (name,))
        if row:
            return row[0]
        position = change.value("SELECT coalesce(max(position), 0) + 1 FROM fields")
        return change.run("INSERT INTO fields (name, position) VALUES (?, ?)",
                          (name, position)).lastrowid

    def put_procedure(self, code: str, *, name: str, field: str, queue: str,
                      position: int | None = None, active: bool = True) -> dict:
        """Create or update one procedure."""
        code, name, queue = _code(code), _text(name, "name"), _code(queue, "queue")
        _bool(active)
        if position is not None:
            _int(position, "position", 0, 100_000)
        with self.tx.change() as change:
            if not change.one("SELECT 1 FROM queues WHERE code = ?", (queue,)):
                raise errors.UnknownQueue(code=queue)
            field_id = self.field_id(change, field)
            if position is None:
                row = change.one("SELECT position FROM procedures WHERE code = ?",
                                   (code,))
                position = row[0] if row else change.value(
                    "SELECT coalesce(max(position), 0) + 1 FROM procedures")
            change.run(
                "INSERT INTO procedures (code, name, field_id, queue_code, position, active)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO UPDATE SET name = excluded.name,"
                " field_id = excluded.field_id, queue_code = excluded.queue_code,"
                " position = excluded.position, active = excluded.active",
                (code, name, field_id, queue, _int(position, "position", 0), int(bool(active))))
            _changed(change, "procedure", code)
        return self.procedure(code)

    def procedure(self, code: str) -> dict:
        """One procedure with its field and queue."""
        for proc in self.procedures(include_inactive=True):
            if proc["code"] == code:
                return proc
        raise errors.UnknownProcedure(code=code)

    def procedures(self, include_inactive: bool = False) -> list[dict]:
        """Procedures in kiosk order (field order, then procedure order)."""
        with self.tx.reading() as reading:
            rows = reading.all(
                "SELECT p.code, p.name, p.position, p.active, f.name AS field, f.id AS field_id,"
                " q.code AS queue_code, q.name AS queue_name FROM procedures p"
                " JOIN fields f ON f.id = p.field_id JOIN queues q ON q.code = p.queue_code"
                + ("" if include_inactive else " WHERE p.active AND q.active AND f.active")
                + " ORDER BY f.position, f.name, p.position, p.code")
        return [{"code": r["code"], "name": r["name"], "field": r["field"],
                 "field_id": r["field_id"], "queue": {"code": r["queue_code"],
                                                      "name": r["queue_name"]},
                 "position": r["position"], "active": bool(r["active"])} for r in rows]

    def fields(self) -> list[dict]:
        """Fields that have at least one active procedure, in order."""
        with self.tx.reading() as reading:
            rows = reading.all(
                "SELECT f.id, f.name, count(p.code) AS procedures FROM fields f"
                " JOIN procedures p ON p.field_id = f.id AND p.active WHERE f.active"
                " GROUP BY f.id ORDER BY f.position, f.name")
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
            raise errors.not_one_of("number_format", number_format, numbering.FORMATS)
        if not isinstance(prefix, str) or not re.fullmatch(r"[A-Z]{0,2}", prefix):
            raise errors.InvalidInput(N_("prefix = %(value)s: tối đa 2 chữ cái in hoa."),
                                      value=repr(prefix))
        if number_format == "prefix" and not prefix:
            raise errors.InvalidInput(N_("Định dạng prefix cần chữ cái đầu (A, B…)."))
        _int(digits, "digits", 1, 6)
        if number_format == "block":
            _int(block, "block", 1, 9)
        if priority_policy is not None and priority_policy not in POLICIES:
            raise errors.not_one_of("priority_policy", priority_policy, POLICIES)
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
            raise errors.InvalidInput(N_("service_minutes phải lớn hơn 0 và không quá 480."))
        with self.tx.change() as change:
            for other in change.all("SELECT * FROM queues WHERE code != ?", (code,)):
                if number_format == "prefix" and other["number_format"] == "prefix" \
                        and other["prefix"] == prefix:
                    raise errors.InvalidInput(N_("Chữ %(prefix)s đã dùng cho hàng đợi"
                                                 " %(queue)s."), prefix=prefix,
                                              queue=other["code"])
                if number_format == "block" and other["number_format"] == "block" \
                        and other["block"] == block:
                    raise errors.InvalidInput(N_("Khối %(block)s đã dùng cho hàng đợi"
                                                 " %(queue)s."), block=block,
                                              queue=other["code"])
            change.run(
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
            _changed(change, "queue", code)
        return self.queue(code)

    def queue(self, code: str) -> dict:
        """One queue with its settings."""
        for queue in self.queues(include_inactive=True):
            if queue["code"] == code:
                return queue
        raise errors.UnknownQueue(code=code)

    def queues(self, include_inactive: bool = False, day: str | None = None) -> list[dict]:
        """Queues in order, with today's waiting count when ``day`` is given."""
        with self.tx.reading() as reading:
            rows = reading.all(
                "SELECT * FROM queues" + ("" if include_inactive else " WHERE active")
                + " ORDER BY position, code")
            result = []
            for r in rows:
                queue = dict(r)
                queue["active"] = bool(queue["active"])
                queue["counters"] = [c[0] for c in reading.all(
                    "SELECT counter_number FROM counter_queues WHERE queue_code = ?"
                    " ORDER BY counter_number", (r["code"],))]
                if day is not None:
                    queue["waiting"] = reading.value(
                        "SELECT count(*) FROM tickets WHERE queue_code = ? AND day = ?"
                        " AND status = 'waiting'", (r["code"], day))
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
            raise errors.InvalidInput(errors.InvalidInput.NOT_LIST, field="queues")
        if select_mode is not None and select_mode not in SELECT_MODES:
            raise errors.not_one_of("select_mode", select_mode, SELECT_MODES)
        lanes = []
        for item in queues or []:
            code, weight = (item, 1.0) if isinstance(item, str) else (
                item.get("code") if isinstance(item, dict) else None,
                item.get("weight", 1.0) if isinstance(item, dict) else None)
            lanes.append((_code(code, "queue"), _weight(weight)))
        if len({code for code, _ in lanes}) != len(lanes):
            raise errors.InvalidInput(N_("Một hàng đợi được kê hai lần cho cùng một quầy."))
        with self.tx.change() as change:
            for code, _ in lanes:
                if not change.one("SELECT 1 FROM queues WHERE code = ?", (code,)):
                    raise errors.UnknownQueue(code=code)
            change.run(
                "INSERT INTO counters (number, name, select_mode) VALUES (?, ?, ?)"
                " ON CONFLICT (number) DO UPDATE SET name = coalesce(?, name),"
                " select_mode = coalesce(?, select_mode)",
                (number, name or f"Quầy {number}", select_mode or "oldest", name, select_mode))
            if queues is not None:
                change.run("DELETE FROM counter_queues WHERE counter_number = ?", (number,))
                for position, (code, weight) in enumerate(lanes):
                    change.run("INSERT INTO counter_queues VALUES (?, ?, ?, ?)",
                                 (number, code, position, weight))
            _changed(change, "counter", number)
        return self.counter(number)

    def counter(self, number: int) -> dict:
        """One counter's configuration."""
        for desk in self.counters():
            if desk["number"] == number:
                return desk
        raise errors.UnknownCounter(number=number)

    def counters(self) -> list[dict]:
        """Counters with the queues they serve, in order."""
        with self.tx.reading() as reading:
            result = []
            for r in reading.all("SELECT * FROM counters ORDER BY number"):
                lanes = reading.all(
                    "SELECT queue_code, weight FROM counter_queues WHERE counter_number = ?"
                    " ORDER BY position", (r["number"],))
                result.append({"number": r["number"], "name": r["name"], "status": r["status"],
                               "select_mode": r["select_mode"],
                               "queues": [{"code": q[0], "weight": q[1]} for q in lanes]})
        return result

    def put_kiosk(self, kiosk_id: str, *, name: str, active: bool = True) -> dict:
        """Create or update a kiosk."""
        kiosk_id, name = _code(kiosk_id, "kiosk"), _text(name, "name", 100)
        _bool(active)
        with self.tx.change() as change:
            change.run("INSERT INTO kiosks (id, name, active) VALUES (?, ?, ?) ON CONFLICT (id)"
                         " DO UPDATE SET name = excluded.name, active = excluded.active",
                         (kiosk_id, name, int(bool(active))))
            _changed(change, "kiosk", kiosk_id)
        return {"id": kiosk_id, "name": name, "active": bool(active)}

    def kiosk(self, kiosk_id: str) -> dict:
        """One active kiosk."""
        with self.tx.reading() as reading:
            row = reading.one("SELECT * FROM kiosks WHERE id = ? AND active", (kiosk_id,)) \
                if isinstance(kiosk_id, str) else None
        if row is None:
            raise errors.UnknownKiosk(kiosk=kiosk_id)
        return dict(row) | {"active": True}

    def kiosks(self) -> list[dict]:
        """All kiosks."""
        with self.tx.reading() as reading:
            return [dict(r) | {"active": bool(r["active"])}
                    for r in reading.all("SELECT * FROM kiosks ORDER BY id")]

    def put_board(self, board_id: str, *, name: str | None = None,
                  queues: list[str] | None = None, counters: list[int] | None = None,
                  notice: str | None = None) -> dict:
        """Create or update a board, optionally limited to some queues or counters, with a
        notice it scrolls; what is not given is kept (a new board needs a name)."""
        board_id = _code(board_id, "board")
        name = None if name is None else _text(name, "name", 100)
        if notice is not None:
            notice = "" if not str(notice).strip() else _text(notice, "notice", 300)
        for value, label in ((queues, "queues"), (counters, "counters")):
            if value is not None and not isinstance(value, list):
                raise errors.InvalidInput(errors.InvalidInput.NOT_LIST, field=label)
        queues = None if queues is None else [_code(q, "queue") for q in queues]
        counters = None if counters is None else [
            _int(c, "counter", 1, MAX_COUNTER) for c in counters]
        with self.tx.change() as change:
            old = change.one("SELECT * FROM boards WHERE id = ?", (board_id,))
            if old is None and name is None:
                raise errors.InvalidInput(errors.InvalidInput.MISSING, fields="name")
            change.run(
                "INSERT INTO boards (id, name, queues, counters, notice) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET name = excluded.name, queues = excluded.queues,"
                " counters = excluded.counters, notice = excluded.notice",
                (board_id, name or old["name"],
                 json.dumps(queues or []) if queues is not None or old is None else old["queues"],
                 json.dumps(counters or []) if counters is not None or old is None
                 else old["counters"],
                 notice if notice is not None else (old["notice"] if old else "")))
            _changed(change, "board", board_id)
            return _board(change.one("SELECT * FROM boards WHERE id = ?", (board_id,)))

    def set_notice(self, board_id: str, notice: str) -> dict:
        """Set (or, with an empty text, clear) the notice of an existing board."""
        self.board(board_id)
        return self.put_board(board_id, notice=notice)

    def board(self, board_id: str) -> dict:
        """One board with its filters."""
        with self.tx.reading() as reading:
            row = reading.one("SELECT * FROM boards WHERE id = ?", (board_id,)) \
                if isinstance(board_id, str) else None
        if row is None:
            raise errors.UnknownBoard(board=board_id)
        return _board(row)

    def boards(self) -> list[dict]:
        """All boards with their filters."""
        with self.tx.reading() as reading:
            return [_board(r) for r in reading.all("SELECT * FROM boards ORDER BY id")]

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
        with contextlib.suppress(_Undo):
            self._import(parsed, seen, report, create_queues, dry_run)
        return report

    def _import(self, parsed, seen, report, create_queues: bool, dry_run: bool) -> None:
        with self.tx.change() as change:
            known_queues = {r[0] for r in change.all("SELECT code FROM queues")}
            for line, *_, queue, _active in parsed:
                if queue not in known_queues and not create_queues:
                    report.errors.append((line, f"không có hàng đợi {queue} (dùng"
                                                f" --create-queues để tạo)"))
            if report.errors:
                raise _Undo
            free_letters = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in {
                r[0] for r in change.all("SELECT prefix FROM queues")}]
            for line, code, name, field_name, queue, active in parsed:
                if queue not in known_queues:
                    if not free_letters:
                        report.errors.append((line, "hết chữ cái cho hàng đợi mới"))
                        break
                    change.run("INSERT INTO queues (code, name, prefix) VALUES (?, ?, ?)",
                               (queue, queue, free_letters.pop(0)))
                    known_queues.add(queue)
                    report.queues_created.append(queue)
                field_id = self.field_id(change, field_name)
                old = change.one("SELECT * FROM procedures WHERE code = ?", (code,))
                if old is None:
                    position = len(seen) and line
                    change.run(
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
                    change.run(f"UPDATE procedures SET {sets} WHERE code = ?",
                               [new for _, new in changes.values()] + [code])
                    report.updated.append((code, sorted(changes)))
                else:
                    report.unchanged.append(code)
            report.missing = sorted(
                r[0] for r in change.all("SELECT code FROM procedures") if r[0] not in seen)
            if report.errors or dry_run:
                raise _Undo
            _changed(change, "procedures", None, added=len(report.added),
                     updated=len(report.updated))


def _board(row) -> dict:
    return {"id": row["id"], "name": row["name"], "queues": json.loads(row["queues"]),
            "counters": json.loads(row["counters"]), "notice": row["notice"]}


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
    raise errors.not_one_of("active", value, ("có", "không", "1", "0", "true", "false"))


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
        raise errors.InvalidInput(N_("Không có tệp %(path)s."), path=str(path))
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        import openpyxl

        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:
            raise errors.InvalidInput(N_("%(file)s: không đọc được tệp XLSX (%(reason)s)."),
                                      file=path.name, reason=str(exc)) from None
        sheet = book.worksheets[0]
        lines = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        book.close()
    else:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise errors.InvalidInput(N_("%(file)s: tệp CSV cần mã hóa UTF-8."),
                                      file=path.name) from None
        lines = list(csv.reader(io.StringIO(text)))
    if not lines:
        raise errors.InvalidInput(N_("%(file)s: tệp rỗng."), file=path.name)
    header = [h.strip().lower() for h in lines[0]]
    missing = [c for c in IMPORT_COLUMNS if c not in header]
    if missing:
        raise errors.InvalidInput(N_("%(file)s: thiếu cột %(columns)s."), file=path.name,
                                  columns=", ".join(missing))
    rows = []
    for number, values in enumerate(lines[1:], start=2):
        if not any(v.strip() for v in values):
            continue
        rows.append((number, dict(zip(header, (v.strip() for v in values), strict=False))))
    return rows
