"""Persistent near-dedup state: MinHash signatures and LSH band keys, one partition per band.

Layout under OUTPUT/_state/ (append-only; each run stages its parts in `final/_state/...`,
so they become visible atomically when the run commits):

    minhash-<B>x<R>-w<N>/sig/part-<run>-<cccc>.parquet    ordinal, doc_id, signature
    minhash-<B>x<R>-w<N>/band=<bb>/part-<run>.parquet     key, ordinal (sorted by key)

`ordinal` = run_seq << 32 | position in the run's input order: the global survivor order.
Only documents kept in `documents` (with at least one shingle) are stored. A run reads one
band at a time and only the prior rows whose key also occurs in the new documents, so memory
is bounded by one band's keys, not by all signatures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from flows import schemas
from flows.store import OutputStore, write_parquet
from transforms.config import PipelineConfig
from transforms.dedup import (
    Duplicate,
    band_keys,
    candidate_pairs,
    estimate_jaccard,
    find_exact_duplicates,
    minhash_signatures,
    resolve_clusters,
    shingle_hashes,
)

# Signature rows per state file: reading the candidates' signatures scans at most this many.
SIG_ROWS_PER_FILE = 65_536
BAND_SCHEMA = pa.schema([("key", pa.uint64()), ("ordinal", pa.int64())])


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


def lsh_mismatch_message(output: Path, other: str) -> str:
    """The one-line error for `other_lsh_state` (CLI and the flow)."""
    return (
        f"{output} holds a near-duplicate index built with other LSH settings ({other}); "
        "use the same settings, or --fresh to start over"
    )


def _parts(folder: Path) -> list[Path]:
    return sorted(folder.glob("part-*.parquet")) if folder.exists() else []


def _read_filtered(
    folder: Path, column: str, values: pa.Array, columns: list[str]
) -> pa.Table | None:
    """Rows of every part whose `column` is in `values`, scanned batch by batch (bounded memory)."""
    parts = _parts(folder)
    if not parts:
        return None
    return ds.dataset(parts, format="parquet").to_table(
        columns=columns, filter=ds.field(column).isin(values)
    )


@dataclass(frozen=True)
class NearDedupResult:
    duplicates: list[tuple[int, Duplicate]]  # (position in the run, duplicate)
    n_candidates: int


def signatures_of(texts: list[str], config: PipelineConfig) -> np.ndarray:
    """MinHash signatures (documents x bands*rows) of content texts."""
    shingles = [shingle_hashes(t, n=config.shingle_words) for t in texts]
    return minhash_signatures(shingles, num_perm=config.lsh_bands * config.lsh_rows)


def signatures_path(staged_docs: Path) -> Path:
    """Where the flag stage leaves the signatures of a staged documents file (.npy, same rows)."""
    return staged_docs.with_name(staged_docs.name.replace("docs-", "sigs-")).with_suffix(".npy")


def write_signatures(texts: list[str], staged_docs: Path, config: PipelineConfig) -> Path:
    """Signatures of every staged document of a batch, computed in the (parallel) flag stage
    so the serial dedup stage only selects rows; a row depends on its own text only."""
    path = signatures_path(staged_docs)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        np.save(fh, signatures_of(texts, config))
    tmp.replace(path)
    return path


def _batch_signatures(staged_docs: Path, rows: np.ndarray, config: PipelineConfig) -> np.ndarray:
    """Signatures of some rows of a staged documents file: precomputed if there, else now."""
    path = signatures_path(staged_docs)
    width = config.lsh_bands * config.lsh_rows
    if path.exists():
        sigs = np.load(path)
        if sigs.shape[1] == width:
            return sigs[rows]
    texts = pq.read_table(staged_docs, columns=["text"])["text"].to_pylist()
    return signatures_of([texts[i] for i in rows.tolist()], config)


def near_dedup(
    store: OutputStore,
    staging: Path,
    sigs: np.ndarray,
    pos: np.ndarray,
    doc_ids: list[str],
    run_seq: int,
    config: PipelineConfig,
) -> NearDedupResult:
    """Near duplicates among the run's documents and against every earlier run.

    `doc_ids` are the run's documents in input order; `pos` the positions (ascending) of those
    still unique after exact dedup and `sigs` their signatures. Writes this run's state parts
    into the staging `final/`.
    """
    name = state_name(config)
    prior_root = store.state(name)
    final_root = store.final_path(staging, f"_state/{name}")
    bands, rows = config.lsh_bands, config.lsh_rows
    keys = band_keys(sigs, bands=bands, rows=rows)
    has = keys[:, 0] != 0
    base = np.int64(run_seq) << np.int64(32)
    ordinals = base + pos.astype(np.int64)

    pairs = []
    for b in range(bands):
        new_keys = pa.array(keys[has, b])
        prior = _read_filtered(prior_root / f"band={b:02d}", "key", new_keys, ["key", "ordinal"])
        k = keys[has, b]
        o = ordinals[has]
        if prior is not None and prior.num_rows:
            k = np.concatenate([prior["key"].to_numpy(), k])
            o = np.concatenate([prior["ordinal"].to_numpy(), o])
        p = candidate_pairs(k, o)
        pairs.append(p[p[:, 1] >= base])  # only pairs that involve a new document
    pairs = np.unique(np.concatenate(pairs), axis=0) if pairs else np.empty((0, 2), np.int64)

    # Signatures of the prior documents that are candidates (read filtered, part by part).
    prior_ords = np.unique(pairs[pairs < base])
    sig_of: dict[int, np.ndarray] = {}
    id_of: dict[int, str] = {}
    if len(prior_ords):
        t = _read_filtered(
            prior_root / "sig", "ordinal", pa.array(prior_ords), ["ordinal", "doc_id", "signature"]
        )
        width = bands * rows
        flat = np.frombuffer(b"".join(t["signature"].to_pylist()), np.uint32).reshape(-1, width)
        for o, d, s in zip(t["ordinal"].to_pylist(), t["doc_id"].to_pylist(), flat, strict=True):
            sig_of[o], id_of[o] = s, d
    row_of = {int(o): i for i, o in enumerate(ordinals.tolist())}

    def sig(o: int) -> np.ndarray:
        return sigs[row_of[o]] if o >= base else sig_of[o]

    dups: list[tuple[int, Duplicate]] = []
    if len(pairs):
        a = np.stack([sig(int(x)) for x in pairs[:, 0]])
        c = np.stack([sig(int(x)) for x in pairs[:, 1]])
        confirmed = pairs[estimate_jaccard(a, c) >= config.near_dup_min_jaccard]
        nodes = np.unique(confirmed)  # sorted ordinals: rank order = survivor order
        roots = resolve_clusters(len(nodes), np.searchsorted(nodes, confirmed))
        for i, o in enumerate(nodes.tolist()):
            keep = int(nodes[roots[i]])
            if o < base or keep == o:
                continue  # earlier runs' documents are never removed
            kept_id = doc_ids[keep - base] if keep >= base else id_of[keep]
            simil = float(estimate_jaccard(sig(o)[None], sig(keep)[None])[0])
            dups.append((o - base, Duplicate(doc_ids[o - base], kept_id, "near", simil)))
    dups.sort(key=lambda d: d[0])

    # State of this run: the survivors (active, with shingles, not near duplicates).
    removed = {p for p, _ in dups}
    keep_rows = np.array([h and int(p) not in removed for p, h in zip(pos, has, strict=True)], bool)
    ks = keep_rows.nonzero()[0]
    width = bands * rows
    for c, start in enumerate(range(0, max(len(ks), 1), SIG_ROWS_PER_FILE)):
        chunk = ks[start : start + SIG_ROWS_PER_FILE]
        write_parquet(
            pa.table(
                {
                    "ordinal": pa.array(ordinals[chunk], pa.int64()),
                    "doc_id": pa.array([doc_ids[int(pos[i])] for i in chunk], pa.string()),
                    "signature": pa.array([sigs[i].tobytes() for i in chunk], pa.binary(4 * width)),
                }
            ),
            final_root / "sig" / f"part-{run_seq:05d}-{c:04d}.parquet",
        )
    for b in range(bands):
        order = np.argsort(keys[ks, b], kind="stable")
        write_parquet(
            pa.table(
                {"key": keys[ks, b][order], "ordinal": ordinals[ks][order]}, schema=BAND_SCHEMA
            ),
            final_root / f"band={b:02d}" / f"part-{run_seq:05d}.parquet",
        )
    return NearDedupResult(dups, len(pairs))


HASHES_SCHEMA = pa.schema([("content_hash", pa.string()), ("kept_doc_id", pa.string())])


def _prior_hashes(store: OutputStore, hashes: pa.Array) -> dict[str, str]:
    """content_hash -> kept_doc_id of earlier runs, only for the hashes of this run."""
    t = _read_filtered(
        store.state("hashes"), "content_hash", hashes, ["content_hash", "kept_doc_id"]
    )
    if t is None:
        return {}
    return dict(zip(t["content_hash"].to_pylist(), t["kept_doc_id"].to_pylist(), strict=True))


def dedup_run(
    store: OutputStore,
    staging: Path,
    n_batches: int,
    run_seq: int,
    run_id: str,
    config: PipelineConfig,
) -> Path:
    """The dedup stage's I/O: staged documents in, `duplicates` part and state parts out."""

    batch = [staging / "b" / f"docs-b{b:05d}.parquet" for b in range(n_batches)]
    empty = pa.table(
        {"doc_id": pa.array([], pa.string()), "content_hash": pa.array([], pa.string())}
    )
    docs = pa.concat_tables(
        [empty, *(pq.read_table(p, columns=["doc_id", "content_hash"]) for p in batch)]
    )
    doc_ids = docs["doc_id"].to_pylist()
    hashes = docs["content_hash"].to_pylist()
    seen = _prior_hashes(store, pc.unique(docs["content_hash"]))
    exact, kept = find_exact_duplicates(zip(doc_ids, hashes, strict=True), seen=seen)
    exact_ids = {d.doc_id for d in exact}
    position = {d: i for i, d in enumerate(doc_ids)}
    found: list[tuple[int, Duplicate]] = [(position[d.doc_id], d) for d in exact]
    if config.near_dup:
        active = np.array(
            [bool(h) and d not in exact_ids for d, h in zip(doc_ids, hashes, strict=True)], bool
        )
        pos = np.flatnonzero(active)
        sig_parts = []
        start = 0
        for p in batch:  # one batch in memory at a time
            n = pq.read_metadata(p).num_rows
            sel = pos[(pos >= start) & (pos < start + n)] - start
            sig_parts.append(_batch_signatures(p, sel, config))
            start += n
        width = config.lsh_bands * config.lsh_rows
        sigs = np.concatenate([np.empty((0, width), np.uint32), *sig_parts])
        found += near_dedup(store, staging, sigs, pos, doc_ids, run_seq, config).duplicates
        # exact copies of a near duplicate, and its hash, point to the near survivor
        near = {d.doc_id: d for _, d in found if d.kind == "near"}
        found = [
            (
                p,
                Duplicate(
                    d.doc_id,
                    near[d.kept_doc_id].kept_doc_id,
                    d.kind,
                    near[d.kept_doc_id].similarity,
                ),
            )
            if d.kind == "exact" and d.kept_doc_id in near
            else (p, d)
            for p, d in found
        ]
        kept = {h: near[d].kept_doc_id if d in near else d for h, d in kept.items()}
    found.sort(key=lambda x: x[0])
    new_hashes = {h: d for h, d in kept.items() if h not in seen}
    write_parquet(
        pa.table(
            {"content_hash": list(new_hashes), "kept_doc_id": list(new_hashes.values())},
            schema=HASHES_SCHEMA,
        ),
        store.final_path(staging, f"_state/hashes/part-{run_seq:05d}.parquet"),
    )
    table = pa.Table.from_pylist(
        [
            {
                "doc_id": d.doc_id,
                "kept_doc_id": d.kept_doc_id,
                "kind": d.kind,
                "similarity": d.similarity,
                "run_id": run_id,
            }
            for _, d in found
        ],
        schema=schemas.DUPLICATES,
    )
    return write_parquet(table, staging / "final" / "duplicates" / f"part-{run_seq:05d}.parquet")
