"""Cost of a small nightly run against a large history: 0, 1M and 10M documents of state.

For each history size H, an output folder gets dedup state for H documents at the real format
and size, synthesized (no 10M documents are processed): the rows per document of every state
table are measured from the first real run (H = 0) of the same small corpus, and the history
is laid out as compaction leaves it (flows/compaction.py): three size-tiered segments (80%,
16%, 4% of H) and RECENT_PARTS uncompacted run parts, with one `runs` part per history run
(nightly runs of DOCS_PER_RUN documents). Keys, hashes and signatures are random (they match
nothing new: the run does the lookups but finds no duplicates, as on unrelated history).

Then `python -m flows.cli run` (a child process, the benchmark's Prefect server) loads a
~1,500-document corpus, REPEATS corpora one after the other (different seeds); wall time
and peak RSS of the child's process tree are recorded, and the ratios to H = 0 printed.

    python benchmarks/bench_history.py                         # 0, 1M, 10M (~10 min, ~8 GB disk)
    python benchmarks/bench_history.py --sizes 0 100000 --keep /tmp/hist
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.fs as pafs  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

# ~1,500 documents: the benchmark corpus has 2,680 documents per 100k lines.
CORPUS_LINES = 56_000
REPEATS = 2
DOCS_PER_RUN = 25_000  # a nightly run of the history (runs/ parts, run sequence numbers)
RECENT_PARTS = 8  # run parts not yet folded (below COMPACT_PARTS = 16)
TIERS = (0.80, 0.16, 0.04)  # segment shares of the history (size ratios >= TIER_RATIO)
DEFAULT_SIZES = (0, 1_000_000, 10_000_000)
HEX = np.frombuffer(b"0123456789abcdef", np.uint8)


def hex_strings(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    """n random lowercase hex strings of `width` characters (NumPy bytes)."""
    return np.frombuffer(HEX[rng.integers(0, 16, (n, width))].tobytes(), f"S{width}")


def state_rows_per_doc(out: Path, n_docs: int) -> dict[str, float]:
    """Rows per input document of every state folder of a real run's output."""
    rows: dict[str, float] = {}
    for folder in sorted(p for p in (out / "_state").rglob("*") if p.is_dir()):
        parts = list(folder.glob("part-*.parquet"))
        if parts:
            rel = folder.relative_to(out / "_state").as_posix()
            rows[rel] = sum(pq.read_metadata(p).num_rows for p in parts) / n_docs
    return rows


def synth_columns(folder: str, n: int, rng, seqs: tuple[int, int]) -> tuple[np.ndarray, dict]:
    """Random sorted keys and value columns of n rows of one state folder."""
    from flows.dedup_state import hash_keys

    if folder == "key_counts":
        return np.sort(rng.integers(1, 2**63, n, dtype=np.uint64)), {
            "n_docs": rng.integers(1, 4, n).astype(np.int64)
        }
    ordinals = (np.linspace(seqs[0], seqs[1], n).astype(np.int64) << 32) + np.arange(n)
    if folder.endswith("/sig"):
        doc_ids = hex_strings(rng, n, 16)
        sigs = rng.integers(0, 2**32, (n, 112), dtype=np.uint32).view(np.uint8)
        return ordinals.astype(np.uint64), {"doc_id": doc_ids, "signature": sigs}
    if "/band=" in folder:
        keys = rng.integers(1, 2**63, n, dtype=np.uint64)
        order = np.argsort(keys)
        return keys[order], {"ordinal": ordinals[order]}
    if folder == "hashes":
        hashes = hex_strings(rng, n, 32)
        keys = hash_keys(h.decode() for h in hashes)
        order = np.argsort(keys, kind="stable")
        return keys[order], {
            "content_hash": hashes[order],
            "kept_doc_id": hex_strings(rng, n, 16)[order],
        }
    sources = np.array([f"history/shard-{i:09d}.jsonl".encode() for i in range(n)])
    keys = hash_keys(s.decode() for s in sources)
    order = np.argsort(keys, kind="stable")
    cols = {
        "source": sources[order],
        "path": np.array([b"/data/" + s for s in sources[order]]),
        "bytes": rng.integers(10**5, 10**7, n).astype(np.int64),
        "checksum": hex_strings(rng, n, 32),
    }
    return keys[order], cols


def table_of(folder: str, keys: np.ndarray, cols: dict):
    """Segment columns as the run parts' table (the same spec as flows.dedup_state)."""
    from flows.dedup_state import to_table

    return to_table(spec_of(folder), keys, cols)


def spec_of(folder: str):
    """The state table of a folder under _state/."""
    from flows.dedup_state import (
        BAND_SCHEMA,
        HASHES_TABLE,
        INPUTS_TABLE,
        KEY_COUNTS_TABLE,
        SIG_SCHEMA_FIELDS,
        StateTable,
    )

    fixed = {"key_counts": KEY_COUNTS_TABLE, "hashes": HASHES_TABLE, "inputs": INPUTS_TABLE}
    if folder in fixed:
        return fixed[folder]
    if folder.endswith("/sig"):
        return StateTable(
            folder, pa.schema([*SIG_SCHEMA_FIELDS, ("signature", pa.binary(448))]), "ordinal"
        )
    return StateTable(folder, BAND_SCHEMA, "key")


