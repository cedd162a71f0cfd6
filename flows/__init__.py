"""winnow's Prefect flows, tasks and command line (memory defaults: flows/memory.py)."""

from flows.memory import apply_memory_defaults

apply_memory_defaults()  # before pyarrow is imported: Arrow picks its allocator at import
