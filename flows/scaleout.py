"""Task runners for `--workers N` and `--dask-address`: batches in parallel processes.

Process-based runners need a Prefect API that every worker can reach; without one each
worker process would start its own temporary server (24-29 s each). `api_for_workers`
returns the configured `PREFECT_API_URL`, or starts one local server and exports its URL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner


@contextmanager
def api_for_workers() -> Iterator[str]:
    """A Prefect API URL exported to os.environ (inherited by worker processes)."""
    url = get_current_settings().api.url
    if url:
        old = os.environ.get("PREFECT_API_URL")
        os.environ["PREFECT_API_URL"] = url
        try:
            yield url
        finally:
            if old is None:
                os.environ.pop("PREFECT_API_URL", None)
            else:
                os.environ["PREFECT_API_URL"] = old
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start(timeout=120)
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield server.api_url
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        server.stop()


def make_task_runner(workers: int = 1, dask_address: str | None = None) -> TaskRunner:
    """One thread (sequential), a local Dask cluster of `workers` processes, or a remote one."""
    if dask_address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=dask_address)
    if workers <= 1:
        return ThreadPoolTaskRunner(max_workers=1)
    from prefect_dask import DaskTaskRunner

    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": workers,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
    )
