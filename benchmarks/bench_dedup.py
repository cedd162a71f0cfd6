"""Dedup quality, time and memory on real pages with planted exact and near duplicates.

Base documents are the content lines of the real pages in `../shared/eval/boilerplate/
dev.jsonl.gz` (fallback: the in-repo sample), cut into chunks of whole lines of at least
CHUNK_WORDS words. A third of the corpus are planted copies of random base documents with
word edits (substitute / delete / insert, equally likely) at known rates; a deterministic seed.
The corpus is shuffled (seeded) and split into two runs, so half of the planted pairs cross
runs and go through the persistent state. Each run is winnow's dedup stage (`flows.tasks.
dedup_documents.fn`, the body of the flow's dedup task, without Prefect) in a fresh child process,
which reports its time and peak RSS above its RSS after imports.

Truth: a planted copy is found when it ends in the same cluster (same survivor) as its
original. A reported pair (doc_id, kept_doc_id) is correct when both come from the same base
document, or when their true word-5-gram Jaccard is >= 0.7 (a duplicate already in the data).

Baseline measured in the same run: datasketch 2.0.0 `MinHash.update_batch` signatures (the
well-kept library) against winnow's vectorized numpy signatures on the same documents.

    python benchmarks/bench_dedup.py                       # sizes 1,500 and 15,000
    python benchmarks/bench_dedup.py --sizes 1000 10000 --data tests/data/boilerplate/sample.jsonl.gz
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _shared import REPO, data_or_sample, shared_file  # noqa: E402  (puts the repo on sys.path)

DEFAULT_DATA = shared_file("eval", "boilerplate", "dev.jsonl.gz")
SAMPLE_DATA = REPO / "tests" / "data" / "boilerplate" / "sample.jsonl.gz"
CHUNK_WORDS = 100
EDIT_RATES = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1)
JACCARD_BUCKETS = ((0.9, 1.01), (0.8, 0.9), (0.7, 0.8), (0.5, 0.7), (0.0, 0.5))
PLANTED_SHARE = 1 / 3
BATCH = 2_000
SEED = 42


def load_bases(path: Path) -> list[str]:
    """Content texts: each page's content lines, cut into chunks of >= CHUNK_WORDS words."""
    bases: list[str] = []
    seen: set[str] = set()
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for raw in fh:
            page = json.loads(raw)
            chunk: list[str] = []
            words = 0
            for line, label in zip(page["lines"], page["labels"], strict=True):
                if label == "boilerplate" or not line.strip():
                    continue
                chunk.append(line)
                words += len(line.split())
                if words >= CHUNK_WORDS:
                    text = "\n".join(chunk)
                    if text not in seen:
                        seen.add(text)
                        bases.append(text)
                    chunk, words = [], 0
    return bases


def edit_text(text: str, rate: float, rng: random.Random, vocab: list[str]) -> str:
    """Each word, with probability `rate`, is substituted, deleted or gets a word inserted."""
    out_lines = []
    for line in text.split("\n"):
        out: list[str] = []
        for w in line.split():
            if rng.random() < rate:
                op = rng.randrange(3)
                if op == 0:
                    out.append(rng.choice(vocab))
                elif op == 2:
                    out.extend([w, rng.choice(vocab)])
            else:
                out.append(w)
        out_lines.append(" ".join(out))
    return "\n".join(out_lines)


def build_corpus(bases: list[str], size: int, seed: int = SEED) -> list[dict]:
    """`size` documents: base documents plus planted copies; shuffled with a fixed seed."""
    rng = random.Random(seed)
    n_planted = int(size * PLANTED_SHARE)
    n_base = size - n_planted
    if n_base > len(bases):
        raise SystemExit(f"size {size} needs {n_base} base documents, data has {len(bases)}")
    picked = rng.sample(range(len(bases)), n_base)
    vocab = sorted({w for i in picked[:500] for w in bases[i].split()})
    docs = [{"base": b, "rate": None, "text": bases[b]} for b in picked]
    for k in range(n_planted):
        b = picked[rng.randrange(n_base)]
        rate = EDIT_RATES[k % len(EDIT_RATES)]
        docs.append({"base": b, "rate": rate, "text": edit_text(bases[b], rate, rng, vocab)})
    rng.shuffle(docs)
    for i, d in enumerate(docs):
        d["doc_id"] = f"d{i:07d}"
    return docs


