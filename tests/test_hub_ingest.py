"""The hub stores a hall's events once and in order, on a real PostgreSQL."""

import contextlib
import time

import psycopg
import pytest

from hub import errors
from hub.halls import add_hall, hall_of_token
from hub.ingest import store
from hub.schema import KIND_CODES, migrate

DAY = "2026-12-04"


def event(seq: int, kind: str = "issued", day: str = DAY, **data) -> list:
    """An ``issued`` event as a hall pushes it (a kiosk in ``data``)."""
    return [seq, 1_796_000_000.0 + seq, day, kind, seq, None, None, "GPLX", "DEMO-GT-001",
            str(1000 + seq), data or {"kiosk": "k1"}]


def batch(hall: int, after: int, count: int, day: str = DAY) -> dict:
    return {"hall": hall, "after": after,
            "events": [event(seq, day=day) for seq in range(after + 1, after + count + 1)]}


def stored(conn, hall: int) -> list[int]:
    return [r[0] for r in conn.execute("SELECT seq FROM events WHERE hall_id = %s ORDER BY seq",
                                       (hall,))]


@pytest.fixture
def hall(hub_db) -> int:
    return add_hall(hub_db, "Trung tâm Phục vụ hành chính công tỉnh A")[0]


def test_migrations_run_once(hub_db):
    assert migrate(hub_db) == []
    kinds = dict(hub_db.execute("SELECT name, code FROM event_kinds").fetchall())
    assert kinds == KIND_CODES


def test_a_token_is_shown_once_and_stored_hashed(hub_db):
    hall, token = add_hall(hub_db, "Xã B")
    assert hall_of_token(hub_db, token) == hall
    assert hall_of_token(hub_db, token + "x") is None and hall_of_token(hub_db, "") is None
    kept = hub_db.execute("SELECT token_hash FROM halls WHERE id = %s", (hall,)).fetchone()[0]
    assert token not in kept and len(kept) == 64


def test_batches_in_order_and_again(hub_db, hall):
    assert store(hub_db, hall, batch(hall, 0, 100)) == 100
    assert store(hub_db, hall, batch(hall, 100, 50)) == 150
    # The same batch again (the answer was lost): nothing changes.
    assert store(hub_db, hall, batch(hall, 100, 50)) == 150
    # A batch overlapping what is stored: only the new part is added.
    assert store(hub_db, hall, batch(hall, 120, 60)) == 180
    assert stored(hub_db, hall) == list(range(1, 181))
    row = hub_db.execute("SELECT acked_seq, last_contact IS NOT NULL FROM hall_positions"
                         " WHERE hall_id = %s",
                         (hall,)).fetchone()
    assert row == (180, True)


def test_a_gap_is_refused_with_the_position_expected(hub_db, hall):
    store(hub_db, hall, batch(hall, 0, 10))
    with pytest.raises(errors.Gap) as refused:
        store(hub_db, hall, batch(hall, 20, 5))
    assert refused.value.params == {"after": 20, "expected_after": 10, "expected": 11}
    assert stored(hub_db, hall) == list(range(1, 11))


def test_holes_a_hall_purged_before_it_had_a_hub_are_kept_as_holes(hub_db, hall):
    body = {"hall": hall, "after": 0, "events": [event(5), event(6), event(9)]}
    assert store(hub_db, hall, body) == 9
    assert stored(hub_db, hall) == [5, 6, 9]
    assert store(hub_db, hall, batch(hall, 9, 2)) == 11


def test_months_get_their_partitions(hub_db, hall):
    body = {"hall": hall, "after": 0,
            "events": [event(1, day="2026-11-30"), event(2, day="2026-12-01"),
                       event(3, day="2027-01-02")]}
    assert store(hub_db, hall, body) == 3
    parts = {r[0] for r in hub_db.execute(
        "SELECT inhrelid::regclass::text FROM pg_inherits"
        " WHERE inhparent = 'events'::regclass")}
    assert parts == {"events_2026_11", "events_2026_12", "events_2027_01"}


