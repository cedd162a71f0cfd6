"""Language-ID accuracy per kind and per language: raw langdetect vs winnow, in one run.

- `raw`: seeded langdetect on the text as-is (`und` on exception), the naive use.
- `winnow`: `detect_language` (ALL-CAPS lowercased, `und` without letters, script guard).

Both use the same engine (`--engine`, default auto = langdetect-rs, bit-identical to
langdetect 1.0.9 seeded; `--engine py` runs pure langdetect).

    python benchmarks/eval_language.py                  # ../shared/eval/langid/dev.tsv
    python benchmarks/eval_language.py --data tests/data/langid/sample.tsv
    python benchmarks/eval_language.py --per-language
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

from _shared import REPO, data_or_sample, shared_file  # noqa: E402  (puts the repo on sys.path)

from transforms.language import UND, _engine, detect_languages  # noqa: E402

DEFAULT_DATA = shared_file("eval", "langid", "dev.tsv")
SAMPLE_DATA = REPO / "tests" / "data" / "langid" / "sample.tsv"
KINDS = ("word", "pair", "sentence", "caps_sentence")


def load_rows(path: Path) -> list[tuple[str, str, str]]:
    """(lang, kind, text) rows of a langid TSV file (header lang, kind, text; no quoting)."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        return [(r[0], r[1], r[2]) for r in reader]


def raw_labels(texts: list[str], *, engine: str = "auto") -> list[str]:
    """Seeded langdetect on each text as-is; `und` where it raises."""
    detect_langs, batch, error = _engine(engine)
    if batch is not None:
        return [langs[0].lang if langs else UND for langs in batch(texts)]
    out = []
    for t in texts:
        try:
            out.append(detect_langs(t)[0].lang)
        except error:
            out.append(UND)
    return out


def accuracy_table(rows, preds: dict[str, list[str]], group: int) -> dict[str, dict[str, float]]:
    """{group value: {system: accuracy}} for group column 0 (lang) or 1 (kind)."""
    hits: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    counts: dict[str, int] = defaultdict(int)
    for i, row in enumerate(rows):
        counts[row[group]] += 1
        for name, labels in preds.items():
            hits[row[group]][name] += labels[i] == row[0]
    return {g: {n: hits[g][n] / counts[g] for n in preds} | {"n": counts[g]} for g in counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--engine", default="auto", choices=["auto", "rs", "py"])
    parser.add_argument("--per-language", action="store_true")
    args = parser.parse_args()
    data = data_or_sample(args.data, SAMPLE_DATA)
    rows = load_rows(data)
    texts = [r[2] for r in rows]
    preds = {
        "raw": raw_labels(texts, engine=args.engine),
        "winnow": [r.lang for r in detect_languages(texts, engine=args.engine)],
    }
    print(f"data: {data} ({len(rows)} rows)")
    print()
    by_kind = accuracy_table(rows, preds, 1)
    print("| kind | n | raw langdetect | winnow | delta |")
    print("|---|---:|---:|---:|---:|")
    for kind in [k for k in KINDS if k in by_kind]:
        a = by_kind[kind]
        print(
            f"| {kind} | {a['n']} | {a['raw']:.1%} | {a['winnow']:.1%} | "
            f"{(a['winnow'] - a['raw']) * 100:+.1f} pt |"
        )
    n = len(rows)
    raw_all = sum(p == r[0] for p, r in zip(preds["raw"], rows, strict=True)) / n
    win_all = sum(p == r[0] for p, r in zip(preds["winnow"], rows, strict=True)) / n
    print(f"| all | {n} | {raw_all:.1%} | {win_all:.1%} | {(win_all - raw_all) * 100:+.1f} pt |")
    if args.per_language:
        print()
        print("| lang | n | raw langdetect | winnow |")
        print("|---|---:|---:|---:|")
        for lang, a in sorted(accuracy_table(rows, preds, 0).items()):
            print(f"| {lang} | {a['n']} | {a['raw']:.1%} | {a['winnow']:.1%} |")


if __name__ == "__main__":
    main()
