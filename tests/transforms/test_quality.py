import math
import random
import re
import string
from collections import Counter

import pytest

from transforms.quality import (
    GOPHER_STOP_WORDS,
    QUALITY_COLUMNS,
    QUALITY_GROUP_CHARS,
    _encode_many,
    _ngram_chars_many,
    c4_line_ratios,
    dup_ngram_chars,
    find_duplicates,
    fineweb_ratios,
    gopher_quality,
    gopher_repetition,
    measure_quality,
    quality_signals,
    tokenize_words,
    top_ngram_chars,
)


def test_tokenizer_splits_words_and_punctuation():
    assert tokenize_words("It's 5 o'clock... #tag") == [
        "It", "'", "s", "5", "o", "'", "clock", ".", ".", ".", "#", "tag",
    ]  # fmt: skip


def test_gopher_quality_definitions():
    text = "The cat and the dog.\n• a list item\nwait...\n# 42"
    q = gopher_quality(text)
    # tokens: The cat and the dog . • a list item wait . . . # 42 -> punctuation-only
    # tokens (".", "#") are not words; "•" is not in string.punctuation, so it counts.
    words = ["The", "cat", "and", "the", "dog", "•", "a", "list", "item", "wait", "42"]
    assert q["gopher_words"] == len(words)
    assert q["gopher_mean_word_length"] == pytest.approx(sum(map(len, words)) / len(words))
    assert q["gopher_hash_word_ratio"] == pytest.approx(1 / 11)  # count("#") / words
    assert q["gopher_ellipsis_word_ratio"] == pytest.approx(1 / 11)  # ("..." + "…") / words
    assert q["gopher_bullet_lines_ratio"] == pytest.approx(1 / 4)  # lines starting with •
    assert q["gopher_ellipsis_lines_ratio"] == pytest.approx(1 / 4)  # lines ending ... or …
    # tokens with a letter / words (numerator counts over all tokens, as in DataTrove)
    assert q["gopher_alpha_words_ratio"] == pytest.approx(9 / 11)
    assert q["gopher_stop_words"] == 2  # "the", "and"; case-sensitive like DataTrove


def test_find_duplicates_counts_repeats_after_the_first():
    assert find_duplicates(["ab", "c", "ab", "ab", "c"]) == (3, 5)


def test_top_and_duplicated_ngram_characters():
    words = ["a", "b", "c", "a", "b", "c", "a", "b"]
    assert top_ngram_chars(words, 2) == 3 * 3  # "a b" x3
    # 3-grams: abc bca cab abc(dup: +5, skip 3) -> idx 6: "a b" is not a 3-gram; stop
    assert dup_ngram_chars(words, 3) == 5
    assert top_ngram_chars(["a"], 2) == 0
    assert dup_ngram_chars([], 5) == 0


def test_gopher_repetition_definitions():
    text = "alpha beta\ngamma\nalpha beta\nalpha beta"
    r = gopher_repetition(text)
    assert r["gopher_dup_line_frac"] == pytest.approx(2 / 4)
    assert r["gopher_dup_line_char_frac"] == pytest.approx(20 / len(text))
    assert r["gopher_top_2gram_char_frac"] == pytest.approx(len("alpha beta") * 3 / len(text))
    # 5-grams of "alpha beta gamma alpha beta alpha beta": no 5-gram repeats
    assert r["gopher_dup_5gram_char_frac"] == 0.0


def test_c4_line_ratios_count_non_empty_lines():
    r = c4_line_ratios("One two three.\nMenu\n\nTwo words'")
    assert r["c4_terminal_punct_ratio"] == pytest.approx(2 / 3)
    assert r["c4_min_words_ratio"] == pytest.approx(1 / 3)


def test_fineweb_ratios_definitions():
    text = "Short.\nA much longer line that does not end with punctuation\nShort\nShort"
    r = fineweb_ratios(text)
    assert r["fineweb_line_punct_ratio"] == pytest.approx(1 / 4)
    assert r["fineweb_short_line_ratio"] == pytest.approx(3 / 4)  # <= 30 characters
    # "Short" seen twice after... first "Short." differs; the 2nd "Short" is a repeat
    assert r["fineweb_char_dup_ratio"] == pytest.approx(5 / len(text.replace("\n", "")))
    assert r["fineweb_new_line_ratio"] == pytest.approx(3 / len(tokenize_words(text)))


