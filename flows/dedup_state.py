"""Reads and writes the persistent dedup state parts (the decisions are in transforms/dedup.py).

Layout under OUTPUT/_state/ (append-only; each run stages its parts under `final/_state/`,
so they become visible atomically when the run commits):

    inputs/part-<run>.parquet                              files loaded by the run
    key_counts/part-<run>.parquet                          documents per line key
    hashes/part-<run>.parquet                              content_hash -> kept doc_id
    minhash-<B>x<R>-w<N>/sig/part-<run>-<cccc>.parquet     ordinal, doc_id, signature
    minhash-<B>x<R>-w<N>/band=<bb>/part-<run>.parquet      key, ordinal (sorted by key)
    <any of those folders>/seg-<first>-<last>/             compacted runs (flows/segments.py)

`ordinal` = run_seq << 32 | position in the run's input order: the global survivor order.
Only documents kept in `documents` (with at least one shingle) are in the MinHash state. A run
reads one band at a time and only the prior rows whose key also occurs in the new documents,
so memory is bounded by one band's keys, not by all signatures. Run parts are folded into
sorted segments (flows/compaction.py) once a folder holds more than COMPACT_PARTS of them:
a lookup then reads the few remaining parts whole and the segments by key (ranged reads), so
a run's cost grows with log(history), not with history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import xxhash

from flows import schemas, segments
from flows.staging import Staging
from flows.store import OutputStore, state_name, write_parquet
from transforms.config import PipelineConfig

KEY_COUNTS = pa.schema([("line_key", pa.uint64()), ("n_docs", pa.int64())])
HASHES_SCHEMA = pa.schema([("content_hash", pa.string()), ("kept_doc_id", pa.string())])
BAND_SCHEMA = pa.schema([("key", pa.uint64()), ("ordinal", pa.int64())])
# Signature rows per state file: reading the candidates' signatures scans at most this many.
SIG_ROWS_PER_FILE = 65_536


@dataclass(frozen=True)
class StateTable:
    """One state folder: the Parquet schema of its run parts and the column its segments are
    sorted by (a string key is indexed by its xxh3-64 hash)."""

    folder: str
    schema: pa.Schema
    key: str

    @property
    def columns(self) -> list[str]:
        """Value columns of a segment (every column but a numeric key)."""
        return [n for n in self.schema.names if n != self.key or self.string_key]

    @property
    def string_key(self) -> bool:
        return pa.types.is_string(self.schema.field(self.key).type)


SIG_SCHEMA_FIELDS = [("ordinal", pa.int64()), ("doc_id", pa.string())]
INPUTS_TABLE = StateTable("inputs", schemas.INPUTS, "source")
KEY_COUNTS_TABLE = StateTable("key_counts", KEY_COUNTS, "line_key")
HASHES_TABLE = StateTable("hashes", HASHES_SCHEMA, "content_hash")
# The ingestion ledger (flows/ledger.py) and the `--id-field` input ids: looked up by key and
# compacted like the dedup state, so a lookup costs the same after thousands of runs.
LEDGER_TABLE = StateTable("ledger", schemas.LEDGER, "source")
IDS_TABLE = StateTable("ids", pa.schema([("doc_id", pa.string())]), "doc_id")


FLAT_TABLES = [INPUTS_TABLE, LEDGER_TABLE, IDS_TABLE, KEY_COUNTS_TABLE, HASHES_TABLE]


def band_table(config: PipelineConfig, band: int) -> StateTable:
    return StateTable(f"{state_name(config)}/band={band:02d}", BAND_SCHEMA, "key")


def sig_table(config: PipelineConfig) -> StateTable:
    sig = pa.schema([*SIG_SCHEMA_FIELDS, ("signature", pa.binary(4 * config.signature_width))])
    return StateTable(f"{state_name(config)}/sig", sig, "ordinal")


def state_tables(config: PipelineConfig) -> list[StateTable]:
    """Every state folder of one LSH layout."""
    bands = [band_table(config, b) for b in range(config.lsh_bands)]
    return [*FLAT_TABLES, *bands, sig_table(config)]


def _parts(folder: Path) -> list[Path]:
    return sorted(folder.glob("part-*.parquet")) if folder.exists() else []


def _segments(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("seg-*") if p.is_dir()) if folder.exists() else []


def hash_keys(values: Iterable[str]) -> np.ndarray:
    """uint64 index keys of string keys (xxh3-64)."""
    return np.fromiter((xxhash.xxh3_64_intdigest(v.encode()) for v in values), np.uint64)


def _fixed_binary(rows: np.ndarray, width: int) -> pa.Array:
    """The rows of a 2-d array as fixed-size binary values over the array's own memory (not
    a bytes object per row).

    >>> _fixed_binary(np.array([[1, 2]], np.uint32), 8).to_pylist()
    [b'\\x01\\x00\\x00\\x00\\x02\\x00\\x00\\x00']
    """
    data = pa.py_buffer(np.ascontiguousarray(rows))  # zero-copy when contiguous
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(rows), [None, data])


def to_arrays(spec: StateTable, table: pa.Table) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(uint64 keys, fixed-width value columns) of run-part rows, for a segment."""
    key = table[spec.key]
    keys = hash_keys(key.to_pylist()) if spec.string_key else key.to_numpy().astype(np.uint64)
    cols: dict[str, np.ndarray] = {}
    for name in spec.columns:
        col, typ = table[name], spec.schema.field(name).type
        if pa.types.is_string(typ):
            cols[name] = np.array([v.encode() for v in col.to_pylist()], dtype="S")
        elif pa.types.is_fixed_size_binary(typ):
            flat = b"".join(col.to_pylist())
            cols[name] = np.frombuffer(flat, np.uint8).reshape(len(col), typ.byte_width)
        else:
            cols[name] = col.to_numpy()
    return keys, cols


