"""The catalogue from the back office (issue 11): how long a hall's catalogue takes to preview,
import and export as XLSX and CSV, and the catalogue page to render, for the seed hall's size
(136 procedures) and a large one (1,000).

Each size is a fresh hall on a temporary SQLite file (the web app's own runtime, no server):
*preview* is the dry run of an upload (the file kept, every row checked, nothing written),
*apply* the import of that upload exactly as previewed (one transaction), *re-import* the same
file again (nothing changes), *export* the file back, *page* ``GET /admin/catalogue`` as an
admin through Flask's test client. Median of ``--runs`` runs, in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

TITLE = "Catalogue: XLSX/CSV preview, import, export and the catalogue page, 136 and 1,000 rows"


def _rows(count: int) -> list[list[str]]:
    rows = [["code", "field", "name", "name_en", "keywords", "queue", "active"]]
    for i in range(count):
        rows.append([f"TT-{i:04d}", f"Lĩnh vực {i % 12}", f"Thủ tục hành chính số {i} về đăng ký"
                     " và cấp giấy chứng nhận", f"Procedure {i}", "đăng ký, giấy chứng nhận",
                     f"Q{i % 6}", "1"])
    return rows


def _timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


def _one(folder: Path, count: int, kind: str) -> dict[str, float]:
    import csv
    import io

    import openpyxl

    from server import create_app
    from services import catalogue
    from settings import Settings

    app = create_app(Settings(data_dir=folder), testing=True)
    runtime = app.extensions["goiso"]
    runtime.hall.accounts.put_clerk("admin", name="Admin", pin="123456", role="admin")
    if kind == "xlsx":
        book = openpyxl.Workbook()
        for row in _rows(count):
            book.active.append(row)
        out = io.BytesIO()
        book.save(out)
        data = out.getvalue()
    else:
        out = io.StringIO()
        csv.writer(out).writerows(_rows(count))
        data = out.getvalue().encode()
    times = {}
    times["preview"], (upload, report) = _timed(
        lambda: catalogue.preview_import(runtime, data, f"c.{kind}"))
    assert report.ok and len(report.added) == count, report.errors[:3]
    times["apply"], done = _timed(
        lambda: catalogue.apply_import(runtime, upload, report.fingerprint, by=None))
    assert done.ok and len(done.added) == count
    _, (again, same) = _timed(lambda: catalogue.preview_import(runtime, data, f"c.{kind}"))
    times["re-import"], _ = _timed(
        lambda: catalogue.apply_import(runtime, again, same.fingerprint, by=None))
    times["export"], _ = _timed(lambda: catalogue.export(runtime, kind))
    client = app.test_client()
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    client.post("/api/v1/session", json={"login": "admin", "pin": "123456"},
                headers={"X-CSRFToken": token})
    times["page"], response = _timed(lambda: client.get("/admin/catalogue"))
    assert response.status_code == 200
    times["page KB"] = len(response.data) / 1024
    runtime.close()
    return times


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench catalogue", description=TITLE)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    columns = ("preview", "apply", "re-import", "export", "page", "page KB")
    print(f"{'rows':>6} {'file':>5} " + " ".join(f"{c:>10}" for c in columns))
    for count in (136, 1000):
        for kind in ("xlsx", "csv"):
            runs = []
            for _ in range(args.runs):
                with tempfile.TemporaryDirectory(prefix="goiso-bench-") as folder:
                    runs.append(_one(Path(folder), count, kind))
            medians = {c: statistics.median(r[c] for r in runs) for c in columns}
            print(f"{count:>6} {kind:>5} " + " ".join(f"{medians[c]:>10.1f}" for c in columns),
                  flush=True)
    print("(milliseconds, median of", args.runs, "runs; page KB = the page's HTML)")
    return 0
