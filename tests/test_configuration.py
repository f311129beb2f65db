"""Hall settings set in the browser: checked like the file's, stored, applied live and at
every start, audited, and never able to stop a hall from starting."""

import json

import pytest

from hall.events import EventKind
from server import create_app
from services import configuration
from settings import Settings, SettingsError
from tests.plugins.web import close_app


def runtime_of(app):
    return app.extensions["goiso"]


def test_a_change_applies_at_once_and_is_audited(app):
    runtime = runtime_of(app)
    admin = next(c["id"] for c in runtime.hall.accounts.clerks() if c["role"] == "admin")
    changed = configuration.change(runtime, "rules", {"target_wait_minutes": 20,
                                                      "opens_at": "07:00"}, by=admin)
    assert changed == {"target_wait_minutes": (None, 20), "opens_at": (None, "07:00")}
    assert runtime.settings.rules.target_wait_minutes == 20
    assert runtime.hall.rules.opens_at == "07:00"  # the core follows at once
    configuration.change(runtime, "hall", {"name": "UBND phường Bến Thành"}, by=admin)
    assert runtime.settings.hall_name == "UBND phường Bến Thành"
    assert "UBND phường Bến Thành" in app.test_client().get("/display/").get_data(as_text=True)
    logged = [e for e in runtime.hall.log.since(0) if e.kind == EventKind.SETTINGS_CHANGED]
    assert [(e.data["what"], e.data["key"], e.data["before"], e.data["after"], e.clerk)
            for e in logged] == [("rules", "target_wait_minutes", None, 20, admin),
                                 ("rules", "opens_at", None, "07:00", admin),
                                 ("hall", "name", None, "UBND phường Bến Thành", admin)]


def test_a_wrong_value_changes_nothing_and_names_its_key(app):
    runtime = runtime_of(app)
    before = runtime.settings
    with pytest.raises(SettingsError) as refused:
        configuration.change(runtime, "rules", {"timezone": "Mars/Olympus"})
    assert refused.value.places[0][:2] == ("rules", "timezone")
    with pytest.raises(SettingsError) as refused:
        configuration.change(runtime, "rules", {"opens_at": "18:00", "closes_at": "08:00"})
    assert refused.value.places[0][:2] == ("rules", "opens_at")
    with pytest.raises(SettingsError):
        configuration.change(runtime, "server", {"port": 1})  # the machine's, not the page's
    assert runtime.settings is before
    assert runtime.hall.overrides.read() == {}


def test_stored_settings_survive_a_restart_and_a_reset_brings_back_the_file(tmp_path):
    settings = Settings(data_dir=tmp_path)
    app = create_app(settings, testing=True)
    configuration.change(runtime_of(app), "ticket", {"footer": "Cảm ơn quý khách"})
    configuration.change(runtime_of(app), "rules", {"rating_levels": ["Tốt", "Chưa tốt"]})
    close_app(app)
    again = create_app(settings, testing=True)
    runtime = runtime_of(again)
    assert runtime.settings.ticket.footer == "Cảm ơn quý khách"
    assert runtime.printers.layout.footer == "Cảm ơn quý khách"  # the next ticket's texts
    assert runtime.hall.rules.rating_levels == ("Tốt", "Chưa tốt")
    configuration.reset(runtime, "ticket", ("footer",))
    assert runtime.settings.ticket.footer == settings.ticket.footer
    close_app(again)


def test_a_stored_value_that_no_longer_passes_does_not_stop_the_hall(tmp_path):
    settings = Settings(data_dir=tmp_path)
    app = create_app(settings, testing=True)
    runtime = runtime_of(app)
    configuration.change(runtime, "kiosk", {"idle_seconds": 90})
    with runtime.hall.store.write() as conn:  # as if an upgrade renamed the key
        conn.execute("INSERT INTO hall_settings VALUES ('voice', 'colour', ?, 0, NULL)",
                     (json.dumps("red"),))
    close_app(app)
    again = create_app(settings, testing=True)
    runtime = runtime_of(again)
    assert runtime.settings.kiosk.idle_seconds == 90  # the good table still applies
    assert runtime.settings.voice == settings.voice
    assert any("colour" in problem for problem in runtime.settings_problems)
    close_app(again)
