"""printer.encode: the plan (raster or text, QR native or image) and the ESC/POS bytes, decoded."""

import unicodedata
from datetime import datetime

import pytest
import segno

from printer.connection import PrinterConfig
from printer.encode import Plan, encodable, encode, plan, profile_supports
from printer.encode import test_facts as page_facts
from printer.layout import TicketFacts, TicketLayout, draw, mono
from tests.escpos_decode import Cut, Feed, decode, image_equal, stack_images

VIETNAMESE_LETTERS = "ăâđêôơưĂÂĐÊÔƠƯ"
TONES = "\u0300\u0309\u0303\u0301\u0323"  # huyền, hỏi, ngã, sắc, nặng
PAPERS = [(576, "TM-T20II"), (512, "TM-T88V"), (384, "POS-5890")]


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


@pytest.fixture
def facts() -> TicketFacts:
    return TicketFacts(
        hall_name="Trung tâm Phục vụ hành chính công tỉnh Hà Tĩnh", number="A001",
        procedure="Cấp đổi giấy phép lái xe quốc tế do ngành Giao thông vận tải quản lý",
        field_name="Giấy phép lái xe", counters=["Quầy 1", "Quầy 2"], waiting_ahead=3,
        eta_minutes=12, issued=datetime(2026, 11, 26, 8, 5),
        url="https://goiso.example.vn/t/abcdef123456")


@pytest.fixture
def serial() -> PrinterConfig:
    """A TM-T20II on a 9600 baud serial line: text mode."""
    return PrinterConfig(connection="serial", device="/dev/ttyUSB0", baudrate=9600)


# -- the plan ----------------------------------------------------------------------------------

@pytest.mark.parametrize("config", [
    PrinterConfig(connection="file", folder="/tmp/x"),
    PrinterConfig(connection="network", host="10.0.0.5"),
    PrinterConfig(connection="usb", vendor_id=0x04B8, product_id=0x0E15),
    PrinterConfig(connection="device", device="/dev/usb/lp0"),
], ids=lambda c: c.connection)
def test_fast_links_print_raster(config):
    chosen = plan(config)
    assert chosen == Plan("raster", "native", chosen.reason)
    assert "in ảnh" in chosen.reason and "TM-T20II có lệnh QR" in chosen.reason


def test_slow_serial_with_vietnamese_code_page_prints_text(serial):
    chosen = plan(serial)
    assert (chosen.mode, chosen.qr) == ("text", "native")
    assert "9600 baud" in chosen.reason and "TCVN-3" in chosen.reason
    assert "~45 s" in chosen.reason  # 43 KB at 960 bytes a second


def test_slow_serial_without_vietnamese_prints_raster_anyway():
    config = PrinterConfig(connection="serial", device="/dev/ttyS0", profile="POS-5890",
                           width=384)
    assert profile_supports("POS-5890") == (False, False)
    chosen = plan(config)
    assert (chosen.mode, chosen.qr) == ("raster", "image")
    assert "chậm" in chosen.reason and "không có bảng mã tiếng Việt" in chosen.reason
    assert "không có lệnh QR" in chosen.reason


def test_fast_serial_reason_names_the_baud_rate():
    chosen = plan(PrinterConfig(connection="serial", device="/dev/ttyS0", baudrate=115200))
    assert "115200 baud" in chosen.reason
    quick = plan(PrinterConfig(connection="serial", device="/dev/ttyS0", baudrate=230400))
    assert quick.mode == "raster" and "230400 baud" in quick.reason


def test_explicit_settings_win(serial):
    serial.mode, serial.qr = "raster", "image"
    chosen = plan(serial)
    assert (chosen.mode, chosen.qr) == ("raster", "image")
    assert "mode = raster theo cấu hình" in chosen.reason and "qr = image" in chosen.reason
    network = PrinterConfig(connection="network", host="h", mode="text", qr="native",
                            profile="POS-5890", width=384)
    assert (plan(network).mode, plan(network).qr) == ("text", "native")


