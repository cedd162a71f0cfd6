"""Boilerplate detection quality per source and language: boilerplate/content/macro F1.

Compares winnow's `flag_lines` with baselines measured in the same run:

- `rule`: boilerplate if the line has fewer than 3 words or does not end in . ! ? " '
- `justext`: jusText 3.0.2, default parameters, the stoplist of the page's `lang` (English
  when the page has none), each line its own <p>; language-independent mode (empty
  stoplist, stopwords_low = stopwords_high = 0) for languages jusText has no stoplist for
- `before` (with `--base DIR`): `transforms/boilerplate.py` of another checkout, e.g. the
  pre-change main in /work/base, loaded in this process (it imports only the stdlib)

winnow runs the way the pipeline runs it: one page at a time, with `key_doc_count` counted
across the pages of the evaluated set, and each line's raw language label from
`transforms.language.detect_lines` (as stage A gives it). Only labelled lines are scored
(trafilatura's labels are sparse). Pages are split by domain hash into `dev-a` (design) and
`dev-b` (check). Macro F1 = mean of the boilerplate-class and the content-class F1.

    python benchmarks/eval_boilerplate.py                      # every set under ../shared/eval/boilerplate/
    python benchmarks/eval_boilerplate.py --data tests/data/boilerplate/sample.jsonl.gz
    python benchmarks/eval_boilerplate.py --base /work/base --speed   # before/after, sign test, lines/s
    python benchmarks/eval_boilerplate.py --ablation           # drop one signal at a time
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import importlib.util
import json
import math
import pickle
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
from transforms.language import detect_lines  # noqa: E402
from transforms.lexicon import JUSTEXT_STOPLISTS  # noqa: E402
from transforms.lines import line_key  # noqa: E402

SHARED = shared_file("eval", "boilerplate")
DEFAULT_DATA = [
    SHARED / "dev.jsonl.gz",
    SHARED / "multi" / "dev-daniel.jsonl.gz",
    SHARED / "multi" / "dev-trafilatura.jsonl.gz",
]
SAMPLE_DATA = REPO / "tests" / "data" / "boilerplate" / "sample.jsonl.gz"
TERMINAL = (".", "!", "?", '"', "'")
CACHE_DIR = REPO / "benchmarks" / "out" / "cache"
# The "emptied documents": a page with at least this share of labelled content lines
# must keep at least one content line.
EMPTIED_MIN_CONTENT_SHARE = 0.2
# Languages with at least this many pages get their own row (the threshold).
MIN_LANG_PAGES = 20

Scores = tuple[int, float, float, float, float, float]  # lines, P, R, F1 bp, F1 content, macro


def load_pages(path: Path) -> list[dict]:
    """Pages of a labelled JSONL.gz file (doc_id, source, url, lang, lines, labels)."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def domain_half(url: str) -> str:
    """`dev-a` or `dev-b`, a stable split by the page's host (whole domains per half)."""
    host = (urlsplit(url or "").hostname or "").removeprefix("www.")
    return "dev-a" if xxhash.xxh3_64_intdigest(host.encode()) % 2 == 0 else "dev-b"


def _cached(name: str, path: Path, fn: Callable[[], object]) -> object:
    """fn() cached on disk by data file content (language labels, jusText output)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    f = CACHE_DIR / f"{name}-{digest}.pkl"
    if f.exists():
        return pickle.loads(f.read_bytes())
    out = fn()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    f.write_bytes(pickle.dumps(out))
    return out


def key_counts(pages: Iterable[dict]) -> tuple[list[list[int]], Counter]:
    """Line keys per page, and how many pages contain each key (as flows/etl.py count_keys)."""
    keys = [[line_key(t) for t in p["lines"]] for p in pages]
    counts: Counter = Counter()
    for ks in keys:
        counts.update({k for k in ks if k})
    return keys, counts


def line_languages(pages: Sequence[dict]) -> list[list[str]]:
    """Raw per-line language labels, as stage A computes them."""
    texts = [t for p in pages for t in p["lines"]]
    labels = iter(r.lang for r in detect_lines(texts, [line_key(t) for t in texts]))
    return [[next(labels) for _ in p["lines"]] for p in pages]


class Inputs:
    """What flag_lines needs per page: keys, key_doc_counts, raw line languages."""

    def __init__(self, pages: Sequence[dict], langs: list[list[str]]) -> None:
        self.keys, counts = key_counts(pages)
        self.kdcs = [[counts[k] if k else 0 for k in ks] for ks in self.keys]
        self.langs = langs


def predict_winnow(
    pages: Sequence[dict], inputs: Inputs, *, rules: frozenset[str] = RULES
) -> list[list[bool]]:
    """winnow's flags, page by page, with cross-page key counts and line languages."""
    return [
        [bool(r) for r in flag_lines(p["lines"], ks, kdc, langs=langs, rules=rules)]
        for p, ks, kdc, langs in zip(pages, inputs.keys, inputs.kdcs, inputs.langs, strict=True)
    ]


