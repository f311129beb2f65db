"""What a ticket says and how it looks: its facts, the hall's layout settings, the raster image.

Tickets are drawn with Pillow in a font with complete Vietnamese coverage, so any ESC/POS
printer prints them right whatever code pages it has; the text mode (encode.py) reuses the
same lines for printers on slow serial links.
"""

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import segno
from msgspec import Struct
from PIL import Image, ImageDraw, ImageFont

from hall import words
from hall.errors import InvalidInput

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu",
             "/usr/local/share/fonts")
REGULAR, BOLD = "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"


# The ticket texts that take a value, and the placeholder each one fills.
PLACEHOLDERS = {"counters_label": "counters", "ahead_label": "ahead", "wait_label": "minutes",
                "priority_label": "reason"}


class TicketLayout(Struct, kw_only=True, forbid_unknown_fields=True):
    """The printed texts and what to show: settings of the hall ([ticket] in the TOML)."""

    title: str = "SỐ THỨ TỰ"
    footer: str = "Quý khách vui lòng chờ đến lượt. Xin cảm ơn!"
    counters_label: str = "Mời đến: {counters}"
    ahead_label: str = "Số người chờ trước: {ahead}"
    wait_label: str = "Thời gian chờ dự kiến: khoảng {minutes} phút"
    soon_label: str = "Sắp đến lượt, xin mời chú ý loa gọi số"
    unknown_label: str = "Thời gian chờ dự kiến: chưa ước tính được"
    closing_label: str = "Có thể đến lượt sau giờ đóng cửa"
    priority_label: str = "ƯU TIÊN: {reason}"
    qr_label: str = "Quét mã để xem lượt của bạn"
    show_field: bool = True
    show_counters: bool = True
    show_wait: bool = True
    show_qr: bool = True
    font_dir: str = ""

    def __post_init__(self):
        """Texts in composed form (decomposed accents draw as loose marks in most fonts); each
        label may use only its own placeholder (a stray one would fail at print time)."""
        for name in self.__struct_fields__:
            if isinstance(value := getattr(self, name), str):
                setattr(self, name, nfc(value))
        for name, placeholder in PLACEHOLDERS.items():
            try:
                getattr(self, name).format(**{placeholder: ""})
            except (KeyError, IndexError, ValueError):
                raise InvalidInput("câu này chỉ dùng được {%(placeholder)s}; muốn viết dấu"
                                   " ngoặc nhọn thì gõ hai lần: {{ }}.", field=name,
                                   placeholder=placeholder) from None


@dataclass
class TicketFacts:
    """Everything printed on one ticket, already in words."""

    hall_name: str
    number: str
    procedure: str = ""
    field_name: str = ""
    counters: list[str] = field(default_factory=list)
    waiting_ahead: int | None = None
    eta_minutes: int | None = None
    eta_range: list[int] | None = None  # [low, high] minutes; None: not estimated
    eta_after_closing: bool = False
    priority: str | None = None  # the reason in words ("Người cao tuổi")
    issued: datetime | None = None
    url: str = ""
    hall_unit: str = ""
    test_page: bool = False

    @classmethod
    def from_sheet(cls, sheet: dict, hall_name: str, hall_unit: str, url: str,
                   issued: datetime | None,
                   say: Callable[[str], str] = str) -> "TicketFacts":
        """Facts from a ticket sheet of the core (``Printing.sheet``); ``say`` translates the
        hall's shared words (the priority) into the paper's language (as written, Vietnamese,
        when not given)."""
        priority = sheet.get("priority")
        return cls(hall_name=hall_name, hall_unit=hall_unit, number=sheet["number"],
                   procedure=(sheet.get("procedure") or {}).get("name", ""),
                   field_name=sheet.get("field") or "", counters=sheet.get("counters") or [],
                   waiting_ahead=sheet.get("waiting_ahead"), eta_minutes=sheet.get("eta_minutes"),
                   eta_range=sheet.get("eta_range"),
                   eta_after_closing=bool(sheet.get("eta_after_closing")),
                   priority=say(words.PRIORITY.get(priority, priority)) if priority else None,
                   issued=issued, url=url)


def nfc(text: str) -> str:
    """Text in composed form: decomposed accents draw as loose marks in most fonts."""
    return unicodedata.normalize("NFC", text or "")


@dataclass
class Block:
    """One paragraph of the ticket: its text, size in dots at 576 wide, and weight."""

    text: str
    size: int
    bold: bool = False
    gap: int = 6


def blocks(facts: TicketFacts, layout: TicketLayout) -> tuple[list[Block], list[Block]]:
    """The paragraphs above the QR code and below it, in order."""
    top = [Block(facts.hall_name, 26, True, 2)]
    if facts.hall_unit:
        top.append(Block(facts.hall_unit, 22, False, 2))
    top.append(Block(layout.title, 34, True, 0))
    top.append(Block(facts.number, 0, True, 4))  # size 0: as large as the width allows
    if facts.priority:
        top.append(Block(layout.priority_label.format(reason=facts.priority), 28, True))
    if facts.procedure:
        top.append(Block(facts.procedure, 26, True))
    if layout.show_field and facts.field_name:
        top.append(Block(facts.field_name, 22))
    if layout.show_counters and facts.counters:
        top.append(Block(layout.counters_label.format(counters=", ".join(facts.counters)), 26))
    if layout.show_wait and facts.waiting_ahead is not None:
        top.append(Block(layout.ahead_label.format(ahead=facts.waiting_ahead), 24))
        top.extend(Block(text, 24) for text in wait_lines(facts, layout))
    if facts.issued is not None:
        top.append(Block(facts.issued.strftime("%H:%M  %d/%m/%Y"), 22))
    bottom = []
    if layout.show_qr and facts.url:
        bottom.append(Block(layout.qr_label, 20))
    if layout.footer:
        bottom.append(Block(layout.footer, 20))
    return top, bottom


