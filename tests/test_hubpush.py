"""A hall pushes its event log to a real hub process on a real PostgreSQL: in order, once,
through outages, after a week offline, and it says so when something is wrong."""

import contextlib
import time

import psycopg
import pytest

from hall.errors import HallError
from services import hubpush
from services.monitor import hub_alerts, hub_state
from settings import HubOptions
from tests.hubserver import HubServer
from tests.plugins.web import issue_in_hall

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hub(postgres):
    name = "hub_push"
    postgres.drop_database(name)
    dsn = postgres.create_database(name)
    with HubServer(dsn) as server:
        yield server
    postgres.drop_database(name)


@pytest.fixture
def hall_app(other_app, hub):
    """A hall app whose [hub] names the hub process, with a hall of its own there."""
    hall_id, token = hub.add_hall("Xã thử nghiệm")
    app = other_app(hub=HubOptions(url=hub.base_url, hall_id=hall_id, token=token,
                                   batch_events=200, max_events_per_second=100000,
                                   interval_seconds=1.0))
    app.hub_id = hall_id
    return app


def at_hub(hub, hall_id: int) -> list[int]:
    with psycopg.connect(hub.dsn) as conn:
        return [r[0] for r in conn.execute(
            "SELECT seq FROM events WHERE hall_id = %s ORDER BY seq", (hall_id,))]


def log_ids(app) -> list[int]:
    return [e.id for e in app.extensions["goiso"].hall.log.since(0, 100000)]


