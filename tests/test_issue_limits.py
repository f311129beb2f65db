"""Issue limits: tickets a minute per kiosk and per client address, refusals that alert staff
and burn no number, queues nearing their day's numbers, and a supervisor's extension."""

import pytest

from hall import errors
from hall.events import AUDITED, EventKind
from hall.rules import Rules
from tests.plugins.printers import print_files, printers_running
from tests.plugins.waiting import wait_for
from tests.plugins.web import csrf_of, row_count, staff_client, tap
from tests.plugins.web import issue as api_issue


def last_event(hall) -> int:
    with hall.tx.reading() as reading:
        return reading.value("SELECT coalesce(max(id), 0) FROM events")


def numbers(hall, queue: str) -> list[int]:
    with hall.tx.reading() as reading:
        return [r[0] for r in reading.all("SELECT seq FROM tickets WHERE issued_queue = ?"
                                          " ORDER BY seq", (queue,))]


# -- the core ---------------------------------------------------------------------------------

def test_the_seventh_ticket_a_minute_from_one_kiosk_is_refused_and_burns_no_number(hall, clock):
    for _ in range(6):
        hall.issuing.issue("DEMO-GT-001", kiosk="K1", client="10.0.0.5")
        clock.advance(1)
    with pytest.raises(errors.IssueLimited) as refused:
        hall.issuing.issue("DEMO-GT-001", kiosk="K1", client="10.0.0.5")
    assert refused.value.status == 429
    # The oldest of the six was 6 s ago: the next can be had 54 s from now.
    assert refused.value.params["seconds"] == 54
    assert refused.value.params["source"] == "kiosk"
    assert numbers(hall, "GPLX") == [1, 2, 3, 4, 5, 6]
    clock.advance(54)
    assert hall.issuing.issue("DEMO-GT-001", kiosk="K1", client="10.0.0.5")["number"] == "A007"
    assert numbers(hall, "GPLX") == [1, 2, 3, 4, 5, 6, 7]


def test_another_kiosk_and_staff_are_not_held_back(hall, clock):
    hall.catalogue.put_kiosk("K2", name="Ki-ốt tầng 2")
    for _ in range(6):
        hall.issuing.issue("DEMO-GT-001", kiosk="K1", client="10.0.0.5")
    with pytest.raises(errors.IssueLimited):
        hall.issuing.issue("DEMO-GT-001", kiosk="K1", client="10.0.0.5")
    hall.issuing.issue("DEMO-GT-001", kiosk="K2", client="10.0.0.6")
    # Staff doors and the command line pass no client: never limited.
    for _ in range(20):
        hall.issuing.issue("DEMO-GT-001", kiosk="K1")


def test_naming_a_kiosk_from_elsewhere_cannot_block_it(hall, clock):
    """A kiosk is named by whoever asks: another address naming it counts against itself."""
    for _ in range(6):
        hall.issuing.issue("DEMO-GT-001", kiosk="K1", client="10.0.0.66")
    with pytest.raises(errors.IssueLimited):
        hall.issuing.issue("DEMO-GT-001", kiosk="K1", client="10.0.0.66")
    hall.issuing.issue("DEMO-GT-001", kiosk="K1", client="10.0.0.5")


def test_one_address_is_held_to_its_own_limit_without_a_kiosk(hall, clock):
    for _ in range(12):
        hall.issuing.issue("DEMO-GT-007", client="10.0.0.9")
    with pytest.raises(errors.IssueLimited) as refused:
        hall.issuing.issue("DEMO-GT-001", client="10.0.0.9")
    assert refused.value.params["source"] == "client"
    hall.issuing.issue("DEMO-GT-001", client="10.0.0.10")


def test_a_retry_of_an_issued_request_is_never_refused(hall, clock):
    for i in range(6):
        hall.issuing.issue("DEMO-GT-001", kiosk="K1", client="10.0.0.5", request_key=f"k{i}")
    again = hall.issuing.issue("DEMO-GT-001", kiosk="K1", client="10.0.0.5", request_key="k5")
    assert again["number"] == "A006"


