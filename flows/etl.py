"""The `winnow-etl` Prefect flow: extract -> label -> count keys -> flag -> dedup -> load -> commit.

Tasks are thin: each wraps pure calls from `transforms/` with Parquet I/O. Granularity is a
batch of files (never a line). Intermediate results pass between tasks as Parquet paths
inside the run's staging folder, which also makes a killed run resumable.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import itertools
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from prefect import flow, get_run_logger, task  # noqa: E402
from prefect import runtime as prefect_runtime  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

import transforms  # noqa: E402
from flows import schemas  # noqa: E402
from flows.artifacts import (  # noqa: E402
    flow_run_name,
    publish_progress,
    publish_summary,
    start_progress,
)
from flows.readers import (  # noqa: E402
    InputFile,
    discover_inputs,
    file_kind,
    hook_point,
    read_documents,
)
from flows.reaper import PARENT_CHECK_SECONDS  # noqa: E402
from flows.state import dedup_run, lsh_mismatch_message, other_lsh_state, write_signatures  # noqa: E402
from flows.store import (  # noqa: E402
    STAGING,
    OutputStore,
    RunLock,
    fsync_file,
    read_table,
    write_json,
    write_parquet,
)
from transforms.config import PipelineConfig, config_hash  # noqa: E402
from transforms.extract import claim_doc_id, revise_doc_id  # noqa: E402
from transforms.records import Document, ErrorRecord  # noqa: E402
from transforms.rows import count_keys_per_document, finish_documents, label_documents  # noqa: E402

KEY_COUNTS = pa.schema([("line_key", pa.uint64()), ("n_docs", pa.int64())])
# Soft cap on the bytes of one batch of files (bounded memory per task).
BATCH_BYTES = 8 * 1024**2
# Inputs smaller than TARGET_BATCHES * BATCH_BYTES are cut into about TARGET_BATCHES batches
# of equal expanded size (work for 2-4 workers, and balanced: one big batch would run alone
# at the end), but no batch is planned below MIN_BATCH_BYTES (~10k lines, ~1 s of work)
# so Prefect's per-task cost (~0.1 s per task run) stays small. Independent of the number of
# workers: the same inputs give the same batches, hence byte-identical datasets.
TARGET_BATCHES = 8
MIN_BATCH_BYTES = 1024**2
# Compressed inputs are weighted by a typical text compression ratio (gzip/zstd on web text
# expand 3-5x), so a batch of compressed shards does not grow to several times BATCH_BYTES.
COMPRESSED_WEIGHT = 4


def expected_bytes(item: InputFile) -> int:
    """Rough expanded size of an input file, used only to size batches."""
    return item.bytes * (COMPRESSED_WEIGHT if file_kind(item.path)[1] else 1)


def plan_batches(files: list[InputFile], config: PipelineConfig) -> list[list[InputFile]]:
    """Group files in input order into batches of at most `batch_files` files and about
    BATCH_BYTES of expanded text (bounded memory per task); small inputs get about
    TARGET_BATCHES batches of equal size (balanced work for every worker)."""
    total = sum(expected_bytes(f) for f in files)
    cap = min(BATCH_BYTES, max(MIN_BATCH_BYTES, -(-total // TARGET_BATCHES)))
    batches: list[list[InputFile]] = []
    current: list[InputFile] = []
    size = 0
    for f in files:
        weight = expected_bytes(f)
        if current and (len(current) >= config.batch_files or size + weight > cap):
            batches.append(current)
            current, size = [], 0
        current.append(f)
        size += weight
    if current:
        batches.append(current)
    return batches


# Language labels of prepared line texts, kept across the batches one worker process runs
# (site templates repeat across files: at 100k lines, 38k distinct line texts but ~60k
# per-batch detections without it). One cache per thread and engine; trimmed to the newest
# half when it passes LANG_CACHE_SIZE entries (~350 bytes each: ~14 MB, bounded peak RSS).
# Labels do not depend on it.
LANG_CACHE_SIZE = 40_000
_lang_caches = threading.local()


def _language_cache(engine: str) -> dict:
    caches = getattr(_lang_caches, "by_engine", None)
    if caches is None:
        caches = _lang_caches.by_engine = {}
    cache = caches.setdefault(engine, {})
    if len(cache) > LANG_CACHE_SIZE:
        for key in list(itertools.islice(cache, len(cache) - LANG_CACHE_SIZE // 2)):
            del cache[key]
    return cache


def _errors_table(errors: list[ErrorRecord], run_id: str) -> pa.Table:
    return pa.Table.from_pylist(
        [{**dataclasses.asdict(e), "run_id": run_id} for e in errors], schema=schemas.ERRORS
    )


@task(task_run_name="extract-{batch_no:05d}", cache_policy=NO_CACHE, retries=0)
def extract_batch(
    files: list[InputFile],
    staging: Path,
    batch_no: int,
    config: PipelineConfig,
    run_id: str,
    revised: frozenset[str] = frozenset(),
) -> dict:
    """Stage A: read one batch of files; lines with keys and raw language labels.

    Documents of a `revised` source (an earlier version of the file was loaded) get ids of their
    own, so the two versions never share a `doc_id`.
    """
    out = staging / "a"
    done = out / f"b{batch_no:05d}.done.json"
    if done.exists():  # resumed run: this batch was finished before the kill
        return json.loads(done.read_text())
    out.mkdir(parents=True, exist_ok=True)
    tmp_labels = out / f".labels-b{batch_no:05d}.tmp"
    writer = pq.ParquetWriter(tmp_labels, schemas.LABELS, compression="zstd")
    metas: list[dict] = []
    errors: list[ErrorRecord] = []
    key_counts: Counter[int] = Counter()
    taken: dict[str, tuple[str, int]] = {}  # doc_id -> (source, record) within this batch
    n_lines = 0
    chunk: list[Document] = []
    t_label = 0.0  # seconds in label_documents (lines + language); the rest is read/write

    def flush() -> None:
        nonlocal n_lines, t_label
        if not chunk:
            return
        t0 = time.perf_counter()
        cols = label_documents(
            chunk, engine=config.lang_engine, cache=_language_cache(config.lang_engine)
        )
        t_label += time.perf_counter() - t0
        writer.write_table(pa.table(cols, schema=schemas.LABELS))
        key_counts.update(count_keys_per_document(cols["doc_id"], cols["line_key"]))
        n_lines += len(cols["doc_id"])
        chunk.clear()

    for item in files:
        for rec in read_documents(item, config):
            if isinstance(rec, ErrorRecord):
                errors.append(rec)
                continue
            if item.source in revised:
                rec = dataclasses.replace(rec, doc_id=revise_doc_id(rec.doc_id, item.checksum))
            rec, dup = claim_doc_id(rec, taken)
            if dup is not None:
                errors.append(dup)
            metas.append(
                {
                    k: getattr(rec, k)
                    for k in ("doc_id", "source", "record", "url", "encoding", "decode_replaced")
                }
            )
            chunk.append(rec)
            if len(chunk) >= config.batch_docs:
                flush()
    flush()
    writer.close()
    os.replace(tmp_labels, out / f"labels-b{batch_no:05d}.parquet")
    write_parquet(
        pa.Table.from_pylist(metas, schema=schemas.DOC_META), out / f"docs-b{batch_no:05d}.parquet"
    )
    write_parquet(_errors_table(errors, run_id), out / f"errors-b{batch_no:05d}.parquet")
    keys = pa.table(
        {"line_key": list(key_counts), "n_docs": list(key_counts.values())},
        schema=KEY_COUNTS,
    )
    write_parquet(keys, out / f"keys-b{batch_no:05d}.parquet")
    stats = {
        "batch": batch_no,
        "files": len(files),
        "documents": len(metas),
        "lines": n_lines,
        "errors": len(errors),
        "seconds_label": round(t_label, 6),
    }
    write_json(stats, done)
    hook_point(f"extract-{batch_no}")
    get_run_logger().info(
        "extract batch %05d (pid %d): %d files, %d documents, %d lines, %d errors",
        batch_no,
        os.getpid(),
        len(files),
        len(metas),
        n_lines,
        len(errors),
    )
    return stats


@task(task_run_name="count-keys", cache_policy=NO_CACHE)
def count_keys(store: OutputStore, staging: Path, n_batches: int, run_seq: int) -> Path:
    """Documents per line key: this run's batches plus every committed run (state)."""
    parts = [pq.read_table(staging / "a" / f"keys-b{b:05d}.parquet") for b in range(n_batches)]
    run = (
        pa.concat_tables([KEY_COUNTS.empty_table(), *parts])
        .group_by("line_key")
        .aggregate([("n_docs", "sum")])
    )
    # sorted: pyarrow's threaded group_by order varies, state files must be byte-identical
    run = run.rename_columns(["line_key", "n_docs"]).sort_by("line_key")
    write_parquet(run, store.final_path(staging, f"_state/key_counts/part-{run_seq:05d}.parquet"))
    prior = read_table(store.state("key_counts"))
    if prior.num_rows:
        prior = prior.filter(pc.is_in(prior["line_key"], value_set=run["line_key"]))
        run = pa.concat_tables([run, prior]).group_by("line_key").aggregate([("n_docs", "sum")])
        run = run.rename_columns(["line_key", "n_docs"])
    return write_parquet(run, staging / "key_counts.parquet")


