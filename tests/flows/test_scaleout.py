"""Scale-out (local worker processes, or a Dask cluster) gives byte-identical datasets (and
dedup state) to a one-worker run; thousands of files stay at a few hundred task runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flows.plan import RunOptions, plan_batches
from flows.readers import discover_inputs
from flows.runners import run_etl
from flows.workers import native_threads

# Small batches so the seeds make several batches for the workers to share.
OPTIONS = RunOptions(batch_files=1)


def _dataset_bytes(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for name in ("lines", "documents", "duplicates", "errors", "_state")
        for p in sorted((out / name).rglob("*.parquet"))
    }


@pytest.fixture(scope="module")
def sequential(tmp_path_factory):
    from tests.conftest import REPO

    root = tmp_path_factory.mktemp("scaleout")
    import shutil

    shutil.copytree(REPO / "seeds", root / "seeds")
    summary = run_etl([str(root / "seeds")], str(root / "one"), options=OPTIONS)
    return root, summary


def test_local_worker_processes_match_sequential_run(sequential):
    root, one = sequential
    two = run_etl([str(root / "seeds")], str(root / "two"), options=OPTIONS, workers=2)
    assert one.run_id == two.run_id
    a, b = _dataset_bytes(root / "one"), _dataset_bytes(root / "two")
    assert len([k for k in a if k.startswith("lines/")]) > 1  # really several batches
    assert a == b


def test_existing_dask_cluster_by_address_matches_sequential_run(sequential):
    from distributed import LocalCluster
    from prefect.settings import get_current_settings

    root, _ = sequential
    # workers inherit the environment at start: they must know the API (as on a real cluster)
    os.environ["PREFECT_API_URL"] = get_current_settings().api.url
    try:
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            run_etl(
                [str(root / "seeds")],
                str(root / "addr"),
                options=OPTIONS,
                dask_address=cluster.scheduler_address,
            )
    finally:
        os.environ.pop("PREFECT_API_URL", None)
    assert _dataset_bytes(root / "one") == _dataset_bytes(root / "addr")


# The local Prefect server degrades beyond ~1,000 task runs per flow run (DESIGN.md).
MAX_TASK_RUNS = 300


@pytest.mark.parametrize("n_files", [1, 199, 201, 3_000])
def test_thousands_of_files_stay_at_few_hundred_task_runs(tmp_path, n_files):
    for i in range(n_files):
        (tmp_path / f"{i:05d}.txt").write_text(f"Document {i}. Some text here.\n")
    files, errors = discover_inputs([str(tmp_path)])
    assert len(files) == n_files and not errors
    batches = plan_batches(files)
    assert [f for b in batches for f in b] == files  # input order kept, nothing lost
    assert len(batches) == -(-n_files // RunOptions().batch_files)
    # extract + flag + load per batch, plus count-keys and dedup
    assert 3 * len(batches) + 2 <= MAX_TASK_RUNS


@pytest.mark.parametrize(
    ("workers", "cores", "threads"),
    [(1, 2, 2), (2, 2, 2), (3, 2, 2), (4, 8, 4), (8, 8, 2), (16, 8, 1), (2, 1, 1)],
)
def test_native_threads_per_worker_are_bounded_by_the_cores(workers, cores, threads):
    """Each local worker's rayon pool: twice its share of the cores, at least 1, at most all."""
    assert native_threads(workers, cores) == threads
