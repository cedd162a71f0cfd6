"""Document quality signals (Gopher, C4, FineWeb), computed on a document's content text.

Signals for analysis, never drops: each function returns the measured value, and the
published thresholds are constants here for reference. Definitions follow DataTrove's
reference implementations (gopher_quality_filter.py, gopher_repetition_filter.py,
c4_filters.py, fineweb_quality_filter.py), with one difference: words come from a
regex tokenizer (`\\w+` runs and single punctuation marks, like NLTK's word_tokenize on
ordinary text) instead of NLTK. A ratio whose denominator is 0 is None (null).
"""

from __future__ import annotations

import itertools
import operator
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from transforms.lines import group_texts

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

# measure_quality works on groups of texts of about this many characters (~60k tokens).
QUALITY_GROUP_CHARS = 1 << 18
# `\w+|[^\w\s]`, written faster: where `\w+` fails the character is not \w, so `\S` there is
# `[^\w\s]`. On ASCII text Unicode `\w` is [A-Za-z0-9_] (`\s` stays Unicode: \x1c-\x1f).
_TOKEN = re.compile(r"\w+|\S")
_ASCII_TOKEN = re.compile(r"[A-Za-z0-9_]+|\S")
_PUNCT = frozenset(string.punctuation)
_C4_END = operator.methodcaller("endswith", C4_END_PUNCTUATION)
_FINEWEB_END = operator.methodcaller("endswith", FINEWEB_STOP_CHARS)
_SHORT = (FINEWEB_SHORT_LINE_LENGTH + 1).__gt__  # length -> at most the short line length
_TOP_NS = tuple(n for n, _ in GOPHER_TOP_NGRAMS)
_DUP_NS = tuple(n for n, _ in GOPHER_DUP_NGRAMS)
_NGRAM_COLUMNS = tuple(  # (n, column name): top n-grams, then duplicated n-grams
    [(n, f"gopher_top_{n}gram_char_frac") for n in _TOP_NS]
    + [(n, f"gopher_dup_{n}gram_char_frac") for n in _DUP_NS]
)

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
    return (_ASCII_TOKEN if text.isascii() else _TOKEN).findall(text)


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
    tokens = _encode_many([words])
    return tokens.seq, tokens.lens


@dataclass(frozen=True)
class _Tokens:
    """The tokens of many texts: word ids per position, id lengths, text bounds."""

    seq: np.ndarray  # int64 word id of every token, texts one after the other
    lens: np.ndarray  # int64 character length of each word id
    bounds: np.ndarray  # int64 (texts + 1): tokens of text d are seq[bounds[d]:bounds[d+1]]
    vocab: list[str]  # the word of each id
    ids: dict[str, int]  # the id of each word


def _encode_many(token_lists: Sequence[Sequence[str]]) -> _Tokens:
    """One vocabulary (first-seen order) over the tokens of many texts."""
    vocab = list(dict.fromkeys(itertools.chain.from_iterable(token_lists)))
    ids = {w: i for i, w in enumerate(vocab)}
    sizes = np.fromiter(map(len, token_lists), np.int64, len(token_lists))
    bounds = np.zeros(len(token_lists) + 1, np.int64)
    np.cumsum(sizes, out=bounds[1:])
    flat = itertools.chain.from_iterable(token_lists)
    seq = np.fromiter(map(ids.__getitem__, flat), np.int64, int(bounds[-1]))
    lens = np.fromiter(map(len, vocab), np.int64, len(vocab))
    return _Tokens(seq, lens, bounds, vocab, ids)


def _ngram_chars(
    seq: np.ndarray, lens: np.ndarray, top: Sequence[int], dup: Sequence[int]
) -> dict[int, int]:
    """Top n-gram characters (n in `top`) and duplicated n-gram characters (n in `dup`)."""
    bounds = np.array([0, len(seq)], np.int64)
    return {n: int(v[0]) for n, v in _ngram_chars_many(seq, lens, bounds, top, dup).items()}


