"""The tasks of the winnow-etl flow: each reads its inputs, makes one `transforms` call and
writes its outputs, returning the paths (or a typed result) it wrote.

Task bodies run without a flow too (`extract_batch.fn(...)`), e.g. in
benchmarks/profile_stages.py: logging falls back to the `winnow` logger outside a run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError

from flows import schemas
from flows.dedup_state import (
    KEY_COUNTS,
    prior_band,
    prior_hashes,
    prior_key_counts,
    prior_signatures,
    write_hashes,
    write_key_counts,
    write_minhash_state,
)
from flows.hooks import hook_point
from flows.ledger import ledger_rows, prior_input_ids, write_input_ids, write_ledger_rows
from flows.memory import release_memory
from flows.plan import RunOptions
from flows.progress import report_chunk
from flows.readers import InputFile, read_documents
from flows.staging import Staging
from flows.storage import localized
from flows.store import OutputStore, fsync_file, write_json, write_npy, write_parquet
from flows.summary import ExtractResult, FlagResult, LoadResult
from transforms.config import PipelineConfig
from transforms.dedup import (
    Duplicate,
    band_candidates,
    band_keys,
    chain_to_near_survivors,
    find_exact_duplicates,
    resolve_near_duplicates,
    run_ordinals,
    text_signatures,
)
from transforms.extract import assign_doc_ids, claim_input_ids, make_doc_id
from transforms.language import UND
from transforms.records import Document, ErrorRecord
from transforms.rows import (
    chunk_records,
    flag_documents,
    label_chunk,
    lookup_key_counts,
    paused_gc,
    top_template_lines,
)


def _logger() -> logging.Logger | logging.LoggerAdapter:
    """The task run's logger, or the `winnow` logger outside a Prefect run."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("winnow")


# Language labels of prepared line texts, kept across the batches one worker process runs
# (site templates repeat across files: at 100k lines, 38k distinct line texts but ~60k
# per-batch detections without it). One cache per thread and engine; trimmed to the newest
# half when it passes LANG_CACHE_SIZE entries (~350 bytes each: ~14 MB, bounded peak RSS).
# Labels do not depend on it.
LANG_CACHE_SIZE = 40_000
_lang_caches = threading.local()