@task(task_run_name="flag-{batch_no:05d}", cache_policy=NO_CACHE)
def flag_batch(
    staging: Path,
    batch_no: int,
    run_seq: int,
    key_counts: Path,
    config: PipelineConfig | None = None,
) -> dict:
    """Stage B: boilerplate flags, final language and the document rows of one batch
    (and their MinHash signatures for the dedup stage)."""
    labels = pq.read_table(staging / "a" / f"labels-b{batch_no:05d}.parquet").to_pandas()
    metas = pq.read_table(staging / "a" / f"docs-b{batch_no:05d}.parquet").to_pylist()
    if not metas:  # every file of the batch was unreadable: empty outputs, same layout
        write_parquet(
            schemas.LINES.empty_table(),
            staging / "final" / "lines" / f"part-{run_seq:05d}-{batch_no:05d}.parquet",
        )
        write_parquet(
            schemas.DOCUMENTS_STAGED.empty_table(), staging / "b" / f"docs-b{batch_no:05d}.parquet"
        )
        return {"boilerplate_lines": 0, "reasons": {}, "doc_langs": {}, "template_lines": []}
    counts = pq.read_table(key_counts).to_pandas().set_index("line_key")["n_docs"]
    labels["key_doc_count"] = labels["line_key"].map(counts).fillna(0).astype("int32")
    labels.loc[labels["line_key"] == 0, "key_doc_count"] = 0
    extra: dict[str, list] = {}
    docs = []
    by_doc = {doc_id: idx for doc_id, idx in labels.groupby("doc_id", sort=False).indices.items()}
    # Columns as Python lists once: a per-document `labels.iloc[idx]` costs O(batch rows)
    # (pyarrow take over the whole column), which made this loop quadratic in batch size.
    cols = [
        labels[c].tolist() for c in ("text", "line_key", "lang_raw", "key_doc_count", "lang_score")
    ]
    config = config or PipelineConfig()
    per_doc = []
    for meta in metas:
        idx = by_doc[meta["doc_id"]]
        lo, hi = int(idx[0]), int(idx[-1]) + 1
        if hi - lo == len(idx):  # a document's lines are contiguous (written doc by doc)
            per_doc.append(tuple(c[lo:hi] for c in cols))
        else:
            per_doc.append(tuple([c[i] for i in idx.tolist()] for c in cols))
    finished = finish_documents(per_doc, engine=config.lang_engine)
    for meta, (line_cols, doc_row) in zip(metas, finished, strict=True):
        for name, values in line_cols.items():
            extra.setdefault(name, []).extend(values)
        doc_row["lang_mix"] = [{"lang": k, "share": v} for k, v in doc_row["lang_mix"].items()]
        docs.append({**meta, **doc_row})
    order = [i for meta in metas for i in by_doc[meta["doc_id"]]]
    lines = labels.iloc[order].reset_index(drop=True)
    for name, values in extra.items():
        lines[name] = values
    table = (  # a batch whose files all failed to read has no lines
        pa.Table.from_pandas(lines[schemas.LINES.names], schema=schemas.LINES, preserve_index=False)
        if docs
        else schemas.LINES.empty_table()
    )
    final = staging / "final"
    write_parquet(table, final / "lines" / f"part-{run_seq:05d}-{batch_no:05d}.parquet")
    staged = write_parquet(
        pa.Table.from_pylist(docs, schema=schemas.DOCUMENTS_STAGED),
        staging / "b" / f"docs-b{batch_no:05d}.parquet",
    )
    if config.near_dup:
        write_signatures([d["text"] for d in docs], staged, config)
    hook_point(f"flag-{batch_no}")
    n_bp = int(sum(extra.get("is_boilerplate", [])))
    reasons = Counter(r for rs in extra.get("boilerplate_reasons", []) for r in rs)
    langs = Counter(d["lang"] for d in docs)
    get_run_logger().info(
        "flag batch %05d: %d documents, %d lines, %d boilerplate",
        batch_no,
        len(docs),
        len(lines),
        n_bp,
    )
    templates = lines[lines["is_boilerplate"] & (lines["key_doc_count"] >= 2)] if docs else lines
    templates = templates.drop_duplicates("line_key").nlargest(10, "key_doc_count")
    return {
        "boilerplate_lines": n_bp,
        "reasons": dict(reasons),
        "doc_langs": dict(langs),
        "template_lines": list(
            zip(templates["text"], templates["key_doc_count"].astype(int), strict=True)
        ),
    }


