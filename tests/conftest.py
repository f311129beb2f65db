"""The fixtures live in tests/plugins/, one module per kind of thing they make."""

pytest_plugins = ["tests.plugins.accessibility", "tests.plugins.chromium", "tests.plugins.halls",
                  "tests.plugins.printers", "tests.plugins.web"]
