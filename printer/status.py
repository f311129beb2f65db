"""What a printer says about itself: the ESC/POS real-time status bytes (DLE EOT n), read.

python-escpos's ``paper_status()`` reports "paper OK" when a serial printer does not answer at
all, so this module reads the bytes itself and treats silence as "not ready", never as fine.
"""

from dataclasses import dataclass

from hall.errors import N_

DLE_EOT = b"\x10\x04"

# States, most serious last; ``ready`` says whether a ticket may be printed.
READY = "ready"
PAPER_LOW = "paper_low"
PAPER_OUT = "paper_out"
COVER_OPEN = "cover_open"
OFFLINE = "offline"
ERROR = "error"
NO_ANSWER = "no_answer"
UNREACHABLE = "unreachable"
WRITE_ONLY = "write_only"  # a device file or a folder: it takes bytes but cannot tell its state
STOPPED = "stopped"  # printing is not running in this process (create_app without serve)
CHECKING = "checking"  # started, first reading not in yet

READY_STATES = (READY, PAPER_LOW, WRITE_ONLY)
WORDS = {
    READY: N_("Sẵn sàng"),
    PAPER_LOW: N_("Sắp hết giấy"),
    PAPER_OUT: N_("Hết giấy"),
    COVER_OPEN: N_("Nắp máy in đang mở"),
    OFFLINE: N_("Máy in ngoại tuyến"),
    ERROR: N_("Máy in báo lỗi"),
    NO_ANSWER: N_("Máy in không trả lời"),
    UNREACHABLE: N_("Không kết nối được máy in"),
    WRITE_ONLY: N_("Gửi được, không đọc được trạng thái"),
    STOPPED: N_("Dịch vụ in chưa chạy"),
    CHECKING: N_("Đang kiểm tra máy in"),
}


@dataclass(frozen=True)
class PrinterStatus:
    """One reading of a printer's state."""

    state: str
    detail: str = ""

    @property
    def ready(self) -> bool:
        return self.state in READY_STATES

    @property
    def words(self) -> str:
        """The state in Vietnamese (a msgid; screens translate it)."""
        return WORDS[self.state]


def valid(byte: int) -> bool:
    """Every status reply has bits 1 and 4 set and bits 0 and 7 clear."""
    return byte & 0x93 == 0x12


def read(query) -> PrinterStatus:
    """Ask the printer with ``query(n) -> int | None`` (None: no answer) and say what it is."""
    first = query(1)
    if first is None:
        return PrinterStatus(NO_ANSWER, "DLE EOT 1: không có trả lời")
    if not valid(first):
        return PrinterStatus(NO_ANSWER, f"DLE EOT 1: byte lạ 0x{first:02x}")
    if first & 0x08:  # offline: ask why
        cause = query(2)
        if cause is None or not valid(cause):
            return PrinterStatus(OFFLINE, "DLE EOT 2: không rõ nguyên nhân")
        if cause & 0x04:
            return PrinterStatus(COVER_OPEN, "DLE EOT 2: nắp mở")
        if cause & 0x20:
            return PrinterStatus(PAPER_OUT, "DLE EOT 2: hết giấy")
        if cause & 0x40:
            error = query(3)
            detail = "DLE EOT 3: "
            if error is not None and valid(error):
                detail += ("lỗi dao cắt" if error & 0x08 else "lỗi không tự phục hồi"
                           if error & 0x20 else "lỗi tự phục hồi" if error & 0x40 else "lỗi")
            else:
                detail += "không rõ"
            return PrinterStatus(ERROR, detail)
        return PrinterStatus(OFFLINE, "DLE EOT 2: ngoại tuyến")
    paper = query(4)
    if paper is not None and valid(paper):
        if paper & 0x60:
            return PrinterStatus(PAPER_OUT, "DLE EOT 4: hết giấy")
        if paper & 0x0C:
            return PrinterStatus(PAPER_LOW, "DLE EOT 4: sắp hết giấy")
    return PrinterStatus(READY)
