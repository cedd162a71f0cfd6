"""Peer benchmark: winnow's CLI vs DataTrove's FineWeb-style pipeline, same corpus, alternating.

Not part of CI. Needs DataTrove's own venv (`make peer-venv`); `make bench-peer` runs this.

Both tools run as a user runs them, one whole process each (its tree sampled for RSS):

- winnow: ``python -m flows.cli run CORPUS -o OUT --fresh --quiet`` from the repo, 1 worker,
  with whatever Prefect server mode the environment gives it (WINNOW_SERVER, PREFECT_API_URL
  are printed when set);
- DataTrove 0.10.1: benchmarks/peer/datatrove_run.py in benchmarks/.peer-venv (filters, then
  its 4-stage MinHash dedup; the module doc says what it runs and how it stays offline).

The corpus (make_corpus.py; .txt/.jsonl/.jsonl.gz/.jsonl.zst) is converted once, untimed, to
a folder of .jsonl.gz shards with the same documents in the same order for DataTrove's
JsonlReader, which reads neither .txt nor .zst. Fixed cost is the same command on a
one-document input (the first document of the corpus that DataTrove's filters keep, so its
later filters, tokenizers and MinHash stages run too). Rounds alternate winnow, DataTrove, winnow, ...;
reported: medians, net lines/s = lines / (wall - fixed cost), peak RSS of each process tree
(winnow's also without its Prefect server processes), and the machine's two-process
parallelism probe before and after (2.0x = two free cores).

    python benchmarks/bench_peer.py                       # 100k lines, 3 rounds
    python benchmarks/bench_peer.py --runs 5 --json benchmarks/out/peer.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from _shared import TreeSampler  # noqa: E402
from bench_pipeline import fmt_table, probe_parallelism, read_corpus_texts  # noqa: E402

PEER_PYTHON = ROOT / "benchmarks" / ".peer-venv" / "bin" / "python"
PEER_SCRIPT = ROOT / "benchmarks" / "peer" / "datatrove_run.py"
SHARDS = 8


@dataclass
class Run:
    """One measured process tree."""

    tool: str
    input: str
    wall: float
    peak_rss_mb: float
    peak_rss_no_server_mb: float
    server_processes: int
    stdout: str = field(repr=False, default="")


# ---------------------------------------------------------------- pure helpers (tested)
def count_lines(text: str) -> int:
    """Lines of a document as bench_pipeline counts them (no trailing newline line)."""
    return len(text.rstrip("\n").split("\n"))


def shard_ranges(n: int, shards: int) -> list[tuple[int, int]]:
    """[start, end) ranges splitting n items into at most `shards` contiguous, near-equal parts."""
    shards = max(1, min(shards, n))
    size, extra = divmod(n, shards)
    out, start = [], 0
    for i in range(shards):
        end = start + size + (1 if i < extra else 0)
        out.append((start, end))
        start = end
    return out


def net_rate(lines: int, wall: float, fixed: float) -> float:
    """Lines per second once the fixed cost is taken off (inf when wall <= fixed)."""
    work = wall - fixed
    return lines / work if work > 0 else float("inf")


def paired_ratio(num: list[float], den: list[float]) -> float:
    """Median of per-round ratios num[i] / den[i] (load drift between rounds cancels)."""
    return statistics.median(a / b for a, b in zip(num, den, strict=True))


def _count(text: str) -> int:
    return int(text.replace(",", ""))


def parse_winnow_summary(stdout: str) -> dict[str, int]:
    """documents, kept and lines from `winnow run`'s summary."""
    out: dict[str, int] = {}
    if m := re.search(r"documents\s+([\d,]+) \(([\d,]+) kept", stdout):
        out["documents"], out["kept"] = _count(m[1]), _count(m[2])
    if m := re.search(r"^\s*lines\s+([\d,]+)", stdout, re.M):
        out["lines"] = _count(m[1])
    return out


