"""Ticket numbers as Vietnamese words, for the voice that calls them (pure, stdlib only).

The rules are the hall's (docs/domain "Voice calls"): mười for 10–19 and mươi from 20; 1 after
mươi is mốt (21 hai mươi mốt) but stays một after mười and linh (11 mười một, 101 một trăm linh
một); 5 after mười/mươi is lăm (15 mười lăm) but năm alone or after linh (105 một trăm linh
năm); 4 after mươi may be tư (24 hai mươi tư) while 14 is always mười bốn; a zero tens digit
before a unit is linh [South: lẻ]; a zero hundreds digit after a thousand is said as "không
trăm" when something follows (1023 một nghìn không trăm hai mươi ba, but 1100 một nghìn một
trăm); 1000 is nghìn [South: ngàn].

This is written by hand on purpose: number-to-words libraries (num2words and others) get some of
these wrong, "không trăm" after a thousand above all, and a hall hears every mistake all day.

Voices are given words, never digits: espeak-ng misreads some numbers written as digits.
"""

import re
import string
import unicodedata

DIALECTS = ("north", "south")
FOURS = ("bốn", "tư")
STYLES = ("cardinal", "digits")

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")

# How Vietnamese callers read the letter prefixes of ticket numbers. These are defaults with no
# setting behind them: the common spoken names in Vietnamese halls (B "bê", L "e-lờ", Y "i dài").
LETTERS = {
    "A": "a", "B": "bê", "C": "xê", "D": "đê", "E": "e", "F": "ép", "G": "giê", "H": "hát",
    "I": "i", "J": "gi", "K": "ca", "L": "e-lờ", "M": "em-mờ", "N": "en-nờ", "O": "o", "P": "pê",
    "Q": "quy", "R": "e-rờ", "S": "ét-sì", "T": "tê", "U": "u", "V": "vê", "W": "vê kép",
    "X": "ích-xì", "Y": "i dài", "Z": "dét",
}

LABEL = re.compile(r"([A-Za-z]*)([0-9]{1,4})")
DEFAULT_TEMPLATE = "Mời công dân có số thứ tự {number} đến quầy số {counter}"


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _check_options(dialect: str, four: str) -> str:
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}, not {dialect!r}")
    four = _nfc(four)
    if four not in FOURS:
        raise ValueError(f"four must be one of {', '.join(FOURS)}, not {four!r}")
    return four


def _tens(n: int, four: str) -> list[str]:
    """Words for 10–99."""
    tens, unit = divmod(n, 10)
    if tens == 1:
        words = ["mười"]
        # After mười: 5 is lăm, 1 stays một, 4 stays bốn (never mười tư).
        units = {0: None, 5: "lăm"}
    else:
        words = [DIGITS[tens], "mươi"]
        units = {0: None, 1: "mốt", 4: four, 5: "lăm"}
    last = units.get(unit, DIGITS[unit])
    return words + ([last] if last else [])


def _below_hundred(n: int, *, after_hundred: bool, dialect: str, four: str) -> list[str]:
    """Words for 0–99; after a hundreds place a lone unit takes linh/lẻ and keeps its own name."""
    if n == 0:
        return []
    if n < 10:
        if after_hundred:
            return ["linh" if dialect == "north" else "lẻ", DIGITS[n]]
        return [DIGITS[n]]
    return _tens(n, four)


def spell(n: int, *, dialect: str = "north", four: str = "bốn") -> str:
    """Vietnamese words for 0–9999: 1023 → "một nghìn không trăm hai mươi ba".

    ``dialect`` "south" says lẻ for linh and ngàn for nghìn; ``four="tư"`` says tư for a 4 after
    mươi (24 hai mươi tư; 14 is always mười bốn).
    """
    four = _check_options(dialect, four)
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"spell takes an int, not {n!r}")
    if not 0 <= n <= 9999:
        raise ValueError(f"can only say 0–9999, not {n}")
    if n == 0:
        return DIGITS[0]
    thousands, rest = divmod(n, 1000)
    hundreds, small = divmod(rest, 100)
    words: list[str] = []
    if thousands:
        words += [DIGITS[thousands], "nghìn" if dialect == "north" else "ngàn"]
    if hundreds or (thousands and small):
        # A zero hundreds digit is said after a thousand when something follows it.
        words += [DIGITS[hundreds], "trăm"]
    words += _below_hundred(small, after_hundred=bool(thousands or hundreds), dialect=dialect,
                            four=four)
    return " ".join(words)


def digit_by_digit(text: str) -> str:
    """Each digit's name: "1023" → "một không hai ba" (pauses between them are the caller's)."""
    if not text or not all(c in "0123456789" for c in text):
        raise ValueError(f"digit_by_digit takes digits only, not {text!r}")
    return " ".join(DIGITS[int(c)] for c in text)


def say_number(label: str, *, style: str = "cardinal", dialect: str = "north",
               four: str = "bốn") -> str:
    """A ticket label as words: "A023" → "a hai mươi ba" (style "digits": "a không hai ba").

    A label is an optional prefix of letters (A–Z) then 1 to 4 digits; the number is said as a
    cardinal (leading zeros dropped) or digit by digit. Anything else is a ValueError.
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, not {style!r}")
    four = _check_options(dialect, four)
    match = LABEL.fullmatch(label) if isinstance(label, str) else None
    if not match:
        raise ValueError(f"không phải số thứ tự (chữ cái rồi 1–4 chữ số): {label!r}")
    letters, digits = match.groups()
    words = [LETTERS[c] for c in letters.upper()]
    if style == "digits":
        words.append(digit_by_digit(digits))
    else:
        words.append(spell(int(digits), dialect=dialect, four=four))
    return " ".join(words)


def _counter_number(counter: int | str) -> int:
    if isinstance(counter, bool):
        raise ValueError(f"không phải số quầy: {counter!r}")
    if isinstance(counter, int):
        return counter
    if isinstance(counter, str):
        groups = re.findall(r"[0-9]+", counter)
        if len(groups) == 1:
            return int(groups[0])
    raise ValueError(f"quầy phải là một số, hoặc một tên có đúng một số: {counter!r}")


def phrase(template: str, number: str, counter: int | str, **options) -> str:
    """The words of a call: the template with {number} and {counter} said in words, NFC.

    ``number`` is a ticket label ("A023"); ``counter`` a number or a name like "Quầy 3" (its
    digits are said as a cardinal: quầy số ba). ``options`` are say_number's (style, dialect,
    four); the counter uses the same dialect and four.
    """
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    if "number" not in fields:
        raise ValueError("the call template must contain {number}")
    if fields - {"number", "counter"}:
        raise ValueError("the call template may only contain {number} and {counter}, not "
                         + ", ".join("{" + f + "}" for f in sorted(fields - {"number", "counter"})))
    words = say_number(number, **options)
    counter_words = spell(_counter_number(counter), dialect=options.get("dialect", "north"),
                          four=options.get("four", "bốn"))
    text = template.format(number=words, counter=counter_words)
    return _nfc(" ".join(text.split()))
