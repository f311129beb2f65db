"""Setting up the catalogue from the back office: fields, procedures, queues, counters,
clerks, kiosks and boards changed by name, who did it passed on for the audit, and the
catalogue imported (a preview first, then exactly that) and exported as CSV or XLSX."""

import secrets
import time
from pathlib import Path

from hall import errors, importing
from hall.words import N_

from . import signin, tickets

UPLOAD_SUFFIXES = (".csv", ".xlsx")
KEEP_UPLOADS_SECONDS = 24 * 3600  # a preview nobody applied is forgotten after a day
KINDS = ("field", "procedure", "queue", "counter", "clerk", "kiosk", "board")
QUEUE_COLUMNS = ("name", "number_format", "prefix", "digits", "block", "priority_policy",
                 "interleave_every", "issue_from", "issue_until", "daily_limit",
                 "service_minutes", "position", "active")


def overview(runtime) -> dict:
    """Everything the catalogue page lists, each kind in its order."""
    hall = runtime.hall
    kiosks = runtime.read(hall.catalogue.kiosks)
    for kiosk in kiosks:
        kiosk["printer"] = runtime.settings.printers.get(kiosk["id"])
    return {"fields": runtime.read(hall.catalogue.all_fields),
            "procedures": runtime.read(hall.catalogue.procedures, True),
            "queues": runtime.read(hall.catalogue.queues, True),
            "counters": runtime.read(hall.catalogue.counters),
            "clerks": runtime.read(hall.accounts.clerks),
            "kiosks": kiosks, "boards": runtime.read(hall.catalogue.boards)}


def put(runtime, kind: str, key, values: dict, *, by: int | None) -> dict:
    """Create or change one item of the catalogue (``key`` None for a new field); raises a
    HallError naming the field that is wrong, and changes nothing then."""
    hall = runtime.hall
    if kind == "field":
        return runtime.act(hall.catalogue.put_field, key, by=by, **values)
    if kind == "clerk":
        return runtime.act(hall.accounts.put_clerk, key, by=by,
                           **signin.with_pin_hash(runtime, values))
    if kind == "kiosk":
        kiosk = runtime.act(hall.catalogue.put_kiosk, key, by=by, **values)
        tickets.attach_printer(runtime, kiosk)
        return kiosk
    if kind == "queue":
        # A queue's put sets every column: what the form does not show (its place in the
        # order, say) is kept as it is.
        known = next((q for q in runtime.read(hall.catalogue.queues, True)
                      if q["code"] == key), None)
        if known is not None:
            values = {name: known[name] for name in QUEUE_COLUMNS if name not in values} \
                | values
    put_item = {"procedure": hall.catalogue.put_procedure, "queue": hall.catalogue.put_queue,
                "counter": hall.catalogue.put_counter, "board": hall.catalogue.put_board}[kind]
    return runtime.act(put_item, key, by=by, **values)


def move(runtime, kind: str, key, step: int, *, by: int | None) -> None:
    """Move a field, procedure or queue one place up (-1) or down (+1)."""
    runtime.act(runtime.hall.catalogue.move, kind, key, step, by=by)


def _imports(runtime) -> Path:
    """The folder of uploads waiting for their import; old ones are removed on the way."""
    folder = Path(runtime.settings.data_dir) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.stat().st_mtime < time.time() - KEEP_UPLOADS_SECONDS:
            old.unlink(missing_ok=True)
    return folder


def preview_import(runtime, data: bytes, filename: str, *,
                   deactivate_missing: bool = False) -> tuple[str, importing.ImportReport]:
    """Keep an uploaded catalogue in the data folder and say what importing it would do:
    (the upload's name for ``apply_import``, the report). Raises InvalidInput for a file
    that cannot be read at all; row errors are in the report."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise errors.InvalidInput(N_("Chỉ nhận tệp .csv hoặc .xlsx."), field="file")
    if not data:
        raise errors.InvalidInput(N_("Chưa chọn tệp."), field="file")
    upload = secrets.token_hex(8) + suffix
    path = _imports(runtime) / upload
    path.write_bytes(data)
    try:
        report = runtime.act(runtime.hall.catalogue.import_procedures, path,
                             create_queues=True, dry_run=True,
                             deactivate_missing=deactivate_missing)
    except errors.HallError:
        path.unlink(missing_ok=True)
        raise
    if not report.ok:
        path.unlink(missing_ok=True)
    return upload, report


def apply_import(runtime, upload: str, fingerprint: str, *, deactivate_missing: bool = False,
                 by: int | None) -> importing.ImportReport:
    """Import a previewed upload in one change, only if it changes exactly what the preview
    showed (``fingerprint``); the upload is removed once imported."""
    if not isinstance(upload, str) or Path(upload).name != upload \
            or Path(upload).suffix not in UPLOAD_SUFFIXES:
        raise errors.InvalidInput(field="upload")
    path = _imports(runtime) / upload
    if not path.exists():
        raise errors.InvalidInput(N_("Tệp xem trước không còn; hãy tải lên lại."),
                                  field="file")
    report = runtime.act(runtime.hall.catalogue.import_procedures, path, create_queues=True,
                         deactivate_missing=deactivate_missing, expect=fingerprint, by=by)
    if report.ok:
        path.unlink(missing_ok=True)
    return report


def export(runtime, kind: str) -> bytes:
    """The whole catalogue of procedures as a CSV or XLSX file to edit and import again."""
    write = {"csv": importing.export_csv, "xlsx": importing.export_xlsx}[kind]
    return runtime.read(write, runtime.hall.catalogue)
