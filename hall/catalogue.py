"""What a supervisor describes: fields, procedures, queues, counters, kiosks and boards.

Everything here is data edited at run time (decrees reorganise catalogues); nothing is code.
"""

import json
import math
import re
from pathlib import Path

from . import errors, numbering
from .events import EventKind
from .policy import POLICIES
from .rules import parse_hhmm
from .transaction import Change, Transactions
from .words import N_

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
MAX_COUNTER = 999  # counters are numbered 1..MAX_COUNTER
SELECT_MODES = ("oldest", "ordered")
MAX_WEIGHT = 100  # a queue counts its waits at most this many times at a counter


# What a name may not hold: control characters (NUL, escapes), zero-width and direction-
# override marks, lone surrogates; they would garble a ticket, a board or a log line. Line
# breaks, tabs and other white space are not here: they are folded into single spaces. A
# regular expression (not str.isprintable) so the API's document states the same rule.
UNPRINTABLE = ("\\x00-\\x08\\x0e-\\x1b\\x7f-\\x84\\x86-\\x9f\\u200b-\\u200f"
               "\\u202a-\\u202e\\u2060-\\u206f\\ufeff")
# Lone surrogates too (JSON can carry "\\ud800"; SQLite could not store it), though not in the
# document's pattern: no UTF-8 text can hold one.
UNPRINTABLE_RE = re.compile(f"[{UNPRINTABLE}\\ud800-\\udfff]")
# A text with something besides spaces and none of the above (the document's pattern).
PRINTABLE_PATTERN = f"^[^{UNPRINTABLE}]*[^\\s{UNPRINTABLE}][^{UNPRINTABLE}]*$"


def valid_text(value, name: str, limit: int = 300) -> str:
    """``value`` as one line of text (spaces folded), or InvalidInput naming ``name``."""
    if not isinstance(value, str) or not value.strip():
        raise errors.InvalidInput(errors.InvalidInput.EMPTY, field=name)
    value = " ".join(value.split())
    if len(value) > limit:
        raise errors.InvalidInput(errors.InvalidInput.TOO_LONG, field=name, limit=limit)
    if UNPRINTABLE_RE.search(value):
        raise errors.InvalidInput(errors.NOT_PRINTABLE, field=name)
    return value


def valid_code(value, name: str = "code") -> str:
    """``value`` as a code (letters, digits, . _ -), or InvalidInput naming ``name``."""
    value = valid_text(value, name, 40)
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


def _row(change: Change, table: str, column: str, key) -> dict | None:
    """One row of a catalogue table as a dict (None when there is none)."""
    row = change.one(f"SELECT * FROM {table} WHERE {column} = ?", (key,))
    return dict(row) if row else None


def audit_change(change: Change, what: str, key, before: dict | None, after: dict,
           by: int | None, hidden: tuple[str, ...] = ()) -> None:
    """Log one CATALOGUE_CHANGED with who and the columns that changed, before → after
    (``hidden`` columns, a PIN's hash, show as "***"); nothing when nothing changed."""
    old = before or {}
    columns = [c for c in after if c not in old or old[c] != after[c]]
    if before is not None and not columns:
        return

    def shown(row, column):
        return "***" if column in hidden else row.get(column)

    change.log(EventKind.CATALOGUE_CHANGED, clerk=by, what=what, key=key,
               before=None if before is None else {c: shown(old, c) for c in columns},
               after={c: shown(after, c) for c in columns})


