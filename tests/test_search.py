"""Kiosk procedure search: folding, abbreviations, prefix typing and ranking on real catalogues."""

import csv
import unicodedata
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hall.search import ABBREVIATIONS, ProcedureIndex, fold

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "hall" / "demo_procedures.csv"
SHARED = ROOT.parent / "shared" / "data" / "procedures-sample.csv"

CATALOGUES = [
    pytest.param(DEMO, id="demo"),
    pytest.param(SHARED, id="shared",
                 marks=pytest.mark.skipif(not SHARED.exists(), reason="no ../shared catalogue")),
]
GPLX = {f"DEMO-GT-{n:03}" for n in range(1, 7)}  # field "Giấy phép lái xe"


@cache
def load(path: Path) -> tuple[dict, ...]:
    with path.open(encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


@cache
def index(path: Path = DEMO) -> ProcedureIndex:
    return ProcedureIndex(load(path))


def names(path: Path = DEMO) -> dict[str, str]:
    return {p["code"]: p["name"] for p in load(path)}


# --- fold -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, folded", [
    ("Đổi giấy phép lái xe (GPLX)", "doi giay phep lai xe gplx"),
    ("đường thủy nội địa", "duong thuy noi dia"),
    ("ĐĂNG KÝ", "dang ky"),
    ("  Cấp   phù hiệu, xe -- taxi!  ", "cap phu hieu xe taxi"),
    ("DEMO-GT-009", "demo gt 009"),
    ("ngày 01/8/1995", "ngay 01 8 1995"),
    ("under_score", "under score"),
    ("...", ""),
    ("", ""),
])
def test_fold(text, folded):
    assert fold(text) == folded


def test_fold_decomposed_input_equals_precomposed():
    text = "Đổi giấy phép lái xe, phương tiện thủy nội địa"
    decomposed = unicodedata.normalize("NFD", text)
    assert decomposed != text
    assert fold(decomposed) == fold(text) == "doi giay phep lai xe phuong tien thuy noi dia"


def test_abbreviation_table_is_folded():
    for short, expansion in ABBREVIATIONS.items():
        assert fold(short) == short and " " not in short
        assert fold(expansion) == expansion and expansion


# --- the cases from the issue -----------------------------------------------------------------

@pytest.mark.parametrize("catalogue", CATALOGUES)
def test_doi_gplx_finds_license_exchanges_only(catalogue):
    found = index(catalogue).search("doi gplx")
    assert names(catalogue)[found[0]].startswith("Đổi giấy phép lái xe")
    assert set(found) == {"DEMO-GT-001", "DEMO-GT-003", "DEMO-GT-004", "DEMO-GT-005"}
    assert set(found) <= GPLX


@pytest.mark.parametrize("catalogue", CATALOGUES)
def test_giay_phep_lai_xe_finds_the_whole_field(catalogue):
    found = index(catalogue).search("giay phep lai xe")
    assert set(found) == GPLX
    assert found[0] == "DEMO-GT-002"  # "Cấp lại giấy phép lái xe": the shortest name


@pytest.mark.parametrize("catalogue", CATALOGUES)
def test_phu_hieu_taxi(catalogue):
    assert index(catalogue).search("phu hieu taxi") == ["DEMO-GT-009"]


@pytest.mark.parametrize("catalogue", CATALOGUES)
def test_dang_ky_phuong_tien_finds_inland_waterway_vessels(catalogue):
    found = index(catalogue).search("dang ky phuong tien")
    assert set(found) == {"DEMO-GT-015", "DEMO-GT-016", "DEMO-GT-020"}
    assert all("đăng ký phương tiện thủy nội địa" in names(catalogue)[c] for c in found)


# --- typing on the kiosk ----------------------------------------------------------------------

@pytest.mark.parametrize("accented, plain", [
    ("đổi GPLX", "doi gplx"),
    ("Cấp phù hiệu xe", "cap phu hieu xe"),
    ("ĐĂNG KÝ PHƯƠNG TIỆN", "dang ky phuong tien"),
])
def test_accents_and_case_do_not_matter(accented, plain):
    assert index().search(accented) == index().search(plain) != []


def test_prefix_while_typing():
    found = index().search("phu hi")
    assert set(found) == {f"DEMO-GT-{n:03}" for n in range(8, 13)}  # all "Cấp phù hiệu xe …"
    # "ta" is in the names "xe tải", "xe taxi" and in every one's field "Vận tải": names first.
    found = index().search("phu hieu ta")
    assert found[:2] == ["DEMO-GT-008", "DEMO-GT-009"]
    assert set(found) == {f"DEMO-GT-{n:03}" for n in range(8, 13)}


