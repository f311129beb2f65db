"""A hall catching up with its province hub after a week offline: how long it takes, and what
it costs the hall's tickets meanwhile (issue 15: "at a bounded rate that never slows tickets
or calls").

A demo hall is given ``--days`` (7) business days of ``--tickets`` (800) tickets each, every one
issued, called and finished through the real core (about 3 events a ticket), with no hub.
Then a real ``goiso serve`` starts on it with ``[hub]`` set to a real ``goiso hub serve`` on a
throwaway PostgreSQL, and its pusher catches up at ``--rate`` (2,000) events a second. A kiosk
issues a ticket every ``--pause`` (0.05) s throughout and each one's latency is measured:
during the catch-up, and again once the hub has everything.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path

from hall.errors import HallError
from tests.hubserver import HubServer
from tests.liveserver import LiveServer

from . import percentile, table

TITLE = "A week of a hall's events caught up by the hub: catch-up time, ticket latency meanwhile"
DAY = 86_400


def build_history(path: Path, days: int, tickets: int) -> int:
    """``days`` busy days in the hall file at ``path`` (ending yesterday); its events."""
    from hall import demo
    from hall.site import Hall

    now = time.time()
    clock = {"t": now - days * DAY}
    hall = Hall.open(path, clock=lambda: clock["t"])
    demo.seed(hall)
    procedures = ("DEMO-GT-001", "DEMO-GT-007", "DEMO-GT-015", "DEMO-GT-021")
    for day in range(days):
        clock["t"] = now - (days - day) * DAY
        for i in range(tickets):
            hall.issuing.issue(procedures[i % len(procedures)], kiosk="k1")
            clock["t"] += 20
        for _ in range(tickets):
            for counter in (1, 3, 4, 5):
                with contextlib.suppress(HallError):  # that counter's queues are empty
                    hall.calling.call_next(counter)
            clock["t"] += 20
    count = hall.log.last_id()
    hall.store.close()
    return count


def pending(server: LiveServer) -> int:
    status, body, _ = server.request("GET", "/healthz")
    return (body or {}).get("hub", {}).get("pending", -1)


def tickets_while(server: LiveServer, pause: float, until) -> list[float]:
    took = []
    while not until():
        status, _, seconds = server.request("POST", "/api/v1/tickets",
                                            {"procedure": "DEMO-GT-022"})
        if status == 201:
            took.append(seconds * 1000)
        time.sleep(pause)
    return took


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench hub_catchup", description=__doc__)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--tickets", type=int, default=800)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--pause", type=float, default=0.05)
    parser.add_argument("--after-seconds", type=float, default=10.0)
    args = parser.parse_args(argv)

    from hub.cluster import LocalCluster

    with tempfile.TemporaryDirectory(prefix="goiso-catchup-") as folder:
        folder = Path(folder)
        began = time.perf_counter()
        events = build_history(folder / "hall" / "goiso.db", args.days, args.tickets)
        print(f"history: {events:,} events over {args.days} days in"
              f" {time.perf_counter() - began:.1f} s")
        cluster = LocalCluster(tempfile.mkdtemp(prefix="goiso-catchup-pg-")).start()
        try:
            dsn = cluster.create_database("catchup")
            with HubServer(dsn) as hub:
                hall_id, token = hub.add_hall("Hội trường sau một tuần mất kết nối")
                config = (f'[hub]\nurl = "{hub.base_url}"\nhall_id = {hall_id}\n'
                          f'token = "{token}"\ninterval_seconds = 1.0\n'
                          f"max_events_per_second = {args.rate}\n")
                with LiveServer(folder / "hall", config_text=config) as server:
                    started = time.perf_counter()
                    during = tickets_while(server, args.pause, lambda: pending(server) == 0)
                    caught_up = time.perf_counter() - started
                    end = time.monotonic() + args.after_seconds
                    after = tickets_while(server, args.pause, lambda: time.monotonic() > end)
        finally:
            cluster.stop("immediate")
    rows = []
    for label, took in (("during the catch-up", during), ("after it", after)):
        rows.append([label, len(took), f"{percentile(took, 50):.1f}",
                     f"{percentile(took, 95):.1f}", f"{percentile(took, 99):.1f}",
                     f"{max(took):.1f}" if took else "-"])
    print(f"caught up {events:,} events in {caught_up:.1f} s"
          f" ({events / caught_up:,.0f} events/s, limit {args.rate:,})")
    print(table(["kiosk tickets", "n", "p50 ms", "p95 ms", "p99 ms", "max ms"], rows))
    return 0
