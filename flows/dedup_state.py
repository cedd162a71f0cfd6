"""Reads and writes the persistent dedup state parts (the decisions are in transforms/dedup.py).

Layout under OUTPUT/_state/ (append-only; each run stages its parts under `final/_state/`,
so they become visible atomically when the run commits):

    inputs/part-<run>.parquet                              files loaded by the run
    key_counts/part-<run>.parquet                          documents per line key
    hashes/part-<run>.parquet                              content_hash -> kept doc_id
    minhash-<B>x<R>-w<N>/sig/part-<run>-<cccc>.parquet     ordinal, doc_id, signature
    minhash-<B>x<R>-w<N>/band=<bb>/part-<run>.parquet      key, ordinal (sorted by key)

`ordinal` = run_seq << 32 | position in the run's input order: the global survivor order.
Only documents kept in `documents` (with at least one shingle) are in the MinHash state. A run
reads one band at a time and only the prior rows whose key also occurs in the new documents,
so memory is bounded by one band's keys, not by all signatures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from flows import schemas
from flows.staging import Staging
from flows.store import OutputStore, read_table, write_parquet
from transforms.config import PipelineConfig

KEY_COUNTS = pa.schema([("line_key", pa.uint64()), ("n_docs", pa.int64())])
HASHES_SCHEMA = pa.schema([("content_hash", pa.string()), ("kept_doc_id", pa.string())])
BAND_SCHEMA = pa.schema([("key", pa.uint64()), ("ordinal", pa.int64())])
# Signature rows per state file: reading the candidates' signatures scans at most this many.
SIG_ROWS_PER_FILE = 65_536


def state_name(config: PipelineConfig) -> str:
    """State folder of one LSH layout (a different layout starts its own state)."""
    return f"minhash-{config.lsh_bands}x{config.lsh_rows}-w{config.shingle_words}"


def other_lsh_state(output: Path, config: PipelineConfig) -> str | None:
    """Name of a MinHash state folder in `output` built with other LSH settings, if any.

    A run with other settings would start its own state and silently miss near duplicates of
    everything loaded before, so the flow refuses it (unless `fresh` or near-dup is off).
    """
    folders = sorted(p.name for p in (output / "_state").glob("minhash-*") if p.is_dir())
    return next((name for name in folders if name != state_name(config)), None)


def lsh_mismatch_message(output: Path | str, other: str) -> str:
    """The one-line error for `other_lsh_state` (CLI and the flow)."""
    return (
        f"{output} holds a near-duplicate index built with other LSH settings ({other}); "
        "use the same settings, or --fresh to start over"
    )


def _parts(folder: Path) -> list[Path]:
    return sorted(folder.glob("part-*.parquet")) if folder.exists() else []


def _read_filtered(folder: Path, column: str, values: pa.Array, columns: list[str]) -> pa.Table:
    """Rows of the parts (there must be some) whose `column` is in `values`, scanned batch by
    batch (bounded memory)."""
    return ds.dataset(_parts(folder), format="parquet").to_table(
        columns=columns, filter=ds.field(column).isin(values)
    )


def loaded_inputs(store: OutputStore) -> list[tuple[str, str]]:
    """(source, checksum) of every file loaded by a committed run."""
    loaded = read_table(store.state("inputs"))
    if not loaded.num_rows:
        return []
    return list(zip(loaded["source"].to_pylist(), loaded["checksum"].to_pylist(), strict=True))


def write_inputs(rows: list[dict], staging: Staging) -> Path:
    return write_parquet(
        pa.Table.from_pylist(rows, schema=schemas.INPUTS), staging.state_part("inputs")
    )


# --- line key counts ---------------------------------------------------------------------


def write_key_counts(run: pa.Table, staging: Staging) -> Path:
    """This run's documents per key (sorted: pyarrow's threaded group_by order varies)."""
    return write_parquet(run, staging.state_part("key_counts"))


def prior_key_counts(store: OutputStore, keys: pa.Array) -> pa.Table:
    """Documents per key of every committed run, only for `keys`."""
    prior = read_table(store.state("key_counts"))
    if not prior.num_rows:
        return KEY_COUNTS.empty_table()
    return prior.filter(pc.is_in(prior["line_key"], value_set=keys))


# --- exact duplicates: content hashes ------------------------------------------------------


def prior_hashes(store: OutputStore, hashes: pa.Array) -> dict[str, str]:
    """content_hash -> kept_doc_id of earlier runs, only for the hashes of this run."""
    if not _parts(store.state("hashes")):
        return {}
    t = _read_filtered(
        store.state("hashes"), "content_hash", hashes, ["content_hash", "kept_doc_id"]
    )
    return dict(zip(t["content_hash"].to_pylist(), t["kept_doc_id"].to_pylist(), strict=True))


def write_hashes(new_hashes: dict[str, str], staging: Staging) -> Path:
    table = pa.table(
        {"content_hash": list(new_hashes), "kept_doc_id": list(new_hashes.values())},
        schema=HASHES_SCHEMA,
    )
    return write_parquet(table, staging.state_part("hashes"))


# --- near duplicates: MinHash bands and signatures ---------------------------------------


def prior_band(
    store: OutputStore, config: PipelineConfig, band: int, keys: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(keys, ordinals) of earlier runs' documents in one band, only for `keys`."""
    folder = store.state(state_name(config)) / f"band={band:02d}"
    if not _parts(folder):
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    t = _read_filtered(folder, "key", pa.array(keys), ["key", "ordinal"])
    return t["key"].to_numpy(), t["ordinal"].to_numpy()


def prior_signatures(
    store: OutputStore, config: PipelineConfig, ordinals: np.ndarray
) -> tuple[dict[int, np.ndarray], dict[int, str]]:
    """Signatures and doc ids of earlier runs' documents, only for `ordinals`."""
    folder = store.state(state_name(config)) / "sig"
    if not len(ordinals) or not _parts(folder):
        return {}, {}
    t = _read_filtered(folder, "ordinal", pa.array(ordinals), ["ordinal", "doc_id", "signature"])
    width = config.signature_width
    flat = np.frombuffer(b"".join(t["signature"].to_pylist()), np.uint32).reshape(-1, width)
    sig_of: dict[int, np.ndarray] = {}
    id_of: dict[int, str] = {}
    for o, d, s in zip(t["ordinal"].to_pylist(), t["doc_id"].to_pylist(), flat, strict=True):
        sig_of[o], id_of[o] = s, d
    return sig_of, id_of


def write_minhash_state(
    staging: Staging,
    config: PipelineConfig,
    ordinals: np.ndarray,
    doc_ids: list[str],
    sigs: np.ndarray,
    keys: np.ndarray,
) -> None:
    """This run's survivors in the MinHash state: signature parts and one part per band."""
    name = state_name(config)
    width = config.signature_width
    for c, start in enumerate(range(0, max(len(ordinals), 1), SIG_ROWS_PER_FILE)):
        end = start + SIG_ROWS_PER_FILE
        table = pa.table(
            {
                "ordinal": pa.array(ordinals[start:end], pa.int64()),
                "doc_id": pa.array(doc_ids[start:end], pa.string()),
                "signature": pa.array([s.tobytes() for s in sigs[start:end]], pa.binary(4 * width)),
            }
        )
        write_parquet(table, staging.minhash_sig_part(name, c))
    for b in range(config.lsh_bands):
        order = np.argsort(keys[:, b], kind="stable")
        table = pa.table({"key": keys[order, b], "ordinal": ordinals[order]}, schema=BAND_SCHEMA)
        write_parquet(table, staging.minhash_band_part(name, b))
