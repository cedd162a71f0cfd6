"""Backtracking fuzz: every compiled regex of winnow's line modules on long adversarial lines.

Each pattern (module-level `re.Pattern`s and bound pattern methods of transforms/ and
flows/readers.py) runs `search`, `match` and `findall` on lines of N characters built from
repeated pieces (digits, dots, separators, CJK, no-break spaces), pairs of pieces, the
pattern's own literal characters and seeded random mixes; prints the slowest patterns. A
linear pattern takes milliseconds at N = 20,000; a backtracking one seconds to minutes.

    python benchmarks/fuzz_patterns.py [--chars 20000] [--top 15]
"""

from __future__ import annotations

import argparse
import random
import re
import time

from _shared import REPO  # noqa: F401  (puts the repo on sys.path)

import flows.readers as readers  # noqa: E402
import transforms.boilerplate as boilerplate  # noqa: E402
import transforms.extract as extract  # noqa: E402
import transforms.language as language  # noqa: E402
import transforms.lexicon as lexicon  # noqa: E402
import transforms.lines as lines  # noqa: E402
import transforms.quality as quality  # noqa: E402

MODULES = (lexicon, boilerplate, extract, quality, lines, language, readers)
PIECES = [
    *("a", " ", "1", ".", ",", "-", ":", "/", "|", "»", "\t", "A", "é", "中", "@", "#"),
    *("0:", "12.", " a", "a ", "· ", "(", ")", "'", '"', "?", "!", "\u00a0"),
]
WORDS = ("von ", "the ", "de la ", "12 ", "1. ", "a, ", "Re: ", "by ", "am ")


def patterns() -> list[tuple[str, re.Pattern]]:
    """(name, pattern) of every module-level pattern or bound pattern method."""
    out = []
    for mod in MODULES:
        for name, value in vars(mod).items():
            pat = value if isinstance(value, re.Pattern) else getattr(value, "__self__", None)
            if isinstance(pat, re.Pattern):
                out.append((f"{mod.__name__}.{name}", pat))
    return out


def candidates(pat: re.Pattern, n: int, rng: random.Random) -> list[str]:
    """Adversarial lines of about n characters for one pattern."""
    literals = sorted(c for c in set(re.sub(r"\\.", "", pat.pattern)) if c.isprintable())[:40]
    out = [p * n for p in PIECES]
    out += [(a + b) * (n // 2) for a in PIECES[:12] for b in PIECES[:12]]
    out += ["".join(rng.choice(literals + PIECES) for _ in range(n)) for _ in range(5)]
    out += [(c + " ") * (n // 2) for c in literals]
    out += [w * (n // len(w)) for w in WORDS]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chars", type=int, default=20_000)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args(argv)
    rng = random.Random(1)
    worst = []
    for name, pat in patterns():
        slowest, line = 0.0, ""
        for c in candidates(pat, args.chars, rng):
            t0 = time.perf_counter()
            pat.search(c), pat.match(c), pat.findall(c)
            if (dt := time.perf_counter() - t0) > slowest:
                slowest, line = dt, c[:30]
        worst.append((slowest, name, line))
    print(f"{len(worst)} patterns, lines of {args.chars:,} characters")
    for slowest, name, line in sorted(worst, reverse=True)[: args.top]:
        print(f"{slowest:8.3f} s  {name}  {line!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
