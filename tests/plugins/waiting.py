"""Waiting for what another thread or process does: polling with a bound, never a fixed sleep."""

import time

import pytest


def wait_for(predicate, what="a condition", timeout: float = 5.0, step: float = 0.01):
    """Poll ``predicate`` until it returns something truthy (returned); fail the test after
    ``timeout`` s naming ``what`` (a text, or a function that tells the state by then)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for "
                        f"{what() if callable(what) else what}")
        time.sleep(step)
