"""The Prefect API server of a `winnow run` that has no configured server (PREFECT_API_URL).

Prefect's own answer, a temporary server started and stopped by every run, cost a one-document
run ~3.5 s of server start-up (imports, app, migration check), ~1.5 s importing the server
modules into the run itself, and 7-10 s of migrations whenever PREFECT_HOME had no database
yet (every test session, every fresh home). `api_server()` picks one of three modes (env
WINNOW_SERVER):

- ``reuse`` (default): a local server that winnow starts once, detached, and that later runs
  reuse. It is owned and discoverable: ``~/.cache/winnow/server-<key>.json`` (pid, process
  start time, port, Prefect version, database) where the key hashes the Prefect version, the
  database URL and the interpreter, so a run only ever talks to a server of its own version and
  database (checked again over HTTP: ``/health`` and ``/admin/version``). A run holds a lease
  (``server-<key>.clients/<pid>-<start>``) while it is alive; the server stops itself once no
  lease belongs to a live process and no request came for WINNOW_SERVER_IDLE_SECONDS (default
  DEFAULT_IDLE_SECONDS). A run killed with ``kill -9`` leaves a dead lease behind: the server
  removes it and, when no live run holds a lease any more, stops within about a second.
  ``python -m flows.server stop`` stops it now.
- ``private``: the same lighter server (ephemeral services, no UI, pre-migrated database) for
  this run only, a child that exits with the run (it watches the run's pid, so also after
  ``kill -9``). The test suite uses it (tests/flows/conftest.py).
- ``temporary``: Prefect's own temporary server per run (SubprocessASGIServer), the old path,
  kept for comparison (benchmarks/bench_startup.py) and as a fallback.

Every mode records flow and task runs in the database of the current Prefect settings (by
default ``$PREFECT_HOME/prefect.db``): `prefect server start` on the same home shows them in
the UI afterwards. A database that does not exist yet is copied from a migrated empty template
kept per Prefect version (``~/.cache/winnow/prefect-<version>-empty.db``, made once).

    python -m flows.server status | stop     # the reusable server(s) of this user
    python -m flows.server serve ...         # what the modes above start (internal)
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from flows.reaper import PARENT_CHECK_SECONDS, _same_process, _stat

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

MODE_ENV = "WINNOW_SERVER"
MODES = ("reuse", "private", "temporary")
IDLE_ENV = "WINNOW_SERVER_IDLE_SECONDS"
# A reusable server with no live run and no request for this long stops itself (~270 MB RSS).
DEFAULT_IDLE_SECONDS = 600
CACHE_ENV = "WINNOW_CACHE_DIR"  # server files; default $XDG_CACHE_HOME/winnow or ~/.cache/winnow
# Seconds to wait for a server to answer /health (a first start also migrates a template).
STARTUP_TIMEOUT_SECONDS = 120
# How often a starting run polls /health, and how often the server checks leases and idleness.
POLL_SECONDS = 0.05
# Per request: a fresh server's first API answer takes ~1.4 s, several times that when loaded.
HTTP_TIMEOUT_SECONDS = 30.0
IDLE_CHECK_SECONDS = 1.0
# The command line of a server started here contains this (status/stop check it, no pid reuse).
SERVE_MARK = "flows.server serve"
# Environment of the server process: ephemeral services only (task-run recorder, event
# persister, triggers), no UI (as Prefect's temporary server).
SERVER_ENV = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1"}


def user_cache_dir() -> Path:
    """Per-user cache folder: the database templates (also when WINNOW_CACHE_DIR is set)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "winnow"


def cache_dir() -> Path:
    """Folder of the reusable servers' state, lock, lease and log files."""
    return Path(os.environ[CACHE_ENV]) if os.environ.get(CACHE_ENV) else user_cache_dir()