def wait_lines(facts: TicketFacts, layout: TicketLayout) -> list[str]:
    """The printed words of the expected wait, as every screen says it (templates/wait.html):
    soon, a range of minutes ("15-20": a plain hyphen every code page has), or not estimated;
    and whether it may come after closing time."""
    if facts.eta_minutes == 0:
        lines = [layout.soon_label]
    elif facts.eta_minutes is None:
        lines = [layout.unknown_label]
    else:
        low, high = facts.eta_range or (facts.eta_minutes, facts.eta_minutes)
        lines = [layout.wait_label.format(minutes=low if low == high else f"{low}-{high}")]
    if facts.eta_after_closing:
        lines.append(layout.closing_label)
    return [line for line in lines if line]


@lru_cache(maxsize=64)
def font(size: int, bold: bool, font_dir: str = "") -> ImageFont.FreeTypeFont:
    """DejaVu Sans (installed by the setup) at ``size`` dots."""
    name = BOLD if bold else REGULAR
    for folder in ((font_dir,) if font_dir else ()) + FONT_DIRS:
        path = Path(folder) / name
        if path.exists():
            return ImageFont.truetype(str(path), size)
    searched = ", ".join(((font_dir,) if font_dir else ()) + FONT_DIRS)
    raise FileNotFoundError(
        f"{name} not found in {searched}: install fonts-dejavu-core (scripts/setup)")


def wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` dots, at spaces where possible."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            trial = f"{line} {word}" if line else word
            if face.getlength(trial) <= width:
                line = trial
                continue
            if line:
                lines.append(line)
            # A word wider than the paper (a long code): cut it by characters.
            while face.getlength(word) > width and len(word) > 1:
                cut = len(word)
                while cut > 1 and face.getlength(word[:cut]) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


def _draw_blocks(items: list[Block], width: int, font_dir: str) -> Image.Image:
    margin = max(8, width // 48)
    inner = width - 2 * margin
    scale = width / 576
    rows: list[tuple[ImageFont.FreeTypeFont, str, int]] = []
    for block in items:
        if block.size == 0:
            # The number: the largest size that fits the width, at most about 200 dots tall.
            size = int(200 * scale)
            face = font(size, True, font_dir)
            while face.getlength(block.text) > inner and size > 24:
                size -= 8
                face = font(size, True, font_dir)
            rows.append((face, block.text, int(block.gap * scale)))
            continue
        face = font(max(12, int(block.size * scale)), block.bold, font_dir)
        lines = wrap(block.text, face, inner)
        for i, line in enumerate(lines):
            rows.append((face, line, int(block.gap * scale) if i == len(lines) - 1 else 0))
    height = margin
    metrics = []
    for face, text, gap in rows:
        left, top, right, bottom = face.getbbox(text or " ", anchor="ls")
        ascent, descent = face.getmetrics()
        metrics.append((ascent, descent))
        height += ascent + descent + gap
    height += margin // 2
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    y = margin
    for (face, text, gap), (ascent, descent) in zip(rows, metrics, strict=True):
        draw.text((width // 2, y + ascent), text, font=face, fill=0, anchor="ms")
        y += ascent + descent + gap
    return image


def qr_image(url: str, width: int) -> Image.Image:
    """The QR code of ``url`` as black modules on white, about 40 % of the paper wide."""
    code = segno.make(url, error="m")
    modules = code.symbol_size(scale=1, border=0)[0]
    scale = max(3, int(width * 0.4) // modules)
    size = modules * scale
    image = Image.new("L", (width, size + 2 * scale), 255)
    draw = ImageDraw.Draw(image)
    left = (width - size) // 2
    for row, line in enumerate(code.matrix):
        for col, dark in enumerate(line):
            if dark:
                x, y = left + col * scale, scale + row * scale
                draw.rectangle((x, y, x + scale - 1, y + scale - 1), fill=0)
    return image


@dataclass
class Drawing:
    """A ticket drawn for one paper width: the part above the QR, the QR, the part below."""

    top: Image.Image
    qr: Image.Image | None
    bottom: Image.Image | None
    url: str

    def preview(self) -> Image.Image:
        """The whole ticket as one image (what the paper shows)."""
        parts = [p for p in (self.top, self.qr, self.bottom) if p is not None]
        height = sum(p.height for p in parts)
        sheet = Image.new("L", (self.top.width, height), 255)
        y = 0
        for part in parts:
            sheet.paste(part, (0, y))
            y += part.height
        return sheet.convert("1", dither=Image.Dither.NONE)


def draw(facts: TicketFacts, layout: TicketLayout, width: int = 576) -> Drawing:
    """Draw the ticket at ``width`` dots; the facts' text normalised to NFC first (a layout's
    is when it is made)."""
    facts = _normalised(facts)
    top, bottom = blocks(facts, layout)
    return Drawing(
        top=_draw_blocks(top, width, layout.font_dir),
        qr=qr_image(facts.url, width) if layout.show_qr and facts.url else None,
        bottom=_draw_blocks(bottom, width, layout.font_dir) if bottom else None,
        url=facts.url)


def _normalised(obj):
    changes = {f.name: nfc(getattr(obj, f.name)) for f in fields(obj)
               if isinstance(getattr(obj, f.name), str)}
    if isinstance(getattr(obj, "counters", None), list):
        changes["counters"] = [nfc(c) for c in obj.counters]
    return type(obj)(**{**{f.name: getattr(obj, f.name) for f in fields(obj)}, **changes})


def mono(image: Image.Image) -> Image.Image:
    """A 1-bit copy (black text stays black, no dithering noise around letters)."""
    return image.convert("1", dither=Image.Dither.NONE)