def stage_run(docs: list[dict], store, run_id: str) -> int:
    """Write the run's documents like the flow's stage B does (doc_id, content_hash, text)."""
    import pyarrow as pa

    from flows.staging import Staging
    from flows.store import write_parquet
    from transforms.dedup import content_hash

    staging = Staging.of(store.root, run_id, int(run_id[:5]))
    n = 0
    for n, start in enumerate(range(0, len(docs), BATCH)):
        part = docs[start : start + BATCH]
        write_parquet(
            pa.table(
                {
                    "doc_id": [d["doc_id"] for d in part],
                    "content_hash": [content_hash(d["text"]) for d in part],
                    "text": [d["text"] for d in part],
                }
            ),
            staging.documents(n),
        )
    return (len(docs) + BATCH - 1) // BATCH


def _rss_kib() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def child(out: str, run_id: str, n_batches: int, run_seq: int) -> None:
    """One dedup run in this (fresh) process; prints seconds and memory as JSON."""
    from flows.staging import Staging
    from flows.store import OutputStore
    from flows.tasks import dedup_documents
    from transforms.config import PipelineConfig

    store = OutputStore(out)
    base = _rss_kib()
    t0 = time.perf_counter()
    staging = Staging.of(store.root, run_id, run_seq)
    dedup_documents.fn(store, staging, n_batches, run_id, PipelineConfig())
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_kib": peak - base}))


def child_state(out: str, n: int) -> None:
    """Run 1 of a large-state check: n documents with random signatures through the dedup task
    (staged as one batch whose precomputed signatures are random)."""
    import numpy as np
    import pyarrow as pa

    from flows.staging import Staging
    from flows.store import OutputStore, write_npy, write_parquet
    from flows.tasks import dedup_documents
    from transforms.config import PipelineConfig

    store = OutputStore(out)
    config = PipelineConfig()
    rng = np.random.default_rng(SEED)
    doc_ids = [f"s{i:09d}" for i in range(n)]
    staging = Staging.of(store.root, "00001-state", 1)
    base = _rss_kib()
    t0 = time.perf_counter()
    sigs = rng.integers(0, 2**32 - 1, (n, config.signature_width), dtype=np.uint32)
    docs = {"doc_id": doc_ids, "content_hash": [f"h{i}" for i in range(n)], "text": [""] * n}
    write_parquet(pa.table(docs), staging.documents(0))
    write_npy(sigs, staging.signatures(0))
    dedup_documents.fn(store, staging, 1, "00001-state", config)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_kib": peak - base}))


def large_state(bases: list[str], n_state: int, n_run: int) -> dict:
    """A run of n_state random-signature documents, then a real n_run-document run against it."""
    from flows.store import OutputStore

    with tempfile.TemporaryDirectory(prefix="bench-dedup-state-") as tmp:
        out = Path(tmp) / "out"
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        cmd = [sys.executable, __file__, "--child-state", str(out), str(n_state)]
        first = json.loads(subprocess.run(cmd, check=True, capture_output=True, env=env).stdout)
        OutputStore(out).commit("00001-state")
        state_bytes = sum(p.stat().st_size for p in (out / "_state").rglob("*.parquet"))
        docs = build_corpus(bases, n_run)
        store = OutputStore(out)
        n_batches = stage_run(docs, store, "00002-bench")
        cmd = [sys.executable, __file__, "--child", str(out), "00002-bench", str(n_batches), "2"]
        second = json.loads(subprocess.run(cmd, check=True, capture_output=True, env=env).stdout)
    return {"first": first, "second": second, "state_bytes": state_bytes}


def run_dedup(docs_by_run: list[list[dict]], out: Path) -> dict:
    from flows.store import OutputStore

    store = OutputStore(out)
    seconds, peak = 0.0, 0
    for seq, docs in enumerate(docs_by_run, start=1):
        run_id = f"{seq:05d}-bench"
        n_batches = stage_run(docs, store, run_id)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        cmd = [sys.executable, __file__, "--child", str(out), run_id, str(n_batches), str(seq)]
        res = json.loads(subprocess.run(cmd, check=True, capture_output=True, env=env).stdout)
        seconds += res["seconds"]
        peak = max(peak, res["peak_kib"])
        store.commit(run_id)
    return {"seconds": seconds, "peak_kib": peak}


