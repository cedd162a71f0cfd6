"""winnow's lean local worker processes (flows/workers.py): what they import, where the work
runs, and how a pool stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from flows.workers import WorkerDied, in_worker, rest_workers, start_pool, stop_pool
from tests.conftest import REPO


def test_the_worker_side_imports_no_prefect():
    """A worker imports flows/work.py and flows/workers.py: Prefect must stay out (its engine,
    client and threads were ~90 MiB per worker)."""
    code = (
        "import sys, flows.work, flows.workers; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'prefect'))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout[:500]


def _sleep_then_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_in_worker_runs_here_without_a_pool_and_in_a_worker_with_one():
    assert in_worker(_sleep_then_pid, 0.0) == (os.getpid(), os.getpid())
    pool = start_pool(2)
    try:
        result, pid = in_worker(_sleep_then_pid, 0.0)
        assert result == pid and pid != os.getpid()
    finally:
        stop_pool(pool)
    assert in_worker(_sleep_then_pid, 0.0)[1] == os.getpid()  # the pool is no longer used


def test_resting_workers_end_their_processes_and_later_work_starts_new_ones():
    """After the flag stage the flow rests its pool: the idle workers' memory is handed back
    before the serial dedup and load, and work submitted afterwards still runs in a worker."""
    rest_workers()  # no pool: nothing to do
    pool = start_pool(1)
    try:
        _, first = in_worker(_sleep_then_pid, 0.0)
        rest_workers()
        assert not psutil.pid_exists(first) or psutil.Process(first).status() == "zombie"
        result, second = in_worker(_sleep_then_pid, 0.0)
        assert result == second and second not in (first, os.getpid())
    finally:
        stop_pool(pool)


def _die_once_then_pid(marker: str) -> int:
    """Kill this process the first time (no `marker` yet), then return its pid."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_dead_worker_is_replaced_and_its_work_redone(tmp_path):
    pool = start_pool(2)
    try:
        first_pids = {in_worker(_sleep_then_pid, 0.0)[1]}
        result, pid = in_worker(_die_once_then_pid, str(tmp_path / "died"))
        assert (tmp_path / "died").exists()  # it did die once
        assert result == pid and pid != os.getpid()
        assert pool.restarts == 1
        assert in_worker(_sleep_then_pid, 0.0)[1] not in first_pids  # a new set of processes
    finally:
        stop_pool(pool)


def test_work_that_kills_every_worker_fails_with_a_clear_error():
    pool = start_pool(1)
    try:
        with pytest.raises(WorkerDied, match="ended abruptly running _die"):
            in_worker(_die)
        assert pool.restarts == 1  # retried once, on a fresh process
        assert in_worker(_sleep_then_pid, 0.0)[1] != os.getpid()  # the pool still works
    finally:
        stop_pool(pool)


def test_a_killed_pool_ends_running_work_at_once():
    pool = start_pool(1)
    future = pool.submit(_sleep_then_pid, 60.0)
    while not future.running():
        time.sleep(0.01)
    t0 = time.monotonic()
    stop_pool(pool, kill=True)
    assert time.monotonic() - t0 < 20
    with pytest.raises(Exception):  # noqa: B017 (BrokenProcessPool or CancelledError)
        future.result(timeout=5)
