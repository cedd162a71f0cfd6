"""The boilerplate evaluation's plain-text proxy: pages cut to their labelled content."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import eval_boilerplate  # noqa: E402

B, C = "boilerplate", "content"


@pytest.mark.parametrize(
    ("labels", "margin", "expected"),
    [
        ([B, B, C, None, C, B, B, B], 1, slice(1, 6)),
        ([B, B, C, None, C, B, B, B], 0, slice(2, 5)),
        ([C, B, B], 5, slice(0, 6)),  # clipped by list slicing at the page end
        ([B, None, B], 2, slice(0, 0)),  # no content line: nothing left
    ],
)
def test_extracted_region(labels, margin, expected):
    page = {"lines": [f"line {i}" for i in range(len(labels))], "labels": labels}
    assert eval_boilerplate.extracted_region(page, margin) == expected


def test_trim_pages_cuts_lines_labels_and_languages_alike():
    pages = [
        {"lines": ["a", "b", "c", "d"], "labels": [B, C, C, B], "source": "s"},
        {"lines": ["x"], "labels": [B], "source": "s"},
    ]
    langs = [["en", "de", "fr", "sv"], ["fi"]]
    cut, cut_langs = eval_boilerplate.trim_pages(pages, langs, 0)
    assert cut == [{"lines": ["b", "c"], "labels": [C, C], "source": "s"}]
    assert cut_langs == [["de", "fr"]]
    assert pages[0]["lines"] == ["a", "b", "c", "d"]  # the input pages are not changed
