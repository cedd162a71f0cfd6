"""How a run is executed: Prefect settings, task runners (local workers: flows/workers.py), the
API server the workers report to, marking runs killed earlier, and `run_etl`."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING
from uuid import UUID

from prefect.task_runners import ThreadPoolTaskRunner

from flows.plan import RunOptions
from flows.staging import FLOW_RUN_FILE, staging_root
from flows.store import OutputStore
from flows.workers import start_pool, stop_pool
from transforms.config import PipelineConfig

if TYPE_CHECKING:
    from flows.summary import RunSummary

# Prefect defaults for winnow runs (only where the user set nothing): a slow machine may
# need longer than Prefect's 20 s to start the temporary server; no analytics calls out.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


def apply_prefect_defaults() -> None:
    """Set PREFECT_DEFAULTS in the environment where unset (before Prefect starts a server)."""
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)


def mark_killed_runs(store: OutputStore, logger) -> None:
    """Set the flow runs of staging folders left by killed runs to Crashed (a SIGKILLed
    process cannot report its end, so the UI would show them Running forever). A staging
    folder left behind while this run holds the output lock belongs to a killed run."""
    from prefect import get_client
    from prefect import runtime as prefect_runtime
    from prefect.states import Crashed

    current = str(prefect_runtime.flow_run.id)
    for path in sorted(staging_root(store.root).glob(f"*/{FLOW_RUN_FILE}")):
        try:
            flow_run_id = json.loads(path.read_text())["flow_run_id"]
        except (OSError, ValueError, KeyError):
            continue
        if flow_run_id == current:
            continue
        try:
            with get_client(sync_client=True) as client:
                state = client.read_flow_run(UUID(flow_run_id)).state
                if state is None or state.is_final():
                    continue
                message = f"process gone: found by run {current} on the same output"
                client.set_flow_run_state(flow_run_id, Crashed(message=message), force=True)
        except Exception as exc:  # another server, or the run was deleted: nothing to mark
            logger.debug("could not mark flow run %s crashed: %s", flow_run_id, exc)
            continue
        logger.warning(
            "flow run %s was killed (it left %s); marked Crashed", flow_run_id, path.parent.name
        )


@contextlib.contextmanager
def exported_api_url() -> Iterator[str]:
    """Make sure PREFECT_API_URL points at a running server and is exported to child processes.

    Worker processes are separate processes: without an exported URL each one would start its
    own temporary server (24-29 s each, DESIGN.md). Uses the configured server if there is
    one, else winnow's reusable local server (flows/server.py, env WINNOW_SERVER).
    """
    from flows.server import api_server

    with api_server() as url:
        yield url


def dask_runner(workers: int, address: str | None = None):
    """prefect-dask runner: the cluster at `address`, else a local one of `workers` processes."""
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": workers,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
    )


class LocalWorkersTaskRunner(ThreadPoolTaskRunner):
    """Tasks in `workers` threads of the flow process; their batch work (flows/work.py) in as
    many lean local worker processes (flows/workers.py), started and stopped with the runner."""

    def __init__(self, workers: int = 2):
        super().__init__(max_workers=workers)
        self._pool = None

    def duplicate(self) -> LocalWorkersTaskRunner:
        return type(self)(self._max_workers)

    def __enter__(self) -> LocalWorkersTaskRunner:
        super().__enter__()
        self._pool = start_pool(self._max_workers)
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        pool, self._pool = self._pool, None
        try:
            if pool is not None:
                stop_pool(pool, kill=exc_type is not None)
        finally:
            super().__exit__(exc_type, exc_value, traceback)

    def __getstate__(self) -> dict:
        return {**super().__getstate__(), "_pool": None}  # a pool stays with its process


def task_runner(workers: int = 1, dask_address: str | None = None):
    """The task runner of a run: in-process for one worker, lean local worker processes for
    several (`LocalWorkersTaskRunner`), prefect-dask for a cluster at `dask_address`.

    Local workers are not a local Dask cluster: on this 2-core machine a process pool starts
    faster and leaves more CPU to the work (1M benchmark lines, 2 workers: 1.40x one worker
    vs 1.20x with a LocalCluster; README, Performance), and not Prefect's
    `ProcessPoolTaskRunner`, whose workers each load Prefect (README, Performance).
    """
    if workers < 1:
        raise ValueError("workers must be >= 1")
    if dask_address:
        return dask_runner(workers, dask_address)
    if workers == 1:
        return ThreadPoolTaskRunner(max_workers=1)
    return LocalWorkersTaskRunner(workers)


def run_etl(
    inputs: list[str],
    output: str,
    *,
    config: PipelineConfig | None = None,
    options: RunOptions | None = None,
    fresh: bool = False,
    workers: int = 1,
    dask_address: str | None = None,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
) -> RunSummary:
    """Run the flow: in-process for one worker, else in local worker processes or on a Dask
    cluster at `dask_address` (see `task_runner`).

    Results do not depend on the runner: every batch writes its own files and the global
    steps (key counts, dedup, commit) run in input order in the flow process.
    """
    from flows.etl import etl_flow
    from flows.plan import flow_parameters

    apply_prefect_defaults()
    params = {
        "inputs": list(inputs),
        "output": str(output),
        "fresh": fresh,
        "include": list(include or []),
        "exclude": list(exclude or []),
        **flow_parameters(config or PipelineConfig(), options or RunOptions()),
    }
    runner = task_runner(workers, dask_address)
    with exported_api_url():  # reused local server unless configured; workers report to it too
        return etl_flow.with_options(task_runner=runner)(**params)