@task(task_run_name="dedup", cache_policy=NO_CACHE)
def dedup_documents(
    store: OutputStore,
    staging: Path,
    n_batches: int,
    run_seq: int,
    run_id: str,
    config: PipelineConfig | None = None,
) -> Path:
    """Exact (content hash) and near (MinHash LSH) duplicates against this run and every
    committed run; survivor = first seen in (run, input) order. See flows/state.py."""
    path = dedup_run(store, staging, n_batches, run_seq, run_id, config or PipelineConfig())
    hook_point("dedup")
    return path


@task(task_run_name="load", cache_policy=NO_CACHE)
def load_documents(staging: Path, n_batches: int, run_seq: int, duplicates: Path) -> int:
    """Write the run's unique documents into `documents/lang=<xx>/part-<run>.parquet`.

    One file per language per run (not per batch: ~50 languages x 19 batches made ~950 small
    files at 1M lines), one row group per batch, streamed batch by batch (bounded memory).
    """
    dup_ids = pq.read_table(duplicates, columns=["doc_id"])["doc_id"]
    folder = staging / "final" / "documents"
    writers: dict[str, tuple[pq.ParquetWriter, Path]] = {}
    kept = 0
    try:
        for batch_no in range(n_batches):
            docs = pq.read_table(staging / "b" / f"docs-b{batch_no:05d}.parquet")
            docs = docs.filter(pc.invert(pc.is_in(docs["doc_id"], value_set=dup_ids)))
            kept += docs.num_rows
            for lang in sorted(set(docs["lang"].to_pylist())):
                if lang not in writers:
                    path = folder / f"lang={lang}" / f"part-{run_seq:05d}.parquet"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
                    writers[lang] = (
                        pq.ParquetWriter(tmp, schemas.DOCUMENTS, compression="zstd"),
                        path,
                    )
                part = docs.filter(pc.equal(docs["lang"], lang)).select(schemas.DOCUMENTS.names)
                writers[lang][0].write_table(part.cast(schemas.DOCUMENTS))
    finally:
        for writer, _ in writers.values():
            writer.close()
    for _, path in writers.values():
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        fsync_file(tmp)
        os.replace(tmp, path)
    return kept


