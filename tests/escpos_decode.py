"""A small ESC/POS decoder for tests: printer bytes back into text, images, QR codes and cuts."""

from __future__ import annotations

import contextlib
import unicodedata
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache

from escpos.capabilities import CAPABILITIES, BaseProfile, get_profile
from PIL import Image, ImageOps

__all__ = [
    "Align", "Barcode", "Bold", "CodePage", "Command", "Cut", "DecodeError", "Feed", "Font",
    "Init", "LineSpacing", "QR", "Raster", "Receipt", "Size", "StatusQuery", "Style", "Text",
    "Underline", "Unknown", "codepage_table", "command_length", "command_name", "decode",
    "image_equal", "is_cut", "stack_images", "to_mono",
]

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
EOT, ENQ, DC4, NUL = 0x04, 0x05, 0x14, 0x00
PREFIXES = frozenset((ESC, GS, FS, DLE))
# Bytes that belong to a run of text: printable ASCII, the upper half (code page) and the
# layout controls HT, LF and CR, which print/move exactly like text does.
TEXT_BYTES = frozenset([*range(0x20, 0x7F), *range(0x80, 0x100), 0x09, 0x0A, 0x0D])
# Glyph fixes on top of python-escpos' tables: its TCVN-3-2 (Vietnamese capitals) has U+00D0
# (Icelandic eth) where TCVN3 and the printer have U+0110 (Vietnamese D with stroke); the two
# capitals look the same, and a receipt for a Vietnamese hall means Đ.
GLYPH_FIXES = {"TCVN-3-2": {"\u00d0": "\u0110"}}
ALIGN_NAMES = ("left", "center", "right")
EC_LEVELS = "LMQH"
BARCODE_KINDS = {
    0: "UPC-A", 1: "UPC-E", 2: "EAN13", 3: "EAN8", 4: "CODE39", 5: "ITF", 6: "CODABAR",
    65: "UPC-A", 66: "UPC-E", 67: "EAN13", 68: "EAN8", 69: "CODE39", 70: "ITF", 71: "CODABAR",
    72: "CODE93", 73: "CODE128", 74: "GS1-128", 75: "GS1 DATABAR OMNIDIRECTIONAL",
    76: "GS1 DATABAR TRUNCATED", 77: "GS1 DATABAR LIMITED", 78: "GS1 DATABAR EXPANDED",
}


class DecodeError(ValueError):
    """The data ends in the middle of a command (``offset`` is where that command starts)."""

    def __init__(self, offset: int, reason: str):
        super().__init__(f"at offset {offset}: {reason}")
        self.offset = offset
        self.reason = reason


# -- operations --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Style:
    """The character modes in effect when a piece of text was printed."""

    align: int = 0  # 0 left, 1 center, 2 right
    bold: bool = False
    underline: int = 0  # 0 off, 1 or 2 dots
    width: int = 1  # character width multiplier (1-8)
    height: int = 1  # character height multiplier (1-8)
    font: int = 0
    invert: bool = False  # white on black (GS B)
    upside_down: bool = False  # ESC {

    @property
    def align_name(self) -> str:
        return ALIGN_NAMES[self.align] if 0 <= self.align < 3 else str(self.align)

    def __repr__(self) -> str:  # only what differs from the defaults, to keep diffs short
        changed = [f"{f.name}={getattr(self, f.name)!r}" for f in fields(self)
                   if getattr(self, f.name) != f.default]
        return f"Style({', '.join(changed)})"


@dataclass(frozen=True)
class Init:
    """ESC @: clear the buffer and reset every mode (also the code page, to 0)."""


@dataclass(frozen=True)
class CodePage:
    """ESC t n: select character code table n (``encoding`` is its name in the profile)."""

    n: int
    encoding: str | None = None


@dataclass(frozen=True)
class Text:
    """A run of text bytes (LF, CR and HT included) decoded with code page ``codepage``.

    ``style`` (not compared) is the character style in effect.
    """

    text: str
    codepage: int = 0
    style: Style = field(default_factory=Style, compare=False)


@dataclass(frozen=True)
class Feed:
    """ESC d n (``lines``), ESC e n (negative ``lines``) or ESC J n (``dots``): print and feed."""

    lines: int = 0
    dots: int = 0


@dataclass(frozen=True)
class Align:
    """ESC a n: 0 left, 1 center, 2 right."""

    n: int

    @property
    def name(self) -> str:
        return ALIGN_NAMES[self.n] if 0 <= self.n < 3 else str(self.n)