def load_base(base: Path):
    """`transforms/boilerplate.py` of another checkout as a separate module (stdlib only)."""
    spec = importlib.util.spec_from_file_location(
        "base_boilerplate", base / "transforms" / "boilerplate.py"
    )
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while it executes
    spec.loader.exec_module(mod)
    return mod


def predict_base(mod, pages: Sequence[dict], inputs: Inputs) -> list[list[bool]]:
    """The other checkout's flags (positional call, as its rows.py makes it)."""
    return [
        [bool(r) for r in mod.flag_lines(p["lines"], ks, kdc)]
        for p, ks, kdc in zip(pages, inputs.keys, inputs.kdcs, strict=True)
    ]


def predict_rule(pages: Sequence[dict]) -> list[list[bool]]:
    """Baseline: fewer than 3 words or no terminal punctuation."""
    return [
        [len(t.split()) < 3 or not t.rstrip().endswith(TERMINAL) for t in p["lines"]] for p in pages
    ]


def predict_justext(pages: Sequence[dict]) -> list[list[bool]] | None:
    """Baseline: jusText per line with the page language's stoplist (None if not installed)."""
    try:
        import justext
    except ImportError:
        return None
    stoplists: dict[str, frozenset[str]] = {}
    out = []
    for p in pages:
        name = JUSTEXT_STOPLISTS.get(p.get("lang") or "en")
        if name not in stoplists:
            stoplists[name] = justext.get_stoplist(name) if name else frozenset()
        kw = {} if name else {"stopwords_low": 0, "stopwords_high": 0}
        doc = (
            "<html><body>"
            + "".join(f"<p>{html.escape(t)}</p>" for t in p["lines"])
            + "</body></html>"
        )
        paras = justext.justext(doc.encode("utf-8"), stoplists[name], **kw)
        flags = [para.is_boilerplate for para in paras]
        if len(flags) != len(p["lines"]):  # jusText merged/dropped a paragraph: align by text
            by_text = {para.text: para.is_boilerplate for para in paras}
            flags = [by_text.get(" ".join(t.split()), True) for t in p["lines"]]
        out.append(flags)
    return out


def f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall, F1."""
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return prec, rec, 2 * prec * rec / (prec + rec) if prec + rec else 0.0


def score(pairs: Iterable[tuple[bool, bool]]) -> Scores:
    """Lines, P/R/F1 of the boilerplate class, F1 of the content class, macro F1."""
    c: Counter = Counter(pairs)
    tp, fp, fn, tn = c[True, True], c[True, False], c[False, True], c[False, False]
    prec, rec, f_bp = f1(tp, fp, fn)
    _, _, f_ct = f1(tn, fn, fp)
    return tp + fp + fn + tn, prec, rec, f_bp, f_ct, (f_bp + f_ct) / 2


def labelled(page: dict, pred: Sequence[bool]) -> list[tuple[bool, bool]]:
    """(predicted, gold) boilerplate of the page's labelled lines."""
    return [(p, lab == "boilerplate") for p, lab in zip(pred, page["labels"], strict=True) if lab]


# Page types by URL (the sets carry none): forum and Q&A threads, shop pages, documentation;
# everything else counts as an article. Rough (a blog post under /community/ is a "forum"),
# but it separates the page types the hidden set has besides articles.
PAGE_TYPES = {
    "forum": (
        r"^(forums?|community|discuss|discourse|answers|talk)\.|stackexchange|stackoverflow"
        r"|superuser|serverfault|askubuntu|reddit|quora|mumsnet",
        r"/t/|/threads?/|/questions/|/forums?/|/talk/|/topics?/|/discussions?/|/community/"
        r"|viewtopic|showthread",
    ),
    "shop": (r"shop|store", r"/products?/|/dp/|/shop/|/item/|/p/|/collections?/|/store/"),
    "docs": (
        r"^(docs?|wiki|developer|learn|help|support)\.",
        r"/docs?/|/documentation/|/wiki/|/manual/|/handbook/|/guide/|/reference/|/api/|/help/",
    ),
}


def page_type(url: str) -> str:
    """`forum`, `shop`, `docs` or `article`, from the page's URL.

    >>> page_type("https://forum.obsidian.md/t/plugins/1"), page_type("https://x.com/news/a")
    ('forum', 'article')
    """
    parts = urlsplit(url or "")
    host, path = (parts.hostname or "").removeprefix("www."), parts.path.lower()
    for name, (host_re, path_re) in PAGE_TYPES.items():
        if re.search(host_re, host) or re.search(path_re, path):
            return name
    return "article"


