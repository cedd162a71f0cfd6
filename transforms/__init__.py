"""Pure functions of winnow: no I/O, no Prefect, no logging; deterministic.

One module per stage: extract -> lines -> language -> boilerplate -> documents -> dedup.
"""
