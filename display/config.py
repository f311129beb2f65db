"""How boards look and speak: [board] and [voice] in the settings."""

from dataclasses import dataclass

DEFAULT_TEMPLATE = "Mời công dân có số thứ tự {number} đến quầy số {counter}"


@dataclass
class BoardOptions:
    """The hall boards ([board])."""

    highlight_seconds: int = 8  # the newest call stays large and highlighted this long
    poll_seconds: float = 3.0  # how often a board asks when Server-Sent Events cannot work

    def check(self) -> None:
        if not 1 <= int(self.highlight_seconds) <= 120:
            raise ValueError("[board] highlight_seconds từ 1 đến 120")
        if not 1 <= float(self.poll_seconds) <= 60:
            raise ValueError("[board] poll_seconds từ 1 đến 60")


@dataclass
class VoiceOptions:
    """The spoken call ([voice])."""

    enabled: bool = True
    template: str = DEFAULT_TEMPLATE
    style: str = "cardinal"  # "cardinal" (một nghìn không trăm hai mươi ba) or "digits"
    dialect: str = "north"  # "north" (linh, nghìn) or "south" (lẻ, ngàn)
    four: str = "bốn"  # 4 after mươi: "bốn" or "tư" (hai mươi tư)
    voice: str = "vi"  # espeak-ng voice: vi, vi-vn-x-central, vi-vn-x-south
    speed: int = 150  # espeak-ng words per minute
    repeat: int = 1  # say each call once or twice
    chime: bool = True
    pack_dir: str = ""  # recorded clips replacing synthesis; default <data_dir>/voice-pack

    def check(self) -> None:
        if "{number}" not in self.template:
            raise ValueError("[voice] template phải có {number}")
        if self.style not in ("cardinal", "digits"):
            raise ValueError("[voice] style là cardinal hoặc digits")
        if self.dialect not in ("north", "south"):
            raise ValueError("[voice] dialect là north hoặc south")
        if self.four not in ("bốn", "tư"):
            raise ValueError("[voice] four là bốn hoặc tư")
        if self.voice not in ("vi", "vi-vn-x-central", "vi-vn-x-south"):
            raise ValueError("[voice] voice là vi, vi-vn-x-central hoặc vi-vn-x-south")
        if not 80 <= int(self.speed) <= 300:
            raise ValueError("[voice] speed từ 80 đến 300")
        if self.repeat not in (1, 2):
            raise ValueError("[voice] repeat là 1 hoặc 2")
