"""counter.bus.SerialBus against fake devices on a real pty (socat) and on pyserial's loop://."""

import threading
import time

import pytest
import serial

from counter.bus import SerialBus
from counter.protocol import GoisoProtocol, KeyPress, encode_frame
from device.worker import Stop
from tests.fakekeypad import FakeBusDevice
from tests.plugins.waiting import wait_for

DEVICES = {5: "keypad", 6: "keypad", 9: "rating", 20: "display"}
FAST = {"read_timeout": 0.02, "max_pause": 0.1}


pytestmark = pytest.mark.usefixtures("no_zombie_socat")


class Recorder:
    """The callbacks: key presses and state reports, with waiting."""

    def __init__(self):
        self.cond = threading.Condition()
        self.keys: list[tuple[str, KeyPress]] = []
        self.states: list[tuple[str, dict]] = []
        self.result: object = True  # what on_key returns (an exception: raised)

    def on_key(self, bus_name: str, press: KeyPress) -> bool:
        with self.cond:
            self.keys.append((bus_name, press))
            self.cond.notify_all()
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result

    def on_state(self, device_id: str, info: dict) -> None:
        with self.cond:
            self.states.append((device_id, info))
            self.cond.notify_all()

    def state(self, device_id: str) -> str | None:
        with self.cond:
            found = [info for d, info in self.states if d == device_id]
        return found[-1]["state"] if found else None

    def info(self, device_id: str) -> dict | None:
        with self.cond:
            found = [info for d, info in self.states if d == device_id]
        return found[-1] if found else None

    def wait(self, predicate, timeout: float = 2.0) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, timeout)

    def wait_state(self, device_id: str, state: str, timeout: float = 2.0) -> bool:
        """Wait until the last report about ``device_id`` says ``state``."""
        def now_in_state() -> bool:
            found = [info for d, info in self.states if d == device_id]
            return bool(found) and found[-1]["state"] == state

        return self.wait(now_in_state, timeout)


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
def fake(tmp_path):
    with FakeBusDevice(tmp_path) as device:
        yield device


@pytest.fixture
def run_bus(rec):
    """Start a SerialBus (name "b1") on a URL; every one is closed at the end."""
    started: list[SerialBus] = []

    def run(url: str, **options) -> SerialBus:
        kwargs = {"devices": DEVICES, "on_key": rec.on_key, "on_state": rec.on_state, **FAST}
        kwargs.update(options)
        bus = SerialBus("b1", url, **kwargs)
        bus.start()
        started.append(bus)
        return bus

    yield run
    for bus in started:
        bus.close(2)
        assert not bus.running


def connected(rec: Recorder, timeout: float = 2.0) -> bool:
    return rec.wait_state("b1", "connected", timeout)


# -- keys and acks ---------------------------------------------------------------------------------

def test_a_key_press_reaches_on_key_once_and_is_acked_done(fake, rec, run_bus):
    bus = run_bus(fake.device)
    assert connected(rec)
    seq = fake.press(5, "N")
    assert fake.wait_for_ack(5, seq) == "+"
    assert rec.keys == [("b1", KeyPress(5, seq, "N"))]
    seq = fake.press(9, "1")
    assert fake.wait_for_ack(9, seq) == "+"
    seq = fake.press(6, "C", "b012")
    assert fake.wait_for_ack(6, seq) == "+"
    assert rec.keys[-1] == ("b1", KeyPress(6, seq, "C", "B012"))
    assert bus.stats["keys"] == 3 and bus.stats["frames"] == 3
    assert bus.stats["garbage"] == 0 and bus.stats["duplicates"] == 0


def test_a_refused_key_is_acked_minus(fake, rec, run_bus):
    run_bus(fake.device)
    assert connected(rec)  # (opening a port drops what was waiting in it)
    rec.result = False
    seq = fake.press(5, "R")
    assert fake.wait_for_ack(5, seq) == "-"
    assert len(rec.keys) == 1


def test_on_key_raising_is_acked_minus_and_the_loop_lives_on(fake, rec, run_bus):
    bus = run_bus(fake.device)
    assert connected(rec)
    rec.result = RuntimeError("the hall is broken")
    seq = fake.press(5, "N")
    assert fake.wait_for_ack(5, seq) == "-"
    rec.result = True
    seq = fake.press(5, "N")
    assert fake.wait_for_ack(5, seq) == "+"
    assert len(rec.keys) == 2 and bus.stats["keys"] == 2


