"""Crash test: SIGKILL `winnow run` at random times, re-run, compare with an uninterrupted run.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/crash_test.py [--kills 20] [--seed 7]

One uninterrupted baseline run measures W, the time from the run's first staging write to
its end (Python/Prefect start-up excluded, it varies a lot on a loaded machine); then each
trial starts a fresh run, waits for its staging folder, SIGKILLs it after a random delay (`kill +s`) in
[0, SPAN * W] (time-based, no test hook; --span, default 0.6 as
the machine is often less loaded than during the baseline), notes which phase the kill hit (from what is on disk), re-runs to completion and checks that the dataset
files (lines, documents, duplicates, errors) are byte-identical to the baseline's, that
nothing is lost or duplicated, and that no staging is left over. All CLI runs share one
local Prefect test server started here. Exit status 1 when any trial differs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATASETS = ("lines", "documents", "duplicates", "errors")
WORDS = [
    "river",
    "council",
    "school",
    "budget",
    "winter",
    "train",
    "museum",
    "harbour",
    "garden",
    "market",
    "library",
    "bridge",
    "teacher",
    "doctor",
    "village",
    "mountain",
    "festival",
    "weather",
    "station",
    "report",
    "question",
    "answer",
]


def build_corpus(
    root: Path, n_files: int = 8, *, lines_per_doc: int = 12, records: int = 5
) -> Path:
    """Deterministic corpus: distinct articles sharing a template line, an exact duplicate (gz),
    a JSONL export with a malformed line, an empty file. Also used by tests/flows/test_crash.py.
    """
    inp = root / "in"
    inp.mkdir(parents=True)
    for i in range(n_files):
        lines = ["Cookie settings"] + [  # a line repeated across documents
            " ".join(WORDS[(i * 7 + j * 3 + k) % len(WORDS)] for k in range(9 + j % 5)).capitalize()
            + f" {i}-{j}."
            for j in range(lines_per_doc)
        ]
        (inp / f"doc{i:03d}.txt").write_text("\n".join(lines))
    (inp / "copy_of_doc003.txt.gz").write_bytes(gzip.compress((inp / "doc003.txt").read_bytes()))
    rows = [
        {"text": f"Record {r} of the export talks about the {WORDS[r % len(WORDS)]}."}
        for r in range(records)
    ]
    (inp / "export.jsonl").write_text("\n".join(map(json.dumps, rows)) + "\n{broken\n")
    (inp / "empty.txt").write_bytes(b"")
    return inp


def start(inp: Path, out: Path, env: dict) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "flows.cli", "run", str(inp), "-o", str(out), "--quiet"]
    return subprocess.Popen(
        [*cmd, "--batch-files", "4"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for_staging(proc: subprocess.Popen, out: Path) -> float:
    """Poll until the run has created its staging folder (or ended); returns the time."""
    while proc.poll() is None and not any((out / "_staging").glob("*")):
        time.sleep(0.02)
    return time.monotonic()


def phase(out: Path) -> str:
    """Which phase a killed run was in, judged from the files it left."""
    staging = out / "_staging"
    runs = list(staging.glob("*")) if staging.exists() else []
    if (out / "runs").exists() and not runs:
        return "finished"
    if not runs:
        return "startup"
    s = runs[0]
    if (s / "COMMIT.json").exists():
        return "commit"
    if (s / "final" / "runs").exists():
        return "pre-commit"
    if (s / "final").exists():
        return "dedup/load"
    if (s / "b").exists():
        return "flag"
    done = len(list((s / "a").glob("*.done.json"))) if (s / "a").exists() else 0
    return f"extract({done} done)"


def dataset_bytes(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for name in DATASETS
        for p in sorted((out / name).rglob("*.parquet"))
    }


def compare(out: Path, base: Path) -> str:
    """'identical' or what differs."""
    import pyarrow.parquet as pq

    a, b = dataset_bytes(out), dataset_bytes(base)
    diff = [k for k in b if a.get(k) != b[k]]
    if diff:
        return f"differs: {diff[:3]}"
    extra = [k for k in set(a) - set(b) if pq.read_metadata(out / k).num_rows]
    if extra:
        return f"extra rows: {extra[:3]}"
    if (out / "_staging").exists() and any((out / "_staging").iterdir()):
        return "staging left"
    ids = pq.read_table(out / "documents", columns=["doc_id"])["doc_id"].to_pylist()
    if len(ids) != len(set(ids)):
        return "duplicated doc_id"
    return "identical"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--files", type=int, default=40, help="generated input files")
    ap.add_argument("--span", type=float, default=0.6, help="kill delay range, share of W")
    args = ap.parse_args()
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="winnow-crash-prefect-"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="winnow-crash-"))
    inp = build_corpus(root, args.files, lines_per_doc=200, records=500)
    with prefect_test_harness(server_startup_timeout=120):
        env = {**os.environ, "PYTHONPATH": str(REPO), "PREFECT_API_URL": PREFECT_API_URL.value()}
        t0 = time.monotonic()
        base = start(inp, root / "base", env)
        t_work = wait_for_staging(base, root / "base")
        if base.wait() != 0:
            print(base.stderr.read().decode()[-2000:], file=sys.stderr)
            return 1
        full, work = time.monotonic() - t0, time.monotonic() - t_work
        print(f"baseline run: {full:.1f} s, of which work {work:.1f} s ({args.files + 3} files)")
        print(f"{'#':>3} {'kill +s':>9} {'phase hit':<18} {'re-run s':>8} {'ratio':>6}  result")
        failures = 0
        phases: dict[str, int] = {}
        for i in range(args.kills):
            out = root / f"t{i:02d}"
            delay = rng.uniform(0, args.span * work)
            proc = start(inp, out, env)
            wait_for_staging(proc, out)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            hit = phase(out) if proc.returncode == -signal.SIGKILL else "finished"
            phases[hit.split("(")[0]] = phases.get(hit.split("(")[0], 0) + 1
            t1 = time.monotonic()
            rerun = start(inp, out, env)
            code = rerun.wait()
            took = time.monotonic() - t1
            result = compare(out, root / "base") if code == 0 else f"exit {code}"
            failures += result != "identical"
            print(f"{i:>3} {delay:>9.2f} {hit:<18} {took:>8.1f} {took / full:>6.2f}  {result}")
        print("phases hit:", ", ".join(f"{k} {v}" for k, v in sorted(phases.items())))
        print(f"{args.kills - failures}/{args.kills} killed runs re-ran to identical datasets")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
