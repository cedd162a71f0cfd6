"""Document quality signals (Gopher, C4, FineWeb), computed on a document's content text.

Signals for analysis, never drops: each function returns the measured value, and the
published thresholds are constants here for reference. Definitions follow DataTrove's
reference implementations (gopher_quality_filter.py, gopher_repetition_filter.py,
c4_filters.py, fineweb_quality_filter.py), with one difference: words come from a
regex tokenizer (`\\w+` runs and single punctuation marks, like NLTK's word_tokenize on
ordinary text) instead of NLTK. A ratio whose denominator is 0 is None (null).
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Gopher quality thresholds (Rae et al. 2021, app. A, table A1; DataTrove defaults).
GOPHER_MIN_WORDS = 50
GOPHER_MAX_WORDS = 100_000
GOPHER_MIN_MEAN_WORD_LENGTH = 3
GOPHER_MAX_MEAN_WORD_LENGTH = 10
GOPHER_MAX_SYMBOL_WORD_RATIO = 0.1
GOPHER_MAX_BULLET_LINES_RATIO = 0.9
GOPHER_MAX_ELLIPSIS_LINES_RATIO = 0.3
GOPHER_MIN_ALPHA_WORDS_RATIO = 0.8
GOPHER_MIN_STOP_WORDS = 2
GOPHER_STOP_WORDS = frozenset(["the", "be", "to", "of", "and", "that", "have", "with"])
# Gopher repetition thresholds (Rae et al. 2021, table A1): line fractions, top n-gram and
# duplicated n-gram character fractions.
GOPHER_MAX_DUP_LINE_FRAC = 0.3
GOPHER_MAX_DUP_LINE_CHAR_FRAC = 0.2
GOPHER_TOP_NGRAMS = ((2, 0.20), (3, 0.18), (4, 0.16))
GOPHER_DUP_NGRAMS = ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10))
# C4 (Raffel et al. 2020, sec. 2.2; DataTrove c4_filters): keep lines ending in terminal
# punctuation and with at least 3 words.
C4_END_PUNCTUATION = (".", "?", "!", '"', "'")
C4_MIN_WORDS_PER_LINE = 3
# FineWeb quality filter (Penedo et al. 2024; DataTrove fineweb_quality_filter defaults).
FINEWEB_STOP_CHARS = (".", "'", '"', "!", "?")
FINEWEB_MIN_LINE_PUNCT_RATIO = 0.12
FINEWEB_SHORT_LINE_LENGTH = 30
FINEWEB_MAX_SHORT_LINE_RATIO = 0.67
FINEWEB_MAX_CHAR_DUP_RATIO = 0.01
FINEWEB_MAX_NEW_LINE_RATIO = 0.3

_TOKEN = re.compile(r"\w+|[^\w\s]")
_PUNCT = frozenset(string.punctuation)

# Column name -> kind ("int" or "float"), in the order of the `documents` schema.
QUALITY_COLUMNS: dict[str, str] = {
    "gopher_words": "int",
    "gopher_mean_word_length": "float",
    "gopher_hash_word_ratio": "float",
    "gopher_ellipsis_word_ratio": "float",
    "gopher_bullet_lines_ratio": "float",
    "gopher_ellipsis_lines_ratio": "float",
    "gopher_alpha_words_ratio": "float",
    "gopher_stop_words": "int",
    "gopher_dup_line_frac": "float",
    "gopher_dup_line_char_frac": "float",
    **{f"gopher_top_{n}gram_char_frac": "float" for n, _ in GOPHER_TOP_NGRAMS},
    **{f"gopher_dup_{n}gram_char_frac": "float" for n, _ in GOPHER_DUP_NGRAMS},
    "c4_terminal_punct_ratio": "float",
    "c4_min_words_ratio": "float",
    "fineweb_line_punct_ratio": "float",
    "fineweb_short_line_ratio": "float",
    "fineweb_char_dup_ratio": "float",
    "fineweb_new_line_ratio": "float",
}


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def tokenize_words(text: str) -> list[str]:
    """Word and punctuation tokens, roughly NLTK's word_tokenize.

    >>> tokenize_words("Hello, world...")
    ['Hello', ',', 'world', '.', '.', '.']
    """
    return _TOKEN.findall(text)


def find_duplicates(items: Sequence[str]) -> tuple[int, int]:
    """Elements seen before, and their characters (DataTrove find_duplicates).

    >>> find_duplicates(["a", "bb", "a", "bb", "a"])
    (3, 4)
    """
    seen: set[str] = set()
    n = chars = 0
    for item in items:
        if item in seen:
            n += 1
            chars += len(item)
        else:
            seen.add(item)
    return n, chars


@dataclass(frozen=True)
class _Tokens:
    """A text's tokens as dense ids: `seq` per position, per-id length and count."""

    seq: np.ndarray  # int64 id per token position
    lens: np.ndarray  # int64 characters per id
    counts: np.ndarray  # int64 occurrences per id
    vocab: list[str]  # the token of each id


