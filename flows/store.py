"""Output folder: dataset layout, atomic Parquet writes, the run lock, commit and state.

Layout of OUTPUT/ (folders starting with `_` or `.` are invisible to Parquet readers):

    lines/part-<run>-<batch>.parquet          documents/lang=<xx>/part-<run>.parquet
    duplicates/part-<run>.parquet             errors/part-<run>.parquet
    runs/part-<run>.parquet                   (written last: the run's commit manifest)
    _state/<table>/part-<run>.parquet         dedup and resume state, one part per run
    _state/<table>/seg-<first>-<last>/        compacted runs (flows/compaction.py, segments.py)
    _staging/<run_id>/                        a run in progress; invisible until commit
    _staging/<run_id>/flow_run.json           its Prefect flow run (marked Crashed if killed)
    _staging/<run_id>/COMMIT.json             the commit journal: files to move, then delete

An output at a URL (s3://...) has the same layout; flows/storage.py commits it without rename.
    .lock                                     held by the run writing here
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from flows.hooks import hook_point
from flows.staging import COMMIT_FILE, FINAL_DIR, STAGING_DIR, staging_root

if TYPE_CHECKING:  # pyarrow and numpy are imported where a file is written or read: the
    # flow process of a run with workers opens, locks and plans its output without them
    import numpy as np
    import pyarrow as pa

    from transforms.config import PipelineConfig

DATASETS = ("lines", "documents", "duplicates", "errors", "runs")
STATE = "_state"


# Format of `_state/`: 1 = before the ingestion ledger (still readable), 2 = with it. An
# output written by a newer winnow (a higher format) is refused, never half-understood.
STATE_FORMAT = 2
READABLE_FORMATS = frozenset({1, 2})
FORMAT_FILE = "FORMAT.json"


class OutputError(RuntimeError):
    """The output folder cannot be used (one-line message; the CLI exits 2)."""


class OutputLockedError(OutputError):
    """Another run holds the output folder."""


def write_parquet(table: pa.Table, path: Path) -> Path:
    """Write a zstd Parquet file atomically (temporary file in the same folder, then rename)."""
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp, compression="zstd", write_statistics=True)
    fsync_file(tmp)
    os.replace(tmp, path)
    return path


def write_json(obj: object, path: Path) -> Path:
    """Write JSON atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True))
    fsync_file(tmp)
    os.replace(tmp, path)
    return path


def write_npy(array: np.ndarray, path: Path) -> Path:
    """Write a NumPy array atomically (a staged intermediate, so no fsync)."""
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        np.save(fh, array)
    tmp.replace(path)
    return path


def fsync_file(path: Path) -> None:
    """fsync a file or a folder (a folder: so a rename in it is durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_table(path: Path, schema: pa.Schema | None = None) -> pa.Table:
    """All Parquet files under a folder (sorted, hidden files skipped) as one table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted(
        p
        for p in path.rglob("*.parquet")
        if not any(s.startswith((".", "_")) for s in p.relative_to(path).parts)
    )
    if not files:
        return schema.empty_table() if schema is not None else pa.table({})
    return pa.concat_tables(pq.read_table(f, schema=schema) for f in files)


def state_name(config: PipelineConfig) -> str:
    """State folder of one LSH layout (a different layout starts its own state)."""
    return f"minhash-{config.lsh_bands}x{config.lsh_rows}-w{config.shingle_words}"


def other_lsh_state(output: Path, config: PipelineConfig) -> str | None:
    """Name of a MinHash state folder in `output` built with other LSH settings, if any.

    A run with other settings would start its own state and silently miss near duplicates of
    everything loaded before, so the flow refuses it (unless `fresh` or near-dup is off).
    """
    folders = sorted(p.name for p in (output / STATE).glob("minhash-*") if p.is_dir())
    return next((name for name in folders if name != state_name(config)), None)


def lsh_mismatch_message(output: Path | str, other: str) -> str:
    """The one-line error for `other_lsh_state` (CLI and the flow)."""
    return (
        f"{output} holds a near-duplicate index built with other LSH settings ({other}); "
        "use the same settings, or --fresh to start over"
    )


def _why(exc: OSError) -> str:
    """A short reason for an OSError on the output path."""
    if exc.errno == errno.ELOOP:
        return f"{exc.filename} is a symbolic link"
    return f"{exc.strerror or exc} ({exc.filename})" if exc.filename else str(exc)


