"""The catalogue: validation of every put_*, reading it back, and CSV/XLSX imports."""

import csv
import shutil
from pathlib import Path

import pytest

from hall import errors
from tests.plugins.halls import write_xlsx

DATA = Path(__file__).with_name("data")
SAMPLE = DATA / "procedures-sample.csv"  # a copy of shared/data/procedures-sample.csv
ERRORS = DATA / "procedures-errors.csv"
SAMPLE_CODES = [f"DEMO-GT-{n:03d}" for n in range(1, 23)]
SAMPLE_QUEUES = ["GPLX", "VT", "DTND", "TKQ", "HD"]  # in order of first appearance
SAMPLE_FIELDS = ["Giấy phép lái xe", "Vận tải đường bộ", "Đường thủy nội địa", "Trả kết quả",
                 "Hướng dẫn"]


def dump(h) -> dict:
    """The catalogue tables and the event log, straight from the file."""
    with h.store.read() as conn:
        return {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2")]
                for t in ("queues", "procedures", "fields", "counters", "counter_queues",
                          "kiosks", "boards", "events")}


def sample_rows() -> list[dict]:
    with SAMPLE.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_csv(path: Path, rows: list[dict], columns=("code", "field", "name", "queue"),
              encoding="utf-8", newline="\n") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(columns), lineterminator=newline)
        w.writeheader()
        w.writerows(rows)
    return path


# -- put_* validation ----------------------------------------------------------------------

GOOD_QUEUE = {"name": "Hàng mới", "number_format": "prefix", "prefix": "Z"}


@pytest.mark.parametrize("code, changes", [
    ("a b", {}),
    ("", {}),
    ("-x", {}),
    ("Q" * 41, {}),
    (7, {}),
    ("NEW", {"name": "  "}),
    ("NEW", {"name": "x" * 201}),
    ("NEW", {"number_format": "roman"}),
    ("NEW", {"prefix": "z"}),
    ("NEW", {"prefix": "ABC"}),
    ("NEW", {"prefix": "A1"}),
    ("NEW", {"prefix": ""}),  # the prefix format needs a letter
    ("NEW", {"digits": 0}),
    ("NEW", {"digits": 7}),
    ("NEW", {"digits": "3"}),
    ("NEW", {"number_format": "block", "prefix": "", "block": None}),
    ("NEW", {"number_format": "block", "prefix": "", "block": 0}),
    ("NEW", {"number_format": "block", "prefix": "", "block": 10}),
    ("NEW", {"number_format": "block", "prefix": "", "block": 1}),  # TKQ has block 1
    ("NEW", {"prefix": "A"}),  # GPLX has A
    ("NEW", {"priority_policy": "fifo"}),
    ("NEW", {"interleave_every": 0}),
    ("NEW", {"interleave_every": 101}),
    ("NEW", {"interleave_every": 2.5}),
    ("NEW", {"issue_from": "25:00"}),
    ("NEW", {"issue_until": "8h"}),
    ("NEW", {"daily_limit": 0}),
    ("NEW", {"daily_limit": True}),
    ("NEW", {"service_minutes": 0}),
    ("NEW", {"service_minutes": 481}),
    ("NEW", {"service_minutes": "5"}),
    ("NEW", {"service_minutes": True}),
    ("NEW", {"position": -1}),
    ("NEW", {"position": "1"}),
])
def test_put_queue_refuses_bad_input_and_changes_nothing(hall, code, changes):
    before = dump(hall)
    with pytest.raises(errors.InvalidInput):
        hall.catalogue.put_queue(code, **(GOOD_QUEUE | changes))
    assert dump(hall) == before


@pytest.mark.parametrize("code, changes, error", [
    ("bad code", {}, errors.InvalidInput),
    ("P-NEW", {"name": ""}, errors.InvalidInput),
    ("P-NEW", {"field": " "}, errors.InvalidInput),
    ("P-NEW", {"queue": "NOPE"}, errors.UnknownQueue),
    ("P-NEW", {"queue": "no pe"}, errors.InvalidInput),
    ("P-NEW", {"position": -3}, errors.InvalidInput),
])
def test_put_procedure_refuses_bad_input_and_changes_nothing(hall, code, changes, error):
    good = {"name": "Thủ tục mới", "field": "Lĩnh vực mới", "queue": "GPLX"}
    before = dump(hall)
    with pytest.raises(error):
        hall.catalogue.put_procedure(code, **(good | changes))
    assert dump(hall) == before


