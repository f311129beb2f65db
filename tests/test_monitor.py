"""The supervisor's monitor (hall/monitor.py, services/monitor.py, GET /api/v1/monitor,
/admin/monitor and the alert banner): figures for a known hall on the fake clock, alerts that
appear and clear, the JSON's shape, and who may see it."""

from datetime import datetime

import pytest

from tests.plugins.web import issue, issue_in_hall

GPLX = "DEMO-GT-001"  # → queue GPLX (A001…), served by counters 1 and 2
VT = "DEMO-GT-007"  # → queue VT (B001…), served by counter 2
MINUTE = 60
HTMX = {"HX-Request": "true"}  # what htmx sends with the fragments it fetches


def by(items, key, value):
    return next(i for i in items if i[key] == value)


def test_counters_show_clerk_current_ticket_service_time_and_served_today(hall, clock, clerk):
    hall.accounts.sign_in(1, clerk["id"])
    for _ in range(3):
        hall.issuing.issue(GPLX)
    clock.advance(2 * MINUTE)
    hall.calling.call_next(1, clerk["id"])
    clock.advance(5 * MINUTE)
    hall.calling.finish(1, clerk=clerk["id"])
    hall.calling.call_next(1, clerk["id"])
    clock.advance(90)
    seen = hall.monitor.now()
    desk = by(seen["counters"], "number", 1)
    assert desk["clerk"] == {"id": clerk["id"], "name": "Nguyễn Thị Lan"}
    assert desk["status"] == "open" and desk["queues"] == ["GPLX"]
    assert desk["current"]["number"] == "A002" and desk["current"]["service_s"] == 90
    assert desk["served_today"] == 1
    other = by(seen["counters"], "number", 3)
    assert other["clerk"] is None and other["current"] is None and other["served_today"] == 0


def test_queues_show_waiting_longest_wait_and_time_to_clear(hall, clock):
    hall.issuing.issue(GPLX)
    clock.advance(4 * MINUTE)
    hall.issuing.issue(GPLX)
    hall.issuing.issue(GPLX, priority="elderly")
    clock.advance(MINUTE)
    seen = hall.monitor.now()
    gplx = by(seen["queues"], "code", "GPLX")
    assert (gplx["waiting"], gplx["priority_waiting"], gplx["longest_wait_s"]) == (3, 1, 300)
    # Nothing served yet: the planned pace, 5 minutes a service at each of 2 open counters.
    assert gplx["counters_open"] == 2 and gplx["pace_from"] == "planned"
    assert gplx["served_per_hour"] == 24.0 and gplx["clear_s"] == 450
    empty = by(seen["queues"], "code", "VT")
    assert (empty["waiting"], empty["longest_wait_s"], empty["clear_s"]) == (0, 0, 0)


def test_queues_show_the_wait_of_a_ticket_taken_now(hall, clock):
    seen = hall.monitor.now()
    gplx = by(seen["queues"], "code", "GPLX")
    # Nobody waits and counters 1 and 2 are free: called at once.
    assert gplx["new_ticket"]["eta_minutes"] == 0 and gplx["new_ticket"]["eta_range"][0] == 0
    for _ in range(6):
        hall.issuing.issue(GPLX)
    hall.calling.call_next(1)
    hall.calling.call_next(2)
    later = by(hall.monitor.now()["queues"], "code", "GPLX")["new_ticket"]
    # Behind 4 waiting, 2 counters, 5 configured minutes: called at about 12.5 minutes, and
    # the ticket taken now says the same as the last one issued (A007 would be behind A006).
    issued = hall.issuing.issue(GPLX)
    assert later["eta_range"][0] <= 12 <= later["eta_range"][1]
    assert issued["eta_range"] == later["eta_range"]
    assert issued["eta_minutes"] == later["eta_minutes"]
    hall.desk.close(3)  # the only counter of TKQ: nobody can say
    tkq = by(hall.monitor.now()["queues"], "code", "TKQ")["new_ticket"]
    assert tkq == {"status": "waiting", "eta_minutes": None, "eta_range": None,
                   "eta_after_closing": False}