def test_a_refusal_alerts_staff_once_a_minute(hall, clock):
    for _ in range(12):
        hall.issuing.issue("DEMO-GT-007", client="10.0.0.9")
    before = last_event(hall)
    for _ in range(50):  # a flood: one event for staff, not fifty
        with pytest.raises(errors.IssueLimited):
            hall.issuing.issue("DEMO-GT-007", client="10.0.0.9")
    assert last_event(hall) == before + 1
    alerts = [a for a in hall.monitor.alerts() if a["kind"] == "limited"]
    assert alerts == [{"kind": "limited", "source": "client", "kiosk": None,
                       "client": "10.0.0.9", "minutes": 1, "limit": 12,
                       "last_at": alerts[0]["last_at"]}]
    clock.advance(61)  # the window has moved: 12 more may be had, then refused again
    for _ in range(12):
        hall.issuing.issue("DEMO-GT-007", client="10.0.0.9")
    with pytest.raises(errors.IssueLimited):
        hall.issuing.issue("DEMO-GT-007", client="10.0.0.9")
    assert [a["minutes"] for a in hall.monitor.alerts() if a["kind"] == "limited"] == [2]
    clock.advance(601)  # ten quiet minutes: the alert is gone
    assert not [a for a in hall.monitor.alerts() if a["kind"] == "limited"]


def test_the_clock_set_back_does_not_keep_a_kiosk_blocked(hall, clock):
    for _ in range(6):
        hall.issuing.issue("DEMO-GT-001", kiosk="K1", client="10.0.0.5")
    clock.advance(-3600)  # NTP at boot sets the clock an hour back
    hall.issuing.issue("DEMO-GT-001", kiosk="K1", client="10.0.0.5")


@pytest.mark.parametrize("client", [5, "x" * 65])
def test_a_client_that_is_not_an_address_is_refused(hall, client):
    with pytest.raises(errors.InvalidInput):
        hall.issuing.issue("DEMO-GT-001", client=client)


class TestLimitsOff:
    @pytest.fixture
    def rules(self):
        return Rules(kiosk_tickets_per_minute=0, client_tickets_per_minute=0)

    def test_zero_means_no_limit(self, hall):
        for _ in range(40):
            hall.issuing.issue("DEMO-GT-001", kiosk="K1", client="10.0.0.5")


def test_rules_refuse_limits_out_of_range():
    with pytest.raises(errors.InvalidInput):
        Rules(kiosk_tickets_per_minute=-1)
    with pytest.raises(errors.InvalidInput):
        Rules(numbers_alert_percent=10)


# -- the day's numbers -------------------------------------------------------------------------

def test_a_queue_nearing_its_numbers_alerts_and_a_supervisor_extends_it(hall, clock):
    hall.catalogue.put_queue("VT", name="Vận tải đường bộ", prefix="B", position=2,
                             daily_limit=10)
    for _ in range(8):
        hall.issuing.issue("DEMO-GT-007")
    assert not [a for a in hall.monitor.alerts() if a["kind"] == "numbers"]
    hall.issuing.issue("DEMO-GT-007")  # 9 of 10: 90 %
    alert, = [a for a in hall.monitor.alerts() if a["kind"] == "numbers"]
    assert alert == {"kind": "numbers", "queue": "VT", "name": "Vận tải đường bộ", "used": 9,
                     "limit": 10, "left": 1, "extendable": True}
    hall.issuing.issue("DEMO-GT-007")
    with pytest.raises(errors.DailyLimitReached):
        hall.issuing.issue("DEMO-GT-007")
    supervisor = hall.accounts.put_clerk("mai", name="Mai", pin="135790", role="supervisor")
    done = hall.limits.extend("VT", 5, by=supervisor["id"])
    assert done == {"queue": "VT", "day": "2026-11-26", "limit": 15, "before": 10, "used": 10}
    assert hall.issuing.issue("DEMO-GT-007")["number"] == "B011"
    queue, = [q for q in hall.monitor.now()["queues"] if q["code"] == "VT"]
    assert (queue["numbers_used"], queue["numbers_limit"]) == (11, 15)
    with hall.tx.reading() as reading:
        row = reading.one("SELECT clerk_id, data FROM events WHERE kind = ?",
                          (EventKind.NUMBERS_EXTENDED,))
    assert row["clerk_id"] == supervisor["id"] and '"after": 15' in row["data"]
    assert EventKind.NUMBERS_EXTENDED in AUDITED
    # The extension is for today only.
    clock.at(8, days=1)
    for _ in range(10):
        hall.issuing.issue("DEMO-GT-007")
    with pytest.raises(errors.DailyLimitReached):
        hall.issuing.issue("DEMO-GT-007")


