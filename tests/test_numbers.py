"""Ticket numbers as Vietnamese words (display.numbers), checked against the hall's rules."""

import unicodedata

import pytest

from display.numbers import DEFAULT_TEMPLATE, LETTERS, digit_by_digit, phrase, say_number, spell

# An independent reference, built from literal tables by position (thousands, hundreds, tens,
# units of the zero-padded string) rather than by the module's divmod and rule dictionaries.
NAMES = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]
TEENS = ["mười", "mười một", "mười hai", "mười ba", "mười bốn", "mười lăm", "mười sáu",
         "mười bảy", "mười tám", "mười chín"]
AFTER_MUOI = ["", "mốt", "hai", "ba", "bốn", "lăm", "sáu", "bảy", "tám", "chín"]


def reference(n: int, south: bool = False, tu: bool = False) -> str:
    th, h, t, u = (int(c) for c in f"{n:04d}")
    if n == 0:
        return "không"
    out = []
    if th:
        out.append(NAMES[th] + (" ngàn" if south else " nghìn"))
    head = bool(out) or h > 0
    if h or (th and (t or u)):
        out.append(NAMES[h] + " trăm")
    if t == 0 and u:
        out.append(("lẻ " if south else "linh ") + NAMES[u] if head else NAMES[u])
    elif t == 1:
        out.append(TEENS[u])
    elif t >= 2:
        last = "tư" if (u == 4 and tu) else AFTER_MUOI[u]
        out.append(f"{NAMES[t]} mươi {last}".strip())
    return " ".join(out)


@pytest.mark.parametrize("south", [False, True])
@pytest.mark.parametrize("tu", [False, True])
def test_every_number_matches_the_reference(south, tu):
    dialect = "south" if south else "north"
    four = "tư" if tu else "bốn"
    for n in range(10000):
        assert spell(n, dialect=dialect, four=four) == reference(n, south, tu), n


@pytest.mark.parametrize("dialect", ["north", "south"])
def test_every_number_keeps_the_rules(dialect):
    """Rule by rule, on the words themselves (a second check that does not build any number)."""
    linh, nghin = ("linh", "nghìn") if dialect == "north" else ("lẻ", "ngàn")
    other_linh, other_nghin = ("lẻ", "ngàn") if dialect == "north" else ("linh", "nghìn")
    for n in range(10000):
        th, h, t, u = (int(c) for c in f"{n:04d}")
        said = spell(n, dialect=dialect)
        words = said.split()
        assert said == unicodedata.normalize("NFC", said)
        assert other_linh not in words and other_nghin not in words and "tư" not in words
        assert ("mười" in words) == (t == 1), n
        assert ("mươi" in words) == (t >= 2), n
        assert ("mốt" in words) == (t >= 2 and u == 1), n
        assert ("lăm" in words) == (t >= 1 and u == 5), n
        assert (linh in words) == (n >= 100 and t == 0 and u != 0), n
        assert (nghin in words) == (th > 0), n
        assert ("không trăm" in said) == (th > 0 and h == 0 and n % 1000 != 0), n
        if linh in words:  # after linh a unit keeps its own name: một, năm
            assert words[words.index(linh) + 1] == NAMES[u], n
        if u == 5 and t == 0:
            assert words[-1] == "năm", n
        assert words.count("trăm") == (1 if h or (th and n % 1000) else 0), n
        assert "không" not in words or n == 0 or (th and h == 0), n


@pytest.mark.parametrize("n, north, south", [
    (0, "không", "không"),
    (5, "năm", "năm"),
    (10, "mười", "mười"),
    (11, "mười một", "mười một"),
    (14, "mười bốn", "mười bốn"),
    (15, "mười lăm", "mười lăm"),
    (20, "hai mươi", "hai mươi"),
    (21, "hai mươi mốt", "hai mươi mốt"),
    (24, "hai mươi bốn", "hai mươi bốn"),
    (25, "hai mươi lăm", "hai mươi lăm"),
    (100, "một trăm", "một trăm"),
    (101, "một trăm linh một", "một trăm lẻ một"),
    (105, "một trăm linh năm", "một trăm lẻ năm"),
    (110, "một trăm mười", "một trăm mười"),
    (115, "một trăm mười lăm", "một trăm mười lăm"),
    (121, "một trăm hai mươi mốt", "một trăm hai mươi mốt"),
    (1000, "một nghìn", "một ngàn"),
    (1001, "một nghìn không trăm linh một", "một ngàn không trăm lẻ một"),
    (1005, "một nghìn không trăm linh năm", "một ngàn không trăm lẻ năm"),
    (1023, "một nghìn không trăm hai mươi ba", "một ngàn không trăm hai mươi ba"),
    (1100, "một nghìn một trăm", "một ngàn một trăm"),
    (2010, "hai nghìn không trăm mười", "hai ngàn không trăm mười"),
    (9999, "chín nghìn chín trăm chín mươi chín", "chín ngàn chín trăm chín mươi chín"),
])
def test_examples(n, north, south):
    assert spell(n) == north
    assert spell(n, dialect="north") == north
    assert spell(n, dialect="south") == south


def test_tu_only_changes_a_four_after_muoi():
    assert spell(24, four="tư") == "hai mươi tư"
    assert spell(14, four="tư") == "mười bốn"
    assert spell(4, four="tư") == "bốn"
    assert spell(104, four="tư") == "một trăm linh bốn"
    assert spell(400, four="tư") == "bốn trăm"
    assert spell(4044, four="tư") == "bốn nghìn không trăm bốn mươi tư"
    for n in range(10000):
        plain, tu = spell(n), spell(n, four="tư")
        if n % 100 >= 20 and n % 10 == 4:
            assert tu == plain[:-len("bốn")] + "tư", n
        else:
            assert tu == plain, n


