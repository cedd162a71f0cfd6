"""`winnow serve`: the winnow-etl flow as a scheduled deployment on a Prefect server."""

from __future__ import annotations

from pathlib import Path

DEFAULT_CRON = "0 2 * * *"  # nightly at 02:00
DEPLOYMENT_NAME = "winnow-scheduled"


def deployment_parameters(inputs: list[str], output: str) -> dict:
    """Absolute paths, so scheduled runs do not depend on the worker's cwd."""
    return {
        "inputs": [str(Path(p).resolve()) for p in inputs],
        "output": str(Path(output).resolve()),
    }


def serve_etl(
    inputs: list[str],
    output: str,
    *,
    cron: str = DEFAULT_CRON,
    name: str = DEPLOYMENT_NAME,
    workers: int = 1,
    dask_address: str | None = None,
) -> None:
    """Register the deployment with its cron schedule and serve runs until interrupted.

    Needs a running server (PREFECT_API_URL). Each scheduled run loads only input files it has
    not loaded before (same source and checksum are skipped), so re-runs are cheap. With
    `workers` > 1 each run's batches go to local worker processes, with a `dask_address` to
    that Dask cluster (both report to the same server: PREFECT_API_URL is exported).
    """
    from flows.etl import etl_flow, task_runner

    flow = etl_flow.with_options(task_runner=task_runner(workers, dask_address))
    flow.serve(
        name=name,
        cron=cron,
        parameters=deployment_parameters(inputs, output),
        description="winnow: line-first web-text ETL over new input files",
        tags=["winnow"],
    )
