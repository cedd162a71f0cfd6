"""Fixed cost of `winnow run` without a configured Prefect server: the new path vs the old one.

Each trial runs the real CLI (`python -m flows.cli run ONE_DOC -o OUT --quiet`) in a child
process with no PREFECT_API_URL and measures its wall time and its time to first task (the
moment the first extract task starts reading its input, written by a one-line patch in the
child). Modes (WINNOW_SERVER, flows/server.py), measured alternately, round after round:

- ``temporary``: the old path, Prefect's temporary server started and stopped by the run;
- ``reuse``: winnow's reusable local server, already running (every run after the first);
- ``reuse-cold``: the same with no server running yet (stopped before the trial, untimed);
- ``private``: a lighter server of the run's own (pre-migrated database, ephemeral services).

The runs use this user's PREFECT_HOME (its database exists, the usual case) unless
--fresh-home gives every trial an empty one (first run on a machine, every test session:
Prefect migrates a new database for 7-10 s, winnow copies a migrated template). Server files
go to a temporary WINNOW_CACHE_DIR; its servers are stopped at the end.

    python benchmarks/bench_startup.py [--rounds 5] [--modes temporary,reuse,reuse-cold]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "seeds" / "000_f03d96d0f5b1cf7c.txt"  # one document, 32 lines
MODES = ("temporary", "reuse", "reuse-cold", "private")
DEFAULT_MODES = "temporary,reuse,reuse-cold"
FIRST_TASK_ENV = "WINNOW_BENCH_FIRST_TASK_FILE"
# The child: note the wall-clock time when the first task starts reading, then the real CLI.
CHILD = f"""
import os, sys, time
import flows.readers as readers
_read = readers.read_documents
def read_documents(*args, **kwargs):
    path = os.environ.pop("{FIRST_TASK_ENV}", None)
    if path:
        with open(path, "w") as fh:
            fh.write(repr(time.time()))
    return _read(*args, **kwargs)
readers.read_documents = read_documents
import flows.cli
sys.exit(flows.cli.main(sys.argv[1:]))
"""


def child_env(mode: str, cache: Path, home: Path | None) -> dict[str, str]:
    """Environment of a trial: no configured server, the mode, this checkout first."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["WINNOW_SERVER"] = "reuse" if mode.startswith("reuse") else mode
    env["WINNOW_CACHE_DIR"] = str(cache)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    if home is not None:
        env["PREFECT_HOME"] = str(home)
    return env


def stop_servers(env: dict[str, str]) -> None:
    """Stop the reusable servers of the benchmark's cache folder."""
    subprocess.run(
        [sys.executable, "-m", "flows.server", "stop"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


def trial(mode: str, work: Path, cache: Path, fresh_home: bool, n: int) -> tuple[float, float]:
    """One CLI run: (wall seconds, seconds to the first task)."""
    home = work / f"home-{mode}-{n}" if fresh_home else None
    env = child_env(mode, cache, home)
    if mode == "reuse-cold":
        stop_servers(env)
    mark = work / f"first-{mode}-{n}"
    env[FIRST_TASK_ENV] = str(mark)
    cmd = [sys.executable, "-c", CHILD, "run", str(SAMPLE), "-o", str(work / f"out-{mode}-{n}")]
    t0 = time.time()
    proc = subprocess.run([*cmd, "--quiet"], env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.time() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{proc.stderr[-3000:]}")
    return wall, float(mark.read_text()) - t0


def main(argv: list[str] | None = None) -> int:
    """Alternate the modes for --rounds rounds; print medians and ratios to the old path."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--modes", default=DEFAULT_MODES, help=f"comma list of {MODES}")
    parser.add_argument("--fresh-home", action="store_true", help="empty PREFECT_HOME per trial")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown modes: {sorted(unknown)}")
    results: dict[str, list[tuple[float, float]]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory(prefix="winnow-bench-startup-") as tmp:
        work, cache = Path(tmp), Path(tmp) / "cache"
        try:
            for mode in modes:  # warm-up, untimed: OS caches, the database template
                trial(mode, work, cache, args.fresh_home, -1)
            for n in range(args.rounds):
                for mode in modes:
                    results[mode].append(trial(mode, work, cache, args.fresh_home, n))
                    wall, first = results[mode][-1]
                    print(f"round {n + 1} {mode:10s} wall {wall:5.2f}s  first task {first:5.2f}s")
        finally:
            stop_servers(child_env("reuse", cache, None))
    home = "fresh PREFECT_HOME per run" if args.fresh_home else "existing PREFECT_HOME"
    print(f"\none-document `winnow run`, {home}, median of {args.rounds} (alternating runs)")
    print(f"{'mode':12s} {'wall':>8s} {'first task':>11s} {'wall vs temporary':>18s}")
    medians = {
        m: (statistics.median(w for w, _ in r), statistics.median(f for _, f in r))
        for m, r in results.items()
    }
    old = medians.get("temporary")
    for mode, (wall, first) in medians.items():
        ratio = f"{old[0] / wall:5.2f}x faster" if old and mode != "temporary" else ""
        print(f"{mode:12s} {wall:7.2f}s {first:10.2f}s {ratio:>18s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
