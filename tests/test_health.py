"""GET /healthz: the database's write check, devices, disk and version, without sign-in."""

import sqlite3


def test_healthz_answers_without_sign_in(client, app):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] is True
    assert body["database"]["writable"] is True
    assert body["database"]["schema_version"].startswith("m0")
    assert body["database"]["size"] > 0
    assert body["disk"]["free_bytes"] > 0
    assert "secret" not in response.get_data(as_text=True).lower()


def test_healthz_is_503_while_another_process_holds_the_write_lock(client, app):
    path = app.extensions["goiso"].hall.store.path
    # Another connection holds an exclusive lock: every write of the server would time out.
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.get_json()["database"]["writable"] is False
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert client.get("/healthz").status_code == 200


def test_write_check_changes_nothing(app):
    store = app.extensions["goiso"].hall.store
    before = store.path.read_bytes()
    assert store.writable()
    with store.read() as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert store.path.read_bytes() == before
