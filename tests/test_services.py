"""The application layer (services/): what a door asks, done the same way for every door.

Tickets issued at a kiosk go to its printer whoever asked; the printer's state decides what a
kiosk may still hand out; keypad keys act for the clerk seated at the counter; after a restart
only tickets that were handed to a printer and never heard of again are flagged.
"""

import pytest
import requests

from hall import errors
from services import counters, tickets
from settings import KioskOptions
from tests.liveserver import LiveServer
from tests.plugins.waiting import wait_for
from tests.plugins.web import row_count

VT = "DEMO-GT-007"


def runtime_of(app):
    return app.extensions["goiso"]


# -- issuing ------------------------------------------------------------------------------------

def test_a_kiosk_ticket_goes_to_the_kiosk_printer(app, printing):
    runtime = runtime_of(app)
    issued = tickets.issue(runtime, VT, kiosk="k2")
    assert issued.printing and issued.sheet["number"] == issued.ticket["number"]
    wait_for(lambda: runtime.hall.tickets.ticket(issued.ticket["token"])["printed"])
    assert len(list((printing / "k2").glob(f"*-{issued.ticket['number']}.escpos"))) == 1
    assert list((printing / "k1").glob("*.escpos")) == []


def test_a_ticket_without_a_kiosk_is_not_printed(app, printing):
    issued = tickets.issue(runtime_of(app), VT)
    assert not issued.printing and issued.ticket["printed"] is None
    assert list(printing.glob("*/*.escpos")) == []


def test_a_retried_request_is_the_same_ticket_printed_once(app, printing):
    runtime = runtime_of(app)
    first = tickets.issue(runtime, VT, kiosk="k1", request_key="tap-0001")
    wait_for(lambda: runtime.hall.tickets.ticket(first.ticket["token"])["printed"])
    again = tickets.issue(runtime, VT, kiosk="k1", request_key="tap-0001")
    assert again.ticket["id"] == first.ticket["id"] and not again.printing
    assert len(list((printing / "k1").glob("*.escpos"))) == 1
    with pytest.raises(errors.DuplicateRequest):
        tickets.issue(runtime, "DEMO-GT-001", kiosk="k1", request_key="tap-0001")


def test_a_kiosk_whose_printer_is_down_refuses_and_issues_nothing(app):
    # Printing does not run in this app: every printer reads "stopped".
    with pytest.raises(errors.PrinterNotReady) as refused:
        tickets.issue(runtime_of(app), VT, kiosk="k1")
    assert refused.value.params["printer"] == "Ki-ốt sảnh chính"
    assert row_count(app, "tickets") == 0


@pytest.mark.parametrize("procedure, kiosk, error", [
    ("", "k1", errors.InvalidInput),
    ("NOPE", "k1", errors.UnknownProcedure),
    (VT, "k9", errors.UnknownKiosk),
])
def test_what_the_core_refuses_is_said_before_the_printer(app, procedure, kiosk, error):
    with pytest.raises(error):
        tickets.issue(runtime_of(app), procedure, kiosk=kiosk)
    assert row_count(app, "tickets") == 0


def test_screen_tickets_while_the_printer_is_down(app):
    runtime = runtime_of(app)
    runtime.settings.kiosk = KioskOptions(printer_down="screen")
    issued = tickets.issue(runtime, VT, kiosk="k1")
    assert not issued.printing and issued.ticket["printed"] is False
    assert issued.sheet["print_error"].startswith("vé trên màn hình")
    assert [t["number"] for t in runtime.hall.printing.unprinted()] == [issued.ticket["number"]]


def test_reprint_and_test_page_reach_the_printer(app, printing):
    runtime = runtime_of(app)
    ticket = runtime.act(runtime.hall.issuing.issue, VT, kiosk="k1")
    printer, sheet = tickets.reprint(runtime, number=ticket["number"], printer="k2")
    assert printer == "k2" and sheet["number"] == ticket["number"]
    wait_for(lambda: list((printing / "k2").glob(f"*-{ticket['number']}.escpos")))
    tickets.test_page(runtime, "k1")
    wait_for(lambda: list((printing / "k1").glob("*-0000.escpos")))
    with pytest.raises(errors.UnknownPrinter):
        tickets.reprint(runtime, number=ticket["number"], printer="k9")
    with pytest.raises(errors.UnknownPrinter):
        tickets.test_page(runtime, "../etc")


def test_the_status_address_prefers_the_halls_public_url(app):
    runtime = runtime_of(app)
    assert tickets.status_url(runtime, "abc", "http://10.0.0.5:8080/") == \
        "http://10.0.0.5:8080/t/abc"
    assert tickets.status_url(runtime, "abc").endswith(f":{runtime.settings.port}/t/abc")
    runtime.settings.public_url = "https://goiso.example.gov.vn/"
    assert tickets.status_url(runtime, "abc", "http://10.0.0.5:8080/") == \
        "https://goiso.example.gov.vn/t/abc"


