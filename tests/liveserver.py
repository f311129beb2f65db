"""A real ``goiso serve`` (one process, or gunicorn if configured) in a subprocess, for tests
and benchmarks.

    with LiveServer() as server:                 # the demo hall in a temporary folder
        ticket = server.issue("DEMO-GT-001")
        status, body, seconds = server.request("GET", "/api/v1/hall")

    server = LiveServer(data_dir, config_text=CONFIG).start()
    server.stop(); server.start()                # a restart: same folder, port, PINs and tokens

Every wait is bounded: ``start`` gives up after ``timeout`` seconds (with what the server
printed), ``stop`` sends SIGINT (closes the streams, lets requests in flight finish), then
SIGKILL, and ends a gunicorn worker that outlived its master.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOISO = Path(sys.executable).with_name("goiso")
HOST = "127.0.0.1"
PIN_LINE = re.compile(r"^[ \t]+([a-z]+)[ \t]+(\d{6})[ \t]+\S", re.MULTILINE)
TOKEN_LINE = re.compile(r"qu\S*y (\d+): (gs_\S+)")
# Streams as the tests want them: a keep-alive every second (a vanished screen is noticed
# quickly), other processes' changes seen within 0.2 s.  Benchmarks measure the defaults.
QUICK_STREAMS = {"GOISO_SSE_KEEPALIVE_SECONDS": "1", "GOISO_SSE_POLL_SECONDS": "0.2"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def process_pss(pid: int) -> int:
    """A process's proportional set size in bytes, from /proc/<pid>/smaps_rollup."""
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no Pss in /proc/{pid}/smaps_rollup")


def goiso_env(**extra: str) -> dict[str, str]:
    """The environment for a goiso subprocess: unbuffered, no GOISO_* leaking in from outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOISO_")}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


def demo_credentials(text: str) -> tuple[dict[str, str], dict[int, str]]:
    """The PINs (login → PIN) and counter tokens (number → token) that ``--demo`` printed."""
    pins = dict(PIN_LINE.findall(text))
    tokens = {int(number): token for number, token in TOKEN_LINE.findall(text)}
    return pins, tokens


NO_ISSUE_LIMITS = "kiosk_tickets_per_minute = 0\nclient_tickets_per_minute = 0\n"


def without_issue_limits(config_text: str | None) -> str:
    """``config_text`` with the hall's tickets-a-minute limits turned off ([rules])."""
    text = config_text or ""
    if "[rules]\n" in text:
        return text.replace("[rules]\n", "[rules]\n" + NO_ISSUE_LIMITS, 1)
    return text + "\n[rules]\n" + NO_ISSUE_LIMITS