def _ngram_chars_many(
    seq: np.ndarray, lens: np.ndarray, bounds: np.ndarray, top: Sequence[int], dup: Sequence[int]
) -> dict[int, np.ndarray]:
    """`_ngram_chars` of every text of a batch at once: n -> int64 array, one value per text.

    n-grams are identified exactly, not hashed: the id of an n-gram is the dense rank
    (np.unique) of (id of its leading (n-1)-gram, id of its last word), built up from n = 1,
    where the id of a word is its rank with its text's index (grams never match across texts).
    An n-gram can repeat only if both of its (n-1)-grams repeat, so each level ranks only
    those positions; every other n-gram occurs once and needs no id.
    """
    wanted = sorted({*top, *dup})
    n_texts = len(bounds) - 1
    out = {n: np.zeros(n_texts, np.int64) for n in wanted}
    size = len(seq)
    if not wanted or not size:
        return out
    if wanted[0] < 1:
        raise ValueError("n must be >= 1")
    cum = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(lens[seq], out=cum[1:])
    sizes = np.diff(bounds)
    text_of = np.repeat(np.arange(n_texts, dtype=np.int64), sizes)
    end_of = np.repeat(bounds[1:], sizes)  # exclusive end of each position's text
    start = bounds[:-1]
    vocab = int(lens.size)
    grams = np.zeros(size, np.int64)  # id of the (n-1)-gram at each repeated position
    repeated = np.ones(size + 1, bool)  # the (n-1)-gram at a position occurs more than once
    for n in range(1, wanted[-1] + 1):
        if n == 1:
            cand = np.arange(size, dtype=np.int64)
            key = text_of * vocab + seq
        else:
            cand = np.flatnonzero((repeated[:size] & repeated[1:])[: max(size - n + 1, 0)])
            cand = cand[cand + n <= end_of[cand]]
            key = grams[cand] * max(size, vocab) + seq[cand + n - 1]
        _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        count = counts[inverse.reshape(-1)]
        grams[cand] = inverse.reshape(-1)
        repeated = np.zeros(size + 1, bool)
        repeated[cand[count > 1]] = True
        if n in top:
            out[n] = _top_chars(cand, count, text_of, start, sizes, cum, n)
        if n in dup:
            out[n] = _dup_chars(cand, count, grams, text_of, cum, n, n_texts)
    return out


def _top_chars(
    cand: np.ndarray,
    count: np.ndarray,
    text_of: np.ndarray,
    start: np.ndarray,
    sizes: np.ndarray,
    cum: np.ndarray,
    n: int,
) -> np.ndarray:
    """Per text: characters of its most frequent n-gram times its count (first seen wins)."""
    has = sizes >= n
    first = np.where(has, start, 0)  # no repeat: most_common(1) is the text's first n-gram
    out = np.where(has, cum[np.minimum(first + n, len(cum) - 1)] - cum[first] + n - 1, 0)
    rep = count > 1
    pos, cnt = cand[rep], count[rep]
    if not len(pos):
        return out
    texts = text_of[pos]
    seg = np.flatnonzero(np.concatenate([[True], texts[1:] != texts[:-1]]))
    best = np.maximum.reduceat(cnt, seg)
    at_best = cnt == np.repeat(best, np.diff(np.append(seg, len(pos))))
    p = pos[at_best]
    t = text_of[p]
    lead = np.flatnonzero(np.concatenate([[True], t[1:] != t[:-1]]))
    p = p[lead]  # the first position of a most frequent n-gram, per text with a repeat
    out[t[lead]] = (cum[p + n] - cum[p] + n - 1) * best
    return out


def _dup_chars(
    cand: np.ndarray,
    count: np.ndarray,
    grams: np.ndarray,
    text_of: np.ndarray,
    cum: np.ndarray,
    n: int,
    n_texts: int,
) -> np.ndarray:
    """Per text: DataTrove's find_all_duplicate walk over the positions of repeated n-grams.

    An n-gram seen once is never a repeat, and leaving it out of the seen set changes
    nothing, so only positions of n-grams that occur more than once are visited; gram ids
    are unique per text and a skip never reaches past its text, so one walk serves all.
    """
    out = np.zeros(n_texts, np.int64)
    pos = cand[count > 1]
    if not len(pos):
        return out
    seen: set[int] = set()
    add = seen.add
    found: list[int] = []
    keep = found.append
    next_free = 0
    for i, gram in zip(pos.tolist(), grams[pos].tolist(), strict=True):
        if i < next_free:
            continue
        if gram in seen:
            keep(i)
            next_free = i + n
        else:
            add(gram)
    if found:
        at = np.array(found, np.int64)
        np.add.at(out, text_of[at], cum[at + n] - cum[at] + (n - 1))
    return out


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
    counts = _word_counts(_encode_many([tokenize_words(text)]))[0]
    return _gopher_quality(text, counts.tolist(), text.splitlines())


def _has_alpha(vocab: list[str], lens: np.ndarray) -> np.ndarray:
    """Per word: has an alphabetic character (str.isalpha of the word, else of each character)."""
    out = np.fromiter(map(str.isalpha, vocab), bool, len(vocab))
    for i in np.flatnonzero(~out & (lens > 1)).tolist():  # one character: isalpha said it all
        out[i] = any(map(str.isalpha, vocab[i]))
    return out


def _flag(ids: dict[str, int], words: frozenset[str], size: int) -> np.ndarray:
    """Per id (of `size`): the word is one of `words` (looked up, not tested per word)."""
    out = np.zeros(size, bool)
    out[[ids[w] for w in words if w in ids]] = True
    return out


