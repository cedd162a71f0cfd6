import csv
import random
import sys
from pathlib import Path

import pytest

from transforms.language import (
    SMOOTHED,
    UND,
    WEAK_MAX_LETTERS,
    WEAK_MAX_WORDS,
    WEAK_SCORE,
    _engine,
    content_language,
    detect_language,
    detect_languages,
    detect_lines,
    document_language,
    guard_script,
    is_weak_line,
    language_mix,
    prepare_text,
    smooth_languages,
)
from transforms.lines import line_key

LANGID_SAMPLE = Path(__file__).resolve().parents[1] / "data" / "langid" / "sample.tsv"
KINDS = ("word", "pair", "sentence", "caps_sentence")


@pytest.fixture(scope="module")
def langid_rows() -> list[tuple[str, str, str]]:
    """(gold lang, kind, text) rows of the lingua-py sample (see tests/data/langid/SOURCES.md)."""
    with LANGID_SAMPLE.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        return [(r[0], r[1], r[2]) for r in reader]


@pytest.mark.parametrize("bad", [None, b"bytes", 12, "", "   ", "1234 -- 56", "!!!"])
def test_bad_input_is_und(bad):
    assert detect_language(bad).lang == UND


def test_all_caps_is_lowercased_before_detection():
    assert prepare_text("FORGET THE GOOD OLD DAYS") == "forget the good old days"
    assert prepare_text("Normal Title Case") == "Normal Title Case"


@pytest.mark.parametrize(
    "lang, text, expected",
    [("ko", "中文的文本", "zh-cn"), ("ko", "ひらがなと漢字", "ja"), ("ko", "한국어", "ko")],
)
def test_script_guard(lang, text, expected):
    assert guard_script(lang, text) == expected


def test_detection_is_deterministic_across_calls():
    labels = {detect_language("Greatest gift").lang for _ in range(20)}
    assert len(labels) == 1


def test_document_language_is_character_weighted():
    assert document_language(["no", "en", "en"], [10, 6, 6]) == "en"
    assert document_language([], []) == UND
    assert language_mix(["und", "fr"], [5, 5]) == {"fr": 1.0}


def test_langdetect_rs_gives_langdetect_labels_and_scores(langid_rows):
    """Parity: langdetect-rs 0.1.0 (pinned) == langdetect 1.0.9 seeded, on every 6th row."""
    texts = [r[2] for r in langid_rows[::6]]
    assert len(texts) > 300
    fast = detect_languages(texts, engine="rs")
    pure = detect_languages(texts, engine="py")
    assert [r.lang for r in fast] == [r.lang for r in pure]
    assert [r.score for r in fast] == pytest.approx([r.score for r in pure], abs=1e-6)


def test_auto_falls_back_to_langdetect_without_langdetect_rs(monkeypatch):
    monkeypatch.setitem(sys.modules, "langdetect_rs", None)  # import now raises ImportError
    _engine.cache_clear()
    try:
        assert _engine("auto")[1] is None
        assert detect_language("Guten Morgen, wie geht es dir heute?").lang == "de"
        with pytest.raises(ImportError):
            _engine("rs")
    finally:
        _engine.cache_clear()


def test_py_engine_is_pure_langdetect():
    assert _engine("py")[1] is None  # no batch function: per-text langdetect calls
    with pytest.raises(ValueError):
        _engine("fast")


def test_detect_lines_caches_exact_text_not_line_key():
    texts = ["Oct 25, 2017", "Oct 26, 2018", "Oct 25, 2017", "-- 42 --", "NEWS", "News"]
    keys = [line_key(t) for t in texts]
    assert keys[0] == keys[1]  # line_key folds digits and case
    cache: dict = {}
    got = detect_lines(texts, keys, cache=cache)
    assert got == [detect_language(t) for t in texts]
    assert got[3].lang == UND
    assert len(cache) == 4  # one detection per distinct prepared text ("NEWS" -> "news")


def _accuracy(rows, labels, kind):
    pairs = [(r[0], lab) for r, lab in zip(rows, labels, strict=True) if r[1] == kind]
    return sum(gold == lab for gold, lab in pairs) / len(pairs)


def test_wrapper_beats_raw_langdetect_on_every_kind(langid_rows):
    """Measured on the sample: raw 63.5/79.4/99.0/27.2%, winnow 64.5/80.6/99.2/98.2%."""
    texts = [r[2] for r in langid_rows]
    detect_langs, batch, error = _engine("auto")
    if batch is not None:
        raw = [langs[0].lang if langs else UND for langs in batch(texts)]
    else:
        raw = []
        for t in texts:
            try:
                raw.append(detect_langs(t)[0].lang)
            except error:
                raw.append(UND)
    winnow = [r.lang for r in detect_languages(texts)]
    for kind in KINDS:
        assert _accuracy(langid_rows, winnow, kind) >= _accuracy(langid_rows, raw, kind), kind
    assert _accuracy(langid_rows, winnow, "caps_sentence") >= 0.95
    assert _accuracy(langid_rows, winnow, "sentence") >= 0.97
    assert _accuracy(langid_rows, winnow, "pair") >= 0.78
    assert _accuracy(langid_rows, winnow, "word") >= 0.60


EN = ["Baby's life saved by mum's best friend", "Liz portfolio is striking legacy"]


