"""What the benchmark scripts share: the repo root, the optional ../shared/ data, and the
RSS sampler of a process tree (with and without its Prefect server processes)."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def shared_file(*parts: str) -> Path:
    """`shared/<parts>` from $WINNOW_SHARED, beside the repo, or beside its worktree folder.

    May not exist: callers fall back to their in-repo sample.
    """
    rel = Path(*parts)
    roots = [Path(os.environ["WINNOW_SHARED"])] if os.environ.get("WINNOW_SHARED") else []
    roots += [REPO.parent / "shared", REPO.parent.parent / "shared"]
    return next((r / rel for r in roots if (r / rel).exists()), roots[0] / rel)


def data_or_sample(path: Path, sample: Path) -> Path:
    """`path` if it exists, else the in-repo `sample`, saying so."""
    if path.exists():
        return path
    print(f"note: {path} not found; using the in-repo sample {sample}")
    return sample


# ---------------------------------------------------------------- RSS of a process tree
MIB = 1024**2
# Command-line marks of a Prefect API server process: Prefect's temporary server (uvicorn
# serving prefect.server), `prefect server start`, winnow's own server (flows/server.py).
SERVER_MARKS = ("uvicorn", "prefect.server", "flows.server serve", "prefect server start")
# Sampling period, and how many samples between listings of the tree (listing scans /proc:
# at 20 Hz it cost ~9% of a core, taken from the run being measured).
SAMPLE_SECONDS = 0.1
RELIST_EVERY = 5


def is_server_cmdline(cmdline: list[str]) -> bool:
    """True when a command line is a Prefect API server's."""
    text = " ".join(cmdline)
    return any(mark in text for mark in SERVER_MARKS)


@dataclass(frozen=True)
class TreePeak:
    """Peak RSS of a process tree: whole, without Prefect server processes, and per process."""

    peak_mb: float
    peak_no_server_mb: float
    server_processes: int
    per_process: dict[int, tuple[str, float]] = field(default_factory=dict)  # pid -> (cmd, MiB)


class TreeSampler:
    """Samples the summed RSS of the tree under `pid` in a thread while the block runs;
    `server_pids`: Prefect server processes outside that tree, counted as server processes
    (with their children) in the whole-tree peak, never in the peak without server.

    >>> import subprocess, sys
    >>> proc = subprocess.Popen([sys.executable, "-c", "x = bytearray(50 * 2**20)"])
    >>> with TreeSampler(proc.pid) as sampler:
    ...     _ = proc.wait()
    >>> sampler.result().peak_mb > 0
    True
    """

    def __init__(
        self,
        pid: int,
        *,
        server_pids: tuple[int, ...] = (),
        interval: float = SAMPLE_SECONDS,
        relist_every: int = RELIST_EVERY,
    ) -> None:
        self.pid, self.interval, self.relist_every = pid, interval, relist_every
        self.server_pids = tuple(server_pids)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._peak = self._peak_ns = 0
        self._servers: set[int] = set()
        self._per: dict[int, tuple[str, int]] = {}

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _relist(self, roots: list) -> list:
        import psutil

        tree = []
        for root in roots:
            with contextlib.suppress(psutil.Error):
                tree += [root, *root.children(recursive=True)]
        for p in tree:
            with contextlib.suppress(psutil.Error):
                cmdline = p.cmdline()  # one /proc read per process and listing
                if p.pid not in self._per:
                    self._per[p.pid] = (_short_cmd(cmdline), 0)
                if (
                    p.pid in self._servers
                    or p.pid in self.server_pids
                    or is_server_cmdline(cmdline)
                ):
                    self._servers.add(p.pid)
                    self._servers.update(c.pid for c in p.children(recursive=True))
        return tree

    def _run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        roots = [root]
        for pid in self.server_pids:
            with contextlib.suppress(psutil.Error):
                roots.append(psutil.Process(pid))
        tree: list = []
        tick = 0
        while not self._stop.is_set():
            if tick % self.relist_every == 0:
                if not root.is_running():
                    return
                tree = self._relist(roots)
            tick += 1
            total = ns = 0
            for p in tree:
                with contextlib.suppress(psutil.Error):
                    rss = p.memory_info().rss
                    total += rss
                    ns += 0 if p.pid in self._servers else rss
                    cmd, best = self._per.get(p.pid, ("?", 0))
                    self._per[p.pid] = (cmd, max(best, rss))
            self._peak, self._peak_ns = max(self._peak, total), max(self._peak_ns, ns)
            self._stop.wait(self.interval)

    def result(self) -> TreePeak:
        """The peaks seen so far (MiB)."""
        per = {pid: (cmd, rss / MIB) for pid, (cmd, rss) in self._per.items() if rss}
        return TreePeak(self._peak / MIB, self._peak_ns / MIB, len(self._servers), per)


def _short_cmd(cmdline: list[str], width: int = 60) -> str:
    """A process's command line without the interpreter path, cut to `width` characters."""
    args = [Path(a).name if i == 0 else a for i, a in enumerate(cmdline)]
    text = " ".join(args)
    return text if len(text) <= width else text[: width - 3] + "..."
