"""Compaction: fold a state folder's many run parts into few sorted segments.

Size-tiered: once a folder holds more than COMPACT_PARTS run parts they are folded into one
new segment, merged with the newest segments while those are not much larger
(TIER_RATIO), so segment sizes fall geometrically and a folder keeps O(log history)
segments; each row is rewritten O(log history) times in all. The new segments are staged
and the folded parts and segments deleted by the commit journal (flows/store.py): a crash
leaves either the old files or the new ones, never both, once `recover()` ran.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from flows import segments
from flows.dedup_state import (
    FLAT_TABLES,
    KEY_COUNTS_TABLE,
    StateTable,
    _parts,
    _segments,
    band_table,
    sig_table,
    to_arrays,
)
from flows.store import STATE, OutputStore
from transforms.config import PipelineConfig

# Fold a folder's run parts once there are more than this many: a lookup reads each
# remaining part's key column whole, so this bounds that work (16 nightly runs of 1,500
# documents: ~300k key-count rows, ~0.1 s).
COMPACT_PARTS = 16
# Merge a new segment into the previous one while that one is less than TIER_RATIO times
# its size: sizes then fall by >= 4x per segment (log4(history) segments).
TIER_RATIO = 4
_RUN_RANGE = re.compile(r"(?:part|seg)-(\d+)(?:-(\d+))?")
# Staging folder of a `winnow compact` (a run's compaction uses the run's staging).
COMPACT_RUN_ID = "compact"
_LAYOUT = re.compile(r"minhash-(\d+)x(\d+)-w(\d+)")


@dataclass(frozen=True)
class CompactionPlan:
    """What one folder's compaction reads (and deletes) and the segment it writes."""

    table: StateTable
    parts: tuple[Path, ...]
    merged: tuple[Path, ...]
    name: str


def run_range(path: Path) -> tuple[int, int]:
    """(first, last) run seq of a part (`part-<run>[-<chunk>]`) or segment (`seg-<a>-<b>`).

    >>> run_range(Path("part-00007-0001.parquet")), run_range(Path("seg-00001-00016"))
    ((7, 7), (1, 16))
    """
    m = _RUN_RANGE.match(path.name)
    if m is None:
        raise ValueError(f"not a state part or segment: {path}")
    first = int(m.group(1))
    last = int(m.group(2)) if path.name.startswith("seg-") else first
    return first, last


def plan_table(store: OutputStore, table: StateTable, force: bool) -> CompactionPlan | None:
    """The compaction of one folder, if it is due (or `force`, with anything to fold)."""
    folder = store.state(table.folder)
    parts, segs = _parts(folder), _segments(folder)
    if len(parts) <= (0 if force else COMPACT_PARTS) and not (force and len(segs) > 1):
        return None
    rows = sum(pq.read_metadata(p).num_rows for p in parts)
    fs = pafs.LocalFileSystem()
    merged: list[Path] = []
    for seg in reversed(segs):
        seg_rows = segments.segment_rows(fs, str(seg))
        if not force and seg_rows >= TIER_RATIO * max(rows, 1):
            break
        merged.insert(0, seg)
        rows += seg_rows
    ranges = [run_range(p) for p in (*parts, *merged)]
    name = f"seg-{min(a for a, _ in ranges):05d}-{max(b for _, b in ranges):05d}"
    return CompactionPlan(table, tuple(parts), tuple(merged), name)


def _fold(table: StateTable, keys: np.ndarray, cols: dict[str, np.ndarray]):
    """Rows sorted by key (stable: run order among equal keys); key counts summed per key."""
    order = np.argsort(keys, kind="stable")
    keys, cols = keys[order], {n: v[order] for n, v in cols.items()}
    if table.folder != KEY_COUNTS_TABLE.folder or not len(keys):
        return keys, cols
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    return keys[starts], {"n_docs": np.add.reduceat(cols["n_docs"], starts)}


def plan_arrays(plan: CompactionPlan) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(keys, value columns) of the plan's merged segments (older), then its parts, in run
    order; segments stay NumPy arrays (no Python objects: memory ~ the bytes on disk)."""
    fs = pafs.LocalFileSystem()
    pieces = [segments.read_all(fs, str(seg), plan.table.columns) for seg in plan.merged]
    if plan.parts:
        parts = [pq.read_table(p, schema=plan.table.schema) for p in plan.parts]
        pieces.append(to_arrays(plan.table, pa.concat_tables(parts)))
    keys = np.concatenate([k for k, _ in pieces])
    cols = {c: _concat([v[c] for _, v in pieces]) for c in plan.table.columns}
    return keys, cols


def _concat(arrays: list[np.ndarray]) -> np.ndarray:
    """Concatenate value arrays; byte strings of different widths go to the widest."""
    if arrays[0].dtype.kind == "S":
        width = max(a.dtype.itemsize for a in arrays)
        arrays = [a.astype(f"S{width}") for a in arrays]
    return np.concatenate(arrays)


def apply_plan(store: OutputStore, plan: CompactionPlan, final_root: Path) -> list[str]:
    """Write the plan's segment under `final_root` (staged); the paths the commit deletes."""
    keys, cols = _fold(plan.table, *plan_arrays(plan))
    rel = f"{STATE}/{plan.table.folder}/{plan.name}"
    segments.write_segment(pafs.LocalFileSystem(), str(final_root / rel), keys, cols)
    return [p.relative_to(store.root).as_posix() for p in (*plan.parts, *plan.merged)]


def tables_in(store: OutputStore) -> list[StateTable]:
    """Every state folder of an output (the MinHash layouts from their folder names)."""
    tables = list(FLAT_TABLES)
    for folder in sorted(store.state("").glob("minhash-*")):
        m = _LAYOUT.fullmatch(folder.name)
        if m:
            bands, rows, words = (int(g) for g in m.groups())
            config = PipelineConfig(lsh_bands=bands, lsh_rows=rows, shingle_words=words)
            tables += [band_table(config, b) for b in range(bands)] + [sig_table(config)]
    return tables


def compact_state(store: OutputStore, final_root: Path, force: bool = False) -> list[str]:
    """Compact every state folder that is due (all, with `force`); the relative paths of the
    parts and segments the commit must delete once the new segments are in place."""
    deletes: list[str] = []
    for table in tables_in(store):
        plan = plan_table(store, table, force)
        if plan is not None:
            deletes += apply_plan(store, plan, final_root)
    return deletes


def compact_output(output: str, force: bool = True) -> list[str]:
    """`winnow compact`: under the run lock, fold the state of `output` (all of it with
    `force`) through a journalled commit; the parts and segments it replaced."""
    from flows.staging import staging_root
    from flows.store import RunLock

    store = OutputStore(output)
    with RunLock(store.root):
        store.recover()
        run_id = COMPACT_RUN_ID
        final_root = staging_root(store.root) / run_id / "final"
        final_root.mkdir(parents=True, exist_ok=True)
        deletes = compact_state(store, final_root, force=force)
        store.commit(run_id, delete=deletes)
        return deletes
