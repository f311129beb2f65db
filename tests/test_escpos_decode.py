"""tests.escpos_decode against what python-escpos really emits, and against hand-made bytes."""

import random

import pytest
from escpos.constants import QR_ECLEVEL_H, QR_ECLEVEL_Q, QR_MODEL_1
from escpos.printer import Dummy
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from tests.escpos_decode import (
    QR,
    Align,
    Barcode,
    Bold,
    CodePage,
    Command,
    Cut,
    DecodeError,
    Feed,
    Font,
    Init,
    LineSpacing,
    Raster,
    Size,
    StatusQuery,
    Style,
    Text,
    Underline,
    Unknown,
    codepage_table,
    command_length,
    decode,
    image_equal,
    stack_images,
    to_mono,
)

VIETNAMESE = ("ăâêôơưđ ĂÂÊÔƠƯĐ àảãáạ ằẳẵắặ ầẩẫấậ èẻẽéẹ ềểễếệ ìỉĩíị òỏõóọ ồổỗốộ ờởỡớợ ùủũúụ "
              "ừửữứự ỳỷỹýỵ")
TICKET = "Số thứ tự ĐỔI GIẤY PHÉP lái xe"


def dummy(profile: str = "TM-T88V") -> Dummy:
    return Dummy(profile=profile)


def random_image(width: int, height: int, seed: int = 7) -> Image.Image:
    rng = random.Random(seed)
    img = Image.new("1", (width, height), 1)
    px = img.load()
    for y in range(height):
        for x in range(width):
            if rng.random() < 0.4:
                px[x, y] = 0
    return img


def only(receipt, kind):
    found = receipt.ops_of(kind)
    assert len(found) == 1, receipt.ops
    return found[0]


# -- text and code pages -----------------------------------------------------------------------

def test_plain_text_lines_and_init():
    p = dummy()
    p.hw("INIT")
    p.text("Hello   \nworld\n")
    r = decode(p.output)
    assert r.ops[0] == Init()
    assert r.text == "Hello   \nworld\n"
    assert r.lines == ["Hello", "world"]
    assert r.unknown == []


def test_ticket_line_comes_back_exactly():
    p = dummy()
    p.text(TICKET + "\n")
    r = decode(p.output, profile="TM-T88V")
    assert r.lines == [TICKET]
    assert r.unknown == []
    # python-escpos hops between code pages for this line, Đ coming from CP852.
    assert {0, 18, 30, 31} <= set(r.codepages)
    assert Text("Đ", 18) in r.ops


@pytest.mark.parametrize("profile", ["TM-T88V", "TM-T20II", "default"])
def test_full_vietnamese_alphabet_round_trips(profile):
    p = dummy(profile)
    p.text(VIETNAMESE + "\n" + VIETNAMESE.upper() + "\n")
    r = decode(p.output, profile)
    assert r.lines == [VIETNAMESE, VIETNAMESE.upper()]
    assert r.unknown == []
    assert "\ufffd" not in r.text and "?" not in r.text
    assert {30, 31} <= set(r.codepages)  # the TCVN-3 tables were used


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=sorted(set(VIETNAMESE + VIETNAMESE.upper() + "0123456789 .,:-/()")),
               max_size=40))
def test_any_vietnamese_text_round_trips(s):
    p = dummy()
    p.text(s)
    r = decode(p.output)
    assert r.text == s
    assert r.unknown == []


@pytest.mark.parametrize(("n", "raw", "expected"), [
    (0, b"\x82\x9c\xb3", "é£│"),  # CP437
    (30, b"\xb5\xe8\xae", "àốđ"),  # TCVN-3-1, lowercase
    (31, b"\xb5\xa7\xa1", "ÀĐĂ"),  # TCVN-3-2, capitals (0xA7 is Đ, not Icelandic Ð)
    (52, b"\xd0\xf0\xd5", "ĐđƠ"),  # CP1258
    (18, b"\xd1\xd0\xc6", "Đđ" + "Ă"),  # CP852
])
def test_code_pages_decode_the_upper_half(n, raw, expected):
    r = decode(b"\x1bt" + bytes([n]) + raw + b"ok\n")
    assert r.codepages == [n]
    assert r.text == expected + "ok\n"
    assert only(r, Text).codepage == n


