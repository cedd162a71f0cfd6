"""Boilerplate detection quality: precision, recall and F1 of the boilerplate class.

Compares winnow's `flag_lines` with two baselines measured in the same run:

- `rule`: boilerplate if the line has fewer than 3 words or does not end in . ! ? " '
- `justext-en`: jusText 3.0.2, default parameters, English stoplist, each line its own <p>

winnow runs the way the pipeline runs it: one page at a time, with `key_doc_count` counted
across the pages of the evaluated set (cross-document counts, as in production).
Pages are split by domain hash into `dev-a` (design) and `dev-b` (check).

    python benchmarks/eval_boilerplate.py                      # ../shared/eval/boilerplate/dev.jsonl.gz
    python benchmarks/eval_boilerplate.py --data tests/data/boilerplate/sample.jsonl.gz
    python benchmarks/eval_boilerplate.py --ablation           # drop one signal at a time
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import xxhash
from _shared import REPO, shared_file  # noqa: E402  (puts the repo on sys.path)

from transforms.boilerplate import RULES, flag_lines  # noqa: E402
from transforms.lines import line_key  # noqa: E402
from transforms.quality import quality_signals  # noqa: E402

DEFAULT_DATA = shared_file("eval", "boilerplate", "dev.jsonl.gz")
SAMPLE_DATA = REPO / "tests" / "data" / "boilerplate" / "sample.jsonl.gz"
TERMINAL = (".", "!", "?", '"', "'")
_TOKEN_SPLIT = re.compile(r"[\W_]+")  # the labels' tokenizer (SOURCES.md, step 3)


def load_pages(path: Path) -> list[dict]:
    """Pages of a labelled JSONL.gz file (doc_id, source, url, lines, labels)."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def domain_half(url: str) -> str:
    """`dev-a` or `dev-b`, a stable split by the page's host (whole domains per half)."""
    host = (urlsplit(url or "").hostname or "").removeprefix("www.")
    return "dev-a" if xxhash.xxh3_64_intdigest(host.encode()) % 2 == 0 else "dev-b"


def key_counts(pages: Iterable[dict]) -> tuple[list[list[int]], Counter]:
    """Line keys per page, and how many pages contain each key (as flows/etl.py count_keys)."""
    keys = [[line_key(t) for t in p["lines"]] for p in pages]
    counts: Counter = Counter()
    for ks in keys:
        counts.update({k for k in ks if k})
    return keys, counts


def predict_winnow(pages: Sequence[dict], *, rules: frozenset[str] = RULES) -> list[list[bool]]:
    """winnow's flags, page by page, with cross-page key counts."""
    keys, counts = key_counts(pages)
    out = []
    for page, ks in zip(pages, keys, strict=True):
        kdc = [counts[k] if k else 0 for k in ks]
        out.append([bool(r) for r in flag_lines(page["lines"], ks, kdc, rules=rules)])
    return out


def predict_rule(pages: Sequence[dict]) -> list[list[bool]]:
    """Baseline: fewer than 3 words or no terminal punctuation."""
    return [
        [len(t.split()) < 3 or not t.rstrip().endswith(TERMINAL) for t in p["lines"]] for p in pages
    ]


def predict_justext(pages: Sequence[dict]) -> list[list[bool]] | None:
    """Baseline: jusText per line (None when justext is not installed)."""
    try:
        import justext
    except ImportError:
        return None
    stoplist = justext.get_stoplist("English")
    out = []
    for p in pages:
        doc = (
            "<html><body>"
            + "".join(f"<p>{html.escape(t)}</p>" for t in p["lines"])
            + "</body></html>"
        )
        paras = justext.justext(doc.encode("utf-8"), stoplist)
        flags = [para.is_boilerplate for para in paras]
        if len(flags) != len(p["lines"]):  # jusText merged/dropped a paragraph: align by text
            by_text = {para.text: para.is_boilerplate for para in paras}
            flags = [by_text.get(" ".join(t.split()), True) for t in p["lines"]]
        out.append(flags)
    return out


def prf(pred: Iterable[bool], gold: Iterable[bool]) -> tuple[int, float, float, float]:
    """Lines, precision, recall, F1 of the positive (boilerplate) class."""
    tp = fp = fn = n = 0
    for p, g in zip(pred, gold, strict=True):
        n += 1
        tp += p and g
        fp += p and not g
        fn += g and not p
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return n, prec, rec, f1