def busy_day(app, tickets: int = 40) -> None:
    hall = app.extensions["goiso"].hall
    for i in range(tickets):
        issue_in_hall(app, "DEMO-GT-001" if i % 2 else "DEMO-GT-007", kiosk="k1")
    for _ in range(tickets // 2):
        for counter in (1, 3):
            with contextlib.suppress(HallError):  # nobody left for that counter
                hall.calling.call_next(counter)


def test_every_event_arrives_once_and_in_order(hall_app, hub):
    runtime = hall_app.extensions["goiso"]
    busy_day(hall_app)
    sent = hubpush.push_once(runtime)
    assert sent == len(log_ids(hall_app)) > 100
    assert at_hub(hub, hall_app.hub_id) == log_ids(hall_app)
    state = hub_state(runtime)
    assert state["acked"] == state["head"] and state["pending"] == 0 and state["error"] is None
    assert hubpush.push_once(runtime) == 0  # nothing new: nothing sent
    busy_day(hall_app, 10)
    hubpush.push_once(runtime)
    assert at_hub(hub, hall_app.hub_id) == log_ids(hall_app)


def test_an_outage_is_recorded_then_caught_up(hall_app, hub):
    runtime = hall_app.extensions["goiso"]
    busy_day(hall_app, 10)
    hub.stop()
    try:
        with pytest.raises(hubpush.HubUnreachable):
            hubpush.push_once(runtime)
        state = hub_state(runtime)
        assert state["error"].startswith("hub unreachable") and state["error_since"]
        assert state["pending"] == len(log_ids(hall_app))
        # The hall goes on meanwhile.
        busy_day(hall_app, 10)
        runtime.settings.hub.lag_alert_seconds = 10
        hall_app.extensions["goiso"].hall.tx.clock = lambda: time.time() + 60
        assert [a["kind"] for a in hub_alerts(runtime)] == ["hub"]
    finally:
        hub.start()
    hubpush.push_once(runtime)
    assert at_hub(hub, hall_app.hub_id) == log_ids(hall_app)
    assert hub_state(runtime)["error"] is None and hub_alerts(runtime) == []


def test_a_week_offline_catches_up_at_a_bounded_pace(hall_app, hub):
    runtime = hall_app.extensions["goiso"]
    hall = runtime.hall
    real = hall.tx.clock
    for day in range(7):
        hall.tx.clock = lambda day=day: real() + day * 86_400
        busy_day(hall_app, 30)
    hall.tx.clock = real
    total = len(log_ids(hall_app))
    runtime.settings.hub.max_events_per_second = 500
    runtime.settings.hub.interval_seconds = 1.0
    rests = []
    rounds = 0
    while hub_state(runtime)["pending"]:
        sent = hubpush.push_once(runtime, sleep=rests.append)
        assert 0 < sent <= 500  # one round's budget: max_events_per_second × interval
        rounds += 1
    assert at_hub(hub, hall_app.hub_id) == log_ids(hall_app)
    assert rounds >= total // 500
    # Paced: each batch of 200 given at least 200 / 500 s, less the time it took.
    assert rests and max(rests) <= 200 / 500
    days = {e.day for e in hall.log.since(0, 100000)}
    assert len(days) >= 7


def test_a_hub_restored_from_an_older_backup_gets_the_events_again(hall_app, hub):
    runtime = hall_app.extensions["goiso"]
    busy_day(hall_app, 10)
    hubpush.push_once(runtime)
    keep = len(log_ids(hall_app)) // 2
    with psycopg.connect(hub.dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM events WHERE hall_id = %s AND seq > %s", (hall_app.hub_id, keep))
        conn.execute("UPDATE hall_positions SET acked_seq = %s WHERE hall_id = %s",
                     (keep, hall_app.hub_id))
    busy_day(hall_app, 4)
    hubpush.push_once(runtime)  # told "gap, from keep + 1": goes back and sends again
    assert at_hub(hub, hall_app.hub_id) == log_ids(hall_app)


def test_a_hall_restored_from_an_older_backup_stops_and_says_so(hall_app, hub):
    runtime = hall_app.extensions["goiso"]
    busy_day(hall_app, 4)
    hubpush.push_once(runtime)
    with psycopg.connect(hub.dsn, autocommit=True) as conn:
        conn.execute("UPDATE hall_positions SET acked_seq = acked_seq + 1000 WHERE hall_id = %s",
                     (hall_app.hub_id,))
    busy_day(hall_app, 2)
    before = hub_state(runtime)["acked"]
    hubpush.push_once(runtime)
    state = hub_state(runtime)
    assert "restored from a backup" in state["error"] and state["acked"] == before


def test_a_wrong_token_is_an_error_on_the_monitor(other_app, hub):
    hall_id, _ = hub.add_hall("Xã sai mã")
    app = other_app(hub=HubOptions(url=hub.base_url, hall_id=hall_id, token="goiso-hall-wrong"))
    runtime = app.extensions["goiso"]
    busy_day(app, 2)
    assert hubpush.push_once(runtime) == 0
    assert "401 unauthorized" in hub_state(runtime)["error"]


def test_the_purge_keeps_what_the_hub_has_not_got(other_app, hub):
    from hall.rules import Rules
    from services import reports

    hall_id, token = hub.add_hall("Xã lưu giữ")
    app = other_app(rules=Rules(keep_tickets_days=31, kiosk_tickets_per_minute=0,
                                client_tickets_per_minute=0),
                    hub=HubOptions(url=hub.base_url, hall_id=hall_id, token=token))
    runtime = app.extensions["goiso"]
    busy_day(app, 6)
    real = runtime.hall.tx.clock
    runtime.hall.tx.clock = lambda: real() + 33 * 86_400
    assert reports.keep_up(runtime)["tickets"] == 0  # not at the hub yet: kept
    hubpush.push_once(runtime)
    assert at_hub(hub, hall_id) == log_ids(app)
    assert reports.keep_up(runtime)["tickets"] == 6  # now it may go


def test_the_monitor_shows_the_push(hall_app, hub):
    from tests.plugins.web import staff_client

    runtime = hall_app.extensions["goiso"]
    busy_day(hall_app, 3)
    supervisor = staff_client(hall_app, "giamsat")
    page = supervisor.get("/admin/monitor").text
    assert 'id="monitor-hub"' in page and "Chưa gửi" in page
    hubpush.push_once(runtime)
    page = supervisor.get("/admin/monitor").text
    head = hub_state(runtime)["head"]
    assert f"{head} / {head}" in page and "0 sự kiện" in page
    health = hall_app.test_client().get("/healthz").get_json()
    assert health["hub"]["acked"] == head and health["hub"]["pending"] == 0
