"""winnow's lean local worker processes (flows/workers.py): what they import, where the work
runs, and how a pool stops."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from flows.workers import in_worker, start_pool, stop_pool
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