@functools.cache
def code_hash() -> str:
    """16-hex hash of the `transforms` source: its thresholds decide rows as much as the config."""
    root = Path(transforms.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.glob("*.py")):
        digest.update(path.name.encode() + b"\x00" + path.read_bytes())
    return digest.hexdigest()[:16]


def _run_id(run_seq: int, cfg_hash: str, files: list[InputFile]) -> str:
    """Deterministic id: same output history, config, code and inputs give the same run id.

    A killed run resumes its finished batches only under the same id, so a code change never
    mixes rows of two versions.
    """
    blob = json.dumps([cfg_hash, code_hash(), [(f.source, f.checksum) for f in files]]).encode()
    return f"{run_seq:05d}-{hashlib.sha256(blob).hexdigest()[:12]}"


def _counts(counter: Counter) -> list[dict]:
    return [
        {"name": k, "count": int(v)}
        for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


# The staging folder of a run names the Prefect flow run writing it. A staging folder left
# behind (the run holds the output lock, so no other run is alive) belongs to a killed run.
FLOW_RUN_FILE = "flow_run.json"


def _mark_killed_runs(store: OutputStore, logger) -> None:
    """Set the flow runs of staging folders left by killed runs to Crashed (a SIGKILLed
    process cannot report its end, so the UI would show them Running forever)."""
    from prefect import get_client
    from prefect.states import Crashed

    current = str(prefect_runtime.flow_run.id)
    for path in sorted((store.root / STAGING).glob(f"*/{FLOW_RUN_FILE}")):
        try:
            flow_run_id = json.loads(path.read_text())["flow_run_id"]
        except (OSError, ValueError, KeyError):
            continue
        if flow_run_id == current:
            continue
        try:
            with get_client(sync_client=True) as client:
                state = client.read_flow_run(UUID(flow_run_id)).state
                if state is None or state.is_final():
                    continue
                message = f"process gone: found by run {current} on the same output"
                client.set_flow_run_state(flow_run_id, Crashed(message=message), force=True)
        except Exception as exc:  # another server, or the run was deleted: nothing to mark
            logger.debug("could not mark flow run %s crashed: %s", flow_run_id, exc)
            continue
        logger.warning(
            "flow run %s was killed (it left %s); marked Crashed", flow_run_id, path.parent.name
        )


@flow(name="winnow-etl", flow_run_name=flow_run_name, validate_parameters=False)
def etl_flow(
    inputs: list[str],
    output: str = "output",
    config: PipelineConfig | None = None,
    fresh: bool = False,
    workers: int = 1,
) -> dict:
    """Run winnow on files/folders into OUTPUT; returns the run summary (also in `runs/`)."""
    config = config or PipelineConfig()
    logger = get_run_logger()
    started = datetime.now(UTC)
    store = OutputStore(output)
    with RunLock(store.root):
        _mark_killed_runs(store, logger)  # before reset/recover remove their staging
        if fresh:
            store.reset()
        store.recover()  # roll a half-finished commit forward before reading state
        other = other_lsh_state(store.root, config) if config.near_dup else None
        if other:  # its own state would silently miss near duplicates of earlier runs
            raise ValueError(lsh_mismatch_message(output, other))
        files, discovery_errors = discover_inputs(inputs)
        loaded = read_table(store.state("inputs"))
        done_keys = (
            set(zip(loaded["source"].to_pylist(), loaded["checksum"].to_pylist(), strict=True))
            if loaded.num_rows
            else set()
        )
        new = [f for f in files if (f.source, f.checksum) not in done_keys]
        revised = frozenset(f.source for f in new) & {source for source, _ in done_keys}
        cfg_hash = config_hash(config)
        run_seq = store.committed_runs() + 1
        run_id = _run_id(run_seq, cfg_hash, new)
        store.recover(keep=[run_id])
        staging = store.staging(run_id)
        write_json({"flow_run_id": str(prefect_runtime.flow_run.id)}, staging / FLOW_RUN_FILE)
        batches = plan_batches(new, config)
        logger.info(
            "run %s (pid %d): %d input files, %d new (%d new versions of loaded files), %d batches",
            run_id,
            os.getpid(),
            len(files),
            len(new),
            len(revised),
            len(batches),
        )

        progress = start_progress(len(batches))
        futures = [
            extract_batch.submit(b, staging, i, config, run_id, revised)
            for i, b in enumerate(batches)
        ]
        extracted = []
        for i, fut in enumerate(futures):
            extracted.append(fut.result())
            publish_progress(progress, (i + 1) / max(len(batches), 1) * 50)
        key_counts = count_keys(store, staging, len(batches), run_seq)
        futures = [
            flag_batch.submit(staging, i, run_seq, key_counts, config) for i in range(len(batches))
        ]
        flagged = []
        for i, fut in enumerate(futures):
            flagged.append(fut.result())
            publish_progress(progress, 50 + (i + 1) / max(len(batches), 1) * 40)
        duplicates = dedup_documents(store, staging, len(batches), run_seq, run_id, config)
        kept = load_documents(staging, len(batches), run_seq, duplicates)

        errors = list(discovery_errors)
        error_tables = [_errors_table(errors, run_id)] + [
            pq.read_table(staging / "a" / f"errors-b{i:05d}.parquet") for i in range(len(batches))
        ]
        error_table = pa.concat_tables(error_tables)
        write_parquet(error_table, staging / "final" / "errors" / f"part-{run_seq:05d}.parquet")
        write_parquet(
            pa.Table.from_pylist([dataclasses.asdict(f) for f in new], schema=schemas.INPUTS),
            store.final_path(staging, f"_state/inputs/part-{run_seq:05d}.parquet"),
        )
        reasons: Counter = Counter()
        langs: Counter = Counter()
        for f in flagged:
            reasons.update(f["reasons"])
            langs.update(f["doc_langs"])
        n_dups = pq.read_metadata(duplicates).num_rows
        summary = {
            "run_id": run_id,
            "run_seq": run_seq,
            "started_at": started,
            "ended_at": datetime.now(UTC),
            "config_hash": cfg_hash,
            "code_hash": code_hash(),
            "config": json.dumps(dataclasses.asdict(config), sort_keys=True),
            "inputs": [dataclasses.asdict(f) for f in new],
            "n_files": len(new),
            "n_files_skipped": len(files) - len(new),
            "n_documents": sum(e["documents"] for e in extracted),
            "n_documents_kept": kept,
            "n_lines": sum(e["lines"] for e in extracted),
            "n_boilerplate_lines": sum(f["boilerplate_lines"] for f in flagged),
            "n_duplicates": n_dups,
            "n_errors": error_table.num_rows,
            "reason_counts": _counts(reasons),
            "lang_counts": _counts(langs),
            "error_counts": _counts(Counter(error_table["reason"].to_pylist())),
        }
        write_parquet(
            pa.Table.from_pylist([summary], schema=schemas.RUNS),
            staging / "final" / "runs" / f"part-{run_seq:05d}.parquet",
        )
        hook_point("before-commit")
        store.commit(run_id)
        publish_progress(progress, 100)
        summary["output"] = str(store.root.resolve())
        summary["seconds_label"] = sum(e.get("seconds_label", 0.0) for e in extracted)
        top = {text: n for f in flagged for text, n in f["template_lines"]}
        summary["template_lines"] = sorted(top.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        publish_summary(summary)
        logger.info(
            "run %s committed: %d documents (%d kept), %d lines, %d duplicates, %d errors",
            run_id,
            summary["n_documents"],
            kept,
            summary["n_lines"],
            n_dups,
            summary["n_errors"],
        )
        return summary


@contextlib.contextmanager
def exported_api_url() -> Iterator[str]:
    """Make sure PREFECT_API_URL points at a running server and is exported to child processes.

    Dask workers are separate processes: without an exported URL each one would start its own
    temporary server (24-29 s each, DESIGN.md). Uses the configured server if there is one,
    else starts Prefect's temporary server once for the whole run.
    """
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    url = get_current_settings().api.url
    if url:
        previous = os.environ.get("PREFECT_API_URL")
        os.environ["PREFECT_API_URL"] = url
        try:
            yield url
        finally:
            if previous is None:
                os.environ.pop("PREFECT_API_URL", None)
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start(timeout=120)
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield server.api_url
    finally:
        # Drain buffered run logs while the server still listens (else exit waits on retries).
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=30)
        os.environ.pop("PREFECT_API_URL", None)
        server.stop()


def dask_runner(workers: int, address: str | None = None):
    """prefect-dask runner: the cluster at `address`, else a local one of `workers` processes."""
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": workers,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
    )