def to_table(spec: StateTable, keys: np.ndarray, cols: dict[str, np.ndarray]) -> pa.Table:
    """Segment rows back as a table of the run parts' schema."""
    data = {}
    for field in spec.schema:
        if field.name == spec.key and not spec.string_key:
            data[field.name] = pa.array(keys.astype(field.type.to_pandas_dtype()), field.type)
        elif pa.types.is_string(field.type):
            data[field.name] = pa.array([v.decode() for v in cols[field.name].tolist()], field.type)
        elif pa.types.is_fixed_size_binary(field.type):
            rows = cols[field.name].reshape(len(keys), field.type.byte_width)
            data[field.name] = _fixed_binary(rows, field.type.byte_width)
        else:
            data[field.name] = pa.array(cols[field.name], field.type)
    return pa.table(data, schema=spec.schema)


def prior_rows(store: OutputStore, spec: StateTable, values: Iterable, columns: list[str]):
    """Committed rows of a state table whose key is in `values`: the run parts filtered
    (streamed, bounded memory), the segments by ranged reads of the keys' blocks only."""
    folder = store.state(spec.folder)
    values = list(values) if spec.string_key else np.asarray(values)
    tables = [spec.schema.empty_table().select(columns)]
    if parts := _parts(folder):
        import pyarrow.dataset as ds  # here: worker processes import this module, not this

        filt = ds.field(spec.key).isin(pa.array(values, spec.schema.field(spec.key).type))
        tables.append(ds.dataset(parts, format="parquet").to_table(columns=columns, filter=filt))
    if segs := _segments(folder):
        want = hash_keys(values) if spec.string_key else np.asarray(values).astype(np.uint64)
        fs = pafs.LocalFileSystem()
        for seg in segs:
            keys, cols = segments.lookup(fs, str(seg), want, spec.columns)
            table = to_table(spec, keys, cols).select(columns)
            if spec.string_key:  # hash collisions: keep exact matches only
                table = table.filter(pc.is_in(table[spec.key], pa.array(values, pa.string())))
            tables.append(table)
    return pa.concat_tables(tables)


def all_rows(store: OutputStore, spec: StateTable) -> pa.Table:
    """Every committed row of a state table (compaction, and `loaded_inputs` unfiltered)."""
    folder = store.state(spec.folder)
    tables = [spec.schema.empty_table()]
    tables += [pq.read_table(p, schema=spec.schema) for p in _parts(folder)]
    fs = pafs.LocalFileSystem()
    for seg in _segments(folder):
        keys, cols = segments.read_all(fs, str(seg), spec.columns)
        tables.append(to_table(spec, keys, cols))
    return pa.concat_tables(tables)


def loaded_inputs(store: OutputStore, sources: list[str] | None = None) -> list[tuple[str, str]]:
    """(source, checksum) of the files loaded by committed runs (of `sources` if given)."""
    if sources is None:
        loaded = all_rows(store, INPUTS_TABLE)
    else:
        loaded = prior_rows(store, INPUTS_TABLE, sorted(set(sources)), ["source", "checksum"])
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
    """Documents per key of committed runs (one row per run part or segment), for `keys`."""
    return prior_rows(store, KEY_COUNTS_TABLE, keys.to_numpy(), ["line_key", "n_docs"])


# --- exact duplicates: content hashes ------------------------------------------------------


def prior_hashes(store: OutputStore, hashes: pa.Array) -> dict[str, str]:
    """content_hash -> kept_doc_id of earlier runs, only for the hashes of this run."""
    t = prior_rows(store, HASHES_TABLE, hashes.to_pylist(), ["content_hash", "kept_doc_id"])
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
    t = prior_rows(store, band_table(config, band), keys, ["key", "ordinal"])
    return t["key"].to_numpy(), t["ordinal"].to_numpy()


def prior_signatures(
    store: OutputStore, config: PipelineConfig, ordinals: np.ndarray
) -> tuple[dict[int, np.ndarray], dict[int, str]]:
    """Signatures and doc ids of earlier runs' documents, only for `ordinals`."""
    if not len(ordinals):
        return {}, {}
    t = prior_rows(store, sig_table(config), ordinals, ["ordinal", "doc_id", "signature"])
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
                "signature": _fixed_binary(sigs[start:end], 4 * width),
            }
        )
        write_parquet(table, staging.minhash_sig_part(name, c))
    for b in range(config.lsh_bands):
        order = np.argsort(keys[:, b], kind="stable")
        table = pa.table({"key": keys[order, b], "ordinal": ordinals[order]}, schema=BAND_SCHEMA)
        write_parquet(table, staging.minhash_band_part(name, b))
