"""Object storage (any fsspec URL: s3://, gs://, memory://): filesystems, the lease lock, and
the output store whose commit works without rename.

An output at a URL keeps a local working copy on the flow's machine (WINNOW_CACHE_DIR,
default ~/.cache/winnow/<hash of the URL>/): the runs' staging folders and a mirror of
`_state/` and `runs/`. State files are immutable and named by run, so the mirror is kept in
step by listing (new files are downloaded, files gone remotely are dropped): a nightly run
downloads what the previous run wrote, not the history.

Commit without rename (`RemoteOutputStore.commit`):
1. the journal `_staging/<run_id>/COMMIT.json` is uploaded first (files to upload, to delete);
2. every data and state file is uploaded under its final, run-scoped name (no file of an
   earlier run is ever overwritten: names carry the run's sequence number);
3. the run's `runs/part-<run>.parquet` (the manifest) is uploaded last;
4. the files a compaction folded are deleted, then the journal.
A crash before 3 is discarded by `recover()` (every uploaded file of the journal deleted),
a crash after 3 is completed (the deletes). Readers that list a dataset folder (pandas,
DuckDB, Polars on `s3://.../documents/`) can see a run's data files during 2 (before its
manifest) and until a discard deletes them; `committed_files` lists only committed runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flows.staging import COMMIT_FILE, FINAL_DIR, STAGING_DIR, staging_root
from flows.store import DATASETS, STATE, OutputLockedError, OutputStore

STORAGE_OPTIONS_ENV = "WINNOW_STORAGE_OPTIONS"  # JSON object: fsspec options (not in Prefect)
CACHE_DIR_ENV = "WINNOW_CACHE_DIR"
LOCK_NAME = ".lock"
# A lock whose holder has not renewed it for LEASE_SECONDS may be taken over; the holder
# renews every LEASE_SECONDS / 4, so it takes 3 missed renewals in a row to lose it.
LEASE_SECONDS = 60.0
LEASE_ENV = "WINNOW_LEASE_SECONDS"  # override (tests: a killed run's lease runs out sooner)
MIRRORED = (STATE, "runs")  # what the flow reads of a remote output (state, run count)


def is_url(path: str) -> bool:
    """True for an fsspec URL other than a local file (`s3://b/k`, not `/a/b` or `file://`).

    >>> is_url("s3://bucket/out"), is_url("output"), is_url("file:///tmp/x")
    (True, False, False)
    """
    scheme, sep, _ = str(path).partition("://")
    return bool(sep) and scheme not in ("", "file", "local")


def parse_storage_options(pairs: Iterable[str]) -> dict[str, str]:
    """`KEY=VALUE` strings (repeatable `--storage-option`) as fsspec options.

    >>> parse_storage_options(["endpoint_url=http://127.0.0.1:9000", "anon=false"])
    {'endpoint_url': 'http://127.0.0.1:9000', 'anon': 'false'}
    """
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--storage-option needs KEY=VALUE, got {pair!r}")
        options[key.strip()] = value
    return options


def storage_options() -> dict:
    """The run's storage options (from the environment: credentials stay out of Prefect)."""
    raw = os.environ.get(STORAGE_OPTIONS_ENV)
    options = json.loads(raw) if raw else {}
    return {k: _typed(v) for k, v in options.items()}