# langdetect-rs detects a batch on a rayon pool of one thread per core: N local worker
# processes would each start cores-many threads and oversubscribe the machine.
NATIVE_POOL_ENV = {"RAYON_NUM_THREADS": "1"}


def _init_worker() -> None:
    """Process-pool initializer: one native thread per worker process, and exit when the flow
    process dies (a SIGKILLed flow would otherwise leave its workers waiting forever: each
    holds a write end of the pool's call queue, so the queue never reports end-of-file)."""
    os.environ.update(NATIVE_POOL_ENV)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="winnow-parent-watch", daemon=True).start()


def task_runner(workers: int = 1, dask_address: str | None = None):
    """The task runner of a run: in-process for one worker, Prefect's process pool for several
    local workers, prefect-dask for a cluster at `dask_address`.

    Local workers use `ProcessPoolTaskRunner` rather than a local Dask cluster: on this 2-core
    machine it starts faster and leaves more CPU to the work (1M benchmark lines, 2 workers:
    1.40x one worker vs 1.20x with a LocalCluster; README, Performance).
    """
    from prefect.task_runners import ProcessPoolTaskRunner

    if workers < 1:
        raise ValueError("workers must be >= 1")
    if dask_address:
        return dask_runner(workers, dask_address)
    if workers == 1:
        return ThreadPoolTaskRunner(max_workers=1)
    return ProcessPoolTaskRunner(max_workers=workers, initializer=_init_worker)


def run_etl(
    inputs: list[str],
    output: str,
    *,
    config: PipelineConfig | None = None,
    fresh: bool = False,
    workers: int = 1,
    dask_address: str | None = None,
) -> dict:
    """Run the flow: in-process for one worker, else in local worker processes or on a Dask
    cluster at `dask_address` (see `task_runner`).

    Results do not depend on the runner: every batch writes its own files and the global
    steps (key counts, dedup, commit) run in input order in the flow process.
    """
    if workers < 1:
        raise ValueError("workers must be >= 1")
    kwargs = {
        "inputs": inputs,
        "output": output,
        "config": config,
        "fresh": fresh,
        "workers": workers,
    }
    runner = task_runner(workers, dask_address)
    if isinstance(runner, ThreadPoolTaskRunner):
        return etl_flow.with_options(task_runner=runner)(**kwargs)
    with exported_api_url():  # worker processes report to the same server
        return etl_flow.with_options(task_runner=runner)(**kwargs)
