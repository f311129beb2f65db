"""printer.layout: the ticket drawn with Pillow in DejaVu Sans, checked on its pixels."""

import functools
import shutil
import unicodedata
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image, ImageFont

from hall.errors import InvalidInput
from printer import layout
from printer.connection import PrinterConfig
from printer.encode import encode
from printer.layout import (
    Block,
    TicketFacts,
    TicketLayout,
    blocks,
    draw,
    font,
    wrap,
)
from tests.escpos_decode import decode, image_equal

# Widths in dots of the common paper: 80 mm at 203 dpi, the Epson TM-T88 family, 58 mm.
WIDTHS = (576, 512, 384)

LONG_PROCEDURE = ("Cấp đổi giấy phép lái xe quốc tế do ngành Giao thông vận tải quản lý, "
                  "cấp phát và gia hạn cho người đã có giấy phép lái xe hạng A1, A2, B1, B2")
LONG_CODE = "HS-" + "0123456789" * 8  # one word wider than any paper: cut by characters


@pytest.fixture
def facts() -> TicketFacts:
    return TicketFacts(
        hall_name="Trung tâm Phục vụ hành chính công tỉnh Hà Tĩnh", number="A001",
        procedure="Đổi giấy phép lái xe", field_name="Giấy phép lái xe",
        counters=["Quầy 1", "Quầy 2"], waiting_ahead=3, eta_minutes=12,
        issued=datetime(2026, 11, 26, 8, 5), url="https://goiso.example.vn/t/abcdef123456",
        hall_unit="Sở Giao thông vận tải")


@pytest.fixture
def fresh_fonts():
    """The font cache emptied before and after (a test changes where or how fonts load)."""
    font.cache_clear()
    yield
    font.cache_clear()


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def ink_rows(image: Image.Image) -> list[bool]:
    """For each row of ``image``, whether it holds a black dot."""
    mono = image.convert("1", dither=Image.Dither.NONE)
    width, height = mono.size
    return [mono.crop((0, y, width, y + 1)).getextrema()[0] == 0 for y in range(height)]


def bands(image: Image.Image) -> list[tuple[int, int]]:
    """(first row, height) of each run of rows holding ink: one per line of text, roughly."""
    out, start = [], None
    for y, inked in enumerate([*ink_rows(image), False]):
        if inked and start is None:
            start = y
        elif not inked and start is not None:
            out.append((start, y - start))
            start = None
    return out


def ink_columns(image: Image.Image) -> tuple[int, int]:
    """The leftmost and rightmost columns holding a black dot."""
    inverted = Image.eval(image.convert("L"), lambda v: 255 - v)
    left, _, right, _ = inverted.getbbox()
    return left, right - 1


# -- widths ------------------------------------------------------------------------------------

@pytest.mark.parametrize("width", WIDTHS)
def test_every_part_is_exactly_the_paper_wide(facts, width):
    drawing = draw(facts, TicketLayout(), width)
    assert drawing.top.width == drawing.qr.width == drawing.bottom.width == width
    preview = drawing.preview()
    assert preview.size == (width, drawing.top.height + drawing.qr.height
                            + drawing.bottom.height)
    assert preview.mode == "1"
    assert drawing.url == facts.url


