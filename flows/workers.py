"""winnow's local worker processes: lean processes that run a batch's work (flows/work.py).

A run with several local workers keeps Prefect in the flow process alone: its tasks run in
threads there (task runs, states and logs as before) and hand the batch's work to a pool of
spawned processes that import only flows/work.py and what it needs (no Prefect engine, API
client or event threads per worker: 2 workers, 100k benchmark lines, ~300 MiB per Prefect
worker process before). This module imports no Prefect either: the workers import it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from flows.memory import release_memory
from flows.reaper import PARENT_CHECK_SECONDS

# langdetect-rs detects a batch on a rayon pool of one thread per core: N local worker
# processes would each start cores-many threads and oversubscribe the machine. Each worker
# gets twice its fair share instead (language detection runs in bursts between Python work:
# 1M benchmark lines, 2 workers on 2 cores, 2 threads each 41.3 s vs 1 thread each 42.6 s),
# at most all cores; RAYON_NUM_THREADS set by the user wins.
NATIVE_POOL_VAR = "RAYON_NUM_THREADS"
NATIVE_SHARE = 2

_active: ProcessPoolExecutor | None = None  # the pool of the run in this process, if any
_active_lock = threading.Lock()


def native_threads(workers: int, cores: int | None = None) -> int:
    """Rayon threads per local worker process.

    >>> native_threads(2, 2), native_threads(8, 8), native_threads(4, 8), native_threads(3, 2)
    (2, 2, 4, 2)
    """
    if not cores:
        affinity = getattr(os, "sched_getaffinity", None)
        cores = len(affinity(0)) if affinity else os.cpu_count() or 1
    return max(1, min(cores, -(-NATIVE_SHARE * cores // workers)))


def init_worker(threads: int = 1) -> None:
    """Worker initializer: `threads` native threads per worker process, SIGINT left to the
    flow process (it stops the pool), and exit when the flow process dies (a SIGKILLed flow
    would otherwise leave its workers waiting forever: each holds a write end of the pool's
    call queue, so the queue never reports end-of-file).

    The parent's pid is the one multiprocessing handed over at spawn: a worker that read
    `getppid()` after a kill in its first second would watch its new parent (init) and never
    exit."""
    os.environ.setdefault(NATIVE_POOL_VAR, str(threads))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    spawner = multiprocessing.parent_process()
    parent = spawner.pid if spawner is not None and spawner.pid else os.getppid()
    if os.getppid() != parent:  # the flow process died while this worker started
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="winnow-parent-watch", daemon=True).start()


def start_pool(workers: int) -> ProcessPoolExecutor:
    """`workers` spawned worker processes (started on first use), made this process's pool."""
    global _active
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=init_worker,
        initargs=(native_threads(workers),),
    )
    with _active_lock:
        _active = pool
    return pool


def stop_pool(pool: ProcessPoolExecutor, *, kill: bool = False) -> None:
    """Stop `pool` (its queued work cancelled); `kill` ends running work at once (the run
    failed or was interrupted: waiting for a batch's end would hold the exit for seconds)."""
    global _active
    with _active_lock:
        if _active is pool:
            _active = None
    if kill:  # no public way to end running work: the executor's own process table
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def _run(fn: Callable[..., Any], args: tuple) -> tuple[Any, int]:
    """In a worker: `fn(*args)` and this process's id, then freed memory handed back."""
    try:
        return fn(*args), os.getpid()
    finally:
        release_memory()


def in_worker(fn: Callable[..., Any], *args: Any) -> tuple[Any, int]:
    """`(fn(*args), pid of the process that ran it)`: in this process's worker pool if it has
    one, else here. `fn` and its arguments must be picklable (module-level, no Prefect)."""
    pool = _active
    if pool is None:
        return fn(*args), os.getpid()
    return pool.submit(_run, fn, args).result()
