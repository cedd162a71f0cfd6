"""`winnow serve`: the winnow-etl flow as a scheduled deployment on a running Prefect server.

Each scheduled run reads the same input folders; files already loaded into the output
(same source and checksum) are skipped, so a nightly run only processes new files.
"""

from __future__ import annotations

from pathlib import Path

from prefect import serve

from flows.etl import etl_flow

DEPLOYMENT_NAME = "winnow-nightly"
NIGHTLY_CRON = "0 2 * * *"  # 02:00 every night, server time zone (UTC by default)


def build_deployment(
    inputs: list[str],
    output: str,
    *,
    cron: str = NIGHTLY_CRON,
    name: str = DEPLOYMENT_NAME,
):
    """A runner deployment of winnow-etl on a cron schedule, with absolute paths."""
    return etl_flow.to_deployment(
        name=name,
        cron=cron,
        parameters={
            "inputs": [str(Path(p).resolve()) for p in inputs],
            "output": str(Path(output).resolve()),
        },
        description="winnow-etl on a schedule: only new input files are processed.",
        tags=["winnow"],
    )


def serve_deployment(
    inputs: list[str], output: str, *, cron: str = NIGHTLY_CRON, name: str = DEPLOYMENT_NAME
) -> None:
    """Register the deployment and run its scheduled (and manually triggered) runs; blocks."""
    serve(build_deployment(inputs, output, cron=cron, name=name))
