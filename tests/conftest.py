pytest_plugins = ["tests.plugins.chromium"]