def test_a_block_format_cannot_be_extended_past_999(hall):
    with pytest.raises(errors.FormatFull):
        hall.limits.extend("TKQ", 10)
    with pytest.raises(errors.NothingToExtend):
        hall.limits.extend("GPLX", 10)


@pytest.mark.parametrize("extra", [0, -5, 10_000, "5", 2.5, True, None])
def test_an_extension_must_be_a_sensible_whole_number(hall, extra):
    hall.catalogue.put_queue("VT", name="Vận tải đường bộ", prefix="B", daily_limit=10)
    before = last_event(hall)
    with pytest.raises(errors.InvalidInput):
        hall.limits.extend("VT", extra)
    assert last_event(hall) == before


def test_an_unknown_queue_cannot_be_extended(hall):
    with pytest.raises(errors.UnknownQueue):
        hall.limits.extend("NOPE", 5)


# -- the doors ---------------------------------------------------------------------------------

LIMITED = Rules(kiosk_tickets_per_minute=2, client_tickets_per_minute=3)


def test_the_kiosk_asks_to_wait_or_ask_staff_and_prints_nothing(other_app):
    app = other_app(rules=LIMITED)
    client = app.test_client()
    with printers_running(app) as folder:
        csrf = csrf_of(client.get("/kiosk/k1").get_data(as_text=True))
        assert tap(client, csrf).status_code == 200
        assert tap(client, csrf).status_code == 200
        wait_for(lambda: len(print_files(folder)) == 2, "two tickets printed")
        tickets = row_count(app, "tickets")
        refused = tap(client, csrf)
        # Nothing more reaches the printer (it is idle; a print would have been queued).
        assert app.extensions["goiso"].printers.status("k1").ready
        assert len(print_files(folder)) == 2
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    text = refused.get_data(as_text=True)
    assert 'data-screen="refused"' in text and "hỏi nhân viên hướng dẫn" in text
    assert row_count(app, "tickets") == tickets


def test_the_api_answers_429_with_retry_after_and_staff_are_not_limited(other_app):
    app = other_app(rules=LIMITED)
    client = app.test_client()
    for _ in range(3):
        api_issue(client)
    refused = client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-001"})
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "issue_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another address still gets its ticket.
    other = client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-001"},
                        environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 201


def test_staff_see_the_refusal_and_extend_a_queue(other_app):
    app = other_app(rules=LIMITED)
    client = app.test_client()
    for _ in range(3):
        api_issue(client)
    assert client.post("/api/v1/tickets", json={"procedure": "DEMO-GT-001"}).status_code == 429
    supervisor = staff_client(app, "giamsat")
    alerts = supervisor.get("/api/v1/monitor").get_json()["alerts"]
    assert any(a["kind"] == "limited" and a["client"] == "127.0.0.1" for a in alerts)
    banner = supervisor.get("/admin/alerts").get_data(as_text=True)
    assert 'data-alert="limited"' in banner and "127.0.0.1" in banner
    queue = supervisor.get("/api/v1/queues").get_json()[0]["code"]
    refused = supervisor.post(f"/api/v1/queues/{queue}/extend", json={"extra": 5})
    assert refused.status_code == 409  # the demo queues have no daily limit
    clerk = staff_client(app, "an", 1)
    assert clerk.post(f"/api/v1/queues/{queue}/extend", json={"extra": 5}).status_code == 403
