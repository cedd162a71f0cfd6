"""Memory defaults of winnow processes (flows/memory.py): applied at import, user settings win."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from flows import memory

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import flows, os, pyarrow as pa; "
    "print(pa.default_memory_pool().backend_name, os.environ['MALLOC_ARENA_MAX'], "
    "os.environ['MALLOC_MMAP_THRESHOLD_'])"
)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, f"{memory.ARROW_POOL} {memory.MALLOC_ARENAS} {memory.MMAP_THRESHOLD}"),
        (
            {
                "ARROW_DEFAULT_MEMORY_POOL": "mimalloc",
                "MALLOC_ARENA_MAX": "4",
                "MALLOC_MMAP_THRESHOLD_": "65536",
            },
            "mimalloc 4 65536",
        ),
    ],
)
def test_import_sets_the_allocator_unless_the_user_did(env: dict, expected: str) -> None:
    """A fresh interpreter that imports `flows` first allocates Arrow memory from ARROW_POOL."""
    clean = {k: v for k, v in os.environ.items() if k not in memory.MEMORY_ENV}
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**clean, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert out.stdout.split() == expected.split()


def test_release_memory_keeps_live_data() -> None:
    """Releasing after a batch frees nothing still referenced."""
    import pyarrow as pa

    table = pa.table({"x": list(range(10_000))})
    memory.release_memory()
    assert table["x"][9_999].as_py() == 9_999


PANDAS_PROBE = (
    "import sys, os\n"
    "{pre}from flows.memory import keep_pandas_out, PANDAS_FREE_ENV\n"
    "free = keep_pandas_out()\n"
    "import pyarrow as pa, pyarrow.dataset, flows.work\n"
    "table = pa.Table.from_pylist([{{'x': 1}}])\n"
    "print(free, 'pandas' in sys.modules, os.environ.get(PANDAS_FREE_ENV), table.num_rows)\n"
)


@pytest.mark.parametrize(
    ("pre", "expected"),
    [("", "True False 1 1"), ("import pandas\n", "False True None 1")],
)
def test_keep_pandas_out_unless_pandas_is_loaded(pre: str, expected: str) -> None:
    """pyarrow works without pandas once it is refused; a process that has pandas keeps it."""
    clean = {k: v for k, v in os.environ.items() if k != memory.PANDAS_FREE_ENV}
    out = subprocess.run(
        [sys.executable, "-c", PANDAS_PROBE.format(pre=pre)],
        env={**clean, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert out.stdout.split() == expected.split()


def _maps(process: psutil.Process, part: str) -> bool | None:
    """Whether the process has a file whose path contains `part` mapped (None: it is gone)."""
    try:
        return any(part in m.path for m in process.memory_maps())
    except psutil.Error:
        return None


def _run_with_workers(tmp_path: Path, *, pop: tuple[str, ...] = ()) -> subprocess.Popen:
    """`winnow run seeds` with 2 workers, one file per batch; a worker pauses in flag batch 1
    (the process tree is all there while it sleeps)."""
    from prefect.settings import PREFECT_API_URL

    from flows.hooks import TEST_HOOK_ENV

    env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_API_URL": PREFECT_API_URL.value()}
    env[TEST_HOOK_ENV] = "flag-1=sleep:4"
    for key in pop:
        env.pop(key, None)
    cmd = [sys.executable, "-m", "flows.cli", "run", str(ROOT / "seeds"), "-o", str(tmp_path)]
    return subprocess.Popen(
        [*cmd, "--quiet", "--workers", "2", "--batch-files", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
def test_a_winnow_run_and_its_workers_never_load_pandas(tmp_path: Path) -> None:
    """The run process and both worker processes, watched while a worker flags a batch."""
    proc = _run_with_workers(tmp_path, pop=(memory.PANDAS_FREE_ENV,))
    seen: dict[int, bool] = {}
    while proc.poll() is None:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(proc.pid)
            for process in [root, *root.children(recursive=True)]:
                mapped = _maps(process, "/pandas/")
                if mapped is not None:
                    seen[process.pid] = seen.get(process.pid, False) or mapped
        time.sleep(0.1)
    assert proc.returncode == 0, proc.stderr.read()[-3000:]
    assert len(seen) >= 3  # the run process and its two workers (and the resource tracker)
    assert not any(seen.values())


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
def test_the_run_process_loads_pyarrow_and_numpy_only_when_its_workers_are_done(
    tmp_path: Path,
) -> None:
    """With local workers the run process plans, extracts, counts keys and flags without
    pyarrow or numpy (~45 MiB of RSS): whenever a worker is alive, the run process has
    neither mapped, while the workers have both; dedup and load then load them here."""
    import pandas as pd

    proc = _run_with_workers(tmp_path)
    during, after, workers_arrow = set(), set(), False
    while proc.poll() is None:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(proc.pid)
            workers = [
                p for p in root.children(recursive=True) if "spawn_main" in " ".join(p.cmdline())
            ]
            for lib in ("libarrow.so", "_multiarray_umath"):
                mapped = _maps(root, lib)
                if mapped:
                    (during if workers else after).add(lib)
            workers_arrow = workers_arrow or any(_maps(w, "libarrow.so") for w in workers)
        time.sleep(0.1)
    assert proc.returncode == 0, proc.stderr.read()[-3000:]
    assert workers_arrow  # the watch ran while workers did the batch work
    assert during == set()
    assert after == {"libarrow.so", "_multiarray_umath"}  # dedup, load and commit ran here
    assert len(pd.read_parquet(tmp_path / "documents")) > 0
