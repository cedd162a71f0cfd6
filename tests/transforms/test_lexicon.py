"""transforms/lexicon.py: jusText's stoplists, read without importing jusText."""

from __future__ import annotations

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