def test_exact_word_beats_prefix():
    # "tai" is a whole word in "xe tải", only the start of "taxi".
    assert index().search("xe tai")[0] == "DEMO-GT-008"


@pytest.mark.parametrize("query", ["", "   ", "\t\n", "...", "(-)", "!?"])
def test_blank_query_finds_nothing(query):
    assert index().search(query) == []


@pytest.mark.parametrize("query", ["may bay", "xyz", "phu hieu may bay", "giay phep xyz"])
def test_no_match_finds_nothing(query):
    assert index().search(query) == []


def test_every_token_must_match():
    assert "DEMO-GT-009" in index().search("taxi")
    assert "DEMO-GT-011" in index().search("buyt")
    assert index().search("taxi buyt") == []


def test_limit():
    everything = index().search("cap")
    assert len(everything) > 5
    assert index().search("cap", limit=5) == everything[:5]
    assert index().search("cap", limit=0) == []


@pytest.mark.parametrize("catalogue", CATALOGUES)
def test_every_procedure_found_first_by_its_own_name(catalogue):
    for code, name in names(catalogue).items():
        found = index(catalogue).search(fold(name))
        assert fold(names(catalogue)[found[0]]) == fold(name), (code, found)
        assert code in found


@pytest.mark.parametrize("query", ["DEMO-GT-009", "demo-gt-009", "gt-009", "GT 009", "009"])
def test_code(query):
    assert index().search(query)[0] == "DEMO-GT-009"


# --- abbreviations ----------------------------------------------------------------------------

def test_table_abbreviations():
    vessels = {"DEMO-GT-015", "DEMO-GT-016", "DEMO-GT-020"}
    assert set(index().search("dk phuong tien")) == vessels
    assert set(index().search("gcn")) == vessels
    assert set(index().search("cap lai gcn dk")) == {"DEMO-GT-020"}
    assert set(index().search("tthc")) == {"DEMO-GT-021", "DEMO-GT-022"}
    assert set(index().search("gp hoat dong")) == {"DEMO-GT-017", "DEMO-GT-018"}


def test_initials_work_without_the_table():
    assert "gpkd" not in ABBREVIATIONS
    assert index().search("gpkd") == ["DEMO-GT-007"]  # Cấp mới giấy phép kinh doanh vận tải
    assert index().search("cap phx") == [f"DEMO-GT-{n:03}" for n in (8, 9, 11, 10, 12)]


def test_the_table_can_be_extended(monkeypatch):
    procedures = [{"code": "DK-1", "name": "Đăng kiểm xe cơ giới", "field": None},
                  {"code": "SD-1", "name": "Đăng ký xe máy chuyên dùng"}]
    assert ProcedureIndex(procedures).search("xm") == ["SD-1"]
    # Typed without the space: neither a word prefix nor initials.
    assert ProcedureIndex(procedures).search("dangkiem") == []
    monkeypatch.setitem(ABBREVIATIONS, "dangkiem", "dang kiem")
    assert ProcedureIndex(procedures).search("dangkiem xe") == ["DK-1"]


def test_position_breaks_ties():
    procedures = [{"code": "B", "name": "Cấp phù hiệu", "field": "Vận tải", "position": 1},
                  {"code": "A", "name": "Cấp phù hiệu", "field": "Vận tải", "position": 2},
                  {"code": "C", "name": "Cấp phù hiệu", "field": "Vận tải"}]
    assert ProcedureIndex(procedures).search("phu hieu") == ["B", "A", "C"]


# --- property ---------------------------------------------------------------------------------

@given(st.text(max_size=60))
def test_any_name_is_found_by_its_folded_name(name):
    procedures = [*load(DEMO), {"code": "NEW-1", "name": name, "field": "Khác"}]
    found = ProcedureIndex(procedures).search(fold(name), limit=len(procedures))
    if fold(name):
        assert "NEW-1" in found
    else:
        assert found == []


def test_search_words_and_english_names_find_a_procedure_after_name_matches():
    index = ProcedureIndex([
        {"code": "P1", "name": "Đổi giấy phép lái xe", "field": "Giao thông",
         "keywords": "bằng lái driving licence renewal", "position": 1},
        {"code": "P2", "name": "Cấp bằng tốt nghiệp", "field": "Giáo dục", "position": 2},
    ])
    assert index.search("driving licence") == ["P1"]
    assert index.search("bang lai") == ["P1"]
    assert index.search("bang") == ["P2", "P1"]  # the name's word first, the search word after
