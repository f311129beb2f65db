"""How ``goiso hub serve`` runs the hub: gunicorn with threaded workers (psycopg blocks; a
province's staff and its halls' pushes are a few hundred connections, not thousands), each
worker with its own connection pool, the schema migrated once before the workers start."""

from __future__ import annotations

import psycopg

from .schema import migrate


def serve(dsn: str, host: str, port: int, workers: int = 4, threads: int = 8,
          pool_size: int = 8, secure_cookies: bool = False,
          keep_days: int | None = None) -> None:
    """Serve the hub until SIGTERM or SIGINT."""
    from gunicorn.app.base import BaseApplication

    with psycopg.connect(dsn, autocommit=True, connect_timeout=30) as conn:
        migrate(conn)

    class HubServer(BaseApplication):
        def load_config(self):
            for key, value in {
                "bind": f"{host}:{port}", "workers": workers, "threads": threads,
                "worker_class": "gthread", "keepalive": 5, "graceful_timeout": 10,
                "timeout": 60, "accesslog": None, "errorlog": "-", "loglevel": "warning",
                "proc_name": "goiso-hub",
            }.items():
                self.cfg.set(key, value)

        def load(self):
            from .app import create_hub_app
            from .facts import counter
            from .jobs import Traffic
            from .packing import KEEP_DAYS, packer
            from .province import builder
            from .store import open_pool

            # Opened in the worker (after the fork): a pool's connections are not shared.
            pool = open_pool(dsn, max_size=pool_size, migrate_now=False)
            traffic = Traffic()
            # Every worker counts noted tickets (giving way to the batches it stores) and
            # builds the province's rows of quiet days (locks in the database keep two from
            # doing the same work).
            counter(pool, traffic=traffic).start()
            builder(pool).start()
            # Closed days packed (one row per hall and day), an hour apart.
            packer(pool, KEEP_DAYS if keep_days is None else keep_days).start()
            return create_hub_app(pool, secure_cookies=secure_cookies, traffic=traffic)

    HubServer().run()
