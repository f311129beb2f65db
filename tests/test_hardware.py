"""Counter hardware inside the app: keypads act like the counter page's buttons (for the clerk
seated at their counter), rating pads rate, LED displays follow the hall.

In-process: ``create_app`` on a copy of the demo hall with one ``[serial.desk]`` bus, and
``serving.start_background(app)`` as ``goiso serve`` calls it; the devices are a
``FakeBusDevice`` behind a real socat pty pair (tests/fakekeypad.py).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import msgspec
import pytest
from flask import Flask

from counter.config import BusConfig
from counter.protocol import GoisoProtocol, encode_frame
from device.worker import Stop
from serving import start_background
from tests.fakekeypad import FakeBusDevice
from tests.plugins.waiting import wait_for
from tests.plugins.web import close_app, make_app, staff_client
from tests.settings_files import load, problems, toml_table

KEYPAD, DISPLAY, RATING = 1, 2, 3  # counter 1
DISPLAY_2 = 12  # counter 2's display
DEVICES = [
    {"address": KEYPAD, "kind": "keypad", "counter": 1},
    {"address": DISPLAY, "kind": "display", "counter": 1},
    {"address": RATING, "kind": "rating", "counter": 1},
    {"address": DISPLAY_2, "kind": "display", "counter": 2},
]
PROCEDURE = "DEMO-GT-001"  # queue GPLX, served by counters 1 and 2 of the demo hall
WAIT = 5.0  # seconds: generous, for a loaded machine; waits end as soon as they can
# Events a key press may not cause by itself: the device reports go on in the background.
BACKGROUND = ("device_state",)


pytestmark = pytest.mark.usefixtures("no_zombie_socat")


@dataclass
class Rig:
    """The app with its background started, the fake devices of bus "desk", the seated clerk."""

    app: Flask
    fake: FakeBusDevice
    stop: Stop
    clerk: int
    threads: list[threading.Thread] = field(default_factory=list)

    @property
    def runtime(self):
        return self.app.extensions["goiso"]

    @property
    def hall(self):
        return self.runtime.hall

    def press(self, key: str, digits: str = "", address: int = KEYPAD) -> str | None:
        """Press a key and wait for its ack ('+', '-', or None if none came)."""
        seq = self.fake.press(address, key, digits)
        return self.fake.wait_for_ack(address, seq, WAIT)

    def issue(self, count: int = 1) -> list[str]:
        """Issue ``count`` GPLX tickets as a kiosk would; their numbers."""
        return [self.runtime.act(self.hall.issuing.issue, PROCEDURE)["number"]
                for _ in range(count)]

    def counter(self, number: int = 1) -> dict:
        return self.runtime.read(self.hall.screens.counter, number)

    def current(self, number: int = 1) -> str | None:
        current = self.counter(number)["current"]
        return current["number"] if current else None

    def last_event(self) -> int:
        with self.hall.store.read() as conn:
            return conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]

    def events_after(self, mark: int) -> list[dict]:
        """The hall's events after ``mark`` (the background's device reports left out)."""
        with self.hall.store.read() as conn:
            rows = conn.execute("SELECT * FROM events WHERE id > ? ORDER BY id", (mark,))
            return [dict(r) for r in rows if r["kind"] not in BACKGROUND]

    def state(self) -> dict[str, list[tuple]]:
        """What a counter action may change: tickets, counters, ratings, the event log."""
        with self.hall.store.read() as conn:
            return {
                table: [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1")]
                for table in ("tickets", "counters", "ratings")
            } | {"events": [tuple(r) for r in conn.execute(
                "SELECT * FROM events WHERE kind NOT IN ('device_state') ORDER BY id")]}

    def device(self, device_id: str) -> str | None:
        found = self.runtime.read(self.hall.devices.get, device_id)
        return found["state"] if found else None

    def display_frames(self, address: int = DISPLAY) -> int:
        return len(self.fake.display_frames(address))


@pytest.fixture
def start_rig(tmp_path, demo_db):
    """Start the app with bus "desk" on a fake device (``protocol`` "goiso" or "ascii");
    everything is stopped, joined and closed at the end."""
    started: list[Rig] = []

    def start(protocol: str = "goiso") -> Rig:
        fake = FakeBusDevice(tmp_path / f"bus-{protocol}", protocol=protocol)
        try:
            bus = msgspec.convert({"port": fake.device, "protocol": protocol,
                                   "devices": DEVICES}, BusConfig)
            app = make_app(tmp_path / f"data-{protocol}", *demo_db,
                           serial={"desk": bus})
        except BaseException:
            fake.close()
            raise
        runtime = app.extensions["goiso"]
        an = next(c["id"] for c in runtime.hall.accounts.clerks() if c["login"] == "an")
        runtime.act(runtime.hall.accounts.sign_in, 1, an)
        before = set(threading.enumerate())
        stop = start_background(app)
        rig = Rig(app, fake, stop, an,
                  [t for t in threading.enumerate() if t not in before])
        started.append(rig)
        # Up: the bus reported its port open and every display got its counter's text.
        wait_for(lambda: rig.device("desk") == "connected",
                 lambda: f"the desk keypad connected (it is {rig.device('desk')})", WAIT)
        assert fake.wait_for_display(DISPLAY, "", WAIT)
        assert fake.wait_for_display(DISPLAY_2, "", WAIT)
        return rig

    yield start
    for rig in started:
        rig.stop.set()  # every worker (bus, displays, printers, feed poller) ends at once
        deadline = time.monotonic() + 10
        for thread in rig.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in rig.threads if t.is_alive()]
        rig.fake.close()
        close_app(rig.app)
        assert not alive, f"still running after stop: {alive}"


@pytest.fixture
def rig(start_rig) -> Rig:
    return start_rig()


# -- the keypad's keys -----------------------------------------------------------------------------

def test_next_calls_the_next_ticket_and_the_display_shows_it_within_a_second(rig):
    first, second = rig.issue(2)
    began = time.monotonic()
    assert rig.press("N") == "+"
    assert rig.fake.wait_for_display(DISPLAY, first, WAIT)
    assert time.monotonic() - began < 1.0
    assert rig.current() == first
    assert rig.fake.displays[DISPLAY_2] == ""  # counter 2's display is not counter 1's

    assert rig.press("N") == "+"  # next finishes the current one
    assert rig.fake.wait_for_display(DISPLAY, second, WAIT)
    assert rig.current() == second
    kinds = [(e["kind"], e["counter_number"], e["clerk_id"]) for e in rig.events_after(0)
             if e["kind"] in ("called", "finished")]
    assert kinds == [("called", 1, rig.clerk), ("finished", 1, rig.clerk),
                     ("called", 1, rig.clerk)]


def test_recall_keeps_the_number_no_show_and_finish_blank_the_display(rig):
    first, second = rig.issue(2)
    assert rig.press("N") == "+"
    assert rig.fake.wait_for_display(DISPLAY, first, WAIT)

    sent = rig.display_frames()
    mark = rig.last_event()
    assert rig.press("R") == "+"
    assert [e["kind"] for e in rig.events_after(mark)] == ["recalled"]
    # The display is told again (a recall is a display event) and still shows the number.
    wait_for(lambda: rig.display_frames() > sent, "a display frame", WAIT)
    assert rig.fake.displays[DISPLAY] == first
    assert rig.current() == first

    assert rig.press("X") == "+"
    assert rig.fake.wait_for_display(DISPLAY, "", WAIT)
    assert rig.current() is None
    assert rig.press("X") == "-"  # nobody at the counter now
    assert rig.press("R") == "-"

    assert rig.press("N") == "+"
    assert rig.fake.wait_for_display(DISPLAY, second, WAIT)
    assert rig.press("F") == "+"
    assert rig.fake.wait_for_display(DISPLAY, "", WAIT)
    assert rig.current() is None
    assert rig.press("F") == "-"
    with rig.hall.store.read() as conn:
        statuses = dict(conn.execute("SELECT number, status FROM tickets"))
    assert statuses == {first: "no_show", second: "done"}


def test_pause_refuses_next_without_changing_anything_and_resumes(rig):
    first, second = rig.issue(2)
    assert rig.press("N") == "+"
    assert rig.fake.wait_for_display(DISPLAY, first, WAIT)

    assert rig.press("P") == "+"
    assert rig.fake.wait_for_display(DISPLAY, "----", WAIT)
    assert rig.counter()["status"] == "paused"

    before = rig.state()
    assert rig.press("N") == "-"
    time.sleep(0.2)  # anything the refused press might have set going
    assert rig.state() == before
    assert rig.fake.displays[DISPLAY] == "----"

    assert rig.press("P") == "+"  # the same key resumes
    assert rig.counter()["status"] == "open"
    assert rig.fake.wait_for_display(DISPLAY, first, WAIT)  # the current number is back
    assert rig.press("N") == "+"
    assert rig.fake.wait_for_display(DISPLAY, second, WAIT)


def test_call_with_digits_calls_that_number(rig):
    numbers = rig.issue(3)
    assert rig.press("C", numbers[2]) == "+"
    assert rig.fake.wait_for_display(DISPLAY, numbers[2], WAIT)
    assert rig.current() == numbers[2]
    called = [e for e in rig.events_after(0) if e["kind"] == "called"]
    assert len(called) == 1 and '"out_of_order": true' in called[0]["data"]

    before = rig.state()
    assert rig.press("C") == "-"  # no number given
    assert rig.press("C", "9999") == "-"  # no such ticket today
    assert rig.press("C", numbers[2]) == "-"  # already called
    assert rig.state() == before
    assert rig.fake.displays[DISPLAY] == numbers[2]


# -- the same action as the page and the API -------------------------------------------------------

def _comparable(events: list[dict]) -> list[tuple]:
    import json

    out = []
    for e in events:
        data = json.loads(e["data"])
        out.append((e["kind"], e["counter_number"], e["clerk_id"], e["queue_code"],
                    sorted(data), data.get("auto"), data.get("outcome"),
                    data.get("out_of_order")))
    return out


def test_a_key_press_writes_what_the_api_and_the_page_write(rig):
    rig.issue(4)
    assert rig.press("N") == "+"  # now something is being served: next also finishes it

    mark = rig.last_event()
    assert rig.press("N") == "+"
    by_keypad = rig.events_after(mark)

    mark = rig.last_event()
    client = rig.app.test_client()
    token = rig.app.config["DEMO"]["tokens"][1]
    reply = client.post("/api/v1/counters/1/next", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    by_api = rig.events_after(mark)

    page = staff_client(rig.app, "an", 1)  # "an" signs in at counter 1 (already seated)
    mark = rig.last_event()
    reply = page.post("/counter/1/act/next", headers={"HX-Request": "true"})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    by_page = [e for e in rig.events_after(mark) if e["kind"] != "clerk_signed_in"]

    assert [e["kind"] for e in by_keypad] == ["finished", "called"]
    assert _comparable(by_keypad) == _comparable(by_api) == _comparable(by_page)
    assert {e["clerk_id"] for e in by_keypad + by_api + by_page} == {rig.clerk}


def test_a_key_acts_for_nobody_when_no_clerk_is_seated(rig):
    rig.runtime.act(rig.hall.accounts.sign_out, 1, rig.clerk)
    number = rig.issue(1)[0]
    mark = rig.last_event()
    assert rig.press("N") == "+"
    assert rig.fake.wait_for_display(DISPLAY, number, WAIT)
    called = [e for e in rig.events_after(mark) if e["kind"] == "called"]
    assert [(e["counter_number"], e["clerk_id"]) for e in called] == [(1, None)]


# -- the rating pad --------------------------------------------------------------------------------

def ratings(rig: Rig) -> list[tuple]:
    with rig.hall.store.read() as conn:
        return [tuple(r) for r in conn.execute(
            "SELECT t.number, r.counter_number, r.clerk_id, r.level, r.source FROM ratings r"
            " JOIN tickets t ON t.id = r.ticket_id ORDER BY r.id")]


def test_rating_keys_rate_the_counters_last_finished_ticket_once(rig):
    first, second = rig.issue(2)
    assert rig.press("2", address=RATING) == "-"  # nothing finished yet
    assert rig.press("N") == "+"
    assert rig.press("F") == "+"
    assert rig.press("N") == "+"
    assert rig.press("F") == "+"

    assert rig.press("4", address=RATING) == "-"  # the hall has three levels
    assert ratings(rig) == []
    assert rig.press("2", address=RATING) == "+"
    assert ratings(rig) == [(second, 1, rig.clerk, 2, "keypad")]
    assert rig.press("1", address=RATING) == "-"  # rated already: not again, not the older one
    assert rig.press("3", address=RATING) == "-"
    assert ratings(rig) == [(second, 1, rig.clerk, 2, "keypad")]
    rated = [e for e in rig.events_after(0) if e["kind"] == "rated"]
    assert len(rated) == 1 and '"source": "keypad"' in rated[0]["data"]


def test_each_rating_key_is_a_level(start_rig):
    rig = start_rig()
    for level in ("1", "2", "3"):
        rig.issue(1)
        assert rig.press("N") == "+"
        assert rig.press("F") == "+"
        assert rig.press(level, address=RATING) == "+"
    assert [r[3] for r in ratings(rig)] == [1, 2, 3]


def test_keys_go_to_the_right_kind_of_device(rig):
    rig.issue(2)
    before = rig.state()
    assert rig.press("1") == "-"  # a rating key on the clerk's keypad
    assert rig.press("N", address=RATING) == "-"  # a clerk's key on the rating pad
    assert rig.press("N", address=DISPLAY) == "-"  # displays have no keys
    assert rig.state() == before


# -- the line: retries, noise, strangers -----------------------------------------------------------

def test_a_retried_frame_is_acted_on_once(rig):
    first, second, third = rig.issue(3)
    seq = rig.fake.press(KEYPAD, "N")
    assert rig.fake.wait_for_ack(KEYPAD, seq, WAIT) == "+"
    # The ack was lost: the keypad sends the same frame (same SEQ) again, twice.
    rig.fake.press(KEYPAD, "N", seq=seq)
    assert rig.fake.wait_for_ack(KEYPAD, seq, WAIT, count=2) == "+"
    frame = GoisoProtocol().key(KEYPAD, (seq + 1) % 256, "N")
    rig.fake.send_raw(frame + frame)  # a new press, and its retry right behind it
    assert rig.fake.wait_for_ack(KEYPAD, (seq + 1) % 256, WAIT, count=2) == "+"
    rig.fake.press(KEYPAD, "N", seq=seq)  # an old retry, within the window: still once
    assert rig.fake.wait_for_ack(KEYPAD, seq, WAIT, count=3) == "+"
    time.sleep(0.2)
    called = [e for e in rig.events_after(0) if e["kind"] == "called"]
    assert len(called) == 2
    assert rig.current() == second
    assert rig.fake.wait_for_display(DISPLAY, second, WAIT)
    with rig.hall.store.read() as conn:
        assert conn.execute("SELECT status FROM tickets WHERE number = ?",
                            (third,)).fetchone()[0] == "waiting"


def test_noise_bad_frames_and_strangers_act_on_nothing_and_the_bus_lives_on(rig):
    number = rig.issue(1)[0]
    bus = rig.runtime.hardware.buses["desk"]
    before = rig.state()
    good = GoisoProtocol().key(KEYPAD, 200, "N")
    bad_checksum = good[:-2] + bytes([good[-2] ^ 0x55]) + good[-1:]
    junk = [
        b"\x00\xff\xfe line noise \x7f\x80",  # noise
        bad_checksum,
        good[:-1] + b"\x04",  # no ETX
        encode_frame(KEYPAD, "Q", b"\xc9N"),  # a command nobody knows
        bytes([0x02, KEYPAD, ord("K"), 40]) + b"\x00" * 10,  # LEN over 32
        encode_frame(KEYPAD, "K", bytes([201, ord("Z")])),  # a key nobody knows
        encode_frame(KEYPAD, "K", bytes([202, ord("N")]) + b"12"),  # 'N' with digits
        GoisoProtocol().key(99, 203, "N"),  # an address not on this bus
        GoisoProtocol().key(DISPLAY_2 + 1, 204, "N"),
        encode_frame(0, "K", bytes([205, ord("N")])),  # broadcast: devices never send to 0
        good[:5],  # a frame cut short, then silence
    ]
    for data in junk:
        rig.fake.send_raw(data)
        time.sleep(0.1)  # each on its own, so the silence after a cut frame is seen
    time.sleep(0.3)
    assert rig.fake.acks == []
    assert rig.state() == before
    assert bus.stats["garbage"] >= len(junk) - 1  # (a cut frame counts when dropped)
    assert bus.stats["keys"] == 0
    # The bus is alive and in step: the next good frame works at once.
    assert rig.press("N") == "+"
    assert rig.fake.wait_for_display(DISPLAY, number, WAIT)
    assert rig.device("desk") == "connected"
    assert [a for a, _, _ in rig.fake.acks] == [KEYPAD]


# -- displays follow the hall ----------------------------------------------------------------------

def test_displays_follow_changes_made_through_the_api(rig):
    first, second = rig.issue(2)
    client = rig.app.test_client()
    tokens = rig.app.config["DEMO"]["tokens"]

    reply = client.post("/api/v1/counters/1/next",
                        headers={"Authorization": f"Bearer {tokens[1]}"})
    assert reply.status_code == 200
    assert reply.get_json()["number"] == first
    assert rig.fake.wait_for_display(DISPLAY, first, WAIT)

    reply = client.post("/api/v1/counters/2/next",
                        headers={"Authorization": f"Bearer {tokens[2]}"})
    assert reply.get_json()["number"] == second
    assert rig.fake.wait_for_display(DISPLAY_2, second, WAIT)
    assert rig.fake.displays[DISPLAY] == first

    supervisor = staff_client(rig.app, "giamsat")
    assert supervisor.post("/api/v1/counters/2/pause").status_code == 200
    assert rig.fake.wait_for_display(DISPLAY_2, "----", WAIT)
    assert supervisor.post("/api/v1/counters/1/finish").status_code == 200
    assert rig.fake.wait_for_display(DISPLAY, "", WAIT)
    assert supervisor.post("/api/v1/counters/2/resume").status_code == 200
    assert rig.fake.wait_for_display(DISPLAY_2, second, WAIT)


def test_unplugged_bus_is_reported_and_a_replugged_one_is_right_at_once(rig):
    number = rig.issue(1)[0]
    assert rig.press("N") == "+"
    assert rig.fake.wait_for_display(DISPLAY, number, WAIT)
    assert rig.device(f"desk:{KEYPAD}") == "online"

    rig.fake.unplug()
    every = ["desk", *(f"desk:{d['address']}" for d in DEVICES)]
    # The port first, then each device on it: one report each.
    wait_for(lambda: {rig.device(d) for d in every} == {"disconnected"},
             lambda: f"every device disconnected (they are {[rig.device(d) for d in every]})", 10)
    devices = {d["id"]: d for d in rig.runtime.read(rig.hall.devices.all, "serial_bus")}
    assert devices["desk"]["ready"] is False

    # While it is away, the counter moves on (the page or the API).
    rig.runtime.act(rig.hall.calling.finish, 1, "served", rig.clerk)
    later = rig.issue(1)[0]
    rig.runtime.act(rig.hall.calling.call_next, 1, rig.clerk)
    time.sleep(0.5)

    rig.fake.clear()
    rig.fake.plug()
    # The pause before reopening grows while the port is away (up to 10 s).
    wait_for(lambda: rig.device("desk") == "connected",
             lambda: f"the desk keypad connected (it is {rig.device('desk')})", 20)
    assert rig.fake.wait_for_display(DISPLAY, later, WAIT)
    assert rig.fake.wait_for_display(DISPLAY_2, "", WAIT)
    assert rig.device(f"desk:{DISPLAY}") == "online"
    finished = rig.issue(1)[0]
    assert rig.press("N") == "+"
    assert rig.fake.wait_for_display(DISPLAY, finished, WAIT)


def test_the_ascii_protocol_works_the_same(start_rig):
    rig = start_rig("ascii")
    first, second = rig.issue(2)
    began = time.monotonic()
    assert rig.press("N") == "+"
    assert rig.fake.wait_for_display(DISPLAY, first, WAIT)
    assert time.monotonic() - began < 1.0
    assert rig.press("C", second) == "+"
    assert rig.fake.wait_for_display(DISPLAY, second, WAIT)
    rig.fake.send_raw(b"K 1 77 Q\r\nhello there\r\nK 99 78 N\r\n")  # nothing to act on
    time.sleep(0.3)
    assert rig.press("N") == "-"  # nobody waiting
    assert rig.press("F") == "+"
    assert rig.fake.wait_for_display(DISPLAY, "", WAIT)
    assert {(a, r) for a, _, r in rig.fake.acks} == {(KEYPAD, "+"), (KEYPAD, "-")}
    assert len(rig.fake.acks) == 4


# -- settings --------------------------------------------------------------------------------------

GOOD = {"port": "/dev/ttyUSB0", "devices": [{"address": 1, "kind": "keypad", "counter": 1},
                                            {"address": 2, "kind": "display", "counter": 1}]}


def test_bus_settings_are_read(tmp_path):
    loaded = load(tmp_path, toml_table("serial.desk", {**GOOD, "baudrate": 19200,
                                                        "protocol": "ascii"}))
    bus = loaded.serial["desk"]
    assert set(loaded.serial) == {"desk"}
    assert (bus.port, bus.baudrate, bus.protocol) == ("/dev/ttyUSB0", 19200, "ascii")
    assert [(d.address, d.kind, d.counter) for d in bus.devices] == [(1, "keypad", 1),
                                                                     (2, "display", 1)]
    bus = load(tmp_path, '[serial.desk]\nport = "/dev/ttyS0"\n').serial["desk"]
    assert (bus.baudrate, bus.protocol, bus.devices) == (9600, "goiso", [])


def _device(**change) -> dict:
    return {**GOOD, "devices": [{**GOOD["devices"][0], **change}]}


# Each bad [serial.desk] table and the whole line a person reads (goiso.toml as given).
BAD = {
    "bad address": (_device(address=0), "devices[0].address = 0: cần một số nguyên từ 1 đến"
                    " 247."),
    "address too high": (_device(address=248), "devices[0].address = 248: cần một số nguyên từ"
                         " 1 đến 247."),
    "address not a number": (_device(address="one"), 'devices[0].address = "one": cần một số'
                             " nguyên từ 1 đến 247."),
    "duplicate address": ({**GOOD, "devices": [GOOD["devices"][0], {**GOOD["devices"][1],
                                                                    "address": 1}]},
                          "devices[1].address = 1: địa chỉ này đã dùng cho một thiết bị khác"
                          " trên cùng cổng."),
    "bad kind": (_device(kind="printer"), 'devices[0].kind = "printer": cần một trong:'
                 ' "display", "keypad", "rating".'),
    "bad counter": (_device(counter=0), "devices[0].counter = 0: cần số của một quầy (1, 2, 3"
                    " …)."),
    "missing counter": ({**GOOD, "devices": [{"address": 1, "kind": "keypad"}]},
                        "devices[0].counter: thiếu thiết lập bắt buộc này."),
    "unknown device key": (_device(colour="red"), 'devices[0].colour = "red": không có thiết'
                           " lập này (xem goiso.example.toml)."),
    "devices not a list": ({**GOOD, "devices": "keypad"}, 'devices = "keypad": cần một danh'
                           " sách [ … ], mỗi phần tử là một bảng."),
    "bad protocol": ({**GOOD, "protocol": "modbus"}, 'protocol = "modbus": cần một trong:'
                     ' "ascii", "goiso".'),
    "missing port": ({"devices": GOOD["devices"]}, "port: thiếu thiết lập bắt buộc này."),
    "empty port": ({**GOOD, "port": ""}, 'port = "": cần tên cổng, ví dụ "/dev/ttyUSB0".'),
    "bad baudrate": ({**GOOD, "baudrate": 9601}, "baudrate = 9601: cần một trong: 1200, 2400,"
                     " 4800, 9600, 19200, 38400, 57600, 115200."),
    "unknown setting": ({**GOOD, "parity": "N"}, 'parity = "N": không có thiết lập này (xem'
                        " goiso.example.toml)."),
}


@pytest.mark.parametrize("values, said", BAD.values(), ids=BAD.keys())
def test_settings_refuse_a_bad_serial_bus_naming_file_table_and_key(tmp_path, values, said):
    assert problems(tmp_path, toml_table("serial.desk", values)) == [
        f"goiso.toml: [serial.desk] {said}"]


def test_settings_refuse_two_buses_on_one_port(tmp_path):
    text = toml_table("serial.desk", GOOD) + toml_table("serial.hall", GOOD)
    assert problems(tmp_path, text) == [
        'goiso.toml: [serial.hall] port = "/dev/ttyUSB0": cổng này đã dùng cho [serial.desk];'
        " các thiết bị trên cùng một cổng phải nằm chung một bảng."]


def test_serial_must_hold_tables(tmp_path):
    assert problems(tmp_path, 'serial = "/dev/ttyUSB0"\n') == [
        'goiso.toml: serial = "/dev/ttyUSB0": cần các bảng [serial.<tên>], mỗi tên một bảng.']