def test_a_retry_is_acked_again_with_the_first_result_but_acted_on_once(fake, rec, run_bus):
    bus = run_bus(fake.device)
    assert connected(rec)
    rec.result = False
    seq = fake.press(5, "X")
    assert fake.wait_for_ack(5, seq) == "-"
    rec.result = True  # the retry must not be handled again, even though it would work now
    fake.press(5, "X", seq=seq)
    fake.press(5, "X", seq=seq)
    assert fake.wait_for_ack(5, seq, count=3) == "-"
    assert fake.acks_for(5, seq) == ["-", "-", "-"]
    assert len(rec.keys) == 1
    assert bus.stats["duplicates"] == 2 and bus.stats["keys"] == 1
    # the same SEQ from another device is another press
    fake.press(6, "X", seq=seq)
    assert fake.wait_for_ack(6, seq) == "+"
    assert len(rec.keys) == 2


def test_the_same_seq_after_the_dedup_window_is_a_new_press(fake, rec, run_bus):
    run_bus(fake.device, dedup_seconds=0.3)
    assert connected(rec)
    seq = fake.press(5, "F")
    assert fake.wait_for_ack(5, seq) == "+"
    time.sleep(0.45)
    fake.press(5, "F", seq=seq)
    assert fake.wait_for_ack(5, seq, count=2) == "+"
    assert len(rec.keys) == 2


def test_an_unknown_address_is_not_acked_nor_acted_on(fake, rec, run_bus):
    bus = run_bus(fake.device)
    assert connected(rec)
    seq = fake.press(99, "N")
    fake.hello(98)
    wait_for(lambda: bus.stats["garbage"] == 2, 'bus.stats["garbage"] == 2', 2.0)
    assert fake.wait_for_ack(99, seq, timeout=0.2) is None
    assert rec.keys == [] and bus.stats["keys"] == 0 and bus.stats["frames"] == 0
    assert rec.info("b1:99") is None
    seq = fake.press(5, "N")  # the bus still works
    assert fake.wait_for_ack(5, seq) == "+"


def test_noise_and_bad_frames_are_never_acted_on(fake, rec, run_bus):
    bus = run_bus(fake.device)
    assert connected(rec)
    p = GoisoProtocol()
    good = p.key(5, 40, "N")
    fake.send_raw(b"\x00\xff noise \x03")
    fake.send_raw(good[:-2] + bytes([good[-2] ^ 0x01]) + good[-1:])  # bad checksum
    fake.send_raw(good[:-1] + b"\x04")  # no ETX
    fake.send_raw(bytes([2, 5, ord("K"), 40]) + bytes(42))  # LEN > 32
    fake.send_raw(encode_frame(5, "Z", b"\x29N"))  # unknown command
    wait_for(lambda: bus.stats["garbage"] >= 5, 'bus.stats["garbage"] >= 5', 2.0)
    assert fake.wait_for_ack(5, 40, timeout=0.2) is None
    assert rec.keys == [] and fake.acks == []
    seq = fake.press(5, "N")
    assert fake.wait_for_ack(5, seq) == "+"
    assert len(rec.keys) == 1


def test_a_frame_cut_short_is_dropped_when_the_line_goes_quiet(fake, rec, run_bus):
    run_bus(fake.device)
    assert connected(rec)
    fake.send_raw(bytes([2, 5, ord("K"), 32]))  # would swallow the next 34 bytes
    time.sleep(0.1)  # longer than read_timeout: the host drops it
    seq = fake.press(5, "P")
    assert fake.wait_for_ack(5, seq) == "+"


def test_own_frames_heard_back_on_loop_are_echoes_not_garbage(rec, run_bus):
    port = serial.serial_for_url("loop://", timeout=0.02)  # hears everything it sends
    bus = run_bus("loop://", open_port=lambda url, **kw: port)
    assert connected(rec)
    port.write(GoisoProtocol().key(5, 7, "N"))
    assert rec.wait(lambda: len(rec.keys) == 1)
    bus.display(20, "A001")
    wait_for(lambda: bus.stats["echoes"] >= 2, "its ack and its display frame", 2.0)
    assert bus.stats["garbage"] == 0 and bus.stats["keys"] == 1


