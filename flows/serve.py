"""`winnow serve`: the winnow-etl flow as a scheduled deployment on a Prefect server."""

from __future__ import annotations

from pathlib import Path

from flows.plan import RunOptions
from transforms.config import PipelineConfig

DEFAULT_CRON = "0 2 * * *"  # nightly at 02:00
DEPLOYMENT_NAME = "winnow-scheduled"


def deployment_parameters(
    inputs: list[str],
    output: str,
    config: PipelineConfig | None = None,
    options: RunOptions | None = None,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
) -> dict:
    """The flow's parameters for scheduled runs: absolute paths (independent of the worker's
    cwd) and every option, so a scheduled run reads and decides as `winnow run` would."""
    from flows.plan import flow_parameters

    return {
        "inputs": [str(Path(p).resolve()) for p in inputs],
        "output": str(Path(output).resolve()),
        "include": list(include or []),
        "exclude": list(exclude or []),
        **flow_parameters(config or PipelineConfig(), options or RunOptions()),
    }


def serve_etl(
    inputs: list[str],
    output: str,
    *,
    config: PipelineConfig | None = None,
    options: RunOptions | None = None,
    cron: str = DEFAULT_CRON,
    timezone: str = "UTC",
    name: str = DEPLOYMENT_NAME,
    workers: int = 1,
    dask_address: str | None = None,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
) -> None:
    """Register the deployment with its cron schedule and serve runs until interrupted.

    Needs a running server (PREFECT_API_URL). Each scheduled run loads only input files it has
    not loaded before (same source and checksum are skipped), so re-runs are cheap. With
    `workers` > 1 each run's batches go to local worker processes, with a `dask_address` to
    that Dask cluster (both report to the same server: PREFECT_API_URL is exported). The
    cron schedule is read in `timezone` (IANA name), shown on the deployment page.
    """
    from prefect.schedules import Cron

    from flows.etl import etl_flow
    from flows.runners import apply_prefect_defaults, task_runner

    apply_prefect_defaults()
    flow = etl_flow.with_options(task_runner=task_runner(workers, dask_address))
    flow.serve(
        name=name,
        schedule=Cron(cron, timezone=timezone),
        parameters=deployment_parameters(inputs, output, config, options, include, exclude),
        description="winnow: line-first web-text ETL over new input files",
        tags=["winnow"],
    )