# ---------------------------------------------------------------- inputs
def write_jsonl_gz(texts: list[str], folder: Path, shards: int = SHARDS) -> None:
    """texts as DataTrove JSONL ({"id", "text"}) in .jsonl.gz shards, order kept."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for k, (a, b) in enumerate(shard_ranges(len(texts), shards)):
        with gzip.open(folder / f"shard-{k:05d}.jsonl.gz", "wt", encoding="utf-8") as f:
            for i in range(a, b):
                f.write(json.dumps({"id": str(i), "text": texts[i]}, ensure_ascii=False) + "\n")


def first_kept_index(texts: list[str], peer_python: Path, work: Path, limit: int = 200) -> int:
    """Index of the first text that DataTrove's filtering steps keep (run in the peer venv)."""
    sample = work / "first-kept-input"
    write_jsonl_gz(texts[:limit], sample, shards=1)
    res = subprocess.run(
        [str(peer_python), str(PEER_SCRIPT), "--first-kept", str(sample)],
        capture_output=True,
        text=True,
        check=True,
    )
    shutil.rmtree(sample)
    found = int(res.stdout.strip().splitlines()[-1])
    if found < 0:
        sys.exit(f"DataTrove's filters keep none of the first {limit} documents")
    return found


# ---------------------------------------------------------------- measuring
def run_tree(tool: str, label: str, cmd: list[str], cwd: Path, env: dict[str, str]) -> Run:
    """Run cmd; wall time and peak RSS of its process tree (with and without server processes)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    with TreeSampler(proc.pid) as sampler:
        out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{tool} on {label} failed ({proc.returncode}):\n{err[-4000:]}")
    peak = sampler.result()
    return Run(tool, label, wall, peak.peak_mb, peak.peak_no_server_mb, peak.server_processes, out)


def summarize(runs: list[Run], fixed: list[Run], lines: int) -> dict:
    """Medians and peaks of one tool's full and one-document runs."""
    wall = statistics.median(r.wall for r in runs)
    fix = statistics.median(r.wall for r in fixed)
    return {
        "walls": [round(r.wall, 2) for r in runs],
        "fixed_walls": [round(r.wall, 2) for r in fixed],
        "wall": wall,
        "fixed": fix,
        "lines_per_s": lines / wall,
        "net_lines_per_s": net_rate(lines, wall, fix),
        "peak_rss_mb": max(r.peak_rss_mb for r in runs),
        "peak_rss_no_server_mb": max(r.peak_rss_no_server_mb for r in runs),
        "fixed_peak_rss_mb": max(r.peak_rss_mb for r in fixed),
        "server_processes": max(r.server_processes for r in [*runs, *fixed]),
    }


