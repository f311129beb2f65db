"""Pytest plugin: a real PostgreSQL for the hub's tests, started by the suite.

* ``postgres`` (session): a throwaway cluster (``hub.cluster.LocalCluster``: initdb + pg_ctl,
  Debian's ``postgresql`` package) in a temporary folder, stopped at the end.
* ``hub_dsn``: a fresh empty database in it for one test (dropped after), its DSN.
* ``hub_db``: an open, migrated connection to that database (autocommit).

When PostgreSQL is missing the fixtures fail with what to install: a hub test that silently
skips would hide a broken machine.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterator

import pytest

_names = itertools.count(1)


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL cluster of the test session."""
    from hub.cluster import ClusterError, LocalCluster

    # Not under pytest's own temporary folder: every pytest run makes that folder private
    # again (mode 700), which would lock the ``postgres`` user out of a running cluster.
    folder = tempfile.mkdtemp(prefix="goiso-postgres-")
    try:
        cluster = LocalCluster(folder).start()
    except ClusterError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(str(exc))
    try:
        yield cluster
    finally:
        cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def hub_dsn(postgres) -> Iterator[str]:
    """A new empty database for one test."""
    name = f"hub_test_{next(_names)}"
    dsn = postgres.create_database(name)
    try:
        yield dsn
    finally:
        postgres.drop_database(name)


@pytest.fixture
def hub_db(hub_dsn):
    """A migrated connection to the test's hub database."""
    import psycopg

    from hub.schema import migrate

    with psycopg.connect(hub_dsn, autocommit=True) as conn:
        migrate(conn)
        yield conn
