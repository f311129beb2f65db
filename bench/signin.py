"""Sign-ins against tickets: a kiosk's ticket latency with and without 4 parallel login floods,
on a real ``goiso serve`` (one gevent process) of a fresh demo hall.

A flood is a client sending wrong PINs back to back over one keep-alive connection (with its
session cookie and CSRF token, as a browser would). The throttle is relaxed for the run
(``[security]`` no delays, locks after thousands) so that every sign-in costs a full scrypt
hash: the worst case, e.g. many addresses at once. With the shipped settings a flood is
answered ``429`` from the 5th wrong PIN on, without hashing. The kiosk issues ``--tickets``
tickets one after another, ``--pause`` seconds apart, and each one's latency is measured.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import threading
import time

from tests.liveserver import HOST, LiveServer

from . import Result, percentile, table

TITLE = "Kiosk ticket latency (p50/p95/p99) with and without 4 parallel sign-in floods"
RELAXED = ("[security]\ndelay_seconds = 0\nlock_after = 1000\naddress_free_failures = 1000\n"
           "address_lock_after = 10000\n")
WRONG = "000000"


class Flood:
    """Threads sending wrong PINs to ``POST /api/v1/session`` until stopped; ``checked`` counts
    the PIN checks answered (401), ``other`` anything else."""

    def __init__(self, port: int, clients: int):
        self.port, self.stop = port, threading.Event()
        self.checked, self.other = [0] * clients, [0] * clients
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True)
                        for n in range(clients)]

    def _run(self, n: int) -> None:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            conn.request("GET", "/api/v1/session", headers={"Accept": "application/json"})
            reply = conn.getresponse()
            csrf = json.loads(reply.read())["csrf_token"]
            cookie = reply.getheader("Set-Cookie", "").split(";")[0]
            body = json.dumps({"login": f"flood{n}", "pin": WRONG}).encode()
            headers = {"Content-Type": "application/json", "Accept": "application/json",
                       "X-CSRFToken": csrf, "Cookie": cookie}
            while not self.stop.is_set():
                conn.request("POST", "/api/v1/session", body=body, headers=headers)
                reply = conn.getresponse()
                reply.read()
                if reply.status == 401:
                    self.checked[n] += 1
                else:
                    self.other[n] += 1
        finally:
            conn.close()

    def __enter__(self) -> Flood:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)


def kiosk(server: LiveServer, tickets: int, pause: float, name: str, note: str = "") -> Result:
    """Issue ``tickets`` tickets one after another on one keep-alive connection."""
    conn = http.client.HTTPConnection(HOST, server.port, timeout=30)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    body = json.dumps({"procedure": "DEMO-GT-001"}).encode()
    latencies = []
    began = time.perf_counter()
    try:
        for _ in range(tickets):
            start = time.perf_counter()
            conn.request("POST", "/api/v1/tickets", body=body, headers=headers)
            reply = conn.getresponse()
            raw = reply.read()
            latencies.append(time.perf_counter() - start)
            if reply.status != 201:
                raise RuntimeError(f"{name}: HTTP {reply.status} {raw[:200]!r}")
            time.sleep(pause)
    finally:
        conn.close()
    return Result(name, 1, len(latencies), time.perf_counter() - began, latencies, note)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench signin", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=150, help="tickets per run (150)")
    parser.add_argument("--pause", type=float, default=0.02, help="seconds between (0.02)")
    parser.add_argument("--floods", type=int, default=4, help="parallel login floods (4)")
    args = parser.parse_args(argv)
    results, checks = [], ""
    with LiveServer(config_text=RELAXED, quick_streams=False) as server:
        print(f"goiso serve on {server.base_url} (pid {server.worker})", flush=True)
        kiosk(server, 20, 0.0, "warm-up")
        results.append(kiosk(server, args.tickets, args.pause, "no sign-ins"))
        with Flood(server.port, args.floods) as flood:
            time.sleep(0.5)  # the floods are running
            began = time.perf_counter()
            run = kiosk(server, args.tickets, args.pause, f"{args.floods} login floods")
            seconds = time.perf_counter() - began
            checked = sum(flood.checked)
        run.note = f"{checked / seconds:.1f} PIN checks/s during the run"
        checks = f"other answers to the floods: {sum(flood.other)}"
        results.append(run)
    print(f"load average now {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (client and "
          f"server share them); {checks}")
    print(table(["scenario", "tickets", "s", "p50 ms", "p95 ms", "p99 ms", "max ms", "note"],
                [[r.name, r.ops, r.seconds, r.p50_ms, percentile(r.latencies, 95) * 1000, r.p99_ms,
                  max(r.latencies) * 1000, r.note] for r in results], align="<>>>>>><"))
    return 0
