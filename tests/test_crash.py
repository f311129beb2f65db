"""kill -9 of the real server at random moments while 8 clients issue and 4 counters call, 100
times: after each restart every ticket a client was given exists, numbers per queue and day
are unique and gap-free, the file is intact, and no ticket is held by two counters."""

import http.client
import random
import sqlite3
import threading
import time

import pytest

from tests.hallproc import audit
from tests.liveserver import LiveServer

pytestmark = pytest.mark.slow

CYCLES = 100
CLIENTS = 8
COUNTERS = (3, 4, 5, 6)  # the demo counters of the queues numbered without a daily cap


class Load:
    """Clients and counters hammering the server until it dies; what each was answered."""

    def __init__(self, server: LiveServer, procedures: list[str], rng: random.Random):
        self.server = server
        self.procedures = procedures
        self.rng = random.Random(rng.random())
        self.given: list[dict] = []  # tickets answered 201
        self.called: list[tuple[int, str]] = []  # (counter, number) answered 200
        self.unexpected: list[str] = []
        self.lock = threading.Lock()

    def _issue(self, k: int) -> None:
        local = random.Random(self.rng.random() + k)
        while True:
            try:
                status, body, _ = self.server.request(
                    "POST", "/api/v1/tickets", {"procedure": local.choice(self.procedures)},
                    timeout=5)
            except (OSError, http.client.HTTPException):
                return  # the server is gone
            with self.lock:
                if status == 201:
                    self.given.append(body)
                else:
                    self.unexpected.append(f"issue {status} {body}")

    def _call(self, number: int) -> None:
        token = self.server.tokens[number]
        while True:
            try:
                status, body, _ = self.server.request(
                    "POST", f"/api/v1/counters/{number}/next", {}, token=token, timeout=5)
            except (OSError, http.client.HTTPException):
                return
            with self.lock:
                if status == 200:
                    self.called.append((number, body["number"]))
                elif status != 204:  # 204: nobody waiting
                    self.unexpected.append(f"call {number}: {status} {body}")

    def run_until_killed(self, seconds: float) -> None:
        threads = [threading.Thread(target=self._issue, args=(k,)) for k in range(CLIENTS)]
        threads += [threading.Thread(target=self._call, args=(n,)) for n in COUNTERS]
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        self.server.process.kill()  # SIGKILL: no cleanup, no flush, mid-request
        self.server.process.wait(10)
        for thread in threads:
            thread.join(10)


def check(path, given: list[dict]) -> int:
    """The invariants on the file as a restarting server finds it; how many tickets it holds."""
    per_queue = audit(path)  # integrity, numbers 1..N per queue and day, one 'issued' each
    conn = sqlite3.connect(path)
    try:
        tokens = {row[0] for row in conn.execute("SELECT token FROM tickets")}
        lost = [t["number"] for t in given if t["token"] not in tokens]
        assert not lost, f"handed out but lost: {lost[:5]}"
        doubly_held = conn.execute(
            "SELECT current_ticket_id FROM counters WHERE current_ticket_id IS NOT NULL"
            " GROUP BY current_ticket_id HAVING count(*) > 1").fetchall()
        assert not doubly_held, f"tickets held by two counters: {doubly_held}"
        wrong = conn.execute(
            "SELECT c.number FROM counters c JOIN tickets t ON t.id = c.current_ticket_id"
            " WHERE t.status = 'called' AND t.counter_number IS NOT c.number").fetchall()
        assert not wrong, f"counters holding a ticket called to another: {wrong}"
        # The other way round: a ticket 'called' is held by a counter (the load only calls
        # next, which finishes the counter's ticket before it takes the next one).
        held = {r[0] for r in conn.execute(
            "SELECT current_ticket_id FROM counters WHERE current_ticket_id IS NOT NULL")}
        called = {r[0] for r in conn.execute("SELECT id FROM tickets WHERE status = 'called'")}
        assert called == held, f"called but held by nobody: {called - held}"
        # Events agree with tickets: one 'called' event for each ticket called or done, and
        # one 'finished' for each ticket done.
        for kind, statuses in (("called", ("called", "done")), ("finished", ("done",))):
            logged = dict(conn.execute("SELECT ticket_id, count(*) FROM events WHERE kind = ?"
                                       " GROUP BY ticket_id", (kind,)))
            marks = ",".join("?" * len(statuses))
            should = {r[0] for r in conn.execute(
                f"SELECT id FROM tickets WHERE status IN ({marks})", statuses)}
            assert set(logged) == should and set(logged.values()) <= {1}, \
                f"'{kind}' events {set(logged) ^ should} disagree with the tickets"
    finally:
        conn.close()
    return sum(len(ids) for ids in per_queue.values())


def test_kill_9_a_hundred_times_loses_and_doubles_nothing(tmp_path):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"\nseed {seed}")
    server = LiveServer(tmp_path / "data").start()
    database = server.data_dir / "goiso.db"
    try:
        procedures = [p["code"] for p in server.request("GET", "/api/v1/procedures")[1]
                      if p["queue"]["code"] != "GPLX"]
        given, called, killed_mid_write, unanswered = [], 0, 0, 0
        for cycle in range(CYCLES):
            load = Load(server, procedures, rng)
            load.run_until_killed(rng.uniform(0.05, 0.3))
            assert not load.unexpected, f"seed {seed} cycle {cycle}: {load.unexpected[:3]}"
            given += load.given
            called += len(load.called)
            held = check(database, given)
            # Committed but never answered: the kill came between the commit and the reply.
            killed_mid_write += held - len(given) > unanswered
            unanswered = held - len(given)
            server.start()  # the same folder and port: a restart after a power cycle
        assert len(given) > CYCLES and called > CYCLES, (len(given), called)
        status, ticket, _ = server.request("POST", "/api/v1/tickets",
                                           {"procedure": procedures[0]})
        assert status == 201
        print(f"{CYCLES} kills: {len(given)} tickets given, {called} calls answered,"
              f" {killed_mid_write} kills between a commit and its answer")
    finally:
        server.close()
