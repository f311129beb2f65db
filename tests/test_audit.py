"""The audit log (hall/audit.py, GET /api/v1/audit, /admin/audit): the staff's changes with
who, when (the hall's time zone), what, before → after and how many; filters by kind, clerk,
business days and text; pages; and who may read it."""

import pytest

from hall import errors
from hall.audit import AuditFilter
from hall.events import EventKind

DAY = 24 * 3600


@pytest.fixture
def logged(hall, clock):
    """Three days of changes: two clerks' settings, a catalogue edit, a token, an issue."""
    lan = hall.accounts.put_clerk("lan", name="Nguyễn Thị Lan", pin="246810",
                                  role="supervisor")["id"]
    hung = hall.accounts.put_clerk("hung", name="Trần Văn Hùng", pin="135790", role="admin")["id"]
    hall.overrides.put("rules", {"target_wait_minutes": 20}, by=lan)
    clock.advance(DAY)
    hall.overrides.put("hall", {"name": "UBND phường Bến Thành"}, by=hung)
    hall.issuing.issue("DEMO-GT-001")  # not a staff change: never in the audit log
    clock.advance(DAY)
    hall.overrides.put("rules", {"target_wait_minutes": 25}, by=lan)
    hall.accounts.new_token(1)
    return {"lan": lan, "hung": hung}


def whats(found) -> list[tuple]:
    return [(e["kind"], e["what"], e["key"], e["before"], e["after"]) for e in found["entries"]]


def test_entries_say_who_when_what_before_and_after_newest_first(hall, logged):
    found = hall.audit.entries()
    assert found["total"] == len(found["entries"]) >= 4
    newest = found["entries"][0]
    assert newest["kind"] == EventKind.TOKEN_CREATED and newest["counter"] == 1
    change = next(e for e in found["entries"] if e["after"] == 25)
    assert change["clerk"] == {"id": logged["lan"], "name": "Nguyễn Thị Lan"}
    assert (change["what"], change["key"], change["before"]) == ("rules",
                                                                "target_wait_minutes", 20)
    assert change["at"] == "2026-11-28T08:00:00+07:00" and change["day"] == "2026-11-28"
    assert not any(e["kind"] == EventKind.ISSUED for e in found["entries"])


def test_filters_by_kind_clerk_days_and_text(hall, logged):
    by_kind = hall.audit.entries(AuditFilter(kind="settings_changed"))
    assert [e["after"] for e in by_kind["entries"]] == [25, "UBND phường Bến Thành", 20]
    by_clerk = hall.audit.entries(AuditFilter(clerk=logged["hung"]))
    assert whats(by_clerk) == [("settings_changed", "hall", "name", None,
                                "UBND phường Bến Thành")]
    one_day = hall.audit.entries(AuditFilter(day_from="2026-11-27", day_to="2026-11-27"))
    assert [e["after"] for e in one_day["entries"]] == ["UBND phường Bến Thành"]
    assert [e["after"] for e in hall.audit.entries(
        AuditFilter(kind="settings_changed", day_from="2026-11-27"))["entries"]] == [
        25, "UBND phường Bến Thành"]
    assert hall.audit.entries(AuditFilter(text="Bến Thành"))["total"] == 1
    assert hall.audit.entries(AuditFilter(text="ubnd"))["total"] == 1  # ASCII case ignored
    # the change he made (by his name) and his account created (its name in "after")
    assert hall.audit.entries(AuditFilter(text="Trần Văn"))["total"] == 2
    assert hall.audit.entries(AuditFilter(text="100%"))["total"] == 0  # % is no wildcard


def test_pages(hall, logged):
    first = hall.audit.entries(AuditFilter(page_size=2))
    second = hall.audit.entries(AuditFilter(page_size=2, page=2))
    assert first["pages"] == second["pages"] == -(-first["total"] // 2)
    assert not {e["id"] for e in first["entries"]} & {e["id"] for e in second["entries"]}


@pytest.mark.parametrize("wanted, field", [
    (AuditFilter(kind="issued"), "kind"),
    (AuditFilter(day_from="2026-02-30"), "day_from"),
    (AuditFilter(day_from="2026-11-28", day_to="2026-11-27"), "day_to"),
    (AuditFilter(page=0), "page"),
    (AuditFilter(text="x" * 101), "text"),
])
def test_a_bad_filter_names_its_field(hall, wanted, field):
    with pytest.raises(errors.InvalidInput) as refused:
        hall.audit.entries(wanted)
    assert refused.value.params["field"] == field


# -- the doors ---------------------------------------------------------------------------------

def test_the_api_filters_and_pages(app, supervisor_client, admin_client):
    runtime = app.extensions["goiso"]
    admin = next(c for c in runtime.hall.accounts.clerks() if c["role"] == "admin")
    runtime.hall.overrides.put("ticket", {"footer": "Cảm ơn quý khách"}, by=admin["id"])
    admin_client.post("/api/v1/counters/2/tokens")
    found = supervisor_client.get("/api/v1/audit?kind=settings_changed").get_json()
    assert [(e["key"], e["after"], e["clerk"]["name"]) for e in found["entries"]] == [
        ("footer", "Cảm ơn quý khách", admin["name"])]
    assert supervisor_client.get(f"/api/v1/audit?clerk={admin['id']}&q=quý").get_json()[
        "total"] == 1
    bad = supervisor_client.get("/api/v1/audit?page=zero")
    assert bad.status_code == 400 and "page" in bad.get_json()["error"]["message"]


def test_the_page_shows_before_and_after_and_keeps_the_filter(app, supervisor_client):
    runtime = app.extensions["goiso"]
    admin = next(c for c in runtime.hall.accounts.clerks() if c["role"] == "admin")
    runtime.hall.overrides.put("rules", {"rating_levels": ["Tốt", "Chưa tốt"]}, by=admin["id"])
    html = supervisor_client.get("/admin/audit?kind=settings_changed&q=Tốt").get_data(
        as_text=True)
    assert "[&#34;Tốt&#34;, &#34;Chưa tốt&#34;]" in html and admin["name"] in html
    assert 'value="Tốt"' in html and 'value="settings_changed" selected' in html
    refused = supervisor_client.get("/admin/audit?from=2026-11-30&to=2026-11-01&q=abc")
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'data-field="to"' in html and 'value="abc"' in html  # the error beside, typed kept


@pytest.mark.parametrize("path", ["/api/v1/audit", "/admin/audit"])
def test_only_supervisors_read_the_audit_log(path, client, clerk_client, supervisor_client):
    assert client.get(path).status_code in (302, 401)
    assert clerk_client.get(path).status_code == 403
    assert supervisor_client.get(path).status_code == 200
