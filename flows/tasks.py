"""The tasks of the winnow-etl flow: each reads its inputs, makes one `transforms` call and
writes its outputs, returning the paths (or a typed result) it wrote.

Task bodies run without a flow too (`extract_batch.fn(...)`), e.g. in
benchmarks/profile_stages.py: logging falls back to the `winnow` logger outside a run.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError

from flows.hooks import hook_point
from flows.memory import release_memory
from flows.plan import RunOptions
from flows.readers import InputFile
from flows.staging import Staging
from flows.store import OutputStore, fsync_file, write_parquet
from flows.summary import ExtractResult, FlagResult, LoadResult
from flows.workers import LazyFunction, in_worker
from transforms.config import PipelineConfig

if TYPE_CHECKING:
    import numpy as np

    from transforms.dedup import Duplicate

# The batch work (flows/work.py), by name: with local workers it runs there, and the flow
# process imports neither it nor pyarrow and numpy (~45 MiB of RSS) before the flag stage
# ends; dedup and load, which run here after the workers are gone, import them when they
# start (2 workers, 1M benchmark lines: the flow process held 164 MiB while they ran).
WORK_EXTRACT = LazyFunction("flows.work", "extract_files")
WORK_COUNT_KEYS = LazyFunction("flows.work", "count_staged_keys")
WORK_CLAIM_IDS = LazyFunction("flows.work", "claim_staged_ids")
WORK_FLAG = LazyFunction("flows.work", "flag_staged")


def _logger() -> logging.Logger | logging.LoggerAdapter:
    """The task run's logger, or the `winnow` logger outside a Prefect run."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("winnow")


def _released(task, task_run, state) -> None:
    """Task hook: hand the memory a batch freed back to the system (flows/memory.py)."""
    release_memory()


# Data tasks end by releasing freed memory in the process that ran them (a worker's too).
RELEASE = {"on_completion": [_released], "on_failure": [_released]}


@task(task_run_name="extract-{batch:05d}", cache_policy=NO_CACHE, retries=0, **RELEASE)
def extract_batch(
    files: list[InputFile],
    staging: Staging,
    batch: int,
    config: PipelineConfig,
    options: RunOptions,
    run_id: str,
    revisions: dict[str, str],
    reading: str = "",
) -> ExtractResult:
    """Read one batch of files into staged labels, metadata, key counts and ledger rows
    (`flows.work.extract_files`), in a local worker process when the run has them."""
    args = (files, staging, batch, config, options, run_id, revisions, reading)
    result, pid = in_worker(WORK_EXTRACT, *args)
    _logger().info(
        "extract batch %05d (pid %d): %d files, %d documents, %d lines, %d errors",
        *(batch, pid, result.files, result.documents, result.lines, result.errors),
    )
    return result


@task(task_run_name="claim-ids", cache_policy=NO_CACHE)
def claim_ids(
    store: OutputStore, staging: Staging, n_batches: int, run_id: str, revised: list[str]
) -> Path:
    """Input ids (`--id-field`) already held by an earlier batch or an earlier run: those
    documents keep their positional id instead (renamed in the flag task), with an error row
    (`flows.work.claim_staged_ids`, in a local worker process when the run has them)."""
    return in_worker(WORK_CLAIM_IDS, store, staging, n_batches, run_id, revised)[0]


@task(task_run_name="count-keys", cache_policy=NO_CACHE, **RELEASE)
def count_keys(store: OutputStore, staging: Staging, n_batches: int) -> Path:
    """Documents per line key: this run's batches plus every committed run
    (`flows.work.count_staged_keys`, in a local worker process when the run has them)."""
    return in_worker(WORK_COUNT_KEYS, store, staging, n_batches)[0]


