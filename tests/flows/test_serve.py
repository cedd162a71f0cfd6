"""`winnow serve` against a real `prefect server start`: schedule, a triggered run, artifacts.

Marked `server` (deselect locally with `-m "not server"`); runs in CI.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from flows.artifacts import PROGRESS_KEY, REPORT_KEY, SUMMARY_KEY
from tests.conftest import REPO

pytestmark = pytest.mark.server

CRON = "15 3 * * *"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(url: str, path: str, body: dict | None = None, method: str | None = None):
    req = urllib.request.Request(
        url + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method=method or ("GET" if body is None else "POST"),
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or "null")


def _wait(what: str, fn, timeout: float, procs: list[subprocess.Popen]):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            assert p.poll() is None, f"{p.args} exited with {p.returncode} while waiting for {what}"
        try:
            value = fn()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PYTHONPATH=str(REPO),
        **extra,
    )
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`prefect server start` on a free port in a temp PREFECT_HOME; yields its API URL."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = _free_port()
    log = open(home / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start"],
        env=_env(home, PREFECT_SERVER_API_PORT=str(port), PREFECT_SERVER_API_HOST="127.0.0.1"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        _wait("server health", lambda: _api(url, "/health"), 120, [proc])
        yield url, home
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def test_served_deployment_runs_on_schedule_and_publishes_artifacts(server, tmp_path, seeds_copy):
    url, home = server
    out = tmp_path / "out"
    serve_log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve", "--input", str(seeds_copy)]
        + ["--output", str(out), "--cron", CRON],
        cwd=REPO,
        env=_env(home, PREFECT_API_URL=url, PREFECT_RUNNER_POLL_FREQUENCY="1"),
        stdout=serve_log,
        stderr=subprocess.STDOUT,
    )
    try:
        deployment = _wait(
            "deployment",
            lambda: _api(
                url, "/deployments/filter", {"deployments": {"name": {"any_": ["winnow-nightly"]}}}
            ),
            90,
            [proc],
        )[0]
        assert deployment["schedules"][0]["schedule"]["cron"] == CRON
        assert deployment["schedules"][0]["active"]
        assert deployment["parameters"] == {"inputs": [str(seeds_copy)], "output": str(out)}

        started = time.monotonic()
        run = _api(url, f"/deployments/{deployment['id']}/create_flow_run", {})

        def finished():
            state = _api(url, f"/flow_runs/{run['id']}")["state"]
            assert state["type"] not in {"FAILED", "CRASHED", "CANCELLED"}, state
            return state["type"] == "COMPLETED"

        _wait("flow run COMPLETED", finished, 120, [proc])
        wall = time.monotonic() - started
        flow_run = _api(url, f"/flow_runs/{run['id']}")
        assert flow_run["name"] == f"winnow-seeds-to-{out.name}"

        task_runs = _api(url, "/task_runs/filter", {"flow_runs": {"id": {"any_": [run["id"]]}}})
        names = sorted(t["name"] for t in task_runs)
        # seeds fit one batch: extract, count-keys, flag, dedup, load
        assert names == ["count-keys", "dedup", "extract-00000", "flag-00000", "load-00000"]

        artifacts = _api(url, "/artifacts/filter", {"flow_runs": {"id": {"any_": [run["id"]]}}})
        by_key = {a["key"]: a for a in artifacts}
        assert {SUMMARY_KEY, REPORT_KEY, PROGRESS_KEY} <= set(by_key)
        table = by_key[SUMMARY_KEY]["data"]
        table = json.loads(table) if isinstance(table, str) else table
        metrics = {row["metric"]: row["value"] for row in table}
        assert metrics["documents"] == "8" and metrics["errors"] == "1"
        assert metrics["error empty_document"] == "1"
        assert metrics["started_at"].startswith(flow_run["start_time"][:10])
        assert by_key[PROGRESS_KEY]["data"] == 100.0
        report = by_key[REPORT_KEY]["data"]
        assert "## Top languages" in report and "## Top repeated template lines" in report
        assert f"{out}/documents" in report
        print(f"scheduled run: {wall:.1f} s wall, {len(task_runs)} task runs")

        # a second run finds nothing new: every input is skipped
        run2 = _api(url, f"/deployments/{deployment['id']}/create_flow_run", {})
        run = run2
        _wait("second flow run COMPLETED", finished, 120, [proc])
        arts = _api(url, "/artifacts/filter", {"flow_runs": {"id": {"any_": [run2["id"]]}}})
        data = next(a["data"] for a in arts if a["key"] == SUMMARY_KEY)
        data = json.loads(data) if isinstance(data, str) else data
        metrics = {row["metric"]: row["value"] for row in data}
        assert metrics["files read"] == "0" and metrics["files skipped (already loaded)"] == "5"
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        serve_log.close()
        shutil.copy(tmp_path / "serve.log", home / "serve.log")
