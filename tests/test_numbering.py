"""Ticket numbers: the three formats, their limits, and collisions between queues."""

import pytest

from hall import errors, numbering


@pytest.mark.parametrize("args, kwargs, label", [
    (("prefix", 1), {"prefix": "A"}, "A001"),
    (("prefix", 12), {"prefix": "A"}, "A012"),
    (("prefix", 999), {"prefix": "A"}, "A999"),
    (("prefix", 1000), {"prefix": "A"}, "A1000"),
    (("prefix", 7), {"prefix": "AB", "digits": 4}, "AB0007"),
    (("prefix", 7), {"prefix": "C", "digits": 1}, "C7"),
    (("block", 1), {"block": 1}, "1001"),
    (("block", 2), {"block": 1}, "1002"),
    (("block", 999), {"block": 1}, "1999"),
    (("block", 1), {"block": 9}, "9001"),
    (("block", 999), {"block": 9}, "9999"),
    (("plain", 1), {}, "1"),
    (("plain", 1234), {}, "1234"),
])
def test_label(args, kwargs, label):
    assert numbering.label(*args, **kwargs) == label


@pytest.mark.parametrize("args, kwargs", [
    (("prefix", 0), {"prefix": "A"}),
    (("plain", -1), {}),
    (("block", 1000), {"block": 1}),
    (("block", 1), {"block": 0}),
    (("block", 1), {"block": 10}),
    (("block", 1), {}),
    (("roman", 1), {}),
])
def test_label_refuses(args, kwargs):
    with pytest.raises(errors.InvalidInput):
        numbering.label(*args, **kwargs)


def test_capacity():
    assert numbering.capacity("block") == 999
    assert numbering.capacity("prefix") is None
    assert numbering.capacity("plain") is None


# -- through the hall ----------------------------------------------------------------------


def one_queue(h, code="Q", **queue):
    """Give the hall queue ``code`` with the given format, one procedure P-<code>, counter 1."""
    h.catalogue.put_queue(code, name=f"Hàng {code}", **queue)
    h.catalogue.put_procedure(f"P-{code}", name=f"Thủ tục {code}", field="Lĩnh vực", queue=code)
    served = [q["code"] for q in h.catalogue.counter(1)["queues"]] if any(
        c["number"] == 1 for c in h.catalogue.counters()) else []
    h.catalogue.put_counter(1, queues=[*served, code])


def issue_many(h, procedure, n):
    return [h.issuing.issue(procedure)["number"] for _ in range(n)]


def test_prefix_numbers_go_past_999(empty_hall):
    one_queue(empty_hall, number_format="prefix", prefix="A")
    numbers = issue_many(empty_hall, "P-Q", 1001)
    assert numbers[:3] == ["A001", "A002", "A003"]
    assert numbers[998:] == ["A999", "A1000", "A1001"]
    assert len(set(numbers)) == 1001


def test_block_holds_999_tickets_a_day(empty_hall, clock):
    one_queue(empty_hall, number_format="block", block=1)
    numbers = issue_many(empty_hall, "P-Q", 999)
    assert (numbers[0], numbers[-1]) == ("1001", "1999")
    with empty_hall.store.read() as conn:
        before = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
    with pytest.raises(errors.DailyLimitReached) as refused:
        empty_hall.issuing.issue("P-Q")
    assert refused.value.params["limit"] == 999
    with empty_hall.store.read() as conn:
        assert conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == before
    clock.at(8, 0, days=1)
    assert empty_hall.issuing.issue("P-Q")["number"] == "1001"


def test_block_daily_limit_below_capacity_wins(empty_hall):
    one_queue(empty_hall, number_format="block", block=9, daily_limit=2)
    assert issue_many(empty_hall, "P-Q", 2) == ["9001", "9002"]
    with pytest.raises(errors.DailyLimitReached):
        empty_hall.issuing.issue("P-Q")


