"""`winnow report` and the README's pandas/DuckDB/Polars examples on a real run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import main
from flows.etl import run_etl
from tests.conftest import REPO


@pytest.fixture(scope="module")
def seeds_output(tmp_path_factory) -> Path:
    """A folder holding `output/` from a run over seeds/ (the README's relative paths)."""
    root = tmp_path_factory.mktemp("analysis")
    run_etl([str(REPO / "seeds")], str(root / "output"))
    return root


def readme_examples() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = re.search(
        r"<!-- analysis-examples:start -->(.*?)<!-- analysis-examples:end -->", text, re.S
    )
    assert section, "README lost its analysis examples"
    return re.findall(r"```python\n(.*?)```", section.group(1), re.S)


def test_readme_has_pandas_duckdb_and_polars_examples():
    blocks = readme_examples()
    assert len(blocks) == 3
    assert [b.split()[1] for b in blocks] == ["pandas", "duckdb", "polars"]


@pytest.mark.parametrize("index", range(3))
def test_readme_example_runs(seeds_output, index):
    code = readme_examples()[index]
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=seeds_output, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()


def test_readme_examples_answer_the_questions(seeds_output):
    """The seeds hold one source that is mostly boilerplate and a template repeated across sites."""
    out = {}
    for i, code in enumerate(readme_examples()):
        ns: dict = {}
        cwd = Path.cwd()
        try:
            os.chdir(seeds_output)
            exec(compile(code, f"README block {i}", "exec"), ns)
        finally:
            os.chdir(cwd)
        out[i] = ns
    by_source = out[0]["by_source"]
    assert by_source["boilerplate_share"].between(0, 1).all()
    assert (by_source["boilerplate_share"] > 0.5).any()
    assert len(out[1]["recurring"]) >= 1
    assert (out[1]["recurring"]["sources"] >= 2).all()
    mixed = out[2]["mixed"]
    assert mixed["documents"].sum() == 7
    assert ((mixed["mixed_share"] >= 0) & (mixed["mixed_share"] <= 1)).all()


def test_report_html_is_self_contained(seeds_output, capsys):
    out = seeds_output / "output"
    assert main(["report", str(out)]) == 0
    path = out / "report.html"
    assert capsys.readouterr().out.strip() == str(path)
    html = path.read_text(encoding="utf-8")
    assert "<script src=" not in html  # plotly.js inline, no CDN
    assert "Plotly.newPlot" in html and len(html) > 1_000_000
    for title in (
        "Language mix",
        "Boilerplate share of lines by reason",
        "Boilerplate share by source",
        "Line length: content vs boilerplate",
        "Duplicate cluster sizes",
    ):
        assert title in html
    assert html.count("Plotly.newPlot") == 5


def test_report_refuses_a_folder_without_datasets(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "no winnow datasets" in capsys.readouterr().err
