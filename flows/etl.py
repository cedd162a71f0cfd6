"""The `winnow-etl` Prefect flow: discover -> plan -> extract -> count keys -> flag -> dedup ->
load -> commit -> publish.

Granularity is a batch of files. Tasks (flows/tasks.py) pass Parquet paths in the run's
staging folder (flows/staging.py), which makes a killed run resumable (`winnow run`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger
from prefect import runtime as prefect_runtime

from flows.hooks import hook_point
from flows.plan import (
    BATCH_DOCS,
    BATCH_FILES,
    InputPlan,
    RunOptions,
    code_hash,
    make_run_id,
    plan_batches,
    plan_inputs,
    reading_options,
    select_sources,
    settings_of,
)
from flows.progress import RunProgress, gather_batches, run_step
from flows.readers import max_expanded_bytes
from flows.runners import mark_killed_runs
from flows.staging import Staging
from flows.storage import discover_all, open_store
from flows.store import (
    FORMAT_FILE,
    STATE_FORMAT,
    OutputStore,
    lsh_mismatch_message,
    other_lsh_state,
    write_json,
    write_parquet,
)
from flows.summary import (
    ExtractResult,
    FlagResult,
    LoadResult,
    RunSummary,
    count_rows,
    flow_run_name,
    mark_run_with_errors,
    publish_summary,
    run_counts,
)
from flows.tasks import (
    claim_ids,
    count_keys,
    dedup_documents,
    extract_batch,
    flag_batch,
    load_documents,
    stage_empty_datasets,
)
from flows.workers import LazyFunction, in_worker, rest_workers
from transforms.config import (
    LSH_BANDS,
    LSH_ROWS,
    NEAR_DUP_MIN_JACCARD,
    SHINGLE_WORDS,
    PipelineConfig,
    config_hash,
)
from transforms.records import ErrorRecord

# With local workers the flow process loads pyarrow and numpy (~45 MiB of RSS) only after the
# flag stage, once the workers are gone: what it reads before (the ledger, key counts, input
# ids) is read in a worker (flows/tasks.py, flows/workers.py: LazyFunction).
READ_LEDGER = LazyFunction("flows.ledger", "read_ledger")


@dataclasses.dataclass(frozen=True)
class RunContext:
    """What the flow knows about a run once it is planned."""

    store: OutputStore
    staging: Staging
    run_id: str
    plan: InputPlan
    discovery_errors: list[ErrorRecord]
    started: datetime
    reading: str  # reading options (ledger key)


def _plan_run(
    store: OutputStore, inputs: list[str], config: PipelineConfig, fresh: bool, patterns: tuple
):
    """Recover the output, find the new files (matching the include/exclude `patterns`),
    fix the run id and its staging folder."""
    logger = get_run_logger()
    started = datetime.now(UTC)
    mark_killed_runs(store, logger)  # before reset/recover remove their staging
    if fresh:
        store.reset()
    store.recover()  # roll a half-finished commit forward before reading state
    store.check_format()
    other = other_lsh_state(store.root, config) if config.near_dup else None
    if other:  # its own state would silently miss near duplicates of earlier runs
        raise ValueError(lsh_mismatch_message(store.root, other))
    # the output (datasets, state) is never read as input, even inside an input folder
    files, discovery_errors = (
        select_sources(found, *patterns) for found in discover_all(inputs, exclude=[store.root])
    )
    reading = reading_options(config, max_expanded_bytes=max_expanded_bytes())
    ledger, _ = in_worker(READ_LEDGER, store, [f.source for f in files])  # pyarrow: there
    plan = plan_inputs(files, ledger, reading=reading)
    run_seq = store.committed_runs() + 1
    run_id = make_run_id(run_seq, config_hash(config), plan.new)
    store.recover(keep=[run_id])
    staging = Staging.of(store.root, run_id, run_seq)
    write_json({"flow_run_id": str(prefect_runtime.flow_run.id)}, staging.flow_run_file)
    return RunContext(store, staging, run_id, plan, discovery_errors, started, reading)


def _stage_run_records(
    run: RunContext,
    config: PipelineConfig,
    options: RunOptions,
    extracted: list[ExtractResult],
    flagged: list[FlagResult],
    loaded: LoadResult,
    duplicates: Path,
) -> tuple[RunSummary, list[dict]]:
    """Stage the run's errors, its ledger part and its `runs` row (the manifest), counting the
    `duplicates` file's kinds; returns the summary and the error rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from flows import schemas
    from flows.ledger import stage_ledger
    from flows.work import errors_table

    staging = run.staging
    duplicate_kinds = Counter(pq.read_table(duplicates, columns=["kind"])["kind"].to_pylist())
    error_table = pa.concat_tables(
        [errors_table(run.discovery_errors, run.run_id)]
        + [pq.read_table(staging.batch_errors(e.batch)) for e in extracted]
        + ([pq.read_table(staging.id_errors)] if staging.id_errors.exists() else [])
    )
    write_parquet(error_table, staging.dataset_part("errors"))
    inputs = [dataclasses.asdict(f) for f in run.plan.new]
    write_json({"format": STATE_FORMAT}, staging.state_file(FORMAT_FILE))
    stage_empty_datasets(run.store, staging)
    stage_ledger(staging, [staging.batch_ledger(e.batch) for e in extracted])
    errors = error_table.to_pylist()
    summary = RunSummary(
        run_id=run.run_id,
        run_seq=staging.run_seq,
        started_at=run.started,
        ended_at=datetime.now(UTC),
        config_hash=config_hash(config),
        code_hash=code_hash(),
        config=json.dumps(
            {**dataclasses.asdict(config), **dataclasses.asdict(options)}, sort_keys=True
        ),
        inputs=inputs,
        n_files=len(run.plan.new),
        n_files_skipped=run.plan.n_skipped,
        output=run.store.location,
        read_reasons=count_rows(Counter(run.plan.reasons.values())),
        **run_counts(extracted, flagged, loaded, duplicate_kinds, errors),
    )
    runs_row = summary.runs_row(schemas.RUNS.names)
    write_parquet(
        pa.Table.from_pylist([runs_row], schema=schemas.RUNS), staging.dataset_part("runs")
    )
    return summary, errors


