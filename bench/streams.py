"""2,000 open event streams: tickets and calls stay fast, every stream gets every event, and
streams beyond the cap are refused at once (issue 13).

Against a real ``goiso serve`` (one process) on a fresh demo hall, ``[server] max_streams`` set
to ``--streams`` (2000) and the per-address cap lifted (every stream comes from this machine):

* open ``--streams`` raw-socket streams (to their state frame): how long, the server's RSS and
  open descriptors before and after;
* ``--tickets`` (200) ``POST /api/v1/tickets`` one after another with the streams open: the
  answer's p50/p99, and each ``issued`` event counted on every stream (missing, duplicated);
* ``--calls`` (100) ``POST /api/v1/counters/1/next``: the answer's p50/p99 and the fan-out
  (call sent -> its ``called`` frame on the last of the streams) p50/p99;
* ``--extra`` (100) streams more than the cap: each refused (503 + Retry-After), how fast;
* the server's RSS and descriptors after every stream closed.

Targets: ticket and call p99 <= 100 ms, no event missing or duplicated, every extra refused.
"""

from __future__ import annotations

import argparse
import os
import socket
import time

import psutil

from tests.liveserver import ONE_MACHINE, LiveServer
from tests.sseclient import HOST, Streams

from . import percentile, table
from .sse import fan_out, issue_tickets

TITLE = "2,000 event streams: ticket and call p99, every event on every stream, 503 beyond the cap"

P99_TARGET_MS = 100.0
MB = 1024 * 1024


def server_state(server: LiveServer) -> tuple[float, int]:
    """The serving process's RSS (MB) and open descriptors."""
    process = psutil.Process(server.worker)
    return process.memory_info().rss / MB, process.num_fds()


def tickets_seen(server: LiveServer, streams: Streams, count: int
                 ) -> tuple[list[float], int, int]:
    """Issue ``count`` tickets one after another; (answer times in ms, events missing on some
    stream, events received twice by some stream)."""
    answered, missing, doubled = [], 0, 0
    for _ in range(count):
        status, ticket, took = server.request("POST", "/api/v1/tickets",
                                              {"procedure": "DEMO-GT-002"})
        assert status == 201, (status, ticket)
        answered.append(took * 1000)
        wanted = f'"number": "{ticket["number"]}"'
        frames = streams.wait_for("issued", wanted, 10)
        missing += sum(1 for f in frames if f is None)
        doubled += sum(1 for s in streams.streams
                       if sum(1 for f in s.frames if f.kind == "issued" and wanted in f.data) > 1)
        streams.forget_frames()
    return answered, missing, doubled


def refusals(port: int, count: int) -> tuple[int, list[float]]:
    """Open ``count`` more streams: how many were refused 503 with Retry-After, and how long
    each answer took (ms)."""
    refused, took = 0, []
    request = (f"GET /api/v1/events HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
               "Accept: text/event-stream\r\n\r\n").encode()
    for _ in range(count):
        began = time.perf_counter()
        with socket.create_connection((HOST, port), timeout=10) as sock:
            sock.sendall(request)
            head = sock.recv(4096).decode("latin-1")
        took.append((time.perf_counter() - began) * 1000)
        if head.startswith("HTTP/1.1 503") and "retry-after:" in head.lower():
            refused += 1
    return refused, took


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench streams", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=2000, help="open streams (2000)")
    parser.add_argument("--tickets", type=int, default=200, help="tickets timed (200)")
    parser.add_argument("--calls", type=int, default=100, help="calls timed (100)")
    parser.add_argument("--extra", type=int, default=100,
                        help="streams tried beyond the cap (100)")
    parser.add_argument("--gap", type=float, default=0.1, help="seconds between calls (0.1)")
    args = parser.parse_args(argv)

    env = {**ONE_MACHINE, "GOISO_MAX_STREAMS": str(args.streams)}
    with LiveServer(quick_streams=False, env=env) as server, Streams(server.port) as streams:
        print(f"goiso serve on {server.base_url} (pid {server.worker}), {args.streams} streams",
              flush=True)
        for _ in range(3):
            server.request("GET", "/api/v1/hall")
        rss_idle, fds_idle = server_state(server)
        began = time.perf_counter()
        streams.open(args.streams, timeout=120)
        opened_s = time.perf_counter() - began
        rss_open, fds_open = server_state(server)

        issue_tickets(server, streams, args.calls)  # the calls' tickets, before timing
        ticket_ms, missing, doubled = tickets_seen(server, streams, args.tickets)
        calls = fan_out(server, streams, args.calls, args.gap)
        refused, refuse_ms = refusals(server.port, args.extra)
        rss_busy, fds_busy = server_state(server)

        streams.close()
        time.sleep(3)  # the server notices closed streams at its next keep-alive write
        closed_by = time.monotonic() + 60
        while server_state(server)[1] > fds_idle + 5 and time.monotonic() < closed_by:
            server.request("GET", "/api/v1/hall")
            time.sleep(1)
        rss_after, fds_after = server_state(server)

    call_ms = [(c.answered - c.began) * 1000 for c in calls]
    fan_ms = [(c.seen - c.began) * 1000 for c in calls]
    print(f"load average now {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (client and "
          "server share them)")
    checks = []

    def row(name, value, unit, target="", ok=None):
        verdict = "" if ok is None else ("met" if ok else "NOT met")
        if verdict:
            checks.append(ok)
        return [name, value, unit, target, verdict]

    rows = [
        row(f"open {args.streams} streams (to their state frame)", opened_s, "s"),
        row("server RSS idle / streams open", f"{rss_idle:.1f} / {rss_open:.1f}", "MB"),
        row("server descriptors idle / streams open", f"{fds_idle} / {fds_open}", ""),
        row("ticket POST answered, p50", percentile(ticket_ms, 50), "ms"),
        row("ticket POST answered, p99", percentile(ticket_ms, 99), "ms",
            f"<= {P99_TARGET_MS:.0f}", percentile(ticket_ms, 99) <= P99_TARGET_MS),
        row(f"issued events missing on a stream (of {args.tickets * args.streams})", missing,
            "", "0", missing == 0),
        row("issued events received twice", doubled, "", "0", doubled == 0),
        row("call-next answered, p50", percentile(call_ms, 50), "ms"),
        row("call-next answered, p99", percentile(call_ms, 99), "ms",
            f"<= {P99_TARGET_MS:.0f}", percentile(call_ms, 99) <= P99_TARGET_MS),
        row(f"fan-out call -> all {args.streams} streams, p50", percentile(fan_ms, 50), "ms"),
        row(f"fan-out call -> all {args.streams} streams, p99", percentile(fan_ms, 99), "ms"),
        row(f"streams beyond the cap refused 503 + Retry-After (of {args.extra})", refused, "",
            str(args.extra), refused == args.extra),
        row("refusal answered, p99", percentile(refuse_ms, 99), "ms"),
        row("server RSS / descriptors after the calls", f"{rss_busy:.1f} / {fds_busy}", ""),
        row("server RSS / descriptors after every stream closed",
            f"{rss_after:.1f} / {fds_after}", "", f"fds <= {fds_idle + 5}",
            fds_after <= fds_idle + 5),
    ]
    print(table(["measure", "value", "unit", "target", "verdict"], rows, align="<><<<"))
    return 0 if all(checks) else 1
