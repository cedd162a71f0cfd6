"""Scale-out: batches on a Dask LocalCluster give byte-identical datasets; few task runs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from flows.etl import plan_batches, run_etl
from flows.readers import discover_inputs
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


def test_dask_local_cluster_matches_sequential_run(seeds_copy, tmp_path):
    config = PipelineConfig(batch_files=2)  # 3 batches to spread over 2 workers
    seq = run_etl([str(seeds_copy)], str(tmp_path / "seq"), config=config, workers=1)
    par = run_etl([str(seeds_copy)], str(tmp_path / "par"), config=config, workers=2)
    assert seq["run_id"] == par["run_id"]
    assert seq["n_documents"] == par["n_documents"] > 0
    a, b = _digests(tmp_path / "seq"), _digests(tmp_path / "par")
    assert len(a) >= 10
    assert a == b
    runs_a = pd.read_parquet(tmp_path / "seq" / "runs").drop(columns=["started_at", "ended_at"])
    runs_b = pd.read_parquet(tmp_path / "par" / "runs").drop(columns=["started_at", "ended_at"])
    pd.testing.assert_frame_equal(runs_a, runs_b)


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
