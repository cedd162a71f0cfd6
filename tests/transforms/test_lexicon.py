"""transforms/lexicon.py: jusText's stoplists, read without importing jusText."""

from __future__ import annotations

import re
import subprocess
import sys

import justext
import pytest

from tests.conftest import REPO
from transforms import lexicon as lx


@pytest.mark.parametrize("lang", sorted(lx.JUSTEXT_STOPLISTS))
def test_stopwords_are_justexts_own_stoplist(lang):
    want = frozenset(w.lower() for w in justext.get_stoplist(lx.JUSTEXT_STOPLISTS[lang]))
    assert lx.stopwords(lang) == want
    assert lx.stopwords(f"{lang}-xx") == want  # a region subtag falls back to the language


@pytest.mark.parametrize("lang", ["zh-cn", "ja", "xx", ""])
def test_languages_without_a_stoplist_get_an_empty_one(lang):
    assert lx.stopwords(lang) == frozenset()


def test_reading_a_stoplist_does_not_import_justext_or_lxml():
    code = (
        "import sys; from transforms import lexicon as lx; n = len(lx.stopwords('de')); "
        "print(n, 'justext' in sys.modules, 'lxml' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert int(out[0]) > 100 and out[1:] == ["False", "False"]


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (r"\d+ min(ute)?s? read\W*$", "\u0663 mins read \u2014"),  # Unicode digit, dash
        (r"\bdel på\b", "del på facebook"),
        (r"(publié|classé) dans (?!\d)[^.!?]{1,80}$", "classé dans économie"),
        (r"\S+( \S+){0,3} (says|sagt):$", "jean\u00a0dupont sagt:"),
        (r"комментари\w*\W*\d*$", "комментариев: 12"),
        (r"[\d,.]+k? (posts?|likes)$", "1,2k likes"),
        (r"\u00a9|\(c\) ", "(c) 2024"),
    ],
)
def test_the_re2_superset_matches_where_python_does(pattern, text):
    import pyarrow as pa
    import pyarrow.compute as pc

    assert re.search(pattern, text)
    found = pc.match_substring_regex(pa.array([text, "x"]), "(?s)" + lx.re2_superset(pattern))
    assert found.to_pylist()[0] is True


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?P<x>a)(?P=x)"])
def test_the_re2_superset_refuses_backreferences(pattern):
    with pytest.raises(ValueError, match="no RE2 superset"):
        lx.re2_superset(pattern)


def test_the_re2_patterns_compile_and_stay_selective():
    """Both patterns compile in Arrow's RE2 and pass few ordinary sentences."""
    prose = [
        "the weather was fine and we walked to the harbour.",
        "die regierung hat das gesetz am montag beschlossen.",
        "el equipo ganó el partido por dos goles.",
    ] * 10
    assert lx.line_candidates(prose)[0] == [False] * len(prose)
    assert lx.line_candidates(["all rights reserved"])[0] == [True]


@pytest.mark.parametrize(
    "text", ["Read MORE 24/7!", "\u212aelvin", "snake_case x2y", "İstanbul", ""]
)
def test_ascii_words_are_the_words_of_lowercased_ascii_text(text):
    low = text.lower()
    if low.isascii():  # ("\u212a", the Kelvin sign, lowercases to ASCII "k")
        assert lx.ASCII_WORD.findall(low) == lx.WORD.findall(low)
    assert all(
        lx.WORD.findall(chr(c).lower()) == lx.ASCII_WORD.findall(chr(c).lower()) for c in range(128)
    )
