"""Flow tests run real Prefect flows against one session-scoped local test server."""

from __future__ import annotations

import os
import tempfile

os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="winnow-prefect-home-")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
# Reusable servers started by CLI runs under test (no PREFECT_API_URL) keep their files here,
# never in the user's cache (the migrated database template is still shared: flows/server.py).
os.environ["WINNOW_CACHE_DIR"] = tempfile.mkdtemp(prefix="winnow-cache-")

import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def prefect_server():
    """A real Prefect API server for the whole flow-test session: winnow's private server on
    the session's new PREFECT_HOME (a copy of the migrated template, not 7-10 s of migrations)."""
    import sys

    from flows.server import private_server, reusable_servers, stop_server

    with private_server():
        yield
        # Nothing in this process fell back to Prefect's temporary server (a thread that did
        # not see the session's API URL would have started one).
        server_module = sys.modules.get("prefect.server.api.server")
        if server_module is not None:
            started = server_module.SubprocessASGIServer._instances.values()
            assert not [s.api_url for s in started if s.running]
    for _, info in reusable_servers():  # left by tests of the reusable server
        stop_server(info)