@dataclass(frozen=True)
class Bold:
    """ESC E n: emphasised on or off."""

    on: bool


@dataclass(frozen=True)
class Underline:
    """ESC - n: 0 off, 1 one dot, 2 two dots."""

    n: int


@dataclass(frozen=True)
class Size:
    """GS ! n or ESC ! n: character width and height multipliers.

    ESC ! also sets bold, underline and font; those land in the ``Style`` of later text.
    """

    width: int = 1
    height: int = 1


@dataclass(frozen=True)
class Font:
    """ESC M n: 0 font A, 1 font B, 2 font C."""

    n: int


@dataclass(frozen=True)
class LineSpacing:
    """ESC 3 n (1/180 inch), ESC + n (1/360), ESC A n (1/60); ESC 2 (default) has ``dots`` None."""

    dots: int | None = None
    divisor: int = 180


@dataclass(frozen=True)
class Raster:
    """A printed bit image.

    ``image`` is a mode "1" PIL image at printer-dot resolution (black pixels are 0); ``scale``
    is the (x, y) magnification the command asked for; ``source`` names the command: "GS v 0",
    "GS ( L", "GS 8 L" or "ESC *" (one band of a column-format image).
    """

    width_px: int
    height_px: int
    image: Image.Image = field(repr=False)
    source: str = "GS v 0"
    scale: tuple[int, int] = (1, 1)

    def black_pixels(self) -> int:
        """How many dots are black."""
        return self.image.histogram()[0]

    def rows(self) -> list[str]:
        """The image as text, one string per dot row: "#" black, "." white."""
        w, h = self.image.size
        px = self.image.load()
        return ["".join("#" if px[x, y] == 0 else "." for x in range(w)) for y in range(h)]


@dataclass(frozen=True)
class QR:
    """A QR code printed with GS ( k (cn 49): ``data`` is the stored bytes read as UTF-8.

    ``model`` 1, 2 or 3 (micro), ``size`` is the module size in dots, ``ec`` one of "LMQH".
    """

    data: str
    model: int = 2
    size: int = 3
    ec: str = "L"
    raw: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class Barcode:
    """GS k: a 1D barcode of ``kind`` (python-escpos' names) holding ``data``."""

    kind: str
    data: str
    function: str = "B"  # "A" (NUL-terminated) or "B" (length-prefixed)


@dataclass(frozen=True)
class Cut:
    """GS V (every form), ESC i or ESC m; ``feed`` is the n of GS V m n (motion units)."""

    partial: bool = False
    feed: int = 0


@dataclass(frozen=True)
class StatusQuery:
    """DLE EOT n (real-time status), or GS r n when ``command`` is "GS r"."""

    n: int
    command: str = "DLE EOT"


@dataclass(frozen=True)
class Command:
    """A recognised command the decoder does not model further (``args`` are its parameters)."""

    name: str
    args: bytes = b""


@dataclass(frozen=True)
class Unknown:
    """Bytes that are no known command (``reason`` "unrecognised") or a cut-off command."""

    offset: int
    data: bytes
    reason: str = "unrecognised"


def _ends_line(op) -> bool:
    """Whether ``op`` prints the pending line (a forward feed or a cut)."""
    return isinstance(op, Cut) or (isinstance(op, Feed) and (op.lines > 0 or op.dots > 0))


