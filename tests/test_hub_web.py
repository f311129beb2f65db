"""The hub as halls and staff reach it: a real ``goiso hub serve`` on a real PostgreSQL."""

import gzip
import json

import pytest
import requests

from tests.hubserver import HubServer

pytestmark = pytest.mark.slow
DAY = "2026-12-04"


def batch(hall: int, after: int, count: int) -> dict:
    return {"hall": hall, "after": after, "events": [
        [seq, 1_796_000_000.0 + seq, DAY, "issued", seq, None, None, "GPLX", "DEMO-GT-001",
         str(1000 + seq), {"kiosk": "k1"}] for seq in range(after + 1, after + count + 1)]}


@pytest.fixture(scope="module")
def hub(postgres):
    name = "hub_web"
    postgres.drop_database(name)
    dsn = postgres.create_database(name)
    with HubServer(dsn) as server:
        yield server
    postgres.drop_database(name)


def test_health(hub):
    reply = requests.get(hub.url("/healthz"), timeout=5)
    assert reply.status_code == 200
    body = reply.json()
    assert body["ok"] and body["schema"].startswith("h0") and "halls" in body
    assert body["province_rollups"] == {"stale_days": 0, "quiet_not_rebuilt": 0}
    assert body["facts_pending"] == {"tickets": 0, "oldest_s": None, "rollup_days": 0}


def test_a_hall_pushes_with_its_token(hub):
    hall, token = hub.add_hall("Trung tâm Phục vụ hành chính công tỉnh A")
    assert hub.post("/api/v1/ingest", batch(hall, 0, 500), token) == (
        200, {"hall": hall, "acked": 500, "catalogue": None})
    # Sent again (the answer was lost): acknowledged, nothing doubled.
    assert hub.post("/api/v1/ingest", batch(hall, 0, 500), token)[1]["acked"] == 500
    reply = requests.get(hub.url("/api/v1/position"),
                         headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert reply.json() == {"hall": hall, "acked": 500}
    # Uncompressed is fine too.
    assert hub.post("/api/v1/ingest", batch(hall, 500, 10), token, compress=False)[0] == 200


def test_refusals(hub):
    hall, token = hub.add_hall("Xã B")
    other, other_token = hub.add_hall("Xã C")
    status, body = hub.post("/api/v1/ingest", batch(hall, 0, 5), "goiso-hall-wrong")
    assert status == 401 and body["error"]["code"] == "unauthorized"
    status, body = hub.post("/api/v1/ingest", batch(hall, 0, 5))
    assert status == 401
    status, body = hub.post("/api/v1/ingest", batch(other, 0, 5), token)
    assert status == 403 and body["error"]["code"] == "forged_hall"
    status, body = hub.post("/api/v1/ingest", batch(hall, 10, 5), token)
    assert status == 409 and body["error"]["code"] == "gap"
    assert body["error"]["expected"] == 1
    assert "hãy gửi tiếp từ sự kiện 1" in body["error"]["messages"]["vi"]
    status, body = hub.post("/api/v1/ingest", None, token, raw=b"{not json")
    assert status == 400 and body["error"]["code"] == "bad_batch"
    # Not UTF-8 (this was a 500), in a field and in an event's data.
    for raw in (b'{"hall": 1, "\xff": 2}', json.dumps(batch(hall, 0, 1)).encode().replace(
            b'"k1"', b'"\xc3("')):
        status, body = hub.post("/api/v1/ingest", None, token, raw=raw)
        assert status == 400 and body["error"]["message"].endswith("JSON"), body
    # A small body that inflates past the limit.
    bomb = gzip.compress(b" " * (40 * 1024 * 1024))
    reply = requests.post(hub.url("/api/v1/ingest"), data=bomb, timeout=30, headers={
        "Authorization": f"Bearer {token}", "Content-Encoding": "gzip"})
    assert reply.status_code == 413 and reply.json()["error"]["code"] == "too_large"
    reply = requests.post(hub.url("/api/v1/ingest"), data=b"\x1f\x8bnope", timeout=30, headers={
        "Authorization": f"Bearer {token}", "Content-Encoding": "gzip"})
    assert reply.status_code == 400
    assert hub.post("/api/v1/ingest", batch(hall, 0, 3), token)[1]["acked"] == 3
    assert hub.post("/api/v1/ingest", batch(other, 0, 2), other_token)[1]["acked"] == 2


def test_staff_sign_in_is_throttled(hub):
    import subprocess

    from tests.liveserver import GOISO, goiso_env

    subprocess.run([str(GOISO), "hub", "add-user", "tinh", "--dsn", hub.dsn, "--name",
                    "Sở Nội vụ", "--role", "supervisor", "--pin", "246810"], check=True,
                   env=goiso_env(), capture_output=True)
    session = requests.Session()
    assert session.get(hub.url("/api/v1/session"), timeout=5).json()["user"] is None
    answers = [session.post(hub.url("/api/v1/session"), json={"login": "tinh", "pin": "000000"},
                            timeout=10) for _ in range(5)]
    # As in a hall: three free tries, the fourth answered too, then a wait.
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
    assert answers[0].json()["error"]["code"] == "unauthorized"  # the hall's own refusal
    assert int(answers[4].headers["Retry-After"]) >= 1
    # Even the right PIN waits out the delay.
    right = session.post(hub.url("/api/v1/session"), json={"login": "tinh", "pin": "246810"},
                         timeout=10)
    assert right.status_code == 429
    assert json.loads(right.text)["error"]["code"] == "signin_throttled"
