"""winnow's Prefect server for runs without PREFECT_API_URL (flows/server.py): real CLI runs
record their flow and task runs, the reusable server is reused, owned and stops when idle, a
private server never outlives its run."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from flows import server
from flows.hooks import TEST_HOOK_ENV

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "seeds" / "000_f03d96d0f5b1cf7c.txt"
TASKS = {"extract-00000", "count-keys", "flag-00000", "dedup", "load"}
IDLE = 3  # seconds: a reusable server started by these tests stops soon after its last run
REUSE_IDLE = 20  # seconds: long enough for the next run to start (imports) on a loaded machine


def cli_env(tmp_path: Path, mode: str, idle: float = IDLE) -> dict[str, str]:
    """A run with no configured server, its own PREFECT_HOME and server files."""
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", TEST_HOOK_ENV)}
    env.update(
        PYTHONPATH=str(REPO),
        PREFECT_HOME=str(tmp_path / "home"),
        WINNOW_CACHE_DIR=str(tmp_path / "cache"),
        WINNOW_SERVER=mode,
        WINNOW_SERVER_IDLE_SECONDS=str(idle),
    )
    return env


def run_cli(env: dict[str, str], out: Path, **kw) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "flows.cli", "run", str(SAMPLE), "-o", str(out), "--quiet"]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, **kw)


def state_file(tmp_path: Path) -> Path:
    (path,) = (tmp_path / "cache").glob("server-*.json")
    return path


def read_runs(api_url: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Flow runs on the server at `api_url`: id -> (state, {task run name: state})."""
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    runs = {}
    with SyncPrefectClient(api_url) as client:
        for fr in client.read_flow_runs():
            flt = FlowRunFilter(id=FlowRunFilterId(any_=[fr.id]))
            tasks = {t.name: t.state.type.value for t in client.read_task_runs(flow_run_filter=flt)}
            runs[str(fr.id)] = (fr.state.type.value, tasks)
    return runs


def wait_gone(pid: int, timeout: float) -> bool:
    """True once `pid` has exited within `timeout` seconds."""
    try:
        psutil.Process(pid).wait(timeout=timeout)
    except psutil.NoSuchProcess:
        return True
    except psutil.TimeoutExpired:
        return False
    return True


