"""Process-wide memory settings of winnow processes, and handing freed memory back after a batch.

Standard library only: `flows/__init__.py` applies the defaults before pyarrow is imported
(Arrow picks its allocator once, at import, from ARROW_DEFAULT_MEMORY_POOL).
"""

from __future__ import annotations

import ctypes
import functools
import importlib.abc
import os
import sys
from collections.abc import Sequence
from types import ModuleType

# Arrow's allocator: the C library's. The pyarrow wheels default to mimalloc, which keeps
# freed pages in per-thread heaps (count-keys' threaded group_by left +52 MiB of RSS in the
# flow process, never returned). Peak RSS of the flow process, 1 worker, 100k benchmark lines
# (README, Performance): mimalloc ~430 MiB, jemalloc ~400, system with MALLOC_ARENAS ~340.
ARROW_POOL = "system"
# glibc arenas per process (default 8 per core): each thread that mallocs gets an arena of its
# own and keeps what it freed there, so the task thread, the flow thread and Arrow's pool
# threads each held a batch's worth. Two: little lock contention (Python holds the GIL).
MALLOC_ARENAS = 2
M_ARENA_MAX = -8  # mallopt parameter number (glibc malloc.h)
# Blocks from this size on get their own mapping, returned to the system when freed. glibc's
# default (128 KiB) rises to the largest block freed so far (up to 32 MiB), after which a
# batch's Arrow and numpy buffers come from the heap and leave it fragmented; setting it fixes
# it. Peak RSS of a run, 1 worker (README, Memory): 100k benchmark lines 298-303 -> 286-288
# MiB, same time; 1M lines 414-427 -> ~400 MiB, ~3% slower (512 KiB: 400-403 MiB, ~4-6%
# slower; 256 KiB: 394 MiB, ~7%).
MMAP_THRESHOLD = 1 << 20
M_MMAP_THRESHOLD = -3  # mallopt parameter number (glibc malloc.h)
# A `winnow run` process (and its worker processes, through this variable) never loads pandas:
# the pipeline builds its tables with pyarrow alone, but pyarrow imports pandas, when it is
# installed, on the first `pa.array` of a Python list and in `pyarrow.dataset` (31 MiB of RSS
# per process: 197 -> 166 MiB after `import flows.work`, this machine).
PANDAS_FREE_ENV = "WINNOW_PANDAS_FREE"
MEMORY_ENV = {
    "ARROW_DEFAULT_MEMORY_POOL": ARROW_POOL,
    "MALLOC_ARENA_MAX": str(MALLOC_ARENAS),
    "MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD),  # glibc's name (trailing underscore)
}


@functools.cache
def _libc():
    """glibc (malloc_trim, mallopt), or None off glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim, libc.mallopt  # noqa: B018 (both exist: glibc)
    except (OSError, AttributeError):
        return None
    return libc


def apply_memory_defaults() -> None:
    """MEMORY_ENV where the user set nothing (inherited by worker processes), and the arena cap
    and mmap threshold for this process too (glibc reads MALLOC_* only at start; mallopt from
    now on)."""
    arena_set = bool(os.environ.get("MALLOC_ARENA_MAX"))
    mmap_set = bool(os.environ.get("MALLOC_MMAP_THRESHOLD_"))
    for key, value in MEMORY_ENV.items():
        os.environ.setdefault(key, value)
    libc = _libc()
    if libc is not None:
        if not arena_set:
            libc.mallopt(M_ARENA_MAX, MALLOC_ARENAS)
        if not mmap_set:
            libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def release_memory() -> None:
    """Give freed memory back to the system after a batch: Arrow's pool, then the C heap
    (glibc keeps freed blocks of large Python objects and Parquet buffers otherwise).
    Arrow's pool only where pyarrow is loaded: the flow process of a run with workers loads
    it after the flag stage (flows/workers.py, LazyFunction)."""
    pa = sys.modules.get("pyarrow")
    if pa is not None:
        pa.default_memory_pool().release_unused()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


# pyarrow's own S3 filesystem, which `pyarrow.fs` loads when present (libarrow_s3 and the AWS
# SDK: 7 MiB of RSS per process, 127 -> 120 MiB after `import flows.work`, this machine).
# winnow reaches object storage through fsspec/s3fs (flows/storage.py), never through it.
UNUSED_MODULES = ("pyarrow._s3fs",)


class _NoPandas(importlib.abc.MetaPathFinder):
    """Import finder that refuses pandas (pyarrow then works without it, as if not installed)
    and UNUSED_MODULES (`pyarrow.fs` then has no S3FileSystem, as in a wheel built without)."""

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> None:
        if name == "pandas" or name.startswith("pandas.") or name in UNUSED_MODULES:
            raise ImportError(f"{name} is not loaded in winnow run processes ({PANDAS_FREE_ENV})")
        return None


def keep_pandas_out() -> bool:
    """Refuse pandas imports in this process and its workers, unless pandas is loaded already
    (then nothing changes: True only when the process is pandas-free from now on)."""
    if "pandas" in sys.modules:
        return False
    if not any(isinstance(finder, _NoPandas) for finder in sys.meta_path):
        sys.meta_path.insert(0, _NoPandas())
    os.environ[PANDAS_FREE_ENV] = "1"
    return True