@pytest.mark.parametrize("number, changes, error", [
    (0, {}, errors.InvalidInput),
    (1000, {}, errors.InvalidInput),
    ("4", {}, errors.InvalidInput),
    (True, {}, errors.InvalidInput),
    (4, {"select_mode": "random"}, errors.InvalidInput),
    (4, {"queues": ["NOPE"]}, errors.UnknownQueue),
    (4, {"queues": ["GPLX", "GPLX"]}, errors.InvalidInput),
    (4, {"queues": [{"code": "GPLX", "weight": 0}]}, errors.InvalidInput),
    (4, {"queues": [{"code": "GPLX", "weight": -1}]}, errors.InvalidInput),
    (4, {"queues": [{"code": "GPLX", "weight": "2"}]}, errors.InvalidInput),
    (4, {"queues": [{"code": "GPLX", "weight": True}]}, errors.InvalidInput),
    (4, {"queues": [{"weight": 1}]}, errors.InvalidInput),
    (4, {"queues": [3]}, errors.InvalidInput),
    (4, {"queues": "GPLX"}, errors.InvalidInput),
    (1, {"name": "x" * 101}, errors.InvalidInput),
])
def test_put_counter_refuses_bad_input_and_changes_nothing(hall, number, changes, error):
    before = dump(hall)
    with pytest.raises(error):
        hall.catalogue.put_counter(number, **changes)
    assert dump(hall) == before


@pytest.mark.parametrize("call", [
    lambda c: c.put_kiosk("bad id", name="Ki-ốt"),
    lambda c: c.put_kiosk("K2", name=""),
    lambda c: c.put_board("TV 1", name="Bảng"),
    lambda c: c.put_board("TV1", name="Bảng", queues=["no pe"]),
    lambda c: c.put_board("TV1", name="Bảng", counters=[0]),
    lambda c: c.put_board("TV1", name="Bảng", counters=["1"]),
])
def test_put_kiosk_and_board_refuse_bad_input(hall, call):
    before = dump(hall)
    with pytest.raises(errors.InvalidInput):
        call(hall.catalogue)
    assert dump(hall) == before


# -- reading back --------------------------------------------------------------------------


def test_put_queue_round_trip_and_event(hall):
    mark = hall.log.last_id()
    q = hall.catalogue.put_queue("NEW", name="  Hàng   mới ", prefix="Z", digits=4,
                                 priority_policy="interleave", interleave_every=2,
                                 issue_from="07:30", issue_until="16:30", daily_limit=300,
                                 service_minutes=7.5, position=4)
    assert {k: q[k] for k in ("code", "name", "number_format", "prefix", "digits",
                              "priority_policy", "interleave_every", "issue_from",
                              "issue_until", "daily_limit", "service_minutes", "position",
                              "active", "counters")} == {
        "code": "NEW", "name": "Hàng mới", "number_format": "prefix", "prefix": "Z",
        "digits": 4, "priority_policy": "interleave", "interleave_every": 2,
        "issue_from": "07:30", "issue_until": "16:30", "daily_limit": 300,
        "service_minutes": 7.5, "position": 4, "active": True, "counters": []}
    [event] = hall.log.since(mark)
    assert event.kind == "catalogue_changed" and event.clerk is None
    assert event.data["what"] == "queue" and event.data["key"] == "NEW"
    assert event.data["before"] is None and event.data["after"]["prefix"] == "Z"
    hall.catalogue.put_queue("NEW", name="Hàng mới", prefix="Y", digits=4, by=7)
    [event] = hall.log.since(event.id)
    assert (event.clerk, event.data["before"], event.data["after"]) == (
        7, {"prefix": "Z", "priority_policy": "interleave", "interleave_every": 2,
            "issue_from": "07:30", "issue_until": "16:30", "daily_limit": 300,
            "service_minutes": 7.5, "position": 4},
        {"prefix": "Y", "priority_policy": None, "interleave_every": None, "issue_from": None,
         "issue_until": None, "daily_limit": None, "service_minutes": 5.0, "position": 0})