@dataclass
class Receipt:
    """The decoded operations, in order, with views for assertions."""

    ops: list = field(default_factory=list)
    profile: str = "default"

    def ops_of(self, *types) -> list:
        """The operations of the given types, in order."""
        return [op for op in self.ops if isinstance(op, types)]

    def _segments(self) -> list[tuple[str, Style | None]]:
        """Printed text as (text, style) pieces; a feed or cut ends a pending line with "\\n"."""
        segs: list[tuple[str, Style | None]] = []
        pending = False  # text printed since the last line end
        for op in self.ops:
            if isinstance(op, Text) and op.text:
                segs.append((unicodedata.normalize("NFC", op.text), op.style))
                pending = not op.text.endswith("\n")
            elif pending and _ends_line(op):
                segs.append(("\n", None))
                pending = False
        return segs

    @property
    def text(self) -> str:
        """All printed text, NFC-normalised; feeds and cuts end an unfinished line."""
        return unicodedata.normalize("NFC", "".join(s for s, _ in self._segments()))

    @property
    def lines(self) -> list[str]:
        """``text`` split into lines, each stripped of trailing spaces."""
        return [line.rstrip() for line in self.text.splitlines()]

    def style_of(self, substring: str) -> Style:
        """The style the first character of ``substring`` was printed in."""
        needle = unicodedata.normalize("NFC", substring)
        pos = 0
        segs = self._segments()
        joined = "".join(s for s, _ in segs)
        at = joined.find(needle)
        if at < 0 or not needle:
            raise ValueError(f"{substring!r} was not printed; text is {joined!r}")
        for s, style in segs:
            if pos <= at < pos + len(s):
                return style if style is not None else Style()
            pos += len(s)
        raise AssertionError("unreachable")

    @property
    def rasters(self) -> list[Raster]:
        return self.ops_of(Raster)

    @property
    def images(self) -> list[Image.Image]:
        """Every printed bit image (mode "1", black pixels 0), in order."""
        return [r.image for r in self.rasters]

    @property
    def qr_codes(self) -> list[QR]:
        return self.ops_of(QR)

    @property
    def barcodes(self) -> list[Barcode]:
        return self.ops_of(Barcode)

    @property
    def cuts(self) -> int:
        return len(self.ops_of(Cut))

    @property
    def codepages(self) -> list[int]:
        """Every ESC t n value, in order (repeats included)."""
        return [op.n for op in self.ops_of(CodePage)]

    @property
    def status_queries(self) -> list[int]:
        return [op.n for op in self.ops_of(StatusQuery)]

    @property
    def unknown(self) -> list[tuple[int, bytes]]:
        """(offset, bytes) of everything not understood; tests assert it is empty."""
        return [(op.offset, op.data) for op in self.ops_of(Unknown)]

    def jobs(self) -> list[Receipt]:
        """The receipts between cuts (each ends with its Cut; trailing uncut ops form the last)."""
        out: list[Receipt] = []
        current: list = []
        for op in self.ops:
            current.append(op)
            if isinstance(op, Cut):
                out.append(Receipt(current, self.profile))
                current = []
        if current:
            out.append(Receipt(current, self.profile))
        return out


# -- code pages --------------------------------------------------------------------------------

def _profile_name(profile: str | BaseProfile | None) -> str:
    if profile is None:
        return "default"
    if isinstance(profile, str):
        return profile
    return profile.profile_data.get("name", type(profile).__name__)


@lru_cache(maxsize=64)
def _codepage_names(profile: str) -> dict[int, str]:
    if profile not in CAPABILITIES["profiles"]:
        raise ValueError(f"unknown printer profile {profile!r}")
    return {int(n): name for n, name in get_profile(profile).codePages.items()}


def _profile_codepages(profile: str | BaseProfile | None) -> dict[int, str]:
    if profile is None or isinstance(profile, str):
        return _codepage_names(profile or "default")
    return {int(n): name for n, name in profile.codePages.items()}


@lru_cache(maxsize=128)
def codepage_table(encoding: str | None) -> tuple[str, ...]:
    """The 256 characters of a code page as python-escpos defines it ("\\ufffd" where undefined).

    The lower half is ASCII; the upper half comes from the encoding's ``python_encode`` codec or
    its ``data`` rows in python-escpos' capabilities.json (a space there means "no character").
    """
    table = [chr(b) for b in range(128)] + ["\ufffd"] * 128
    spec = CAPABILITIES["encodings"].get(encoding or "", {})
    if "data" in spec:
        upper = "".join(spec["data"])
        for i, ch in enumerate(upper[:128]):
            if ch != " ":
                table[128 + i] = ch
    elif "python_encode" in spec:
        for b in range(128, 256):
            with contextlib.suppress(UnicodeDecodeError, LookupError):
                table[b] = bytes([b]).decode(spec["python_encode"])
    fixes = GLYPH_FIXES.get(encoding or "", {})
    return tuple(fixes.get(ch, ch) for ch in table)


# -- command lengths ---------------------------------------------------------------------------

CUT_B = (65, 66, 97, 98, 103, 104)  # GS V m n forms: feed n, then cut (B), preset (C), cut (D)

def _u16(buf, at: int) -> int:
    return buf[at] | buf[at + 1] << 8


def _nul_terminated(buf, i: int, start: int, limit: int) -> int | None:
    """Length up to and including the first NUL at or after ``start`` (at most ``limit`` data)."""
    end = min(len(buf), start + limit + 1)
    for j in range(start, end):
        if buf[j] == NUL:
            return j - i + 1
    if len(buf) >= start + limit + 1:
        return start - i  # no terminator where one must be: the header alone (malformed)
    return None