def page_groups(page: dict) -> list[str]:
    """The table rows a page counts in: source, source/lang, source:page type (not
    articles), domain half."""
    src = page["source"]
    out = [src]
    if page.get("lang"):
        out.append(f"{src}/{page['lang']}")
    kind = page_type(page.get("url") or "")
    if kind != "article":
        out.append(f"{src}:{kind}")
    return [*out, domain_half(page.get("url") or ""), "all"]


def score_groups(pages: Sequence[dict], preds: Sequence[Sequence[bool]]) -> dict[str, Scores]:
    """Scores per source, per source and language (>= MIN_LANG_PAGES pages), half, overall."""
    pairs: dict[str, list[tuple[bool, bool]]] = {}
    n_pages: Counter = Counter()
    for page, pred in zip(pages, preds, strict=True):
        lab = labelled(page, pred)
        for g in page_groups(page):
            pairs.setdefault(g, []).extend(lab)
            n_pages[g] += 1
    special = ("dev-a", "dev-b", "all")
    order = sorted(g for g in pairs if g not in special and n_pages[g] >= MIN_LANG_PAGES)
    return {g: score(pairs[g]) for g in [*order, *(g for g in special if g in pairs)]}


def emptied(pages: Sequence[dict], preds: Sequence[Sequence[bool]]) -> tuple[int, int]:
    """(emptied, eligible): pages with >= 20% labelled content lines whose lines all got flagged."""
    eligible = hit = 0
    for page, pred in zip(pages, preds, strict=True):
        labs = [lab for lab in page["labels"] if lab]
        if not labs or labs.count("content") < EMPTIED_MIN_CONTENT_SHARE * len(labs):
            continue
        eligible += 1
        hit += all(pred)
    return hit, eligible


def sign_test(
    pages: Sequence[dict], new: Sequence[Sequence[bool]], old: Sequence[Sequence[bool]]
) -> tuple[int, int, float]:
    """Pages with more / fewer correctly labelled lines under `new`, and the two-sided p."""
    better = worse = 0
    for page, a, b in zip(pages, new, old, strict=True):
        ca = sum(p == g for p, g in labelled(page, a))
        cb = sum(p == g for p, g in labelled(page, b))
        better += ca > cb
        worse += ca < cb
    n, k = better + worse, min(better, worse)
    p = min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n) if n else 1.0
    return better, worse, p