def _word_counts(tokens: _Tokens) -> np.ndarray:
    """(texts x 4) int64: words, word characters, alphabetic tokens, stop words per text.

    Each distinct token is classified once per batch; the counts are sums over positions:
    one bincount of (text, class bits) gives the three token counts.
    """
    vocab, seq, size = tokens.vocab, tokens.seq, len(tokens.vocab)
    is_word = ~_flag(tokens.ids, _PUNCT, size)
    is_stop = _flag(tokens.ids, GOPHER_STOP_WORDS, size)
    code = is_word + 2 * _has_alpha(vocab, tokens.lens) + 4 * is_stop  # 3 class bits per id
    n = len(tokens.bounds) - 1
    text_of = np.repeat(np.arange(n, dtype=np.int64), np.diff(tokens.bounds))
    combos = np.bincount(text_of * 8 + code[seq], minlength=8 * n).reshape(n, 8)
    counts = np.zeros((n, 4), np.int64)
    counts[:, 0] = combos[:, 1::2].sum(axis=1)  # bit 1: a word (not a punctuation mark)
    counts[:, 2] = combos[:, [2, 3, 6, 7]].sum(axis=1)  # bit 2: has an alphabetic character
    counts[:, 3] = combos[:, 4:].sum(axis=1)  # bit 4: a stop word
    word_lens = np.where(is_word, tokens.lens, 0)[seq]  # exact in float64 (< 2**53)
    counts[:, 1] = np.bincount(text_of, weights=word_lens, minlength=n).astype(np.int64)
    return counts


def _gopher_quality(text: str, counts: Sequence[int], lines: list[str]) -> dict:
    """gopher_quality from a text's `_word_counts` row and its splitlines()."""
    n_words, word_chars, n_alpha, n_stop = counts
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
    chars = _ngram_chars(*_encode(tokenize_words(text)), top=_TOP_NS, dup=_DUP_NS)
    return _gopher_repetition(text, text.splitlines(), chars)


def _gopher_repetition(text: str, lines: list[str], chars: dict[int, int]) -> dict:
    """gopher_repetition from a text's splitlines() and its n-gram characters."""
    n_dup, dup_chars = find_duplicates(lines)
    n_chars = len(text)
    out: dict[str, float | None] = {
        "gopher_dup_line_frac": _ratio(n_dup, len(lines)),
        "gopher_dup_line_char_frac": _ratio(dup_chars, n_chars),
    }
    for n, name in _NGRAM_COLUMNS:
        out[name] = _ratio(chars[n], n_chars)
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
    lines = list(filter(None, map(str.strip, lines)))
    # at most C4_MIN_WORDS_PER_LINE parts: as many as there are words, up to that number
    few = C4_MIN_WORDS_PER_LINE - 1
    return {
        "c4_terminal_punct_ratio": _ratio(sum(map(_C4_END, lines)), len(lines)),
        "c4_min_words_ratio": _ratio(sum(len(s.split(None, few)) > few for s in lines), len(lines)),
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
    non_empty = list(itertools.compress(lines, map(str.strip, lines)))
    newlines = text.count("\n")
    return {
        "fineweb_line_punct_ratio": _ratio(sum(map(_FINEWEB_END, lines)), len(lines)),
        "fineweb_short_line_ratio": _ratio(sum(map(_SHORT, map(len, lines))), len(lines)),
        "fineweb_char_dup_ratio": _ratio(find_duplicates(non_empty)[1], len(text) - newlines),
        "fineweb_new_line_ratio": _ratio(newlines, n_tokens),
    }


def quality_signals(text: str) -> dict[str, float | int | None]:
    """Every quality column of `documents` for one content text, in QUALITY_COLUMNS order.

    >>> list(quality_signals("")) == list(QUALITY_COLUMNS)
    True
    """
    return measure_quality([text])[0]


def measure_quality(texts: Sequence[str]) -> list[dict[str, float | int | None]]:
    """`quality_signals` of many texts: token counts and n-grams of a group of texts at once.

    Texts go in groups of about QUALITY_GROUP_CHARS characters (bounded temporaries: ~10
    int64 arrays per token); a text's values never depend on the others.

    >>> [q["gopher_words"] for q in measure_quality(["Two words.", "", "One"])]
    [2, 0, 1]
    """
    empty = {name: 0 if kind == "int" else None for name, kind in QUALITY_COLUMNS.items()}
    out = [dict(empty) for _ in texts]
    live = [i for i, t in enumerate(texts) if t.strip()]  # no content: 0 counts, no ratios
    for group in group_texts(texts, chars=QUALITY_GROUP_CHARS, indices=live):
        _measure_group(texts, group, out)
    return out


def _measure_group(texts: Sequence[str], group: list[int], out: list[dict]) -> None:
    """Quality columns of the texts at `group` (non-empty ones) into `out`."""
    token_lists = [tokenize_words(texts[i]) for i in group]  # one tokenization per text
    tokens = _encode_many(token_lists)
    counts = _word_counts(tokens).tolist()
    grams = _ngram_chars_many(tokens.seq, tokens.lens, tokens.bounds, _TOP_NS, _DUP_NS)
    grams_of = {n: v.tolist() for n, v in grams.items()}
    for k, i in enumerate(group):
        text = texts[i]
        lines = text.splitlines()  # one split of each kind, shared
        nl_lines = text.split("\n")
        found = {
            **_gopher_quality(text, counts[k], lines),
            **_gopher_repetition(text, lines, {n: v[k] for n, v in grams_of.items()}),
            **_c4_line_ratios(nl_lines),
            **_fineweb_ratios(text, nl_lines, len(token_lists[k])),
        }
        out[i] = {name: found[name] for name in QUALITY_COLUMNS}