def test_code_page_zero_is_the_power_on_default_and_init_restores_it():
    r = decode(b"\x82\x1bt\x12\xd1\x1b@\x82")
    assert r.text == "éĐé"
    assert [op.codepage for op in r.ops_of(Text)] == [0, 18, 0]


def test_cp1258_combining_tones_are_composed_in_text():
    # CP1258 writes ố as ô (0xF4) + combining acute (0xEC); Text keeps it, .text composes it.
    r = decode(b"\x1bt\x34S\xf4\xec")
    assert only(r, Text).text == "Sô\u0301"
    assert r.text == "Số"


def test_code_page_missing_from_the_profile_gives_replacement_characters():
    # The TM-T88IV profile has no TCVN-3 tables: what a TM-T88V prints as ố is unknown there.
    data = b"\x1bt\x1e\xe8"
    assert decode(data, "TM-T88V").text == "ố"
    assert decode(data, "TM-T88IV").text == "\ufffd"
    assert only(decode(data, "TM-T88IV"), CodePage) == CodePage(30, None)


def test_codepage_table_matches_python_escpos_encoder():
    from escpos.magicencode import Encoder

    for name in ("CP437", "TCVN-3-1", "TCVN-3-2", "CP1258", "CP852"):
        table = codepage_table(name)
        for ch, byte in Encoder({name: 0})._get_codepage_char_map(name).items():
            if ch != " " and ch != "Ð":
                assert table[byte] == ch, (name, hex(byte))
        assert table[:128] == tuple(chr(b) for b in range(128))


def test_unknown_profile_is_refused():
    with pytest.raises(ValueError, match="profile"):
        decode(b"x", "No-Such-Printer")


# -- character styles --------------------------------------------------------------------------

def test_set_with_custom_size_bold_center():
    p = dummy()
    p.set(align="center", bold=True, double_height=True, custom_size=True, width=4, height=4)
    p.text("A001\n")
    r = decode(p.output)
    assert r.ops[:3] == [Size(4, 4), Bold(True), Align(1)]
    assert r.style_of("A001") == Style(align=1, bold=True, width=4, height=4)
    assert r.ops_of(Align)[0].name == "center"
    assert r.unknown == []


@pytest.mark.parametrize(("kwargs", "size"), [
    ({"double_height": True}, (1, 2)),
    ({"double_width": True}, (2, 1)),
    ({"double_width": True, "double_height": True}, (2, 2)),
    ({"normal_textsize": True}, (1, 1)),
])
def test_esc_bang_sizes(kwargs, size):
    p = dummy()
    p.set(**kwargs)
    p.text("x")
    r = decode(p.output)
    assert r.ops_of(Size)[-1] == Size(*size)
    assert (r.style_of("x").width, r.style_of("x").height) == size


def test_gs_bang_every_size():
    for w in range(1, 9):
        for h in range(1, 9):
            p = dummy()
            p.set(custom_size=True, width=w, height=h)
            assert decode(p.output).ops == [Size(w, h)]


def test_underline_font_invert_flip_and_defaults():
    p = dummy()
    p.set(underline=2, font="b", invert=True, flip=True)
    p.text("u")
    p.set_with_default()
    p.text("n")
    r = decode(p.output)
    assert Underline(2) in r.ops and Font(1) in r.ops
    assert r.style_of("u") == Style(underline=2, font=1, invert=True, upside_down=True)
    assert r.style_of("n") == Style()
    assert r.unknown == []


def test_esc_bang_also_sets_bold_underline_and_font():
    r = decode(b"\x1b!\x89x\x1b!\x00y")
    assert r.style_of("x") == Style(bold=True, underline=1, font=1)
    assert r.style_of("y") == Style()
    with pytest.raises(ValueError, match="not printed"):
        r.style_of("z")


def test_digit_parameters_are_normalised():
    r = decode(b"\x1ba2\x1b-1\x1bM1")
    assert r.ops == [Align(2), Underline(1), Font(1)]