def _esc_star(buf, i):
    if len(buf) < i + 5:
        return None
    per_column = 3 if buf[i + 2] in (32, 33) else 1
    return 5 + _u16(buf, i + 3) * per_column


def _length_prefixed(buf, i):  # ESC ( x, GS ( x, FS ( x: pL pH then that many bytes
    return None if len(buf) < i + 5 else 5 + _u16(buf, i + 3)


def _gs_v(buf, i):  # GS V m, or GS V m n for m 65, 66, 97, 98, 103, 104
    if len(buf) < i + 3:
        return None
    return 3 if buf[i + 2] in (0, 1, 48, 49) or buf[i + 2] not in CUT_B else 4


def _gs_v0(buf, i):  # GS v 0 m xL xH yL yH d1...dk, k = (xL + xH*256) * (yL + yH*256)
    if len(buf) < i + 3:
        return None
    if buf[i + 2] != 0x30:
        return 2
    if len(buf) < i + 8:
        return None
    return 8 + _u16(buf, i + 4) * _u16(buf, i + 6)


def _gs_8(buf, i):  # GS 8 L p1 p2 p3 p4 then that many bytes
    if len(buf) < i + 3:
        return None
    if buf[i + 2] != ord("L"):
        return 2
    if len(buf) < i + 7:
        return None
    return 7 + int.from_bytes(bytes(buf[i + 3:i + 7]), "little")


def _gs_k(buf, i):  # GS k m d1...dk NUL (m 0-6) or GS k m n d1...dn (m 65-78)
    if len(buf) < i + 3:
        return None
    m = buf[i + 2]
    if m <= 6:
        return _nul_terminated(buf, i, i + 3, 255)
    if 65 <= m <= 78:
        return None if len(buf) < i + 4 else 4 + buf[i + 3]
    return 3


def _gs_star(buf, i):  # GS * x y d1...d(x*y*8)
    return None if len(buf) < i + 4 else 4 + buf[i + 2] * buf[i + 3] * 8


def _esc_d_tabs(buf, i):  # ESC D n1...nk NUL, k <= 32
    return _nul_terminated(buf, i, i + 2, 32)


def _dle_eot(buf, i):  # DLE EOT n (n 7 and 8 take one more byte)
    if len(buf) < i + 3:
        return None
    return 4 if buf[i + 2] in (7, 8) else 3


def _dle_dc4(buf, i):
    if len(buf) < i + 3:
        return None
    return {1: 5, 2: 5, 3: 8, 7: 4, 8: 10}.get(buf[i + 2], 3)


# (prefix, second byte) -> (name, length or a function of (buf, i) giving it, None = need more)
COMMANDS: dict[tuple[int, int], tuple[str, object]] = {}


def _define(prefix: int, table: dict[str, tuple[str, object]]) -> None:
    for key, spec in table.items():
        COMMANDS[(prefix, ord(key) if isinstance(key, str) else key)] = spec


