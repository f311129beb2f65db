"""What runs beside the requests under ``goiso serve``: the event-feed poller, the kiosks'
printers and the counters' serial devices. Only ``serve`` calls ``start``; ``create_app``
never opens a device or starts a thread."""

import threading

from . import counters
from .runtime import Runtime, dedicated_runner


def start(runtime: Runtime, stop: threading.Event) -> None:
    """Start everything that runs beside the requests until ``stop`` is set."""
    threading.Thread(target=runtime.feed.run_poller, args=(stop,), daemon=True,
                     name="goiso-feed").start()
    start_printers(runtime, stop)
    start_counter_hardware(runtime, stop)


def start_printers(runtime: Runtime, stop: threading.Event) -> None:
    """Open the kiosks' printers and start their workers; their news goes into the hall."""
    hall = runtime.hall
    # Tickets a printer had taken when the last process stopped, never heard of again.
    runtime.act(hall.printing.settle_prints)
    told: dict = {}

    def on_status(name, reading):
        # Only a change is written: a printer polled every few seconds must not flood the log.
        if told.get(name) == reading:
            return
        told[name] = reading
        runtime.act(hall.devices.report, f"printer:{name}", kind="printer", place=name,
                    state=reading.state, ready=reading.ready, detail=reading.detail)

    def on_done(name, outcome):
        if outcome.pending.token is not None:
            runtime.act(hall.printing.mark_printed, outcome.pending.token, outcome.ok,
                        outcome.detail, printer=name, reprint=outcome.pending.reprint)

    kiosks = [k["id"] for k in runtime.read(hall.catalogue.kiosks) if k["active"]]
    runtime.printers.start(kiosks, stop, on_status=on_status, on_done=on_done,
                           runner=dedicated_runner)


def start_counter_hardware(runtime: Runtime, stop: threading.Event):
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
        buses, press=lambda counter, key, digits: counters.press_key(runtime, counter, key,
                                                                     digits),
        rate=lambda counter, level: counters.rate(runtime, counter, level, "keypad"),
        display_text=lambda counter: counters.display_text(runtime, counter), report=report)
    runtime.hardware = hardware
    hardware.start(stop, runtime.feed)
    return hardware