def test_line_spacing_and_feeds():
    p = dummy()
    p.line_spacing(30)
    p.line_spacing(40, divisor=360)
    p.line_spacing(20, divisor=60)
    p.line_spacing()
    p.print_and_feed(3)
    r = decode(p.output + b"\x1bJ\x18\x1be\x02")
    assert r.ops == [LineSpacing(30), LineSpacing(40, 360), LineSpacing(20, 60), LineSpacing(None),
                     Feed(lines=3), Feed(dots=24), Feed(lines=-2)]


def test_feed_or_cut_ends_an_unfinished_line():
    r = decode(b"abc\x1bd\x02def\x1dV\x00ghi\n\x1bd\x01")
    assert r.lines == ["abc", "def", "ghi"]


# -- images ------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [(8, 1), (20, 5), (37, 23), (512, 40)])
def test_raster_image_round_trip_pixel_exact(size):
    img = random_image(*size)
    p = dummy()
    p.image(img, impl="bitImageRaster")
    r = decode(p.output)
    raster = only(r, Raster)
    assert raster.source == "GS v 0" and raster.scale == (1, 1)
    assert raster.width_px == (size[0] + 7) // 8 * 8 and raster.height_px == size[1]
    assert image_equal(raster, img)
    assert raster.black_pixels() == img.histogram()[0]
    assert r.images == [raster.image] and r.unknown == []


def test_graphics_image_round_trip_pixel_exact():
    img = random_image(37, 23, seed=3)
    p = dummy()
    p.image(img, impl="graphics")
    r = decode(p.output)
    raster = only(r, Raster)
    assert raster.source == "GS ( L"
    assert raster.image.size == img.size  # GS ( L gives the exact width
    assert image_equal(raster, img, padding=False)
    assert r.unknown == []


def test_graphics_only_print_when_asked():
    p = dummy()
    p.image(random_image(8, 2), impl="graphics")
    store_only = p.output[: -len(b"\x1d(L\x02\x0002")]
    assert decode(store_only).images == []


def test_gs_8_l_is_decoded_like_gs_paren_l():
    img = random_image(13, 4)
    p = dummy()
    p.image(img, impl="graphics")
    data = p.output
    store_len = data[3] | data[4] << 8
    store = b"\x1d8L" + store_len.to_bytes(4, "little") + data[5:5 + store_len]
    r = decode(store + b"\x1d8L\x02\x00\x00\x0002")
    assert image_equal(only(r, Raster), img, padding=False)
    assert only(r, Raster).source == "GS 8 L"


def test_column_format_image_round_trip():
    img = random_image(30, 50, seed=5)
    p = dummy()
    p.image(img, impl="bitImageColumn")
    r = decode(p.output)
    bands = r.rasters
    assert [b.source for b in bands] == ["ESC *"] * 3
    assert all(b.height_px == 24 and b.width_px == 30 for b in bands)
    assert image_equal(stack_images(bands), img)
    assert r.unknown == []


def test_tall_image_comes_in_fragments():
    img = random_image(16, 50, seed=9)
    p = dummy()
    p.image(img, impl="bitImageRaster", fragment_height=20)
    r = decode(p.output)
    assert [ras.height_px for ras in r.rasters] == [20, 20, 10]
    assert image_equal(stack_images(r.images), img, padding=False)


def test_raster_density_modes_are_reported_as_scale():
    p = dummy()
    p.image(random_image(8, 2), high_density_horizontal=False, high_density_vertical=False)
    assert only(decode(p.output), Raster).scale == (2, 2)


