import pytest

from transforms.lines import line_key, line_keys, normalize_line, split_documents, split_lines


@pytest.mark.parametrize(
    "a, b",
    [
        ("Allerede abonnent ? Logg på", "Allerede abonnent? Logg på"),
        ("Page 1 of 12", "Page 2 of 13"),
        ("HELLO   World!!", "hello world"),
        ("ﬁne", "fine"),  # NFKC ligature
        ("Straße", "STRASSE"),  # casefold
    ],
)
def test_line_key_ignores_spacing_punctuation_case_and_digits(a, b):
    assert line_key(a) == line_key(b)


@pytest.mark.parametrize("a, b", [("Logg på", "Logg ut"), ("abc", "abd"), ("a b", "ab")])
def test_line_key_separates_different_words(a, b):
    assert line_key(a) != line_key(b)


@pytest.mark.parametrize("text", ["", "   ", "---", "!!! ???"])
def test_lines_without_word_characters_have_key_zero(text):
    assert line_key(text) == 0
    assert normalize_line(text) == ""


def test_split_lines_keeps_offsets_and_empty_lines():
    text = "first\n\nthird line\n"
    lines = split_lines(text)
    assert [ln.text for ln in lines] == ["first", "", "third line", ""]
    assert [ln.line_no for ln in lines] == [0, 1, 2, 3]
    for ln in lines:
        assert text[ln.start : ln.end] == ln.text


def test_sample_page_paywall_lines_share_a_key(sample_lines):
    assert line_key(sample_lines[8]) == line_key(sample_lines[11])
    assert sample_lines[8] != sample_lines[11]


def test_ascii_fast_path_equals_the_unicode_rules():
    import random
    import string

    from transforms.lines import _normalize_unicode

    rng = random.Random(7)
    alphabet = string.printable + "_"
    texts = ["".join(rng.choices(alphabet, k=rng.randint(0, 40))) for _ in range(3000)]
    texts += ["Page 12 of 30", "  A__b  ", "\tX\x0bY\x1fZ\x7f", "ÄB 12"]
    for text in texts:
        assert normalize_line(text) == _normalize_unicode(text), repr(text)


def test_line_keys_of_any_ascii_text_follow_the_unicode_rules():
    import random

    import xxhash

    from transforms.lines import _normalize_unicode

    rng = random.Random(3)
    every = [chr(c) for c in range(128)]  # controls, DEL and the underscore included
    texts = ["".join(rng.choices(every, k=rng.randint(0, 30))) for _ in range(5000)] + every
    for text in texts:
        norm = _normalize_unicode(text)
        assert normalize_line.__wrapped__(text) == norm, repr(text)
        assert line_key(text) == (xxhash.xxh3_64_intdigest(norm.encode()) if norm else 0)


@pytest.mark.parametrize(
    "texts", [[], [""], ["", "a\n\nb", "\n"], ["Første linje\nzweite Zeile 12\n", "x"]]
)
def test_split_documents_is_split_lines_of_each_text(texts):
    cols = split_documents(texts)
    lines = [ln for t in texts for ln in split_lines(t)]
    assert cols.sizes == [len(split_lines(t)) for t in texts]
    assert cols.line_no == [ln.line_no for ln in lines]
    assert (cols.start, cols.end) == ([ln.start for ln in lines], [ln.end for ln in lines])
    assert cols.text == [ln.text for ln in lines]


def test_line_keys_are_line_key_of_each_line():
    texts = ["Logg på", "logg PÅ!", "", "42", "Logg på"]
    assert line_keys(texts) == [line_key(t) for t in texts]
