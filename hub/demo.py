"""``make hub-demo`` (``python -m hub.demo``): a province hub and three demo halls on this
machine, with traffic, to look at; Ctrl-C stops everything.

Under ``var/hub-demo/``: a PostgreSQL cluster of its own (``hub.cluster.LocalCluster``, kept
between runs), the hub (``goiso hub serve``), a province admin account (a fresh PIN each
start), and three halls (``goiso serve --demo``, each with its own folder, port and ``[hub]``
settings, registered at the hub once: ``halls.json`` keeps their ids and tokens). Citizens
and clerks are simulated through the halls' own HTTP API (tickets issued, called, finished);
the halls push their logs to the hub as they would in a province. ``demo.json`` says where
everything is, for a script or a test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg

from .accounts import add_user
from .cluster import LocalCluster, free_port
from .halls import add_hall
from .schema import migrate

HALLS = ("Trung tâm Phục vụ hành chính công tỉnh", "UBND xã Hòa Bình", "UBND phường Tân An")
ADMIN = "tinh"
DATABASE = "hub"
TOKEN_LINE = re.compile(r"qu\S*y (\d+): (gs_\S+)")
PIN_LINE = re.compile(r"^[ \t]+([a-z]+)[ \t]+(\d{6})[ \t]+\S", re.MULTILINE)
READY_SECONDS = 60.0


def goiso() -> list[str]:
    """The ``goiso`` command of this environment."""
    script = Path(sys.executable).with_name("goiso")
    return [str(script)] if script.exists() else [sys.executable, "-m", "commands"]


def environment() -> dict[str, str]:
    """The children's environment: unbuffered, no GOISO_* settings from outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOISO_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def call(method: str, url: str, body=None, token: str | None = None, timeout: float = 10):
    """An HTTP request with a JSON body; (status, JSON reply or None)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,  # noqa: S310 - ours
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310 - ours
            raw = reply.read()
            return reply.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read())
        except ValueError:
            return exc.code, None


def wait_until_up(url: str, process: subprocess.Popen, log: Path, what: str) -> None:
    """Until ``url`` answers 200 (or the process dies: its log is shown)."""
    end = time.monotonic() + READY_SECONDS
    while True:
        with contextlib.suppress(OSError):
            if call("GET", url, timeout=2)[0] == 200:
                return
        if process.poll() is not None or time.monotonic() > end:
            raise RuntimeError(f"{what} did not start; its log ({log}):\n"
                               + log.read_text(encoding="utf-8", errors="replace")[-3000:])
        time.sleep(0.1)


class Demo:
    """The cluster, the hub and the halls of one demo run; ``stop()`` ends them all."""

    def __init__(self, folder: Path, hub_port: int, hall_ports: list[int], interval: float):
        self.folder = folder.resolve()
        self.hub_port = hub_port
        self.hall_ports = hall_ports
        self.interval = interval
        self.cluster: LocalCluster | None = None
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.halls: list[dict] = []
        self.hub_url = f"http://127.0.0.1:{hub_port}"
        self.dsn = ""
        self.pin = ""

    # -- starting ------------------------------------------------------------------------------

    def start(self) -> Demo:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._start_database()
        self._register()
        self._start_hub()
        for hall, port in zip(self.halls, self.hall_ports, strict=True):
            self._start_hall(hall, port)
        where = self.folder / "demo.json"
        where.write_text(json.dumps(self.where(), ensure_ascii=False, indent=2),
                         encoding="utf-8")
        where.chmod(0o600)  # PINs
        return self

    def _start_database(self) -> None:
        postgres = self.folder / "postgres"
        port_file = self.folder / "postgres.port"
        # The same port as last time: the cluster's data is kept between runs.
        port = int(port_file.read_text()) if port_file.exists() else free_port()
        self.cluster = LocalCluster(postgres, port=port).start()
        port_file.write_text(str(port))
        with psycopg.connect(self.cluster.dsn(), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                (DATABASE,)).fetchone():
                conn.execute(f'CREATE DATABASE "{DATABASE}"')
        self.dsn = self.cluster.dsn(DATABASE)

    def _register(self) -> None:
        """The halls at the hub (once; their tokens kept in halls.json) and the admin's PIN."""
        known = self.folder / "halls.json"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            migrate(conn)
            halls = json.loads(known.read_text(encoding="utf-8")) if known.exists() else []
            ids = {r[0] for r in conn.execute("SELECT id FROM halls")}
            if len(halls) != len(HALLS) or any(h["hall_id"] not in ids for h in halls):
                halls = []
                for name in HALLS:
                    hall_id, token = add_hall(conn, name)
                    halls.append({"name": name, "hall_id": hall_id, "token": token})
                known.write_text(json.dumps(halls, ensure_ascii=False), encoding="utf-8")
                known.chmod(0o600)
            # A fresh PIN each start, as the hall's demo does: only its hash is kept.
            self.pin = f"{secrets.randbelow(10**6):06d}"
            with conn.transaction():
                conn.execute("DELETE FROM hub_users WHERE login = %s", (ADMIN,))
            add_user(conn, ADMIN, "Quản trị tỉnh (demo)", "admin", self.pin)
        self.halls = halls

    def _spawn(self, name: str, command: list[str], log: Path) -> subprocess.Popen:
        # Its own session: Ctrl-C reaches only this script, which stops the children in order.
        with log.open("wb") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, env=environment(),
                                       start_new_session=True)
        self.processes.append((name, process))
        return process

    def _start_hub(self) -> None:
        log = self.folder / "hub.log"
        process = self._spawn("hub", [*goiso(), "hub", "serve", "--dsn", self.dsn,
                                      "--host", "127.0.0.1", "--port", str(self.hub_port)], log)
        wait_until_up(self.hub_url + "/healthz", process, log, "the hub")

    def _start_hall(self, hall: dict, port: int) -> None:
        data = self.folder / f"hall-{hall['hall_id']}"
        data.mkdir(exist_ok=True)
        config = data / "goiso.toml"
        config.write_text(
            f'[server]\nhost = "127.0.0.1"\nport = {port}\ndata_dir = "{data}"\n\n'
            f'[hall]\nname = "{hall["name"]}"\n\n'
            f'[hub]\nurl = "{self.hub_url}"\nhall_id = {hall["hall_id"]}\n'
            f'token = "{hall["token"]}"\ninterval_seconds = {self.interval}\n',
            encoding="utf-8")
        config.chmod(0o600)  # the hall's token
        log = data / "serve.log"
        process = self._spawn(f"hall {hall['hall_id']}",
                              [*goiso(), "serve", "--config", str(config), "--demo"], log)
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url + "/api/v1/hall", process, log, f"the hall {hall['name']}")
        printed = log.read_text(encoding="utf-8", errors="replace")
        hall.update(url=url, data_dir=str(data),
                    tokens={int(n): t for n, t in TOKEN_LINE.findall(printed)},
                    pins=dict(PIN_LINE.findall(printed)))
        if not hall["tokens"]:
            raise RuntimeError(f"the hall {hall['name']} printed no counter tokens:\n{printed}")

    def where(self) -> dict:
        """Where to look (``demo.json``)."""
        return {"hub": self.hub_url, "dsn": self.dsn, "admin": {"login": ADMIN, "pin": self.pin},
                "halls": [{k: h[k] for k in ("name", "hall_id", "url", "data_dir", "pins")}
                          for h in self.halls]}

    # -- traffic -------------------------------------------------------------------------------

    def traffic(self, rng: random.Random, tickets: dict[int, int]) -> None:
        """One round in every hall: maybe a ticket issued, a counter calling or finishing."""
        for hall in self.halls:
            if hall.setdefault("procedures", None) is None:
                status, listed = call("GET", hall["url"] + "/api/v1/procedures")
                hall["procedures"] = [p["code"] for p in (listed or [])
                                      if isinstance(p, dict) and p.get("code")][:15]
                hall["busy"] = set()
            counter = rng.choice(sorted(hall["tokens"]))
            token = hall["tokens"][counter]
            if hall["procedures"] and rng.random() < 0.7 and tickets[hall["hall_id"]] != 0:
                status, _ = call("POST", hall["url"] + "/api/v1/tickets",
                                 {"procedure": rng.choice(hall["procedures"])}, token=token)
                if status == 201 and tickets[hall["hall_id"]] > 0:
                    tickets[hall["hall_id"]] -= 1
            base = f"{hall['url']}/api/v1/counters/{counter}"
            if counter in hall["busy"]:
                if call("POST", base + "/finish", {}, token=token)[0] == 200:
                    hall["busy"].discard(counter)
            elif call("POST", base + "/next", {}, token=token)[0] == 200:
                hall["busy"].add(counter)

    # -- stopping ------------------------------------------------------------------------------

    def stop(self) -> None:
        """Halls first (their last push), then the hub, then PostgreSQL."""
        for name, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGINT if name.startswith("hall") else signal.SIGTERM)
        for _, process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        self.processes.clear()
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster = None


