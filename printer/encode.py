"""A drawn ticket turned into ESC/POS bytes: raster (any printer) or text (Vietnamese code page).

Bytes are built with python-escpos's ``Dummy`` printer for the configured capability profile,
then handed to the real connection in one write.
"""

import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image

from .connection import PrinterConfig
from .layout import Drawing, TicketFacts, TicketLayout, blocks, draw, mono, nfc

if TYPE_CHECKING:  # python-escpos takes 0.15 s to import: a hall pays it at its first ticket
    from escpos.printer import Dummy

# A raster ticket is ~43 KB; beyond this many seconds on the link, text mode is worth it.
SLOW_LINK_SECONDS = 3.0
RASTER_BYTES_576 = 43_000
VIETNAMESE_PAGES = ("TCVN-3-1", "TCVN-3-2")


@dataclass(frozen=True)
class Plan:
    """How a printer prints tickets, and why (shown to staff on the admin page)."""

    mode: str  # raster or text
    qr: str  # native or image
    reason: str


def _profile(name: str) -> "Dummy":
    from escpos.printer import Dummy

    return Dummy(profile=name)


def profile_supports(profile: str) -> tuple[bool, bool]:
    """(native QR command, a Vietnamese code page) for a python-escpos profile."""
    caps = _profile(profile).profile
    pages = set(caps.get_code_pages())
    return bool(caps.supports("qrCode")), bool(pages & set(VIETNAMESE_PAGES))


def plan(config: PrinterConfig) -> Plan:
    """Pick raster or text and native or image QR from the connection and the profile."""
    native_qr, vietnamese = profile_supports(config.profile)
    if config.qr == "auto":
        qr = "native" if native_qr else "image"
        qr_why = (f"hồ sơ {config.profile} có lệnh QR" if native_qr
                  else f"hồ sơ {config.profile} không có lệnh QR: in QR dạng ảnh")
    else:
        qr, qr_why = config.qr, f"qr = {config.qr} theo cấu hình"
    if config.mode != "auto":
        return Plan(config.mode, qr, f"mode = {config.mode} theo cấu hình; {qr_why}")
    seconds = RASTER_BYTES_576 * (config.width / 576) * config.seconds_per_byte()
    if seconds <= SLOW_LINK_SECONDS:
        why = ("in ảnh: đủ tiếng Việt trên mọi máy in" if not seconds else
               f"in ảnh: {seconds:.1f} s mỗi vé ở {config.baudrate} baud")
        return Plan("raster", qr, f"{why}; {qr_why}")
    if vietnamese:
        return Plan("text", qr, f"in chữ: ảnh mất ~{seconds:.0f} s mỗi vé ở {config.baudrate}"
                                f" baud, hồ sơ {config.profile} có bảng mã TCVN-3; {qr_why}")
    return Plan("raster", qr, f"in ảnh dù chậm (~{seconds:.0f} s mỗi vé): hồ sơ"
                              f" {config.profile} không có bảng mã tiếng Việt; {qr_why}")


@dataclass
class PrintJob:
    """Bytes for the printer, with the picture of the paper for previews and tests."""

    data: bytes
    preview: Image.Image
    mode: str
    name: str


def encode(facts: TicketFacts, layout: TicketLayout, config: PrinterConfig,
           chosen: Plan | None = None) -> PrintJob:
    """The ESC/POS bytes of one ticket for this printer."""
    chosen = chosen or plan(config)
    drawing = draw(facts, layout, config.width)
    if chosen.mode == "text" and encodable(facts, layout, config.profile):
        data = _text_bytes(facts, layout, config, chosen, drawing)
        mode = "text"
    else:
        data = _raster_bytes(config, chosen, drawing)
        mode = "raster"
    return PrintJob(data, drawing.preview(), mode, facts.number)


def _raster_bytes(config: PrinterConfig, chosen: Plan, drawing: Drawing) -> bytes:
    out = _profile(config.profile)
    out.hw("INIT")
    out.image(mono(drawing.top), impl="bitImageRaster", center=False)
    _qr(out, config, chosen, drawing)
    if drawing.bottom is not None:
        out.image(mono(drawing.bottom), impl="bitImageRaster", center=False)
    out.cut()
    return out.output


def _qr(out: "Dummy", config: PrinterConfig, chosen: Plan, drawing: Drawing) -> None:
    if drawing.qr is None:
        return
    if chosen.qr == "native":
        modules = _qr_modules(drawing.url)
        size = max(3, min(16, int(config.width * 0.4) // modules))
        out.set(align="center")
        out.qr(drawing.url, native=True, size=size, ec=1)  # ec 1 = M, as in the drawing
        out.set(align="left")
    else:
        out.image(mono(drawing.qr), impl="bitImageRaster", center=False)


def _qr_modules(url: str) -> int:
    import segno

    return segno.make(url, error="m").symbol_size(scale=1, border=0)[0]


def encodable(facts: TicketFacts, layout: TicketLayout, profile: str) -> bool:
    """Whether the profile's code pages hold every character of the ticket's text."""
    top, bottom = blocks(facts, layout)
    encoder = _profile(profile).magic.encoder
    text = "".join(nfc(b.text) for b in top + bottom)
    return all(ch.isascii() or encoder.find_suitable_encoding(ch) for ch in set(text))


def _text_bytes(facts: TicketFacts, layout: TicketLayout, config: PrinterConfig, chosen: Plan,
                drawing: Drawing) -> bytes:
    out = _profile(config.profile)
    columns = config.width // 12  # font A is 12 dots wide
    top, bottom = blocks(facts, layout)
    out.hw("INIT")
    out.set(align="center")
    for block in top:
        text = nfc(block.text)
        if block.size == 0:  # the number: as wide as the paper allows, up to 6x
            scale = max(1, min(6, columns // max(1, len(text))))
            out.set(align="center", bold=True, custom_size=True, width=scale, height=scale)
            out.text(text + "\n")
            out.set(normal_textsize=True, bold=False)
            continue
        big = block.size >= 30
        out.set(align="center", bold=block.bold, double_height=big, double_width=big,
                normal_textsize=not big)
        for line in textwrap.wrap(text, columns // (2 if big else 1)) or [""]:
            out.text(line + "\n")
        out.set(normal_textsize=True, bold=False)
    _qr(out, config, chosen, drawing)
    out.set(align="center")
    for block in bottom:
        for line in textwrap.wrap(nfc(block.text), columns) or [""]:
            out.text(line + "\n")
    out.cut()
    return out.output


def test_facts(hall_name: str, printer_name: str, config: PrinterConfig,
               chosen: Plan) -> TicketFacts:
    """A test page: every Vietnamese letter, the plan and where the printer is."""
    return TicketFacts(
        hall_name=hall_name, number="0000",
        procedure="Trang in thử — ăâđêôơư ĂÂĐÊÔƠƯ àảãáạ ằẳẵắặ ầẩẫấậ èẻẽéẹ ềểễếệ ìỉĩíị òỏõóọ"
                  " ồổỗốộ ờởỡớợ ùủũúụ ừửữứự ỳỷỹýỵ",
        field_name=f"{printer_name}: {config.describe()} · {config.width} chấm,"
                   f" {chosen.mode}, QR {chosen.qr}",
        priority=None, test_page=True)


__all__ = ["Plan", "PrintJob", "encode", "plan", "test_facts"]