def _typed(value: object) -> object:
    """'true'/'false' as booleans (fsspec options such as `anon`), else unchanged."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def filesystem(url: str):
    """(fsspec filesystem, path without scheme) of a URL, with the run's storage options;
    s3fs reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_ENDPOINT_URL itself."""
    from fsspec.core import url_to_fs

    return url_to_fs(url, **storage_options())


def cache_dir(url: str) -> Path:
    """The local working copy of a remote output."""
    base = Path(os.environ.get(CACHE_DIR_ENV) or Path.home() / ".cache" / "winnow")
    return base / hashlib.sha256(url.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class LockState:
    """What the lock object says: who holds it and until when (epoch seconds)."""

    owner: str
    expires: float

    def body(self) -> bytes:
        return json.dumps({"owner": self.owner, "expires": self.expires}).encode()


class ObjectLock:
    """A lease on OUTPUT/.lock by conditional puts: `If-None-Match: *` creates it only if
    absent, `If-Match: <etag>` renews or takes over an expired one only if unchanged since
    read. A heartbeat thread renews it; a holder that cannot renew stops committing."""

    def __init__(self, fs, path: str, lease: float | None = None) -> None:
        self.fs, self.path = fs, path
        self.lease = lease or float(os.environ.get(LEASE_ENV) or LEASE_SECONDS)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.etag: str | None = None
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _put(self, condition: dict) -> str:
        bucket, _, key = self.path.partition("/")
        body = LockState(self.owner, time.time() + self.lease).body()
        reply = self.fs.call_s3("put_object", Bucket=bucket, Key=key, Body=body, **condition)
        return reply["ETag"]

    def _read(self) -> tuple[LockState, str] | None:
        bucket, _, key = self.path.partition("/")
        try:
            reply = self.fs.call_s3("get_object", Bucket=bucket, Key=key)
        except FileNotFoundError:
            return None
        data = json.loads(_read_body(self.fs, reply))
        return LockState(data["owner"], float(data["expires"])), reply["ETag"]

    def acquire(self) -> None:
        """Take the lock, or an expired one; OutputLockedError if another run holds it."""
        try:
            self.etag = self._put({"IfNoneMatch": "*"})
        except (FileExistsError, OSError):
            held = self._read()
            if held is not None and held[0].expires > time.time():
                raise OutputLockedError(
                    f"another winnow run ({held[0].owner}) holds {self.path} until "
                    f"{datetime.fromtimestamp(held[0].expires, UTC):%H:%M:%S} UTC"
                ) from None
            condition = {"IfMatch": held[1]} if held else {"IfNoneMatch": "*"}
            try:  # expired: take it over unless someone else just did
                self.etag = self._put(condition)
            except (FileExistsError, OSError):
                raise OutputLockedError(f"another winnow run took {self.path}") from None
        self._thread = threading.Thread(target=self._heartbeat, name="winnow-lease", daemon=True)
        self._thread.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.lease / 4):
            try:
                self.etag = self._put({"IfMatch": self.etag})
            except Exception:  # changed under us, or the store is unreachable: lease lost
                self.lost.set()
                return

    def check(self) -> None:
        """Raise if the lease was lost (called before the manifest is written)."""
        if self.lost.is_set():
            raise OutputLockedError(f"lost the lease on {self.path}; the run was not committed")

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if not self.lost.is_set() and self.etag is not None:
            with contextlib.suppress(Exception):
                self.fs.rm(self.path)
        self.etag = None

    def __enter__(self) -> ObjectLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_body(fs, reply: dict) -> bytes:
    """The body of a get_object reply (s3fs: an async stream, read on its event loop)."""
    from fsspec.asyn import sync

    return sync(fs.loop, reply["Body"].read)


class RemoteOutputStore(OutputStore):
    """An output at a URL: a local working copy (`root`), the remote one (`url`)."""

    def __init__(self, url: str) -> None:
        super().__init__(cache_dir(url))
        self.url = url.rstrip("/")
        self.fs, self.rpath = filesystem(self.url)
        self._lock: ObjectLock | None = None

    def __getstate__(self) -> dict:
        """A copy for a local worker process (it reads the state mirror, never holds the run
        lock): without the lock and its lease thread, which cannot be pickled."""
        return {**self.__dict__, "_lock": None}

    @property
    def location(self) -> str:
        return self.url

    def lock(self) -> ObjectLock:
        if not hasattr(self.fs, "call_s3"):
            raise ValueError(f"{self.url}: the run lock needs S3 conditional puts (s3:// only)")
        self._lock = ObjectLock(self.fs, f"{self.rpath}/{LOCK_NAME}")
        return self._lock

    def _remote(self, rel: str) -> str:
        return f"{self.rpath}/{rel}"

    def _listing(self, folder: str) -> dict[str, int]:
        """rel path -> size of every file under a remote folder."""
        self.fs.invalidate_cache()
        try:
            found = self.fs.find(self._remote(folder), detail=True)
        except FileNotFoundError:
            return {}
        prefix = len(self.rpath) + 1
        return {p[prefix:]: int(info.get("size") or 0) for p, info in found.items()}

    def committed_runs(self) -> int:
        return sum(1 for r in self._listing("runs") if r.rsplit("/", 1)[-1].startswith("part-"))

    def sync_mirror(self) -> None:
        """Make the local `_state/` and `runs/` match the remote ones (new files only)."""
        for folder in MIRRORED:
            remote = self._listing(folder)
            local_root = self.root / folder
            local = {
                p.relative_to(self.root).as_posix(): p
                for p in (local_root.rglob("*") if local_root.exists() else [])
                if p.is_file()
            }
            for rel, path in local.items():
                if rel not in remote or path.stat().st_size != remote[rel]:
                    path.unlink()
            missing = [rel for rel in remote if not (self.root / rel).exists()]
            for rel in missing:
                (self.root / rel).parent.mkdir(parents=True, exist_ok=True)
            if missing:
                self.fs.get(
                    [self._remote(r) for r in missing], [str(self.root / r) for r in missing]
                )
            _drop_empty_dirs(local_root)

    def commit(self, run_id: str, delete: Iterable[str] = ()) -> list[str]:
        """Upload the staged run (journal, files, manifest last), then delete `delete`."""
        staging = staging_root(self.root) / run_id
        final = staging / FINAL_DIR
        rels = sorted(p.relative_to(final).as_posix() for p in final.rglob("*") if p.is_file())
        rels.sort(key=lambda r: r.startswith("runs/"))  # manifest last
        journal = {"run_id": run_id, "files": rels, "delete": sorted(delete)}
        self.fs.pipe(
            self._remote(f"{STAGING_DIR}/{run_id}/{COMMIT_FILE}"), json.dumps(journal).encode()
        )
        from flows.hooks import hook_point

        for k, rel in enumerate(rels):
            if rel.startswith("runs/") and self._lock is not None:
                self._lock.check()  # a run that lost its lease never publishes its manifest
            self.fs.put_file(str(final / rel), self._remote(rel))
            hook_point(f"commit-{k}")
        hook_point("manifest")
        self._finish(journal)
        self._adopt(final, rels)
        return rels

    def _finish(self, journal: dict) -> None:
        """After the manifest: delete what compaction folded, then the journal."""
        for rel in journal.get("delete", []):
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm(self._remote(rel), recursive=True)
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(self._remote(f"{STAGING_DIR}/{journal['run_id']}"), recursive=True)

    def _adopt(self, final: Path, rels: list[str]) -> None:
        """Move the committed state and manifest into the local mirror; drop the staging."""
        import shutil

        for rel in rels:
            if rel.split("/", 1)[0] in MIRRORED:
                (self.root / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(final / rel, self.root / rel)
        shutil.rmtree(final.parent, ignore_errors=True)
        self.sync_mirror()

    def recover(self, keep: Iterable[str] | None = None) -> list[str]:
        """Complete (manifest there) or discard (not there) every half commit; then drop
        local staging of other runs except `keep` and bring the mirror up to date."""
        done = []
        self.fs.invalidate_cache()
        for path in self.fs.glob(self._remote(f"{STAGING_DIR}/*/{COMMIT_FILE}")):
            journal = json.loads(self.fs.cat(path))
            manifest = [r for r in journal["files"] if r.startswith("runs/")]
            if manifest and self.fs.exists(self._remote(manifest[-1])):
                self._finish(journal)
            else:
                for rel in journal["files"]:
                    with contextlib.suppress(FileNotFoundError):
                        self.fs.rm(self._remote(rel))
                with contextlib.suppress(FileNotFoundError):
                    self.fs.rm(self._remote(f"{STAGING_DIR}/{journal['run_id']}"), recursive=True)
            done.append(journal["run_id"])
        local = staging_root(self.root)
        if keep is not None and local.exists():
            import shutil

            for staging in local.iterdir():
                if staging.name not in set(keep):
                    shutil.rmtree(staging, ignore_errors=True)
        self.sync_mirror()
        return done

    def reset(self) -> None:
        """Delete every dataset and all state, remote and local (`--fresh`)."""
        for name in (*DATASETS, STATE, STAGING_DIR):
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm(self._remote(name), recursive=True)
        super().reset()


def committed_files(url: str, dataset: str) -> list[str]:
    """URLs of a dataset's files of committed runs only (a run's files are committed once
    its `runs/part-<run>` manifest exists): what a reader should open mid-commit."""
    fs, root = filesystem(url)
    runs = {p.rsplit("part-", 1)[1][:5] for p in fs.glob(f"{root}/runs/part-*.parquet")}
    files = fs.find(f"{root}/{dataset}")
    protocol = url.split("://", 1)[0]
    return [f"{protocol}://{p}" for p in files if _run_of(p) in runs]


def _run_of(path: str) -> str:
    """The 5-digit run sequence number in a part file name (`part-<run>[-<batch>].parquet`)."""
    return path.rsplit("/", 1)[-1].removeprefix("part-")[:5]


def _drop_empty_dirs(root: Path) -> None:
    if not root.exists():
        return
    for d in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
        with contextlib.suppress(OSError):
            d.rmdir()


def open_store(output: str) -> OutputStore:
    """The store of an output folder or URL."""
    return RemoteOutputStore(output) if is_url(output) else OutputStore(output)


# --- inputs at URLs ------------------------------------------------------------------------


def discover_remote(url: str) -> list:
    """The supported files under an input URL, as `InputFile`s (sorted by source).

    `source` is the path relative to the URL's parent (as for a local folder), `path` the
    file's URL, `checksum` "etag:<ETag>" (a content version the store keeps; no download).
    """
    from flows.readers import SUPPORTED, InputFile, file_kind

    fs, root = filesystem(url)
    root = root.rstrip("/")
    protocol = url.split("://", 1)[0]
    infos = fs.find(root, detail=True) if fs.isdir(root) else {root: fs.info(root)}
    parent = root.rsplit("/", 1)[0] if fs.isdir(root) else root.rsplit("/", 1)[0]
    files = []
    for path, info in sorted(infos.items()):
        if file_kind(path)[0] not in SUPPORTED:
            continue
        etag = str(info.get("ETag") or info.get("etag") or info.get("md5") or "").strip('"')
        source = path[len(parent) + 1 :]
        files.append(InputFile(source, f"{protocol}://{path}", int(info["size"]), f"etag:{etag}"))
    return files


def discover_all(inputs: list[str], *, exclude=()):
    """`flows.readers.discover_inputs` for local paths (never under `exclude`: the output)
    plus `discover_remote` for URLs."""
    from flows.readers import discover_inputs

    local = [p for p in inputs if not is_url(p)]
    files, errors = discover_inputs(local, exclude=exclude) if local else ([], [])
    remote = [f for url in inputs if is_url(url) for f in discover_remote(url)]
    if not remote:
        return files, errors
    merged = {f.source: f for f in [*files, *remote]}
    return [merged[k] for k in sorted(merged)], errors


@contextlib.contextmanager
def localized(item):
    """The input file itself if local, else a temporary local copy (the readers read paths);
    the copy keeps the file name (its suffixes pick the reader) and is deleted after."""
    import dataclasses
    import tempfile

    if not is_url(item.path):
        yield item
        return
    fs, path = filesystem(item.path)
    with tempfile.TemporaryDirectory(prefix="winnow-input-") as tmp:
        local = Path(tmp) / path.rsplit("/", 1)[-1]
        fs.get_file(path, str(local))
        yield dataclasses.replace(item, path=str(local))
