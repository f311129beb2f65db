"""What runs beside the requests under ``goiso serve``: the event-feed poller, the kiosks'
printers and the counters' serial devices, each a ``device.worker.Worker``. Only ``serve``
calls ``start``; ``create_app`` never opens a device or starts a thread."""

import sqlite3

from device.worker import Poller, Stop
from hall.errors import StorageBusy, StorageFull

from . import counters, hubpush, reports
from .runtime import Runtime, dedicated_runner


def start(runtime: Runtime, stop: Stop | None = None) -> Stop:
    """Start everything that runs beside the requests; setting the returned signal stops all
    of it at once."""
    stop = stop or Stop()
    # Changes made by other processes (goiso commands, a second server) reach the streams;
    # a locked or busy database (or a full disk, for the writes) is waited out with a growing
    # pause.
    Poller("feed", runtime.feed.poll, runtime.feed.poll_seconds,
           lost_on=(sqlite3.OperationalError,)).start(stop)
    # Rollups of closed days and the purge of tickets past the retention, every hour.
    Poller("reports", lambda: reports.keep_up(runtime), 3600,
           lost_on=(sqlite3.OperationalError, StorageFull, StorageBusy)).start(stop)
    start_printers(runtime, stop)
    start_counter_hardware(runtime, stop)
    options = runtime.settings.hub
    if options.url:
        # The log to the province hub; while the hub cannot be reached, each next try waits
        # longer (up to 5 minutes), and the failure is on the monitor.
        Poller("hub", lambda: hubpush.push_once(runtime), options.interval_seconds,
               lost_on=(hubpush.HubUnreachable, sqlite3.OperationalError, StorageBusy),
               max_pause=300.0).start(stop)
    return stop


def start_printers(runtime: Runtime, stop: Stop) -> None:
    """Open the kiosks' printers and start their workers; their news goes into the hall."""
    hall = runtime.hall
    # Tickets a printer had taken when the last process stopped, never heard of again.
    runtime.act(hall.printing.settle_prints)

    def on_status(name, reading):
        # Called once per change (the worker drops repeats), so polling does not flood the log.
        runtime.act(hall.devices.report, f"printer:{name}", kind="printer", place=name,
                    state=reading.state, ready=reading.ready, detail=reading.detail)

    def on_done(name, outcome):
        if outcome.pending.token is not None:
            runtime.act(hall.printing.mark_printed, outcome.pending.token, outcome.ok,
                        outcome.detail, printer=name, reprint=outcome.pending.reprint)

    kiosks = [k["id"] for k in runtime.read(hall.catalogue.kiosks) if k["active"]]
    runtime.printers.start(kiosks, stop, on_status=on_status, on_done=on_done,
                           runner=dedicated_runner)


def start_counter_hardware(runtime: Runtime, stop: Stop):
    """Open the counters' serial buses; keys act on the hall, displays follow its events."""
    buses = runtime.settings.serial
    if not buses:
        return None
    from counter.hardware import CounterHardware

    hall = runtime.hall

    def report(device_id, info):
        runtime.act(hall.devices.report, device_id, kind=info["kind"], state=info["state"],
                    ready=info["ready"], detail=info.get("detail", ""),
                    place=device_id.split(":")[0])

    hardware = CounterHardware(
        buses,
        press=lambda counter, key, digits: counters.press_key(runtime, counter, key, digits),
        rate=lambda counter, level: counters.rate(runtime, counter, level, "keypad"),
        display_text=lambda counter: counters.display_text(runtime, counter), report=report)
    runtime.hardware = hardware
    hardware.start(stop, runtime.feed)
    return hardware