class LiveServer:
    """``goiso serve`` on ``data_dir`` (a temporary folder if None) and ``port`` (a free one).

    ``demo`` seeds the demo hall on the first start; ``pins`` and ``tokens`` are what it printed
    (kept across restarts).  ``config_text`` is written to ``<data_dir>/goiso.toml`` and passed
    as ``--config``; ``config`` names a settings file used alone (its ``[server]`` section gives
    the folder and the port).  ``quick_streams=False`` keeps the shipped SSE timings.
    ``issue_limits=False`` (the default) turns the hall's tickets-a-minute limits off in the
    written config (one client issues hundreds here); a test of the limits passes True.
    ``master`` and ``worker`` are the gunicorn pids (the same pid for one process), ``rss()``
    their memory, ``pss()`` the whole process tree's proportional set size.
    """

    def __init__(self, data_dir: str | Path | None = None, port: int | None = None, *,
                 config_text: str | None = None, config: Path | None = None, demo: bool = True,
                 env: dict[str, str] | None = None, quick_streams: bool = True,
                 cwd: Path = ROOT, timeout: float = 30.0, issue_limits: bool = False):
        self._tmp = None
        if config is not None:
            server = tomllib.loads(config.read_text(encoding="utf-8")).get("server", {})
            data_dir = data_dir or server.get("data_dir")
            port = port or server.get("port", 8080)
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="goiso-live-")
            data_dir = Path(self._tmp.name) / "data"
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.config_text = config_text if issue_limits else without_issue_limits(config_text)
        self.config = config
        self.demo = demo
        self.env = goiso_env(**{**(QUICK_STREAMS if quick_streams else {}), **(env or {})})
        self.cwd = cwd
        self.timeout = timeout
        self.pins: dict[str, str] = {}
        self.tokens: dict[int, str] = {}
        self.process: subprocess.Popen | None = None
        self.worker: int | None = None
        self._worker_process = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._started = False

    # -- running -------------------------------------------------------------------------------

    def start(self) -> LiveServer:
        """Start the server and wait until it answers (the demo hall is seeded only once)."""
        command = [str(GOISO)] if GOISO.exists() else [sys.executable, "-m", "commands"]
        command.append("serve")
        if self.config is not None:
            command += ["--config", str(self.config)]
        else:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            command += ["--data-dir", str(self.data_dir), "--host", HOST, "--port", str(self.port)]
            if self.config_text is not None:
                path = self.data_dir / "goiso.toml"
                path.write_text(self.config_text, encoding="utf-8")
                command += ["--config", str(path)]
        seeding = self.demo and not self._started
        if seeding:
            command.append("--demo")
        self._started = True
        self.worker = self._worker_process = None
        self.process = subprocess.Popen(command, cwd=self.cwd, env=self.env, stdout=self._log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            self._wait_ready()
            if seeding:
                self._read_demo()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        end = time.monotonic() + self.timeout
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(f"goiso serve exited with {self.process.returncode}:\n"
                                   + self.output())
            with contextlib.suppress(OSError, http.client.HTTPException):
                if self.request("GET", "/api/v1/hall", timeout=2)[0] == 200 and self._find_worker():
                    return
            time.sleep(0.02)  # fine enough to time a start (bench footprint)
        raise RuntimeError(f"goiso serve did not answer in {self.timeout} s:\n" + self.output())

    def _find_worker(self) -> bool:
        import psutil

        children = psutil.Process(self.process.pid).children()
        if len(children) == 1:  # gunicorn: it answers once its one worker runs
            self._worker_process = children[0]
            self.worker = children[0].pid
        elif not children:  # one process: the server is its own worker
            self.worker = self.process.pid
        return self.worker is not None

    def _read_demo(self) -> None:
        # --demo prints the PINs and the counters' tokens before the server listens.
        text = self.output()
        self.pins, self.tokens = demo_credentials(text)
        if not self.pins or not self.tokens:
            raise RuntimeError("goiso serve --demo printed no PINs or tokens:\n" + text)

    def stop(self) -> None:
        """Stop the server (the folder and the port stay for another ``start``)."""
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._worker_process is not None:  # a worker outliving its master: end it too
            import psutil

            with contextlib.suppress(psutil.NoSuchProcess):
                if self._worker_process.is_running():  # the same process (pid and start time)
                    self._worker_process.kill()

    def close(self) -> None:
        """Stop the server and remove what it left behind (a temporary folder, its output)."""
        self.stop()
        self._log.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- looking at it -------------------------------------------------------------------------

    @property
    def master(self) -> int:
        """The gunicorn master's pid."""
        return self.process.pid

    def alive(self) -> bool:
        """Whether the server process still runs."""
        return self.process is not None and self.process.poll() is None

    def rss(self) -> tuple[int, int]:
        """Resident set size in bytes of (the gunicorn master, its worker)."""
        import psutil

        return (psutil.Process(self.master).memory_info().rss,
                psutil.Process(self.worker).memory_info().rss)

    def pss(self) -> int:
        """Proportional set size in bytes of the server and all its children (smaps_rollup)."""
        import psutil

        root = psutil.Process(self.process.pid)
        return sum(process_pss(p.pid) for p in [root, *root.children(recursive=True)])

    def output(self) -> str:
        """What the server printed so far (stdout and stderr, every start)."""
        # pread: the file's offset is shared with the server, which writes at it.
        size = os.fstat(self._log.fileno()).st_size
        return os.pread(self._log.fileno(), size, 0).decode("utf-8", "replace")

    def url(self, path: str = "") -> str:
        """The absolute URL of ``path``."""
        return self.base_url + path

    def request(self, method: str, path: str, body: dict | None = None,
                token: str | None = None, timeout: float = 10.0
                ) -> tuple[int, dict | list | None, float]:
        """One request on a fresh connection (``token``: a counter's bearer token):
        (status, the JSON body or None, seconds taken)."""
        headers = {"Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        began = time.perf_counter()
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=payload, headers=headers)
            reply = conn.getresponse()
            raw = reply.read()
            took = time.perf_counter() - began
        finally:
            conn.close()
        is_json = reply.getheader("Content-Type", "").startswith("application/json")
        return reply.status, json.loads(raw) if raw and is_json else None, took

    def issue(self, procedure: str = "DEMO-GT-001", **fields) -> dict:
        """A ticket issued through the JSON API, as a kiosk would; the ticket."""
        status, body, _ = self.request("POST", "/api/v1/tickets",
                                       {"procedure": procedure, **fields})
        if status != 201:
            raise AssertionError(f"POST /api/v1/tickets: HTTP {status}: {body}")
        return body

    def act(self, counter: int, action: str = "next", body: dict | None = None) -> dict:
        """A counter's action with the counter's token; the ticket it concerns."""
        path = f"/api/v1/counters/{counter}/{action}"
        status, reply, _ = self.request("POST", path, body or {}, token=self.tokens[counter])
        if status != 200:
            raise AssertionError(f"POST {path}: HTTP {status}: {reply}")
        return reply