@pytest.mark.parametrize(("body", "reason"), [
    ([], "{hall, after, events}"),
    ({"hall": 1, "after": 0}, "{hall, after, events}"),
    ({"hall": 1, "after": -1, "events": [event(1)]}, "after"),
    ({"hall": 1, "after": 0, "events": []}, "events"),
    ({"hall": 1, "after": 2, "events": [event(2)]}, "the first event is 2"),
    ({"hall": 1, "after": 0, "events": [event(1), event(3), event(3)]}, "does not follow"),
    ({"hall": 1, "after": 0, "events": [event(2), event(1)]}, "does not follow"),
    ({"hall": 1, "after": 0, "events": [event(1, kind="hacked")]}, "kind"),
    ({"hall": 1, "after": 0, "events": [event(1, kind=["issued"])]}, "kind"),
    ({"hall": 1, "after": 0, "events": [event(1, kind={"issued": 1})]}, "kind"),
    ({"hall": 1, "after": 0, "events": [event(1, day="2026-13-01")]}, "day"),
    ({"hall": 1, "after": 0, "events": [event(1), event(2, day=["2026-12-04"])]}, "day"),
    ({"hall": 1, "after": 0, "events": [event(1), event(2, day=None)]}, "day"),
    ({"hall": 1, "after": 0, "events": [[1, float("nan"), DAY, "issued", 1, None, None,
                                          None, None, None, None]]}, "at"),
    ({"hall": 1, "after": 0, "events": [[1, 1.0e9, DAY, "issued", "1", None, None, None,
                                          None, None, None]]}, "ticket"),
    ({"hall": 1, "after": 0, "events": [[1, 1.0e9, DAY, "issued", 1, None, None, "x" * 41,
                                          None, None, None]]}, "queue"),
    ({"hall": 1, "after": 0, "events": [[1, 1.0e9, DAY, "issued", 1, None, None, None,
                                          "P\x00", None, None]]}, "procedure"),
    ({"hall": 1, "after": 0, "events": [[1, 1.0e9, DAY, "issued", 1, None, None, None,
                                          None, None, [1]]]}, "data"),
    ({"hall": 1, "after": 0, "events": [[1, 1.0e9, DAY, "issued", 1, None, None, None,
                                          None, None, {"x": "y" * 5000}]]}, "data"),
    ({"hall": 1, "after": 0, "events": [event(1)[:10]]}, "event"),
    ({"hall": 1, "after": 0, "events": [event(1), event(2)[:10] + ["x"]]}, "data of event 2"),
    ({"hall": 1, "after": 0, "events": [event(1, note="a\x00b")]}, "NUL"),
    ({"hall": 1, "after": 0, "events": [event(1, note="\ud800")]}, "JSON"),
    (b'{"hall": 1, "after": 0, "events": [[1, 1e9, "2026-12-04", "issued", 1, null, null,'
     b' null, null, null, {"note": "\\ud800"}]]}', "JSON"),
    (b'{"hall": 1, "after": 0, "events": [[1, 1e9, "2026-12-04", "issued", 1, null, null,'
     b' null, null, null, {"note": "\\u0000"}]]}', "data of event 1: NUL"),
    (b'{"hall": 1, "after": 0, "events": [[1, 1e9, "2026-12-04", "issued", 1, null, null,'
     b' null, null, null, {"note": "\xff"}]]}', "JSON"),
    (b'{"hall": 1, "after": 0, "events": [[1, 1e9, "2026-12-04", "issued", 1, null, null,'
     b' null, null, null, {"x"}]]}', "JSON"),
])
def test_malformed_batches_are_refused_and_nothing_is_stored(hub_db, body, reason):
    hall = add_hall(hub_db, "Xã C")[0]
    if isinstance(body, dict) and "hall" in body:
        body["hall"] = hall
    elif isinstance(body, bytes):  # as it comes over HTTP
        body = body.replace(b'"hall": 1', b'"hall": %d' % hall)
    with pytest.raises(errors.BadBatch) as refused:
        store(hub_db, hall, body)
    assert reason in str(refused.value)
    assert stored(hub_db, hall) == []


