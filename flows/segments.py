"""Compacted dedup state: sorted-key segments that a run reads in O(keys x log(history)).

A segment is a folder of NumPy `.npy` files over one sorted uint64 key:

    seg-<first run>-<last run>/key.npy        the keys, ascending (repeats allowed)
    seg-<first run>-<last run>/<column>.npy   one value row per key (fixed width)
    seg-<first run>-<last run>/fence.npy      key of every FENCE_ROWS-th row (the index)

A lookup reads the fence (history/FENCE_ROWS keys), binary-searches it for the run's keys,
then reads only the blocks of FENCE_ROWS keys that can hold them and the value rows that
match, each as a ranged read (`read_at`): bytes read grow with the run's keys, not with
history. Works on any pyarrow filesystem (local, S3).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np
import pyarrow.fs as pafs

# Rows per fence entry: a lookup reads one block of this many keys (8 B each: 1 KiB) per
# key. Smaller blocks read less per key but make the fence (read whole) larger: at 100M keys
# the fence is 100M/128 x 8 B = 6 MB.
FENCE_ROWS = 128
# Bytes read at the start of a .npy file to parse its header (NumPy writes headers padded
# to a multiple of 64 bytes; ours, a dtype and a shape, fit in 128).
NPY_HEADER_BYTES = 4096
# Adjacent row ranges closer than this many bytes are read as one request.
COALESCE_BYTES = 64 * 1024


@dataclass(frozen=True)
class NpyColumn:
    """Where the rows of one `.npy` file are: data offset, row width, dtype, row shape."""

    path: str
    offset: int
    dtype: np.dtype
    row_shape: tuple[int, ...]
    rows: int

    @property
    def row_bytes(self) -> int:
        return int(self.dtype.itemsize * np.prod(self.row_shape, dtype=np.int64))


def write_npy(fs: pafs.FileSystem, path: str, array: np.ndarray) -> str:
    """Write one array as `.npy` (the caller makes it visible: staging, then commit)."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    with fs.open_output_stream(path) as out:
        out.write(buf.getvalue())
    return path


def write_segment(
    fs: pafs.FileSystem, folder: str, keys: np.ndarray, columns: dict[str, np.ndarray]
) -> str:
    """Write a segment: `keys` (uint64, ascending) and one value array per column."""
    keys = np.asarray(keys, np.uint64)
    if len(keys) > 1 and not bool(np.all(keys[1:] >= keys[:-1])):
        raise ValueError("segment keys must be sorted")
    fs.create_dir(folder, recursive=True)
    write_npy(fs, f"{folder}/key.npy", keys)
    for name, values in columns.items():
        if len(values) != len(keys):
            raise ValueError(f"column {name}: {len(values)} rows for {len(keys)} keys")
        write_npy(fs, f"{folder}/{name}.npy", values)
    write_npy(fs, f"{folder}/fence.npy", keys[::FENCE_ROWS])
    with fs.open_output_stream(f"{folder}/columns.json") as out:
        out.write(json.dumps(sorted(columns)).encode())
    return folder


def open_column(fs: pafs.FileSystem, path: str) -> NpyColumn:
    """Parse a `.npy` header (one ranged read)."""
    with fs.open_input_file(path) as fh:
        head = io.BytesIO(fh.read_at(min(NPY_HEADER_BYTES, fh.size()), 0))
    version = np.lib.format.read_magic(head)
    read_header = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    shape, fortran, dtype = read_header(head)
    if fortran:
        raise ValueError(f"{path}: Fortran order")
    return NpyColumn(path, head.tell(), dtype, tuple(shape[1:]), int(shape[0]) if shape else 0)


def read_whole(fs: pafs.FileSystem, path: str) -> np.ndarray:
    """A whole `.npy` file (the fence; small)."""
    with fs.open_input_file(path) as fh:
        return np.load(io.BytesIO(fh.read()), allow_pickle=False)


def _ranges(rows: np.ndarray, row_bytes: int) -> list[tuple[int, int]]:
    """Sorted unique row numbers as (first row, end row) ranges, close ones coalesced."""
    if not len(rows):
        return []
    gap = max(COALESCE_BYTES // max(row_bytes, 1), 1)
    breaks = np.flatnonzero(np.diff(rows) > gap) + 1
    starts = rows[np.concatenate([[0], breaks])]
    ends = rows[np.concatenate([breaks - 1, [len(rows) - 1]])] + 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def read_rows(fs: pafs.FileSystem, col: NpyColumn, rows: np.ndarray) -> np.ndarray:
    """Rows `rows` (sorted, unique) of a column, in that order, by ranged reads."""
    out = np.empty((len(rows), *col.row_shape), col.dtype)
    if not len(rows):
        return out
    pos = 0
    with fs.open_input_file(col.path) as fh:
        for start, end in _ranges(rows, col.row_bytes):
            raw = fh.read_at((end - start) * col.row_bytes, col.offset + start * col.row_bytes)
            block = np.frombuffer(raw, col.dtype).reshape(end - start, *col.row_shape)
            wanted = rows[pos : pos + np.searchsorted(rows[pos:], end)]
            out[pos : pos + len(wanted)] = block[wanted - start]
            pos += len(wanted)
    return out


def candidate_blocks(fence: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Blocks (FENCE_ROWS rows each) that can hold any of `keys` (unique, sorted).

    Block j starts with fence[j]; a key equal to fence[j] may also end block j-1.

    >>> candidate_blocks(np.array([10, 20, 20, 30], np.uint64), np.array([5, 20, 31], np.uint64))
    array([0, 1, 2, 3])
    """
    left = np.searchsorted(fence, keys, "left")
    right = np.searchsorted(fence, keys, "right")
    hit = right > 0  # else the key is below the first key
    first = np.maximum(left[hit] - 1, 0)
    last = right[hit] - 1
    spans = [np.arange(a, b + 1) for a, b in zip(first.tolist(), last.tolist(), strict=True)]
    return np.unique(np.concatenate([np.empty(0, np.int64), *spans]))


def lookup(
    fs: pafs.FileSystem, folder: str, keys: np.ndarray, columns: list[str]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(matching keys, {column: values}) of the segment's rows whose key is in `keys`."""
    wanted = np.unique(np.asarray(keys, np.uint64))
    key_col = open_column(fs, f"{folder}/key.npy")
    blocks = candidate_blocks(read_whole(fs, f"{folder}/fence.npy"), wanted)
    rows = (blocks[:, None] * FENCE_ROWS + np.arange(FENCE_ROWS)).ravel()
    rows = rows[rows < key_col.rows]
    block_keys = read_rows(fs, key_col, rows)
    match = np.isin(block_keys, wanted)
    rows, found = rows[match], block_keys[match]
    values = {c: read_rows(fs, open_column(fs, f"{folder}/{c}.npy"), rows) for c in columns}
    return found, values


def read_all(
    fs: pafs.FileSystem, folder: str, columns: list[str]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Every row of a segment (compaction)."""
    keys = read_whole(fs, f"{folder}/key.npy")
    return keys, {c: read_whole(fs, f"{folder}/{c}.npy") for c in columns}


def segment_rows(fs: pafs.FileSystem, folder: str) -> int:
    """Rows of a segment, from its key header."""
    return open_column(fs, f"{folder}/key.npy").rows
