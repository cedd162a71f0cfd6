"""`winnow report OUTPUT`: a self-contained HTML report of the datasets (plotly, offline).

One page of fixed-height cards in a grid: totals, per-run trends, languages (top N plus
"other", log scale), boilerplate reasons, sources grouped by URL host or top folder, line
lengths, quality-signal distributions with the Gopher/C4/FineWeb thresholds marked, the top
template lines, duplicates exact vs near, errors by reason and by file.
"""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd

from transforms import quality as q

PLOT_HEIGHT = 340  # px: every chart the same height, two or three to a screen
TOP_LANGUAGES = 15
TOP_GROUPS = 20
TOP_TEMPLATES = 20
TOP_ERROR_FILES = 15
# (column, threshold, "min"/"max", who): a document failing it would be dropped by that filter
QUALITY_THRESHOLDS = [
    ("gopher_words", q.GOPHER_MIN_WORDS, "min", "Gopher"),
    ("gopher_mean_word_length", q.GOPHER_MIN_MEAN_WORD_LENGTH, "min", "Gopher"),
    ("gopher_alpha_words_ratio", q.GOPHER_MIN_ALPHA_WORDS_RATIO, "min", "Gopher"),
    ("gopher_stop_words", q.GOPHER_MIN_STOP_WORDS, "min", "Gopher"),
    ("gopher_dup_line_frac", q.GOPHER_MAX_DUP_LINE_FRAC, "max", "Gopher"),
    ("gopher_dup_5gram_char_frac", q.GOPHER_DUP_NGRAMS[0][1], "max", "Gopher"),
    ("fineweb_line_punct_ratio", q.FINEWEB_MIN_LINE_PUNCT_RATIO, "min", "FineWeb"),
    ("fineweb_short_line_ratio", q.FINEWEB_MAX_SHORT_LINE_RATIO, "max", "FineWeb"),
    ("fineweb_char_dup_ratio", q.FINEWEB_MAX_CHAR_DUP_RATIO, "max", "FineWeb"),
    ("c4_terminal_punct_ratio", None, "", "C4: per line"),
]

CSS = """
body { font-family: system-ui, sans-serif; margin: 16px; background: #f6f7f9; color: #222; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 0 0 6px; }
.totals { display: flex; flex-wrap: wrap; gap: 8px; margin: 10px 0 14px; }
.totals div { background: #fff; border-radius: 6px; padding: 6px 12px; box-shadow: 0 1px 2px #0002; }
.totals b { display: block; font-size: 18px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 12px; }
.card { background: #fff; border-radius: 6px; padding: 10px; box-shadow: 0 1px 2px #0002;
        min-width: 0; overflow: hidden; }
.card.wide { grid-column: 1 / -1; }
.table { max-height: PLOT_Hpx; overflow: auto; font-size: 12px; }
table { border-collapse: collapse; width: 100%; }
td, th { border-bottom: 1px solid #eee; padding: 3px 6px; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #666; font-size: 13px; }
""".replace("PLOT_H", str(PLOT_HEIGHT))


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


def source_group(url: str | None, source: str) -> str:
    """Where a document comes from, grouped: its URL host, else the top folder of its source
    path (the input argument and the folder below it), else the file.

    >>> source_group("https://www.example.com/a", "x.jsonl"), source_group(None, "seeds/crawl/a/b.txt")
    ('www.example.com', 'seeds/crawl/')
    >>> source_group(None, "seeds/a.txt"), source_group(None, "a.txt")
    ('seeds/', 'a.txt')
    """
    site = site_of(url, source)
    if site != source:
        return site
    parts = source.split("/")
    return "/".join(parts[: min(len(parts) - 1, 2)]) + "/" if len(parts) > 1 else source


def _layout(fig, title: str, height: int = PLOT_HEIGHT, **kw):
    kw.setdefault("margin", dict(l=50, r=20, t=40, b=40))
    fig.update_layout(title=title, height=height, **kw)
    return fig


