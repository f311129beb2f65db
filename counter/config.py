"""Which serial buses the hall has and what is on them: [serial.<name>] in the settings."""

from dataclasses import dataclass, field

KINDS = ("keypad", "display", "rating")
BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


@dataclass
class DeviceConfig:
    """One device on a bus: its address, what it is, and the counter it belongs to."""

    address: int
    kind: str
    counter: int


@dataclass
class BusConfig:
    """One serial port ([serial.<name>] in the settings) and the devices on it."""

    port: str
    baudrate: int = 9600
    protocol: str = "goiso"
    devices: list[DeviceConfig] = field(default_factory=list)

    @classmethod
    def from_dict(cls, name: str, values: dict) -> "BusConfig":
        """A bus from its settings table; every mistake names the setting."""
        where = f"[serial.{name}]"
        known = {"port", "baudrate", "protocol", "devices"}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"{where} không có thiết lập: {', '.join(sorted(unknown))}")
        if not isinstance(values.get("port"), str) or not values["port"]:
            raise ValueError(f"{where} cần port (ví dụ /dev/ttyUSB0)")
        baudrate = values.get("baudrate", 9600)
        if baudrate not in BAUDRATES:
            raise ValueError(f"{where} baudrate = {baudrate!r}")
        protocol = values.get("protocol", "goiso")
        if protocol not in ("goiso", "ascii"):
            raise ValueError(f"{where} protocol = {protocol!r}; dùng goiso hoặc ascii")
        devices, seen = [], set()
        for i, device in enumerate(values.get("devices", [])):
            here = f"{where} devices[{i}]"
            if not isinstance(device, dict) or set(device) - {"address", "kind", "counter"}:
                raise ValueError(f"{here}: cần address, kind, counter")
            address, kind, counter = (device.get("address"), device.get("kind"),
                                      device.get("counter"))
            if not isinstance(address, int) or not 1 <= address <= 247:
                raise ValueError(f"{here}: address từ 1 đến 247")
            if address in seen:
                raise ValueError(f"{here}: address {address} đã dùng trên cổng này")
            if kind not in KINDS:
                raise ValueError(f"{here}: kind là {', '.join(KINDS)}")
            if not isinstance(counter, int) or counter < 1:
                raise ValueError(f"{here}: counter là số quầy")
            seen.add(address)
            devices.append(DeviceConfig(address, kind, counter))
        return cls(values["port"], baudrate, protocol, devices)
