"""A real ``goiso hub serve`` in a subprocess on a test database, for tests and benchmarks.

    with HubServer(dsn) as hub:
        hall_id, token = hub.add_hall("Xã A")
        status, body = hub.post("/api/v1/ingest", batch, token=token)

``stop()`` sends SIGTERM, ``kill()`` SIGKILL (a crash); ``start()`` again on the same port.
"""

from __future__ import annotations

import gzip
import json
import re
import signal
import subprocess
import tempfile
import time

import requests

from tests.liveserver import GOISO, HOST, free_port, goiso_env


class HubServer:
    """``goiso hub serve --dsn DSN`` on 127.0.0.1 and a free port."""

    def __init__(self, dsn: str, port: int | None = None, workers: int = 2,
                 timeout: float = 30.0, threads: int | None = None,
                 pool_size: int | None = None):
        self.dsn = dsn
        self.port = port or free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.workers = workers
        # Left to ``goiso hub serve``'s defaults unless a benchmark tunes them.
        self.tuning = [*(["--threads", str(threads)] if threads else []),
                       *(["--pool-size", str(pool_size)] if pool_size else [])]
        self.timeout = timeout
        self.process: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()

    def start(self) -> HubServer:
        self.process = subprocess.Popen(
            [str(GOISO), "hub", "serve", "--dsn", self.dsn, "--host", HOST, "--port",
             str(self.port), "--workers", str(self.workers), *self.tuning],
            stdout=self._log, stderr=subprocess.STDOUT, env=goiso_env(),
            start_new_session=True)
        end = time.monotonic() + self.timeout
        while True:
            try:
                if requests.get(self.url("/healthz"), timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if self.process.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"the hub did not start:\n{self.output()}")
            time.sleep(0.1)

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crash or a pulled plug would."""
        if self.process and self.process.poll() is None:
            import os

            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        self._log.close()

    def url(self, path: str) -> str:
        return self.base_url + path

    def add_hall(self, name: str) -> tuple[int, str]:
        """A hall registered with ``goiso hub add-hall``: its id and token."""
        done = subprocess.run([str(GOISO), "hub", "add-hall", "--dsn", self.dsn, "--name",
                               name], capture_output=True, text=True, check=True,
                              env=goiso_env())
        hall = int(re.search(r"hall_id = (\d+)", done.stdout)[1])
        token = re.search(r'token = "([^"]+)"', done.stdout)[1]
        return hall, token

    def post(self, path: str, body, token: str | None = None, compress: bool = True,
             raw: bytes | None = None) -> tuple[int, dict]:
        """A JSON POST (gzipped, as a hall's pusher sends it); (status, body)."""
        headers = {"Content-Type": "application/json"}
        data = raw if raw is not None else json.dumps(body).encode()
        if compress and raw is None:
            data = gzip.compress(data)
            headers["Content-Encoding"] = "gzip"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        reply = requests.post(self.url(path), data=data, headers=headers, timeout=30)
        return reply.status_code, reply.json()
