"""flows/work.py: a process drops a finished stage's caches when it moves to the next one."""

from __future__ import annotations

from flows import work
from transforms import boilerplate, language
from transforms.lexicon import stopwords
from transforms.lines import normalize_line


def test_moving_on_drops_the_caches_of_the_stage_before():
    work.enter_stage("extract")
    language._prepare_input("A line of text to prepare.")
    work.language_cache("auto")["a line"] = "en"
    normalize_line("A line of text")
    assert language._prepare_cached.cache_info().currsize > 0
    work.enter_stage("extract")  # same stage: nothing dropped
    assert language._prepare_cached.cache_info().currsize > 0
    assert work.language_cache("auto") == {"a line": "en"}

    work.enter_stage("flag")
    assert language._prepare_cached.cache_info().currsize == 0
    assert work.language_cache("auto") == {}
    assert normalize_line.cache_info().currsize == 0
    boilerplate.flag_lines(["Ein Satz mit genug Wörtern, der hier steht."], [1], [1], doc_lang="de")
    assert stopwords.cache_info().currsize > 0

    work.enter_stage("load")
    assert stopwords.cache_info().currsize == 0
