import pytest

from transforms.language import (
    UND,
    detect_language,
    document_language,
    guard_script,
    language_mix,
    prepare_text,
)


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