def _extract_all(run: RunContext, batches: list, config, options, progress) -> list:
    progress.stage("extract", len(run.plan.new), "files")
    futures = [
        extract_batch.submit(
            b, run.staging, i, config, options, run.run_id, run.plan.revisions, run.reading
        )
        for i, b in enumerate(batches)
    ]
    return gather_batches(futures, progress, lambda i, r: (r.files, r.lines))


def _flag_all(
    run: RunContext, extracted: list, key_counts, config, options, progress, renames
) -> list:
    progress.stage("flag", sum(e.lines for e in extracted), "lines")
    futures = [
        flag_batch.submit(run.staging, i, key_counts, config, options, run.run_id, renames)
        for i in range(len(extracted))
    ]
    return gather_batches(futures, progress, lambda i, r: (extracted[i].lines, extracted[i].lines))


@flow(name="winnow-etl", flow_run_name=flow_run_name)
def etl_flow(
    inputs: list[str],
    output: str = "output",
    fresh: bool = False,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    text_field: str = "text",
    id_field: str | None = None,
    near_dup: bool = True,
    near_dup_jaccard: float = NEAR_DUP_MIN_JACCARD,
    lsh_bands: int = LSH_BANDS,
    lsh_rows: int = LSH_ROWS,
    shingle_words: int = SHINGLE_WORDS,
    boilerplate: dict[str, int | float] | None = None,  # BoilerplateConfig fields
    lang_engine: str = "auto",
    batch_docs: int = BATCH_DOCS,
    batch_files: int = BATCH_FILES,
) -> RunSummary:
    """Run winnow on files/folders into OUTPUT; returns the run summary (also in `runs/`).

    `include`/`exclude`: glob patterns on each file's source path or name (flows/plan.py).
    """
    config, options = settings_of(locals())  # validated: ValueError on a bad value
    logger = get_run_logger()
    store = open_store(output)  # a folder, or a URL (flows/storage.py)
    with store.lock(), RunProgress(logger) as progress:
        run = _plan_run(store, inputs, config, fresh, (include, exclude))
        staging, n_new = run.staging, len(run.plan.new)
        batches = plan_batches(run.plan.new, batch_files=options.batch_files)
        n = len(batches)
        logger.info(
            "run %s (pid %d): %d new input files (%d new versions of loaded files), %d batches",
            *(run.run_id, os.getpid(), n_new, len(run.plan.revisions), len(batches)),
        )
        extracted = _extract_all(run, batches, config, options, progress)
        key_counts = run_step(progress, "count-keys", 1, "steps", count_keys, store, staging, n)
        renames = None
        if config.id_field:  # input ids: unique across batches and runs
            claim = (store, staging, n, run.run_id, sorted(run.plan.revisions))
            renames = run_step(progress, "claim-ids", 1, "steps", claim_ids, *claim)
        flagged = _flag_all(run, extracted, key_counts, config, options, progress, renames)
        rest_workers()  # dedup and load run here: the idle workers' memory goes first
        n_docs = sum(e.documents for e in extracted)
        dedup_args = (store, staging, n, run.run_id, config)
        dups = run_step(progress, "dedup", n_docs, "documents", dedup_documents, *dedup_args)
        loaded = run_step(progress, "load", n_docs, "documents", load_documents, staging, n, dups)
        staged = (run, config, options, extracted, flagged, loaded, dups)
        summary, errors = _stage_run_records(*staged)
        from flows.compaction import compact_state  # pyarrow and numpy: after the flag stage

        folded = compact_state(store, staging.final_root)  # when due: O(log history) parts
        hook_point("before-commit")
        run_step(progress, "commit", 1, "steps", store.commit, run.run_id, folded)
        progress.close()
        publish_summary(summary, errors)
        mark_run_with_errors(summary, logger)
        logger.info(
            "run %s committed: %d documents (%d kept), %d lines, %d duplicates, %d errors",
            *(run.run_id, n_docs, loaded.kept, summary.n_lines, summary.n_duplicates),
            summary.n_errors,
        )
        return summary