@pytest.mark.parametrize(
    "langs, texts, doc_lang, expected",
    [
        # weak line between two reliable doc-language lines: smoothed
        (["en", "ro", "en"], [EN[0], "Picture perfect", EN[1]], "en", ["en", "en", "en"]),
        # at a document edge one reliable neighbour is enough
        (["ro", "en"], ["Picture perfect", EN[0]], "en", ["en", "en"]),
        # neighbours disagree with each other: kept
        (
            ["en", "ro", "no"],
            [EN[0], "Picture perfect", "Allerede abonnent? Logg på"],
            "en",
            ["en", "ro", "no"],
        ),
        # neighbours agree but not with the document language: kept
        (
            ["no", "da", "no"],
            ["Allerede abonnent? Logg på", "Logg på", "Denne historien er fra"],
            "en",
            ["no", "da", "no"],
        ),
        # a reliable line keeps its own label even between other-language lines
        (
            ["en", "no", "en"],
            [EN[0], "Denne historien er fra December 06", EN[1]],
            "en",
            ["en", "no", "en"],
        ),
        # no letters stays und; unknown document language: nothing changes
        (["en", "und", "en"], [EN[0], "12:30", EN[1]], "en", ["en", "und", "en"]),
        (["en", "ro", "en"], [EN[0], "Picture perfect", EN[1]], "und", ["en", "ro", "en"]),
        # weak neighbours are skipped when looking for context
        (
            ["en", "ro", "de", "en"],
            [EN[0], "Picture perfect", "UNITED FRONT", EN[1]],
            "en",
            ["en", "en", "en", "en"],
        ),
    ],
)
def test_smooth_languages(langs, texts, doc_lang, expected):
    final, reasons = smooth_languages(langs, [0.99] * len(langs), texts, doc_lang=doc_lang)
    assert final == expected
    assert reasons == [SMOOTHED if a != b else "" for a, b in zip(final, langs, strict=True)]


def test_low_score_makes_a_long_line_weak():
    texts = [EN[0], "Survivor of 1994 ordeal loses four-year battle with cancer", EN[1]]
    final, _ = smooth_languages(["en", "fr", "en"], [0.99, 0.3, 0.99], texts, doc_lang="en")
    assert final == ["en", "en", "en"]
    kept, _ = smooth_languages(["en", "fr", "en"], [0.99, 0.99, 0.99], texts, doc_lang="en")
    assert kept[1] == "fr"


def test_smooth_languages_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        smooth_languages(["en"], [], ["x"], doc_lang="en")


def test_content_language_prefers_the_whole_text_when_lines_support_it():
    text = "Fylkeskommunen har vedtatt å starte en ny ferjerute mellom øyene fra neste sommer."
    assert content_language(["da", "no"], [163, 157], text) == "no"
    # a clear line majority is not overruled by a label the lines barely support
    assert content_language(["en", "no"], [900, 100], text) == "en"
    assert content_language(["en"], [10], "") == "en"
    assert content_language([], [], "") == UND


def _reference_prepare(text):  # the definition, with str methods on every character
    letters = sum(c.isalpha() for c in text)
    if not letters:
        return None
    upper = sum(c.isupper() for c in text)
    return text.lower() if upper / letters >= 0.6 else text


@pytest.mark.parametrize(
    "text",
    [
        *("ABC d", "ABc de", "AB cde", "12:30 -- 4", "", "x", "MiXeD 42 CaSe!", "ÆØÅ æ", "ÆØ åæø"),
        *("Ab", "ǅa", "中文", "ß", "İ", "٣ ٤", "\u0301", "éé", "ÉÉ é"),
    ],
)
def test_prepare_text_ascii_and_unicode_paths_follow_the_definition(text):
    assert prepare_text(text) == _reference_prepare(text)


def test_prepare_text_is_its_definition_on_random_text():
    rng = random.Random(11)
    alphabet = " aAéÉ1.ǅ中ßЗз٣\u0301"
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert prepare_text(text) == _reference_prepare(text), text


def _weak_by_definition(text: str, score: float) -> bool:
    letters = sum(map(str.isalpha, text))
    return score < WEAK_SCORE or len(text.split()) <= WEAK_MAX_WORDS or letters <= WEAK_MAX_LETTERS


@pytest.mark.parametrize(
    ("text", "weak"),
    [
        ("two words", True),
        ("three short wds", True),  # 13 letters
        ("a b " + "x" * 17, True),  # three words, 19 letters
        ("a b " + "x" * 18 + " 1 2 3", False),  # 20 letters
        ("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 abc", True),  # late letters, few
        ("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 " + "letters " * 5, False),
        ("\u00a0a\u2003b\u3000c" + "é" * 20, False),  # Unicode spaces split words too
    ],
)
def test_weak_lines_have_few_words_or_letters(text, weak):
    assert is_weak_line(text, 0.99) is weak
    assert is_weak_line(text, 0.99) is _weak_by_definition(text, 0.99)


def test_the_weak_line_test_is_its_definition_on_random_lines():
    rng = random.Random(7)
    alphabet = " \t\u00a0\u2003ab1.,Зé中"
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 90)))
        score = rng.choice((0.2, 0.9))
        assert is_weak_line(text, score) is _weak_by_definition(text, score), text