class RunLock:
    """An exclusive, non-blocking lock on OUTPUT/.lock (released when the process dies)."""

    def __init__(self, root: Path) -> None:
        self.path = root / ".lock"
        self.fd: int | None = None

    def __enter__(self) -> RunLock:
        try:  # O_NOFOLLOW: a .lock that is a symlink is refused, its target never written
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise OutputError(f"cannot use {self.path.parent} as output: {_why(exc)}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise OutputLockedError(
                f"another winnow run (pid {holder}) is writing to {self.path.parent}; "
                "wait for it to finish or use another --output"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


class OutputStore:
    """Paths and the commit protocol of one output folder."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @property
    def location(self) -> str:
        """Where the datasets are, as a user names it (a URL for object storage)."""
        return str(self.root.resolve())

    def lock(self) -> RunLock:
        """The lock a run holds while it writes here."""
        return RunLock(self.root)

    def state(self, table: str) -> Path:
        return self.root / STATE / table

    def has_parts(self, dataset: str) -> bool:
        """True when a committed dataset folder holds at least one Parquet file."""
        folder = self.root / dataset
        return folder.is_dir() and next(folder.rglob("*.parquet"), None) is not None

    def state_format(self) -> int | None:
        """Format of the output's `_state/` (1 when it predates FORMAT.json; None if empty)."""
        path = self.root / STATE / FORMAT_FILE
        if path.is_file():
            try:
                return int(json.loads(path.read_text())["format"])
            except (ValueError, KeyError, TypeError) as exc:
                raise OutputError(f"{path} is not a winnow state format file ({exc})") from None
        return 1 if (self.root / STATE).is_dir() else None

    def check_format(self) -> None:
        """Refuse an output written by an incompatible (newer) winnow."""
        found = self.state_format()
        if found is not None and found not in READABLE_FORMATS:
            raise OutputError(
                f"{self.root} was written by another winnow version (state format {found}; "
                f"this version reads {sorted(READABLE_FORMATS)}); use another --output"
            )

    def committed_runs(self) -> int:
        runs = self.root / "runs"
        return len(list(runs.glob("part-*.parquet"))) if runs.exists() else 0

    def commit(self, run_id: str, delete: Iterable[str] = ()) -> list[str]:
        """Make a staged run visible: journal the moves, then rename each file into place,
        then delete `delete` (state parts and segments a compaction folded into new ones).

        The `runs` manifest moves last. Re-entrant: a crash in the middle is finished by
        `recover()` on the next start, so a run is either invisible or complete.
        """
        staging = staging_root(self.root) / run_id
        final = staging / FINAL_DIR
        rels = sorted(p.relative_to(final).as_posix() for p in final.rglob("*") if p.is_file())
        rels.sort(key=lambda r: r.startswith("runs/"))  # manifest last
        journal = {"run_id": run_id, "files": rels, "delete": sorted(delete)}
        write_json(journal, staging / COMMIT_FILE)
        return self._apply(run_id)

    def _apply(self, run_id: str) -> list[str]:
        staging = staging_root(self.root) / run_id
        journal = json.loads((staging / COMMIT_FILE).read_text())
        rels = journal["files"]
        for k, rel in enumerate(rels):
            src, dst = staging / FINAL_DIR / rel, self.root / rel
            if src.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dst)
                fsync_file(dst.parent)
            hook_point(f"commit-{k}")
        for rel in journal.get("delete", []):  # journals before compaction have none
            path = self.root / rel
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        hook_point("deleted")
        fsync_file(self.root)
        hook_point("committed")
        shutil.rmtree(staging, ignore_errors=True)
        return rels

    def recover(self, keep: Iterable[str] | None = None) -> list[str]:
        """Finish journalled commits; then drop staging of other runs except `keep` (resume).

        Call it with no `keep` BEFORE reading state or counting runs (a half-moved commit
        must be rolled forward first), and with `keep=[run_id]` once the run id is known.
        """
        done: list[str] = []
        root = staging_root(self.root)
        if not root.exists():
            return done
        for staging in sorted(root.iterdir()):
            if (staging / COMMIT_FILE).exists():
                self._apply(staging.name)
                done.append(staging.name)
            elif keep is not None and staging.name not in set(keep):
                shutil.rmtree(staging, ignore_errors=True)
        return done

    def reset(self) -> None:
        """Delete every dataset and all state (`--fresh`)."""
        for name in (*DATASETS, STATE, STAGING_DIR):
            shutil.rmtree(self.root / name, ignore_errors=True)