def synthesize(out: Path, history: int, per_doc: dict[str, float], runs_part: Path, seed: int = 7):
    """State of `history` documents in `out`: tiered segments, recent run parts, runs/ parts."""
    from flows import segments

    rng = np.random.default_rng(seed)
    fs = pafs.LocalFileSystem()
    n_runs = max(history // DOCS_PER_RUN, 1)
    first = 1
    for share in TIERS:
        seqs = (first, first + max(int(n_runs * share), 1) - 1)
        for folder, rate in per_doc.items():
            keys, cols = synth_columns(folder, int(history * share * rate), rng, seqs)
            seg = out / "_state" / folder / f"seg-{seqs[0]:05d}-{seqs[1]:05d}"
            segments.write_segment(fs, str(seg), keys, cols)
        first = seqs[1] + 1
    per_part = DOCS_PER_RUN
    for seq in range(first, first + RECENT_PARTS):
        for folder, rate in per_doc.items():
            keys, cols = synth_columns(folder, int(per_part * rate), rng, (seq, seq))
            name = (
                f"part-{seq:05d}-0000.parquet"
                if folder.endswith("/sig")
                else f"part-{seq:05d}.parquet"
            )
            (out / "_state" / folder).mkdir(parents=True, exist_ok=True)
            pq.write_table(
                table_of(folder, keys, cols), out / "_state" / folder / name, compression="zstd"
            )
    (out / "runs").mkdir(parents=True, exist_ok=True)
    for seq in range(1, first + RECENT_PARTS):
        shutil.copy(runs_part, out / "runs" / f"part-{seq:05d}.parquet")


def state_bytes(out: Path) -> int:
    return sum(p.stat().st_size for p in (out / "_state").rglob("*") if p.is_file())


def _run_cli(corpus: Path, out: Path, env: dict) -> dict:
    """`winnow run` in a child process: wall seconds and the tree's peak RSS (the shared
    sampler of benchmarks/_shared.py, as bench_pipeline.py and bench_peer.py use)."""
    import subprocess

    from _shared import TreeSampler

    cmd = [sys.executable, "-m", "flows.cli", "run", str(corpus), "--output", str(out), "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    with TreeSampler(proc.pid) as sampler:
        stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"run failed ({proc.returncode}):\n{stdout}\n{stderr[-4000:]}")
    docs = int(stdout.split("documents", 1)[1].split()[0])
    return {"seconds": seconds, "peak_rss_mb": sampler.result().peak_mb, "documents": docs}


def print_table(results: dict[int, dict]) -> None:
    """The README table: time and peak RSS at each history size, and ratios to the first."""
    base = results[min(results)]
    print(
        "\n| history (documents) | state on disk | run time (s) | ratio | peak RSS (MB) | ratio |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for history, r in sorted(results.items()):
        print(
            f"| {history:,} | {r['state_gb']:.2f} GB | {r['seconds']:.1f} | "
            f"{r['seconds'] / base['seconds']:.2f}x | {r['peak_rss_mb']:.0f} | "
            f"{r['peak_rss_mb'] / base['peak_rss_mb']:.2f}x |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--keep", type=Path, default=None, help="work folder (kept)")
    args = parser.parse_args(argv)
    if 0 not in args.sizes:
        parser.error("--sizes must include 0 (the rows per document are measured there)")
    work = args.keep or Path(tempfile.mkdtemp(prefix="winnow-history-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["PREFECT_HOME"] = str(work / "prefect-home")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from make_corpus import build_corpus
    from prefect.server.api.server import SubprocessASGIServer

    corpora = [work / f"corpus-{r}" for r in range(REPEATS)]
    for r, corpus in enumerate(corpora):
        if not corpus.exists():
            build_corpus(CORPUS_LINES, corpus, seed=100 + r)
    server = SubprocessASGIServer()
    server.start(timeout=120)
    env = {**os.environ, "PREFECT_API_URL": server.api_url, "PREFECT_LOGGING_LEVEL": "WARNING"}
    results: dict[int, dict] = {}
    per_doc: dict[str, float] = {}
    runs_part = Path()  # a real runs/ part, from the H = 0 run (sizes start at 0)
    try:
        for history in sorted(args.sizes):
            out = work / f"out-{history}"
            shutil.rmtree(out, ignore_errors=True)
            t0 = time.perf_counter()
            if history:
                synthesize(out, history, per_doc, runs_part)
            synth = time.perf_counter() - t0
            size = state_bytes(out) if history else 0
            runs = [_run_cli(c, out, env) for c in corpora]
            if not history:  # the measured state rows per document of a real run
                n_docs = sum(r["documents"] for r in runs)
                per_doc = state_rows_per_doc(out, n_docs)
                runs_part = next((out / "runs").glob("part-*.parquet"))
                size = state_bytes(out)
                print("state rows per document:", json.dumps(per_doc), flush=True)
                print(f"state bytes per document: {size / n_docs:.0f}", flush=True)
            results[history] = {
                "seconds": min(r["seconds"] for r in runs),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                "documents": runs[0]["documents"],
                "state_gb": size / 1e9,
                "synth_seconds": synth,
            }
            print(history, json.dumps(results[history]), flush=True)
            if history and not args.keep:
                shutil.rmtree(out, ignore_errors=True)
    finally:
        server.stop()
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
