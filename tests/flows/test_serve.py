"""A real `prefect server start`, a served winnow deployment, a triggered run, its artifacts, the UI.

Runs in CI; skip locally with `pytest -m "not server"`.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from flows.server import free_port
from tests.conftest import REPO
from tests.flows.waiting import wait_for

pytestmark = pytest.mark.server
CRON = "*/30 * * * *"


def _post(client: httpx.Client, url: str, payload: dict, timeout: float = 60):
    """POST and return the JSON body; retry server errors (SQLite busy while the scheduler writes)."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.post(url, json=payload)
        if response.is_success or response.status_code < 500 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert response.is_success, f"POST {url} -> {response.status_code}: {response.text[:500]}"
    return response.json()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    """`prefect server start` on a free loopback port, in its own PREFECT_HOME."""
    home = tmp_path_factory.mktemp("prefect-server-home")
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    log = open(home / "server.log", "w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "prefect"), "server", "start"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}/api"

    def healthy():
        try:
            return httpx.get(f"{api}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(healthy, 120, "prefect server health")
        yield api, env
    finally:
        _stop(proc)
        log.close()


@pytest.mark.parametrize("workers", [1, 2])  # 2: each run's batches in worker processes
def test_served_deployment_runs_on_schedule_and_publishes_artifacts(
    prefect_server, tmp_path, workers
):
    api, server_env = prefect_server
    inputs = tmp_path / "in"
    shutil.copytree(REPO / "seeds", inputs)
    out = tmp_path / "out"
    env = {**server_env, "PREFECT_API_URL": api, "PYTHONPATH": str(REPO)}
    log = open(tmp_path / "serve.log", "w")
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "serve",
            "--input",
            str(inputs),
            "--output",
            str(out),
            "--cron",
            CRON,
            "--workers",
            str(workers),
            *(["--name", f"winnow-w{workers}"] if workers > 1 else []),
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    client = httpx.Client(base_url=api, timeout=10)
    name = "winnow-scheduled" if workers == 1 else f"winnow-w{workers}"  # the default name
    by_name = {"name": {"any_": [name]}}
    try:
        deployment = wait_for(
            lambda: next(
                iter(_post(client, "/deployments/filter", {"deployments": by_name})), None
            ),
            120,
            "the deployment",
        )
        assert deployment["name"] == name
        crons = [s["schedule"].get("cron") for s in deployment["schedules"]]
        assert crons == [CRON]
        assert deployment["parameters"]["output"] == str(out.resolve())

        run = _post(client, f"/deployments/{deployment['id']}/create_flow_run", {})

        def finished():
            response = client.get(f"/flow_runs/{run['id']}")
            if not response.is_success:  # busy server: poll again
                return None
            state = response.json()["state"]
            return (
                state if state["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} else None
            )

        state = wait_for(finished, 240, "the triggered flow run")
        assert state["type"] == "COMPLETED", (tmp_path / "serve.log").read_text()[-3000:]

        keys = {"winnow-summary", "winnow-report", "winnow-progress"}

        def artifacts():
            arts = _post(
                client,
                "/artifacts/filter",
                {"artifacts": {"flow_run_id": {"any_": [run["id"]]}}},
            )
            by_key = {a["key"]: a for a in arts}
            return by_key if keys <= set(by_key) else None

        by_key = wait_for(artifacts, 60, "the run's artifacts")
        summary = by_key["winnow-summary"]["data"]
        assert "documents" in str(summary) and "duplicates" in str(summary)
        assert "Top boilerplate reasons" in by_key["winnow-report"]["data"]
        assert by_key["winnow-progress"]["data"] == 100.0
        assert client.get(f"/flow_runs/{run['id']}").json()["name"] == "winnow-in-to-out"
        # the same server serves the UI: the run's page and the settings that point it at the API
        ui = api.removesuffix("/api")
        page = httpx.get(
            f"{ui}/runs/flow-run/{run['id']}",
            headers={"Accept": "text/html"},
            follow_redirects=True,
        )
        assert page.status_code == 200 and "<title>Prefect Server</title>" in page.text
        assert httpx.get(f"{ui}/ui-settings").json()["api_url"] == api
        expected = ["count-keys", "dedup", "extract-00000", "flag-00000", "load"]

        def task_run_names():
            # task-run states reach the server as events, so they may trail the flow run
            task_runs = _post(
                client, "/task_runs/filter", {"flow_runs": {"id": {"any_": [run["id"]]}}}
            )
            names = sorted(t["name"] for t in task_runs)  # one batch of 5 files
            return names if len(names) >= len(expected) else None

        assert wait_for(task_run_names, 60, "the run's task runs") == expected
        assert (out / "documents").is_dir()

        def pids():  # the flow's and the extract tasks' process ids, from the run's logs
            logs = _post(client, "/logs/filter", {"logs": {"flow_run_id": {"any_": [run["id"]]}}})
            found: dict[str, set[int]] = {}
            for log in logs:
                m = re.match(r"(run|extract batch) \S+ \(pid (\d+)\)", log["message"])
                if m:
                    found.setdefault(m[1], set()).add(int(m[2]))
            return found if len(found) == 2 else None

        found = wait_for(pids, 60, "the run's logs")
        if workers > 1:  # the batch ran in a worker process, not in the flow's process
            assert found["extract batch"].isdisjoint(found["run"]), found
        else:
            assert found["extract batch"] == found["run"], found
    finally:
        _stop(serve)
        log.close()
        client.close()


def _flow_run_state(client: httpx.Client, run_id: str):
    response = client.get(f"/flow_runs/{run_id}")
    if not response.is_success:  # busy server: poll again
        return None
    state = response.json()["state"]
    return state if state["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} else None


def _artifact(client: httpx.Client, key: str, run_id: str):
    arts = _post(
        client,
        "/artifacts/filter",
        {"artifacts": {"key": {"any_": [key]}, "flow_run_id": {"any_": [run_id]}}},
    )
    return arts[0] if arts else None


def test_two_scheduled_runs_history_error_tag_and_automation(prefect_server, tmp_path):
    """Two runs of a served deployment (the second with a bad input): the history artifact
    has both rows with the `runs` values, the bad run carries the error tag, its errors
    artifact names the file, and the errors automation fires."""
    import json

    import pandas as pd

    api, server_env = prefect_server
    inputs = tmp_path / "in"
    shutil.copytree(REPO / "seeds", inputs)
    out = tmp_path / "out"
    env = {**server_env, "PREFECT_API_URL": api, "PYTHONPATH": str(REPO)}
    made = subprocess.run(
        [sys.executable, "-m", "flows.cli", "automations"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0 and "2 automations created" in made.stdout, made.stderr
    name = "winnow-history"
    log = open(tmp_path / "serve.log", "w")
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "serve",
            str(inputs),
            "-o",
            str(out),
            "--cron",
            CRON,
            "--timezone",
            "Europe/Oslo",
            "--name",
            name,
            "--exclude",
            "empty.txt",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    client = httpx.Client(base_url=api, timeout=10)
    try:
        by_name = {"deployments": {"name": {"any_": [name]}}}
        deployment = wait_for(
            lambda: next(iter(_post(client, "/deployments/filter", by_name)), None),
            120,
            "the deployment",
        )
        schedule = deployment["schedules"][0]["schedule"]
        assert (schedule["cron"], schedule["timezone"]) == (CRON, "Europe/Oslo")
        assert deployment["parameters"]["exclude"] == ["empty.txt"]

        def run_once() -> str:
            run = _post(client, f"/deployments/{deployment['id']}/create_flow_run", {})
            state = wait_for(lambda: _flow_run_state(client, run["id"]), 240, "a flow run")
            assert state["type"] == "COMPLETED", (tmp_path / "serve.log").read_text()[-3000:]
            return run["id"]

        clean = run_once()  # seeds without the empty file: no error rows
        (inputs / "garbage.txt").write_bytes(bytes(range(32)) * 300)  # binary_content
        (inputs / "new.txt").write_text("A new article arrived tonight, with a sentence.\n")
        bad = run_once()

        runs = pd.read_parquet(out / "runs").sort_values("run_seq", ascending=False)
        assert runs["n_errors"].tolist() == [1, 0] and runs["n_files"].tolist() == [2, 4]
        history = wait_for(lambda: _artifact(client, "winnow-history", bad), 60, "history")
        rows = json.loads(history["data"]) if isinstance(history["data"], str) else history["data"]
        assert [r["run_id"] for r in rows] == runs["run_id"].tolist()
        for row, (_, run) in zip(rows, runs.iterrows(), strict=True):
            assert row["new_files"] == run["n_files"] and row["documents"] == run["n_documents"]
            assert row["kept"] == run["n_documents_kept"] and row["errors"] == run["n_errors"]
            assert row["duplicates"] == run["n_duplicates"]
            assert row["boilerplate_share"] == round(run["n_boilerplate_lines"] / run["n_lines"], 4)

        def tags(run_id):
            return client.get(f"/flow_runs/{run_id}").json()["tags"]

        assert "winnow-errors" not in tags(clean)
        assert "winnow-errors" in tags(bad)
        errors = wait_for(lambda: _artifact(client, "winnow-errors", bad), 60, "errors artifact")
        assert "garbage.txt" in errors["data"] and "binary_content" in errors["data"]
        progress = _artifact(client, "winnow-progress", bad)
        assert progress["data"] == 100.0 and "commit" in progress["description"]

        automation = _post(
            client,
            "/automations/filter",
            {"automations": {"name": {"any_": ["winnow: run with errors"]}}},
        )[0]

        def fired():
            events = _post(
                client,
                "/events/filter",
                {"filter": {"event": {"prefix": ["prefect.automation.action"]}}},
            )["events"]
            ours = [
                e
                for e in events
                if e["resource"]["prefect.resource.id"] == f"prefect.automation.{automation['id']}"
            ]
            return ours or None

        assert wait_for(fired, 90, "the errors automation to fire")
    finally:
        _stop(serve)
        log.close()
        client.close()
