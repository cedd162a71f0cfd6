"""Memory defaults of winnow processes (flows/memory.py): applied at import, user settings win."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