def test_procedures_in_kiosk_order_and_inactive_hidden(hall):
    c = hall.catalogue
    c.put_procedure("DEMO-GT-003", name="Đổi GPLX do ngành Công an cấp",
                    field="Giấy phép lái xe", queue="GPLX", position=0)
    c.put_procedure("DEMO-GT-002", name="Cấp lại giấy phép lái xe", field="Giấy phép lái xe",
                    queue="GPLX", active=False)
    codes = [p["code"] for p in c.procedures()]
    assert codes == ["DEMO-GT-003", "DEMO-GT-001", "DEMO-GT-007", "DEMO-GT-021"]
    assert "DEMO-GT-002" in [p["code"] for p in c.procedures(include_inactive=True)]
    assert c.procedure("DEMO-GT-002")["active"] is False
    assert [(f["name"], f["procedures"]) for f in c.fields()] == [
        ("Giấy phép lái xe", 2), ("Vận tải đường bộ", 1), ("Trả kết quả", 1)]
    with pytest.raises(errors.UnknownProcedure):
        c.procedure("NOPE")
    with pytest.raises(errors.UnknownQueue):
        c.queue("NOPE")
    with pytest.raises(errors.UnknownCounter):
        c.counter(42)


def test_put_procedure_keeps_its_position_when_not_given(hall):
    c = hall.catalogue
    first = c.procedure("DEMO-GT-007")["position"]
    c.put_procedure("DEMO-GT-007", name="Cấp mới GPKD vận tải", field="Vận tải đường bộ",
                    queue="VT")
    assert c.procedure("DEMO-GT-007")["position"] == first
    assert c.procedure("DEMO-GT-007")["name"] == "Cấp mới GPKD vận tải"


def test_put_counter_lanes_order_weights_and_keeping_them(hall):
    c = hall.catalogue
    desk = c.put_counter(4, queues=["VT", {"code": "GPLX", "weight": 2}], select_mode="ordered")
    assert desk == {"number": 4, "name": "Quầy 4", "status": "open", "select_mode": "ordered",
                    "active": True,
                    "queues": [{"code": "VT", "weight": 1.0}, {"code": "GPLX", "weight": 2.0}]}
    renamed = c.put_counter(4, name="Quầy ưu tiên")  # queues=None keeps the lanes
    assert renamed["queues"] == desk["queues"] and renamed["select_mode"] == "ordered"
    assert c.put_counter(4, queues=[])["queues"] == []
    assert c.queue("GPLX")["counters"] == [1, 2]


def test_kiosks_and_boards(hall):
    c = hall.catalogue
    c.put_kiosk("K2", name="Ki-ốt tầng 2", active=False)
    assert [(k["id"], k["active"]) for k in c.kiosks()] == [("K1", True), ("K2", False)]
    board = c.put_board("TV1", name="Bảng sảnh", queues=["GPLX"], counters=[1, 2])
    assert board == {"id": "TV1", "name": "Bảng sảnh", "queues": ["GPLX"], "counters": [1, 2],
                     "notice": ""}
    assert c.boards() == [board]
    # A notice is kept when an update does not mention it, and removed with "".
    assert c.put_board("TV1", name="Bảng sảnh", notice="  Chiều thứ Bảy nghỉ  ")["notice"] \
        == "Chiều thứ Bảy nghỉ"
    assert c.put_board("TV1", name="Bảng sảnh tầng 1")["notice"] == "Chiều thứ Bảy nghỉ"
    assert c.put_board("TV1", name="Bảng sảnh", notice="")["notice"] == ""
    with pytest.raises(errors.InvalidInput):
        c.put_board("TV1", name="Bảng sảnh", notice="x" * 301)


# -- import --------------------------------------------------------------------------------


