"""`winnow report OUTPUT`: a self-contained HTML report of the datasets (plotly)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd


def site_of(url: str | None, source: str) -> str:
    """The URL's host when the document has a URL (WARC, JSONL), else its input file.

    >>> site_of("https://www.example.com/a?b=1", "crawl.warc.gz"), site_of(None, "a.txt")
    ('www.example.com', 'a.txt')
    """
    if isinstance(url, str) and url:
        host = urlsplit(url).hostname
        if host:
            return host
    return source


def _figures(output: Path) -> list:
    import plotly.express as px

    lines = pd.read_parquet(
        output / "lines",
        columns=["doc_id", "text", "lang", "is_boilerplate", "boilerplate_reasons"],
    )
    docs = pd.read_parquet(output / "documents", columns=["doc_id", "source", "url", "lang"])
    dups = pd.read_parquet(output / "duplicates")
    figs = []

    chars = lines.assign(chars=lines["text"].str.len()).groupby("lang")["chars"].sum()
    chars = chars.sort_values(ascending=False).reset_index()
    figs.append(
        px.bar(chars, x="lang", y="chars", title="Language mix (characters over all lines)")
    )

    reasons = lines["boilerplate_reasons"].explode().dropna()
    reasons = reasons.value_counts().rename_axis("reason").reset_index(name="lines")
    figs.append(px.bar(reasons, x="reason", y="lines", title="Boilerplate lines by reason"))

    # kept documents only: `documents` carries the source, removed duplicates do not
    docs["site"] = [
        site_of(url, source) for url, source in zip(docs["url"], docs["source"], strict=True)
    ]
    kept = lines[["doc_id", "is_boilerplate"]].merge(docs[["doc_id", "site"]], on="doc_id")
    by_site = kept.groupby("site")["is_boilerplate"].mean()
    by_site = by_site.sort_values(ascending=False).head(40).rename("boilerplate share")
    figs.append(
        px.bar(
            by_site.reset_index(),
            x="site",
            y="boilerplate share",
            title="Boilerplate share of lines by source: URL host, else input file (top 40)",
        )
    )

    lengths = lines.assign(
        length=lines["text"].str.len().clip(upper=400),
        kind=lines["is_boilerplate"].map({True: "boilerplate", False: "content"}),
    )
    figs.append(
        px.histogram(
            lengths,
            x="length",
            color="kind",
            barmode="overlay",
            nbins=80,
            title="Line length (characters, capped at 400): content vs boilerplate",
        )
    )

    sizes = dups.groupby("kept_doc_id").size().add(1).value_counts().sort_index()
    sizes = sizes.rename_axis("cluster size").reset_index(name="clusters")
    figs.append(px.bar(sizes, x="cluster size", y="clusters", title="Duplicate cluster sizes"))
    return figs


def write_report(output: str | Path) -> Path:
    """Write OUTPUT/report.html (plotly.js inlined: works offline) and return its path."""
    output = Path(output)
    if not (output / "runs").exists():
        raise FileNotFoundError(f"{output} holds no winnow datasets (no runs/ folder)")
    runs = pd.read_parquet(output / "runs")
    parts = [
        "<html><head><meta charset='utf-8'><title>winnow report</title></head><body>",
        f"<h1>winnow report: {output.resolve()}</h1>",
        f"<p>{len(runs)} runs, {int(runs['n_documents'].sum())} documents, "
        f"{int(runs['n_documents_kept'].sum())} kept, {int(runs['n_lines'].sum())} lines, "
        f"{int(runs['n_duplicates'].sum())} duplicates, {int(runs['n_errors'].sum())} errors.</p>",
    ]
    for i, fig in enumerate(_figures(output)):
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0)))
    parts.append("</body></html>")
    path = output / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