def evaluate(docs: list[dict], out: Path) -> dict:
    import numpy as np
    import pandas as pd

    from transforms.dedup import shingle_hashes

    dups = pd.read_parquet(out / "duplicates")
    by_id = {d["doc_id"]: d for d in docs}
    survivor = {d["doc_id"]: d["doc_id"] for d in docs}
    survivor.update(dict(zip(dups["doc_id"], dups["kept_doc_id"], strict=True)))
    shingles: dict[str, set] = {}

    def sh(doc_id: str) -> set:
        if doc_id not in shingles:
            shingles[doc_id] = set(shingle_hashes(by_id[doc_id]["text"]).tolist())
        return shingles[doc_id]

    def jaccard(a: str, b: str) -> float:
        sa, sb = sh(a), sh(b)
        return len(sa & sb) / max(len(sa | sb), 1)

    correct = sum(
        by_id[a]["base"] == by_id[b]["base"] or jaccard(a, b) >= 0.7
        for a, b in zip(dups["doc_id"], dups["kept_doc_id"], strict=True)
    )
    original = {d["base"]: d["doc_id"] for d in docs if d["rate"] is None}
    rows = []
    for d in docs:
        if d["rate"] is None:
            continue
        o = original[d["base"]]
        rows.append(
            {
                "rate": d["rate"],
                "jaccard": jaccard(d["doc_id"], o),
                "found": survivor[d["doc_id"]] == survivor[o],
            }
        )
    planted = pd.DataFrame(rows)
    by_rate = planted.groupby("rate").agg(
        n=("found", "size"), recall=("found", "mean"), jaccard=("jaccard", "mean")
    )
    buckets = []
    for lo, hi in JACCARD_BUCKETS:
        part = planted[(planted["jaccard"] >= lo) & (planted["jaccard"] < hi)]
        buckets.append((f"[{lo:.1f}, {min(hi, 1.0):.1f}{']' if hi > 1 else ')'}", part))
    ge08 = planted[planted["jaccard"] >= 0.8]
    state = [p for p in (out / "_state").rglob("*.parquet") if "minhash-" in str(p)]
    state_bytes = sum(p.stat().st_size for p in state)
    n_state = int(
        sum(pd.read_parquet(p, columns=["ordinal"]).shape[0] for p in state if "/sig/" in str(p))
    )
    hashes = sum(p.stat().st_size for p in (out / "_state" / "hashes").rglob("*.parquet"))
    return {
        "pairs": len(dups),
        "precision": correct / max(len(dups), 1),
        "by_rate": by_rate,
        "buckets": [
            (name, len(p), float(np.mean(p["found"])) if len(p) else float("nan"))
            for name, p in buckets
        ],
        "recall_ge08": float(ge08["found"].mean()),
        "n_ge08": len(ge08),
        "state_bytes_per_doc": (state_bytes + hashes) / max(n_state, 1),
        "n_state": n_state,
    }


