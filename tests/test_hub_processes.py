"""Two hall processes push to a hub process while both sides are killed mid-push: after the
restarts every event of each hall is at the hub exactly once (real ``goiso serve``, real
``goiso hub serve``, real PostgreSQL)."""

import http.client
import random
import sqlite3
import threading
import time

import psycopg
import pytest

from tests.hubserver import HubServer
from tests.liveserver import LiveServer
from tests.plugins.waiting import wait_for

pytestmark = pytest.mark.slow
PROCEDURES = ("DEMO-GT-001", "DEMO-GT-007", "DEMO-GT-015")


def hall_config(hub: HubServer, hall_id: int, token: str) -> str:
    return (f'[hub]\nurl = "{hub.base_url}"\nhall_id = {hall_id}\ntoken = "{token}"\n'
            "interval_seconds = 0.5\nbatch_events = 50\n")


def log_of(server: LiveServer) -> list[int]:
    with sqlite3.connect(server.data_dir / "goiso.db") as conn:
        return [r[0] for r in conn.execute("SELECT id FROM events ORDER BY id")]


def at_hub(hub: HubServer, hall_id: int) -> list[int]:
    with psycopg.connect(hub.dsn) as conn:
        return [r[0] for r in conn.execute(
            "SELECT seq FROM events WHERE hall_id = %s ORDER BY seq", (hall_id,))]


def pending(server: LiveServer) -> int | None:
    status, body, _ = server.request("GET", "/healthz")
    return (body or {}).get("hub", {}).get("pending") if body else None


class Traffic:
    """Tickets and calls against a hall until stopped (errors while it restarts are fine)."""

    def __init__(self, server: LiveServer, seed: int):
        self.server, self.random = server, random.Random(seed)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            try:
                self.server.request("POST", "/api/v1/tickets",
                                    {"procedure": self.random.choice(PROCEDURES)}, timeout=3)
                if self.random.random() < 0.5:
                    counter = self.random.choice((1, 3, 4))
                    self.server.request("POST", f"/api/v1/counters/{counter}/next", {},
                                        token=self.server.tokens[counter], timeout=3)
            except (OSError, http.client.HTTPException):  # a reply cut by the kill as well
                time.sleep(0.05)


def test_two_halls_push_through_kills_of_the_hub_and_a_hall(postgres, tmp_path):
    name = "hub_processes"
    postgres.drop_database(name)
    dsn = postgres.create_database(name)
    hub = HubServer(dsn).start()
    halls = []
    try:
        for label in ("a", "b"):
            hall_id, token = hub.add_hall(f"Hội trường {label}")
            server = LiveServer(tmp_path / label,
                                config_text=hall_config(hub, hall_id, token)).start()
            halls.append((hall_id, server))
        traffic = [Traffic(server, seed) for seed, (_, server) in enumerate(halls)]
        for t in traffic:
            t.thread.start()
        chaos = random.Random(7)
        for _ in range(3):
            time.sleep(chaos.uniform(0.8, 1.6))
            hub.kill()  # mid-push: batches in flight, transactions open
            time.sleep(chaos.uniform(0.2, 0.8))
            hub.start()
            time.sleep(chaos.uniform(0.5, 1.2))
            _, victim = halls[0]
            victim.process.kill()  # the hall, mid-push too
            victim.process.wait(10)
            victim.start()
        for t in traffic:
            t.stop.set()
            t.thread.join(10)
        for hall_id, server in halls:
            wait_for(lambda s=server: pending(s) == 0, f"hall {hall_id} caught up", 60)
            logged = log_of(server)
            assert len(logged) > 50
            assert at_hub(hub, hall_id) == logged  # every event, once, in order
    finally:
        for _, server in halls:
            server.close()
        hub.stop()
        postgres.drop_database(name)
