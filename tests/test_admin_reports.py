"""The reports page /admin/reports and GET /api/v1/reports/summary (JSON, CSV, XLSX)."""

import csv
import io

import openpyxl
import pytest

from hall.reports import FIGURES
from tests.plugins.web import error_of, issue_in_hall


@pytest.fixture
def served(app) -> str:
    """Three tickets of today: two served at counter 1, one waiting; returns today."""
    runtime = app.extensions["goiso"]
    hall = runtime.hall
    for _ in range(3):
        issue_in_hall(app, "DEMO-GT-001")
    runtime.act(hall.calling.call_next, 1)
    runtime.act(hall.calling.finish, 1)
    runtime.act(hall.calling.call_next, 1)
    runtime.act(hall.calling.finish, 1)
    return hall.today()


def summary_url(day: str, by: str = "procedure", fmt: str = "json", **extra) -> str:
    query = "&".join(f"{k}={v}" for k, v in extra.items())
    return f"/api/v1/reports/summary?from={day}&to={day}&by={by}&format={fmt}&{query}"


def test_json_rows_carry_exactly_the_figures(supervisor_client, served):
    body = supervisor_client.get(summary_url(served)).get_json()
    row = next(r for r in body["rows"] if r["key"] == "DEMO-GT-001")
    assert set(row) == {"key", "name", *FIGURES}
    assert len(body["ratings_per_level"]["rows"]) == len(body["rows"])
    assert (row["issued"], row["served"]) == (3, 2)
    assert row["within_target_share"] == 1.0


@pytest.mark.parametrize("by", ["field", "procedure", "queue", "counter", "clerk", "day",
                                "hour"])
def test_every_grouping_answers(supervisor_client, served, by):
    body = supervisor_client.get(summary_url(served, by)).get_json()
    assert body["by"] == by and sum(r["issued"] for r in body["rows"]) == 3


def test_csv_and_xlsx_read_back_equal_the_json(supervisor_client, served):
    body = supervisor_client.get(summary_url(served)).get_json()
    response = supervisor_client.get(summary_url(served, fmt="csv"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Mã", "Thủ tục", "Số phiếu đã cấp"]
    assert rows[-1][1] == "Tổng cộng" and int(rows[-1][2]) == body["total"]["issued"]
    csv_row = next(r for r in rows if r[0] == "DEMO-GT-001")
    json_row = next(r for r in body["rows"] if r["key"] == "DEMO-GT-001")
    assert [float(c) if c else None for c in csv_row[2:]] == [json_row[f] for f in FIGURES]
    response = supervisor_client.get(summary_url(served, fmt="xlsx"))
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert cells[0][1] == "Thủ tục"
    xlsx_row = next(r for r in cells if r[0] == "DEMO-GT-001")
    assert xlsx_row[2:] == [json_row[f] for f in FIGURES]


def test_english_headers_when_the_request_is_english(supervisor_client, served):
    response = supervisor_client.get(summary_url(served, fmt="xlsx", lang="en"))
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    header = next(sheet.iter_rows(values_only=True))
    assert header[1] == "Procedure" and header[2] == "Tickets issued"


@pytest.mark.parametrize(("query", "field"), [
    ("from=2026-02-30&to=2026-03-01", "from"), ("from=2026-03-02&to=2026-03-01", "from"),
    ("from=2026-03-01&to=", "to"), ("from=2026-03-01&to=2026-03-02&by=colour", "by"),
    ("from=2026-03-01&to=2026-03-02&format=pdf", "format")])
def test_bad_requests_get_a_clear_error(supervisor_client, query, field):
    error = error_of(supervisor_client.get(f"/api/v1/reports/summary?{query}"), 400)
    assert field in error["messages"]["en"]


def test_roles(client, clerk_client, demo, served):
    url = summary_url(served)
    assert clerk_client.get(url).status_code == 403
    assert clerk_client.get("/admin/reports").status_code == 403
    assert client.get(url).status_code == 401
    assert client.get("/admin/reports").status_code in (302, 401)
    device = {"Authorization": f"Bearer {demo['tokens'][1]}"}
    assert client.get(url, headers=device).status_code == 403


def test_the_page_shows_tables_and_svg_charts(supervisor_client, served):
    response = supervisor_client.get(f"/admin/reports?from={served}&to={served}&by=counter")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count("<svg") == 3 and "<script" not in html.split("<main>")[1]
    assert 'id="one-stop"' in html and "@media print" in html
    assert "format=csv" in html and "format=xlsx" in html
    assert "Quầy 1" in html


def test_the_page_keeps_what_was_typed_and_shows_the_error_by_the_field(supervisor_client):
    response = supervisor_client.get("/admin/reports?from=2026-05-09&to=2026-05-01&by=day")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'value="2026-05-09"' in html and 'value="2026-05-01"' in html
    assert 'id="error-from"' in html


def test_charts_are_drawn_once_then_served_from_memory(app, served):
    from services import reports

    runtime = app.extensions["goiso"]
    report = reports.summary(runtime, served, served, "queue")
    drawn = []

    class Counting:
        def read(self, fn, *args):
            drawn.append(args[0])
            return runtime.read(fn, *args)

    reports._CHART_CACHE.clear()
    first = reports.charts(Counting(), report, str)
    assert sorted(drawn) == ["groups", "heatmap", "trend"]
    assert reports.charts(Counting(), report, str) == first and len(drawn) == 3
    # Black and white: the bars are told apart by a hatch, the lines by their markers.
    assert "<pattern" in first["groups"] and first["trend"].startswith("<svg")


def test_an_empty_range_still_draws_its_page(supervisor_client):
    response = supervisor_client.get("/admin/reports?from=2020-01-01&to=2020-01-31&by=hour")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Không có phiếu nào trong khoảng ngày này." in html and html.count("<svg") == 3


def test_the_page_in_english(supervisor_client, served):
    html = supervisor_client.get(f"/admin/reports?from={served}&to={served}&lang=en"
                                 ).get_data(as_text=True)
    assert "Received and handled by field" in html and "Share within target wait" in html
