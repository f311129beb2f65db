"""``make hub-demo`` for real: PostgreSQL, the hub and three demo halls with traffic; every
hall's events reach the hub, and a Ctrl-C stops everything."""

import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest
import requests

from tests.liveserver import ROOT, free_port, goiso_env
from tests.plugins.waiting import wait_for

pytestmark = pytest.mark.slow


def listening(url: str) -> bool:
    host, port = url.rsplit("//", 1)[1].split(":")
    with socket.socket() as sock:
        return sock.connect_ex((host, int(port))) == 0


@pytest.fixture
def demo():
    # Not under pytest's temporary folder: the cluster's user must get through its parents.
    folder = Path(tempfile.mkdtemp(prefix="goiso-hub-demo-"))
    ports = [free_port() for _ in range(4)]
    process = subprocess.Popen(
        [sys.executable, "-m", "hub.demo", "--folder", str(folder), "--hub-port",
         str(ports[0]), "--hall-ports", ",".join(map(str, ports[1:])), "--tickets", "6",
         "--interval", "0.5", "--pause", "0.1"],
        cwd=ROOT, env=goiso_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    process.folder = folder
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(folder, ignore_errors=True)


def test_every_halls_events_reach_the_hub_and_ctrl_c_stops_all(demo):
    where_file = demo.folder / "demo.json"
    wait_for(lambda: where_file.exists() or demo.poll() is not None, "the demo to start",
             timeout=120, step=0.2)
    assert demo.poll() is None, demo.stdout.read().decode()
    where = json.loads(where_file.read_text(encoding="utf-8"))
    assert len(where["halls"]) == 3 and where["admin"]["pin"].isdigit()
    # The province admin signs in to the hub with what the demo printed.
    reply = requests.post(where["hub"] + "/api/v1/session", json=where["admin"], timeout=10)
    assert reply.status_code == 200 and reply.json()["user"]["role"] == "admin"

    def at_hub() -> dict[int, tuple[int, int]]:
        with psycopg.connect(where["dsn"]) as conn:
            return {h: (n, acked) for h, n, acked in conn.execute(
                "SELECT h.id, count(e.seq), p.acked_seq FROM halls h"
                " JOIN hall_positions p ON p.hall_id = h.id"
                " LEFT JOIN events e ON e.hall_id = h.id GROUP BY h.id, p.acked_seq")}

    def all_there():
        hub = at_hub()
        for hall in where["halls"]:
            state = requests.get(hall["url"] + "/healthz", timeout=5).json()["hub"]
            # Six tickets issued, called and finished (or more events than that).
            if state["head"] < 6 * 3 or state["pending"] or \
                    hub.get(hall["hall_id"]) != (state["head"], state["head"]):
                return False
        return hub

    wait_for(all_there, lambda: f"every hall's events at the hub: {at_hub()}", timeout=120,
             step=0.5)
    with psycopg.connect(where["dsn"]) as conn:
        kinds = {r[0] for r in conn.execute(
            "SELECT k.name FROM events e JOIN event_kinds k ON k.code = e.kind")}
    assert {"issued", "called", "finished"} <= kinds

    demo.send_signal(signal.SIGINT)  # Ctrl-C
    assert demo.wait(60) == 0
    output = demo.stdout.read().decode()
    assert "stopped." in output
    assert not any(listening(url) for url in [where["hub"], *(h["url"] for h in where["halls"])])
    assert not (demo.folder / "postgres" / "data" / "postmaster.pid").exists()
