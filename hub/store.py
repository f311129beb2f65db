"""The hub's connections: one pool per process, migrated on open."""

from __future__ import annotations

import psycopg
from psycopg_pool import ConnectionPool

from .schema import migrate


def open_pool(dsn: str, min_size: int = 2, max_size: int = 20, migrate_now: bool = True,
              timeout: float = 30.0) -> ConnectionPool:
    """A pool on ``dsn`` (waiting up to ``timeout`` seconds for the server), migrated first."""
    if migrate_now:
        with psycopg.connect(dsn, connect_timeout=int(timeout)) as conn:
            migrate(conn)
    pool = ConnectionPool(dsn, min_size=min_size, max_size=max_size, open=False,
                          kwargs={"autocommit": True}, name="goiso-hub")
    pool.open(wait=True, timeout=timeout)
    return pool