def test_grey_and_transparent_images_convert_like_python_escpos():
    img = Image.new("RGBA", (24, 10), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rectangle((2, 2, 12, 8), fill=(0, 0, 0, 255))
    draw.rectangle((14, 2, 22, 8), fill=(128, 128, 128, 255))
    p = dummy()
    p.image(img)
    raster = only(decode(p.output), Raster)
    assert image_equal(raster, img)
    assert to_mono(img).mode == "1"
    assert raster.rows()[0] == "." * 24
    assert raster.rows()[5][2:13] == "#" * 11


def test_image_equal_notices_a_single_dot():
    img = random_image(16, 8)
    other = img.copy()
    other.putpixel((5, 5), 255 - other.getpixel((5, 5)))
    assert not image_equal(img, other)
    wider = Image.new("1", (24, 8), 1)
    wider.paste(img, (0, 0))
    assert image_equal(wider, img)
    assert not image_equal(wider, img, padding=False)
    wider.putpixel((20, 0), 0)
    assert not image_equal(wider, img)


# -- QR codes, barcodes ------------------------------------------------------------------------

def test_native_qr_round_trip():
    p = dummy()
    p.qr("https://example.vn/t/abc", native=True)
    r = decode(p.output)
    assert r.qr_codes == [QR("https://example.vn/t/abc", model=2, size=3, ec="L",
                             raw=b"https://example.vn/t/abc")]
    assert r.unknown == []


def test_qr_parameters_and_unicode_data():
    p = dummy()
    p.qr("Số A001 – Quầy 2", native=True, size=8, ec=QR_ECLEVEL_H, model=QR_MODEL_1)
    p.qr("second", native=True, ec=QR_ECLEVEL_Q)
    r = decode(p.output)
    assert [(q.data, q.model, q.size, q.ec) for q in r.qr_codes] == [
        ("Số A001 – Quầy 2", 1, 8, "H"), ("second", 2, 3, "Q")]


def test_qr_rendered_as_image_is_an_image_not_a_qr():
    p = dummy()
    p.qr("https://example.vn/t/abc")
    r = decode(p.output)
    assert r.qr_codes == [] and len(r.images) == 1 and r.unknown == []


def test_barcodes():
    p = dummy()
    p.barcode("123456789012", "EAN13")
    p.barcode("{Babc123", "CODE128", function_type="B")
    r = decode(p.output)
    assert r.barcodes == [Barcode("EAN13", "123456789012", "A"),
                          Barcode("CODE128", "{Babc123", "B")]
    assert Command("barcode height", b"@") in r.ops
    assert r.unknown == []


# -- cuts, status, jobs ------------------------------------------------------------------------

def test_python_escpos_cuts():
    p = dummy()
    p.text("one\n")
    p.cut()
    p.text("two\n")
    p.cut(mode="PART")
    p.cut(feed=False)
    r = decode(p.output)
    assert r.cuts == 3
    assert r.ops_of(Cut) == [Cut(partial=False), Cut(partial=True), Cut(partial=True, feed=0)]
    assert r.ops_of(Feed) == [Feed(lines=6), Feed(lines=6)]


@pytest.mark.parametrize(("raw", "cut"), [
    (b"\x1dV\x00", Cut(False)), (b"\x1dV0", Cut(False)), (b"\x1dV\x01", Cut(True)),
    (b"\x1dV1", Cut(True)), (b"\x1dVA\x05", Cut(False, 5)), (b"\x1dVB\x03", Cut(True, 3)),
    (b"\x1dVa\x00", Cut(False)), (b"\x1dVb\x01", Cut(True, 1)), (b"\x1dVg\x02", Cut(False, 2)),
    (b"\x1dVh\x00", Cut(True)), (b"\x1bi", Cut(True)), (b"\x1bm", Cut(True)),
])
def test_every_cut_form(raw, cut):
    r = decode(b"x\n" + raw + b"y\n")
    assert r.ops_of(Cut) == [cut]
    assert r.text == "x\ny\n"


def test_bad_cut_mode_is_unknown():
    assert decode(b"\x1dV\x07").unknown == [(0, b"\x1dV\x07")]


def test_status_queries():
    r = decode(b"\x10\x04\x01a\x10\x04\x04\x1dr1")
    assert r.ops_of(StatusQuery) == [StatusQuery(1), StatusQuery(4), StatusQuery(1, "GS r")]
    assert r.status_queries == [1, 4, 1]
    assert r.text == "a"


def test_jobs_split_at_cuts():
    p = dummy()
    for n in ("A001", "A002"):
        p.text(n + "\n")
        p.cut()
    p.text("tail")
    jobs = decode(p.output).jobs()
    assert [j.lines for j in jobs] == [["A001"], ["A002"], ["tail"]]
    assert [j.cuts for j in jobs] == [1, 1, 0]


def test_whole_ticket_through_python_escpos():
    p = dummy()
    p.hw("INIT")
    p.set(align="center", bold=True)
    p.textln("TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG")
    p.set(custom_size=True, width=4, height=4)
    p.textln("A001")
    p.set_with_default(align="center")
    p.textln(TICKET)
    p.qr("https://example.vn/t/abc", native=True, size=6)
    p.image(random_image(64, 16), impl="bitImageRaster", center=True)
    p.buzzer()
    p.cut()
    r = decode(p.output)
    assert r.lines[:3] == ["TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG", "A001", TICKET]
    assert r.style_of("A001") == Style(align=1, bold=True, width=4, height=4)
    assert r.style_of("Số") == Style(align=1)
    assert r.qr_codes[0].size == 6 and len(r.images) == 1 and r.cuts == 1
    assert Command("buzzer", b"\x02\x04") in r.ops
    assert r.unknown == []


# -- unknown and truncated data ----------------------------------------------------------------

def test_unknown_bytes_are_reported_with_offsets():
    r = decode(b"abc\x1b\xffdef\x00g\x1d\xee\x1c\xfe\x10\x7f")
    assert r.unknown == [(3, b"\x1b\xff"), (8, b"\x00"), (10, b"\x1d\xee"), (12, b"\x1c\xfe"),
                         (14, b"\x10\x7f")]
    assert r.text == "abcdefg"


def test_unmodelled_length_prefixed_commands_are_skipped_whole():
    pdf417 = b"\x1d(k\x04\x000A\x00\x00"  # GS ( k cn=48: PDF417, not modelled
    r = decode(b"a" + pdf417 + b"b")
    assert r.unknown == [(1, pdf417)]
    assert r.text == "ab"


def test_truncated_raster_raises_with_offset():
    p = dummy()
    p.image(random_image(16, 10))
    data = b"ok\n" + p.output[:-5]
    with pytest.raises(DecodeError) as err:
        decode(data)
    assert err.value.offset == 3
    assert "raster bit image" in err.value.reason


def test_truncated_input_can_be_kept_as_unknown():
    p = dummy()
    p.image(random_image(16, 10))
    data = b"ok\n" + p.output[:-5]
    r = decode(data, strict=False)
    assert r.text == "ok\n"
    assert r.ops[-1] == Unknown(3, data[3:], "truncated")
    assert r.unknown == [(3, data[3:])]


@pytest.mark.parametrize("tail", [b"\x1b", b"\x1dv0\x00\x01", b"\x1d(k\x03", b"\x10\x04",
                                  b"\x1dk\x02123", b"\x1dV"])
def test_every_kind_of_cut_off_command(tail):
    with pytest.raises(DecodeError) as err:
        decode(b"ab" + tail)
    assert err.value.offset == 2
    assert decode(b"ab" + tail, strict=False).unknown == [(2, tail)]


def test_bad_graphics_payload_is_unknown_not_an_image():
    bad = b"\x1d(L\x0b\x000p0\x01\x011\x10\x00\x02\x00\xff"  # says 16x2 dots, has 1 byte
    r = decode(bad + b"\x1d(L\x02\x0002")
    assert r.images == [] and r.unknown == [(0, bad)]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash(data):
    r = decode(data, strict=False)
    assert all(isinstance(op.offset, int) for op in r.ops_of(Unknown))
    try:
        decode(data)
    except DecodeError as err:
        assert 0 <= err.offset < len(data)


def test_command_length_for_incremental_parsing():
    assert command_length(b"a") == 1
    assert command_length(b"\x1b") is None
    assert command_length(b"\x1bt") == 3
    assert command_length(b"\x1dv0\x00\x02\x00") is None
    assert command_length(b"\x1dv0\x00\x02\x00\x03\x00") == 8 + 6
    assert command_length(b"\x1d(k\x03\x00") == 8
    assert command_length(b"\x1dk\x02123") is None
    assert command_length(b"\x1dk\x02123\x00") == 7
    assert command_length(b"xx\x10\x04\x01", 2) == 3