@pytest.mark.parametrize("width", WIDTHS)
def test_long_texts_wrap_inside_the_margins(facts, width):
    facts.procedure = LONG_PROCEDURE
    facts.field_name = LONG_CODE
    short = draw(TicketFacts(hall_name=facts.hall_name, number=facts.number), TicketLayout(),
                 width)
    drawing = draw(facts, TicketLayout(), width)
    margin = max(8, width // 48)
    for part in (drawing.top, drawing.bottom):
        assert part.width == width
        left, right = ink_columns(part)
        assert left >= margin // 2 and right <= width - 1 - margin // 2, (left, right)
    # Several lines of the long texts: far taller than a ticket without them.
    assert drawing.top.height > short.top.height + 4 * 26 * width // 576


@pytest.mark.parametrize("width", WIDTHS)
def test_wrap_keeps_every_line_within_the_width(width):
    face = font(int(26 * width / 576), True)
    inner = width - 2 * max(8, width // 48)
    lines = wrap(f"{LONG_PROCEDURE} {LONG_CODE}", face, inner)
    assert len(lines) > 3
    assert all(face.getlength(line) <= inner for line in lines)
    assert " ".join(lines).replace(" ", "") == f"{LONG_PROCEDURE}{LONG_CODE}".replace(" ", "")
    assert wrap("", face, inner) == [""]
    assert wrap("a\nb", face, inner) == ["a", "b"]


# -- text normalised to NFC --------------------------------------------------------------------

def decomposed(facts: TicketFacts) -> TicketFacts:
    return TicketFacts(
        hall_name=nfd(facts.hall_name), number=facts.number, procedure=nfd(facts.procedure),
        field_name=nfd(facts.field_name), counters=[nfd(c) for c in facts.counters],
        waiting_ahead=facts.waiting_ahead, eta_minutes=facts.eta_minutes,
        issued=facts.issued, url=facts.url, hall_unit=nfd(facts.hall_unit))


def test_decomposed_text_draws_the_same_pixels(facts):
    nfd_facts = decomposed(facts)
    assert nfd_facts.procedure != facts.procedure  # really decomposed
    nfd_layout = TicketLayout(title=nfd("SỐ THỨ TỰ"), footer=nfd(TicketLayout().footer))
    for width in WIDTHS:
        want = draw(facts, TicketLayout(), width).preview()
        got = draw(nfd_facts, nfd_layout, width).preview()
        assert image_equal(got, want, padding=False)


def test_decomposed_text_draws_the_same_without_text_shaping(facts, fresh_fonts, monkeypatch):
    """Pillow without libraqm (no fribidi on the kiosk) draws NFD marks loose: NFC fixes it."""
    basic = functools.partial(ImageFont.truetype, layout_engine=ImageFont.Layout.BASIC)
    monkeypatch.setattr(layout.ImageFont, "truetype", basic)
    text = "Đổi giấy phép lái xe"
    loose = layout._draw_blocks([Block(nfd(text), 26, True)], 576, "")
    composed = layout._draw_blocks([Block(text, 26, True)], 576, "")
    assert not image_equal(loose, composed)  # the case the normalisation is for
    got = draw(decomposed(facts), TicketLayout(), 576).preview()
    assert image_equal(got, draw(facts, TicketLayout(), 576).preview(), padding=False)


# -- what is on the ticket ---------------------------------------------------------------------

@pytest.mark.parametrize("width", WIDTHS)
def test_the_number_is_the_biggest_text(facts, width):
    top = draw(facts, TicketLayout(), width).top
    other = draw(TicketFacts(**{**facts.__dict__, "number": "B999"}), TicketLayout(), width).top
    assert top.size == other.size
    # Where the two tickets differ is the number; its line is by far the tallest ink (other
    # bands may hold two lines where accents and descenders touch).
    diff = [y for y in range(top.height)
            if top.crop((0, y, width, y + 1)).tobytes() != other.crop((0, y, width, y + 1))
            .tobytes()]
    heights = sorted(bands(top), key=lambda b: b[1], reverse=True)
    (start, tallest), (_, second) = heights[0], heights[1]
    assert start <= diff[0] and diff[-1] < start + tallest
    assert tallest >= 2 * second
    assert tallest >= 0.2 * width  # big enough to read from across the hall


def test_show_flags_remove_their_parts(facts):
    full = draw(facts, TicketLayout())
    no_qr = draw(facts, TicketLayout(show_qr=False))
    assert no_qr.qr is None and full.qr is not None
    # Without the QR its caption goes too: only the footer is left below.
    assert no_qr.bottom.height < full.bottom.height
    assert no_qr.preview().height < full.preview().height - full.qr.height
    no_url = draw(TicketFacts(**{**facts.__dict__, "url": ""}), TicketLayout())
    assert no_url.qr is None
    assert image_equal(no_url.bottom, no_qr.bottom, padding=False)

    for flag, emptied in (("show_wait", {"waiting_ahead": None, "eta_minutes": None}),
                          ("show_field", {"field_name": ""}),
                          ("show_counters", {"counters": []})):
        hidden = draw(facts, TicketLayout(**{flag: False})).top
        missing = draw(TicketFacts(**{**facts.__dict__, **emptied}), TicketLayout()).top
        assert hidden.height < full.top.height, flag
        assert image_equal(hidden, missing, padding=False), flag

    bare = draw(facts, TicketLayout(show_qr=False, footer=""))
    assert bare.qr is None and bare.bottom is None
    assert image_equal(bare.preview(), layout.mono(bare.top), padding=False)


def test_wait_not_estimated_is_said_not_left_out(facts):
    layout = TicketLayout()
    unknown = TicketFacts(**{**facts.__dict__, "eta_minutes": None, "eta_range": None})
    texts = [b.text for b in blocks(unknown, layout)[0]]
    assert layout.unknown_label in texts and "Số người chờ trước: 3" in texts
    nothing = draw(TicketFacts(**{**facts.__dict__, "eta_minutes": None,
                                  "waiting_ahead": None}), layout).top
    assert draw(unknown, layout).top.height > nothing.height
    assert layout.unknown_label not in [b.text for b in blocks(facts, layout)[0]]


def test_wait_range_and_closing_are_printed():
    layout = TicketLayout()
    ranged = TicketFacts(hall_name="Sảnh", number="A009", waiting_ahead=8, eta_minutes=17,
                         eta_range=[15, 20], eta_after_closing=True)
    texts = [b.text for b in blocks(ranged, layout)[0]]
    # A plain hyphen: the text mode's code pages all have it.
    assert "Thời gian chờ dự kiến: khoảng 15-20 phút" in texts
    assert texts.index(layout.closing_label) == texts.index(
        "Thời gian chờ dự kiến: khoảng 15-20 phút") + 1
    single = TicketFacts(hall_name="Sảnh", number="A009", waiting_ahead=8, eta_minutes=6,
                         eta_range=[6, 6])
    texts = [b.text for b in blocks(single, layout)[0]]
    assert "Thời gian chờ dự kiến: khoảng 6 phút" in texts
    assert layout.closing_label not in texts


def test_priority_label_is_drawn_under_the_number(facts):
    plain = draw(facts, TicketLayout()).top
    elderly = draw(TicketFacts(**{**facts.__dict__, "priority": "Người cao tuổi"}),
                   TicketLayout()).top
    # One more line: hall, title and number rows are the same, then the label comes in.
    assert elderly.width == plain.width
    assert elderly.height - plain.height >= 28
    number_end = max(bands(plain), key=lambda b: b[1])
    end = number_end[0] + number_end[1]
    assert elderly.crop((0, 0, 576, end)).tobytes() == plain.crop((0, 0, 576, end)).tobytes()
    assert len(bands(elderly)) > len(bands(plain))
    # And the label is the configured one.
    other = draw(TicketFacts(**{**facts.__dict__, "priority": "Người cao tuổi"}),
                 TicketLayout(priority_label="Ưu tiên — {reason}")).top
    assert not image_equal(other, elderly)


def test_title_and_texts_come_from_the_layout(facts):
    base = draw(facts, TicketLayout())
    assert not image_equal(draw(facts, TicketLayout(title="PHIẾU CHỜ")).top, base.top)
    assert not image_equal(draw(facts, TicketLayout(footer="Cảm ơn")).bottom, base.bottom)


def test_a_label_with_a_stray_placeholder_is_refused_when_made():
    """Not when the first ticket prints ([ticket] errors are in test_settings.py)."""
    with pytest.raises(InvalidInput) as caught:
        TicketLayout(wait_label="Chờ khoảng {phut} phút")
    assert caught.value.params["field"] == "wait_label"
    assert TicketLayout(wait_label="{minutes} phút {{ước tính}}").wait_label


def test_facts_from_a_ticket_sheet():
    sheet = {"number": "B012", "procedure": {"name": "Cấp mới"}, "field": "Vận tải",
             "counters": ["Quầy 2"], "waiting_ahead": 0, "eta_minutes": None,
             "priority": "disability"}
    facts = TicketFacts.from_sheet(sheet, "Trung tâm", "Sở GTVT", "https://x.vn/t/1", None)
    assert (facts.number, facts.procedure, facts.field_name, facts.counters) == (
        "B012", "Cấp mới", "Vận tải", ["Quầy 2"])
    # The priority prints as its words: Vietnamese as written, or as ``say`` translates them.
    assert facts.priority == "Người khuyết tật" and facts.url == "https://x.vn/t/1"
    english = TicketFacts.from_sheet(sheet, "Trung tâm", "", "", None,
                                     {"Người khuyết tật": "Person with a disability"}.get)
    assert english.priority == "Person with a disability"
    bare = TicketFacts.from_sheet({"number": "1"}, "H", "", "", None)
    assert (bare.procedure, bare.field_name, bare.counters) == ("", "", [])


# -- fonts -------------------------------------------------------------------------------------

def test_missing_fonts_name_the_package(facts, tmp_path, fresh_fonts, monkeypatch):
    monkeypatch.setattr(layout, "FONT_DIRS", ())
    empty = tmp_path / "fonts"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="fonts-dejavu-core") as caught:
        draw(facts, TicketLayout(font_dir=str(empty)))
    assert "DejaVuSans" in str(caught.value)


def test_font_dir_is_searched_first(facts, tmp_path, fresh_fonts, monkeypatch):
    system = next(Path(d) for d in layout.FONT_DIRS if (Path(d) / layout.BOLD).exists())
    own = tmp_path / "fonts"
    own.mkdir()
    for name in (layout.REGULAR, layout.BOLD):
        shutil.copy(system / name, own / name)
    want = draw(facts, TicketLayout()).preview()
    monkeypatch.setattr(layout, "FONT_DIRS", ())
    font.cache_clear()
    got = draw(facts, TicketLayout(font_dir=str(own))).preview()
    assert image_equal(got, want, padding=False)


def test_nobody_ahead_says_the_turn_is_near_not_zero_minutes():
    layout = TicketLayout()
    now = TicketFacts(hall_name="Sảnh", number="A001", waiting_ahead=0, eta_minutes=0)
    later = TicketFacts(hall_name="Sảnh", number="A009", waiting_ahead=8, eta_minutes=24)
    now_texts = [b.text for b in blocks(now, layout)[0]]
    later_texts = [b.text for b in blocks(later, layout)[0]]
    assert layout.soon_label in now_texts
    assert not any("0 phút" in t for t in now_texts)
    assert "Thời gian chờ dự kiến: khoảng 24 phút" in later_texts
    assert layout.soon_label not in later_texts


@pytest.mark.parametrize("width", [384, 576])
def test_wait_range_in_text_mode_stays_within_the_paper(width):
    """On a slow serial printer (text mode) the range and the closing line are text in the
    Vietnamese code page, decoded back, and no line runs past the paper."""
    config = PrinterConfig(connection="serial", device="/dev/ttyUSB0", baudrate=9600,
                           width=width)
    facts = TicketFacts(hall_name="Sảnh", number="A009", waiting_ahead=8, eta_minutes=17,
                        eta_range=[15, 120], eta_after_closing=True)
    job = encode(facts, TicketLayout(), config)
    assert job.mode == "text"
    receipt = decode(job.data, config.profile)
    assert receipt.unknown == []
    joined = " ".join(receipt.lines)
    assert "Thời gian chờ dự kiến: khoảng 15-120 phút" in joined
    assert TicketLayout().closing_label in joined
    for line in receipt.lines:
        style = receipt.style_of(line) if line else None
        if style is not None:
            assert len(line) * style.width <= width // 12, line
