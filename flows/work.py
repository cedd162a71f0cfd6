"""The per-batch work of the extract and flag tasks, importable without Prefect.

The tasks in flows/tasks.py call these functions in their own process (one worker, a Dask
worker) or hand them to winnow's lean local worker processes (flows/runners.py), which import
only this module and what it needs: no Prefect engine, API client or task state per worker.
Each function reads its staged inputs, makes one `transforms` call per chunk and writes its
staged outputs; logging stays with the tasks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from flows import schemas
from flows.dedup_state import KEY_COUNTS, prior_key_counts, write_key_counts
from flows.hooks import hook_point
from flows.ledger import ledger_rows, prior_input_ids, write_input_ids, write_ledger_rows
from flows.memory import release_memory
from flows.plan import RunOptions
from flows.progress import report_chunk
from flows.readers import InputFile, read_documents
from flows.staging import Staging
from flows.storage import localized
from flows.store import OutputStore, write_json, write_npy, write_parquet
from flows.summary import ExtractResult, FlagResult
from transforms.boilerplate import clear_evidence_cache
from transforms.config import PipelineConfig
from transforms.dedup import text_signatures
from transforms.extract import assign_doc_ids, claim_input_ids, make_doc_id
from transforms.language import clear_prepare_cache
from transforms.lines import normalize_line
from transforms.records import Document, ErrorRecord
from transforms.rows import (
    TEMPLATE_MIN_DOCS,
    FlaggedBatch,
    chunk_records,
    flag_documents,
    group_rows,
    label_chunk,
    lookup_key_counts,
    paused_gc,
    top_template_lines,
)

# Language labels of prepared line texts, kept across the batches one worker process runs
# (site templates repeat across files: at 100k lines, 38k distinct line texts but ~60k
# per-batch detections without it). One cache per thread and engine; trimmed to the newest
# half when it passes LANG_CACHE_SIZE entries (~350 bytes each: ~14 MB, bounded peak RSS).
# Labels do not depend on it.
LANG_CACHE_SIZE = 40_000
_lang_caches = threading.local()
_all_lang_caches: list[dict] = []  # every thread's by-engine caches (cleared between stages)

# The per-process caches serve one stage each: line preparation and language labels the
# extract stage, line evidence and stoplists the flag stage (line normalization both). A
# process that moves on to the next stage drops the last one's (outputs do not depend on
# them): 1 worker, 100k benchmark lines, peak RSS of the flow process 331 -> 305 MiB, same
# wall time. Stages run one after another (the flow waits for every extract batch before the
# first flag batch), so no batch of the stage being cleared is running in this process.
_stage: list[str | None] = [None]
_stage_lock = threading.Lock()


def language_cache(engine: str) -> dict:
    """This thread's language cache for `engine`, trimmed to LANG_CACHE_SIZE."""
    caches = getattr(_lang_caches, "by_engine", None)
    if caches is None:
        caches = _lang_caches.by_engine = {}
        with _stage_lock:
            _all_lang_caches.append(caches)
    cache = caches.setdefault(engine, {})
    if len(cache) > LANG_CACHE_SIZE:
        for key in list(itertools.islice(cache, len(cache) - LANG_CACHE_SIZE // 2)):
            del cache[key]
    return cache


def enter_stage(stage: str) -> None:
    """Note that this process now works on `stage` (extract, flag, dedup, load); when it changes,
    drop the caches of the stage before and hand the memory back."""
    with _stage_lock:
        previous, _stage[0] = _stage[0], stage
        if previous in (None, stage):
            return
        if previous == "extract":
            clear_prepare_cache()
            for caches in _all_lang_caches:
                caches.clear()
        if previous == "flag":
            clear_evidence_cache()
        normalize_line.cache_clear()
    release_memory()


def errors_table(errors: list[ErrorRecord], run_id: str) -> pa.Table:
    return pa.Table.from_pylist(
        [{**dataclasses.asdict(e), "run_id": run_id} for e in errors], schema=schemas.ERRORS
    )


def _doc_meta_table(docs: list[Document]) -> pa.Table:
    rows = [{k: getattr(d, k) for k in schemas.DOC_META.names} for d in docs]
    return pa.Table.from_pylist(rows, schema=schemas.DOC_META)


def batch_key(
    files: list[InputFile], revisions: dict[str, str], options: RunOptions, reading: str
) -> str:
    """What decides a batch's extract output: its files, their revision tokens, the chunk
    size and the reading options (a finished batch is reused only under the same key)."""
    blob = json.dumps(
        [
            [(f.source, f.checksum, revisions.get(f.source)) for f in files],
            options.batch_docs,
            reading,
        ]
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _read_files(
    files: list[InputFile], config: PipelineConfig, read: list[int]
) -> Iterator[Document | ErrorRecord]:
    """Records of the files in order; `read[0]` counts the files read to the end."""
    for item in files:
        with localized(item) as local:  # a URL input: a temporary local copy
            yield from read_documents(local, config)
        read[0] += 1


def _write_extracted(
    staging: Staging,
    batch: int,
    docs: list[Document],
    errors: pa.Table,
    key_counts: Counter[int],
    ledger: list[dict],
) -> None:
    """The extract task's staged outputs besides the labels."""
    write_parquet(_doc_meta_table(docs), staging.doc_meta(batch))
    write_parquet(errors, staging.batch_errors(batch))
    keys = {"line_key": list(key_counts), "n_docs": list(key_counts.values())}
    write_parquet(pa.table(keys, schema=KEY_COUNTS), staging.batch_keys(batch))
    write_ledger_rows(ledger, staging.batch_ledger(batch))


def extract_files(
    files: list[InputFile],
    staging: Staging,
    batch: int,
    config: PipelineConfig,
    options: RunOptions,
    run_id: str,
    revisions: dict[str, str],
    reading: str = "",
) -> ExtractResult:
    """Read one batch of files: documents under unique ids, their lines with keys and raw
    language labels (in chunks of `batch_docs` documents), error rows, documents per key,
    and the ledger rows saying what was read of each file.

    `revisions` (source -> token) gives documents of a file read before in another form ids
    of their own. A batch finished before a kill is reused only when it was planned with the
    same files, revisions and options (a resumed run may cut its batches differently).
    """
    enter_stage("extract")
    done = staging.extract_done(batch)
    key = batch_key(files, revisions, options, reading)
    if done.exists():
        result = ExtractResult(**json.loads(done.read_text()))
        if result.plan_key == key:
            return result
    tmp = staging.labels_tmp(batch)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    docs: list[Document] = []
    errors: list[ErrorRecord] = []
    key_counts: Counter[int] = Counter()
    n_lines, t_label = 0, 0.0
    files_read = [0]
    records = assign_doc_ids(_read_files(files, config, files_read), revisions=revisions)
    with pq.ParquetWriter(tmp, schemas.LABELS, compression="zstd") as writer:
        for chunk_docs, chunk_errors in chunk_records(records, size=options.batch_docs):
            t0 = time.perf_counter()
            cache = language_cache(options.lang_engine)
            chunk = label_chunk(chunk_docs, chunk_errors, engine=options.lang_engine, cache=cache)
            t_label += time.perf_counter() - t0
            if chunk.documents:
                writer.write_table(pa.table(chunk.columns, schema=schemas.LABELS))
                n_lines += len(chunk.columns["doc_id"])
            docs.extend(dataclasses.replace(d, text="") for d in chunk.documents)  # meta only
            errors.extend(chunk.errors)
            key_counts.update(chunk.key_counts)
            report_chunk(batch, files_read[0], n_lines)
    os.replace(tmp, staging.labels(batch))
    rows = ledger_rows(files, [*docs, *errors], reading=reading, run_id=run_id)
    _write_extracted(staging, batch, docs, errors_table(errors, run_id), key_counts, rows)
    result = ExtractResult(
        batch, len(files), len(docs), n_lines, len(errors), round(t_label, 6), key
    )
    write_json(dataclasses.asdict(result), done)
    hook_point(f"extract-{batch}")
    return result


def _renamed(
    metas: pa.Table, labels: pa.Table, renames: Path | None, batch: int
) -> tuple[pa.Table, pa.Table]:
    """Apply this batch's id renames (from `claim_ids`) to its metadata and label rows."""
    if renames is None:
        return metas, labels
    table = pq.read_table(renames, filters=[("batch", "=", batch)])
    doc_ids = metas["doc_id"].to_pylist()
    new_of = {}
    for row, doc_id in zip(table["row"].to_pylist(), table["doc_id"].to_pylist(), strict=True):
        new_of[doc_ids[row]] = doc_id
        doc_ids[row] = doc_id
    if new_of:
        metas = _with_doc_ids(metas, doc_ids)
        labels = _with_doc_ids(labels, [new_of.get(d, d) for d in labels["doc_id"].to_pylist()])
    return metas, labels


def _with_doc_ids(table: pa.Table, doc_ids: list[str]) -> pa.Table:
    """`table` with its `doc_id` column replaced."""
    at = table.schema.get_field_index("doc_id")
    return table.set_column(at, table.field(at), pa.array(doc_ids, pa.string()))


def _label_columns(labels: pa.Table, counts: pa.Table) -> dict[str, list]:
    """The label columns the flag stage reads, with documents per key looked up."""
    names = ("doc_id", "text", "line_key", "lang_raw", "lang_score")
    columns = {c: labels[c].to_pylist() for c in names}
    columns["key_doc_count"] = lookup_key_counts(
        labels["line_key"].to_numpy(), counts["line_key"].to_numpy(), counts["n_docs"].to_numpy()
    ).tolist()
    return columns


def _lines_table(chunk: pa.Table, flagged: FlaggedBatch, run_id: str) -> pa.Table:
    """The `lines` rows of a flagged chunk: its label rows in document order, with the flags."""
    ordered = chunk.take(pa.array(flagged.order, pa.int64()))
    arrays = []
    for field in schemas.LINES:
        if field.name in flagged.line_columns:
            arrays.append(pa.array(flagged.line_columns[field.name], field.type))
        elif field.name == "run_id":
            arrays.append(pa.array([run_id] * ordered.num_rows, field.type))
        else:
            arrays.append(ordered[field.name])
    return pa.Table.from_arrays(arrays, schema=schemas.LINES)


def text_signatures_of(texts: list[str], config: PipelineConfig) -> np.ndarray:
    """MinHash signatures of texts in the config's layout (flag stage, and dedup's fallback)."""
    return text_signatures(
        texts, shingle_words=config.shingle_words, num_perm=config.signature_width
    )


def flag_staged(
    staging: Staging,
    batch: int,
    key_counts: Path,
    config: PipelineConfig,
    options: RunOptions,
    run_id: str,
    renames: Path | None = None,
) -> FlagResult:
    """Boilerplate flags, final languages and document rows of one extracted batch (and the
    MinHash signatures of its documents, so the serial dedup task only selects rows).

    Works through the batch `batch_docs` documents at a time: the per-line Python objects,
    document row dicts and MinHash signatures of one chunk at a time, not of the batch (one
    JSONL file of 400k tiny records: 1.89 -> 0.92 GB peak); the chunks' Arrow tables are
    joined and written once (the same files as in one piece). 1M benchmark lines (8 MiB
    batches of ~56k lines): the flag stage peaked at 397 instead of 410 MiB, byte-identical
    outputs.
    """
    enter_stage("flag")
    with paused_gc():  # the batch's objects have no cycles: see transforms.rows.paused_gc
        labels = pq.read_table(staging.labels(batch)).combine_chunks()
        meta_table = pq.read_table(staging.doc_meta(batch))  # rows as dicts a chunk at a time
        if not meta_table.num_rows:  # every file of the batch was unreadable: empty outputs
            write_parquet(schemas.LINES.empty_table(), staging.lines_part(batch))
            write_parquet(schemas.DOCUMENTS_STAGED.empty_table(), staging.documents(batch))
            return FlagResult()
        meta_table, labels = _renamed(meta_table, labels, renames, batch)
        doc_ids = meta_table["doc_id"].to_pylist()
        counts = pq.read_table(key_counts)
        groups = group_rows(labels["doc_id"].to_pylist(), doc_ids)
        line_parts: list[pa.Table] = []
        doc_parts: list[pa.Table] = []  # per chunk: no batch-wide list of row dicts
        n_bp, reasons, templates = 0, Counter(), _TemplateCandidates()
        for lo in range(0, len(doc_ids), options.batch_docs):
            chunk_ids = doc_ids[lo : lo + options.batch_docs]
            chunk_metas = meta_table.slice(lo, len(chunk_ids)).to_pylist()
            rows = [i for idx in groups[lo : lo + options.batch_docs] for i in idx]
            chunk = labels.take(pa.array(rows, pa.int64()))
            columns = _label_columns(chunk, counts)
            flagged = flag_documents(
                columns,
                chunk_ids,
                engine=options.lang_engine,
                boilerplate=config.boilerplate,
            )
            line_parts.append(_lines_table(chunk, flagged, run_id))
            chunk_docs = [
                {**meta, **row, "run_id": run_id}
                for meta, row in zip(chunk_metas, flagged.rows, strict=True)
            ]
            is_bp = flagged.line_columns["is_boilerplate"]
            n_bp += int(sum(is_bp))
            reasons.update(r for rs in flagged.line_columns["boilerplate_reasons"] for r in rs)
            templates.add(
                [columns["text"][i] for i in flagged.order],
                [columns["line_key"][i] for i in flagged.order],
                flagged.line_columns["key_doc_count"],
                is_bp,
            )
            del chunk, columns, flagged  # first: the chunk's line objects, then its rows' table
            doc_parts.append(pa.Table.from_pylist(chunk_docs, schema=schemas.DOCUMENTS_STAGED))
            del chunk_docs
        del labels, meta_table
        table = pa.concat_tables(line_parts).combine_chunks()
        del line_parts
        write_parquet(table, staging.lines_part(batch))
        staged = pa.concat_tables(doc_parts)  # chunked as built: load reads it back whole
        write_parquet(staged, staging.documents(batch))
        if config.near_dup:  # a signature row depends on its text alone: a chunk at a time
            parts = [text_signatures_of(t["text"].to_pylist(), config) for t in doc_parts]
            write_npy(np.concatenate(parts), staging.signatures(batch))
        del doc_parts
        hook_point(f"flag-{batch}")
        return FlagResult(
            boilerplate_lines=n_bp,
            reasons=dict(reasons),
            template_lines=tuple(templates.top()),
            documents=staged.num_rows,
            lines=table.num_rows,
        )


class _TemplateCandidates:
    """`top_template_lines` over a batch seen chunk by chunk: keeps the first line of each
    key that could count (boilerplate, in enough documents), so the result is the same."""

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.lines: list[tuple[str, int, int]] = []

    def add(self, texts: list[str], keys: list[int], counts: list[int], is_bp: list[bool]) -> None:
        for text, key, n, bp in zip(texts, keys, counts, is_bp, strict=True):
            if bp and n >= TEMPLATE_MIN_DOCS and key not in self.seen:
                self.seen.add(key)
                self.lines.append((text, key, n))

    def top(self) -> list[tuple[str, int]]:
        texts = [t for t, _, _ in self.lines]
        keys = [k for _, k, _ in self.lines]
        counts = [n for _, _, n in self.lines]
        return top_template_lines(texts, keys, counts, [True] * len(texts))


RENAMES = pa.schema([("batch", pa.int32()), ("row", pa.int64()), ("doc_id", pa.string())])


def claim_staged_ids(
    store: OutputStore, staging: Staging, n_batches: int, run_id: str, revised: list[str]
) -> Path:
    """Input ids (`--id-field`) already held by an earlier batch or an earlier run: those
    documents keep their positional id instead (renamed in the flag task), with an error row.
    Stages the run's input ids for the next runs' checks; returns the renames file."""
    metas = [
        pq.read_table(staging.doc_meta(b), columns=["doc_id", "source", "record"])
        for b in range(n_batches)
    ]
    docs = [tuple(r.values()) for t in metas for r in t.to_pylist()]
    where = [(b, i) for b, t in enumerate(metas) for i in range(t.num_rows)]
    taken = prior_input_ids(store, [d[0] for d in docs])
    renames, errors = claim_input_ids(docs, taken=taken, revised=set(revised))
    rows = [{"batch": where[k][0], "row": where[k][1], "doc_id": v} for k, v in renames.items()]
    write_parquet(pa.Table.from_pylist(rows, schema=RENAMES), staging.id_renames)
    write_parquet(errors_table(errors, run_id), staging.id_errors)
    kept = [
        d[0]
        for k, d in enumerate(docs)
        if k not in renames and d[0] != make_doc_id(d[1], d[2]) and d[1] not in revised
    ]
    write_input_ids(kept, staging)
    return staging.id_renames


def _sum_counts(tables: list[pa.Table]) -> pa.Table:
    """Documents per key summed over tables of (line_key, n_docs)."""
    total = pa.concat_tables(tables).group_by("line_key").aggregate([("n_docs", "sum")])
    return total.rename_columns(["line_key", "n_docs"])


def count_staged_keys(store: OutputStore, staging: Staging, n_batches: int) -> Path:
    """Documents per line key: this run's batches (its state part) plus every committed run."""
    parts = [pq.read_table(staging.batch_keys(b)) for b in range(n_batches)]
    # sorted: pyarrow's threaded group_by order varies, state files must be byte-identical
    run = _sum_counts([KEY_COUNTS.empty_table(), *parts]).sort_by("line_key")
    write_key_counts(run, staging)
    prior = prior_key_counts(store, run["line_key"])
    if prior.num_rows:
        run = _sum_counts([run, prior])
    return write_parquet(run, staging.key_counts)
