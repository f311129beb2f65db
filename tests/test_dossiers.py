"""Dossier codes recorded when a clerk finishes a ticket (hall.calling.finish ``dossiers``):
checked, written with the finish in one change, carried in the FINISHED event for reports, and
reachable from the counter page and the JSON API."""

import pytest

from hall import errors
from hall.calling import MAX_DOSSIER_CODE, MAX_DOSSIERS
from hall.events import EventKind
from tests.plugins.web import csrf_of, issue

GPLX = "DEMO-GT-001"


def dossier_rows(hall) -> list[tuple]:
    with hall.store.read() as conn:
        return [tuple(r) for r in conn.execute(
            "SELECT t.number, d.code, d.day, d.counter_number, d.clerk_id FROM dossiers d"
            " JOIN tickets t ON t.id = d.ticket_id ORDER BY d.id")]


def finished_events(hall) -> list:
    return [e for e in hall.log.since(0) if e.kind == EventKind.FINISHED]


@pytest.fixture
def serving(hall, clerk):
    """Counter 1 serving A001 for the clerk."""
    hall.issuing.issue(GPLX)
    hall.issuing.issue(GPLX)
    hall.calling.call_next(1, clerk["id"])
    return hall


def test_codes_are_trimmed_deduplicated_and_recorded_with_the_finish(serving, clerk):
    done = serving.calling.finish(1, clerk=clerk["id"],
                                  dossiers=[" HS-001 ", "", "HS-002", "HS-001", "   "])
    assert done["dossiers"] == ["HS-001", "HS-002"] and done["status"] == "done"
    day = serving.today()
    assert dossier_rows(serving) == [("A001", "HS-001", day, 1, clerk["id"]),
                                     ("A001", "HS-002", day, 1, clerk["id"])]
    (event,) = finished_events(serving)
    assert event.data["dossiers"] == ["HS-001", "HS-002"]


def test_a_finish_without_codes_says_so_with_an_empty_list(serving):
    assert serving.calling.finish(1)["dossiers"] == []
    assert [e.data["dossiers"] for e in finished_events(serving)] == [[]]


def test_a_finish_by_the_next_call_records_an_empty_list(serving):
    serving.calling.call_next(1)  # finishes A001 on the way
    (event,) = finished_events(serving)
    assert event.data["auto"] is True and event.data["dossiers"] == []


@pytest.mark.parametrize("dossiers, text", [
    ("HS-001", errors.InvalidInput.NOT_LIST),
    (["HS-001", 7], errors.InvalidInput.NOT_TEXT),
    (["x" * (MAX_DOSSIER_CODE + 1)], errors.InvalidInput.TOO_LONG),
    ([f"HS-{i}" for i in range(MAX_DOSSIERS + 1)], errors.TOO_MANY_DOSSIERS),
    (["HS\x00001"], errors.BAD_DOSSIER_CODE),
])
def test_bad_codes_are_refused_and_nothing_is_written(serving, dossiers, text):
    mark = serving.log.last_id()
    with pytest.raises(errors.InvalidInput) as refused:
        serving.calling.finish(1, dossiers=dossiers)
    assert refused.value.text == text
    assert dossier_rows(serving) == []
    assert serving.log.since(mark) == []
    assert serving.screens.counter(1)["current"]["number"] == "A001"  # still being served


def test_the_limits_themselves_are_accepted(serving):
    codes = [f"{i:0{MAX_DOSSIER_CODE}d}" for i in range(MAX_DOSSIERS)]
    assert serving.calling.finish(1, dossiers=codes)["dossiers"] == codes


def test_perform_passes_the_codes(serving, clerk):
    done = serving.desk.perform(1, "finish", clerk["id"], dossiers=["HS-9"])
    assert done["dossiers"] == ["HS-9"]


# -- the doors ---------------------------------------------------------------------------------

def test_the_api_takes_codes_in_the_json_body(client, clerk_client, app):
    issue(client)
    clerk_client.post("/api/v1/counters/1/next")
    bad = clerk_client.post("/api/v1/counters/1/finish", json={"dossiers": "HS-1"})
    assert bad.status_code == 400
    done = clerk_client.post("/api/v1/counters/1/finish",
                             json={"outcome": "served", "dossiers": ["HS-1", "HS-2"]})
    assert done.status_code == 200 and done.get_json()["dossiers"] == ["HS-1", "HS-2"]
    assert [r[1] for r in dossier_rows(app.extensions["goiso"].hall)] == ["HS-1", "HS-2"]


def test_the_counter_page_sends_one_code_a_line_and_keeps_them_on_an_error(client, clerk_client,
                                                                         app):
    issue(client)
    page = clerk_client.get("/counter/1").get_data(as_text=True)
    assert 'name="dossiers"' in page
    csrf = csrf_of(page)
    clerk_client.post("/counter/1/act/next", data={"csrf_token": csrf})
    typed = "HS-1\r\n" + "x" * 80 + "\r\n"
    refused = clerk_client.post("/counter/1/act/finish",
                                data={"csrf_token": csrf, "dossiers": typed})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "x" * 80 in html and "HS-1" in html  # what was typed stays in its box
    done = clerk_client.post("/counter/1/act/finish",
                             data={"csrf_token": csrf, "dossiers": "HS-1\r\nHS-2\r\n"})
    assert done.status_code == 200
    assert [r[1] for r in dossier_rows(app.extensions["goiso"].hall)] == ["HS-1", "HS-2"]
