"""Stop the temporary Prefect server of `winnow run` when the run is killed with `kill -9`.

Prefect starts its temporary server (uvicorn) as a child process of the run and stops it on
a normal exit, Ctrl-C or SIGTERM; after SIGKILL the server kept running as an orphan
(~270 MB each). `start_reaper` starts a small watcher process (own session, standard library
only) that notes the run's server children every PARENT_CHECK_SECONDS and, once the run's
process is gone, terminates the servers it noted. Only runs on Prefect's temporary server
(WINNOW_SERVER=temporary) start one: winnow's own servers (flows/server.py) stop themselves
after a killed run (the reusable one when the killed run's lease was the last, the private
one with the run's pid). Linux only (reads /proc); elsewhere it does nothing.

    python -m flows.reaper PID   # what start_reaper runs
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# How often a watcher checks that the process it watches is alive: this module's watcher, and
# each local worker process watching its flow process (flows/etl.py).
PARENT_CHECK_SECONDS = 1.0
# A temporary Prefect server is a uvicorn process running this app factory.
SERVER_MARK = b"prefect.server.api.server:create_app"
# SIGTERM first; SIGKILL for a server still running this long after.
TERM_GRACE_SECONDS = 5.0

PROC = Path("/proc")


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, start time in clock ticks) of a process, None when it is gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "
    return int(fields[1]), fields[19]


def server_children(parent: int) -> dict[int, str]:
    """Prefect server processes whose parent is `parent`: pid -> start time."""
    found: dict[int, str] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        st = _stat(pid)
        if st is None or st[0] != parent:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if SERVER_MARK in cmdline:
            found[pid] = st[1]
    return found


def _same_process(pid: int, start: str) -> bool:
    """True while `pid` is still the process that started at `start` (no pid reuse)."""
    st = _stat(pid)
    return st is not None and st[1] == start


def stop_servers(servers: dict[int, str], *, grace: float = TERM_GRACE_SECONDS) -> None:
    """SIGTERM the noted servers that still run, SIGKILL those alive after `grace` seconds."""
    alive = {pid: start for pid, start in servers.items() if _same_process(pid, start)}
    for pid in alive:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = {pid: start for pid, start in alive.items() if _same_process(pid, start)}
    for pid in alive:
        _signal(pid, signal.SIGKILL)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(OSError):  # already gone
        os.kill(pid, sig)


def watch(parent: int, *, period: float = PARENT_CHECK_SECONDS) -> None:
    """Note `parent`'s server children until `parent` is gone, then stop them."""
    start = (_stat(parent) or (0, ""))[1]
    servers: dict[int, str] = {}
    while _same_process(parent, start):
        servers.update(server_children(parent))
        time.sleep(period)
    stop_servers(servers)


def start_reaper() -> subprocess.Popen | None:
    """Start the watcher for this process (Linux); None where /proc is not available."""
    if not sys.platform.startswith("linux") or not PROC.is_dir():
        return None
    return subprocess.Popen(
        [sys.executable, "-m", "flows.reaper", str(os.getpid())],
        start_new_session=True,  # Ctrl-C and a process-group kill leave it to clean up
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


if __name__ == "__main__":
    watch(int(sys.argv[1]))
