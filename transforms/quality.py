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
from collections import Counter
from collections.abc import Sequence

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
_TOP_NS = tuple(n for n, _ in GOPHER_TOP_NGRAMS)
_DUP_NS = tuple(n for n, _ in GOPHER_DUP_NGRAMS)

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


def _encode(words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Word ids (first-seen order) and each id's character length, as int64 arrays."""
    ids: dict[str, int] = {}
    for w in words:
        if w not in ids:
            ids[w] = len(ids)
    seq = np.fromiter(map(ids.__getitem__, words), dtype=np.int64, count=len(words))
    lens = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    return seq, lens


def _ngram_chars(
    seq: np.ndarray, lens: np.ndarray, top: Sequence[int], dup: Sequence[int]
) -> dict[int, int]:
    """Top n-gram characters (n in `top`) and duplicated n-gram characters (n in `dup`).

    n-grams are identified exactly, not hashed: the id of an n-gram is the dense rank
    (np.unique) of (id of its leading (n-1)-gram, id of its last word), built up from n = 2.
    """
    wanted = sorted({*top, *dup})
    out = dict.fromkeys(wanted, 0)
    size = len(seq)
    if not wanted or not size:
        return out
    if wanted[0] < 1:
        raise ValueError("n must be >= 1")
    cum = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(lens[seq], out=cum[1:])
    vocab = int(lens.size)  # word ids are < vocab: (gram id, word id) -> gram * vocab + word
    grams = seq  # ids of the (n-1)-grams starting at each position (word ids for n = 2)
    for n in range(min(wanted[0], 2), wanted[-1] + 1):
        m = size - n + 1
        if m <= 0:
            break
        key = seq if n == 1 else grams[:m] * vocab + seq[n - 1 :]
        _, first, grams, counts = np.unique(
            key, return_index=True, return_inverse=True, return_counts=True
        )
        grams = grams.reshape(-1)
        best = int(counts.max())
        if best == 1:  # no repeat: most_common(1) is the first n-gram; no longer repeats
            for k in wanted:
                if k >= n and k in top and size - k + 1 > 0:
                    out[k] = int(cum[k] - cum[0]) + k - 1
            break
        if n in top:
            p = int(first[counts == best].min())  # Counter.most_common: first seen wins ties
            out[n] = (int(cum[p + n] - cum[p]) + n - 1) * best
        if n in dup:
            out[n] = _walk_repeats(grams, counts, cum, n)
    return out


def _walk_repeats(grams: np.ndarray, counts: np.ndarray, cum: np.ndarray, n: int) -> int:
    """DataTrove's find_all_duplicate walk over the positions of repeated n-grams only.

    An n-gram seen once is never a repeat, and leaving it out of the seen set changes
    nothing, so only positions of n-grams that occur more than once are visited.
    """
    pos = np.flatnonzero(counts[grams] > 1)
    glen = (cum[pos + n] - cum[pos] + (n - 1)).tolist()
    seen: set[int] = set()
    chars, next_free = 0, 0
    for i, gram, length in zip(pos.tolist(), grams[pos].tolist(), glen, strict=True):
        if i < next_free:
            continue
        if gram in seen:
            chars += length
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
    return _ngram_chars(*_encode(words), top=(n,), dup=())[n]


def dup_ngram_chars(words: Sequence[str], n: int) -> int:
    """Characters of repeated word n-grams, each occurrence after the first, not overlapping.

    DataTrove's find_all_duplicate: walk the n-grams; a repeat adds its length and skips n.

    >>> dup_ngram_chars("x y z x y z".split(), 3)
    5
    """
    return _ngram_chars(*_encode(words), top=(), dup=(n,))[n]


def gopher_quality(text: str) -> dict[str, float | int | None]:
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
    return _gopher_quality(text, tokenize_words(text), text.splitlines())


def _has_alpha(token: str) -> bool:
    return token.isalpha() or any(map(str.isalpha, token))


def _gopher_quality(text: str, tokens: list[str], lines: list[str]) -> dict:
    """gopher_quality on a tokenized text and its splitlines(): sums over distinct tokens."""
    n_words = word_chars = n_alpha = n_stop = 0
    for token, count in Counter(tokens).items():
        if token not in _PUNCT:
            n_words += count
            word_chars += len(token) * count
        if _has_alpha(token):
            n_alpha += count
        if token in GOPHER_STOP_WORDS:
            n_stop += count
    bullets = sum(s.lstrip().startswith("•") for s in lines) if "•" in text else 0
    has_ellipsis = "..." in text or "…" in text
    ellipsis = sum(s.rstrip().endswith(("...", "…")) for s in lines) if has_ellipsis else 0
    return {
        "gopher_words": n_words,
        "gopher_mean_word_length": _ratio(word_chars, n_words),
        "gopher_hash_word_ratio": _ratio(text.count("#"), n_words),
        "gopher_ellipsis_word_ratio": _ratio(text.count("...") + text.count("…"), n_words),
        "gopher_bullet_lines_ratio": _ratio(bullets, len(lines)),
        "gopher_ellipsis_lines_ratio": _ratio(ellipsis, len(lines)),
        "gopher_alpha_words_ratio": _ratio(n_alpha, n_words),
        "gopher_stop_words": n_stop,
    }


def gopher_repetition(text: str) -> dict[str, float | None]:
    """Gopher repetition signals (Rae et al. 2021, table A1; DataTrove definitions).

    - gopher_dup_line_frac: lines equal to an earlier line / lines
    - gopher_dup_line_char_frac: characters of those lines / characters of the text
    - gopher_top_{2,3,4}gram_char_frac: len(most frequent n-gram) * its count / characters
    - gopher_dup_{5..10}gram_char_frac: characters of repeated n-grams / characters

    >>> gopher_repetition("a\\nb\\na\\na")["gopher_dup_line_frac"]
    0.5
    """
    return _gopher_repetition(text, tokenize_words(text), text.splitlines())


def _gopher_repetition(text: str, tokens: list[str], lines: list[str]) -> dict:
    """gopher_repetition on a tokenized text and its splitlines()."""
    n_dup, dup_chars = find_duplicates(lines)
    n_chars = len(text)
    out: dict[str, float | None] = {
        "gopher_dup_line_frac": _ratio(n_dup, len(lines)),
        "gopher_dup_line_char_frac": _ratio(dup_chars, n_chars),
    }
    seq, lens = _encode(tokens)
    chars = _ngram_chars(seq, lens, top=_TOP_NS, dup=_DUP_NS)
    for n in _TOP_NS:
        out[f"gopher_top_{n}gram_char_frac"] = _ratio(chars[n], n_chars)
    for n in _DUP_NS:
        out[f"gopher_dup_{n}gram_char_frac"] = _ratio(chars[n], n_chars)
    return out


def c4_line_ratios(text: str) -> dict[str, float | None]:
    """Share of non-empty lines C4 would keep, per rule (Raffel et al. 2020, sec. 2.2).

    - c4_terminal_punct_ratio: lines ending in . ? ! " ' / non-empty lines
    - c4_min_words_ratio: lines with at least 3 whitespace-separated words / non-empty lines

    >>> c4_line_ratios("One two three.\\nMenu")["c4_terminal_punct_ratio"]
    0.5
    """
    return _c4_line_ratios(text.split("\n"))


def _c4_line_ratios(lines: list[str]) -> dict:
    """c4_line_ratios of a text's lines split on "\\n"."""
    lines = [s for s in map(str.strip, lines) if s]
    return {
        "c4_terminal_punct_ratio": _ratio(
            sum(s.endswith(C4_END_PUNCTUATION) for s in lines), len(lines)
        ),
        "c4_min_words_ratio": _ratio(
            sum(len(s.split()) >= C4_MIN_WORDS_PER_LINE for s in lines), len(lines)
        ),
    }


def fineweb_ratios(text: str) -> dict[str, float | None]:
    """FineWeb quality-filter ratios (Penedo et al. 2024; DataTrove definitions).

    - fineweb_line_punct_ratio: lines (split on "\\n") ending in . ' " ! ? / lines
    - fineweb_short_line_ratio: lines of at most 30 characters / lines
    - fineweb_char_dup_ratio: characters of non-empty lines equal to an earlier one /
      characters of the text without newlines
    - fineweb_new_line_ratio: count of "\\n" / word tokens

    >>> fineweb_ratios("Short\\nA longer line that ends with a period.")["fineweb_short_line_ratio"]
    0.5
    """
    return _fineweb_ratios(text, text.split("\n"), len(tokenize_words(text)))


def _fineweb_ratios(text: str, lines: list[str], n_tokens: int) -> dict:
    """fineweb_ratios of a text, its lines split on "\\n" and its token count."""
    non_empty = [s for s in lines if s.strip() != ""]
    return {
        "fineweb_line_punct_ratio": _ratio(
            sum(s.endswith(FINEWEB_STOP_CHARS) for s in lines), len(lines)
        ),
        "fineweb_short_line_ratio": _ratio(
            sum(len(s) <= FINEWEB_SHORT_LINE_LENGTH for s in lines), len(lines)
        ),
        "fineweb_char_dup_ratio": _ratio(
            find_duplicates(non_empty)[1], len(text) - text.count("\n")
        ),
        "fineweb_new_line_ratio": _ratio(text.count("\n"), n_tokens),
    }


def quality_signals(text: str) -> dict[str, float | int | None]:
    """Every quality column of `documents` for one content text, in QUALITY_COLUMNS order.

    >>> list(quality_signals("")) == list(QUALITY_COLUMNS)
    True
    """
    if not text.strip():  # no content lines: counts are 0, ratios undefined
        return {name: 0 if kind == "int" else None for name, kind in QUALITY_COLUMNS.items()}
    tokens = tokenize_words(text)  # one tokenization and one split of each kind, shared
    lines = text.splitlines()
    nl_lines = text.split("\n")
    found = {
        **_gopher_quality(text, tokens, lines),
        **_gopher_repetition(text, tokens, lines),
        **_c4_line_ratios(nl_lines),
        **_fineweb_ratios(text, nl_lines, len(tokens)),
    }
    return {name: found[name] for name in QUALITY_COLUMNS}