def test_the_ascii_driver_end_to_end(tmp_path, rec, run_bus):
    with FakeBusDevice(tmp_path, protocol="ascii") as fake:
        bus = run_bus(fake.device, protocol="ascii")
        assert connected(rec)
        seq = fake.press(5, "C", "1023")
        assert fake.wait_for_ack(5, seq) == "+"
        assert rec.keys == [("b1", KeyPress(5, seq, "C", "1023"))]
        fake.send_raw(b"K 5 x N\r\nhello\r\n")
        wait_for(lambda: bus.stats["garbage"] == 2, 'bus.stats["garbage"] == 2', 2.0)
        bus.display(20, "----")
        assert fake.wait_for_display(20, "----")
        fake.hello(6, "cheap board")
        assert rec.wait_state("b1:6", "online")
        assert rec.info("b1:6")["detail"] == "cheap board"
        bus.close()


# -- displays --------------------------------------------------------------------------------------

def test_display_text_and_brightness_arrive(fake, rec, run_bus):
    bus = run_bus(fake.device)
    bus.display(20, "A1023")
    assert fake.wait_for_display(20, "A1023")
    bus.display(20, "")
    assert fake.wait_for_display(20, "")
    bus.brightness(20, 3)
    assert fake.wait_for(lambda: fake.levels.get(20) == 3)
    bus.display(0, "----")  # every display
    assert fake.wait_for_display(0, "----")


def test_display_refuses_what_cannot_be_shown(fake, rec, run_bus):
    bus = run_bus(fake.device)
    for address, text in ((20, "123456789"), (20, "Số 1"), (21, "1"), (248, "1")):
        with pytest.raises(ValueError):
            bus.display(address, text)
    with pytest.raises(ValueError):
        bus.brightness(20, 8)
    assert bus.texts == {}


def test_texts_are_sent_again_every_refresh(fake, rec, run_bus):
    bus = run_bus(fake.device, refresh_seconds=0.2)
    bus.display(20, "B012")
    assert fake.wait_for(lambda: fake.display_frames(20).count("B012") >= 3, 2.0)


def test_a_text_set_while_the_port_is_down_is_sent_when_it_opens(fake, rec, run_bus):
    fake.unplug()
    bus = run_bus(fake.device)
    assert rec.wait_state("b1", "disconnected")
    bus.display(20, "A007")
    fake.plug()
    assert fake.wait_for_display(20, "A007")
    assert bus.stats["reconnects"] == 0  # the first open is not a reconnection


# -- the cable and the states ----------------------------------------------------------------------

def test_unplug_and_plug_again(fake, rec, run_bus):
    bus = run_bus(fake.device, refresh_seconds=60)
    assert connected(rec)
    assert rec.info("b1") == {"kind": "serial_bus", "state": "connected", "ready": True,
                              "detail": f"{fake.device} 9600 baud, goiso"}
    assert rec.info("b1:20") == {"kind": "display", "state": "online", "ready": True,
                                 "detail": ""}
    fake.hello(5, "kp-1.0")
    assert rec.wait_state("b1:5", "online")
    assert rec.info("b1:5") == {"kind": "keypad", "state": "online", "ready": True,
                                "detail": "kp-1.0"}
    bus.display(20, "A1023")
    assert fake.wait_for_display(20, "A1023")

    fake.unplug()
    assert rec.wait_state("b1", "disconnected")
    info = rec.info("b1")
    assert info["ready"] is False and info["detail"]
    for address in DEVICES:
        assert rec.wait_state(f"b1:{address}", "disconnected")
    time.sleep(0.3)  # a few failed reopenings
    assert bus.running
    bus.display(20, "A1024")  # remembered meanwhile

    fake.clear()
    fake.plug()
    assert rec.wait_state("b1", "connected")
    assert rec.wait_state("b1:20", "online")
    assert fake.wait_for_display(20, "A1024", timeout=1.0)  # at once, not after 60 s
    assert bus.stats["reconnects"] == 1
    seq = fake.press(5, "N")
    assert fake.wait_for_ack(5, seq) == "+"
    assert rec.wait_state("b1:5", "online")
    # on_state is called on changes only: the state, or the error text while down (the read
    # that failed, then why it cannot be opened again), never at every try
    reports = [i for d, i in rec.states if d == "b1"]
    assert [i["state"] for i in reports] in (["connected", "disconnected", "connected"],
                                             ["connected", "disconnected", "disconnected",
                                              "connected"])
    assert all(a != b for a, b in zip(reports, reports[1:], strict=False))


