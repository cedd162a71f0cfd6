"""winnow's local worker processes: lean processes that run a batch's work (flows/work.py).

A run with several local workers keeps Prefect in the flow process alone: its tasks run in
threads there (task runs, states and logs as before) and hand the batch's work to a pool of
spawned processes that import only flows/work.py and what it needs (no Prefect engine, API
client or event threads per worker: 2 workers, 100k benchmark lines, ~300 MiB per Prefect
worker process before). This module imports no Prefect either: the workers import it.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
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

_active: WorkerPool | None = None  # the pool of the run in this process, if any
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


# A worker process that dies (the kernel's OOM killer, a crash in native code) breaks the
# whole executor: every batch submitted after it would fail too. The pool is restarted and
# the batch that was running tried again, WORKER_RETRIES times; a batch that kills its worker
# every time fails its task with WorkerDied (the run fails before its commit; nothing is
# marked loaded, and a re-run redoes exactly what is missing).
WORKER_RETRIES = 1


class WorkerDied(RuntimeError):
    """A local worker process ended abruptly (killed or crashed) while running a batch."""


class WorkerPool:
    """`workers` spawned lean worker processes (started on first use) that replace themselves
    when one dies; `stop` ends them."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.restarts = 0
        self._stopped = False
        self._lock = threading.Lock()
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
            initargs=(native_threads(self.workers),),
        )

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """`fn(*args)` in a worker process (the executor's future)."""
        return self._executor.submit(fn, *args)

    def run(self, fn: Callable[..., Any], args: tuple) -> tuple[Any, int]:
        """`(fn(*args), worker pid)`, on a restarted pool if a worker died on the way."""
        for attempt in range(WORKER_RETRIES + 1):
            executor = self._executor
            try:
                return executor.submit(_run, fn, args).result()
            except BrokenProcessPool as exc:
                if self._stopped or attempt == WORKER_RETRIES:
                    raise WorkerDied(
                        f"a worker process ended abruptly running {fn.__name__} (killed, e.g. "
                        f"out of memory, or crashed), {attempt + 1} time(s); the run stops "
                        "before its commit and a re-run redoes this batch"
                    ) from exc
                _warn(
                    f"a worker process ended abruptly running {fn.__name__}; new workers "
                    "started, the batch is tried again"
                )
                self._replace(executor)
        raise AssertionError("unreachable")

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """A new executor for a broken one (once, whichever task thread notices first)."""
        with self._lock:
            if self._executor is broken and not self._stopped:
                broken.shutdown(wait=False, cancel_futures=True)
                self._executor = self._new_executor()
                self.restarts += 1

    def rest(self) -> None:
        """End the worker processes now that no batch work is left (their line caches and
        imports, ~186 MiB each at 1M benchmark lines, would sit idle beside the flow's
        serial dedup and load); the next `submit` starts new ones."""
        with self._lock:
            if self._stopped:
                return
            idle, self._executor = self._executor, self._new_executor()  # spawns on first use
        idle.shutdown(wait=True)

    def stop(self, *, kill: bool = False) -> None:
        """Stop the processes (queued work cancelled); `kill` ends running work at once (the
        run failed or was interrupted: waiting for a batch's end would hold the exit)."""
        with self._lock:
            self._stopped = True
            executor = self._executor
        if kill:  # no public way to end running work: the executor's own process table
            for process in list(getattr(executor, "_processes", {}).values()):
                process.terminate()
        executor.shutdown(wait=True, cancel_futures=True)


def _warn(message: str) -> None:
    """A warning in the task run's log (this runs in the flow process, in a task thread)."""
    try:
        from prefect.logging import get_run_logger  # the flow process has Prefect loaded

        get_run_logger().warning(message)
    except Exception:  # outside a task run (tests, benchmarks)
        logging.getLogger(__name__).warning(message)


def start_pool(workers: int) -> WorkerPool:
    """A `WorkerPool` of `workers` processes, made this process's pool (`in_worker`)."""
    global _active
    pool = WorkerPool(workers)
    with _active_lock:
        _active = pool
    return pool


def stop_pool(pool: WorkerPool, *, kill: bool = False) -> None:
    """Stop `pool` (`WorkerPool.stop`); work runs in this process again."""
    global _active
    with _active_lock:
        if _active is pool:
            _active = None
    pool.stop(kill=kill)


def rest_workers() -> None:
    """`WorkerPool.rest` for this process's pool, if it has one (a no-op without)."""
    pool = _active
    if pool is not None:
        pool.rest()


def _run(fn: Callable[..., Any], args: tuple) -> tuple[Any, int]:
    """In a worker: `fn(*args)` and this process's id, then freed memory handed back."""
    try:
        return fn(*args), os.getpid()
    finally:
        release_memory()


@dataclass(frozen=True)
class LazyFunction:
    """A module-level function named by its module and name, imported where it is called: the
    flow process hands a batch to a worker without importing the module that does the work
    (flows/work.py and pyarrow: the flow process of a run with workers loads them only after
    the flag stage, when the workers are gone).

    >>> LazyFunction("posixpath", "join")("a", "b")
    'a/b'
    """

    module: str
    name: str

    @property
    def __name__(self) -> str:  # a function's name, for messages
        return self.name

    def __call__(self, *args: Any) -> Any:
        return getattr(importlib.import_module(self.module), self.name)(*args)


def in_worker(fn: Callable[..., Any], *args: Any) -> tuple[Any, int]:
    """`(fn(*args), pid of the process that ran it)`: in this process's worker pool if it has
    one, else here. `fn` and its arguments must be picklable (module-level, no Prefect)."""
    pool = _active
    if pool is None:
        return fn(*args), os.getpid()
    return pool.run(fn, args)
