"""`winnow report` rendered in a real headless Chromium (Debian's chromium + chromedriver):
every chart draws, the page reads as one grid of fixed-height cards.

Set WINNOW_SCREENSHOT_DIR=docs to refresh the README's screenshot.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from flows.report import PLOT_HEIGHT, source_group, write_report
from flows.runners import run_etl
from tests.conftest import REPO

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# Headless flags for this machine kind (closed network: no background connections).
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
]
EXPECTED_CHARTS = [
    "Per run: documents",
    "Per run: boilerplate share",
    "Languages of kept documents",
    "Boilerplate lines by reason",
    "Lines by source",
    "Line length",
    "Quality signals",
    "Duplicates: exact vs near",
    "Duplicate cluster sizes",
    "Near duplicates: similarity",
    "Errors by reason",
]
CHART_WAIT_S = 60
# every chart: its title, how many traces it has, whether a trace drew a visible path
CHARTS_JS = """
return Array.from(document.querySelectorAll('.plotly-graph-div')).map(g => ({
  title: (g.layout && g.layout.title && g.layout.title.text) || '',
  traces: (g._fullData || []).length,
  drawn: Array.from(g.querySelectorAll('g.trace path')).some(
    p => (p.getAttribute('d') || '').length > 4),
  height: g.getBoundingClientRect().height,
}));
"""


@pytest.fixture(scope="module")
def two_run_output(tmp_path_factory) -> Path:
    """seeds/, then a second run with a new article and a binary file: trends, errors, dups."""
    root = tmp_path_factory.mktemp("report")
    shutil.copytree(REPO / "seeds", root / "in")
    run_etl([str(root / "in")], str(root / "out"))
    (root / "in" / "more").mkdir()
    (root / "in" / "more" / "garbage.txt").write_bytes(bytes(range(32)) * 300)
    (root / "in" / "more" / "article.txt").write_text(
        "A second night brought a new article with several sentences in it.\n"
        "It has enough words to be content, and it ends with a full stop.\n",
        encoding="utf-8",
    )
    run_etl([str(root / "in")], str(root / "out"))
    return root / "out"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists():
        pytest.skip("needs Debian's chromium and chromium-driver (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _drawn_charts(browser, uri: str) -> list[dict]:
    """Load URI and wait until every chart drew (a loaded CI machine can lag the load event);
    a page that shows no chart at all (a renderer that died under load) is loaded once more."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    for _attempt in range(2):
        browser.get(uri)
        with contextlib.suppress(TimeoutException):  # the caller's assertions say what failed
            WebDriverWait(browser, CHART_WAIT_S, poll_frequency=0.2).until(
                lambda b: (
                    sum(c["drawn"] for c in b.execute_script(CHARTS_JS)) >= len(EXPECTED_CHARTS)
                )
            )
        charts = browser.execute_script(CHARTS_JS)
        if charts:
            return charts
    return charts


def test_report_draws_every_chart_in_chromium(two_run_output, browser):
    path = write_report(two_run_output)
    charts = _drawn_charts(browser, path.resolve().as_uri())
    titles = [c["title"] for c in charts]
    for expected in EXPECTED_CHARTS:
        assert any(t.startswith(expected) for t in titles), (expected, titles)
    for chart in charts:
        assert chart["traces"] > 0 and chart["drawn"], chart
        assert chart["height"] <= 2 * PLOT_HEIGHT + 10, chart  # fixed height, not the window's
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    page = browser.find_element("tag name", "body").text
    assert "Top 20 template lines" in page and "Files with the most errors" in page
    assert "more/garbage.txt" in page  # the errors table names the file
    shots = os.environ.get("WINNOW_SCREENSHOT_DIR")
    if shots:
        height = browser.execute_script("return document.body.scrollHeight")
        browser.set_window_size(1400, height + 40)
        browser.save_screenshot(str(Path(shots) / "report.png"))


def test_report_counts_match_the_datasets(two_run_output):
    html = write_report(two_run_output).read_text()
    docs = pd.read_parquet(two_run_output / "documents")
    lines = pd.read_parquet(two_run_output / "lines")
    assert f"<b>{len(docs):,}</b>kept" in html and f"<b>{len(lines):,}</b>lines" in html
    assert "<b>2</b>runs" in html


@pytest.mark.parametrize(
    "url, source, group",
    [
        ("https://www.example.com/a?b=1", "crawl.warc.gz", "www.example.com"),
        (None, "seeds/crawl/deep/a.txt", "seeds/crawl/"),
        (None, "seeds/a.txt", "seeds/"),
        ("not a url", "a.jsonl", "a.jsonl"),
    ],
)
def test_sources_group_by_url_host_else_top_folder(url, source, group):
    assert source_group(url, source) == group