def test_decomposed_tu_is_accepted():
    assert spell(34, four=unicodedata.normalize("NFD", "tư")) == "ba mươi tư"


@pytest.mark.parametrize("bad", [-1, 10000, 12345, 1.0, "12", True, None])
def test_spell_refuses_what_it_cannot_say(bad):
    with pytest.raises(ValueError):
        spell(bad)


@pytest.mark.parametrize("options", [{"dialect": "central"}, {"dialect": "North"},
                                     {"four": "four"}, {"four": ""}])
def test_spell_refuses_unknown_options(options):
    with pytest.raises(ValueError):
        spell(21, **options)


def test_digit_by_digit():
    assert digit_by_digit("1023") == "một không hai ba"
    assert digit_by_digit("0") == "không"
    assert digit_by_digit("0045") == "không không bốn năm"
    assert digit_by_digit("9876543210") == ("chín tám bảy sáu năm bốn ba hai một không")


@pytest.mark.parametrize("bad", ["", "12a", "1 2", "-1", "１２", "½"])
def test_digit_by_digit_takes_digits_only(bad):
    with pytest.raises(ValueError):
        digit_by_digit(bad)


def test_letters_table():
    assert sorted(LETTERS) == [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    assert len(set(LETTERS.values())) == 26
    assert all(v == unicodedata.normalize("NFC", v) for v in LETTERS.values())
    assert LETTERS["B"] == "bê" and LETTERS["L"] == "e-lờ" and LETTERS["Y"] == "i dài"
    assert LETTERS["X"] == "ích-xì" and LETTERS["W"] == "vê kép" and LETTERS["Z"] == "dét"


@pytest.mark.parametrize("label, cardinal, digits", [
    ("A023", "a hai mươi ba", "a không hai ba"),
    ("B012", "bê mười hai", "bê không một hai"),
    ("C105", "xê một trăm linh năm", "xê một không năm"),
    ("1023", "một nghìn không trăm hai mươi ba", "một không hai ba"),
    ("7", "bảy", "bảy"),
    ("A000", "a không", "a không không không"),
    ("L021", "e-lờ hai mươi mốt", "e-lờ không hai một"),
    ("a023", "a hai mươi ba", "a không hai ba"),
    ("AB12", "a bê mười hai", "a bê một hai"),
    ("Y9999", "i dài chín nghìn chín trăm chín mươi chín", "i dài chín chín chín chín"),
])
def test_say_number(label, cardinal, digits):
    assert say_number(label) == cardinal
    assert say_number(label, style="cardinal") == cardinal
    assert say_number(label, style="digits") == digits


def test_say_number_options():
    assert say_number("A105", dialect="south") == "a một trăm lẻ năm"
    assert say_number("D1024", four="tư") == "đê một nghìn không trăm hai mươi tư"
    assert say_number("D1024", style="digits", four="tư") == "đê một không hai bốn"
    for letter, word in LETTERS.items():
        assert say_number(f"{letter}1") == f"{word} một"


@pytest.mark.parametrize("bad", ["", "A", "A 023", " A023", "A023 ", "A-023", "A02.3", "12345",
                                 "A12345", "Đ12", "023A", "A0٣", "A#1", "１２"])
def test_say_number_refuses_other_labels(bad):
    with pytest.raises(ValueError):
        say_number(bad)


def test_say_number_refuses_unknown_style():
    with pytest.raises(ValueError):
        say_number("A023", style="roman")


def test_phrase_default_template():
    assert phrase(DEFAULT_TEMPLATE, "A023", 3) == \
        "Mời công dân có số thứ tự a hai mươi ba đến quầy số ba"
    assert phrase(DEFAULT_TEMPLATE, "1023", "Quầy 12") == \
        "Mời công dân có số thứ tự một nghìn không trăm hai mươi ba đến quầy số mười hai"
    assert phrase(DEFAULT_TEMPLATE, "B012", "21") == \
        "Mời công dân có số thứ tự bê mười hai đến quầy số hai mươi mốt"


def test_phrase_options_apply_to_number_and_counter():
    said = phrase(DEFAULT_TEMPLATE, "1024", "Quầy 105", style="digits", dialect="south",
                  four="tư")
    assert said == "Mời công dân có số thứ tự một không hai bốn đến quầy số một trăm lẻ năm"
    assert phrase(DEFAULT_TEMPLATE, "24", 24, four="tư").endswith("hai mươi tư đến quầy số hai "
                                                                 "mươi tư")


def test_phrase_is_nfc_whatever_the_template():
    decomposed = unicodedata.normalize("NFD", "Kính mời  khách hàng số {number}, quầy {counter}")
    said = phrase(decomposed, "A015", "Quầy 5")
    assert said == "Kính mời khách hàng số a mười lăm, quầy năm"
    assert unicodedata.is_normalized("NFC", said)


def test_phrase_without_counter():
    assert phrase("Xin mời số {number}", "A001", 2) == "Xin mời số a một"


@pytest.mark.parametrize("template", ["Mời quầy {counter}", "Mời {number} {name}", "{} {number}",
                                      "{0} {number}"])
def test_phrase_refuses_bad_templates(template):
    with pytest.raises(ValueError):
        phrase(template, "A001", 1)


@pytest.mark.parametrize("counter", ["Quầy", "", "3-4", -1, 10000, True])
def test_phrase_refuses_bad_counters(counter):
    with pytest.raises(ValueError):
        phrase(DEFAULT_TEMPLATE, "A001", counter)
