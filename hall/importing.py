"""A catalogue of procedures in and out as a table (CSV or XLSX): the one check of its rows
(for ``goiso import-procedures`` and the back office's upload alike), what an import would add,
change and deactivate, and the same columns back out (a file exported imports unchanged)."""

import contextlib
import csv
import hashlib
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import errors
from .catalogue import Catalogue, valid_code, valid_text
from .events import EventKind
from .words import N_

IMPORT_COLUMNS = ("code", "field", "name", "queue")  # a file needs these
# Every column an export writes, in order; an import reads each one it finds.
EXPORT_COLUMNS = ("code", "field", "name", "name_en", "keywords", "queue", "active")
TRUE_WORDS = {"1", "true", "yes", "y", "x", "có", "co"}
FALSE_WORDS = {"0", "false", "no", "n", "không", "khong"}


class _Undo(Exception):
    """Leave an import's transaction without keeping anything (refused rows, a dry run)."""


@dataclass
class ImportReport:
    """What an import did, or would do, and the rows it refused (line number, reason)."""

    added: list[str] = field(default_factory=list)
    updated: list[tuple[str, list[str]]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    queues_created: list[str] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def fingerprint(self) -> str:
        """What this import changes, in a few characters: an import applied after a preview
        must change exactly what the preview showed."""
        what = {key: value for key, value in asdict(self).items()
                if key not in ("errors", "unchanged")}
        return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


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


def _optional(value, name: str, limit: int) -> str:
    """An optional text cell: empty stays empty, anything else is checked as text."""
    return "" if not (value or "").strip() else valid_text(value, name, limit)


def import_procedures(catalogue: Catalogue, path: str | Path, *, create_queues: bool = False,
                      dry_run: bool = False, deactivate_missing: bool = False,
                      expect: str | None = None, by: int | None = None) -> ImportReport:
    """Import a CSV or XLSX catalogue (code, field, name, queue; name_en, keywords and active
    when present); all rows or none. ``deactivate_missing`` deactivates the procedures the
    file does not list; with ``expect`` (a preview's fingerprint) nothing is kept unless the
    import changes exactly what that preview showed."""
    rows = read_table(Path(path))
    report = ImportReport()
    seen: dict[str, int] = {}
    parsed = []
    for line, row in rows:
        try:
            item = {"code": valid_code(row.get("code"), "code"),
                    "name": valid_text(row.get("name"), "name"),
                    "field": valid_text(row.get("field"), "field", 200),
                    "queue": valid_code(row.get("queue"), "queue"),
                    "active": _flag(row.get("active"))}
            for column, limit in (("name_en", 300), ("keywords", 500)):
                if column in row:
                    item[column] = _optional(row[column], column, limit)
        except errors.InvalidInput as exc:
            report.errors.append((line, str(exc)))
            continue
        if item["code"] in seen:
            report.errors.append((line, f"mã {item['code']} trùng với dòng {seen[item['code']]}"))
            continue
        seen[item["code"]] = line
        parsed.append((line, item))
    if report.errors:
        return report
    with contextlib.suppress(_Undo):
        _import(catalogue, parsed, seen, report, create_queues=create_queues, dry_run=dry_run,
                deactivate_missing=deactivate_missing, expect=expect, by=by)
    return report


def _import(catalogue, parsed, seen, report, *, create_queues, dry_run, deactivate_missing,
            expect, by) -> None:
    with catalogue.tx.change() as change:
        known_queues = {r[0] for r in change.all("SELECT code FROM queues")}
        for line, item in parsed:
            if item["queue"] not in known_queues and not create_queues:
                report.errors.append((line, f"không có hàng đợi {item['queue']} (dùng"
                                            f" --create-queues để tạo)"))
        if report.errors:
            raise _Undo
        free_letters = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in {
            r[0] for r in change.all("SELECT prefix FROM queues")}]
        for line, item in parsed:
            code, queue = item["code"], item["queue"]
            if queue not in known_queues:
                if not free_letters:
                    report.errors.append((line, "hết chữ cái cho hàng đợi mới"))
                    raise _Undo
                change.run("INSERT INTO queues (code, name, prefix) VALUES (?, ?, ?)",
                           (queue, queue, free_letters.pop(0)))
                known_queues.add(queue)
                report.queues_created.append(queue)
            values = {"name": item["name"], "field_id": catalogue.field_id(change, item["field"]),
                      "queue_code": queue, "active": int(item["active"])}
            values |= {column: item[column] for column in ("name_en", "keywords")
                       if column in item}
            old = change.one("SELECT * FROM procedures WHERE code = ?", (code,))
            if old is None:
                values["position"] = len(seen) and line
                change.run(f"INSERT INTO procedures (code, {', '.join(values)}) VALUES"
                           f" (?{', ?' * len(values)})", [code, *values.values()])
                report.added.append(code)
                continue
            changes = {column: value for column, value in values.items()
                       if old[column] != value}
            if changes:
                sets = ", ".join(f"{column} = ?" for column in changes)
                change.run(f"UPDATE procedures SET {sets} WHERE code = ?",
                           [*changes.values(), code])
                report.updated.append((code, sorted(changes)))
                if old["active"] and not values["active"]:
                    report.deactivated.append(code)
            else:
                report.unchanged.append(code)
        others = change.all("SELECT code, active FROM procedures ORDER BY code")
        report.missing = [r[0] for r in others if r[0] not in seen]
        if deactivate_missing:
            for code, active in others:
                if code not in seen and active:
                    change.run("UPDATE procedures SET active = 0 WHERE code = ?", (code,))
                    report.deactivated.append(code)
        if expect is not None and expect != report.fingerprint:
            report.errors.append((0, N_("Danh mục đã thay đổi từ lúc xem trước; hãy xem trước"
                                        " lại.")))
        if report.errors or dry_run:
            raise _Undo
        change.log(EventKind.CATALOGUE_CHANGED, clerk=by, what="procedures", key=None,
                   added=len(report.added), updated=len(report.updated),
                   deactivated=len(report.deactivated), before=None,
                   after={"added": report.added, "updated": [c for c, _ in report.updated],
                          "deactivated": report.deactivated})


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


def export_rows(catalogue: Catalogue) -> list[list[str]]:
    """Every procedure (active or not) as the rows of a file to import: the header first."""
    rows = [list(EXPORT_COLUMNS)]
    for proc in catalogue.procedures(include_inactive=True):
        rows.append([proc["code"], proc["field"], proc["name"], proc["name_en"],
                     proc["keywords"], proc["queue"]["code"], "1" if proc["active"] else "0"])
    return rows


def export_csv(catalogue: Catalogue) -> bytes:
    """The catalogue as CSV (UTF-8 with a BOM, so spreadsheet programs read the accents)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(export_rows(catalogue))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def export_xlsx(catalogue: Catalogue) -> bytes:
    """The catalogue as an XLSX workbook of one sheet, every cell text."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "procedures"
    for row in export_rows(catalogue):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