def test_qr_follows_the_profile():
    assert plan(PrinterConfig(profile="TM-T88V", width=512)).qr == "native"
    assert plan(PrinterConfig(profile="POS-5890", width=384)).qr == "image"


# -- raster ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("width", "profile"), PAPERS)
def test_raster_prints_the_preview_dot_for_dot(facts, width, profile):
    config = PrinterConfig(width=width, profile=profile, qr="image")
    job = encode(facts, TicketLayout(), config)
    assert job.mode == "raster" and job.name == "A001"
    receipt = decode(job.data, profile)
    assert receipt.unknown == []
    assert receipt.rasters and all(r.width_px == width for r in receipt.rasters)
    assert receipt.qr_codes == [] and receipt.text.strip() == ""
    assert job.preview.size[0] == width
    assert image_equal(stack_images(receipt.images), job.preview, padding=False)
    if profile == "POS-5890":  # no cutter: the paper is fed out to be torn off
        assert receipt.cuts == 0 and receipt.ops[-1] == Feed(lines=6)
    else:
        assert receipt.cuts == 1 and isinstance(receipt.ops[-1], Cut)


@pytest.mark.parametrize(("width", "profile"), PAPERS[:2])
def test_raster_with_native_qr(facts, width, profile):
    config = PrinterConfig(width=width, profile=profile)
    job = encode(facts, TicketLayout(), config)
    receipt = decode(job.data, profile)
    assert receipt.unknown == []
    [qr] = receipt.qr_codes
    assert qr.data == facts.url and qr.ec == "M"
    drawing = draw(facts, TicketLayout(), width)
    # The printed QR is about 40 % of the paper wide, as the drawn one.
    modules = segno.make(facts.url, error="m").symbol_size(scale=1, border=0)[0]
    assert 0.25 * width <= qr.size * modules <= 0.4 * width
    # Dots above and below the QR are the drawing's; the QR op sits between them.
    assert image_equal(stack_images(receipt.images),
                       stack_images([mono(drawing.top), mono(drawing.bottom)]), padding=False)
    kinds = [type(op).__name__ for op in receipt.ops if type(op).__name__ in ("Raster", "QR")]
    assert kinds[-2:] == ["QR", "Raster"]
    assert receipt.cuts == 1 and isinstance(receipt.ops[-1], Cut)
    # The preview still shows the QR where it will be.
    assert job.preview.height == (drawing.top.height + drawing.qr.height
                                  + drawing.bottom.height)


def test_no_qr_without_url(facts):
    facts.url = ""
    receipt = decode(encode(facts, TicketLayout(), PrinterConfig()).data, "TM-T20II")
    assert receipt.qr_codes == [] and receipt.unknown == [] and receipt.cuts == 1


def test_raster_job_size(facts):
    for qr in ("native", "image"):
        job = encode(facts, TicketLayout(), PrinterConfig(qr=qr))
        assert 30_000 <= len(job.data) <= 70_000, (qr, len(job.data))


# -- text --------------------------------------------------------------------------------------

def test_text_mode_prints_all_the_vietnamese(facts, serial):
    job = encode(facts, TicketLayout(), serial)
    assert job.mode == "text"
    assert len(job.data) < 2_000
    receipt = decode(job.data, serial.profile)
    assert receipt.unknown == [] and receipt.rasters == []
    text = receipt.text
    assert text == nfc(text)
    joined = " ".join(receipt.lines)  # long texts wrap at spaces
    for part in (facts.hall_name, "SỐ THỨ TỰ", facts.procedure, facts.field_name,
                 "Mời đến: Quầy 1, Quầy 2", "Số người chờ trước: 3",
                 "Thời gian chờ dự kiến: khoảng 12 phút", "08:05  26/11/2026",
                 "Quét mã để xem lượt của bạn", TicketLayout().footer):
        assert nfc(part) in joined, part
    assert receipt.lines.count("A001") == 1
    [qr] = receipt.qr_codes
    assert qr.data == facts.url
    assert receipt.cuts == 1 and isinstance(receipt.ops[-1], Cut)
    # The job still has a picture of the paper for the admin page.
    assert job.preview.width == serial.width