@task(task_run_name="flag-{batch:05d}", cache_policy=NO_CACHE, **RELEASE)
def flag_batch(
    staging: Staging,
    batch: int,
    key_counts: Path,
    config: PipelineConfig,
    options: RunOptions,
    run_id: str,
    renames: Path | None = None,
) -> FlagResult:
    """Boilerplate flags, final languages, document rows and MinHash signatures of one batch
    (`flows.work.flag_staged`), in a local worker process when the run has them."""
    args = (staging, batch, key_counts, config, options, run_id, renames)
    result, pid = in_worker(WORK_FLAG, *args)
    _logger().info(
        "flag batch %05d (pid %d): %d documents, %d lines, %d boilerplate",
        *(batch, pid, result.documents, result.lines, result.boilerplate_lines),
    )
    return result


def _batch_signatures(
    staging: Staging, batch: int, rows: np.ndarray, config: PipelineConfig
) -> np.ndarray:
    """Signatures of some rows of a staged documents file: precomputed if there, else now."""
    import numpy as np
    import pyarrow.parquet as pq

    from flows.work import text_signatures_of

    path = staging.signatures(batch)
    if path.exists():
        sigs = np.load(path)
        if sigs.shape[1] == config.signature_width:
            return sigs[rows]
    texts = pq.read_table(staging.documents(batch), columns=["text"])["text"].to_pylist()
    return text_signatures_of([texts[i] for i in rows.tolist()], config)


def _active_signatures(
    staging: Staging, n_batches: int, pos: np.ndarray, config: PipelineConfig
) -> np.ndarray:
    """Signatures of the run's documents at positions `pos`, one batch in memory at a time."""
    import numpy as np
    import pyarrow.parquet as pq

    out = np.empty((len(pos), config.signature_width), np.uint32)  # filled in place
    start = done = 0
    for b in range(n_batches):
        n = pq.read_metadata(staging.documents(b)).num_rows
        rows = pos[(pos >= start) & (pos < start + n)] - start
        out[done : done + len(rows)] = _batch_signatures(staging, b, rows, config)
        start += n
        done += len(rows)
    return out


def _near_duplicates(
    store: OutputStore,
    staging: Staging,
    n_batches: int,
    doc_ids: list[str],
    active: np.ndarray,
    config: PipelineConfig,
) -> list[tuple[int, Duplicate]]:
    """Near duplicates among the run's `active` documents and against every earlier run;
    stages this run's MinHash state (its survivors)."""
    import numpy as np

    from flows.dedup_state import prior_band, prior_signatures, write_minhash_state
    from transforms.dedup import (
        Duplicate,
        band_candidates,
        band_keys,
        resolve_near_duplicates,
        run_ordinals,
    )

    pos = np.flatnonzero(active)
    sigs = _active_signatures(staging, n_batches, pos, config)
    keys = band_keys(sigs, bands=config.lsh_bands, rows=config.lsh_rows)
    has = keys[:, 0] != 0  # documents with at least one shingle
    first_new = int(run_ordinals(staging.run_seq, np.zeros(1))[0])
    ordinals = run_ordinals(staging.run_seq, pos)
    pairs = [np.empty((0, 2), np.int64)]
    for b in range(config.lsh_bands):
        prior_k, prior_o = prior_band(store, config, b, keys[has, b])
        pairs.append(
            band_candidates(keys[has, b], ordinals[has], prior_k, prior_o, first_new=first_new)
        )
    pairs = np.unique(np.concatenate(pairs), axis=0)
    sig_of, id_of = prior_signatures(store, config, np.unique(pairs[pairs < first_new]))
    new_needed = np.unique(pairs[pairs >= first_new])
    rows = np.searchsorted(ordinals, new_needed)
    sig_of.update(
        {int(o): sigs[r] for o, r in zip(new_needed.tolist(), rows.tolist(), strict=True)}
    )
    near = resolve_near_duplicates(
        pairs, sig_of, first_new=first_new, min_jaccard=config.near_dup_min_jaccard
    )
    found = []
    for d in near:
        kept_id = doc_ids[d.kept - first_new] if d.kept >= first_new else id_of[d.kept]
        found.append(
            (
                d.ordinal - first_new,
                Duplicate(doc_ids[d.ordinal - first_new], kept_id, "near", d.similarity),
            )
        )
    removed = {p for p, _ in found}
    ks = np.flatnonzero([h and int(p) not in removed for p, h in zip(pos, has, strict=True)])
    survivors = [doc_ids[int(pos[i])] for i in ks]
    del sig_of  # views of `sigs`: the full array goes as soon as the survivors' copy exists
    sigs, keys = sigs[ks], keys[ks]
    write_minhash_state(staging, config, ordinals[ks], survivors, sigs, keys)
    return found