_define(ESC, {
    "@": ("init", 2), "t": ("code page", 3), "a": ("align", 3), "E": ("bold", 3),
    "-": ("underline", 3), "!": ("print mode", 3), "M": ("font", 3), "d": ("feed lines", 3),
    "J": ("feed dots", 3), "e": ("reverse feed lines", 3), "3": ("line spacing", 3),
    "2": ("default line spacing", 2), "+": ("line spacing 1/360", 3),
    "A": ("line spacing 1/60", 3), "G": ("double strike", 3), "{": ("upside down", 3),
    "r": ("color", 3), "R": ("international charset", 3), "V": ("rotate 90", 3),
    " ": ("right side spacing", 3), "=": ("select peripheral", 3), "U": ("unidirectional", 3),
    "T": ("page mode direction", 3), "%": ("user-defined charset", 3),
    "?": ("cancel user-defined char", 3), "K": ("slip eject", 3), "u": ("peripheral status", 3),
    "v": ("paper sensor status", 2), "$": ("absolute position", 4),
    "\\": ("relative position", 4), "B": ("buzzer", 4), "f": ("slip wait time", 4),
    "p": ("drawer pulse", 5), "c": ("panel and sensors", 4), "i": ("partial cut", 2),
    "m": ("partial cut", 2), "S": ("standard mode", 2), "L": ("page mode", 2),
    "W": ("page mode area", 10), "<": ("return home", 2), "D": ("tab positions", _esc_d_tabs),
    "*": ("column bit image", _esc_star), "(": ("extended ESC (", _length_prefixed),
})
_define(GS, {
    "!": ("size", 3), "V": ("cut", _gs_v), "v": ("raster bit image", _gs_v0),
    "(": ("extended GS (", _length_prefixed), "8": ("extended GS 8", _gs_8),
    "k": ("barcode", _gs_k), "H": ("barcode text position", 3), "f": ("barcode font", 3),
    "h": ("barcode height", 3), "w": ("barcode width", 3), "B": ("invert", 3),
    "b": ("smoothing", 3), "|": ("density", 3), "a": ("automatic status back", 3),
    "r": ("transmit status", 3), "I": ("printer id", 3), "/": ("print downloaded image", 3),
    "E": ("head control", 3), "T": ("line start", 3), "L": ("left margin", 4),
    "W": ("print area width", 4), "P": ("motion units", 4), "$": ("page mode position", 4),
    "\\": ("page mode relative position", 4), ":": ("macro", 2),
    "*": ("define downloaded image", _gs_star),
})
_define(FS, {
    ".": ("kanji mode off", 2), "&": ("kanji mode on", 2), "C": ("kanji code system", 3),
    "!": ("kanji print mode", 3), "-": ("kanji underline", 3), "W": ("kanji quadruple", 3),
    "S": ("kanji spacing", 4), "p": ("print NV bit image", 4),
    "(": ("extended FS (", _length_prefixed),
})
_define(DLE, {
    EOT: ("real-time status", _dle_eot), ENQ: ("real-time request", 3),
    DC4: ("real-time command", _dle_dc4),
})
SINGLE_CONTROLS = {0x07: "beep", 0x0B: "vertical tab", 0x0C: "form feed", 0x18: "cancel page"}


def command_length(buf: bytes | bytearray, i: int = 0) -> int | None:
    """Length of the element starting at ``buf[i]``, or None if more bytes are needed to tell.

    1 for a text byte or a lone control byte; for a command, its whole length including any
    payload the header announces (even if ``buf`` does not hold all of it yet); 2 for an
    unrecognised ESC/GS/FS/DLE x. Shared with the fake printers, which parse incrementally.
    """
    b = buf[i]
    if b not in PREFIXES:
        return 1
    if len(buf) < i + 2:
        return None
    spec = COMMANDS.get((b, buf[i + 1]))
    if spec is None:
        return 2
    length = spec[1]
    return length if isinstance(length, int) else length(buf, i)


def command_name(buf: bytes | bytearray, i: int = 0) -> str | None:
    """The name of the (recognised) command starting at ``buf[i]``, else None."""
    if buf[i] in SINGLE_CONTROLS:
        return SINGLE_CONTROLS[buf[i]]
    if buf[i] not in PREFIXES or len(buf) < i + 2:
        return None
    spec = COMMANDS.get((buf[i], buf[i + 1]))
    return spec[0] if spec else None


def is_cut(cmd: bytes | bytearray) -> bool:
    """Whether the complete command ``cmd`` cuts the paper (a job ends there)."""
    if len(cmd) >= 2 and cmd[0] == ESC and cmd[1] in (ord("i"), ord("m")):
        return True
    if len(cmd) >= 3 and cmd[0] == GS and cmd[1] == ord("V"):
        m = cmd[2]
        return (m in (0, 1, 48, 49) and len(cmd) == 3) or (m in CUT_B and len(cmd) == 4)
    return False


# -- images ------------------------------------------------------------------------------------

def _raster_image(data: bytes, width_bytes: int, height: int, width_px: int) -> Image.Image:
    """Rows of bits, MSB first, 1 = black -> a mode "1" image where black is 0."""
    img = Image.frombytes("1", (width_bytes * 8, height), bytes(data), "raw", "1;I")
    if width_px < width_bytes * 8:
        img = img.crop((0, 0, width_px, height))
    return img


def _column_image(data: bytes, columns: int, dots: int) -> Image.Image:
    """ESC * data: one column after another, ``dots`` bits each, MSB at the top."""
    img = Image.frombytes("1", (dots, columns), bytes(data), "raw", "1;I")
    return img.transpose(Image.Transpose.TRANSPOSE)


