"""The client's address: the peer's, or the proxy's X-Forwarded-For only when trusted."""

import shutil

import pytest

import settings as settings_module
from server import create_app
from web.clients import client_address


@pytest.mark.parametrize(("proxies", "seen"), [(0, "10.0.0.9"), (1, "203.0.113.7")])
def test_forwarded_for_is_believed_only_from_a_trusted_proxy(tmp_path, demo_db, proxies, seen):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copyfile(demo_db[0], data_dir / "goiso.db")
    settings = settings_module.load(data_dir=data_dir,
                                    environ={"GOISO_TRUSTED_PROXIES": str(proxies)})
    app = create_app(settings)
    try:
        found = {}

        @app.before_request
        def remember():
            found["address"] = client_address()

        app.test_client().get("/api/v1/hall", headers={"X-Forwarded-For": "203.0.113.7"},
                              environ_base={"REMOTE_ADDR": "10.0.0.9"})
        assert found["address"] == seen
    finally:
        app.extensions["goiso"].hall.close()
