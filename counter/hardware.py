"""The hall's counter hardware: keypads, LED number displays and rating pads on serial buses.

Only ``goiso serve`` builds and starts this (never ``create_app``). It knows nothing of Flask or
of the database: it is given what to call when a key is pressed (the key letter: what it does
is the application's to say) and how to read a counter's number, and it follows the event feed
to keep every LED display right.
"""

import logging
from collections.abc import Callable

from device.worker import Stop, Worker
from hall.errors import HallError
from hall.events import LED_CHANGES

from .bus import SerialBus
from .config import BusConfig, DeviceConfig
from .protocol import KEYS, RATING_KEYS, KeyPress

log = logging.getLogger("goiso.counter")


class CounterHardware:
    """Every serial bus of the hall, the keys' actions, and the displays' numbers."""

    def __init__(self, buses: dict[str, BusConfig], *,
                 press: Callable[[int, str, str], dict],
                 rate: Callable[[int, int], dict],
                 display_text: Callable[[int], str],
                 report: Callable[[str, dict], None],
                 open_port: Callable | None = None):
        self.configs = buses
        self._press = press
        self._rate = rate
        self._display_text = display_text
        self._report = report
        self._open_port = open_port
        self.buses: dict[str, SerialBus] = {}
        self.follower: DisplayFollower | None = None

    def devices(self, kind: str | None = None):
        """(bus name, device) for every configured device (of one kind)."""
        for name, config in self.configs.items():
            for device in config.devices:
                if kind is None or device.kind == kind:
                    yield name, device

    def start(self, stop: Stop, feed=None) -> None:
        """Open every bus, show every counter's number, follow the feed for changes."""
        for name, config in self.configs.items():
            kwargs = {"open_port": self._open_port} if self._open_port else {}
            bus = SerialBus(name, config.port, baudrate=config.baudrate,
                            protocol=config.protocol,
                            devices={d.address: d.kind for d in config.devices},
                            on_key=self.on_key, on_state=self._report, **kwargs)
            self.buses[name] = bus
            bus.start(stop)
        if feed is None:
            self.refresh()
            return
        self.follower = DisplayFollower(feed, self.refresh)
        self.follower.start(stop)

    def on_key(self, bus_name: str, press: KeyPress) -> bool:
        """A key pressed on a keypad or a rating pad; True when it did what it asked."""
        device = self._device(bus_name, press.address)
        if device is None:
            return False
        try:
            if device.kind == "keypad" and press.key in KEYS:
                self._press(device.counter, press.key, press.digits)
                return True
            if device.kind == "rating" and press.key in RATING_KEYS:
                self._rate(device.counter, int(press.key))
                return True
        except HallError as exc:
            # Refused by the rules (nobody waiting, paused …): the keypad beeps twice.
            log.info("counter %s key %s refused: %s", device.counter, press.key, exc)
            return False
        log.warning("%s:%s (%s) sent key %r it has no use for", bus_name, press.address,
                    device.kind, press.key)
        return False

    def _device(self, bus_name: str, address: int) -> DeviceConfig | None:
        config = self.configs.get(bus_name)
        if config is None:
            return None
        return next((d for d in config.devices if d.address == address), None)

    def refresh(self, counters: set[int] | None = None) -> None:
        """Send each display (of ``counters``) what its counter shows now."""
        for name, device in self.devices("display"):
            if counters is not None and device.counter not in counters:
                continue
            bus = self.buses.get(name)
            if bus is None:
                continue
            try:
                bus.display(device.address, self._display_text(device.counter))
            except Exception:  # noqa: BLE001 - one display must not stop the others
                log.exception("display %s:%s", name, device.address)


class DisplayFollower(Worker):
    """Keeps the displays right: every event that changes a counter's number refreshes it."""

    kind = "display follower"

    def __init__(self, feed, refresh: Callable[[set[int] | None], None]):
        super().__init__("feed", first_pause=1.0, max_pause=30.0)
        self.feed = feed
        self.refresh = refresh
        self.last = 0

    def connect(self) -> None:
        # From here on every change is followed; what came before is shown as it is now.
        self.last = self.feed.last_id
        self.refresh(None)

    def step(self) -> None:
        found = self.feed.wait(self.last, 60.0, stop=self.stopping)
        if not found:
            return
        self.last = found[-1].id
        changed = {e.counter for e in found
                   if e.kind in LED_CHANGES and e.counter is not None}
        if changed:
            self.refresh(changed)

    def wake(self) -> None:
        super().wake()
        self.feed.interrupt()  # a feed wait sees ``stopping`` only when woken