def signature_speed(bases: list[str], n: int = 1000) -> tuple[float, float]:
    """Seconds for n documents, both from the same normalized words (`normalize_line`):
    winnow's xxh3 + numpy multiply-shift signatures vs datasketch `MinHash.update_batch`."""
    from datasketch import MinHash

    from transforms.dedup import minhash_signatures, shingle_hashes
    from transforms.lines import normalize_line

    texts = bases[:n]
    minhash_signatures([shingle_hashes(t) for t in texts[:50]])  # warm-up
    t0 = time.perf_counter()
    minhash_signatures([shingle_hashes(t) for t in texts])
    ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    for t in texts:
        words = " ".join(normalize_line(x) for x in t.split("\n")).split()
        grams = [" ".join(words[i : i + 5]).encode() for i in range(max(len(words) - 4, 1))]
        m = MinHash(num_perm=112, seed=1)
        m.update_batch(grams)
    theirs = time.perf_counter() - t0
    return ours, theirs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_500, 15_000])
    ap.add_argument(
        "--state-docs",
        type=int,
        nargs="*",
        default=[100_000, 1_000_000],
        help="prior-state sizes for the large-state check (random signatures)",
    )
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--child-state", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        out, run_id, n_batches, seq = args.child
        child(out, run_id, int(n_batches), int(seq))
        return
    if args.child_state:
        child_state(args.child_state[0], int(args.child_state[1]))
        return
    data = data_or_sample(args.data, SAMPLE_DATA)
    bases = load_bases(data)
    print(f"data: {data} -> {len(bases)} base documents of >= {CHUNK_WORDS} words")
    try:
        ours, theirs = signature_speed(bases)
    except ImportError:
        print("datasketch not installed (pip install -e '.[dev]'): no signature baseline\n")
    else:
        print(
            f"signatures, 1,000 docs: winnow numpy {ours:.2f} s, datasketch update_batch "
            f"{theirs:.2f} s (winnow is {theirs / ours:.1f}x faster)\n"
        )
    results = []
    for size in args.sizes:
        docs = build_corpus(bases, size)
        half = len(docs) // 2
        with tempfile.TemporaryDirectory(prefix="bench-dedup-") as tmp:
            cost = run_dedup([docs[:half], docs[half:]], Path(tmp) / "out")
            ev = evaluate(docs, Path(tmp) / "out")
        results.append((size, cost, ev))
        print(
            f"## {size:,} documents (2 runs), {ev['pairs']} reported pairs, precision {ev['precision']:.4f}"
        )
        print("| edit rate | planted | mean true Jaccard | recall |\n|---|---|---|---|")
        for rate, row in ev["by_rate"].iterrows():
            print(f"| {rate:.3f} | {int(row['n'])} | {row['jaccard']:.3f} | {row['recall']:.3f} |")
        print("\n| true Jaccard | planted | recall |\n|---|---|---|")
        for name, n, rec in ev["buckets"]:
            print(f"| {name} | {n} | {rec:.3f} |")
        print(f"\nrecall for Jaccard >= 0.8: {ev['recall_ge08']:.4f} ({ev['n_ge08']} pairs)\n")
    print(
        "| documents | precision | recall J>=0.8 | time s | docs/s | peak MiB | state bytes/doc |"
    )
    print("|---|---|---|---|---|---|---|")
    for size, cost, ev in results:
        print(
            f"| {size:,} | {ev['precision']:.4f} | {ev['recall_ge08']:.4f} | {cost['seconds']:.2f} | "
            f"{size / cost['seconds']:,.0f} | {cost['peak_kib'] / 1024:.1f} | "
            f"{ev['state_bytes_per_doc']:.0f} |"
        )
    (s0, c0, _), (s1, c1, _) = results[0], results[-1]
    print(
        f"\nratios {s1:,} vs {s0:,} documents ({s1 / s0:.0f}x): time {c1['seconds'] / c0['seconds']:.1f}x, "
        f"peak memory {c1['peak_kib'] / max(c0['peak_kib'], 1):.1f}x; marginal cost per "
        f"document: {(c1['seconds'] - c0['seconds']) / (s1 - s0) * 1e3:.3f} ms, "
        f"{(c1['peak_kib'] - c0['peak_kib']) * 1024 / (s1 - s0):,.0f} bytes of peak memory"
    )
    if not args.state_docs:
        return
    n_run = args.sizes[0]
    print(
        "\nLarge state: run 1 = N documents with random signatures (near_dedup), "
        f"run 2 = the {n_run:,}-document corpus deduplicated against it\n"
    )
    print(
        "| N in state | state MiB | state bytes/doc | run 1 s | run 1 peak MiB | "
        "run 1 peak bytes/doc | run 2 s | run 2 peak MiB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n in args.state_docs:
        r = large_state(bases, n, n_run)
        f, g = r["first"], r["second"]
        print(
            f"| {n:,} | {r['state_bytes'] / 2**20:.0f} | {r['state_bytes'] / n:.0f} | "
            f"{f['seconds']:.1f} | {f['peak_kib'] / 1024:.0f} | {f['peak_kib'] * 1024 / n:,.0f} | "
            f"{g['seconds']:.2f} | {g['peak_kib'] / 1024:.0f} |"
        )


if __name__ == "__main__":
    main()