@task(task_run_name="dedup", cache_policy=NO_CACHE, **RELEASE)
def dedup_documents(
    store: OutputStore, staging: Staging, n_batches: int, run_id: str, config: PipelineConfig
) -> Path:
    """Exact (content hash) and near (MinHash LSH) duplicates against this run and every
    committed run; survivor = first seen in (run, input) order."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from flows import schemas
    from flows.dedup_state import prior_hashes, write_hashes
    from flows.work import enter_stage
    from transforms.dedup import chain_to_near_survivors, find_exact_duplicates

    enter_stage("dedup")  # the flag stage's caches, if it ran here: not on top of dedup's peak
    columns = ["doc_id", "content_hash", "source", "record", "url"]
    docs = pa.concat_tables(
        [schemas.DOCUMENTS_STAGED.empty_table().select(columns)]
        + [pq.read_table(staging.documents(b), columns=columns) for b in range(n_batches)]
    )
    doc_ids = docs["doc_id"].to_pylist()
    hashes = docs["content_hash"].to_pylist()
    seen = prior_hashes(store, pc.unique(docs["content_hash"]))
    exact, kept = find_exact_duplicates(zip(doc_ids, hashes, strict=True), seen=seen)
    position = {d: i for i, d in enumerate(doc_ids)}
    found = [(position[d.doc_id], d) for d in exact]
    if config.near_dup:
        exact_ids = {d.doc_id for d in exact}
        active = np.array(
            [bool(h) and d not in exact_ids for d, h in zip(doc_ids, hashes, strict=True)], bool
        )
        found += _near_duplicates(store, staging, n_batches, doc_ids, active, config)
        chained, kept = chain_to_near_survivors([d for _, d in found], kept)
        found = [(p, d) for (p, _), d in zip(found, chained, strict=True)]
    found.sort(key=lambda x: x[0])
    write_hashes({h: d for h, d in kept.items() if h not in seen}, staging)
    # the origin of each removed copy (only those rows: not a dict per document)
    removed = pa.array([p for p, _ in found], pa.int64())  # typed: a run may find none
    origin = docs.select(["source", "record", "url"]).take(removed).to_pylist()
    rows = [
        {**dataclasses.asdict(d), **o, "run_id": run_id}
        for (_, d), o in zip(found, origin, strict=True)
    ]
    path = write_parquet(
        pa.Table.from_pylist(rows, schema=schemas.DUPLICATES), staging.dataset_part("duplicates")
    )
    hook_point("dedup")
    return path


# The load task writes its row groups on this many threads (Parquet encoding and zstd run
# without the GIL; each file gets its row groups in order). 1M benchmark lines, one row group
# per batch and language: 941 row groups, 2.0 s of the task's 2.8 s in `write_table`.
LOAD_THREADS = 2
# A language's documents of several batches make one row group: an open Parquet writer keeps
# the metadata of every row group it wrote (~0.8 KB per column chunk, 37 columns) until it
# closes, so one row group per batch and language held ~27 MiB at 1M benchmark lines (941
# row groups) and ~78 MiB with 2 MiB batches (2,600), growing with the input. Rows are
# buffered until the buffered text of all languages passes LOAD_BUFFER_BYTES; then the
# largest buffers are written until half of it is left, the rest at the end. 1M lines, 8 MiB
# batches: 943 -> 233 row groups, load 2.4 -> 1.2 s, its peak RSS 412 -> 390 MiB (16 MiB:
# 87 row groups, 404 MiB); with 2 MiB batches the load peak was 440 MiB.
LOAD_BUFFER_BYTES = 4 * 1024**2
ROW_BYTES = 256  # a document row's columns besides its text, roughly (buffer accounting)


def languages_to_write(buffered: dict[str, int], budget: int) -> list[str]:
    """The languages whose buffered documents are written now: none while the buffered text
    is within `budget`, else the largest first (ties by name) until at most half is left.

    >>> languages_to_write({"en": 9, "de": 3, "fr": 1}, 12), languages_to_write({"en": 9}, 9)
    (['en'], [])
    """
    total = sum(buffered.values())
    if total <= budget:
        return []
    out = []
    for lang, size in sorted(buffered.items(), key=lambda kv: (-kv[1], kv[0])):
        if total <= budget // 2:
            break
        out.append(lang)
        total -= size
    return out


@task(task_run_name="load", cache_policy=NO_CACHE, **RELEASE)
def load_documents(staging: Staging, n_batches: int, duplicates: Path) -> LoadResult:
    """Write the run's unique documents into `documents/lang=<xx>/part-<run>.parquet`.

    One file per language per run (not per batch: ~50 languages x 19 batches made ~950 small
    files at 1M lines), rows in batch order, row groups of several batches (LOAD_BUFFER_BYTES:
    bounded memory, also the writers' metadata).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from flows import schemas
    from flows.work import enter_stage

    enter_stage("load")  # the flag stage's caches, if it ran here
    dup_ids = pq.read_table(duplicates, columns=["doc_id"])["doc_id"]
    writers: dict[str, tuple[pq.ParquetWriter, Path, Path]] = {}
    buffers: dict[str, list[pa.Table]] = {}
    buffered: Counter[str] = Counter()  # bytes per language: text + ROW_BYTES per row
    kept, no_content, langs = 0, 0, Counter()
    threads = ThreadPoolExecutor(LOAD_THREADS)

    def write_group(item: tuple[str, list[pa.Table]]) -> None:
        lang, parts = item
        writers[lang][0].write_table(pa.concat_tables(parts).cast(schemas.DOCUMENTS))

    def write(languages: list[str]) -> None:
        # one thread per file at a time: each file's row groups in order
        items = [(lang, buffers.pop(lang)) for lang in languages]
        for lang in languages:
            del buffered[lang]
        list(threads.map(write_group, items))

    try:
        for b in range(n_batches):
            docs = pq.read_table(staging.documents(b))
            docs = docs.filter(pc.invert(pc.is_in(docs["doc_id"], value_set=dup_ids)))
            kept += docs.num_rows
            no_content += pc.sum(pc.equal(docs["n_content_lines"], 0)).as_py() or 0
            doc_langs = docs["lang"].to_pylist()
            langs.update(doc_langs)
            for lang in sorted(set(doc_langs)):
                if lang not in writers:
                    path = staging.documents_part(lang)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
                    writer = pq.ParquetWriter(tmp, schemas.DOCUMENTS, compression="zstd")
                    writers[lang] = (writer, tmp, path)
                part = docs.filter(pc.equal(docs["lang"], lang)).select(schemas.DOCUMENTS.names)
                buffers.setdefault(lang, []).append(part)
                text = pc.sum(pc.binary_length(part["text"])).as_py() or 0
                buffered[lang] += text + ROW_BYTES * part.num_rows
            del docs
            write(languages_to_write(buffered, LOAD_BUFFER_BYTES))
        write(sorted(buffers))
    finally:
        threads.shutdown()
        for writer, _, _ in writers.values():
            writer.close()
    for _, tmp, path in writers.values():
        fsync_file(tmp)
        os.replace(tmp, path)
    return LoadResult(kept, no_content, dict(langs))


def stage_empty_datasets(store: OutputStore, staging: Staging) -> None:
    """`lines` and `documents` always exist as folders with their schema once a run has
    committed (an empty file where no run has loaded a row), so readers never fail."""
    from flows import schemas
    from transforms.language import UND

    if not staging.staged_parts("lines") and not store.has_parts("lines"):
        write_parquet(schemas.LINES.empty_table(), staging.lines_part(0))
    if not staging.staged_parts("documents") and not store.has_parts("documents"):
        write_parquet(schemas.DOCUMENTS.empty_table(), staging.documents_part(UND))