def describe(where: dict) -> str:
    """What the demo prints once everything is up."""
    lines = ["", "goiso hub demo:",
             f"  hub           {where['hub']}   (GET /healthz, POST /api/v1/session)",
             f"  admin         {where['admin']['login']} / PIN {where['admin']['pin']}",
             f"  PostgreSQL    {where['dsn']}"]
    for hall in where["halls"]:
        pins = hall["pins"]
        lines.append(f"  hall {hall['hall_id']:<8} {hall['url']}   {hall['name']}")
        lines.append(f"  {'':13} admin quantri / PIN {pins.get('quantri', '?')}, supervisor"
                     f" giamsat / PIN {pins.get('giamsat', '?')}, clerks and counter tokens"
                     f" in {hall['data_dir']}/serve.log")
    lines += ["  traffic: tickets issued, called and finished through the halls' API;"
              " Ctrl-C stops everything.", ""]
    return "\n".join(lines)


def interrupted(*_) -> None:
    """SIGTERM (a service manager, a test) stops the demo as Ctrl-C does."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hub.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", default="var/hub-demo", type=Path)
    parser.add_argument("--hub-port", type=int, default=8090)
    parser.add_argument("--hall-ports", default="8081,8082,8083",
                        help="three ports, comma-separated")
    parser.add_argument("--interval", type=float, default=2.0,
                        help="the halls' [hub] interval_seconds")
    parser.add_argument("--pause", type=float, default=1.0,
                        help="seconds between rounds of simulated traffic")
    parser.add_argument("--tickets", type=int, default=-1,
                        help="tickets per hall, then only calls (default: no end)")
    parser.add_argument("--seconds", type=float, default=0,
                        help="stop after this long (default: at Ctrl-C)")
    args = parser.parse_args(argv)
    ports = [int(p) for p in args.hall_ports.split(",")]
    if len(ports) != len(HALLS):
        parser.error(f"--hall-ports: {len(HALLS)} ports")
    demo = Demo(args.folder, args.hub_port, ports, args.interval)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        demo.start()
        print(describe(demo.where()), flush=True)
        rng = random.Random()
        tickets = {h["hall_id"]: args.tickets for h in demo.halls}
        end = time.monotonic() + args.seconds if args.seconds else None
        while end is None or time.monotonic() < end:
            demo.traffic(rng, tickets)
            time.sleep(args.pause)
    except KeyboardInterrupt:
        print("\nstopping the halls, the hub and PostgreSQL…", flush=True)
    finally:
        demo.stop()
    print("stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
