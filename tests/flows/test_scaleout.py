"""Scale-out: batches on a Dask LocalCluster give byte-identical datasets; few task runs."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest

from flows.etl import plan_batches, run_etl
from flows.readers import discover_inputs
from flows.scaleout import make_task_runner
from tests.conftest import REPO
from transforms.config import PipelineConfig

# The local Prefect server degrades beyond ~1,000 task runs per flow run.
MAX_TASK_RUNS = 300


def _digests(out: Path) -> dict[str, str]:
    """sha256 of every Parquet file except runs/ (which holds wall-clock timestamps)."""
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*.parquet"))
        if p.relative_to(out).parts[0] != "runs"
    }


CONFIG = PipelineConfig(batch_files=2)  # seeds' 5 files make 3 batches to spread


@pytest.fixture(scope="module")
def sequential(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("seq")
    seeds = root / "seeds"
    shutil.copytree(REPO / "seeds", seeds)
    summary = run_etl([str(seeds)], str(root / "out"), config=CONFIG, workers=1)
    return root, summary


@pytest.mark.parametrize("mode", ["workers", "dask_address"])
def test_dask_local_cluster_matches_sequential_run(sequential, mode):
    """--workers 2 (own LocalCluster) and --dask-address (an existing 2-worker LocalCluster)."""
    from distributed import LocalCluster

    root, seq = sequential
    out = root / f"out-{mode}"
    if mode == "workers":
        par = run_etl([str(root / "seeds")], str(out), config=CONFIG, workers=2)
    else:
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            par = run_etl(
                [str(root / "seeds")],
                str(out),
                config=CONFIG,
                dask_address=cluster.scheduler_address,
            )
    assert seq["run_id"] == par["run_id"]
    assert seq["n_documents"] == par["n_documents"] > 0
    a, b = _digests(root / "out"), _digests(out)
    assert len(a) >= 10
    assert a == b
    runs_a = pd.read_parquet(root / "out" / "runs").drop(columns=["started_at", "ended_at"])
    runs_b = pd.read_parquet(out / "runs").drop(columns=["started_at", "ended_at"])
    pd.testing.assert_frame_equal(runs_a, runs_b)


@pytest.mark.parametrize(
    "workers, address, kind, n_workers",
    [
        (1, None, "ThreadPoolTaskRunner", None),
        (3, None, "DaskTaskRunner", 3),
        (1, "tcp://127.0.0.1:8786", "DaskTaskRunner", None),
    ],
)
def test_task_runner_per_option(workers, address, kind, n_workers):
    runner = make_task_runner(workers, address)
    assert type(runner).__name__ == kind
    if kind == "DaskTaskRunner":
        assert runner.address == address
        if n_workers:
            assert runner.cluster_kwargs["n_workers"] == n_workers
            assert runner.cluster_kwargs["processes"] is True


@pytest.mark.parametrize("n_files", [1, 199, 201, 3_000])
def test_thousands_of_files_stay_at_few_hundred_task_runs(tmp_path, n_files):
    for i in range(n_files):
        (tmp_path / f"{i:05d}.txt").write_text(f"Document {i}. Some text here.\n")
    files, errors = discover_inputs([str(tmp_path)])
    assert len(files) == n_files and not errors
    batches = plan_batches(files, PipelineConfig())
    assert [f for b in batches for f in b] == files  # input order kept
    # extract + flag + load per batch, plus count-keys and dedup
    task_runs = 3 * len(batches) + 2
    assert task_runs <= MAX_TASK_RUNS
    assert len(batches) == -(-n_files // PipelineConfig().batch_files)
