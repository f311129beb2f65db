"""Which serial buses the hall has and what is on them: [serial.<name>] in the settings
(settings.py loads them)."""

from typing import Annotated, Literal

from msgspec import Meta, Struct, field

from hall.errors import InvalidInput

Baudrate = Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200]


class DeviceConfig(Struct, forbid_unknown_fields=True):
    """One device on a bus: its address, what it is, and the counter it belongs to."""

    address: Annotated[int, Meta(ge=1, le=247)]
    kind: Literal["keypad", "display", "rating"]
    counter: Annotated[int, Meta(ge=1, description="số của một quầy (1, 2, 3 …)")]


class BusConfig(Struct, kw_only=True, forbid_unknown_fields=True):
    """One serial port ([serial.<name>] in the settings) and the devices on it."""

    # a device, or anything pyserial opens ("rfc2217://host:port")
    port: Annotated[str, Meta(min_length=1, description="tên cổng, ví dụ \"/dev/ttyUSB0\"")]
    baudrate: Baudrate = 9600
    protocol: Literal["goiso", "ascii"] = "goiso"
    devices: list[DeviceConfig] = field(default_factory=list)

    def __post_init__(self):
        """Two devices of one bus cannot answer to the same address."""
        seen = set()
        for i, device in enumerate(self.devices):
            if device.address in seen:
                raise InvalidInput("địa chỉ này đã dùng cho một thiết bị khác trên cùng cổng.",
                                   field=f"devices[{i}].address")
            seen.add(device.address)
