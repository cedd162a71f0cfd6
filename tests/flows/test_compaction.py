"""Compacted state gives the same datasets as run parts; `winnow compact`; segment lookups."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.fs as pafs
import pytest

from flows import compaction, segments
from flows.compaction import compact_output, tables_in
from flows.dedup_state import LEDGER_TABLE, all_rows
from flows.ledger import read_ledger
from flows.plan import RunOptions
from flows.readers import discover_inputs
from flows.runners import run_etl
from flows.store import OutputStore
from tests.conftest import REPO

OPTIONS = RunOptions(batch_files=1)


def _datasets(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for name in ("lines", "documents", "duplicates", "errors")
        for p in sorted((out / name).rglob("*.parquet"))
    }


def _incremental_runs(tmp_path: Path, out: Path) -> None:
    """Three runs, each adding seed files (earlier ones are skipped as loaded)."""
    files, _ = discover_inputs([str(REPO / "seeds")])
    inputs = tmp_path / "in" / "seeds"
    shutil.rmtree(inputs, ignore_errors=True)
    for k, f in enumerate(files):
        rel = Path(f.path).relative_to(REPO / "seeds")
        (inputs / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(f.path, inputs / rel)
        if k % 2 or k == len(files) - 1:
            run_etl([str(inputs)], str(out), options=OPTIONS)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """The same incremental runs into two outputs: never compacted, compacted every commit."""
    root = tmp_path_factory.mktemp("compaction")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(compaction, "COMPACT_PARTS", 10**6)
        _incremental_runs(root, root / "parts")
        shutil.copytree(root / "parts", root / "parts-copy")
        mp.setattr(compaction, "COMPACT_PARTS", 0)  # fold at every commit
        _incremental_runs(root, root / "compacted")
    return root


def _state_rows(out: Path) -> dict[str, list]:
    """Every state table's rows, sorted (key counts summed per key): what lookups see."""
    rows = {}
    for table in tables_in(OutputStore(out)):
        t = all_rows(OutputStore(out), table)
        if table.folder == "key_counts":
            t = t.group_by("line_key").aggregate([("n_docs", "sum")])
        rows[table.folder] = sorted(map(str, t.to_pylist()))
    return rows


def test_compact_killed_during_its_commit_is_rolled_forward(outputs):
    out = outputs / "parts-copy"
    before = _state_rows(out)
    env = {**os.environ, "WINNOW_TEST_HOOK": "commit-2=kill"}
    cmd = [sys.executable, "-m", "flows.cli", "compact", str(out)]
    killed = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL
    assert (out / "_staging" / "compact" / "COMMIT.json").exists()  # half moved
    env.pop("WINNOW_TEST_HOOK")
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert _state_rows(out) == before  # nothing lost, nothing counted twice
    assert not list((out / "_state" / "hashes").glob("part-*"))


def test_compacting_every_run_gives_the_datasets_of_uncompacted_state(outputs):
    tmp_path = outputs
    assert _datasets(tmp_path / "parts") == _datasets(tmp_path / "compacted")
    state = tmp_path / "compacted" / "_state"
    # a run folds the committed parts: only the newest run's part is left
    assert len(list((state / "key_counts").glob("part-*.parquet"))) == 1
    assert list((state / "key_counts").glob("seg-*"))
    assert list((state / "ledger").glob("seg-*"))  # the ledger is folded like the dedup state
    assert not (tmp_path / "compacted" / "_staging").exists() or not list(
        (tmp_path / "compacted" / "_staging").iterdir()
    )
    # `winnow compact` folds the rest into one segment per folder
    compact_output(str(tmp_path / "parts"))
    assert len(list((tmp_path / "parts" / "_state" / "hashes").glob("seg-*"))) == 1
    assert not list((tmp_path / "parts" / "_state" / "hashes").glob("part-*"))
    run_etl([str(REPO / "seeds")], str(tmp_path / "parts"), options=OPTIONS)  # still reads


def test_ledger_lookups_are_the_same_on_compacted_state(outputs):
    # parts-copy: the uncompacted runs (or, after the kill test, the same rows compacted)
    sources = sorted(
        r["source"] for r in all_rows(OutputStore(outputs / "parts-copy"), LEDGER_TABLE).to_pylist()
    )
    assert sources
    probe = [*sources[::2], "never/loaded.txt"]

    def entries(name: str) -> list:
        return sorted(map(repr, read_ledger(OutputStore(outputs / name), probe)))

    assert entries("compacted") == entries("parts-copy")
    assert len(entries("parts-copy")) == len([s for s in sources if s in probe])


@pytest.mark.parametrize("n", [0, 1, 127, 128, 129, 5_000])
def test_segment_lookup_finds_exactly_the_rows_of_the_keys(tmp_path, n):
    rng = np.random.default_rng(n)
    keys = np.sort(rng.integers(0, max(n // 4, 1), n).astype(np.uint64))  # many repeats
    values = np.arange(n, dtype=np.int64)
    segments.write_segment(pafs.LocalFileSystem(), str(tmp_path / "seg"), keys, {"v": values})
    wanted = np.array([0, 1, 7, n // 8, n // 4 + 5], np.uint64)
    found, cols = segments.lookup(pafs.LocalFileSystem(), str(tmp_path / "seg"), wanted, ["v"])
    hit = np.isin(keys, wanted)
    assert found.tolist() == keys[hit].tolist()
    assert cols["v"].tolist() == values[hit].tolist()