def _encode(words: Sequence[str]) -> _Tokens:
    """Dense ids in order of first occurrence (so ties resolve like Counter's insertion order)."""
    vocab = list(dict.fromkeys(words))
    ids = {w: i for i, w in enumerate(vocab)}
    seq = np.array(list(map(ids.__getitem__, words)), dtype=np.int64)
    lens = np.fromiter((len(w) for w in vocab), np.int64, len(vocab))
    return _Tokens(seq, lens, np.bincount(seq, minlength=len(vocab)), vocab)


def _ngram_ids(seq: np.ndarray, n_max: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """For n = 2..n_max: (dense id of the n-gram at each start, index of each id's first start).

    Exact (no hashing): the (n-1)-gram id and the next token id are packed into one integer
    (id * vocabulary size + token, below len(seq) * vocabulary size), then renumbered by
    np.unique.
    """
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    prev = seq
    vocab = int(seq.max()) + 1 if len(seq) else 1
    for n in range(2, n_max + 1):
        if len(seq) < n:
            break
        packed = prev[:-1] * vocab + seq[n - 1 :]
        _, first, ids = np.unique(packed, return_index=True, return_inverse=True)
        out[n] = (ids.reshape(-1), first)
        prev = out[n][0]
    return out


def _gram_lens(seq: np.ndarray, lens: np.ndarray, n: int) -> np.ndarray:
    """Characters of the n-gram at each start, joined with single spaces."""
    cum = np.concatenate(([0], np.cumsum(lens[seq])))
    return cum[n:] - cum[:-n] + (n - 1)


def _top_chars(tokens: _Tokens, grams: dict, n: int) -> int:
    """Most frequent n-gram's characters times its count; ties: the first seen (Counter)."""
    if n not in grams:
        return 0
    ids, first = grams[n]
    counts = np.bincount(ids)
    best = np.flatnonzero(counts == counts.max())
    start = int(first[best].min())
    return int(_gram_lens(tokens.seq[start : start + n], tokens.lens, n)[0]) * int(counts.max())


def _dup_chars(tokens: _Tokens, grams: dict, n: int) -> int:
    """DataTrove find_all_duplicate: walk the n-grams; a repeat adds its length, skips n."""
    if n not in grams:
        return 0
    ids, first = grams[n]
    counts = np.bincount(ids)
    if counts.max() < 2:  # no repeat at all (most documents)
        return 0
    # Only positions of repeated n-grams can count; leaving the others out of `seen` does not
    # change the walk.
    positions = np.flatnonzero(counts[ids] > 1)
    glens = _gram_lens(tokens.seq, tokens.lens, n)
    seen: set[int] = set()
    chars, next_free = 0, 0
    for i, gram in zip(positions.tolist(), ids[positions].tolist(), strict=True):
        if i < next_free:
            continue
        if gram in seen:
            chars += int(glens[i])
            next_free = i + n
        else:
            seen.add(gram)
    return chars


def top_ngram_chars(words: Sequence[str], n: int) -> int:
    """Characters of the most frequent word n-gram times its count (Gopher "top n-gram").

    The n-gram is its words joined by single spaces (DataTrove find_top_duplicate).

    >>> top_ngram_chars("a b a b a b".split(), 2)
    9
    """
    tokens = _encode(words)
    return _top_chars(tokens, _ngram_ids(tokens.seq, n), n)


def dup_ngram_chars(words: Sequence[str], n: int) -> int:
    """Characters of repeated word n-grams, each occurrence after the first, not overlapping.

    DataTrove's find_all_duplicate: walk the n-grams; a repeat adds its length and skips n.

    >>> dup_ngram_chars("x y z x y z".split(), 3)
    5
    """
    tokens = _encode(words)
    return _dup_chars(tokens, _ngram_ids(tokens.seq, n), n)


def gopher_quality(text: str, tokens: _Tokens | None = None) -> dict[str, float | int | None]:
    """Gopher quality signals of a text (Rae et al. 2021, app. A; DataTrove definitions).

    - gopher_words: tokens that are not a single punctuation character
    - gopher_mean_word_length: mean length of those tokens
    - gopher_hash_word_ratio: count of "#" / gopher_words
    - gopher_ellipsis_word_ratio: (count of "..." + count of "…") / gopher_words
    - gopher_bullet_lines_ratio: lines starting (after spaces) with "•" / lines
    - gopher_ellipsis_lines_ratio: lines ending with "..." or "…" / lines
    - gopher_alpha_words_ratio: tokens with an alphabetic character / gopher_words
    - gopher_stop_words: tokens in {the, be, to, of, and, that, have, with}

    >>> gopher_quality("The cat sat with the dog.")["gopher_stop_words"]  # case-sensitive
    2
    """
    tokens = tokens or _encode(tokenize_words(text))
    # per distinct token, then weighted by its count: same sums as a walk over the tokens
    is_word = np.fromiter((w not in _PUNCT for w in tokens.vocab), bool, len(tokens.vocab))
    has_alpha = np.fromiter(
        (any(c.isalpha() for c in w) for w in tokens.vocab), bool, len(tokens.vocab)
    )
    is_stop = np.fromiter((w in GOPHER_STOP_WORDS for w in tokens.vocab), bool, len(tokens.vocab))
    n_words = int(tokens.counts[is_word].sum())
    lines = text.splitlines()
    return {
        "gopher_words": n_words,
        "gopher_mean_word_length": _ratio(
            int((tokens.counts * tokens.lens)[is_word].sum()), n_words
        ),
        "gopher_hash_word_ratio": _ratio(text.count("#"), n_words),
        "gopher_ellipsis_word_ratio": _ratio(text.count("...") + text.count("…"), n_words),
        "gopher_bullet_lines_ratio": _ratio(
            sum(s.lstrip().startswith("•") for s in lines), len(lines)
        ),
        "gopher_ellipsis_lines_ratio": _ratio(
            sum(s.rstrip().endswith(("...", "…")) for s in lines), len(lines)
        ),
        "gopher_alpha_words_ratio": _ratio(int(tokens.counts[has_alpha].sum()), n_words),
        "gopher_stop_words": int(tokens.counts[is_stop].sum()),
    }


def gopher_repetition(text: str, tokens: _Tokens | None = None) -> dict[str, float | None]:
    """Gopher repetition signals (Rae et al. 2021, table A1; DataTrove definitions).

    - gopher_dup_line_frac: lines equal to an earlier line / lines
    - gopher_dup_line_char_frac: characters of those lines / characters of the text
    - gopher_top_{2,3,4}gram_char_frac: len(most frequent n-gram) * its count / characters
    - gopher_dup_{5..10}gram_char_frac: characters of repeated n-grams / characters

    >>> gopher_repetition("a\\nb\\na\\na")["gopher_dup_line_frac"]
    0.5
    """
    lines = text.splitlines()
    n_dup, dup_chars = find_duplicates(lines)
    n_chars = len(text)
    out: dict[str, float | None] = {
        "gopher_dup_line_frac": _ratio(n_dup, len(lines)),
        "gopher_dup_line_char_frac": _ratio(dup_chars, n_chars),
    }
    tokens = tokens or _encode(tokenize_words(text))
    grams = _ngram_ids(tokens.seq, GOPHER_DUP_NGRAMS[-1][0])
    for n, _ in GOPHER_TOP_NGRAMS:
        out[f"gopher_top_{n}gram_char_frac"] = _ratio(_top_chars(tokens, grams, n), n_chars)
    for n, _ in GOPHER_DUP_NGRAMS:
        out[f"gopher_dup_{n}gram_char_frac"] = _ratio(_dup_chars(tokens, grams, n), n_chars)
    return out


def c4_line_ratios(text: str) -> dict[str, float | None]:
    """Share of non-empty lines C4 would keep, per rule (Raffel et al. 2020, sec. 2.2).

    - c4_terminal_punct_ratio: lines ending in . ? ! " ' / non-empty lines
    - c4_min_words_ratio: lines with at least 3 whitespace-separated words / non-empty lines

    >>> c4_line_ratios("One two three.\\nMenu")["c4_terminal_punct_ratio"]
    0.5
    """
    lines = [s.strip() for s in text.split("\n") if s.strip()]
    return {
        "c4_terminal_punct_ratio": _ratio(
            sum(s.endswith(C4_END_PUNCTUATION) for s in lines), len(lines)
        ),
        "c4_min_words_ratio": _ratio(
            sum(len(s.split()) >= C4_MIN_WORDS_PER_LINE for s in lines), len(lines)
        ),
    }


def fineweb_ratios(text: str, n_tokens: int | None = None) -> dict[str, float | None]:
    """FineWeb quality-filter ratios (Penedo et al. 2024; DataTrove definitions).

    - fineweb_line_punct_ratio: lines (split on "\\n") ending in . ' " ! ? / lines
    - fineweb_short_line_ratio: lines of at most 30 characters / lines
    - fineweb_char_dup_ratio: characters of non-empty lines equal to an earlier one /
      characters of the text without newlines
    - fineweb_new_line_ratio: count of "\\n" / word tokens

    >>> fineweb_ratios("Short\\nA longer line that ends with a period.")["fineweb_short_line_ratio"]
    0.5
    """
    lines = text.split("\n")
    non_empty = [s for s in lines if s.strip() != ""]
    return {
        "fineweb_line_punct_ratio": _ratio(
            sum(s.endswith(FINEWEB_STOP_CHARS) for s in lines), len(lines)
        ),
        "fineweb_short_line_ratio": _ratio(
            sum(len(s) <= FINEWEB_SHORT_LINE_LENGTH for s in lines), len(lines)
        ),
        "fineweb_char_dup_ratio": _ratio(
            find_duplicates(non_empty)[1], len(text.replace("\n", ""))
        ),
        "fineweb_new_line_ratio": _ratio(
            text.count("\n"), len(tokenize_words(text)) if n_tokens is None else n_tokens
        ),
    }


def quality_signals(text: str) -> dict[str, float | int | None]:
    """Every quality column of `documents` for one content text, in QUALITY_COLUMNS order.

    >>> list(quality_signals("")) == list(QUALITY_COLUMNS)
    True
    """
    if not text.strip():  # no content lines: counts are 0, ratios undefined
        return {name: 0 if kind == "int" else None for name, kind in QUALITY_COLUMNS.items()}
    tokens = _encode(tokenize_words(text))  # tokenized once for every signal
    found = {
        **gopher_quality(text, tokens),
        **gopher_repetition(text, tokens),
        **c4_line_ratios(text),
        **fineweb_ratios(text, len(tokens.seq)),
    }
    return {name: found[name] for name in QUALITY_COLUMNS}
