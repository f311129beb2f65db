"""device.worker: the worker every device runs on, with real threads over a scripted device."""

import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from device.worker import Poller, Stop, Worker

WAIT = 5.0  # seconds: an upper bound for a loaded machine, never slept
LONG = 60.0  # a pause no test may sit through


class FakeClock:
    """Seconds that move only when the test says so."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ScriptedDevice(Worker):
    """A worker over a device that does what the test scripted, and remembers what it was asked.

    ``connects`` and ``steps`` are lists of actions, taken in turn; once used up, connecting
    works and a step idles. An action is a callable (its exception is the device's).
    """

    kind = "test device"

    def __init__(self, connects=(), steps=(), **options):
        options = {"first_pause": 0.01, "max_pause": 0.08, **options}
        self.states: list[tuple[str, object]] = []
        super().__init__("d1", on_state=self._record, **options)
        self.connects = list(connects)
        self.steps = list(steps)
        self.calls: list[str] = []
        self.pauses: list[float] = []  # the pause waited before each connection
        self.cond = threading.Condition()

    def _record(self, device_id, state):
        with self.cond:
            self.states.append((device_id, state))

    def _note(self, call: str) -> None:
        with self.cond:
            self.calls.append(call)
            self.cond.notify_all()

    def connect(self):
        self.pauses.append(self.pause)
        self._note("connect")
        if self.connects:
            self.connects.pop(0)()
        self.tell(self.name, "up")

    def step(self):
        self._note("step")
        if self.steps:
            self.steps.pop(0)()
        else:
            self.rest(LONG)

    def disconnect(self):
        self._note("disconnect")

    def lost(self, exc):
        self.tell(self.name, f"down: {exc}")

    def offline(self):
        self._note("offline")

    def count(self, call: str) -> int:
        with self.cond:
            return self.calls.count(call)

    def wait_for(self, call: str, n: int = 1) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.calls.count(call) >= n, WAIT)


def gone():
    raise OSError("unplugged")


@pytest.fixture
def stop():
    signal = Stop()
    yield signal
    signal.set()


# -- the pause between connections ---------------------------------------------------------------

def test_the_pause_grows_to_its_maximum_and_resets_once_the_device_stayed_up(stop):
    clock = FakeClock()

    def up_long_then_gone():
        clock.now += 61  # up longer than stable_after
        gone()

    device = ScriptedDevice(connects=[gone, gone, gone, gone], steps=[gone, up_long_then_gone],
                            stable_after=60.0, clock=clock)
    device.start(stop)
    assert device.wait_for("connect", 7)
    # Four failed connections, a flap (lost at its first step), then a device that had stayed
    # up: the pauses doubled to the maximum, stayed there, then started over.
    assert device.pauses[:7] == [0.0, 0.01, 0.02, 0.04, 0.08, 0.08, 0.01]
    assert device.count("step") >= 2


def test_each_state_is_reported_once_per_change(stop):
    device = ScriptedDevice(connects=[gone, gone, gone])
    device.start(stop)
    assert device.wait_for("step")
    # Four connections, three of them failed the same way: "down" is told once, "up" once.
    assert device.states == [("d1", "down: unplugged"), ("d1", "up")]


def test_tell_drops_repeats_and_survives_a_failing_callback(caplog):
    told = []

    def on_state(device_id, state):
        told.append((device_id, state))
        if state == "bad":
            raise RuntimeError("the hall is down")

    worker = Worker("w", on_state=on_state)
    for device_id, state in [("a", 1), ("a", 1), ("b", 1), ("a", 2), ("a", 2), ("a", "bad"),
                             ("a", "bad"), ("a", 1)]:
        worker.tell(device_id, state)
    assert told == [("a", 1), ("b", 1), ("a", 2), ("a", "bad"), ("a", 1)]
    assert "reporting failed" in caplog.text


# -- nothing tried while the device is gone -----------------------------------------------------

def test_work_that_comes_while_the_device_is_gone_is_refused_without_touching_it(stop):
    device = ScriptedDevice(connects=[gone], first_pause=LONG)
    device.start(stop)
    assert device.wait_for("offline")  # found gone: what waited for it is refused at once
    for n in range(2, 7):
        device.wake()  # new work
        assert device.wait_for("offline", n)
    # Refused five times more; the device was not opened again, nor asked anything.
    assert device.count("connect") == 1 and device.count("step") == 0
    assert device.states == [("d1", "down: unplugged")]


def test_the_device_is_closed_after_each_loss_and_at_the_end(stop):
    device = ScriptedDevice(connects=[gone], steps=[gone])
    device.start(stop)
    assert device.wait_for("connect", 3)
    stop.set()
    device.close(WAIT)
    assert not device.running
    # connect (fails) → disconnect; connect → step (lost) → disconnect; connect … → disconnect
    calls = [c for c in device.calls if c != "offline"]
    assert calls[:5] == ["connect", "disconnect", "connect", "step", "disconnect"]
    assert calls[-1] == "disconnect"
    assert calls.count("connect") == calls.count("disconnect")


# -- errors ----------------------------------------------------------------------------------------

def test_an_unexpected_error_is_logged_and_the_device_stays_up(stop, caplog):
    def bug():
        raise KeyError("a bug")

    device = ScriptedDevice(steps=[bug, bug])
    device.start(stop)
    assert device.wait_for("step", 3)
    assert "test device d1: unexpected error" in caplog.text and "KeyError" in caplog.text
    assert device.count("connect") == 1 and device.count("disconnect") == 0
    assert device.up and device.running


def test_an_unexpected_error_while_connecting_is_retried_later(stop, caplog):
    def bug():
        raise ValueError("bad setting")

    device = ScriptedDevice(connects=[bug])
    device.start(stop)
    assert device.wait_for("step")
    assert device.pauses == [0.0, 0.01]
    assert "unexpected error while connecting" in caplog.text


# -- stopping ------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["waiting to reconnect", "resting while up"])
def test_stop_ends_the_loop_at_once(where):
    stop = Stop()
    if where == "waiting to reconnect":
        device = ScriptedDevice(connects=[gone], first_pause=LONG)
        waiting = "connect"
    else:
        device = ScriptedDevice()  # its step rests LONG seconds
        waiting = "step"
    thread = device.start(stop)
    assert device.wait_for(waiting)
    began = time.monotonic()
    stop.set()
    thread.join(WAIT)
    assert not thread.is_alive() and time.monotonic() - began < WAIT  # not LONG
    assert "disconnect" in device.calls[-2:] and not device.up


def test_close_without_a_stop_signal_ends_this_worker_only():
    stop = Stop()
    first, second = ScriptedDevice(), ScriptedDevice()
    first.start(stop)
    second.start(stop)
    assert first.wait_for("step") and second.wait_for("step")
    first.close(WAIT)
    assert not first.running and second.running
    stop.set()
    second.close(WAIT)
    assert not second.running


def test_a_stop_signal_set_before_start_ends_the_worker_at_once():
    stop = Stop()
    stop.set()
    device = ScriptedDevice()
    device.start(stop).join(WAIT)
    assert not device.running and device.calls == []


def test_a_worker_needs_a_stop_signal_not_a_plain_event():
    with pytest.raises(TypeError, match="Stop"):
        ScriptedDevice().start(threading.Event())


def test_stop_reads_like_an_event():
    stop = Stop()
    called = []
    stop.on_set(lambda: called.append(1))
    assert not stop.is_set() and not stop.wait(0.001)
    stop.set()
    assert stop.is_set() and stop.wait(0) and called == [1]
    stop.on_set(lambda: called.append(2))  # set already: called at once
    assert called == [1, 2]


# -- the poller -------------------------------------------------------------------

def test_the_poller_calls_at_its_pace_and_backs_off_while_the_database_is_locked(stop):
    calls = []
    locked = threading.Event()

    def poll():
        calls.append(time.monotonic())
        if len(calls) <= 3:
            raise sqlite3.OperationalError("database is locked")
        locked.set()

    poller = Poller("feed", poll, 0.01, lost_on=(sqlite3.OperationalError,), max_pause=0.04)
    poller.start(stop)
    assert locked.wait(WAIT)
    assert poller.pause == 0.04  # 0.01, 0.02, 0.04: three losses in a row
    assert poller.running


WEB = ("flask", "flask_babel", "flask_wtf", "server", "api", "staff", "kiosk", "admin", "home",
       "display", "phone")


@pytest.mark.parametrize(("modules", "forbidden"), [
    ("device.worker", (*WEB, "werkzeug", "hall", "printer", "counter", "sqlite3")),
    ("counter.bus, counter.protocol", (*WEB, "werkzeug", "hall", "printer")),
    ("printer", WEB),
])
def test_the_device_layers_import_no_web(modules, forbidden):
    code = (f"import sys, {modules}; "
            f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {forbidden!r}); "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=20)
    assert result.returncode == 0, result.stdout + result.stderr
