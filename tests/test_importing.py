"""The catalogue imported from the back office (CSV and XLSX: upload, preview, apply exactly
what was previewed) and exported with the same columns; ``hall.importing`` underneath."""

import csv
import io
import re

import openpyxl
import pytest

from tests.plugins.halls import write_xlsx
from tests.plugins.web import db_state

HEADER = ["code", "field", "name", "name_en", "keywords", "queue", "active"]


def upload(client, name: str, data: bytes, **form):
    """Send a catalogue file to the preview."""
    return client.post("/admin/catalogue/import", data={
        "file": (io.BytesIO(data), name), **form}, content_type="multipart/form-data")


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html)[1]


def apply(client, preview_html: str):
    """Press "import exactly as previewed"."""
    return client.post("/admin/catalogue/import/apply", data={
        name: hidden(preview_html, name) for name in ("upload", "fingerprint",
                                                      "deactivate_missing")})


def csv_bytes(rows: list[list]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def xlsx_bytes(tmp_path, rows: list[list]) -> bytes:
    return write_xlsx(tmp_path / "upload.xlsx", rows).read_bytes()


def uploads(app) -> list:
    return list((app.extensions["goiso"].settings.data_dir / "imports").glob("*"))


ROWS = [HEADER,
        ["HT-001", "Hộ tịch", "Đăng ký khai sinh", "Birth registration",
         "khai sinh, giấy khai sinh", "HT", "có"],
        ["HT-002", "Hộ tịch", "Đăng ký kết hôn", "Marriage registration", "", "HT", ""],
        ["DEMO-GT-001", "Giấy phép lái xe", "Đổi giấy phép lái xe (mẫu mới)", "", "", "GPLX",
         "1"],
        ["DEMO-GT-002", "Giấy phép lái xe", "Cấp lại giấy phép lái xe", "", "", "GPLX", "0"]]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_preview_then_apply(app, admin_client, tmp_path, kind):
    hall = app.extensions["goiso"].hall
    before = db_state(app)
    data = csv_bytes(ROWS) if kind == "csv" else xlsx_bytes(tmp_path, ROWS)
    preview = upload(admin_client, f"catalogue.{kind}", data)
    assert preview.status_code == 200, preview.text
    assert "Sẽ thêm 2, sửa 2, ngừng dùng 1," in preview.text
    assert "tạo 1 hàng đợi" in preview.text
    assert db_state(app) == before  # a preview changes nothing
    done = apply(admin_client, preview.text)
    assert done.status_code == 200
    assert "Đã nhập: thêm 2, sửa 2, ngừng dùng 1 thủ tục." in done.text
    birth = hall.catalogue.procedure("HT-001")
    assert (birth["name_en"], birth["keywords"], birth["queue"]["code"]) == (
        "Birth registration", "khai sinh, giấy khai sinh", "HT")
    assert hall.catalogue.procedure("DEMO-GT-002")["active"] is False
    assert uploads(app) == []  # the kept upload goes once imported
    with hall.store.read() as conn:
        [data] = [r[0] for r in conn.execute(
            "SELECT data FROM events WHERE kind = 'catalogue_changed' ORDER BY id DESC LIMIT 1")]
    assert '"deactivated": ["DEMO-GT-002"]' in data


def test_procedures_missing_from_the_file_may_be_deactivated(app, admin_client):
    hall = app.extensions["goiso"].hall
    active = {p["code"] for p in hall.catalogue.procedures()}
    preview = upload(admin_client, "c.csv", csv_bytes(ROWS[:2]), deactivate_missing="1")
    assert f"ngừng dùng {len(active)}," in preview.text
    apply(admin_client, preview.text)
    assert [p["code"] for p in hall.catalogue.procedures()] == ["HT-001"]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_bad_file_shows_its_lines_and_changes_nothing(app, admin_client, tmp_path, kind):
    rows = [HEADER, ["HT-001", "Hộ tịch", "Đăng ký khai sinh", "", "", "HT", ""],
            ["HT 002", "Hộ tịch", "Kết hôn", "", "", "HT", ""],
            ["HT-003", "Hộ tịch", "", "", "", "HT", ""],
            ["HT-001", "Hộ tịch", "Lần hai", "", "", "HT", "có lẽ"]]
    before = db_state(app)
    data = csv_bytes(rows) if kind == "csv" else xlsx_bytes(tmp_path, rows)
    preview = upload(admin_client, f"bad.{kind}", data)
    assert preview.status_code == 422
    assert "Tệp có lỗi; không có gì thay đổi." in preview.text
    errors = re.findall(r"<li>Dòng (\d+): ([^<]*)</li>", preview.text)
    assert [int(line) for line, _ in errors] == [3, 4, 5]
    assert "HT 002" in errors[0][1] and "name" in errors[1][1] and "có lẽ" in errors[2][1]
    assert 'action="/admin/catalogue/import/apply"' not in preview.text
    assert db_state(app) == before and uploads(app) == []


@pytest.mark.parametrize(("name", "data", "said"), [
    ("c.txt", b"code,field,name,queue\n", "Chỉ nhận tệp .csv hoặc .xlsx."),
    ("c.csv", b"", "Chưa chọn tệp."),
    ("c.csv", b"code,name\nX,Y\n", "thiếu cột field, queue"),
    ("c.xlsx", b"not a workbook", "không đọc được tệp XLSX"),
    ("c.csv", "code,field,name,queue\nX,Đ,T,Q\n".encode("cp1258"), "cần mã hóa UTF-8"),
])
def test_an_unreadable_file_is_refused(app, admin_client, name, data, said):
    before = db_state(app)
    response = upload(admin_client, name, data)
    assert response.status_code == 422 and said in response.text
    assert db_state(app) == before and uploads(app) == []


def test_the_import_applies_only_what_was_previewed(app, admin_client):
    hall = app.extensions["goiso"].hall
    preview = upload(admin_client, "c.csv", csv_bytes(ROWS))
    # Meanwhile someone else renames DEMO-GT-001 as the file does: the import would now
    # change one procedure less than the preview said.
    hall.catalogue.put_procedure("DEMO-GT-001", name="Đổi giấy phép lái xe (mẫu mới)",
                                 field="Giấy phép lái xe", queue="GPLX")
    before = db_state(app)
    response = apply(admin_client, preview.text)
    assert response.status_code == 409
    assert "Danh mục đã thay đổi từ lúc xem trước; hãy xem trước lại." in response.text
    assert db_state(app) == before
    again = apply(admin_client, upload(admin_client, "c.csv", csv_bytes(ROWS)).text)
    assert again.status_code == 200 and "thêm 2, sửa 1, ngừng dùng 1" in again.text


def test_an_upload_name_cannot_reach_outside_the_imports_folder(app, admin_client):
    before = db_state(app)
    for name in ("../goiso.db", "/etc/passwd", "x.csv"):
        response = admin_client.post("/admin/catalogue/import/apply", data={
            "upload": name, "fingerprint": "0"})
        assert response.status_code == 422
    assert db_state(app) == before


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_export_gives_back_what_imports_unchanged(app, admin_client, kind):
    hall = app.extensions["goiso"].hall
    hall.catalogue.put_procedure("DEMO-GT-001", name="Đổi giấy phép lái xe",
                                 field="Giấy phép lái xe", queue="GPLX",
                                 name_en="Licence renewal", keywords="bằng lái, GPLX")
    exported = admin_client.get(f"/admin/catalogue/export.{kind}")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["Content-Disposition"]
    if kind == "csv":
        text = exported.data.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
    else:
        book = openpyxl.load_workbook(io.BytesIO(exported.data), read_only=True)
        rows = [[c if c is not None else "" for c in row]
                for row in book.worksheets[0].iter_rows(values_only=True)]
    assert rows[0] == HEADER
    assert ["DEMO-GT-001", "Giấy phép lái xe", "Đổi giấy phép lái xe", "Licence renewal",
            "bằng lái, GPLX", "GPLX", "1"] in rows
    assert len(rows) - 1 == len(hall.catalogue.procedures(include_inactive=True))
    before = db_state(app)
    preview = upload(admin_client, f"again.{kind}", exported.data)
    assert "Sẽ thêm 0, sửa 0, ngừng dùng 0," in preview.text
    apply(admin_client, preview.text)
    assert {t: rows for t, rows in db_state(app).items() if t != "events"} == {
        t: rows for t, rows in before.items() if t != "events"}


def test_an_export_imports_into_an_empty_hall_the_same(app, empty_hall, tmp_path):
    from hall import importing

    source = app.extensions["goiso"].hall.catalogue
    path = tmp_path / "catalogue.xlsx"
    path.write_bytes(importing.export_xlsx(source))
    report = empty_hall.catalogue.import_procedures(path, create_queues=True)
    assert report.ok, report.errors
    keep = ("code", "name", "name_en", "keywords", "field", "active")
    assert [{k: p[k] for k in keep} for p in empty_hall.catalogue.procedures(True)] == [
        {k: p[k] for k in keep} for p in source.procedures(True)]
