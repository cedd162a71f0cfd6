"""`winnow report OUTPUT`: one self-contained HTML file of plots next to the datasets.

plotly.js is embedded inline, so OUTPUT/report.html opens offline.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import plotly.express as px
import plotly.io as pio

REPORT_NAME = "report.html"
# Sources with fewer lines are grouped as "other" in the per-source plot.
TOP_SOURCES = 20


def _read(output: Path, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    path = output / name
    if not path.exists() or not any(path.rglob("*.parquet")):
        return pd.DataFrame(columns=columns or [])
    return pd.read_parquet(path, columns=columns)


def report_figures(output: str | Path) -> list[tuple[str, object]]:
    """(title, plotly figure) pairs describing one output folder."""
    out = Path(output)
    docs = _read(out, "documents", ["doc_id", "source", "lang"])
    lines = _read(out, "lines", ["doc_id", "text", "is_boilerplate", "boilerplate_reasons"])
    dups = _read(out, "duplicates", ["doc_id", "kept_doc_id", "kind"])
    figs: list[tuple[str, object]] = []

    langs = docs["lang"].astype(str).value_counts().rename_axis("lang").reset_index(name="docs")
    figs.append(("Language mix (unique documents)", px.bar(langs, x="lang", y="docs")))

    n_lines = max(len(lines), 1)
    reasons = lines["boilerplate_reasons"].explode().dropna()
    share = (reasons.value_counts() / n_lines).rename_axis("reason").reset_index(name="share")
    fig = px.bar(share, x="share", y="reason", orientation="h")
    fig.update_layout(xaxis_tickformat=".0%", yaxis={"categoryorder": "total ascending"})
    figs.append(("Boilerplate share of lines by reason", fig))

    # lines of removed duplicates have no row in documents/: unique documents only
    with_source = lines[["doc_id", "is_boilerplate"]].merge(docs[["doc_id", "source"]], on="doc_id")
    by_source = (
        with_source.groupby("source")["is_boilerplate"]
        .agg(["mean", "size"])
        .sort_values("size", ascending=False)
        .head(TOP_SOURCES)
        .reset_index()
    )
    fig = px.bar(by_source, x="mean", y="source", orientation="h", hover_data=["size"])
    fig.update_layout(xaxis_tickformat=".0%", xaxis_title="boilerplate share of lines")
    figs.append((f"Boilerplate share by source (top {TOP_SOURCES} by lines)", fig))

    lengths = pd.DataFrame(
        {
            "chars": lines["text"].str.len(),
            "class": lines["is_boilerplate"].map({True: "boilerplate", False: "content"}),
        }
    )
    fig = px.histogram(lengths, x="chars", color="class", barmode="overlay", nbins=60)
    figs.append(("Line length: content vs boilerplate", fig))

    sizes = (dups.groupby("kept_doc_id").size() + 1).rename("cluster_size").reset_index()
    fig = px.histogram(sizes, x="cluster_size")
    fig.update_layout(xaxis_title="documents per duplicate cluster (kept + removed)")
    figs.append(("Duplicate cluster sizes", fig))
    return figs


def write_report(output: str | Path) -> Path:
    """Write OUTPUT/report.html (self-contained) and return its path."""
    out = Path(output)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>winnow report: {html.escape(str(out.resolve()))}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}</style></head><body>",
        f"<h1>winnow report</h1><p>{html.escape(str(out.resolve()))}</p>",
    ]
    for i, (title, fig) in enumerate(report_figures(out)):
        fig.update_layout(title=title, height=420)
        parts.append(pio.to_html(fig, full_html=False, include_plotlyjs=(i == 0)))
    parts.append("</body></html>")
    path = out / REPORT_NAME
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text("\n".join(parts), encoding="utf-8")
    tmp.replace(path)
    return path
