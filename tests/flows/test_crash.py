"""Crash safety: SIGKILL the CLI at exact points, re-run, get the uninterrupted datasets.

The kill points are the test hook in flows/hooks.py (`hook_point`, env WINNOW_TEST_HOOK,
"<point>=kill"); also: a second run on a locked output fails fast with exit 2.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import pandas as pd
import psutil
import pyarrow.parquet as pq
import pytest

from flows.hooks import TEST_HOOK_ENV

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
from crash_test import build_corpus  # noqa: E402  (one corpus for the test and the benchmark)

DATASETS = ("lines", "documents", "duplicates", "errors")


def winnow_cmd(inp: Path, out: Path, hook: str | None = None, workers: int = 1):
    """CLI command and environment of a run against the session's Prefect test server."""
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PYTHONPATH": str(REPO), "PREFECT_API_URL": PREFECT_API_URL.value()}
    env.pop(TEST_HOOK_ENV, None)
    if hook:
        env[TEST_HOOK_ENV] = hook
    cmd = [sys.executable, "-m", "flows.cli", "run", str(inp), "-o", str(out), "--quiet"]
    return [*cmd, "--batch-files", "2", "--workers", str(workers)], env


def winnow(inp: Path, out: Path, hook: str | None = None, workers: int = 1, **kw):
    """Run the CLI in a subprocess; returns the CompletedProcess."""
    cmd, env = winnow_cmd(inp, out, hook, workers)
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, **kw)


def flow_run_state(flow_run_id: str) -> str:
    """State type of a flow run on the session's Prefect server."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(flow_run_id)).state.type.value


def dataset_files(out: Path) -> dict[str, bytes]:
    """Bytes of every dataset part and of the dedup/input state (it must match them)."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for name in (*DATASETS, "_state")
        for p in sorted((out / name).rglob("*.parquet"))
    }


def assert_same_datasets(got: Path, want: Path) -> None:
    """Byte-identical parts; a re-run after a finished commit may only add EMPTY parts."""
    a, b = dataset_files(got), dataset_files(want)
    assert b and {k: v for k, v in a.items() if k in b} == b
    for extra in set(a) - set(b):
        assert pq.read_metadata(got / extra).num_rows == 0, extra
    docs = pd.read_parquet(got / "documents")
    assert docs["doc_id"].is_unique
    for name in DATASETS:
        assert len(pd.read_parquet(got / name)) == len(pd.read_parquet(want / name)), name
    runs, base = pd.read_parquet(got / "runs"), pd.read_parquet(want / "runs")
    cols = ["run_id", "n_files", "n_documents", "n_documents_kept", "n_lines", "n_errors"]
    assert runs[cols].iloc[:1].equals(base[cols])
    assert (runs["n_files"].iloc[1:] == 0).all()  # later runs found nothing new
    assert not (got / "_staging").exists() or not any((got / "_staging").iterdir())


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    inp = build_corpus(root)
    proc = winnow(inp, root / "base")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return inp, root / "base"