def test_the_monitor_page_says_the_wait_in_the_tickets_words(supervisor_client):
    page = supervisor_client.get("/admin/monitor").get_data(as_text=True)
    assert "Lấy số bây giờ" in page and "sắp đến lượt" in page


def test_the_pace_is_measured_on_the_last_hour_once_services_finish(hall, clock):
    for _ in range(5):
        hall.issuing.issue(GPLX)
    clock.advance(MINUTE)
    hall.calling.call_next(1)
    clock.advance(10 * MINUTE)
    hall.calling.call_next(1)  # finishes the first (10 minutes of service)
    clock.advance(10 * MINUTE)
    hall.calling.finish(1)
    gplx = by(hall.monitor.now()["queues"], "code", "GPLX")
    # 2 services by 1 counter over 20 minutes = 6 an hour per counter, 2 counters open.
    assert gplx["pace_from"] == "recent" and gplx["served_per_hour"] == 12.0
    assert gplx["waiting"] == 3 and gplx["clear_s"] == 900


def test_a_queue_nobody_serves_never_clears(hall):
    hall.issuing.issue(VT)
    hall.desk.pause(2)
    vt = by(hall.monitor.now()["queues"], "code", "VT")
    assert vt["counters_open"] == 0 and vt["clear_s"] is None


def test_a_long_wait_raises_an_alert_that_clears_once_called(hall, clock):
    hall.issuing.issue(GPLX)
    clock.advance(10 * MINUTE)
    hall.issuing.issue(GPLX)
    clock.advance(4 * MINUTE)
    assert hall.monitor.alerts() == []
    clock.advance(MINUTE)  # A001 has waited 15 minutes: the alert threshold
    (alert,) = hall.monitor.alerts()
    assert alert["kind"] == "wait" and alert["queue"] == "GPLX"
    assert (alert["tickets"], alert["numbers"], alert["longest_wait_s"]) == (1, ["A001"], 900)
    assert by(hall.monitor.now()["queues"], "code", "GPLX")["over_target"] == 1
    hall.calling.call_next(1)
    assert hall.monitor.alerts() == []


def test_a_device_down_too_long_raises_an_alert_until_it_is_back(hall, clock):
    hall.devices.report("printer:K1", kind="printer", place="K1", state="paper_out",
                        ready=False, detail="hết giấy")
    clock.advance(30)
    devices = hall.monitor.now()["devices"]
    assert by(devices, "id", "printer:K1") | {"since": None} == {
        "id": "printer:K1", "kind": "printer", "place": "K1", "state": "paper_out",
        "online": False, "detail": "hết giấy", "paper": "out", "since": None,
        "down_s": 30, "last_error": None}
    assert hall.monitor.alerts() == []
    clock.advance(30)
    (alert,) = hall.monitor.alerts()
    assert (alert["kind"], alert["device"], alert["down_s"]) == ("device", "printer:K1", 60)
    hall.devices.report("printer:K1", kind="printer", place="K1", state="ready", ready=True)
    assert hall.monitor.alerts() == []
    assert by(hall.monitor.now()["devices"], "id", "printer:K1")["paper"] == "ok"


def test_unprinted_tickets_and_the_last_print_error(hall):
    ticket = hall.issuing.issue(GPLX, kiosk="K1", to_print=True)
    hall.printing.mark_printed(ticket["token"], False, "kẹt giấy", printer="K1")
    hall.devices.report("printer:K1", kind="printer", place="K1", state="error", ready=False,
                        detail="kẹt giấy")
    seen = hall.monitor.now()
    assert [(t["number"], t["kiosk"], t["print_error"]) for t in seen["unprinted"]] == [
        ("A001", "K1", "kẹt giấy")]
    assert by(seen["devices"], "id", "printer:K1")["last_error"]["detail"] == "kẹt giấy"