# -- counters -----------------------------------------------------------------------------------

def seat(app, login: str, counter: int) -> dict:
    runtime = runtime_of(app)
    return counters.seat(runtime, login, app.config["DEMO"]["pins"][login], counter)


def test_keypad_keys_act_for_the_clerk_seated_there(app):
    runtime = runtime_of(app)
    an = seat(app, "an", 1)
    tickets.issue(runtime, "DEMO-GT-001")
    tickets.issue(runtime, "DEMO-GT-001")
    called = counters.press_key(runtime, 1, "N")
    assert called["number"] == "1001"
    assert runtime.hall.log.since(0)[-1].clerk == an["id"]
    assert counters.press_key(runtime, 1, "C", "1002")["number"] == "1002"
    assert counters.display_text(runtime, 1) == "1002"
    assert counters.press_key(runtime, 1, "P")["status"] == "paused"
    assert counters.display_text(runtime, 1) == counters.PAUSED_TEXT
    with pytest.raises(errors.NotFound):
        counters.press_key(runtime, 1, "Z")
    with pytest.raises(errors.InvalidInput):
        counters.press_key(runtime, 1, "C", "")


def test_a_clerk_takes_one_counter_and_leaves_it(app):
    runtime = runtime_of(app)
    an = seat(app, "an", 1)
    assert runtime.hall.accounts.seated(1) == an["id"]
    with pytest.raises(errors.Conflict):
        seat(app, "binh", 1)
    counters.unseat(runtime, 1, an["id"])
    assert runtime.hall.accounts.seated(1) is None
    with pytest.raises(errors.AuthError):
        counters.seat(runtime, "an", "000000", 1)


# -- after a restart ----------------------------------------------------------------------------

@pytest.mark.slow
def test_after_a_restart_only_prints_cut_short_are_flagged(tmp_path):
    """A kiosk ticket issued through the API is printed, and a restart raises no alarm for it
    nor for a ticket that never went to a printer (defects 4 and 8 of issue 10)."""
    data_dir = tmp_path / "hall"
    server = LiveServer(data_dir).start()
    try:
        kiosk = requests.post(server.url("/api/v1/tickets"), timeout=5,
                              json={"procedure": VT, "kiosk": "k1"}).json()
        phone = requests.post(server.url("/api/v1/tickets"), timeout=5,
                              json={"procedure": VT}).json()

        def printed():
            return requests.get(server.url(f"/api/v1/tickets/{kiosk['token']}"),
                                timeout=5).json()["printed"]

        wait_for(printed, "the kiosk ticket on paper")
    finally:
        server.stop()
    try:
        server.start()  # the same folder and port
        auth = {"Authorization": f"Bearer {server.tokens[1]}"}
        assert requests.get(server.url("/api/v1/tickets/unprinted"), headers=auth,
                            timeout=5).json() == []
        for ticket in (kiosk, phone):
            seen = requests.get(server.url(f"/api/v1/tickets/{ticket['token']}"),
                                timeout=5).json()
            assert seen["status"] == "waiting"
        assert seen["printed"] is None  # the phone's ticket: no paper was ever promised
    finally:
        server.close()
    events = _events_of(data_dir / "goiso.db")
    assert "print_failed" not in events and events.count("printed") == 1


def _events_of(path) -> list[str]:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT kind FROM events ORDER BY id")]


def test_a_made_up_kiosk_makes_no_printer_worker_nor_folder(app, client, printing):
    """The public door names any kiosk it likes: only the hall's own kiosks get a printer."""
    before = set(runtime_of(app).printers.spoolers)
    for name in ("attacker0", "attacker1"):
        response = client.post("/api/v1/tickets", json={"procedure": VT, "kiosk": name})
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "unknown_kiosk"
    assert set(runtime_of(app).printers.spoolers) == before
    assert not (printing / "attacker0").exists() and not (printing / "attacker1").exists()


def test_a_kiosk_added_while_the_hall_runs_gets_its_printer(app, client, supervisor_client,
                                                             printing):
    assert supervisor_client.put("/api/v1/kiosks/k3", json={"name": "Ki-ốt tầng 2"}
                                 ).status_code == 200
    spooler = runtime_of(app).printers.spoolers["k3"]
    wait_for(lambda: spooler.status.ready, "the new kiosk's printer")
    issued = client.post("/api/v1/tickets", json={"procedure": VT, "kiosk": "k3"}).get_json()
    wait_for(lambda: list((printing / "k3").glob(f"*-{issued['number']}.escpos")),
             "the new kiosk's first ticket")
