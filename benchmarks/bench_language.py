"""Line language-ID throughput: winnow vs naive per-line langdetect, measured in one run.

Input: every line of every page of the boilerplate dev set (real web lines, repeats included).

- `naive`: `langdetect.detect(line)` per line, `DetectorFactory.seed = 0`, one process, on a
  fixed random subsample (`--baseline-lines`, default 3000) because it is slow.
- `winnow`: `line_key` + `detect_lines` (cache by line key, one batched langdetect-rs call for
  the distinct keys) on ALL lines, with a fresh cache.

Agreement is measured on the subsample against the reference label: pure langdetect 1.0.9
(seeded) on the wrapper-prepared text (ALL-CAPS lowercased, `und` without letters, script
guard) -- the semantics winnow promises. Agreement with the naive label as-is is printed too
(it differs exactly where the wrapper's fixes apply).

    python benchmarks/bench_language.py                 # ../shared/eval/boilerplate/dev.jsonl.gz
    python benchmarks/bench_language.py --data tests/data/boilerplate/sample.jsonl.gz
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import time
import unicodedata
from pathlib import Path

from _shared import REPO, data_or_sample, shared_file  # noqa: E402  (puts the repo on sys.path)

from transforms.language import UND, _engine, detect_lines, guard_script, prepare_text  # noqa: E402
from transforms.lines import line_key  # noqa: E402

DEFAULT_DATA = shared_file("eval", "boilerplate", "dev.jsonl.gz")
SAMPLE_DATA = REPO / "tests" / "data" / "boilerplate" / "sample.jsonl.gz"


def load_lines(path: Path) -> list[str]:
    """All lines of all pages of a boilerplate JSONL.gz file, in file order."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [line for row in fh if row.strip() for line in json.loads(row)["lines"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--baseline-lines", type=int, default=3000)
    parser.add_argument("--engine", default="auto", choices=["auto", "rs", "py"])
    args = parser.parse_args()
    data = data_or_sample(args.data, SAMPLE_DATA)
    lines = load_lines(data)
    sub_idx = sorted(
        random.Random(0).sample(range(len(lines)), min(args.baseline_lines, len(lines)))
    )
    sub = [lines[i] for i in sub_idx]

    import langdetect
    from langdetect import DetectorFactory
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0

    def naive(text: str) -> str:
        try:
            return langdetect.detect(text)
        except LangDetectException:
            return UND

    t0 = time.perf_counter()
    naive_labels = [naive(t) for t in sub]
    t_naive = time.perf_counter() - t0

    # reference = pure langdetect on the prepared text (reuses the naive label when unchanged)
    reference = []
    for text, lab in zip(sub, naive_labels, strict=True):
        prepared = prepare_text(unicodedata.normalize("NFC", text))
        if prepared is None:
            reference.append(UND)
            continue
        raw = lab if prepared == text else naive(prepared)
        reference.append(guard_script(raw, prepared) if raw != UND else UND)

    _engine(args.engine)  # load the profiles outside the timing (the naive run loaded its own)
    t0 = time.perf_counter()
    keys = [line_key(t) for t in lines]
    results = detect_lines(lines, keys, engine=args.engine, cache={})
    t_winnow = time.perf_counter() - t0
    winnow = [results[i].lang for i in sub_idx]

    n_keys = len({k for k in keys if k})
    agree_ref = sum(a == b for a, b in zip(winnow, reference, strict=True))
    agree_naive = sum(a == b for a, b in zip(winnow, naive_labels, strict=True))
    rate_naive, rate_winnow = len(sub) / t_naive, len(lines) / t_winnow
    engine = "langdetect-rs" if _engine(args.engine)[1] is not None else "langdetect (py)"
    print(f"data: {data} ({len(lines)} lines, {n_keys} distinct non-empty keys)")
    print(f"winnow engine: {engine}")
    print()
    print("| run | lines | seconds | lines/s | ratio |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| naive langdetect.detect per line | {len(sub)} | {t_naive:.2f} | {rate_naive:,.0f} | 1.0x |"
    )
    print(
        f"| winnow detect_lines (cache + batch) | {len(lines)} | {t_winnow:.2f} | "
        f"{rate_winnow:,.0f} | {rate_winnow / rate_naive:.1f}x |"
    )
    print()
    print(
        f"agreement with reference (langdetect on prepared text): {agree_ref}/{len(sub)} = "
        f"{agree_ref / len(sub):.4%}"
    )
    print(
        f"agreement with naive label as-is: {agree_naive}/{len(sub)} = "
        f"{agree_naive / len(sub):.4%} (differences = wrapper fixes: caps, script guard)"
    )
    diffs = [
        (sub[i], w, r) for i, (w, r) in enumerate(zip(winnow, reference, strict=True)) if w != r
    ]
    for text, w, r in diffs[:10]:
        print(f"  differs: winnow={w} reference={r} {text[:70]!r}")


if __name__ == "__main__":
    main()