class Catalogue:
    """Reads and edits the description of a hall."""

    def __init__(self, tx: Transactions):
        self.tx = tx

    # -- fields and procedures ---------------------------------------------------------------

    def field_id(self, change: Change, name: str) -> int:
        """The id of a field by name, created at the end of the list when new."""
        name = valid_text(name, "field", 200)
        row = change.one("SELECT id FROM fields WHERE name = ?", (name,))
        if row:
            return row[0]
        position = change.value("SELECT coalesce(max(position), 0) + 1 FROM fields")
        return change.run("INSERT INTO fields (name, position) VALUES (?, ?)",
                          (name, position)).lastrowid

    def put_procedure(self, code: str, *, name: str, field: str, queue: str,
                      position: int | None = None, active: bool = True,
                      name_en: str | None = None, keywords: str | None = None,
                      by: int | None = None) -> dict:
        """Create or update one procedure (an English name and search words are kept when
        not given); audited with who and before → after."""
        code, name, queue = valid_code(code), valid_text(name, "name"), valid_code(queue, "queue")
        _bool(active)
        if position is not None:
            _int(position, "position", 0, 100_000)
        extra = {column: "" if not str(value).strip() else valid_text(value, column, limit)
                 for column, value, limit in (("name_en", name_en, 300),
                                              ("keywords", keywords, 500)) if value is not None}
        with self.tx.change() as change:
            if not change.one("SELECT 1 FROM queues WHERE code = ?", (queue,)):
                raise errors.UnknownQueue(code=queue)
            field_id = self.field_id(change, field)
            before = _row(change, "procedures", "code", code)
            if position is None:
                position = before["position"] if before else change.value(
                    "SELECT coalesce(max(position), 0) + 1 FROM procedures")
            values = {"name": name, "field_id": field_id, "queue_code": queue,
                      "position": position, "active": int(active)} | extra
            if before is None:
                change.run(f"INSERT INTO procedures (code, {', '.join(values)}) VALUES"
                           f" (?{', ?' * len(values)})", [code, *values.values()])
            else:
                change.run(f"UPDATE procedures SET {', '.join(f'{c} = ?' for c in values)}"
                           " WHERE code = ?", [*values.values(), code])
            audit_change(change, "procedure", code, before,
                         _row(change, "procedures", "code", code), by)
        return self.procedure(code)

    def put_field(self, field_id: int | None, *, name: str, name_en: str = "",
                  active: bool = True, by: int | None = None) -> dict:
        """Create (``field_id`` None) or rename, translate, deactivate a field."""
        name = valid_text(name, "name", 200)
        name_en = "" if not str(name_en or "").strip() else valid_text(name_en, "name_en", 200)
        _bool(active)
        with self.tx.change() as change:
            clash = change.one("SELECT id FROM fields WHERE name = ?", (name,))
            if clash and clash[0] != field_id:
                raise errors.InvalidInput(N_("Đã có lĩnh vực %(name)s."), field="name",
                                          name=name)
            before = None
            if field_id is None:
                field_id = self.field_id(change, name)
            else:
                before = _row(change, "fields", "id", field_id)
                if before is None:
                    raise errors.NotFound()
            change.run("UPDATE fields SET name = ?, name_en = ?, active = ? WHERE id = ?",
                       (name, name_en, int(active), field_id))
            after = _row(change, "fields", "id", field_id)
            audit_change(change, "field", field_id, before, after, by)
        return {"id": after["id"], "name": after["name"], "name_en": after["name_en"],
                "position": after["position"], "active": bool(after["active"])}

    def all_fields(self) -> list[dict]:
        """Every field, active or not, in order, with how many procedures each has."""
        with self.tx.reading() as reading:
            rows = reading.all(
                "SELECT f.id, f.name, f.name_en, f.position, f.active, count(p.code) AS"
                " procedures FROM fields f LEFT JOIN procedures p ON p.field_id = f.id"
                " GROUP BY f.id ORDER BY f.position, f.name")
        return [dict(r) | {"active": bool(r["active"])} for r in rows]

    def move(self, what: str, key, step: int, *, by: int | None = None) -> None:
        """Move a field, procedure (within its field) or queue one place up (-1) or down (+1)
        in the order kiosks and boards show them."""
        table, column, order = {
            "field": ("fields", "id", "position, name"),
            "procedure": ("procedures", "code", "position, code"),
            "queue": ("queues", "code", "position, code")}[what]
        if step not in (-1, 1):
            raise errors.out_of_range("step", -1, 1)
        with self.tx.change() as change:
            row = _row(change, table, column, key)
            if row is None:
                raise errors.NotFound()
            scope, args = ("WHERE field_id = ?", (row["field_id"],)) \
                if what == "procedure" else ("", ())
            keys = [r[0] for r in change.all(
                f"SELECT {column} FROM {table} {scope} ORDER BY {order}", args)]
            at = keys.index(key)
            if not 0 <= at + step < len(keys):
                return
            keys[at], keys[at + step] = keys[at + step], keys[at]
            for position, each in enumerate(keys, start=1):
                change.run(f"UPDATE {table} SET position = ? WHERE {column} = ?",
                           (position, each))
            audit_change(change, what, key, {"position": at + 1}, {"position": at + step + 1}, by)

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
                "SELECT p.code, p.name, p.name_en, p.keywords, p.position, p.active,"
                " f.name AS field, f.name_en AS field_en, f.id AS field_id,"
                " q.code AS queue_code, q.name AS queue_name FROM procedures p"
                " JOIN fields f ON f.id = p.field_id JOIN queues q ON q.code = p.queue_code"
                + ("" if include_inactive else " WHERE p.active AND q.active AND f.active")
                + " ORDER BY f.position, f.name, p.position, p.code")
        return [{"code": r["code"], "name": r["name"], "name_en": r["name_en"],
                 "keywords": r["keywords"], "field": r["field"], "field_en": r["field_en"],
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
                  position: int = 0, active: bool = True, by: int | None = None) -> dict:
        """Create or update a queue; number formats may not collide with another queue's."""
        code, name = valid_code(code), valid_text(name, "name", 200)
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
            before = _row(change, "queues", "code", code)
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
            audit_change(change, "queue", code, before, _row(change, "queues", "code", code), by)
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
                    queues: list | None = None, select_mode: str | None = None,
                    active: bool | None = None, by: int | None = None) -> dict:
        """Create or update a counter and the queues it serves; what is not given is kept.

        ``queues`` is a list of codes or of {"code", "weight"}; list order is the serving order.
        A new counter is called "Quầy N" and picks the oldest wait unless told otherwise.
        """
        _int(number, "number", 1, MAX_COUNTER)
        name = None if name in (None, "") else valid_text(name, "name", 100)
        if queues is not None and not isinstance(queues, list):
            raise errors.InvalidInput(errors.InvalidInput.NOT_LIST, field="queues")
        if select_mode is not None and select_mode not in SELECT_MODES:
            raise errors.not_one_of("select_mode", select_mode, SELECT_MODES)
        if active is not None:
            _bool(active)
        lanes = []
        for item in queues or []:
            code, weight = (item, 1.0) if isinstance(item, str) else (
                item.get("code") if isinstance(item, dict) else None,
                item.get("weight", 1.0) if isinstance(item, dict) else None)
            lanes.append((valid_code(code, "queue"), _weight(weight)))
        if len({code for code, _ in lanes}) != len(lanes):
            raise errors.InvalidInput(N_("Một hàng đợi được kê hai lần cho cùng một quầy."))
        with self.tx.change() as change:
            for code, _ in lanes:
                if not change.one("SELECT 1 FROM queues WHERE code = ?", (code,)):
                    raise errors.UnknownQueue(code=code)
            before = self._counter_row(change, number)
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
            if active is not None:
                change.run("UPDATE counters SET active = ? WHERE number = ?",
                           (int(active), number))
            audit_change(change, "counter", number, before, self._counter_row(change, number), by)
        return self.counter(number)

    @staticmethod
    def _counter_row(change: Change, number: int) -> dict | None:
        """A counter's own columns and its queues ("A, B×2"), for the audit."""
        row = _row(change, "counters", "number", number)
        if row is None:
            return None
        lanes = change.all("SELECT queue_code, weight FROM counter_queues WHERE"
                           " counter_number = ? ORDER BY position", (number,))
        return {"name": row["name"], "select_mode": row["select_mode"],
                "active": row["active"], "queues": ", ".join(
                    code + ("" if weight == 1 else f"×{weight:g}") for code, weight in lanes)}

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
                               "select_mode": r["select_mode"], "active": bool(r["active"]),
                               "queues": [{"code": q[0], "weight": q[1]} for q in lanes]})
        return result

    def put_kiosk(self, kiosk_id: str, *, name: str, active: bool = True,
                  by: int | None = None) -> dict:
        """Create or update a kiosk."""
        kiosk_id, name = valid_code(kiosk_id, "kiosk"), valid_text(name, "name", 100)
        _bool(active)
        with self.tx.change() as change:
            before = _row(change, "kiosks", "id", kiosk_id)
            change.run("INSERT INTO kiosks (id, name, active) VALUES (?, ?, ?) ON CONFLICT (id)"
                         " DO UPDATE SET name = excluded.name, active = excluded.active",
                         (kiosk_id, name, int(bool(active))))
            audit_change(change, "kiosk", kiosk_id, before,
                         _row(change, "kiosks", "id", kiosk_id), by)
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
                  notice: str | None = None, by: int | None = None) -> dict:
        """Create or update a board, optionally limited to some queues or counters, with a
        notice it scrolls; what is not given is kept (a new board needs a name)."""
        board_id = valid_code(board_id, "board")
        name = None if name is None else valid_text(name, "name", 100)
        if notice is not None:
            notice = "" if not str(notice).strip() else valid_text(notice, "notice", 300)
        for value, label in ((queues, "queues"), (counters, "counters")):
            if value is not None and not isinstance(value, list):
                raise errors.InvalidInput(errors.InvalidInput.NOT_LIST, field=label)
        queues = None if queues is None else [valid_code(q, "queue") for q in queues]
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
            audit_change(change, "board", board_id, old and dict(old),
                         _row(change, "boards", "id", board_id), by)
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

    def import_procedures(self, path: str | Path, **options):
        """Import a CSV or XLSX catalogue (see ``hall.importing``); all rows or none."""
        from .importing import import_procedures

        return import_procedures(self, path, **options)


def _board(row) -> dict:
    return {"id": row["id"], "name": row["name"], "queues": json.loads(row["queues"]),
            "counters": json.loads(row["counters"]), "notice": row["notice"]}