def to_mono(img: Image.Image | Raster) -> Image.Image:
    """A mode "1" image (black 0), converted from any mode the way python-escpos does it.

    Transparency is laid on white, then grey levels are dithered to black and white.
    """
    if isinstance(img, Raster):
        return img.image
    if img.mode == "1":
        return img
    rgba = img.convert("RGBA")
    flat = Image.new("RGB", rgba.size, (255, 255, 255))
    flat.paste(rgba, mask=rgba.split()[3])
    dots = ImageOps.invert(flat.convert("L")).convert("1")  # dithered; 255 where a dot is black
    return ImageOps.invert(dots.convert("L")).convert("1")


def image_equal(a: Image.Image | Raster, b: Image.Image | Raster, *, padding: bool = True) -> bool:
    """Whether two images print the same dots (both converted to mode "1").

    With ``padding`` one may be wider or taller than the other if the extra right/bottom part
    is white: GS v 0 rounds the width up to a multiple of 8.
    """
    ma, mb = to_mono(a), to_mono(b)
    if ma.size != mb.size:
        if not padding:
            return False
        size = (max(ma.width, mb.width), max(ma.height, mb.height))
        ca, cb = Image.new("1", size, 1), Image.new("1", size, 1)
        ca.paste(ma, (0, 0))
        cb.paste(mb, (0, 0))
        ma, mb = ca, cb
    return ma.tobytes() == mb.tobytes()


def stack_images(images: list[Image.Image | Raster]) -> Image.Image:
    """Images (e.g. ESC * bands or fragments of a tall image) stacked top to bottom."""
    monos = [to_mono(i) for i in images]
    if not monos:
        raise ValueError("no images to stack")
    out = Image.new("1", (max(m.width for m in monos), sum(m.height for m in monos)), 1)
    y = 0
    for m in monos:
        out.paste(m, (0, y))
        y += m.height
    return out


# -- decoding ----------------------------------------------------------------------------------

def _norm(n: int) -> int:
    """Parameters given either as 0, 1, 2 or as the digits "0", "1", "2"."""
    return n - 48 if 48 <= n <= 57 else n