def language_cache(engine: str) -> dict:
    """This thread's language cache for `engine`, trimmed to LANG_CACHE_SIZE."""
    caches = getattr(_lang_caches, "by_engine", None)
    if caches is None:
        caches = _lang_caches.by_engine = {}
    cache = caches.setdefault(engine, {})
    if len(cache) > LANG_CACHE_SIZE:
        for key in list(itertools.islice(cache, len(cache) - LANG_CACHE_SIZE // 2)):
            del cache[key]
    return cache


def _released(task, task_run, state) -> None:
    """Task hook: hand the memory a batch freed back to the system (flows/memory.py)."""
    release_memory()


# Data tasks end by releasing freed memory in the process that ran them (a worker's too).
RELEASE = {"on_completion": [_released], "on_failure": [_released]}


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
    """Read one batch of files: documents under unique ids, their lines with keys and raw
    language labels (in chunks of `batch_docs` documents), error rows, documents per key,
    and the ledger rows saying what was read of each file.

    `revisions` (source -> token) gives documents of a file read before in another form ids
    of their own. A batch finished before a kill is reused only when it was planned with the
    same files, revisions and options (a resumed run may cut its batches differently).
    """
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
    _logger().info(
        "extract batch %05d (pid %d): %d files, %d documents, %d lines, %d errors",
        *(batch, os.getpid(), len(files), len(docs), n_lines, len(errors)),
    )
    return result


RENAMES = pa.schema([("batch", pa.int32()), ("row", pa.int64()), ("doc_id", pa.string())])


@task(task_run_name="claim-ids", cache_policy=NO_CACHE)
def claim_ids(
    store: OutputStore, staging: Staging, n_batches: int, run_id: str, revised: list[str]
) -> Path:
    """Input ids (`--id-field`) already held by an earlier batch or an earlier run: those
    documents keep their positional id instead (renamed in the flag task), with an error row.
    Stages the run's input ids for the next runs' checks."""
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


def _renamed(metas: list[dict], labels, renames: Path | None, batch: int) -> None:
    """Apply this batch's id renames (from `claim_ids`) to its metadata and label rows."""
    if renames is None:
        return
    table = pq.read_table(renames, filters=[("batch", "=", batch)])
    new_of = {}
    for row, doc_id in zip(table["row"].to_pylist(), table["doc_id"].to_pylist(), strict=True):
        new_of[metas[row]["doc_id"]] = doc_id
        metas[row]["doc_id"] = doc_id
    if new_of:
        labels["doc_id"] = labels["doc_id"].map(lambda d: new_of.get(d, d))


def _sum_counts(tables: list[pa.Table]) -> pa.Table:
    """Documents per key summed over tables of (line_key, n_docs)."""
    total = pa.concat_tables(tables).group_by("line_key").aggregate([("n_docs", "sum")])
    return total.rename_columns(["line_key", "n_docs"])


@task(task_run_name="count-keys", cache_policy=NO_CACHE, **RELEASE)
def count_keys(store: OutputStore, staging: Staging, n_batches: int) -> Path:
    """Documents per line key: this run's batches (its state part) plus every committed run."""
    parts = [pq.read_table(staging.batch_keys(b)) for b in range(n_batches)]
    # sorted: pyarrow's threaded group_by order varies, state files must be byte-identical
    run = _sum_counts([KEY_COUNTS.empty_table(), *parts]).sort_by("line_key")
    write_key_counts(run, staging)
    prior = prior_key_counts(store, run["line_key"])
    if prior.num_rows:
        run = _sum_counts([run, prior])
    return write_parquet(run, staging.key_counts)


def _label_columns(labels, key_counts: Path) -> dict[str, list]:
    """The label columns the flag stage reads, with documents per key looked up."""
    counts = pq.read_table(key_counts)
    columns = {c: labels[c].tolist() for c in ("doc_id", "text", "line_key", "lang_raw")}
    columns["lang_score"] = labels["lang_score"].tolist()
    columns["key_doc_count"] = lookup_key_counts(
        labels["line_key"].to_numpy(), counts["line_key"].to_numpy(), counts["n_docs"].to_numpy()
    ).tolist()
    return columns


def _signatures(texts: list[str], config: PipelineConfig) -> np.ndarray:
    """MinHash signatures of texts in the config's layout (flag stage, and dedup's fallback)."""
    return text_signatures(
        texts, shingle_words=config.shingle_words, num_perm=config.signature_width
    )


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
    """Boilerplate flags, final languages and document rows of one batch (and the MinHash
    signatures of its documents, so the serial dedup task only selects rows)."""
    with paused_gc():  # the batch's objects have no cycles: see transforms.rows.paused_gc
        labels = pq.read_table(staging.labels(batch)).to_pandas()
        metas = pq.read_table(staging.doc_meta(batch)).to_pylist()
        if not metas:  # every file of the batch was unreadable: empty outputs, same layout
            write_parquet(schemas.LINES.empty_table(), staging.lines_part(batch))
            write_parquet(schemas.DOCUMENTS_STAGED.empty_table(), staging.documents(batch))
            return FlagResult()
        _renamed(metas, labels, renames, batch)
        columns = _label_columns(labels, key_counts)
        doc_ids = [m["doc_id"] for m in metas]
        flagged = flag_documents(
            columns, doc_ids, engine=options.lang_engine, boilerplate=config.boilerplate
        )
        # pandas keeps the lines files' schema metadata as it has always been (byte-identical)
        lines = labels.iloc[flagged.order].reset_index(drop=True)
        for name, values in flagged.line_columns.items():
            lines[name] = values
        lines["run_id"] = run_id
        table = pa.Table.from_pandas(
            lines[schemas.LINES.names], schema=schemas.LINES, preserve_index=False
        )
        write_parquet(table, staging.lines_part(batch))
        docs = [
            {**meta, **row, "run_id": run_id} for meta, row in zip(metas, flagged.rows, strict=True)
        ]
        staged = pa.Table.from_pylist(docs, schema=schemas.DOCUMENTS_STAGED)
        write_parquet(staged, staging.documents(batch))
        if config.near_dup:
            texts = [d["text"] for d in docs]
            write_npy(_signatures(texts, config), staging.signatures(batch))
        hook_point(f"flag-{batch}")
        is_bp = flagged.line_columns["is_boilerplate"]
        _logger().info(
            "flag batch %05d: %d documents, %d lines, %d boilerplate",
            *(batch, len(docs), len(lines), sum(is_bp)),
        )
        texts = [columns["text"][i] for i in flagged.order]
        keys = [columns["line_key"][i] for i in flagged.order]
        return FlagResult(
            boilerplate_lines=int(sum(is_bp)),
            reasons=dict(
                Counter(r for rs in flagged.line_columns["boilerplate_reasons"] for r in rs)
            ),
            template_lines=tuple(
                top_template_lines(texts, keys, flagged.line_columns["key_doc_count"], is_bp)
            ),
        )


def _batch_signatures(
    staging: Staging, batch: int, rows: np.ndarray, config: PipelineConfig
) -> np.ndarray:
    """Signatures of some rows of a staged documents file: precomputed if there, else now."""
    path = staging.signatures(batch)
    if path.exists():
        sigs = np.load(path)
        if sigs.shape[1] == config.signature_width:
            return sigs[rows]
    texts = pq.read_table(staging.documents(batch), columns=["text"])["text"].to_pylist()
    return _signatures([texts[i] for i in rows.tolist()], config)


def _active_signatures(
    staging: Staging, n_batches: int, pos: np.ndarray, config: PipelineConfig
) -> np.ndarray:
    """Signatures of the run's documents at positions `pos`, one batch in memory at a time."""
    parts = [np.empty((0, config.signature_width), np.uint32)]
    start = 0
    for b in range(n_batches):
        n = pq.read_metadata(staging.documents(b)).num_rows
        parts.append(
            _batch_signatures(staging, b, pos[(pos >= start) & (pos < start + n)] - start, config)
        )
        start += n
    return np.concatenate(parts)


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
    write_minhash_state(staging, config, ordinals[ks], survivors, sigs[ks], keys[ks])
    return found


@task(task_run_name="dedup", cache_policy=NO_CACHE, **RELEASE)
def dedup_documents(
    store: OutputStore, staging: Staging, n_batches: int, run_id: str, config: PipelineConfig
) -> Path:
    """Exact (content hash) and near (MinHash LSH) duplicates against this run and every
    committed run; survivor = first seen in (run, input) order."""
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
    origin = docs.select(["source", "record", "url"]).to_pylist()  # of the removed copy
    rows = [{**dataclasses.asdict(d), **origin[p], "run_id": run_id} for p, d in found]
    path = write_parquet(
        pa.Table.from_pylist(rows, schema=schemas.DUPLICATES), staging.dataset_part("duplicates")
    )
    hook_point("dedup")
    return path


@task(task_run_name="load", cache_policy=NO_CACHE, **RELEASE)
def load_documents(staging: Staging, n_batches: int, duplicates: Path) -> LoadResult:
    """Write the run's unique documents into `documents/lang=<xx>/part-<run>.parquet`.

    One file per language per run (not per batch: ~50 languages x 19 batches made ~950 small
    files at 1M lines), one row group per batch, streamed batch by batch (bounded memory).
    """
    dup_ids = pq.read_table(duplicates, columns=["doc_id"])["doc_id"]
    writers: dict[str, tuple[pq.ParquetWriter, Path, Path]] = {}
    kept, no_content, langs = 0, 0, Counter()
    try:
        for b in range(n_batches):
            docs = pq.read_table(staging.documents(b))
            docs = docs.filter(pc.invert(pc.is_in(docs["doc_id"], value_set=dup_ids)))
            kept += docs.num_rows
            no_content += pc.sum(pc.equal(docs["n_content_lines"], 0)).as_py() or 0
            langs.update(docs["lang"].to_pylist())
            for lang in sorted(set(docs["lang"].to_pylist())):
                if lang not in writers:
                    path = staging.documents_part(lang)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
                    writer = pq.ParquetWriter(tmp, schemas.DOCUMENTS, compression="zstd")
                    writers[lang] = (writer, tmp, path)
                part = docs.filter(pc.equal(docs["lang"], lang)).select(schemas.DOCUMENTS.names)
                writers[lang][0].write_table(part.cast(schemas.DOCUMENTS))
    finally:
        for writer, _, _ in writers.values():
            writer.close()
    for _, tmp, path in writers.values():
        fsync_file(tmp)
        os.replace(tmp, path)
    return LoadResult(kept, no_content, dict(langs))


def stage_empty_datasets(store: OutputStore, staging: Staging) -> None:
    """`lines` and `documents` always exist as folders with their schema once a run has
    committed (an empty file where no run has loaded a row), so readers never fail."""
    if not staging.staged_parts("lines") and not store.has_parts("lines"):
        write_parquet(schemas.LINES.empty_table(), staging.lines_part(0))
    if not staging.staged_parts("documents") and not store.has_parts("documents"):
        write_parquet(schemas.DOCUMENTS.empty_table(), staging.documents_part(UND))