def score_groups(
    pages: Sequence[dict], preds: Sequence[Sequence[bool]]
) -> dict[str, tuple[int, float, float, float]]:
    """P/R/F1 per source, per domain half, overall, and on lines of >= 3 tokens (micro-averaged).

    `3+ tokens`: the labels of 1-2-token lines say only whether those words occur in the
    page's gold text (SOURCES.md, step 4), so "Home" or "About" is `content` on most pages.
    """
    groups: dict[str, tuple[list[bool], list[bool]]] = {}
    for page, pred in zip(pages, preds, strict=True):
        gold = [lab == "boilerplate" for lab in page["labels"]]
        for g in (page["source"], domain_half(page.get("url", "")), "all"):
            ps, gs = groups.setdefault(g, ([], []))
            ps.extend(pred)
            gs.extend(gold)
        ps, gs = groups.setdefault("all, 3+ tokens", ([], []))
        for text, p, y in zip(page["lines"], pred, gold, strict=True):
            if len(_TOKEN_SPLIT.sub(" ", text.lower()).split()) >= 3:
                ps.append(p)
                gs.append(y)
    special = {"all", "dev-a", "dev-b", "all, 3+ tokens"}
    order = sorted(k for k in groups if k not in special)
    order += [k for k in ("dev-a", "dev-b", "all", "all, 3+ tokens") if k in groups]
    return {g: prf(*groups[g]) for g in order}


def print_table(results: dict[str, dict[str, tuple[int, float, float, float]]]) -> None:
    print("| group | lines | system | P | R | F1 |")
    print("|---|---:|---|---:|---:|---:|")
    groups = next(iter(results.values()))
    for g in groups:
        for system, res in results.items():
            n, p, r, f = res[g]
            print(f"| {g} | {n:,} | {system} | {p:.3f} | {r:.3f} | {f:.3f} |")


def throughput(pages: Sequence[dict], fn: Callable[[], object], repeat: int = 3) -> float:
    """Best-of-`repeat` lines per second of fn() over the pages."""
    n = sum(len(p["lines"]) for p in pages)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--data", type=Path, default=None, help=f"labelled pages (default {DEFAULT_DATA})"
    )
    ap.add_argument("--no-justext", action="store_true", help="skip the jusText baseline")
    ap.add_argument("--ablation", action="store_true", help="F1 with each signal switched off")
    ap.add_argument("--speed", action="store_true", help="lines/s of flag_lines")
    args = ap.parse_args(argv)
    path = args.data
    if path is None:
        path = DEFAULT_DATA if DEFAULT_DATA.exists() else SAMPLE_DATA
        if path == SAMPLE_DATA:
            print(f"note: {DEFAULT_DATA} not found; using the in-repo sample {SAMPLE_DATA}\n")
    if not path.exists():
        print(f"error: {path} not found", file=sys.stderr)
        return 2
    pages = load_pages(path)
    print(f"data: {path} ({len(pages)} pages, {sum(len(p['lines']) for p in pages):,} lines)\n")
    results = {"winnow": score_groups(pages, predict_winnow(pages))}
    results["rule"] = score_groups(pages, predict_rule(pages))
    if not args.no_justext:
        jt = predict_justext(pages)
        if jt is None:
            print("note: justext not installed; skipping the jusText baseline")
        else:
            results["justext-en"] = score_groups(pages, jt)
    print_table(results)
    ours = results["winnow"]["all"][3]
    best_name = max((k for k in results if k != "winnow"), key=lambda k: results[k]["all"][3])
    best = results[best_name]["all"][3]
    print(
        f"\nwinnow F1 {ours:.4f}; better baseline {best_name} {best:.4f}; "
        f"margin {ours - best:+.4f} (issue 5 goal: F1 >= 0.85 and margin >= +0.05)"
    )
    if args.ablation:
        base = results["winnow"]["all"][3]
        print("\n| signal switched off | F1 all | ΔF1 | F1 dev-a | F1 dev-b |")
        print("|---|---:|---:|---:|---:|")
        for rule in sorted(RULES):
            res = score_groups(pages, predict_winnow(pages, rules=RULES - {rule}))
            f_all = res["all"][3]
            fa, fb = res.get("dev-a", (0, 0, 0, 0))[3], res.get("dev-b", (0, 0, 0, 0))[3]
            print(f"| {rule} | {f_all:.3f} | {f_all - base:+.3f} | {fa:.3f} | {fb:.3f} |")
    if args.speed:
        keys, counts = key_counts(pages)
        kdcs = [[counts[k] if k else 0 for k in ks] for ks in keys]

        def run_flags() -> None:
            for p, ks, kdc in zip(pages, keys, kdcs, strict=True):
                flag_lines(p["lines"], ks, kdc)

        def run_keys() -> None:
            for p in pages:
                for t in p["lines"]:
                    line_key(t)

        contents = []
        for p, ks, kdc in zip(pages, keys, kdcs, strict=True):
            reasons = flag_lines(p["lines"], ks, kdc)
            contents.append("\n".join(t for t, r in zip(p["lines"], reasons, strict=True) if not r))

        def run_quality() -> None:
            for text in contents:
                quality_signals(text)

        flags_lps = throughput(pages, run_flags)
        keys_lps = throughput(pages, run_keys)
        quality_lps = throughput(pages, run_quality)
        print("\n| step | lines/s | ratio vs line_key |")
        print("|---|---:|---:|")
        print(f"| line_key (reference) | {keys_lps:,.0f} | 1.00 |")
        print(f"| flag_lines | {flags_lps:,.0f} | {flags_lps / keys_lps:.2f} |")
        print(
            f"| quality_signals (page lines; content text) | {quality_lps:,.0f} "
            f"| {quality_lps / keys_lps:.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