def run_watched(env: dict[str, str], out: Path) -> tuple[int, str, dict[psutil.Process, str]]:
    """Run the CLI, noting every process it starts: (return code, stderr, {process: cmdline})."""
    cmd = [sys.executable, "-m", "flows.cli", "run", str(SAMPLE), "-o", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    children: dict[psutil.Process, str] = {}
    while proc.poll() is None:
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(proc.pid).children(recursive=True):
                if child not in children:
                    with contextlib.suppress(psutil.Error):
                        children[child] = " ".join(child.cmdline())
        time.sleep(0.05)
    return proc.returncode, proc.stderr.read(), children


@pytest.mark.slow
def test_cli_run_records_on_a_reused_server_that_stops_when_idle(tmp_path):
    env = cli_env(tmp_path, "reuse", idle=REUSE_IDLE)
    first = run_cli(env, tmp_path / "a")
    assert first.returncode == 0, first.stderr[-3000:]
    info = server.read_info(state_file(tmp_path))
    assert info is not None and server.is_our_server(info.pid, info.start)
    assert info.prefect_version == server.prefect_version()
    assert server.healthy(info.api_url, info.prefect_version)
    assert psutil.Process(info.pid).ppid() != os.getpid()  # detached: not a child of the test
    second = run_cli(env, tmp_path / "b")
    assert second.returncode == 0, second.stderr[-3000:]
    assert server.read_info(state_file(tmp_path)) == info  # the same server, reused

    runs = read_runs(info.api_url)  # recorded and readable through the Prefect API
    assert len(runs) == 2
    for state, tasks in runs.values():
        assert state == "COMPLETED"
        assert tasks == dict.fromkeys(TASKS, "COMPLETED")
    assert not server.live_leases(state_file(tmp_path).with_suffix(".clients"))

    assert wait_gone(info.pid, 2 * REUSE_IDLE + 30)  # idle timeout: no run, no request
    assert not list((tmp_path / "cache").glob("server-*.json"))
    db = tmp_path / "home" / "prefect.db"  # still recorded after the server is gone
    with sqlite3.connect(db) as conn:
        names = {n for (n,) in conn.execute("SELECT name FROM flow_run")}
    assert names == {"winnow-000_f03d96d0f5b1cf7c.txt-to-a", "winnow-000_f03d96d0f5b1cf7c.txt-to-b"}


@pytest.mark.slow
def test_killed_run_leaves_no_process_not_even_the_reusable_server(tmp_path):
    """`kill -9` of a run: no child of the run survives, and the reusable server the run held
    stops itself (its last lease belonged to a killed run), long before its idle timeout; no
    watcher process runs beside the run for that (flows/reaper.py is for Prefect's temporary
    server only)."""
    env = cli_env(tmp_path, "reuse", idle=600)
    first = run_cli(env, tmp_path / "a")  # starts the reusable server
    assert first.returncode == 0, first.stderr[-3000:]
    info = server.read_info(state_file(tmp_path))
    assert info is not None and server.is_our_server(info.pid, info.start)
    env[TEST_HOOK_ENV] = "extract-0=kill"
    returncode, stderr, children = run_watched(env, tmp_path / "out")  # reuses it, is killed
    assert returncode == -signal.SIGKILL, stderr[-3000:]
    assert not any("flows.reaper" in cmdline for cmdline in children.values()), children
    _, alive = psutil.wait_procs(list(children), timeout=30)
    assert not alive, [children[p] for p in alive]
    assert wait_gone(info.pid, 30)  # stopped by itself, not by the 600 s idle timeout
    assert not list((tmp_path / "cache").glob("server-*.json"))


def test_private_server_run_leaves_no_process_and_records_the_run(tmp_path):
    env = cli_env(tmp_path, "private")
    returncode, stderr, children = run_watched(env, tmp_path / "out")
    assert returncode == 0, stderr[-3000:]
    assert any(server.SERVE_MARK in cmdline for cmdline in children.values())
    _, alive = psutil.wait_procs(list(children), timeout=10)  # stopped by the run itself
    assert not alive, [children[p] for p in alive]
    with sqlite3.connect(tmp_path / "home" / "prefect.db") as conn:
        (state,) = conn.execute("SELECT state_type FROM flow_run").fetchone()
        tasks = dict(conn.execute("SELECT name, state_type FROM task_run").fetchall())
    assert state == "COMPLETED"
    assert tasks == dict.fromkeys(TASKS, "COMPLETED")


def test_killed_private_server_run_stops_its_server(tmp_path):
    env = cli_env(tmp_path, "private")
    env[TEST_HOOK_ENV] = "extract-0=kill"
    returncode, stderr, children = run_watched(env, tmp_path / "out")
    assert returncode == -signal.SIGKILL, stderr[-3000:]
    assert any(server.SERVE_MARK in cmdline for cmdline in children.values())
    _, alive = psutil.wait_procs(list(children), timeout=30)  # the server watches the run's pid
    assert not alive, [children[p] for p in alive]


def test_state_file_of_another_process_is_not_reused(tmp_path, monkeypatch):
    """A state file naming a live process that is not a winnow server (pid reuse, or a stale
    file) or a server of another Prefect version is never trusted."""
    monkeypatch.setenv("WINNOW_CACHE_DIR", str(tmp_path))
    me = server._stat(os.getpid())
    assert me is not None and not server.is_our_server(os.getpid(), me[1])
    fake = server.ServerInfo(os.getpid(), me[1], server.free_port(), "0.0.0", "sqlite://", 1)
    (tmp_path / "server-x.json").write_text(json.dumps(fake.__dict__))
    assert server.reusable_servers() == []
    assert not (tmp_path / "server-x.json").exists()  # stale: removed
    assert not server.healthy(fake.api_url, "0.0.0")  # nothing listens there


def test_dead_leases_are_not_counted(tmp_path):
    folder = tmp_path / "clients"
    folder.mkdir()
    me = server._stat(os.getpid())
    (folder / f"{os.getpid()}-{me[1]}").touch()
    (folder / f"{os.getpid()}-1").touch()  # same pid, other start time: a reused pid
    (folder / "999999999-5").touch()
    assert server.live_leases(folder) == 1
    assert [p.name for p in folder.iterdir()] == [f"{os.getpid()}-{me[1]}"]


def test_run_against_a_configured_server_starts_none(tmp_path):
    """With PREFECT_API_URL set (here: the session's server) no winnow server is started."""
    from prefect.settings import PREFECT_API_URL

    env = cli_env(tmp_path, "reuse")
    env["PREFECT_API_URL"] = PREFECT_API_URL.value()
    proc = run_cli(env, tmp_path / "out")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not list((tmp_path / "cache").glob("server-*.json"))
    assert not (tmp_path / "home" / "prefect.db").exists()


def test_unknown_mode_is_an_error(monkeypatch):
    monkeypatch.setenv("WINNOW_SERVER", "bogus")
    with pytest.raises(ValueError, match="WINNOW_SERVER"):
        server.server_mode()


def test_sqlite_path():
    assert server.sqlite_path("sqlite+aiosqlite:////a/b.db") == Path("/a/b.db")
    assert server.sqlite_path("sqlite+aiosqlite:///:memory:") is None
    assert server.sqlite_path("postgresql+asyncpg://u@h/db") is None