def test_import_the_sample_into_an_empty_hall(empty_hall):
    c = empty_hall.catalogue
    report = c.import_procedures(SAMPLE, create_queues=True)
    assert report.ok and report.errors == []
    assert report.added == SAMPLE_CODES
    assert report.queues_created == SAMPLE_QUEUES
    assert [c.queue(q)["prefix"] for q in SAMPLE_QUEUES] == ["A", "B", "C", "D", "E"]
    assert [f["name"] for f in c.fields()] == SAMPLE_FIELDS
    assert [p["code"] for p in c.procedures()] == SAMPLE_CODES
    assert c.procedure("DEMO-GT-015")["queue"]["code"] == "DTND"
    changed = [e for e in empty_hall.log.since(0) if e.kind == "catalogue_changed"]
    assert [(e.data["what"], e.data["added"], e.data["updated"]) for e in changed] == [
        ("procedures", 22, 0)]
    again = c.import_procedures(SAMPLE)
    assert (again.added, again.updated, again.missing) == ([], [], [])
    assert again.unchanged == SAMPLE_CODES


def test_import_refuses_unknown_queues_without_create_queues(hall):
    before = dump(hall)
    report = hall.catalogue.import_procedures(SAMPLE)
    assert not report.ok
    assert [line for line, _ in report.errors] == [16, 17, 18, 19, 20, 21, 23]
    assert all("--create-queues" in reason for _, reason in report.errors)
    assert "DTND" in report.errors[0][1] and "HD" in report.errors[-1][1]
    assert dump(hall) == before


def test_import_with_errors_lists_their_lines_and_imports_nothing(hall):
    before = dump(hall)
    report = hall.catalogue.import_procedures(ERRORS, create_queues=True)
    lines = [line for line, _ in report.errors]
    assert lines == [3, 5, 6, 8, 9, 10]
    reasons = dict(report.errors)
    assert "name" in reasons[3] and "DEMO GT 008" in reasons[5] and "dòng 2" in reasons[6]
    assert "queue" in reasons[8] and "field" in reasons[9] and "maybe" in reasons[10]
    assert report.added == [] and report.updated == []
    assert dump(hall) == before


def test_dry_run_reports_and_changes_nothing(empty_hall):
    before = dump(empty_hall)
    report = empty_hall.catalogue.import_procedures(SAMPLE, create_queues=True, dry_run=True)
    assert report.ok and report.added == SAMPLE_CODES
    assert report.queues_created == SAMPLE_QUEUES
    assert dump(empty_hall) == before
    assert empty_hall.catalogue.import_procedures(SAMPLE, create_queues=True).added == \
        SAMPLE_CODES  # the dry run left the write connection usable


def test_reimport_reports_what_changed(empty_hall, tmp_path):
    c = empty_hall.catalogue
    c.import_procedures(SAMPLE, create_queues=True)
    rows = [r | {"active": ""} for r in sample_rows() if r["code"] != "DEMO-GT-022"]
    edits = {
        "DEMO-GT-001": {"name": "Đổi giấy phép lái xe (mẫu mới)"},
        "DEMO-GT-002": {"queue": "VT"},
        "DEMO-GT-007": {"field": "Kinh doanh vận tải"},
        "DEMO-GT-008": {"active": "0"},
        "DEMO-GT-009": {"name": "Cấp phù hiệu xe taxi", "queue": "GPLX", "active": "không"},
    }
    rows = [r | edits.get(r["code"], {}) for r in rows]
    rows.append({"code": "DEMO-GT-023", "field": "Đường bộ", "name": "Thủ tục mới", "queue": "VT",
                 "active": "có"})
    path = write_csv(tmp_path / "changed.csv", rows, ("code", "field", "name", "queue", "active"))
    dry = c.import_procedures(path, dry_run=True)
    report = c.import_procedures(path)
    assert (dry.added, dry.updated, dry.missing) == (report.added, report.updated, report.missing)
    assert report.added == ["DEMO-GT-023"]
    assert report.updated == [("DEMO-GT-001", ["name"]), ("DEMO-GT-002", ["queue_code"]),
                              ("DEMO-GT-007", ["field_id"]), ("DEMO-GT-008", ["active"]),
                              ("DEMO-GT-009", ["active", "queue_code"])]
    assert report.missing == ["DEMO-GT-022"]  # reported, not deleted
    assert len(report.unchanged) == 16
    assert c.procedure("DEMO-GT-002")["queue"]["code"] == "VT"
    assert c.procedure("DEMO-GT-007")["field"] == "Kinh doanh vận tải"
    assert c.procedure("DEMO-GT-008")["active"] is False
    assert c.procedure("DEMO-GT-022")["active"] is True
    assert "DEMO-GT-008" not in [p["code"] for p in c.procedures()]


