"""How boards look and speak: [board] and [voice] in the settings (settings.py loads them)."""

from typing import Annotated, Literal

from msgspec import Meta, Struct

from hall.errors import InvalidInput

DEFAULT_TEMPLATE = "Mời công dân có số thứ tự {number} đến quầy số {counter}"


class BoardOptions(Struct, kw_only=True, forbid_unknown_fields=True):
    """The hall boards ([board])."""

    # the newest call stays large and highlighted this long
    highlight_seconds: Annotated[int, Meta(ge=1, le=120)] = 8
    # how often a board asks when Server-Sent Events cannot work
    poll_seconds: Annotated[float, Meta(ge=1, le=60)] = 3.0


class VoiceOptions(Struct, kw_only=True, forbid_unknown_fields=True):
    """The spoken call ([voice])."""

    enabled: bool = True
    template: str = DEFAULT_TEMPLATE
    style: Literal["cardinal", "digits"] = "cardinal"  # một nghìn không trăm hai mươi ba, or digits
    dialect: Literal["north", "south"] = "north"  # linh, nghìn or lẻ, ngàn
    four: Literal["bốn", "tư"] = "bốn"  # 4 after mươi: hai mươi bốn or hai mươi tư
    voice: Literal["vi", "vi-vn-x-central", "vi-vn-x-south"] = "vi"  # espeak-ng voice
    speed: Annotated[int, Meta(ge=80, le=300)] = 150  # espeak-ng words per minute
    repeat: Literal[1, 2] = 1  # say each call once or twice
    chime: bool = True
    pack_dir: str = ""  # recorded clips replacing synthesis; default <data_dir>/voice-pack

    def __post_init__(self):
        """The template must say the number and may say the counter, nothing else."""
        if "{number}" not in self.template:
            raise InvalidInput("cần một câu có {number} (số thứ tự được đọc).",
                               field="template")
        try:
            self.template.format(number="", counter="")
        except (KeyError, IndexError, ValueError):
            raise InvalidInput("chỉ dùng được {number} và {counter} trong câu; muốn viết dấu"
                               " ngoặc nhọn thì gõ hai lần: {{ }}.", field="template") from None