class _Decoder:
    def __init__(self, data: bytes, profile: str | BaseProfile | None, strict: bool):
        self.data = bytes(data)
        self.strict = strict
        self.pages = _profile_codepages(profile)
        self.receipt = Receipt(profile=_profile_name(profile))
        self.reset()

    def reset(self) -> None:
        self.codepage = 0
        self.style = Style()
        self.graphics: tuple[Image.Image, str, tuple[int, int]] | None = None
        self.qr = {"model": 2, "size": 3, "ec": "L", "data": None}

    def emit(self, op) -> None:
        self.receipt.ops.append(op)

    def restyle(self, **changes) -> None:
        self.style = replace(self.style, **changes)

    def unknown(self, offset: int, data: bytes, reason: str = "unrecognised") -> None:
        self.emit(Unknown(offset, bytes(data), reason))

    def run(self) -> Receipt:
        data, n, i = self.data, len(self.data), 0
        while i < n:
            if data[i] in TEXT_BYTES:
                j = i + 1
                while j < n and data[j] in TEXT_BYTES:
                    j += 1
                self.text(data[i:j])
                i = j
                continue
            length = command_length(data, i)
            if length is None or i + length > n:
                name = command_name(data, i) or "command"
                want = "more bytes" if length is None else f"{length} bytes"
                reason = f"truncated {name}: needs {want}, only {n - i} left"
                if self.strict:
                    raise DecodeError(i, reason)
                self.unknown(i, data[i:], "truncated")
                break
            self.command(i, data[i:i + length])
            i += length
        return self.receipt

    def text(self, raw: bytes) -> None:
        table = codepage_table(self.pages.get(self.codepage))
        self.emit(Text("".join(table[b] for b in raw), self.codepage, self.style))

    def command(self, offset: int, cmd: bytes) -> None:
        if len(cmd) == 1:
            name = SINGLE_CONTROLS.get(cmd[0])
            if name:
                self.emit(Command(name))
            else:
                self.unknown(offset, cmd)
            return
        spec = COMMANDS.get((cmd[0], cmd[1]))
        if spec is None:
            self.unknown(offset, cmd)
            return
        handler = HANDLERS.get(spec[0])
        if handler is None:
            self.emit(Command(spec[0], cmd[2:]))
        elif handler(self, cmd) is False:
            self.unknown(offset, cmd)

    # Handlers return False when the command is malformed (it then goes to ``unknown``).

    def h_init(self, cmd):
        self.reset()
        self.emit(Init())

    def h_codepage(self, cmd):
        self.codepage = cmd[2]
        self.emit(CodePage(cmd[2], self.pages.get(cmd[2])))

    def h_align(self, cmd):
        self.restyle(align=_norm(cmd[2]))
        self.emit(Align(_norm(cmd[2])))

    def h_bold(self, cmd):
        self.restyle(bold=bool(cmd[2] & 1))
        self.emit(Bold(bool(cmd[2] & 1)))

    def h_underline(self, cmd):
        self.restyle(underline=_norm(cmd[2]))
        self.emit(Underline(_norm(cmd[2])))

    def h_print_mode(self, cmd):  # ESC ! n
        n = cmd[2]
        width, height = (2 if n & 0x20 else 1), (2 if n & 0x10 else 1)
        self.restyle(font=n & 1, bold=bool(n & 0x08), underline=1 if n & 0x80 else 0,
                     width=width, height=height)
        self.emit(Size(width, height))

    def h_size(self, cmd):  # GS ! n
        width, height = (cmd[2] >> 4) + 1, (cmd[2] & 15) + 1
        self.restyle(width=width, height=height)
        self.emit(Size(width, height))

    def h_font(self, cmd):
        self.restyle(font=_norm(cmd[2]))
        self.emit(Font(_norm(cmd[2])))

    def h_feed_lines(self, cmd):
        self.emit(Feed(lines=cmd[2]))

    def h_reverse_feed(self, cmd):
        self.emit(Feed(lines=-cmd[2]))

    def h_feed_dots(self, cmd):
        self.emit(Feed(dots=cmd[2]))

    def h_spacing(self, cmd):
        divisor = {ord("3"): 180, ord("+"): 360, ord("A"): 60}[cmd[1]]
        self.emit(LineSpacing(cmd[2], divisor))

    def h_default_spacing(self, cmd):
        self.emit(LineSpacing(None))

    def h_invert(self, cmd):
        self.restyle(invert=bool(cmd[2] & 1))
        self.emit(Command("invert", cmd[2:]))

    def h_upside_down(self, cmd):
        self.restyle(upside_down=bool(cmd[2] & 1))
        self.emit(Command("upside down", cmd[2:]))

    def h_cut(self, cmd):
        if cmd[0] == ESC:  # ESC i / ESC m: partial cut
            self.emit(Cut(partial=True))
            return None
        m = cmd[2]
        if len(cmd) == 3 and m in (0, 1, 48, 49):
            self.emit(Cut(partial=bool(m & 1)))
        elif len(cmd) == 4 and m in CUT_B:
            self.emit(Cut(partial=m in (66, 98, 104), feed=cmd[3]))
        else:
            return False
        return None

    def h_status(self, cmd):
        self.emit(StatusQuery(cmd[2]))

    def h_transmit_status(self, cmd):
        self.emit(StatusQuery(_norm(cmd[2]), "GS r"))

    def h_raster(self, cmd):  # GS v 0 m xL xH yL yH d1...dk
        if len(cmd) < 8:
            return False
        m, width_bytes, height = _norm(cmd[3]), _u16(cmd, 4), _u16(cmd, 6)
        img = _raster_image(cmd[8:], width_bytes, height, width_bytes * 8)
        scale = (2 if m & 1 else 1, 2 if m & 2 else 1)
        self.emit(Raster(width_bytes * 8, height, img, "GS v 0", scale))
        return None

    def h_column_image(self, cmd):  # ESC * m nL nH d1...dk
        m, columns = cmd[2], _u16(cmd, 3)
        dots = 24 if m in (32, 33) else 8
        if m not in (0, 1, 32, 33):
            return False
        img = _column_image(cmd[5:], columns, dots)
        self.emit(Raster(columns, dots, img, "ESC *", (1 if m & 1 else 2, 1 if m & 32 else 3)))
        return None

    def h_extended(self, cmd):  # GS ( x pL pH ... and GS 8 L p1 p2 p3 p4 ...
        if cmd[1] == ord("8"):
            kind, source, body = ord("L"), "GS 8 L", cmd[7:]
        else:
            kind, source, body = cmd[2], f"GS ( {chr(cmd[2])}", cmd[5:]
        if kind == ord("L"):
            return self.graphics_function(body, source)
        if kind == ord("k"):
            return self.code2d_function(body)
        return False

    def graphics_function(self, body: bytes, source: str):
        if len(body) < 2:
            return False
        fn, params = body[1], body[2:]
        if fn == 112:  # store raster graphics: a bx by c xL xH yL yH d1...dk
            if len(params) < 8 or params[0] != 48:
                return False
            width, height = _u16(params, 4), _u16(params, 6)
            width_bytes = (width + 7) // 8
            if len(params) - 8 != width_bytes * height:
                return False
            img = _raster_image(params[8:], width_bytes, height, width)
            self.graphics = (img, source, (params[1], params[2]))
        elif fn in (50, 2):  # print the stored graphics
            if self.graphics is not None:
                img, src, scale = self.graphics
                self.emit(Raster(img.width, img.height, img, src, scale))
        elif fn in (49, 1):
            self.emit(Command("graphics dot density", bytes(params)))
        elif fn in (48, 51, 52, 64, 0, 3, 4):
            self.emit(Command("graphics query", bytes(body)))
        elif fn == 69:
            self.emit(Command("print NV graphics", bytes(params)))
        else:
            return False
        return None

    def code2d_function(self, body: bytes):
        if len(body) < 2 or body[0] != 49:  # only QR (cn 49) is modelled
            return False
        fn, params, qr = body[1], body[2:], self.qr
        if fn == 65 and len(params) >= 1 and params[0] in (49, 50, 51):
            qr["model"] = params[0] - 48
        elif fn == 67 and len(params) == 1:
            qr["size"] = params[0]
        elif fn == 69 and len(params) == 1 and 48 <= params[0] <= 51:
            qr["ec"] = EC_LEVELS[params[0] - 48]
        elif fn == 80 and len(params) >= 1:
            qr["data"] = bytes(params[1:])
        elif fn == 81:
            if qr["data"] is not None:
                raw = qr["data"]
                self.emit(QR(raw.decode("utf-8", "replace"), qr["model"], qr["size"], qr["ec"],
                             raw))
        elif fn == 82:
            self.emit(Command("QR size query", bytes(params)))
        else:
            return False
        return None

    def h_barcode(self, cmd):
        m = cmd[2]
        if m <= 6 and cmd[-1] == NUL:
            self.emit(Barcode(BARCODE_KINDS[m], cmd[3:-1].decode("latin-1"), "A"))
        elif m in BARCODE_KINDS and m >= 65 and len(cmd) == 4 + cmd[3]:
            self.emit(Barcode(BARCODE_KINDS[m], cmd[4:].decode("latin-1"), "B"))
        else:
            return False
        return None

    def h_unknown_prefix(self, cmd):
        return False


