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


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://community.letsencrypt.org/t/longer-chain/212419", "forum"),
        ("https://expatriates.stackexchange.com/questions/964/how-to-book", "forum"),
        ("https://www.mumsnet.com/talk/food_and_recipes/5498613-meals", "forum"),
        ("https://shop.example.de/products/tee-100g", "shop"),
        ("https://www.example.com/dp/B000123", "shop"),
        ("https://docs.pydantic.dev/latest/concepts/fields/", "docs"),
        ("https://wiki.archlinux.org/title/Sudo", "docs"),
        ("https://www.theguardian.com/world/2024/jan/01/story", "article"),
        ("", "article"),
    ],
)
def test_page_type_from_url(url, kind):
    assert eval_boilerplate.page_type(url) == kind


def test_page_groups_add_a_type_row_for_non_articles_only():
    forum = {"source": "wcxb", "url": "https://forum.obsidian.md/t/x/1", "lang": None}
    article = {"source": "wcxb", "url": "https://example.com/news/x", "lang": "en"}
    assert "wcxb:forum" in eval_boilerplate.page_groups(forum)
    assert [g for g in eval_boilerplate.page_groups(article) if ":" in g] == []