def print_table(results: dict[str, dict[str, Scores]]) -> None:
    print("| group | lines | system | P | R | F1 bp | F1 content | macro F1 |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    groups = next(iter(results.values()))
    for g in groups:
        for system, res in results.items():
            n, p, r, fb, fc, m = res[g]
            print(f"| {g} | {n:,} | {system} | {p:.3f} | {r:.3f} | {fb:.3f} | {fc:.3f} | {m:.3f} |")


def print_targets(results: dict[str, dict[str, Scores]]) -> None:
    """The issue's target per group: macro F1 >= max(rule, jusText) + 0.05 and >= rule."""
    ours = results["winnow"]
    print("\n| group | winnow macro | best baseline | target | met |")
    print("|---|---:|---:|---:|---|")
    for g in ours:
        if g in ("dev-a", "dev-b"):
            continue
        base = {k: results[k][g][5] for k in ("rule", "justext") if k in results}
        best = max(base.values())
        ok = ours[g][5] >= best + 0.05 and ours[g][5] >= base["rule"]
        print(
            f"| {g} | {ours[g][5]:.3f} | {best:.3f} | {best + 0.05:.3f} | {'yes' if ok else 'NO'} |"
        )


def throughput(n_lines: int, fn: Callable[[], object], repeat: int = 3) -> float:
    """Best-of-`repeat` lines per second of fn()."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n_lines / best


def extracted_region(page: dict, margin: int) -> slice:
    """The lines from `margin` lines before the first labelled content line to `margin` after
    the last: the page as a first-pass extractor leaves it (the plain-text proxy)."""
    content = [i for i, lab in enumerate(page["labels"]) if lab == "content"]
    if not content:
        return slice(0, 0)
    return slice(max(content[0] - margin, 0), content[-1] + margin + 1)


def trim_pages(
    pages: list[dict], langs: list[list[str]], margin: int
) -> tuple[list[dict], list[list[str]]]:
    """Pages cut to their `extracted_region` (pages without content lines dropped)."""
    out_pages, out_langs = [], []
    for page, lg in zip(pages, langs, strict=True):
        cut = extracted_region(page, margin)
        if cut.stop > cut.start:
            out_pages.append({**page, "lines": page["lines"][cut], "labels": page["labels"][cut]})
            out_langs.append(lg[cut])
    return out_pages, out_langs


def evaluate(path: Path, args: argparse.Namespace, base) -> dict[str, list]:
    """Print the tables of one labelled set; return its pages and predictions for speed."""
    pages = load_pages(path)
    langs = _cached("langs", path, lambda: line_languages(pages))
    if args.extracted is not None:
        pages, langs = trim_pages(pages, langs, args.extracted)
    n_lines = sum(len(p["lines"]) for p in pages)
    label = "" if args.extracted is None else f", cut to content +- {args.extracted} lines"
    print(f"\n## {path.name} ({len(pages)} pages, {n_lines:,} lines{label})\n")
    inputs = Inputs(pages, langs)
    preds = {"winnow": predict_winnow(pages, inputs)}
    if base is not None:
        preds["before"] = predict_base(base, pages, inputs)
    preds["rule"] = predict_rule(pages)
    if not args.no_justext:
        cut = "" if args.extracted is None else f"-cut{args.extracted}"
        jt = _cached(f"justext{cut}", path, lambda: predict_justext(pages))
        if jt is None:
            print("note: justext not installed; skipping the jusText baseline")
        else:
            preds["justext"] = jt
    results = {k: score_groups(pages, v) for k, v in preds.items()}
    print_table(results)
    print_targets(results)
    print("\n| system | emptied pages | eligible (>= 20% content) | share |")
    print("|---|---:|---:|---:|")
    for k, v in preds.items():
        hit, n = emptied(pages, v)
        print(f"| {k} | {hit} | {n} | {hit / max(n, 1):.2%} |")
    if base is not None:
        better, worse, p = sign_test(pages, preds["winnow"], preds["before"])
        print(
            f"\nsign test vs before: {better} pages better, {worse} worse (two-sided p = {p:.2g})"
        )
    if args.ablation:
        ref = results["winnow"]["all"][5]
        print("\n| signal switched off | macro all | Δ | macro dev-a | macro dev-b |")
        print("|---|---:|---:|---:|---:|")
        for rule in sorted(RULES):
            res = score_groups(pages, predict_winnow(pages, inputs, rules=RULES - {rule}))
            m = res["all"][5]
            ma, mb = res.get("dev-a", (0,) * 6)[5], res.get("dev-b", (0,) * 6)[5]
            print(f"| {rule} | {m:.3f} | {m - ref:+.3f} | {ma:.3f} | {mb:.3f} |")
    return {"pages": pages, "inputs": inputs}


def print_speed(sets: list[dict], base) -> None:
    """lines/s of flag_lines, this checkout and (with --base) the other, in this process."""
    work = [
        (page, ks, kdc, langs)
        for pages, inputs in ((s["pages"], s["inputs"]) for s in sets)
        for page, ks, kdc, langs in zip(pages, inputs.keys, inputs.kdcs, inputs.langs, strict=True)
    ]
    n = sum(len(w[0]["lines"]) for w in work)

    def run_new() -> None:
        for page, ks, kdc, langs in work:
            flag_lines(page["lines"], ks, kdc, langs=langs)

    def run_old() -> None:
        for page, ks, kdc, _ in work:
            base.flag_lines(page["lines"], ks, kdc)

    from transforms import boilerplate

    def cold(mod, fn: Callable[[], object]) -> float:
        # the per-process line cache starts empty
        clear = getattr(mod, "clear_evidence_cache", None)
        clear() if clear else mod._line_evidence_cached.cache_clear()
        return throughput(n, fn, repeat=1)

    print(f"\n## speed (flag_lines over {n:,} lines, one process, alternating)\n")
    print("| version | lines/s, cold line cache | lines/s, warm (best of 3) |")
    print("|---|---:|---:|")
    for _ in range(2):
        if base is not None:
            print(f"| before | {cold(base, run_old):,.0f} | {throughput(n, run_old):,.0f} |")
        print(
            f"| this checkout | {cold(boilerplate, run_new):,.0f} | {throughput(n, run_new):,.0f} |"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, nargs="*", default=None, help="labelled pages")
    ap.add_argument("--no-justext", action="store_true", help="skip the jusText baseline")
    ap.add_argument("--ablation", action="store_true", help="macro F1 with each signal off")
    ap.add_argument("--speed", action="store_true", help="lines/s of flag_lines")
    ap.add_argument("--base", type=Path, default=None, help="another checkout to compare with")
    ap.add_argument(
        "--extracted",
        type=int,
        default=None,
        metavar="MARGIN",
        help="cut each page to its labelled content +- MARGIN lines (a plain-text proxy)",
    )
    args = ap.parse_args(argv)
    paths = args.data or [p for p in DEFAULT_DATA if p.exists()] or [SAMPLE_DATA]
    if paths == [SAMPLE_DATA] and not args.data:
        print(f"note: no set under {SHARED}; using the in-repo sample {SAMPLE_DATA}")
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(f"error: {missing[0]} not found", file=sys.stderr)
        return 2
    base = load_base(args.base) if args.base else None
    sets = [evaluate(p, args, base) for p in paths]
    if args.speed:
        print_speed(sets, base)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