def test_a_device_not_heard_is_silent_then_online_again(fake, rec, run_bus):
    run_bus(fake.device, silent_after=0.3)
    assert connected(rec)
    fake.hello(5)
    assert rec.wait_state("b1:5", "online")
    assert rec.wait_state("b1:5", "silent", timeout=1.0)
    assert rec.info("b1:5")["ready"] is False
    assert rec.wait_state("b1:6", "silent")  # never heard since the port opened
    assert rec.state("b1:20") == "online"  # displays never talk
    seq = fake.press(5, "N")
    assert fake.wait_for_ack(5, seq) == "+"
    assert rec.wait_state("b1:5", "online")


def test_a_port_that_cannot_open_is_retried_with_a_growing_pause(rec, run_bus):
    attempts = []

    def cannot_open(url, **kwargs):
        attempts.append((time.monotonic(), kwargs))
        raise serial.SerialException(f"could not open port {url}: [Errno 2] No such file")

    bus = run_bus("/dev/ttyNOPE", open_port=cannot_open, max_pause=0.4)
    wait_for(lambda: len(attempts) >= 5, 'len(attempts) >= 5', 3.0)
    assert attempts[0][1] == {"baudrate": 9600, "timeout": 0.02}
    gaps = [b[0] - a[0] for a, b in zip(attempts, attempts[1:], strict=False)][:4]
    assert 0.15 < gaps[0] < 0.6 and 0.35 < gaps[1] < 0.9 and 0.35 < gaps[3] < 0.9  # ≤ max
    assert rec.info("b1")["state"] == "disconnected"
    assert "No such file" in rec.info("b1")["detail"]
    assert [d for d, _ in rec.states].count("b1") == 1  # reported once, not at every try
    bus.display(20, "12")  # fine while down
    assert bus.stats["reconnects"] == 0


def test_the_stop_event_ends_the_loop_promptly_even_while_waiting(rec):
    def cannot_open(url, **kwargs):
        raise OSError("gone")

    bus = SerialBus("b1", "x", devices=DEVICES, on_key=rec.on_key, on_state=rec.on_state,
                    open_port=cannot_open, max_pause=30)
    stop = Stop()
    thread = bus.start(stop)
    time.sleep(0.7)  # now in a pause of 0.8 s or more
    started = time.monotonic()
    stop.set()
    thread.join(1)
    assert not thread.is_alive() and time.monotonic() - started < 0.2


def test_close_ends_the_loop_and_closes_the_port(fake, rec):
    ports = []

    def opener(url, **kwargs):
        ports.append(serial.serial_for_url(url, **kwargs))
        return ports[-1]

    bus = SerialBus("b1", fake.device, devices=DEVICES, on_key=rec.on_key,
                    on_state=rec.on_state, open_port=opener, read_timeout=0.02)
    thread = bus.start()
    assert connected(rec)
    bus.close()
    assert not thread.is_alive() and not ports[0].is_open and not bus.up


def test_an_unexpected_error_is_logged_and_the_loop_goes_on(rec, run_bus, caplog):
    port = serial.serial_for_url("loop://", timeout=0.02)

    class Flaky:
        fail = 1

        def __getattr__(self, name):
            return getattr(port, name)

        def read(self, size):
            if Flaky.fail:
                Flaky.fail -= 1
                raise RuntimeError("a bug")
            return port.read(size)

    run_bus("loop://", open_port=lambda url, **kw: Flaky())
    wait_for(lambda: Flaky.fail == 0, 'Flaky.fail == 0', 2.0)
    port.write(GoisoProtocol().key(5, 1, "N"))
    assert rec.wait(lambda: len(rec.keys) == 1)
    assert "unexpected error" in caplog.text


def test_a_failing_on_state_does_not_stop_the_bus(fake, rec, run_bus):
    def broken(device_id, info):
        raise ValueError("no")

    bus = run_bus(fake.device, on_state=broken)
    wait_for(lambda: bus.up, 'the bus to open its port', 2.0)
    seq = fake.press(5, "N")
    assert fake.wait_for_ack(5, seq) == "+"


def test_bad_configuration_is_refused(rec):
    with pytest.raises(ValueError):
        SerialBus("b1", "x", devices={0: "keypad"}, on_key=rec.on_key, on_state=rec.on_state)
    with pytest.raises(ValueError):
        SerialBus("b1", "x", devices={5: "printer"}, on_key=rec.on_key, on_state=rec.on_state)
    with pytest.raises(ValueError):
        SerialBus("b1", "x", devices={5: "keypad"}, on_key=rec.on_key, on_state=rec.on_state,
                  protocol="modbus")