def report(w: dict, d: dict, lines: int, runs: int, probe: list[float]) -> str:
    """The results table (Markdown) and the goals of issue 17."""
    rows = [
        ["", "winnow (1 worker)", "DataTrove (1 task)", "ratio"],
        [
            f"wall, {lines:,} lines (median of {runs})",
            f"{w['wall']:.1f} s",
            f"{d['wall']:.1f} s",
            f"DataTrove / winnow {d['wall'] / w['wall']:.2f}x",
        ],
        [
            "wall, paired: median of per-round ratios",
            "",
            "",
            f"DataTrove / winnow {paired_ratio(d['walls'], w['walls']):.2f}x",
        ],
        [
            f"fixed cost: 1-document input (median of {runs})",
            f"{w['fixed']:.1f} s",
            f"{d['fixed']:.1f} s",
            f"winnow / DataTrove {w['fixed'] / d['fixed']:.2f}x",
        ],
        [
            "fixed cost, paired: median of per-round ratios",
            "",
            "",
            f"winnow / DataTrove {paired_ratio(w['fixed_walls'], d['fixed_walls']):.2f}x",
        ],
        [
            "end-to-end lines/s",
            f"{w['lines_per_s']:,.0f}",
            f"{d['lines_per_s']:,.0f}",
            f"winnow / DataTrove {w['lines_per_s'] / d['lines_per_s']:.2f}x",
        ],
        [
            "net lines/s (wall - fixed cost)",
            f"{w['net_lines_per_s']:,.0f}",
            f"{d['net_lines_per_s']:,.0f}",
            f"winnow / DataTrove {w['net_lines_per_s'] / d['net_lines_per_s']:.2f}x",
        ],
        [
            "peak RSS, whole process tree",
            f"{w['peak_rss_mb']:.0f} MiB",
            f"{d['peak_rss_mb']:.0f} MiB",
            f"winnow / DataTrove {w['peak_rss_mb'] / d['peak_rss_mb']:.2f}x",
        ],
        [
            "peak RSS, tree without Prefect server",
            f"{w['peak_rss_no_server_mb']:.0f} MiB",
            f"{d['peak_rss_no_server_mb']:.0f} MiB",
            f"winnow / DataTrove {w['peak_rss_no_server_mb'] / d['peak_rss_no_server_mb']:.2f}x",
        ],
        [
            "peak RSS, 1-document run",
            f"{w['fixed_peak_rss_mb']:.0f} MiB",
            f"{d['fixed_peak_rss_mb']:.0f} MiB",
            "",
        ],
    ]
    ratio_net = w["net_lines_per_s"] / d["net_lines_per_s"]
    goals = [
        ["issue 17 goal", "value", "goal", "met"],
        [
            "winnow net lines/s, 1 worker",
            f"{w['net_lines_per_s']:,.0f}",
            ">= 25,000",
            str(w["net_lines_per_s"] >= 25_000),
        ],
        ["winnow / DataTrove net lines/s", f"{ratio_net:.2f}x", ">= 8x", str(ratio_net >= 8)],
        ["winnow 1-document run", f"{w['fixed']:.1f} s", "<= 5 s", str(w["fixed"] <= 5)],
        [
            "winnow peak RSS without server",
            f"{w['peak_rss_no_server_mb']:.0f} MiB",
            f"<= 300 MiB and < DataTrove's {d['peak_rss_mb']:.0f}",
            str(
                w["peak_rss_no_server_mb"] <= 300 and w["peak_rss_no_server_mb"] < d["peak_rss_mb"]
            ),
        ],
        [
            "machine: 2 busy processes / 1 (before, after)",
            " / ".join(f"{p:.2f}x" for p in probe),
            "2.0x = 2 free cores",
            "",
        ],
    ]
    return fmt_table(rows) + "\n\n" + fmt_table(goals)


