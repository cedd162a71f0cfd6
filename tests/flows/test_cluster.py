"""A real Dask cluster: `dask scheduler` and two `dask worker` processes started here, as on a
cluster, and `python -m flows.cli run --dask-address` in its own process.

The workers report task runs to the session's Prefect test server (its URL passed in their
environment, as a real cluster's workers get PREFECT_API_URL); the scheduler's task stream
says which worker ran which batch task. A worker SIGKILLed in the middle of a batch: the
scheduler reruns the batch on the other worker and the datasets are still byte-identical.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.plan import RunOptions
from flows.runners import run_etl
from flows.server import free_port
from tests.conftest import REPO
from tests.flows.waiting import wait_for

pytestmark = pytest.mark.cluster

START_TIMEOUT = 60  # seconds for the scheduler and workers to come up on a loaded 2-core box
RUN_TIMEOUT = 240  # seconds for one CLI run (Prefect start-up dominates)
# A batch long enough to kill its worker in the middle of it (test hook, flows/hooks.py).
SLOW_BATCH_HOOK = "extract-0=sleep:6"
DATASETS = ("lines", "documents", "duplicates", "errors", "_state")


def _wait_fast(predicate, timeout: float, what: str):
    return wait_for(predicate, timeout, what, every=0.2)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def dataset_bytes(out: Path) -> dict[str, bytes]:
    """Every Parquet file of the datasets and the state (not `runs`: it holds timestamps)."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for name in DATASETS
        for p in sorted((out / name).rglob("*.parquet"))
    }


def _n_batches(seeds: Path) -> int:
    """Batches of the seeds at --batch-files 1: one per supported input file."""
    from flows.readers import discover_inputs

    return len(discover_inputs([str(seeds)])[0])


def _worker_env() -> dict[str, str]:
    """A worker's environment: the API its task runs report to, and the code on its path."""
    from prefect.settings import get_current_settings

    return {
        **os.environ,
        "PREFECT_API_URL": get_current_settings().api.url,
        "PYTHONPATH": str(REPO),
        "WINNOW_TEST_HOOK": SLOW_BATCH_HOOK,
    }


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """`dask scheduler` + two single-threaded `dask worker` processes on loopback ports."""
    tmp_path = tmp_path_factory.mktemp("cluster")
    dask = str(Path(sys.executable).parent / "dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    logs = tmp_path / "cluster-logs"
    logs.mkdir()
    procs: list[subprocess.Popen] = []

    def start(name: str, args: list[str]) -> None:
        log = open(logs / f"{name}.log", "w")
        procs.append(
            subprocess.Popen(
                [dask, *args],
                env=_worker_env(),
                cwd=tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    port = address.rsplit(":", 1)[1]
    start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"])
    for name in ("w1", "w2"):
        start(name, ["worker", address, "--name", name, "--nthreads", "1", "--no-dashboard"])
    from distributed import Client

    try:
        client = _wait_fast(lambda: _connect(Client, address), START_TIMEOUT, "the scheduler")
        client.wait_for_workers(2, timeout=START_TIMEOUT)
        yield address, client
        client.close()
    finally:
        for proc in reversed(procs):
            _stop(proc)


def _connect(client_cls, address: str):
    try:
        return client_cls(address, timeout=2)
    except OSError:
        return None


def _cli_run(seeds: Path, out: Path, address: str) -> subprocess.Popen:
    from prefect.settings import get_current_settings

    env = {**os.environ, "PREFECT_API_URL": get_current_settings().api.url}
    env.pop("WINNOW_TEST_HOOK", None)
    cmd = [sys.executable, "-m", "flows.cli", "run", str(seeds), "--output", str(out)]
    cmd += ["--batch-files", "1", "--dask-address", address, "--quiet"]
    return subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The reference: the same seeds in-process, one worker."""
    root = tmp_path_factory.mktemp("cluster-ref")
    shutil.copytree(REPO / "seeds", root / "seeds")
    run_etl([str(root / "seeds")], str(root / "out"), options=RunOptions(batch_files=1))
    return root


# A task processing this long is the one the hook holds (the seeds' batches take < 1 s).
HELD_SECONDS = 2.0


def _slow_worker(client, first_seen: dict) -> str | None:
    """The address of a worker that has been processing the same task for HELD_SECONDS."""
    now = time.monotonic()
    for worker, keys in client.processing().items():
        for key in keys:
            if now - first_seen.setdefault((worker, key), now) > HELD_SECONDS:
                return worker
    return None


def _run_with_stream(client, seeds: Path, out: Path, address: str, kill: bool):
    """Run the CLI on the cluster (SIGKILLing a busy worker if `kill`); (its output, the
    workers that ran each finished task, by the scheduler's task stream)."""
    pids = client.run(os.getpid)  # worker address -> its process id
    from distributed import get_task_stream

    with get_task_stream(client=client) as stream:
        proc = _cli_run(seeds, out, address)
        if kill:
            seen: dict = {}
            victim = _wait_fast(lambda: _slow_worker(client, seen), RUN_TIMEOUT, "a held worker")
            os.kill(pids[victim], signal.SIGKILL)  # mid-batch: the hook holds it in extract-0
        stdout, _ = proc.communicate(timeout=RUN_TIMEOUT)
    assert proc.returncode == 0, stdout[-3000:]
    workers = [r["worker"] for r in stream.data]
    assert set(workers) <= set(pids) | set(client.run(os.getpid)), workers
    return pids, workers


def test_cli_run_on_real_cluster_runs_every_batch_on_the_workers(cluster, local_run, tmp_path):
    address, client = cluster
    pids, workers = _run_with_stream(client, local_run / "seeds", tmp_path / "out", address, False)
    assert set(workers) <= set(pids)
    # every batch task (extract + flag per batch) ran on a cluster worker, none in the flow;
    # both workers did some (one of them is held 6 s in extract-0 by the hook)
    assert len(workers) == 2 * _n_batches(local_run / "seeds"), workers
    assert len(set(workers)) == 2
    assert dataset_bytes(tmp_path / "out") == dataset_bytes(local_run / "out")


def test_worker_killed_mid_batch_the_run_recovers_with_identical_datasets(
    cluster, local_run, tmp_path
):
    address, client = cluster
    client.wait_for_workers(2, timeout=START_TIMEOUT)
    pids, workers = _run_with_stream(client, local_run / "seeds", tmp_path / "out", address, True)
    # the victim is gone (its nanny starts a new worker process under a new address)
    assert len(set(pids) & set(client.run(os.getpid))) == 1
    assert len(workers) >= 2 * _n_batches(
        local_run / "seeds"
    )  # the killed batch ran again on the survivor
    assert dataset_bytes(tmp_path / "out") == dataset_bytes(local_run / "out")
