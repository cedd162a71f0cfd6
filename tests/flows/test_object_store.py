"""Output on object storage: a real S3 API server process (moto's standalone server), runs
through the CLI into s3://, kill -9 during the commit and the re-run, the lease lock."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from flows.plan import RunOptions
from flows.runners import run_etl
from flows.server import free_port
from tests.conftest import REPO

pytestmark = pytest.mark.cluster

BUCKET = "winnow-test"
DATASETS = ("lines", "documents", "duplicates", "errors", "_state")
RUN_TIMEOUT = 240
CREDENTIALS = {  # moto accepts any; s3fs/botocore read them from the environment
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """`moto.server` on a loopback port, one bucket; yields (endpoint, s3fs filesystem)."""
    import s3fs

    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(CREDENTIALS)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        fs = s3fs.S3FileSystem(endpoint_url=endpoint)
        fs.mkdir(BUCKET)
        yield endpoint, fs
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.close()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("s3-ref")
    shutil.copytree(REPO / "seeds", root / "seeds")
    run_etl([str(root / "seeds")], str(root / "out"), options=RunOptions(batch_files=2))
    return root


def _cli(
    seeds: Path | str,
    url: str,
    endpoint: str,
    cache: Path,
    hook: str | None = None,
    workers: int = 1,
):
    from prefect.settings import get_current_settings

    env = {
        **os.environ,
        "PREFECT_API_URL": get_current_settings().api.url,
        "WINNOW_CACHE_DIR": str(cache),
        "WINNOW_LEASE_SECONDS": "4",
    }
    env.pop("WINNOW_TEST_HOOK", None)
    if hook:
        env["WINNOW_TEST_HOOK"] = hook
    cmd = [sys.executable, "-m", "flows.cli", "run", str(seeds), "--output", url, "--quiet"]
    cmd += ["--batch-files", "2", "--storage-option", f"endpoint_url={endpoint}"]
    cmd += ["--workers", str(workers)] if workers > 1 else []
    return subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT
    )


def _remote_bytes(fs, prefix: str) -> dict[str, bytes]:
    fs.invalidate_cache()
    return {
        p[len(prefix) + 1 :]: fs.cat(p)
        for name in DATASETS
        for p in sorted(fs.find(f"{prefix}/{name}"))
        if p.endswith(".parquet")
    }


def _local_bytes(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for name in DATASETS
        for p in sorted((out / name).rglob("*.parquet"))
    }


@pytest.mark.parametrize("workers", [1, 2])  # 2: the state is read in local workers
def test_run_into_s3_gives_the_local_datasets_and_pandas_reads_them(
    s3, local_run, tmp_path, workers
):
    import pandas as pd

    endpoint, fs = s3
    prefix = f"plain-{workers}"
    url = f"s3://{BUCKET}/{prefix}/"
    done = _cli(local_run / "seeds", url, endpoint, tmp_path / "cache", workers=workers)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert _remote_bytes(fs, f"{BUCKET}/{prefix}") == _local_bytes(local_run / "out")
    options = {"client_kwargs": {"endpoint_url": endpoint}}
    docs = pd.read_parquet(f"{url}documents", storage_options=options)
    assert len(docs) == len(pd.read_parquet(local_run / "out" / "documents"))
    again = _cli(local_run / "seeds", url, endpoint, tmp_path / "other-cache", workers=workers)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "skipped, already loaded: 5" in again.stdout  # state read back from S3
    fs.invalidate_cache()
    assert len(fs.glob(f"{BUCKET}/{prefix}/runs/part-*.parquet")) == 2


def test_inputs_on_s3_give_the_datasets_of_the_same_files_on_disk(s3, local_run, tmp_path):
    endpoint, fs = s3
    fs.put(str(local_run / "seeds"), f"{BUCKET}/crawl/", recursive=True)
    fs.invalidate_cache()
    url = f"s3://{BUCKET}/from-s3/"
    done = _cli(f"s3://{BUCKET}/crawl/seeds/", url, endpoint, tmp_path / "cache")
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    remote, local = _remote_bytes(fs, f"{BUCKET}/from-s3"), _local_bytes(local_run / "out")
    # same sources, so the same doc ids and rows; the inputs' checksums differ (ETags), so
    # do the run id and the rows that carry it (lines, documents, duplicates, errors)
    same = ("_state/key_counts/", "_state/hashes/", "_state/minhash")
    assert {k: v for k, v in remote.items() if k.startswith(same)} == {
        k: v for k, v in local.items() if k.startswith(same)
    }
    with_run_id = [k for k in local if k.startswith(("lines/", "documents/"))]
    with_run_id += ["duplicates/part-00001.parquet", "errors/part-00001.parquet"]
    assert sorted(k for k in remote if k.startswith(("lines/", "documents/"))) == sorted(
        with_run_id[:-2]
    )
    for rel in with_run_id:
        got = pq.read_table(io.BytesIO(remote[rel])).drop(["run_id"])
        assert got.equals(pq.read_table(local_run / "out" / rel).drop(["run_id"])), rel


@pytest.mark.parametrize(
    ("hook", "outcome"), [("commit-3=kill", "discarded"), ("manifest=kill", "completed")]
)
def test_kill_9_during_the_commit_then_the_rerun_recovers(s3, local_run, tmp_path, hook, outcome):
    from flows.storage import committed_files

    endpoint, fs = s3
    prefix = f"{BUCKET}/{outcome}"
    url = f"s3://{prefix}/"
    killed = _cli(local_run / "seeds", url, endpoint, tmp_path / "cache", hook=hook)
    assert killed.returncode == -signal.SIGKILL
    fs.invalidate_cache()
    journals = fs.glob(f"{prefix}/_staging/*/COMMIT.json")
    assert len(journals) == 1  # a half commit, journalled
    uploaded = json.loads(fs.cat(journals[0]))["files"]
    manifest_there = bool(fs.glob(f"{prefix}/runs/part-*.parquet"))
    assert manifest_there == (outcome == "completed")
    os.environ["WINNOW_STORAGE_OPTIONS"] = json.dumps({"endpoint_url": endpoint})
    try:  # what a careful reader sees mid-commit: committed runs only
        visible = committed_files(url, "documents")
    finally:
        os.environ.pop("WINNOW_STORAGE_OPTIONS")
    assert bool(visible) == manifest_there
    # the dead run's lease (WINNOW_LEASE_SECONDS=4) has run out by the time the re-run's
    # flow takes the lock (test_the_lease_lock_... checks a live lease excludes)
    time.sleep(4)
    rerun = _cli(local_run / "seeds", url, endpoint, tmp_path / "cache")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    fs.invalidate_cache()
    assert not fs.glob(f"{prefix}/_staging/*/COMMIT.json")
    remote, local = _remote_bytes(fs, prefix), _local_bytes(local_run / "out")
    assert {k: remote.get(k) for k in local} == local
    # completed: the re-run found everything loaded and committed an empty run 2
    assert all("part-00002" in k for k in set(remote) - set(local))
    n_runs = len(fs.glob(f"{prefix}/runs/part-*.parquet"))
    assert n_runs == (2 if outcome == "completed" else 1)
    assert len(uploaded) > 4


def test_the_lease_lock_excludes_renews_and_is_taken_over_once_expired(s3):
    from flows.storage import LockState, ObjectLock
    from flows.store import OutputLockedError

    _, fs = s3
    path = f"{BUCKET}/locktest/.lock"
    with ObjectLock(fs, path, lease=1.0) as held:
        time.sleep(1.6)  # longer than the lease: the heartbeat renewed it
        with pytest.raises(OutputLockedError, match="holds"):
            ObjectLock(fs, path).acquire()
        assert not held.lost.is_set()
    assert not fs.exists(path)  # released
    fs.pipe(path, LockState("dead-host:1:x", time.time() - 1).body())  # a dead holder's
    with ObjectLock(fs, path, lease=5.0) as taker:
        assert json.loads(fs.cat(path))["owner"] == taker.owner
