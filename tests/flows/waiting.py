"""Polling for the flow tests that drive real server and cluster processes."""

from __future__ import annotations

import time


def wait_for(predicate, timeout: float, what: str, *, every: float = 0.5):
    """The first truthy value of `predicate()` within `timeout` seconds, else TimeoutError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