def test_text_mode_sizes(facts, serial):
    receipt = decode(encode(facts, TicketLayout(), serial).data, serial.profile)
    number = receipt.style_of("A001")
    assert number.width >= 4 and number.height >= 4 and number.bold
    assert number.align_name == "center"
    title = receipt.style_of("SỐ THỨ TỰ")
    assert (title.width, title.height) == (2, 2)
    assert receipt.style_of("Mời đến").width == 1
    # No line runs past the paper: 48 columns of font A at 576 dots.
    for line in receipt.lines:
        style = receipt.style_of(line) if line else None
        if style is not None:
            assert len(line) * style.width <= serial.width // 12, line


def test_text_mode_from_decomposed_text(facts, serial):
    decomposed = TicketFacts(**{**facts.__dict__,
                                "procedure": unicodedata.normalize("NFD", facts.procedure),
                                "hall_name": unicodedata.normalize("NFD", facts.hall_name)})
    job = encode(decomposed, TicketLayout(), serial)
    assert job.mode == "text"
    assert job.data == encode(facts, TicketLayout(), serial).data


@pytest.mark.parametrize("odd", ["办", "😀"])
def test_text_falls_back_to_raster_for_characters_no_code_page_has(facts, serial, odd):
    facts.procedure = f"Đổi giấy phép lái xe {odd}"
    assert plan(serial).mode == "text"
    assert not encodable(facts, TicketLayout(), serial.profile)
    job = encode(facts, TicketLayout(), serial)
    assert job.mode == "raster"
    receipt = decode(job.data, serial.profile)
    assert receipt.rasters and receipt.unknown == []
    assert receipt.qr_codes[0].data == facts.url


def test_text_with_image_qr(facts, serial):
    serial.qr = "image"
    job = encode(facts, TicketLayout(), serial)
    receipt = decode(job.data, serial.profile)
    assert job.mode == "text" and receipt.qr_codes == []
    [qr] = receipt.images
    assert image_equal(qr, mono(draw(facts, TicketLayout(), serial.width).qr), padding=False)
    assert "A001" in receipt.lines


def test_layout_flags_apply_to_text(facts, serial):
    layout = TicketLayout(show_qr=False, show_wait=False, show_field=False, footer="")
    receipt = decode(encode(facts, layout, serial).data, serial.profile)
    assert receipt.qr_codes == []
    for gone in ("Số người chờ", "Thời gian chờ", facts.field_name, "Quét mã", "Quý khách"):
        assert gone not in receipt.text, gone
    assert "Mời đến" in receipt.text


# -- test page ---------------------------------------------------------------------------------

def test_test_page_shows_every_vietnamese_letter_and_the_plan(serial):
    chosen = plan(serial)
    page = page_facts("Trung tâm Hà Tĩnh", "K1", serial, chosen)
    assert page.test_page and page.number == "0000" and page.url == ""
    text = nfc(" ".join([page.procedure, page.field_name, *page.counters]))
    for letter in VIETNAMESE_LETTERS:
        assert letter in text, letter
    decomposed = unicodedata.normalize("NFD", page.procedure)
    for tone in TONES:
        assert tone in decomposed, repr(tone)
    assert "K1" in page.field_name and serial.describe() in page.field_name
    assert page.counters == []  # the plan is not a counter: no "Mời đến:" before it
    assert str(serial.width) in page.field_name
    assert chosen.mode in page.field_name and chosen.qr in page.field_name


def test_test_page_prints_in_the_planned_mode(serial):
    chosen = plan(serial)
    page = page_facts("Trung tâm", "K1", serial, chosen)
    job = encode(page, TicketLayout(), serial, chosen)
    assert job.mode == chosen.mode == "text"
    receipt = decode(job.data, serial.profile)
    assert receipt.unknown == []
    # Lines wrap at the paper's columns: compare the words in order.
    assert " ".join(nfc(page.procedure).split()) in " ".join(receipt.text.split())