def test_import_handles_bom_crlf_and_header_case(empty_hall, tmp_path):
    text = SAMPLE.read_text(encoding="utf-8").replace("code,field,name,queue",
                                                     " Code ,FIELD,Name,queue")
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    report = empty_hall.catalogue.import_procedures(path, create_queues=True)
    assert report.ok and report.added == SAMPLE_CODES
    assert empty_hall.catalogue.procedure("DEMO-GT-001")["name"] == \
        "Đổi giấy phép lái xe do ngành Giao thông vận tải cấp"


def test_import_xlsx(empty_hall, tmp_path):
    rows = [["code", "field", "name", "queue", "active"]]
    rows += [[r["code"], r["field"], r["name"], r["queue"], None] for r in sample_rows()]
    rows.insert(5, [None, None, None, None, None])  # an empty row is skipped
    rows.append(["1.002809", "Đường bộ", "Thủ tục có mã quốc gia", "VT", True])
    rows.append(["DEMO-GT-099", "Đường bộ", "Tạm ngưng", "VT", 0])
    path = write_xlsx(tmp_path / "catalogue.xlsx", rows)
    report = empty_hall.catalogue.import_procedures(path, create_queues=True)
    assert report.ok, report.errors
    assert report.added == [*SAMPLE_CODES, "1.002809", "DEMO-GT-099"]
    assert empty_hall.catalogue.procedure("1.002809")["queue"]["code"] == "VT"
    assert empty_hall.catalogue.procedure("DEMO-GT-099")["active"] is False


def test_import_xlsx_errors_use_sheet_row_numbers(hall, tmp_path):
    path = write_xlsx(tmp_path / "bad.xlsx", [
        ["code", "field", "name", "queue"],
        ["DEMO-GT-001", "Giấy phép lái xe", "Đổi GPLX", "GPLX"],
        [None, None, None, None],
        ["DEMO-GT-002", "Giấy phép lái xe", None, "GPLX"],
    ])
    before = dump(hall)
    report = hall.catalogue.import_procedures(path)
    assert [line for line, _ in report.errors] == [4]
    assert dump(hall) == before


@pytest.mark.parametrize("name, content", [
    ("empty.csv", b""),
    ("no-queue-column.csv", b"code,field,name\nX1,F,N\n"),
    ("header-only-wrong.csv", b"ma,linh vuc,ten,hang\n"),
    ("utf16.csv", "code,field,name,queue\nX1,Đường,Tên,GPLX\n".encode("utf-16")),
    ("cp1258.csv", "code,field,name,queue\nX1,Đăng,Tên,GPLX\n".encode("cp1258")),
    ("broken.xlsx", b"this is not a workbook"),
])
def test_unreadable_files_are_refused(hall, tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    before = dump(hall)
    with pytest.raises(errors.InvalidInput):
        hall.catalogue.import_procedures(path)
    with pytest.raises(errors.InvalidInput):
        hall.catalogue.import_procedures(tmp_path / "missing.csv")
    assert dump(hall) == before


def test_sample_copy_matches_the_shared_catalogue():
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "procedures-sample.csv"
    if not shared.exists():
        pytest.skip("no shared/ next to this checkout")
    assert SAMPLE.read_bytes() == shared.read_bytes()


def test_import_reads_a_copy_not_the_original(empty_hall, tmp_path):
    copy = shutil.copy(SAMPLE, tmp_path / "procedures.csv")
    assert empty_hall.catalogue.import_procedures(copy, create_queues=True).ok
    assert SAMPLE.read_bytes() == Path(copy).read_bytes()


def test_put_counter_keeps_what_is_not_given(hall):
    """Changing only the queues of a counter keeps its name and select mode."""
    catalogue = hall.catalogue
    before = catalogue.put_counter(42, name="Quầy ưu tiên", select_mode="ordered",
                                   queues=[catalogue.queues()[0]["code"]])
    after = catalogue.put_counter(42, queues=[catalogue.queues()[1]["code"]])
    assert (after["name"], after["select_mode"]) == ("Quầy ưu tiên", "ordered")
    assert after["queues"] != before["queues"]
    assert catalogue.put_counter(43)["name"] == "Quầy 43"
    assert catalogue.counter(43)["select_mode"] == "oldest"