def test_plain_numbers(empty_hall, clock):
    one_queue(empty_hall, number_format="plain")
    assert issue_many(empty_hall, "P-Q", 3) == ["1", "2", "3"]
    clock.at(8, 0, days=1)
    assert issue_many(empty_hall, "P-Q", 1) == ["1"]


def test_each_queue_counts_on_its_own(empty_hall):
    one_queue(empty_hall, "A", number_format="prefix", prefix="A")
    one_queue(empty_hall, "B", number_format="prefix", prefix="B", digits=4)
    one_queue(empty_hall, "K", number_format="block", block=2)
    got = [empty_hall.issuing.issue(p)["number"] for p in ("P-A", "P-B", "P-A", "P-K", "P-B")]
    assert got == ["A001", "B0001", "A002", "2001", "B0002"]


def test_transferred_ticket_keeps_its_number_and_does_not_use_the_target_sequence(empty_hall):
    one_queue(empty_hall, "A", number_format="prefix", prefix="A")
    one_queue(empty_hall, "B", number_format="prefix", prefix="B")
    empty_hall.issuing.issue("P-A")
    empty_hall.calling.call_next(1)
    moved = empty_hall.calling.transfer(1, queue="B")
    assert moved["number"] == "A001"
    assert empty_hall.issuing.issue("P-B")["number"] == "B001"
    assert empty_hall.issuing.issue("P-A")["number"] == "A002"


def test_two_plain_queues_need_the_queue_to_find_a_number(empty_hall):
    one_queue(empty_hall, "X", number_format="plain")
    one_queue(empty_hall, "Y", number_format="plain")
    x1 = empty_hall.issuing.issue("P-X")
    y1 = empty_hall.issuing.issue("P-Y")
    with pytest.raises(errors.InvalidInput):
        empty_hall.tickets.find("1")
    assert empty_hall.tickets.find("1", queue="X")["id"] == x1["id"]
    assert empty_hall.tickets.find("1", queue="Y")["id"] == y1["id"]
    assert empty_hall.calling.call_number(1, "1", queue="Y")["id"] == y1["id"]


def queues_table(h):
    with h.store.read() as conn:
        return [tuple(r) for r in conn.execute("SELECT * FROM queues ORDER BY code")]


@pytest.mark.parametrize("first, second", [
    ({"number_format": "prefix", "prefix": "A"}, {"number_format": "prefix", "prefix": "A"}),
    ({"number_format": "prefix", "prefix": "AB"}, {"number_format": "prefix", "prefix": "AB"}),
    ({"number_format": "block", "block": 3}, {"number_format": "block", "block": 3}),
])
def test_catalogue_refuses_colliding_formats(empty_hall, first, second):
    empty_hall.catalogue.put_queue("ONE", name="Một", **first)
    before = queues_table(empty_hall)
    with pytest.raises(errors.InvalidInput) as refused:
        empty_hall.catalogue.put_queue("TWO", name="Hai", **second)
    assert "ONE" in str(refused.value)
    assert queues_table(empty_hall) == before
    # Taking over the other's prefix or block by editing is refused too.
    empty_hall.catalogue.put_queue("TWO", name="Hai", number_format="plain")
    before = queues_table(empty_hall)
    with pytest.raises(errors.InvalidInput):
        empty_hall.catalogue.put_queue("TWO", name="Hai", **second)
    assert queues_table(empty_hall) == before


def test_catalogue_allows_distinct_formats_and_editing_a_queue_in_place(empty_hall):
    c = empty_hall.catalogue
    c.put_queue("ONE", name="Một", prefix="A")
    c.put_queue("TWO", name="Hai", prefix="B")
    c.put_queue("BLK", name="Khối", number_format="block", block=1)
    c.put_queue("BLK2", name="Khối 2", number_format="block", block=2)
    c.put_queue("ONE", name="Một (sửa)", prefix="A")  # same queue keeps its own prefix
    c.put_queue("BLK", name="Khối", number_format="block", block=1)
    assert c.queue("ONE")["name"] == "Một (sửa)"
    assert [q["code"] for q in c.queues()] == ["BLK", "BLK2", "ONE", "TWO"]