def _read(output: Path, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    path = output / name
    if not path.exists():
        return pd.DataFrame(columns=columns or [])
    return pd.read_parquet(path, columns=columns)


def _runs(output: Path) -> pd.DataFrame:
    """Every `runs` row (files read one by one: rows from before a column was added still read)."""
    files = sorted((output / "runs").glob("part-*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def _table(frame: pd.DataFrame, numeric: set[str] = frozenset()) -> str:
    head = "".join(
        f"<th class='{'n' if c in numeric else ''}'>{html.escape(str(c))}</th>" for c in frame
    )
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for c, v in zip(frame.columns, row, strict=True):
            text = f"{v:,}" if c in numeric and isinstance(v, int | float) else str(v)
            cells.append(f"<td class='{'n' if c in numeric else ''}'>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<div class='table'><table><tr>{head}</tr>{''.join(body)}</table></div>"


def _trends(runs: pd.DataFrame) -> list:
    import plotly.graph_objects as go

    runs = runs.sort_values("run_seq")
    x = runs["run_seq"]
    counts = go.Figure()
    for col, name in (
        ("n_documents", "documents"),
        ("n_documents_kept", "kept"),
        ("n_duplicates", "duplicates"),
        ("n_errors", "errors"),
    ):
        counts.add_scatter(x=x, y=runs[col], mode="lines+markers", name=name)
    share = go.Figure()
    lines = runs["n_lines"].where(runs["n_lines"] > 0)
    share.add_scatter(
        x=x, y=runs["n_boilerplate_lines"] / lines, mode="lines+markers", name="boilerplate"
    )
    seconds = (runs["ended_at"] - runs["started_at"]).dt.total_seconds()
    share.add_scatter(
        x=x,
        y=runs["n_lines"] / seconds.where(seconds > 0),
        name="lines/s",
        yaxis="y2",
        mode="lines+markers",
    )
    return [
        _layout(
            counts, "Per run: documents, kept, duplicates, errors", xaxis=dict(title="run", dtick=1)
        ),
        _layout(
            share,
            "Per run: boilerplate share of lines, and lines/s",
            xaxis=dict(title="run", dtick=1),
            yaxis=dict(tickformat=".0%", title="boilerplate"),
            yaxis2=dict(overlaying="y", side="right", title="lines/s"),
        ),
    ]


def _languages(docs: pd.DataFrame):
    import plotly.express as px

    counts = docs["lang"].astype(str).value_counts()
    top = counts.head(TOP_LANGUAGES)
    if len(counts) > TOP_LANGUAGES:
        top = pd.concat([top, pd.Series({"other": counts.iloc[TOP_LANGUAGES:].sum()})])
    frame = top.rename_axis("lang").reset_index(name="documents")
    fig = px.bar(frame, x="lang", y="documents", log_y=True, text="documents")
    shown = (
        f"top {TOP_LANGUAGES} of {len(counts)} + other"
        if len(counts) > TOP_LANGUAGES
        else f"{len(counts)}"
    )
    title = f"Languages of kept documents ({shown} languages, log scale)"
    return _layout(fig, title)


def _reasons(lines: pd.DataFrame):
    import plotly.express as px

    reasons = lines["boilerplate_reasons"].explode().dropna()
    frame = reasons.value_counts().rename_axis("reason").reset_index(name="lines")
    fig = px.bar(frame.iloc[::-1], x="lines", y="reason", orientation="h", log_x=True)
    return _layout(fig, "Boilerplate lines by reason (a line can have several; log)")


def _groups(lines: pd.DataFrame, origin: pd.DataFrame):
    import plotly.express as px

    origin = origin.assign(
        group=[source_group(u, s) for u, s in zip(origin["url"], origin["source"], strict=True)]
    )
    joined = lines[["doc_id", "is_boilerplate"]].merge(origin[["doc_id", "group"]], on="doc_id")
    by = joined.groupby("group")["is_boilerplate"].agg(["size", "sum"])
    by = by.sort_values("size", ascending=False).head(TOP_GROUPS)
    docs = origin.groupby("group").size()
    frame = pd.DataFrame(
        {
            "group": [f"{g} ({docs[g]:,} docs)" for g in by.index],
            "content": by["size"] - by["sum"],
            "boilerplate": by["sum"],
        }
    ).iloc[::-1]
    long = frame.melt(id_vars="group", var_name="kind", value_name="lines")
    fig = px.bar(long, x="lines", y="group", color="kind", orientation="h")
    title = f"Lines by source: URL host, else top folder (top {TOP_GROUPS} by lines)"
    return _layout(fig, title, barmode="stack", legend_title_text="")


def _lengths(lines: pd.DataFrame):
    import plotly.express as px

    frame = pd.DataFrame(
        {
            "length": lines["text"].str.len().clip(upper=400),
            "kind": lines["is_boilerplate"].map({True: "boilerplate", False: "content"}),
        }
    )
    fig = px.histogram(frame, x="length", color="kind", barmode="overlay", nbins=80)
    return _layout(fig, "Line length (characters, capped at 400): content vs boilerplate")


def _quality(docs: pd.DataFrame):
    from plotly.subplots import make_subplots

    present = [t for t in QUALITY_THRESHOLDS if t[0] in docs]
    cols = 5
    rows = -(-len(present) // cols)
    titles = [
        f"{c}<br>{who} {side} {t}" if t is not None else f"{c}<br>{who}"
        for c, t, side, who in present
    ]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, vertical_spacing=0.22)
    content = docs[docs["n_content_lines"] > 0] if "n_content_lines" in docs else docs
    for i, (col, threshold, _, _) in enumerate(present):
        r, c = divmod(i, cols)
        values = content[col].dropna()
        if col == "gopher_words":
            values = values.clip(upper=2_000)
        fig.add_histogram(
            x=values, nbinsx=30, row=r + 1, col=c + 1, showlegend=False, marker_color="#4c78a8"
        )
        if threshold is not None:
            fig.add_vline(x=threshold, line_color="#d62728", line_dash="dash", row=r + 1, col=c + 1)
    fig.update_annotations(font_size=11)
    return _layout(
        fig,
        "Quality signals of kept documents with content (dashed red: Gopher/FineWeb threshold; "
        "a document beyond it would be dropped by that filter)",
        height=int(PLOT_HEIGHT * rows * 0.85),
        margin=dict(l=40, r=20, t=90, b=30),
    )


def _duplicates(dups: pd.DataFrame) -> list:
    import plotly.express as px
    import plotly.graph_objects as go

    kinds = dups["kind"].value_counts().reindex(["exact", "near"], fill_value=0)
    bars = go.Figure(go.Bar(x=kinds.index, y=kinds.values, text=kinds.values))
    sizes = dups.groupby("kept_doc_id").size().add(1).value_counts().sort_index()
    sizes = sizes.rename_axis("cluster size").reset_index(name="clusters")
    near = dups.loc[dups["kind"] == "near", "similarity"]
    figs = [
        _layout(bars, f"Duplicates: exact vs near ({len(dups):,} removed documents)"),
        _layout(px.bar(sizes, x="cluster size", y="clusters"), "Duplicate cluster sizes"),
    ]
    if len(near):
        hist = px.histogram(near, nbins=25, labels={"value": "estimated Jaccard"})
        figs.append(_layout(hist, "Near duplicates: similarity to the survivor", showlegend=False))
    return figs


def _errors(errors: pd.DataFrame) -> tuple[list, str]:
    import plotly.express as px

    by_reason = errors["reason"].value_counts().rename_axis("reason").reset_index(name="rows")
    fig = px.bar(by_reason.iloc[::-1], x="rows", y="reason", orientation="h")
    files = (
        errors.groupby("source")
        .agg(errors=("reason", "size"), reasons=("reason", lambda r: ", ".join(sorted(set(r)))))
        .sort_values(["errors"], ascending=False)
        .head(TOP_ERROR_FILES)
        .reset_index()
    )
    return [_layout(fig, f"Errors by reason ({len(errors):,} rows)")], _table(files, {"errors"})


def _templates(lines: pd.DataFrame) -> str:
    cand = lines[lines["is_boilerplate"] & (lines["key_doc_count"] >= 2) & (lines["line_key"] != 0)]
    top = (
        cand.groupby("line_key")
        .agg(
            documents=("key_doc_count", "max"),
            lines=("doc_id", "size"),
            text=("text", "first"),
            reasons=(
                "boilerplate_reasons",
                lambda r: ", ".join(sorted({x for rs in r for x in rs})),
            ),
        )
        .sort_values(["documents", "lines"], ascending=False)
        .head(TOP_TEMPLATES)
    )
    top["text"] = top["text"].str.slice(0, 140)
    return _table(top.reset_index(drop=True), {"documents", "lines"})


def _card(body: str, title: str = "", wide: bool = False) -> str:
    head = f"<h2>{html.escape(title)}</h2>" if title else ""
    return f"<div class='card{' wide' if wide else ''}'>{head}{body}</div>"


def _totals(runs, docs, lines, dups, errors) -> dict:
    """The headline numbers of the report."""
    return {
        "runs": len(runs),
        "files read": int(runs["n_files"].sum()),
        "documents": int(runs["n_documents"].sum()),
        "kept": len(docs),
        "no content": int((docs["n_content_lines"] == 0).sum()),
        "lines": len(lines),
        "boilerplate": f"{lines['is_boilerplate'].mean():.1%}",
        "exact dups": int((dups["kind"] == "exact").sum()) if len(dups) else 0,
        "near dups": int((dups["kind"] == "near").sum()) if len(dups) else 0,
        "errors": len(errors),
    }


def _cards(runs, docs, lines, dups, errors, origin) -> list[tuple]:
    """The report's cards: (figure or html, title, wide)."""
    cards: list[tuple] = []  # (figure or html, title, wide)
    if len(runs) > 1:
        cards += [(f, "", False) for f in _trends(runs)]
    cards += [(_languages(docs), "", False), (_reasons(lines), "", False)]
    cards += [(_groups(lines, origin), "", False), (_lengths(lines), "", False)]
    cards.append((_quality(docs), "", True))
    cards.append(
        (
            _templates(lines),
            f"Top {TOP_TEMPLATES} template lines (boilerplate in ≥ 2 documents)",
            False,
        )
    )
    if len(dups):
        cards += [(f, "", False) for f in _duplicates(dups)]
    if len(errors):
        figs, files = _errors(errors)
        cards += [(figs[0], "", False), (files, "Files with the most errors", False)]
    return cards


def _page(output: Path, totals: dict, cards: list[tuple], n_runs: int) -> list[str]:
    """The HTML of the report, in parts."""
    parts = [
        "<html><head><meta charset='utf-8'><title>winnow report</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>winnow report: {html.escape(str(output.resolve()))}</h1>",
        "<div class='totals'>"
        + "".join(
            f"<div><b>{v:,}</b>{k}</div>" if isinstance(v, int) else f"<div><b>{v}</b>{k}</div>"
            for k, v in totals.items()
        )
        + "</div>",
    ]
    if n_runs == 1:
        parts.append(
            "<p class='note'>One run so far: per-run trends appear from the second run.</p>"
        )
    parts.append("<div class='grid'>")
    first = True
    for item, title, wide in cards:
        if isinstance(item, str):
            parts.append(_card(item, title, wide))
            continue
        div = item.to_html(
            full_html=False,
            include_plotlyjs=first,
            config={"displayModeBar": False},
            default_height=f"{item.layout.height}px",
        )
        first = False
        parts.append(_card(div, title, wide))
    parts.append("</div></body></html>")
    return parts


def write_report(output: str | Path) -> Path:
    """Write OUTPUT/report.html (plotly.js inlined: works offline) and return its path.

    FileNotFoundError when OUTPUT holds no winnow datasets, ValueError when it holds runs but
    no documents yet (the message says what the runs found instead).
    """
    output = Path(output)
    if not (output / "runs").exists():
        raise FileNotFoundError(f"{output} holds no winnow datasets (no runs/ folder)")
    runs = _runs(output)
    lines = _read(output, "lines")
    if lines.empty:
        n_err = int(runs["n_errors"].sum())
        raise ValueError(
            f"{output} has {len(runs):,} runs but no documents yet: "
            f"{int(runs['n_files'].sum()):,} files read, {n_err:,} error rows"
            + (f" (see {output / 'errors'})" if n_err else "")
            + "; nothing to plot"
        )
    docs = _read(output, "documents")
    dups = _read(output, "duplicates")
    errors = _read(output, "errors", ["source", "record", "reason", "message"])
    origin_cols = ["doc_id", "source", "url"]
    origin = pd.concat(
        [docs[origin_cols]] + ([dups[origin_cols]] if "source" in dups else []),
        ignore_index=True,
    )
    totals = _totals(runs, docs, lines, dups, errors)
    cards = _cards(runs, docs, lines, dups, errors, origin)
    parts = _page(output, totals, cards, len(runs))
    path = output / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
