"""The hall's shared words: Vietnamese msgids that every screen translates the same way.

The core never translates: it names things with these msgids; the web layer translates them
into the language of the screen (Flask-Babel), the application layer into the hall's language
for the ticket paper (services/tickets.py). ``N_`` only marks a text for extraction.
"""

from pathlib import Path

# Where the translations of these words (and of every other text) live: translations/<lang>/.
TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"


def N_(text: str) -> str:
    """Mark a text for translation without translating it (Babel extracts N_ calls)."""
    return text


class Term(str):
    """A msgid used as a parameter of another text: translated before it is put in the sentence,
    so "số A001 đang ở trạng thái “đã xong”" reads "… “done”" in English, never half and half."""

    __slots__ = ()


TICKET_STATUS = {
    "waiting": N_("đang chờ"), "called": N_("đã gọi"), "done": N_("đã xong"),
    "no_show": N_("vắng mặt"), "cancelled": N_("đã hủy"), "expired": N_("hết hạn"),
}
COUNTER_STATUS = {"open": N_("đang mở"), "paused": N_("đang tạm dừng"), "closed": N_("đã đóng")}
PRIORITY = {
    "elderly": N_("Người cao tuổi"), "disability": N_("Người khuyết tật"),
    "pregnancy": N_("Phụ nữ có thai"), "war_invalid": N_("Người có công với cách mạng"),
    "other": N_("Trường hợp ưu tiên khác"),
}
OUTCOME = {
    "served": N_("Đã giải quyết"), "incomplete": N_("Hồ sơ chưa đủ"),
    "referred": N_("Hướng dẫn nơi khác"), "rejected": N_("Từ chối tiếp nhận"),
}
# A counter's actions as buttons name them, and as sentences use them ("không thể gọi").
ACTION = {
    "next": N_("Gọi tiếp"), "recall": N_("Gọi lại"), "no-show": N_("Vắng mặt"),
    "finish": N_("Hoàn thành"), "pause": N_("Tạm dừng"), "resume": N_("Tiếp tục"),
    "pause-toggle": N_("Tạm dừng / Tiếp tục"), "call": N_("Gọi số"),
    "transfer": N_("Chuyển"), "close": N_("Đóng quầy"),
}
VERB = {
    "call": N_("gọi"), "reactivate": N_("cho chờ lại"), "cancel": N_("hủy"),
    "pause": N_("tạm dừng"), "resume": N_("mở lại"), "close": N_("đóng"),
}


def term(table: dict[str, str], key: str) -> Term:
    """The msgid of ``key`` in one of the tables above, marked for translation in a sentence."""
    return Term(table.get(key, key))