def main(argv: list[str] | None = None) -> int:
    """Build or take the corpus, convert it for DataTrove, run both alternately, print tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=None, help="existing make_corpus.py folder")
    ap.add_argument("--lines", type=int, default=100_000, help="corpus lines when building one")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", type=int, default=3, help="alternating rounds (median)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "peer")
    ap.add_argument("--peer-python", type=Path, default=PEER_PYTHON)
    ap.add_argument("--winnow-python", type=Path, default=Path(sys.executable))
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    args = ap.parse_args(argv)
    if not args.peer_python.exists():
        sys.exit(f"{args.peer_python} not found: run `make peer-venv` first")

    args.out.mkdir(parents=True, exist_ok=True)
    corpus = args.corpus
    if corpus is None:
        from make_corpus import build_corpus, load_sources

        corpus = args.out / f"corpus-{args.lines}"
        build_corpus(args.lines, corpus, seed=args.seed, src=load_sources())
    texts = read_corpus_texts(corpus)
    lines = sum(count_lines(t) for t in texts)
    dt_full = args.out / "datatrove-input"
    write_jsonl_gz(texts, dt_full)
    one = first_kept_index(texts, args.peer_python, args.out)
    one_w, one_d = args.out / "one-doc-winnow", args.out / "one-doc-datatrove"
    write_jsonl_gz([texts[one]], one_d, shards=1)
    if one_w.exists():
        shutil.rmtree(one_w)
    one_w.mkdir(parents=True)
    (one_w / "doc.jsonl").write_text(json.dumps({"text": texts[one]}) + "\n", encoding="utf-8")
    print(
        f"corpus {corpus}: {len(texts):,} documents, {lines:,} lines; for DataTrove: "
        f"{dt_full} ({min(SHARDS, len(texts))} .jsonl.gz shards, same documents and order); "
        f"1-document input: document #{one} ({count_lines(texts[one])} lines)",
        flush=True,
    )

    env = {**os.environ}
    mode = {k: env[k] for k in ("WINNOW_SERVER", "PREFECT_API_URL") if env.get(k)}
    print(
        "winnow server mode: "
        + (", ".join(f"{k}={v}" for k, v in mode.items()) if mode else "default (env unset)"),
        flush=True,
    )

    def winnow(inp: Path, label: str) -> Run:
        out = args.out / f"winnow-out-{label}"
        cmd = [str(args.winnow_python), "-m", "flows.cli", "run", str(inp), "-o", str(out)]
        return run_tree("winnow", label, [*cmd, "--fresh", "--quiet"], ROOT, env)

    def datatrove(inp: Path, label: str) -> Run:
        cmd = [str(args.peer_python), str(PEER_SCRIPT), str(inp), str(args.out / f"dt-{label}")]
        return run_tree("datatrove", label, cmd, ROOT, env)

    probe = [probe_parallelism()]
    print(f"parallelism probe: {probe[0]:.2f}x; warm-up (1-document, untimed) ...", flush=True)
    winnow(one_w, "one")
    datatrove(one_d, "one")
    res: dict[str, dict[str, list[Run]]] = {
        t: {"full": [], "one": []} for t in ("winnow", "datatrove")
    }
    for i in range(args.runs):
        for kind, w_in, d_in in (("one", one_w, one_d), ("full", corpus, dt_full)):
            for tool, fn, inp in (("winnow", winnow, w_in), ("datatrove", datatrove, d_in)):
                r = fn(inp, kind)
                res[tool][kind].append(r)
                print(
                    f"round {i + 1}/{args.runs} {tool:9} {kind:4}: {r.wall:6.2f} s, "
                    f"peak RSS {r.peak_rss_mb:5.0f} MiB "
                    f"({r.peak_rss_no_server_mb:.0f} without {r.server_processes} server proc.)",
                    flush=True,
                )
    probe.append(probe_parallelism())

    w = summarize(res["winnow"]["full"], res["winnow"]["one"], lines)
    d = summarize(res["datatrove"]["full"], res["datatrove"]["one"], lines)
    w["summary"] = parse_winnow_summary(res["winnow"]["full"][-1].stdout)
    d["summary"] = json.loads(res["datatrove"]["full"][-1].stdout.strip().splitlines()[-1])
    print()
    print(report(w, d, lines, args.runs, probe))
    ws, ds = w["summary"], d["summary"]
    print(
        f"\nwinnow: {ws.get('documents')} documents, {ws.get('kept')} kept, "
        f"{ws.get('lines')} lines by its count; DataTrove: {ds['documents']} documents, "
        f"{ds['kept_after_filters']} after its filters, {ds['kept_after_dedup']} after MinHash; "
        "stage seconds (last run): " + ", ".join(f"{k} {v:.1f}" for k, v in ds["seconds"].items())
    )
    print(
        "DataTrove filters (last run; documents in, dropped, seconds): "
        + "; ".join(
            f"{st['name'].split(': ')[-1]} {st['total']}, -{st['dropped']}, {st['seconds']:.1f} s"
            for st in ds.get("filter_steps", [])
        )
    )
    print(
        f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.platform()}; date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "lines": lines,
            "documents": len(texts),
            "runs": args.runs,
            "probe": probe,
            "server_mode": mode,
            "winnow": w,
            "datatrove": d,
            "all_runs": [
                {k: v for k, v in asdict(r).items() if k != "stdout"}
                for t in res.values()
                for rs in t.values()
                for r in rs
            ],
        }
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
