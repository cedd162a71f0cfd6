"""The local worker pool of `--workers N`: Prefect's process pool whose workers learn the pid
of the process that starts them (flows/runners.py:init_worker watches it).

The pid is read when the pool starts, in the flow's process: `winnow serve` builds the task
runner in the serve process and each scheduled run starts the pool in its own flow-run
process, so a pid taken when the runner is built would be the serve process's, and every
worker would exit at once (BrokenProcessPool).
"""

from __future__ import annotations

import os

from prefect.task_runners import ProcessPoolTaskRunner


class WorkerPoolTaskRunner(ProcessPoolTaskRunner):
    """`ProcessPoolTaskRunner` passing the starting process's pid to its initializer."""

    def __enter__(self):
        self._initargs = (os.getpid(),)
        return super().__enter__()