# Each chain kills the run at these points in turn (each re-run resumes the previous one),
# then runs once more without a hook. 11 files, batch-files=2 -> 6 batches.
CHAINS = {
    "stages": ["extract-1", "flag-2", "dedup", "before-commit"],
    # commit-3: killed after the 4th file move; the next run rolls it forward, commits an
    # empty run 2 and is killed after its own commit, before dropping its staging folder
    "commit": ["extract-4", "commit-3", "committed"],
}


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_killed_runs_resume_to_identical_datasets(baseline, tmp_path, chain):
    inp, base = baseline
    out = tmp_path / "out"
    staged_a: dict[str, int] = {}
    for point in CHAINS[chain]:
        proc = winnow(inp, out, hook=f"{point}=kill")
        assert proc.returncode == -signal.SIGKILL, (point, proc.stderr[-2000:])
        # extract batches finished before a kill are not redone by the next run (resume)
        for p in (out / "_staging").rglob("a/*-b*.parquet"):
            key = p.relative_to(out).as_posix()
            assert staged_a.setdefault(key, p.stat().st_mtime_ns) == p.stat().st_mtime_ns, key
        if not point.startswith("commit") and point != "committed":
            assert not (out / "runs").exists()  # nothing visible before the commit
    proc = winnow(inp, out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert_same_datasets(out, base)


def test_killed_multi_worker_run_leaves_no_workers_and_resumes(baseline, tmp_path):
    """SIGKILL the flow process of a 2-worker run: its worker processes exit, a re-run matches."""
    inp, base = baseline
    out = tmp_path / "out"
    cmd, env = winnow_cmd(inp, out, hook="before-commit=kill", workers=2)
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    children: set[psutil.Process] = set()
    while proc.poll() is None:  # the worker processes of this run
        with contextlib.suppress(psutil.Error):
            children.update(psutil.Process(proc.pid).children(recursive=True))
        time.sleep(0.1)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()[-2000:]
    assert len(children) >= 2
    _, alive = psutil.wait_procs(children, timeout=60)
    assert not alive, [p.cmdline() for p in alive]
    assert not (out / "runs").exists()
    (left,) = (out / "_staging").glob("*/flow_run.json")
    killed = json.loads(left.read_text())["flow_run_id"]
    assert flow_run_state(killed) == "RUNNING"  # a SIGKILLed process cannot report its end
    rerun = winnow(inp, out, workers=2)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert_same_datasets(out, base)
    assert flow_run_state(killed) == "CRASHED"  # marked by the next run on the output


@pytest.mark.parametrize("point", ["extract-1", "flag-2"])
def test_a_worker_killed_in_a_batch_is_replaced_and_the_run_completes(baseline, tmp_path, point):
    """A local worker process SIGKILLed in a batch (the OOM killer, say): the pool starts new
    workers, the batch is redone there, and the run commits the uninterrupted datasets."""
    inp, base = baseline
    out, marker = tmp_path / "out", tmp_path / "killed-once"
    proc = winnow(inp, out, hook=f"{point}=kill-once:{marker}", workers=2)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert marker.exists()  # the worker did die
    assert_same_datasets(out, base)


def test_a_batch_that_kills_every_worker_fails_the_run_before_commit(baseline, tmp_path):
    """A batch whose worker dies each time: the run fails with a clear error (no hang, nothing
    committed), and a re-run (here without the fault) gives the uninterrupted datasets."""
    inp, base = baseline
    out = tmp_path / "out"
    proc = winnow(inp, out, hook="flag-2=kill", workers=2)
    assert proc.returncode not in (0, -signal.SIGKILL), proc.stderr[-2000:]
    assert "worker process ended abruptly running flag_staged" in proc.stderr, proc.stderr[-3000:]
    assert not (out / "runs").exists()
    rerun = winnow(inp, out, workers=2)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert_same_datasets(out, base)


def test_second_run_on_locked_output_fails_fast(baseline, tmp_path):
    inp, _ = baseline
    out = tmp_path / "out"
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PYTHONPATH": str(REPO), "PREFECT_API_URL": PREFECT_API_URL.value()}
    env[TEST_HOOK_ENV] = "before-commit=sleep:60"
    cmd = [sys.executable, "-m", "flows.cli", "run", str(inp), "-o", str(out), "--quiet"]
    first = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not list((out / "_staging").glob("*/final/runs/*.parquet")):
            assert first.poll() is None and time.monotonic() < deadline, first.stderr.read()
            time.sleep(0.2)
        t0 = time.monotonic()
        second = winnow(inp, out)
        took = time.monotonic() - t0
    finally:
        first.kill()
        first.wait()
    assert second.returncode == 2
    assert second.stderr.strip() == (
        f"winnow: error: another winnow run (pid {first.pid}) is writing to {out}; "
        "wait for it to finish or use another --output"
    )
    assert took < 30  # fails fast: it does not wait for the first run (60 s sleep)
    assert not (out / "runs").exists()  # the killed first run left nothing visible


@pytest.mark.slow
def test_killed_run_stops_its_temporary_prefect_server(baseline, tmp_path):
    """`kill -9` of a run without PREFECT_API_URL on Prefect's temporary server (the old path,
    WINNOW_SERVER=temporary): that server (uvicorn) exits too, stopped by flows/reaper.py.
    winnow's own servers: tests/flows/test_server.py (private: exits with the run; reusable:
    stopped by the reaper when no other run holds it)."""
    inp, _ = baseline
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PREFECT_HOME": str(tmp_path / "home")}
    env.pop("PREFECT_API_URL", None)
    env["WINNOW_SERVER"] = "temporary"  # the run starts Prefect's temporary server
    env[TEST_HOOK_ENV] = "before-commit=sleep:120"
    cmd = [sys.executable, "-m", "flows.cli", "run", str(inp), "-o", str(out), "--quiet"]
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 240
        while not list((out / "_staging").glob("*/final/runs/*.parquet")):  # held before commit
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()[-2000:]
            time.sleep(0.2)
        children = psutil.Process(proc.pid).children()
        servers = [p for p in children if "prefect.server.api.server:create_app" in p.cmdline()]
        assert len(servers) == 1, [p.cmdline() for p in children]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        proc.kill()
    _, alive = psutil.wait_procs(children, timeout=30)  # the server and the reaper
    assert not alive, [p.cmdline() for p in alive]


def test_resume_with_other_batch_settings_loads_every_file_once(baseline, tmp_path):
    """Killed after extract batches of 2 files, resumed with batches of 5: the finished batches
    do not match the new plan, so they are redone; every document is loaded exactly once."""
    inp, base = baseline
    out = tmp_path / "out"
    proc = winnow(inp, out, hook="extract-1=kill")
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    cmd, env = winnow_cmd(inp, out)
    proc = subprocess.run(
        [*cmd, "--batch-files", "5"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name, key in (("documents", "doc_id"), ("duplicates", "doc_id"), ("lines", "doc_id")):
        got = pd.read_parquet(out / name)[key].value_counts().sort_index()
        want = pd.read_parquet(base / name)[key].value_counts().sort_index()
        assert got.equals(want), name
    ledger = pd.read_parquet(out / "_state" / "ledger")
    assert sorted(ledger["source"]) == sorted(pd.read_parquet(base / "_state" / "ledger")["source"])
    again = winnow(inp, out)  # the ledger says every file was read: nothing to do
    assert again.returncode == 0 and "files read      0" in again.stdout


@pytest.mark.parametrize("delay", [0.0, 0.3, 1.0])
def test_kill_in_the_first_second_of_worker_start_leaves_no_process(baseline, tmp_path, delay):
    """SIGKILL a 2-worker run `delay` s after its first worker process appears (workers still
    importing): every process it started exits (workers, resource tracker, reaper)."""
    inp, _ = baseline
    out = tmp_path / "out"
    cmd, env = winnow_cmd(inp, out, workers=2)
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    seen: set[psutil.Process] = set()
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(psutil.Error):
                seen.update(psutil.Process(proc.pid).children(recursive=True))
            if any("multiprocessing" in " ".join(_cmdline(p)) for p in seen):
                break
            time.sleep(0.02)
        time.sleep(delay)
        with contextlib.suppress(psutil.Error):
            seen.update(psutil.Process(proc.pid).children(recursive=True))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        proc.kill()
    assert any("multiprocessing" in " ".join(_cmdline(p)) for p in seen), "no worker started"
    _, alive = psutil.wait_procs(seen, timeout=30)
    assert not alive, [_cmdline(p) for p in alive]


def _cmdline(p: psutil.Process) -> list[str]:
    try:
        return p.cmdline()
    except psutil.Error:
        return []


def test_ctrl_c_exits_within_seconds_and_leaves_a_resumable_run(baseline, tmp_path):
    """SIGINT to the whole process group (Ctrl-C in a terminal) while a batch runs: exit 130
    within seconds with a one-line hint, no traceback; the re-run resumes to the same data."""
    inp, base = baseline
    out = tmp_path / "out"
    cmd, env = winnow_cmd(inp, out, hook="flag-1=sleep:60")
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not list(out.glob("_staging/*/b/docs-b00000.parquet")):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()[-2000:]
        time.sleep(0.1)
    time.sleep(0.5)
    t0 = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    took = time.monotonic() - t0
    assert proc.returncode == 130, stderr[-2000:]
    assert took < 8, took  # 3 s at most after the signal, plus start-up noise of a loaded host
    assert "run the same command again to resume" in stderr and "Traceback" not in stderr
    rerun = winnow(inp, out)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert_same_datasets(out, base)
