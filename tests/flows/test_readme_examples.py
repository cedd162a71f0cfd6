"""README's analysis examples run against a real flow output (pandas, DuckDB, Polars)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from flows.report import site_of, write_report
from flows.runners import run_etl
from tests.conftest import REPO


def _readme_blocks(section: str) -> list[str]:
    text = (REPO / "README.md").read_text()
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, flags=re.S)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("readme")
    shutil.copytree(REPO / "seeds", root / "seeds")
    run_etl([str(root / "seeds")], str(root / "output"))
    return root


def test_readme_has_pandas_duckdb_and_polars_examples():
    code = "\n".join(_readme_blocks("Analysis examples"))
    for lib in ("import pandas", "import duckdb", "import polars"):
        assert lib in code


@pytest.mark.parametrize("index", range(3))
def test_readme_analysis_example_runs(workdir, index):
    code = _readme_blocks("Analysis examples")[index]
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=workdir, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip()


def test_report_is_self_contained_html_with_every_plot(workdir):
    path = write_report(workdir / "output")
    html = path.read_text()
    assert path == workdir / "output" / "report.html"
    assert "plotly" in html.lower() and "<script" in html
    assert not re.search(r"<script[^>]+src=", html)  # plotly.js inlined: works offline
    for title in (
        "Languages of kept documents",
        "Boilerplate lines by reason",
        "Lines by source",
        "Line length",
        "Quality signals",
        "Duplicate cluster sizes",
    ):
        assert title in html
    # lines by source: the JSONL seeds' URL host, the text files by their top folder
    assert "example.no (1 docs)" in html
    assert "seeds/crawl/ (2 docs)" in html.replace("\\u002f", "/")  # plotly's JSON escapes /


@pytest.mark.parametrize(
    "url, source, site",
    [
        ("https://www.example.com/a?b=1", "crawl.warc.gz", "www.example.com"),
        (None, "seeds/a.txt", "seeds/a.txt"),
        ("", "a.jsonl", "a.jsonl"),
        ("not a url", "a.jsonl", "a.jsonl"),
    ],
)
def test_report_groups_by_url_host_else_source(url, source, site):
    assert site_of(url, source) == site


def test_report_on_a_folder_without_datasets_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no winnow datasets"):
        write_report(tmp_path)