def test_data_is_stored_as_the_hall_sent_it(hub_db, hall):
    """``data`` goes in as its JSON text, never made into Python objects; escapes jsonb can
    hold, Vietnamese text and numbers come back the same."""
    body = ('{"hall": HALL, "after": 0, "events": [[1, 1796000000.25, "2026-12-04", "issued", 1,'
            ' null, null, "GPLX", "P-1", "1001", {"kiosk": "k1", "ghi chú": "Hồ sơ ①",'
            ' "tab": "a\\tb", "n": 0, "x": 1.5e3}],'
            ' [2, 1796000001, "2026-12-04", "called", 1, 2, 7, "GPLX", null, null, null],'
            ' [3, 1796000002, "2026-12-04", "finished", 1, 2, 7, "GPLX", null, null, {}]]}'
            ).replace("HALL", str(hall)).encode()
    assert store(hub_db, hall, body) == 3
    rows = hub_db.execute("SELECT seq, data FROM events WHERE hall_id = %s ORDER BY seq",
                          (hall,)).fetchall()
    assert rows == [(1, {"kiosk": "k1", "ghi chú": "Hồ sơ ①", "tab": "a\tb", "n": 0,
                         "x": 1500.0}), (2, None), (3, None)]


def test_a_token_writes_only_its_own_halls_events(hub_db, hall):
    other = add_hall(hub_db, "Xã D")[0]
    with pytest.raises(errors.ForgedHall):
        store(hub_db, hall, batch(other, 0, 5))
    assert stored(hub_db, other) == [] and stored(hub_db, hall) == []


def test_two_writers_of_one_hall_store_each_event_once(hub_dsn, hub_db, hall):
    """The hall's row lock makes a second writer of the same batch wait, then skip."""
    import threading

    results, failures = [], []

    def push():
        try:
            with psycopg.connect(hub_dsn, autocommit=True) as conn:
                results.append(store(conn, hall, batch(hall, 0, 2000)))
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=push) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == [] and results == [2000] * 4
    assert stored(hub_db, hall) == list(range(1, 2001))


def test_storage_per_event(hub_db, hall):
    """Bytes a stored event takes with its index (the issue's target is 100)."""
    after = 0
    began = time.perf_counter()
    for _ in range(10):
        after = store(hub_db, hall, batch(hall, after, 5000))
    took = time.perf_counter() - began
    hub_db.execute("VACUUM ANALYZE events")
    size = hub_db.execute(
        "SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits"
        " WHERE inhparent = 'events'::regclass").fetchone()[0]
    per_event = size / 50_000
    print(f"hub: {per_event:.0f} bytes per event stored with its index;"
          f" {50_000 / took:.0f} events/s through store()")
    assert per_event < 200


def test_hostile_batches_get_a_clear_refusal(hub_db, hall):
    """Any JSON a client can send is stored or refused with a HallError, never a crash."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from hall.errors import HallError

    scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**64, 2**64),
                        st.floats(allow_nan=False), st.text(max_size=12),
                        st.sampled_from(["issued", "called", DAY, "2026-02-30", "GPLX"]))
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                          max_leaves=6)
    fields = st.lists(values, min_size=11, max_size=11)
    good = st.builds(lambda seq, kind: event(seq, kind=kind), st.integers(1, 50),
                     st.sampled_from(["issued", "called", "finished"]))
    # A good event with one field replaced: each check is reached, not only the first.
    mutated = st.tuples(good, st.integers(0, 10), values).map(
        lambda t: [*t[0][:t[1]], t[2], *t[0][t[1] + 1:]])
    events = st.lists(st.one_of(mutated, good, fields, values), min_size=1, max_size=3)
    bodies = st.one_of(
        st.fixed_dictionaries({"hall": st.just(hall), "after": st.just(0), "events": events}),
        values, st.fixed_dictionaries({"hall": st.one_of(st.just(hall), values),
                                       "after": st.one_of(st.integers(0, 5), values),
                                       "events": st.one_of(events, values)}))

    @settings(max_examples=400, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(bodies)
    def check(body):
        with contextlib.suppress(HallError):
            store(hub_db, hall, body)

    check()