def test_quality_signals_have_every_column_in_order():
    q = quality_signals("The cat sat on the mat.\nIt was happy with that.")
    assert list(q) == list(QUALITY_COLUMNS)
    for name, kind in QUALITY_COLUMNS.items():
        assert isinstance(q[name], int if kind == "int" else float), name
        assert not math.isnan(q[name])


@pytest.mark.parametrize("text", ["", "\n\n", "   "])
def test_no_content_gives_zero_counts_and_null_ratios(text):
    q = quality_signals(text)
    assert q["gopher_words"] == 0 and q["gopher_stop_words"] == 0
    assert all(q[n] is None for n, kind in QUALITY_COLUMNS.items() if kind == "float")


def test_symbols_only_text_has_null_word_ratios():
    q = quality_signals("--- *** ???")
    assert q["gopher_words"] == 0
    assert q["gopher_mean_word_length"] is None
    assert q["fineweb_line_punct_ratio"] == 1.0  # the line ends in "?"


def _reference_top(words, n):  # DataTrove's string version
    grams = [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0
    gram, count = Counter(grams).most_common(1)[0]
    return len(gram) * count


def _reference_dup(words, n):
    grams = [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
    seen, chars, i = set(), 0, 0
    while i < len(grams):
        if grams[i] in seen:
            chars += len(grams[i])
            i += n
        else:
            seen.add(grams[i])
            i += 1
    return chars


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n", [2, 3, 5, 10])
def test_ngram_chars_match_the_string_reference(seed, n):
    rng = random.Random(seed)
    words = [rng.choice(["a", "bb", "ccc", "the", ".", "x1"]) for _ in range(200)]
    assert top_ngram_chars(words, n) == _reference_top(words, n)
    assert dup_ngram_chars(words, n) == _reference_dup(words, n)


@pytest.mark.parametrize("seed", range(4))
def test_batched_ngram_chars_match_the_string_reference_per_text(seed):
    # texts of one batch share a vocabulary and one pass; no n-gram may match across texts
    rng = random.Random(seed)
    texts = [
        [rng.choice(["a", "bb", "ccc", "the", "."]) for _ in range(rng.choice([0, 1, 4, 30, 90]))]
        for _ in range(12)
    ]
    tokens = _encode_many(texts)
    ns = (1, 2, 3, 4, 5, 7, 10)
    got = _ngram_chars_many(tokens.seq, tokens.lens, tokens.bounds, top=ns, dup=())
    for n in ns:
        assert got[n].tolist() == [_reference_top(w, n) for w in texts], n
    for n in ns:
        got_dup = _ngram_chars_many(tokens.seq, tokens.lens, tokens.bounds, top=(), dup=(n,))
        assert got_dup[n].tolist() == [_reference_dup(w, n) for w in texts], n


def test_measure_quality_of_a_batch_is_each_text_on_its_own():
    texts = [
        "The cat sat with the dog.\nThe cat sat with the dog.",
        "",
        "a b a b a b\n• list...\n# tag",
        "The cat sat with the dog.",
        "--- ***",
    ]
    assert measure_quality(texts) == [quality_signals(t) for t in texts]
    assert measure_quality([]) == []


def test_measure_quality_groups_give_the_same_values():
    # more than QUALITY_GROUP_CHARS in all: texts 0-3 and 4-5 are two groups
    rng = random.Random(7)
    vocab = [f"longword{i:05d}padded" for i in range(3000)] + ["the", ".", "and"]
    texts = [" ".join(rng.choice(vocab) for _ in range(5_000)) for _ in range(6)]
    texts[2] = texts[2][:1000] + "\n" + texts[2][:1000]  # a repeated half
    assert sum(map(len, texts)) > QUALITY_GROUP_CHARS > max(map(len, texts))
    assert measure_quality(texts) == [quality_signals(t) for t in texts]


# Tricky characters for the fast paths (ASCII tokenizer, vocabulary classification, line
# ratios): lone surrogates, NUL, \x1c-\x1f (str.split/strip whitespace, not ASCII \s),
# combining marks, CJK, other scripts' digits, fullwidth forms, ß, İ, titlecase, emoji.
TRICKY = [
    "", " ", "\n", "\r\n", "\ud800", "\udfff", "\x00", "\x1c", "\x1f", "\x85", "\u2028",
    "\u00a0", "\u3000", "e\u0301", "\u0301", "漢字", "٣", "²", "½", "Ⅻ", "ａｂｃ１２３", "ß",
    "İ", "ǅ", "ʰ", "〇", "_", "a_1", "12", "#", "...", "…", "•", " • x", "the", "and", "x.",
    "'", '"', "\t", "\x0b", "١٢٣abc", "𝔘𝔫𝔦", "😀",
]  # fmt: skip


def _reference_tokens(text):
    return re.findall(r"\w+|[^\w\s]", text)


def _reference_counts(text):
    tokens = _reference_tokens(text)
    words = [t for t in tokens if t not in string.punctuation or len(t) != 1]
    alpha = sum(any(c.isalpha() for c in t) for t in tokens)
    stops = sum(t in GOPHER_STOP_WORDS for t in tokens)
    return len(words), sum(map(len, words)), alpha, stops


def _reference_lines(text):
    lines = text.split("\n")
    kept = [s.strip() for s in lines if s.strip()]
    dup = find_duplicates([s for s in lines if s.strip() != ""])[1]
    ratio = lambda a, b: a / b if b else None  # noqa: E731
    return {
        "c4_terminal_punct_ratio": ratio(sum(s[-1] in ".?!\"'" for s in kept), len(kept)),
        "c4_min_words_ratio": ratio(sum(len(s.split()) >= 3 for s in kept), len(kept)),
        "fineweb_line_punct_ratio": ratio(
            sum(s[-1:] in tuple(".'\"!?") for s in lines), len(lines)
        ),
        "fineweb_short_line_ratio": ratio(sum(len(s) <= 30 for s in lines), len(lines)),
        "fineweb_char_dup_ratio": ratio(dup, len(text) - text.count("\n")),
    }


def _tricky_texts(seed, count):
    rng = random.Random(seed)
    pool = [*TRICKY, "word", "the", "of", " ", "\n", ".", "1", "a b c", "one two three."]
    out = []
    for _ in range(count):
        parts = [rng.choice(pool) if rng.random() < 0.7 else chr(rng.randrange(0x30000))]
        parts += [rng.choice(pool) for _ in range(rng.randrange(30))]
        out.append("".join(parts))
    return out + TRICKY + [a + b for a in TRICKY for b in TRICKY]


def test_tokenizer_equals_the_reference_on_every_ascii_pair_and_code_point():
    ascii_pairs = [chr(a) + chr(b) + "x" + chr(a) for a in range(128) for b in range(128)]
    for text in ascii_pairs:
        assert tokenize_words(text) == _reference_tokens(text), repr(text)
    every = "".join(map(chr, range(0x110000)))
    assert tokenize_words(every) == _reference_tokens(every)


@pytest.mark.parametrize("seed", range(3))
def test_counts_and_line_ratios_equal_the_reference_on_tricky_text(seed):
    texts = _tricky_texts(seed, 300)
    for text, q in zip(texts, measure_quality(texts), strict=True):
        assert tokenize_words(text) == _reference_tokens(text)
        if not text.strip():
            continue
        n_words, chars, alpha, stops = _reference_counts(text)
        assert (q["gopher_words"], q["gopher_stop_words"]) == (n_words, stops), repr(text)
        assert q["gopher_mean_word_length"] == (chars / n_words if n_words else None)
        assert q["gopher_alpha_words_ratio"] == (alpha / n_words if n_words else None)
        assert {k: q[k] for k in _reference_lines(text)} == _reference_lines(text), repr(text)