# -- the JSON and the pages -------------------------------------------------------------------

def test_the_json_has_queues_counters_devices_and_alerts(supervisor_client, client):
    issue(client)
    response = supervisor_client.get("/api/v1/monitor")
    assert response.status_code == 200
    seen = response.get_json()
    assert set(seen) >= {"queues", "counters", "devices", "alerts", "unprinted"}
    queue = seen["queues"][0]
    assert {"code", "waiting", "longest_wait_s", "clear_s"} <= set(queue)
    assert sum(q["waiting"] for q in seen["queues"]) == 1
    # The demo's kiosk printer never reported (nothing runs printers here): shown all the same.
    assert any(d["kind"] == "printer" and d["since"] is None for d in seen["devices"])


@pytest.mark.parametrize("path", ["/api/v1/monitor", "/admin/monitor"])
def test_only_supervisors_watch(path, app, client, clerk_client, supervisor_client):
    assert client.get(path).status_code in (302, 401)
    assert clerk_client.get(path).status_code == 403
    assert supervisor_client.get(path).status_code == 200


def test_a_counter_device_token_cannot_watch(app, admin_client):
    token = admin_client.post("/api/v1/counters/1/tokens").get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/monitor", headers=headers).status_code == 403
    assert app.test_client().get("/api/v1/audit", headers=headers).status_code == 403


def test_the_page_shows_the_tables(supervisor_client, app):
    issue_in_hall(app)
    app.extensions["goiso"].hall.devices.report("printer:k1", kind="printer", place="k1",
                                                state="cover_open", ready=False)
    html = supervisor_client.get("/admin/monitor").get_data(as_text=True)
    assert "Nắp máy in đang mở" in html  # a state in words, not its code
    for table in ("monitor-counters", "monitor-queues", "monitor-devices", "monitor-unprinted",
                  "monitor-alerts"):
        assert f'id="{table}"' in html
    assert "sse-connect" in html and html.count("sse-connect") == 1


def test_the_banner_shows_alerts_to_staff_and_nothing_when_all_is_well(app, clerk_client,
                                                                       supervisor_client):
    hall = app.extensions["goiso"].hall
    assert clerk_client.get("/admin/alerts", headers=HTMX).get_data(as_text=True).strip() == ""
    # Opened on its own (not by htmx), the banner comes inside a page with a title.
    alone = clerk_client.get("/admin/alerts").get_data(as_text=True)
    assert "<title>Cảnh báo" in alone and "<h1>Cảnh báo</h1>" in alone
    # 10:00 of the hall's business day: 16 minutes later is the same day whatever the hour
    # the test runs at (near midnight, the roll-over would expire the ticket instead)
    ten = datetime.fromisoformat(hall.today() + "T10:00").replace(
        tzinfo=hall.rules.tz).timestamp()
    hall.tx.clock = hall.clock = lambda: ten
    number = issue_in_hall(app)["number"]
    later = ten + 16 * MINUTE
    hall.tx.clock = hall.clock = lambda: later  # the ticket has waited 16 minutes
    banner = clerk_client.get("/admin/alerts", headers=HTMX)
    assert banner.status_code == 200 and 'role="alert"' in banner.get_data(as_text=True)
    assert number in banner.get_data(as_text=True)
    assert "/admin/monitor" not in banner.get_data(as_text=True)  # a clerk cannot go there
    assert "/admin/monitor" in supervisor_client.get("/admin/alerts", headers=HTMX) \
        .get_data(as_text=True)
    # The counter page and every back-office page load it.
    assert 'id="alert-banner"' in supervisor_client.get("/admin/").get_data(as_text=True)
    assert 'id="alert-banner"' in clerk_client.get("/counter/1").get_data(as_text=True)
    assert app.test_client().get("/admin/alerts").status_code in (302, 401)
