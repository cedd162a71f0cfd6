"""winnow's Prefect flows, tasks and command line (memory defaults: flows/memory.py)."""

import os

from flows.memory import PANDAS_FREE_ENV, apply_memory_defaults, keep_pandas_out

apply_memory_defaults()  # before pyarrow is imported: Arrow picks its allocator at import
if os.environ.get(PANDAS_FREE_ENV) == "1":  # a worker process of a `winnow run`
    keep_pandas_out()
