import pytest

from transforms.boilerplate import (
    flag_lines,
    has_terminal_punct,
    repeated_in_doc,
    smooth_reasons,
    unpunctuated_runs,
)
from transforms.lines import line_key


def _flags(lines, counts=None):
    keys = [line_key(t) for t in lines]
    return flag_lines(lines, keys, counts or [1] * len(lines))


def test_sample_page_flags_everything_but_the_article(sample_lines):
    reasons = _flags(sample_lines)
    assert [i for i, r in enumerate(reasons) if not r] == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "text, punct",
    [
        ("A sentence.", True),
        ("Really?", True),
        ('He said "no."', True),
        ("Logg på", False),
        ("", False),
    ],
)
def test_terminal_punct(text, punct):
    assert has_terminal_punct(text) is punct


def test_repeated_in_doc_marks_every_occurrence_but_not_empty_keys():
    assert repeated_in_doc([1, 2, 1, 0, 0]) == [True, False, True, False, False]


def test_unpunctuated_runs_need_three_lines():
    assert unpunctuated_runs(["a", "b", "Done.", "c", "d", "e"]) == [
        False,
        False,
        False,
        True,
        True,
        True,
    ]


def test_short_line_between_boilerplate_takes_its_class():
    long = "This is a long line of article text that easily passes the jusText length limit."
    texts = [long, "menu", "Short.", "menu2"]
    out = smooth_reasons(texts, [(), ("x",), (), ("x",)])
    assert out[2] == ("context_boilerplate",)
    assert out[0] == ()


def test_headline_before_article_stays_content():
    long = "This is a long line of article text that easily passes the jusText length limit."
    reasons = _flags(["A headline", long, long + " More.", "Another long paragraph " + long])
    assert reasons[0] == ()


def test_template_lines_need_many_documents_and_short_text():
    long = "This is a long syndicated sentence that appears in several documents of the crawl."
    reasons = _flags(["Cookie settings here", long], counts=[5, 5])
    assert "template_line" in reasons[0]
    assert "template_line" not in reasons[1]