def server_mode() -> str:
    """The mode from WINNOW_SERVER (reuse, private or temporary)."""
    mode = os.environ.get(MODE_ENV, "reuse").strip().lower() or "reuse"
    if mode not in MODES:
        raise ValueError(f"{MODE_ENV} must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


def idle_seconds() -> float:
    """Idle timeout of a reusable server started by this process."""
    return float(os.environ.get(IDLE_ENV, DEFAULT_IDLE_SECONDS))


def prefect_version() -> str:
    """Installed Prefect version (without importing prefect)."""
    from importlib.metadata import version

    return version("prefect")


def configured_api_url() -> str | None:
    """PREFECT_API_URL of the current settings (environment or profile), None when unset."""
    from prefect.settings import get_current_settings

    return get_current_settings().api.url


def database_url() -> str:
    """The API database of the current settings (where every mode records runs)."""
    from prefect.settings import get_current_settings

    url = get_current_settings().server.database.connection_url
    return url.get_secret_value() if url is not None else ""


def sqlite_path(url: str) -> Path | None:
    """File of a sqlite database URL, None for other databases or in-memory sqlite."""
    if not url.startswith("sqlite") or ":///" not in url:
        return None
    path = url.split(":///", 1)[1].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def server_key(db_url: str) -> str:
    """12 hex digits naming the reusable server of this Prefect version, database, Python and
    checkout."""
    blob = json.dumps([prefect_version(), db_url, sys.executable, __file__]).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


@dataclasses.dataclass(frozen=True)
class ServerInfo:
    """What `server-<key>.json` says about a reusable server."""

    pid: int
    start: str  # process start time in clock ticks (/proc/<pid>/stat): no pid reuse
    port: int
    prefect_version: str
    database: str
    idle_seconds: float

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"


def _paths(key: str) -> tuple[Path, Path, Path, Path]:
    """State file, lock file, lease folder and log file of the server `key`."""
    root = cache_dir()
    return (
        root / f"server-{key}.json",
        root / f"server-{key}.lock",
        root / f"server-{key}.clients",
        root / f"server-{key}.log",
    )


def read_info(path: Path) -> ServerInfo | None:
    """The server a state file names, None when missing or unreadable."""
    try:
        return ServerInfo(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def is_our_server(pid: int, start: str) -> bool:
    """True while `pid` is the same `flows.server serve` process that started at `start`."""
    if not _same_process(pid, start):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\x00", b" ")
    except OSError:
        return False
    return SERVE_MARK.encode() in cmdline


def healthy(api_url: str, version: str, timeout: float = HTTP_TIMEOUT_SECONDS) -> bool:
    """The server at `api_url` answers /health and runs Prefect `version`."""
    import httpx

    try:
        with httpx.Client(timeout=timeout) as client:
            if client.get(f"{api_url}/health").status_code != 200:
                return False
            return client.get(f"{api_url}/admin/version").json() == version
    except (httpx.HTTPError, ValueError):
        return False


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock (flock) on `path`: one run at a time checks or starts the server."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _server_environ(db_url: str) -> dict[str, str]:
    """Environment of a server process: this run's Prefect settings, ephemeral, no API URL."""
    from prefect.settings import get_current_settings

    env = {**os.environ, **get_current_settings().to_environment_variables(exclude_unset=True)}
    env.pop("PREFECT_API_URL", None)
    env.pop("WINNOW_TEST_HOOK", None)  # a reusable server outlives the run that started it
    env.update(SERVER_ENV)
    env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = db_url
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH")) if p
    )
    return env


def _spawn(args: list[str], env: dict[str, str], log: Path, *, detach: bool) -> subprocess.Popen:
    """Start `python -m flows.server serve ARGS` with its output in `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "flows.server", "serve", *args],
            env=env,
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=detach,  # a detached server survives Ctrl-C of the run
        )


def _live_reusable(key: str) -> ServerInfo | None:
    """The reusable server `key` if its process still runs (it may still be starting)."""
    state = _paths(key)[0]
    info = read_info(state)
    if info is None or not is_our_server(info.pid, info.start):
        return None
    return info


def _launch_reusable(key: str, db_url: str) -> ServerInfo:
    """Start the detached reusable server `key` and write its state file (under the lock)."""
    state, _, leases, log = _paths(key)
    port = free_port()
    idle = idle_seconds()
    args = ["--port", str(port), "--state", str(state), "--idle", str(idle)]
    proc = _spawn(args, _server_environ(db_url), log, detach=True)
    st = _stat(proc.pid)
    info = ServerInfo(
        pid=proc.pid,
        start=st[1] if st else "",
        port=port,
        prefect_version=prefect_version(),
        database=db_url,
        idle_seconds=idle,
    )
    leases.mkdir(parents=True, exist_ok=True)
    tmp = state.with_name(f".{state.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(dataclasses.asdict(info)))
    os.replace(tmp, state)
    return info


def start_early() -> None:
    """Start the reusable server now if a run will need it: call before slow imports, so the
    server comes up while the run imports and plans (no-op with a configured server)."""
    with contextlib.suppress(Exception):  # api_server() will report any real problem
        if server_mode() != "reuse" or configured_api_url():
            return
        db_url = database_url()
        key = server_key(db_url)
        with _locked(_paths(key)[1]):
            if _live_reusable(key) is None:
                _launch_reusable(key, db_url)


def _wait_healthy(info: ServerInfo, proc: subprocess.Popen | None = None) -> bool:
    """Wait until the server answers; False when its process died first."""
    import httpx

    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    with httpx.Client(timeout=HTTP_TIMEOUT_SECONDS) as client:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                return False
            if proc is None and not is_our_server(info.pid, info.start):
                return False
            with contextlib.suppress(httpx.HTTPError):
                if client.get(f"{info.api_url}/health").status_code == 200:
                    return healthy(info.api_url, info.prefect_version)
            time.sleep(POLL_SECONDS)
    raise RuntimeError(f"winnow: the Prefect server on port {info.port} did not start in time")


@contextlib.contextmanager
def reusable_server() -> Iterator[ServerInfo]:
    """The reusable server of the current settings, leased to this process while inside:
    reused when alive, healthy and of this Prefect version, else (re)started.

    The lease is taken under the server's lock, and the server decides to stop only under the
    same lock when no live lease is left, so a server never stops under a run that chose it.
    """
    db_url = database_url()
    key = server_key(db_url)
    state, lock, leases, log = _paths(key)
    for _ in range(3):  # a server that died while starting (port taken) is started again
        with _locked(lock):
            info = _live_reusable(key)
            if info is not None and info.prefect_version != prefect_version():
                stop_server(info)
                info = None
            if info is None:
                info = _launch_reusable(key, db_url)
            held = lease(leases)
            held.__enter__()
        try:
            if _wait_healthy(info):
                yield info
                return
        finally:
            held.__exit__(None, None, None)
        with _locked(lock), contextlib.suppress(OSError):
            if read_info(state) == info:
                state.unlink()
    raise RuntimeError(f"winnow: could not start a Prefect server (see {log})")


@contextlib.contextmanager
def lease(folder: Path) -> Iterator[Path]:
    """Mark this process as a live client of the reusable server of `folder` while inside."""
    st = _stat(os.getpid())
    path = folder / f"{os.getpid()}-{st[1] if st else 0}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


def lease_counts(folder: Path) -> tuple[int, int]:
    """(leases in `folder` held by live processes, dead ones); dead ones are removed (a run
    that ends normally removes its own lease, so a dead one is a run killed with kill -9)."""
    live = dead = 0
    with contextlib.suppress(OSError):
        for entry in folder.iterdir():
            pid, _, start = entry.name.partition("-")
            if pid.isdigit() and _same_process(int(pid), start):
                live += 1
            else:
                dead += 1
                with contextlib.suppress(OSError):
                    entry.unlink()
    return live, dead


def live_leases(folder: Path) -> int:
    """Number of leases in `folder` held by live processes (dead ones are removed)."""
    return lease_counts(folder)[0]


def stop_server(info: ServerInfo, timeout: float = 10.0) -> bool:
    """SIGTERM a reusable server (verified by pid, start time and command line), wait for it."""
    if not is_our_server(info.pid, info.start):
        return False
    with contextlib.suppress(OSError):
        os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while is_our_server(info.pid, info.start) and time.monotonic() < deadline:
        time.sleep(0.05)
    if is_our_server(info.pid, info.start):
        with contextlib.suppress(OSError):
            os.kill(info.pid, signal.SIGKILL)
    return True


def reusable_servers() -> list[tuple[Path, ServerInfo]]:
    """The reusable servers of this user that are alive (stale state files are removed)."""
    found = []
    for state in sorted(cache_dir().glob("server-*.json")):
        info = read_info(state)
        if info is not None and is_our_server(info.pid, info.start):
            found.append((state, info))
        else:
            with contextlib.suppress(OSError):
                state.unlink()
    return found


@contextlib.contextmanager
def _exported(url: str) -> Iterator[str]:
    """PREFECT_API_URL = `url` for this process (settings) and its children (environment)."""
    import prefect.context
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # Threads that do not inherit this context (they see Prefect's process-global settings)
    # would otherwise find no API URL and start Prefect's temporary server after all; Prefect's
    # own test harness sets the global settings the same way.
    global_settings = getattr(prefect.context, "_temporary_global_settings_context", None)
    previous = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = url
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(temporary_settings({PREFECT_API_URL: url}))
            if global_settings is not None:
                stack.enter_context(global_settings(prefect.context.get_settings_context()))
            yield url
    finally:
        # Drain buffered run logs while the server still listens (else exit waits on retries).
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=30)
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous


@contextlib.contextmanager
def private_server() -> Iterator[str]:
    """A lighter server for this process only (pre-migrated database); yields its API URL and
    stops it on exit. It also exits by itself once this process is gone (kill -9)."""
    db_url = database_url()
    log = Path(tempfile.mkdtemp(prefix="winnow-server-")) / "server.log"
    for _ in range(3):
        port = free_port()
        args = ["--port", str(port), "--parent", str(os.getpid())]
        proc = _spawn(args, _server_environ(db_url), log, detach=False)
        info = ServerInfo(proc.pid, "", port, prefect_version(), db_url, 0)
        if _wait_healthy(info, proc):
            break
        proc.kill()  # died, or answers with another Prefect version
        proc.wait()
    else:
        raise RuntimeError(f"winnow: could not start a Prefect server: {log.read_text()[-2000:]}")
    try:
        with _exported(info.api_url) as url:
            yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(log.parent, ignore_errors=True)


@contextlib.contextmanager
def temporary_server() -> Iterator[str]:
    """Prefect's own temporary server for this run (the old path: ~3.5 s more per run)."""
    from prefect.server.api.server import SubprocessASGIServer

    from flows.reaper import start_reaper

    reaper = start_reaper()  # stops this server if the run is kill -9ed (Prefect would not)
    try:
        server = SubprocessASGIServer()
        server.start(timeout=STARTUP_TIMEOUT_SECONDS)
        try:
            with _exported(server.api_url) as url:
                yield url
        finally:
            server.stop()
    finally:
        if reaper is not None:
            reaper.terminate()
            reaper.wait()


@contextlib.contextmanager
def api_server() -> Iterator[str]:
    """Make sure PREFECT_API_URL points at a running server and is exported to child processes
    (local worker processes and Dask workers report to the same server); yields its API URL.

    Uses the configured server if there is one, else the mode of WINNOW_SERVER (module doc).
    """
    url = configured_api_url()
    if url:
        previous = os.environ.get("PREFECT_API_URL")
        os.environ["PREFECT_API_URL"] = url
        try:
            yield url
        finally:
            if previous is None:
                os.environ.pop("PREFECT_API_URL", None)
        return
    mode = server_mode()
    if mode == "temporary":
        with temporary_server() as url:
            yield url
        return
    if mode == "private":
        with private_server() as url:
            yield url
        return
    with reusable_server() as info, _exported(info.api_url) as url:
        yield url


# ---------------------------------------------------------------- the server process itself


def seed_database(db_url: str) -> None:
    """Copy the migrated empty template to a sqlite database that does not exist yet (making
    the template once per Prefect version: a fresh database otherwise migrates for 7-10 s)."""
    path = sqlite_path(db_url)
    if path is None or path.exists():
        return
    template = user_cache_dir() / f"prefect-{prefect_version()}-empty.db"
    if not template.exists():
        with _locked(template.with_suffix(".lock")):
            if not template.exists():
                _make_template(template)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    shutil.copyfile(template, tmp)
    with contextlib.suppress(FileExistsError):  # another server seeded it meanwhile
        os.link(tmp, path)
    tmp.unlink()


def _make_template(template: Path) -> None:
    """Migrate a new database in a child process, then write a clean copy (sqlite backup,
    which includes pages still in the write-ahead log) to `template`."""
    import sqlite3

    with tempfile.TemporaryDirectory(dir=template.parent) as tmp:
        db = Path(tmp) / "prefect.db"
        env = {**os.environ, "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{db}"}
        subprocess.run([sys.executable, "-m", "flows.server", "migrate"], env=env, check=True)
        copy = Path(tmp) / "copy.db"
        src, dst = sqlite3.connect(db), sqlite3.connect(copy)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        os.replace(copy, template)


def _migrate() -> None:
    """Create the database of PREFECT_SERVER_DATABASE_CONNECTION_URL (all migrations)."""
    import asyncio

    from prefect.server.database import provide_database_interface

    asyncio.run(provide_database_interface().create_db())


def _watch(server, *, parent: int | None, state: Path | None, idle: float, last: list) -> None:
    """Stop the uvicorn `server` when `parent` is gone, or when the state file no longer names
    this process, or after `idle` seconds without a live lease or a request, or at once when
    the run that held the last lease was killed (its lease outlived it): nothing a killed run
    started outlives it, and no watcher process per run is needed for that."""
    parent_start = (_stat(parent) or (0, ""))[1] if parent else ""
    me = (_stat(os.getpid()) or (0, ""))[1]
    named = False  # the launcher writes the state file just after starting this process
    while not server.should_exit:
        time.sleep(PARENT_CHECK_SECONDS if parent else IDLE_CHECK_SECONDS)
        if parent and not _same_process(parent, parent_start):
            break
        if state is None:
            continue
        info = read_info(state)
        ours = info is not None and (info.pid, info.start) == (os.getpid(), me)
        named = named or ours
        if named and not ours:
            break  # superseded or stopped
        with _locked(state.with_suffix(".lock")):  # runs take their lease under this lock
            live, killed = lease_counts(state.with_suffix(".clients"))
            if live:
                last[0] = time.monotonic()
                continue
            if not (named and killed) and time.monotonic() - last[0] <= idle:
                continue
            if ours:
                with contextlib.suppress(OSError):
                    state.unlink()  # from now on runs start a new server
            break
    server.should_exit = True


def serve(port: int, *, parent: int | None, state: Path | None, idle: float) -> None:
    """Run Prefect's API (ephemeral services, no UI) on 127.0.0.1:`port` until told to stop."""
    seed_database(os.environ.get("PREFECT_SERVER_DATABASE_CONNECTION_URL", ""))
    import uvicorn
    from prefect.server.api.server import create_app

    app = create_app(final=True)
    last = [time.monotonic()]  # time of the latest request or live lease

    async def tracked(scope, receive, send) -> None:
        if scope["type"] == "http":
            last[0] = time.monotonic()
        await app(scope, receive, send)

    config = uvicorn.Config(tracked, host="127.0.0.1", port=port, log_level="error", lifespan="on")
    server = uvicorn.Server(config)
    kwargs = {"parent": parent, "state": state, "idle": idle, "last": last}
    threading.Thread(target=_watch, args=(server,), kwargs=kwargs, daemon=True).start()
    server.run()


def main(argv: list[str] | None = None) -> int:
    """`python -m flows.server status|stop|serve|migrate`."""
    parser = argparse.ArgumentParser(prog="python -m flows.server", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="list this user's reusable winnow Prefect servers")
    sub.add_parser("stop", help="stop them")
    sub.add_parser("migrate", help="(internal) migrate PREFECT_SERVER_DATABASE_CONNECTION_URL")
    srv = sub.add_parser("serve", help="(internal) run a server")
    srv.add_argument("--port", type=int, required=True)
    srv.add_argument("--parent", type=int, default=None, help="exit when this pid is gone")
    srv.add_argument("--state", type=Path, default=None, help="state file of a reusable server")
    srv.add_argument("--idle", type=float, default=DEFAULT_IDLE_SECONDS)
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.port, parent=args.parent, state=args.state, idle=args.idle)
    elif args.command == "migrate":
        _migrate()
    elif args.command == "status":
        for state, info in reusable_servers():
            print(f"{info.api_url} pid {info.pid} prefect {info.prefect_version} ({state})")
    else:
        for _, info in reusable_servers():
            stop_server(info)
            print(f"stopped {info.api_url} (pid {info.pid})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