HANDLERS = {
    "init": _Decoder.h_init, "code page": _Decoder.h_codepage, "align": _Decoder.h_align,
    "bold": _Decoder.h_bold, "underline": _Decoder.h_underline,
    "print mode": _Decoder.h_print_mode, "size": _Decoder.h_size, "font": _Decoder.h_font,
    "feed lines": _Decoder.h_feed_lines, "reverse feed lines": _Decoder.h_reverse_feed,
    "feed dots": _Decoder.h_feed_dots, "line spacing": _Decoder.h_spacing,
    "line spacing 1/360": _Decoder.h_spacing, "line spacing 1/60": _Decoder.h_spacing,
    "default line spacing": _Decoder.h_default_spacing, "invert": _Decoder.h_invert,
    "upside down": _Decoder.h_upside_down, "cut": _Decoder.h_cut,
    "partial cut": _Decoder.h_cut, "real-time status": _Decoder.h_status,
    "transmit status": _Decoder.h_transmit_status, "raster bit image": _Decoder.h_raster,
    "column bit image": _Decoder.h_column_image, "extended GS (": _Decoder.h_extended,
    "extended GS 8": _Decoder.h_extended, "barcode": _Decoder.h_barcode,
    "extended ESC (": _Decoder.h_unknown_prefix, "extended FS (": _Decoder.h_unknown_prefix,
}


def decode(data: bytes | bytearray, profile: str | BaseProfile | None = "default", *,
           strict: bool = True) -> Receipt:
    """Decode ESC/POS ``data`` as a printer with python-escpos profile ``profile`` would read it.

    Unrecognised commands become ``Unknown`` ops (see ``Receipt.unknown``). A command cut off by
    the end of ``data`` raises ``DecodeError`` (with its offset), or with ``strict=False`` ends
    the receipt with an ``Unknown`` op of reason "truncated" holding the rest of the bytes.
    """
    return _Decoder(data, profile, strict).run()
