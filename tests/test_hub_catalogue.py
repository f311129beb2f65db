"""The province's catalogue flows down: published on a real hub, seen by a hall at its next
push, previewed and applied by the hall's admin (or by itself when the hall says so)."""

import subprocess

import pytest
import requests

from services import hubpush
from settings import HubOptions
from tests.hubserver import HubServer
from tests.liveserver import GOISO, goiso_env
from tests.plugins.web import issue_in_hall, staff_client

pytestmark = pytest.mark.slow
NEW_NAME = "Đổi giấy phép lái xe (mẫu mới của tỉnh)"


@pytest.fixture(scope="module")
def hub(postgres):
    name = "hub_catalogue"
    postgres.drop_database(name)
    dsn = postgres.create_database(name)
    with HubServer(dsn) as server:
        yield server
    postgres.drop_database(name)


def publish(hub, path, *extra) -> subprocess.CompletedProcess:
    return subprocess.run([str(GOISO), "hub", "publish-catalogue", "--dsn", hub.dsn, str(path),
                           *extra], capture_output=True, text=True, env=goiso_env(),
                          check=False)


@pytest.fixture(scope="module")
def province_file(hub, tmp_path_factory, demo_db):
    """The demo catalogue as the province publishes it: one name changed, one procedure new."""
    import csv
    from pathlib import Path

    rows = list(csv.DictReader((Path(__file__).parents[1] / "hall" / "demo_procedures.csv")
                               .read_text(encoding="utf-8").splitlines()))
    rows[0]["name"] = NEW_NAME
    rows.append({"code": "TINH-001", "field": rows[0]["field"],
                 "name": "Thủ tục mới của tỉnh", "queue": rows[0]["queue"]})
    path = tmp_path_factory.mktemp("province") / "danh-muc.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    done = publish(hub, path, "--note", "mẫu mới")
    assert done.returncode == 0, done.stderr
    assert "catalogue version 1:" in done.stdout
    return path


def hall_for(other_app, hub, name: str, **options):
    hall_id, token = hub.add_hall(name)
    return other_app(hub=HubOptions(url=hub.base_url, hall_id=hall_id, token=token,
                                    **options)), token


def test_a_bad_file_is_not_published(hub, tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("ma,ten\n1,2\n", encoding="utf-8")
    done = publish(hub, bad)
    assert done.returncode != 0 and "thiếu cột" in done.stderr


def test_the_hall_sees_previews_and_applies_it(other_app, hub, province_file):
    app, token = hall_for(other_app, hub, "Xã xem trước")
    runtime = app.extensions["goiso"]
    issue_in_hall(app, kiosk="k1")
    hubpush.push_once(runtime)
    state = hubpush.catalogue_state(runtime)
    assert state["offered"] == 1 and state["applied"] is None and state["newer"]
    admin = staff_client(app, "quantri")
    page = admin.get("/admin/catalogue").text
    assert "Xem trước bản 1 của tỉnh" in page
    preview = admin.post("/admin/catalogue/province")
    assert preview.status_code == 200, preview.text
    assert "~ DEMO-GT-001: name" in preview.text and "+ TINH-001" in preview.text
    assert runtime.hall.catalogue.procedure("DEMO-GT-001")["name"] != NEW_NAME  # not yet
    upload = preview.text.split('name="upload" value="')[1].split('"')[0]
    fingerprint = preview.text.split('name="fingerprint" value="')[1].split('"')[0]
    applied = admin.post("/admin/catalogue/import/apply", data={
        "upload": upload, "fingerprint": fingerprint, "province_version": "1"})
    assert applied.status_code == 200, applied.text
    assert runtime.hall.catalogue.procedure("DEMO-GT-001")["name"] == NEW_NAME
    assert hubpush.catalogue_state(runtime)["applied"] == 1
    assert "Xem trước bản 1 của tỉnh" not in admin.get("/admin/catalogue").text
    # Only halls fetch it, with their own token.
    assert requests.get(hub.url("/api/v1/catalogue/1"), timeout=5).status_code == 401
    reply = requests.get(hub.url("/api/v1/catalogue/1"), timeout=5,
                         headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200 and reply.content == province_file.read_bytes()


def test_a_hall_may_apply_it_by_itself(other_app, hub, province_file):
    app, _ = hall_for(other_app, hub, "Xã tự áp dụng", catalogue_auto_apply=True)
    runtime = app.extensions["goiso"]
    issue_in_hall(app, kiosk="k1")
    hubpush.push_once(runtime)
    state = hubpush.catalogue_state(runtime)
    assert state["applied"] == 1 and state["error"] is None and not state["newer"]
    assert runtime.hall.catalogue.procedure("TINH-001")["name"] == "Thủ tục mới của tỉnh"
