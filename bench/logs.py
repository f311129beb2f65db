"""The log under a burst of bad requests: ``--requests`` (5,000) mixed refusals sent by
``--clients`` (4) keep-alive clients to a real ``goiso serve`` (demo hall): rules of the hall
refused (unknown procedure, nobody waiting, no current ticket), unknown routes and methods,
bad JSON and bad UTF-8, numbers beyond 64 bits, bad dates, a wrong counter token, wrong PINs,
oversized bodies, and garbled request lines.  Counts what the server wrote (lines, bytes,
tracebacks, lines per kind) while the burst ran and after its summaries were due.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import socket
import threading
import time

from tests.liveserver import HOST, LiveServer

from . import table

TITLE = "Log volume for 5,000 bad requests (lines, bytes, tracebacks)"
JSON = {"Content-Type": "application/json", "Accept": "application/json"}


def supervisor_session(server: LiveServer) -> dict:
    """Headers of a supervisor's signed-in session (cookie and CSRF token)."""
    conn = http.client.HTTPConnection(HOST, server.port, timeout=10)
    conn.request("GET", "/api/v1/session", headers=JSON)
    reply = conn.getresponse()
    cookie = reply.getheader("Set-Cookie").split(";")[0]
    token = json.loads(reply.read())["csrf_token"]
    body = json.dumps({"login": "giamsat", "pin": server.pins["giamsat"]}).encode()
    conn.request("POST", "/api/v1/session", body=body,
                 headers={**JSON, "Cookie": cookie, "X-CSRFToken": token})
    reply = conn.getresponse()
    signed = json.loads(reply.read())
    conn.close()
    if reply.status != 201:
        raise RuntimeError(f"sign-in: {reply.status} {signed}")
    return {**JSON, "Cookie": reply.getheader("Set-Cookie").split(";")[0],
            "X-CSRFToken": signed["csrf_token"]}


def requests(token: str, staff: dict) -> list[tuple[str, str, bytes, dict]]:
    """One round of the mix: (method, path, body, headers)."""
    auth = {**JSON, "Authorization": f"Bearer {token}"}
    return [
        ("GET", "/api/v1/audit?page=1000000000000000000000000000000", b"", staff),
        ("GET", "/api/v1/audit?clerk=-1000000000000000000000000000000", b"", staff),
        ("GET", "/api/v1/reports/summary?from=2026-02-30&to=2026-03-01", b"", staff),
        ("PUT", "/api/v1/queues/GPLX", b'{"daily_limit": 1e999999}', staff),
        ("POST", "/api/v1/counters/1/next", b"{}", {**staff, "X-CSRFToken": "stale"}),
        ("POST", "/api/v1/tickets", b'{"procedure": "NOPE"}', JSON),
        ("POST", "/api/v1/tickets", b"{bad", JSON),
        ("POST", "/api/v1/tickets", b'{"procedure": "\xff\xfe"}', JSON),
        ("POST", "/api/v1/tickets", b'{"procedure": 1e999999}', JSON),
        ("POST", "/api/v1/counters/6/recall", b"{}", auth),
        ("POST", "/api/v1/counters/6/finish", b'{"outcome": 7}', auth),
        ("POST", "/api/v1/counters/6/transfer", b'{"counter": 1000000000000000000000000000000}',
         auth),
        ("POST", "/api/v1/counters/1/next", b"{}", {**JSON, "Authorization": "Bearer wrong"}),
        ("GET", "/api/v1/counters/1000000000000000000000000000000", b"", JSON),
        ("PUT", "/api/v1/counters/1000000000000000000000000000000", b"{}", JSON),
        ("GET", "/api/v1/nothing-here", b"", JSON),
        ("DELETE", "/api/v1/tickets", b"", JSON),
        ("GET", "/api/v1/tickets/%ff%00", b"", JSON),
        ("GET", "/api/v1/reports/summary?from=2026-13-45", b"", auth),
        ("GET", "/api/v1/audit?page=1000000000000000000000000000000", b"", JSON),
        ("POST", "/api/v1/session", b'{"login": "an", "pin": "000000"}', JSON),  # no token
        ("POST", "/api/v1/session", b'{"login": "an", "pin": "000000"}', staff),  # wrong PIN
        ("POST", "/api/v1/tickets", b"x" * ((1 << 20) + 1), JSON),
        ("GET", "/kiosk/k9/search?q=%ff", b"", {"Accept": "text/html"}),
    ]


def garbled(port: int) -> None:
    """A request line the HTTP server itself refuses."""
    with socket.create_connection((HOST, port), timeout=10) as sock:
        sock.sendall(b"G\x00T /\r\n\xff\r\n\r\n")
        while sock.recv(65536):
            pass


def burst(server: LiveServer, total: int, clients: int) -> tuple[dict[int, int], float]:
    """Send ``total`` requests of the mix from ``clients`` threads: (status → count, seconds)."""
    mix = requests(server.tokens[6], supervisor_session(server))
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    per_client = total // clients

    def client(offset: int) -> None:
        conn = http.client.HTTPConnection(HOST, server.port, timeout=30)
        for n in range(per_client):
            i = (n + offset) % (len(mix) + 1)
            if i == len(mix):
                garbled(server.port)
                status = 400
            else:
                method, path, body, headers = mix[i]
                try:
                    conn.request(method, path, body=body, headers=headers)
                    reply = conn.getresponse()
                    reply.read()
                    status = reply.status
                    if reply.getheader("Connection", "").lower() == "close":
                        conn.close()
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, server.port, timeout=30)
                    status = 0
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=client, args=(c * 7,)) for c in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses, time.perf_counter() - began


def measure(text: str) -> dict:
    """Lines, bytes, tracebacks and records per logger/level in a piece of the server's log."""
    lines = text.splitlines()
    kinds: dict[str, int] = {}
    for line in lines:
        found = re.match(r"\S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) (\S+) (\S+)", line)
        if found:
            key = " ".join(found.groups())
            kinds[key] = kinds.get(key, 0) + 1
    return {"lines": len(lines), "bytes": len(text.encode()),
            "tracebacks": text.count("Traceback (most recent call last)"), "kinds": kinds}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench logs", description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)
    with LiveServer() as server:
        start = len(server.output().encode())
        statuses, seconds = burst(server, args.requests, args.clients)
        during = server.output().encode()[start:].decode("utf-8", "replace")
        server.stop()  # the summaries still held are written at exit
        after = server.output().encode()[start:].decode("utf-8", "replace")
    sent = sum(statuses.values())
    print(f"{sent} requests in {seconds:.1f} s; statuses: "
          + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
    rows = []
    for name, text in (("during the burst", during), ("with the summaries at exit", after)):
        found = measure(text)
        rows.append([name, found["lines"], found["bytes"], found["tracebacks"],
                     f"{found['bytes'] / max(sent, 1):.1f}"])
    print(table(["log", "lines", "bytes", "tracebacks", "bytes/request"], rows))
    print(json.dumps(measure(after)["kinds"], indent=1, ensure_ascii=False))
    print("The first lines:", *after.splitlines()[:4], sep="\n")
    return 0
