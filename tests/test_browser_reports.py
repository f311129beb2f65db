"""A report in a real Chromium against a real `goiso serve`: open it, download the CSV and the
XLSX, read them back."""

import csv
import io

import openpyxl
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_open_a_report_and_download_it(live_server, page, tmp_path):
    for _ in range(2):
        live_server.issue("DEMO-GT-001")
    live_server.act(1, "next")
    live_server.act(1, "finish")
    page.goto(live_server.url("/login?lang=vi"))
    page.fill("input[name=login]", "giamsat")
    page.fill("input[name=pin]", live_server.pins["giamsat"])
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(live_server.url("/"))
    page.goto(live_server.url("/admin/reports"))
    page.select_option("select[name=by]", "procedure")
    page.get_by_role("button", name="Xem báo cáo").click()
    page.wait_for_url("**by=procedure**")
    grouped = page.locator("#grouped table")
    assert "Đổi giấy phép lái xe" in grouped.inner_text()
    assert page.locator("#grouped svg").count() == 1 and page.locator("#heatmap svg").count() == 1

    with page.expect_download() as caught:
        page.get_by_role("link", name="Tải về CSV").click()
    rows = list(csv.reader(io.StringIO(
        caught.value.path().read_text(encoding="utf-8-sig"))))
    assert rows[0][1] == "Thủ tục"
    row = next(r for r in rows if r[0] == "DEMO-GT-001")
    assert int(row[2]) >= 2 and int(row[3]) >= 1

    with page.expect_download() as caught:
        page.get_by_role("link", name="Tải về XLSX").click()
    saved = tmp_path / caught.value.suggested_filename
    assert saved.name.startswith("goiso-report-procedure-")
    assert saved.suffix == ".xlsx"
    caught.value.save_as(saved)
    sheet = openpyxl.load_workbook(saved).active
    cells = list(sheet.iter_rows(values_only=True))
    assert cells[0][1] == "Thủ tục"
    assert next(r for r in cells if r[0] == "DEMO-GT-001")[2] == int(row[2])
