"""A throwaway PostgreSQL cluster under a folder of ours (``initdb`` + ``pg_ctl``), for the
hub's tests and ``make hub-demo``; never for a real province (that is a managed server).

PostgreSQL refuses to run as root, so as root the cluster runs as the ``postgres`` user the
Debian package creates, in a folder handed to it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

# Fast and still safe against a killed server (what the tests do): only an operating-system
# crash could lose a commit with these, and a throwaway cluster does not outlive one.
TEST_SETTINGS = ("-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
                 " -c max_connections=300 -c shared_buffers=128MB")
SUPERUSER = "goiso"


class ClusterError(RuntimeError):
    """The cluster could not be made or started; the message says what to do."""


def binaries() -> Path:
    """The folder of PostgreSQL's server programs (Debian's newest, else the PATH's)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    raise ClusterError("PostgreSQL's initdb was not found: run `make test` (or scripts/setup),"
                       " which installs Debian's `postgresql` package")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalCluster:
    """One cluster in ``folder`` on 127.0.0.1:``port``; ``dsn(name)`` for a database in it."""

    def __init__(self, folder: str | Path, port: int | None = None,
                 settings: str = TEST_SETTINGS):
        self.folder = Path(folder).resolve()
        self.data = self.folder / "data"
        self.sockets = self.folder / "run"
        self.port = port or free_port()
        self.settings = settings
        self.bin = binaries()
        self._as = self._user()

    @staticmethod
    def _user() -> list[str]:
        if os.geteuid() != 0:
            return []
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise ClusterError("as root PostgreSQL runs as the `postgres` user, which is"
                               " missing: install Debian's `postgresql` package") from None
        return ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run([*self._as, *args], capture_output=True, text=True,
                              timeout=timeout, check=False)
        if done.returncode != 0:
            raise ClusterError(f"{' '.join(args[:2])} failed: {done.stderr.strip()[-2000:]}")
        return done.stdout

    def _own(self) -> None:
        """Hand the folder to the ``postgres`` user (as root)."""
        if self._as:
            entry = pwd.getpwnam("postgres")
            for path in (self.folder, *self.folder.rglob("*")):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            # The folder's parents must let that user through.
            for parent in self.folder.parents:
                if parent == Path("/"):
                    break
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o001)

    def start(self) -> LocalCluster:
        """Make the cluster if it is new, start it and wait until it takes connections."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sockets.mkdir(exist_ok=True)
        self._own()
        if not (self.data / "PG_VERSION").exists():
            self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
                      "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        options = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
                   f" {self.settings}")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.folder / "postgres.log"), "-w", "-t", "60", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate``: as a crash would)."""
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w",
                      "stop")

    def dsn(self, database: str = "postgres") -> str:
        """The connection string of ``database`` in this cluster (TCP on 127.0.0.1)."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; its connection string."""
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, closing whatever still uses it."""
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def wait_ready(self, timeout: float = 30) -> None:
        """Until the server takes connections (after a restart)."""
        import psycopg

        end = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.dsn(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.1)
