"""Prefect artifacts of a run (stable keys, so the UI shows their history)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from uuid import UUID

from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

SUMMARY_KEY = "winnow-summary"
REPORT_KEY = "winnow-report"
PROGRESS_KEY = "winnow-progress"


def start_progress(n_batches: int) -> UUID | None:
    """A progress artifact for this run (0-100)."""
    return create_progress_artifact(
        progress=0.0, key=PROGRESS_KEY, description=f"winnow run over {n_batches} batches"
    )


def publish_progress(artifact_id: UUID | None, percent: float) -> None:
    if artifact_id is not None:
        update_progress_artifact(artifact_id=artifact_id, progress=round(min(percent, 100.0), 1))


def summary_rows(summary: dict) -> list[dict]:
    """The summary as (metric, value) rows, timestamps as ISO strings."""
    n_lines = summary["n_lines"] or 1
    rows = [
        ("run_id", summary["run_id"]),
        ("files read", summary["n_files"]),
        ("files skipped (already loaded)", summary["n_files_skipped"]),
        ("documents", summary["n_documents"]),
        ("documents kept", summary["n_documents_kept"]),
        ("lines", summary["n_lines"]),
        ("boilerplate share", f"{summary['n_boilerplate_lines'] / n_lines:.1%}"),
        ("duplicates", summary["n_duplicates"]),
        ("errors", summary["n_errors"]),
    ]
    rows += [(f"language {c['name']}", c["count"]) for c in summary["lang_counts"]]
    rows += [(f"boilerplate {c['name']}", c["count"]) for c in summary["reason_counts"]]
    rows += [(f"error {c['name']}", c["count"]) for c in summary["error_counts"]]
    rows += [("started_at", summary["started_at"]), ("ended_at", summary["ended_at"])]
    return [
        {"metric": k, "value": v.isoformat() if isinstance(v, datetime) else str(v)}
        for k, v in rows
    ]


def report_markdown(summary: dict) -> str:
    """Markdown report: languages, boilerplate reasons, errors, dataset paths."""
    out = summary.get("output", "")
    lines = [f"# winnow run `{summary['run_id']}`", ""]
    lines += ["| metric | value |", "|---|---|"]
    lines += [f"| {r['metric']} | {r['value']} |" for r in summary_rows(summary)[:9]]
    for title, key in (
        ("Top languages (documents)", "lang_counts"),
        ("Top boilerplate reasons (lines)", "reason_counts"),
        ("Errors by reason", "error_counts"),
    ):
        lines += ["", f"## {title}", ""]
        items = summary[key][:10]
        lines += [f"- `{c['name']}`: {c['count']}" for c in items] or ["- none"]
    lines += ["", "## Top repeated template lines (documents sharing the line)", ""]
    templates = summary.get("template_lines") or []
    lines += [f"- {t['documents']} docs: `{t['text'][:120]}`" for t in templates] or ["- none"]
    lines += ["", "## Datasets", ""]
    lines += [
        f"- [`{out}/{name}`](file://{out}/{name})"
        for name in ("lines", "documents", "duplicates", "runs", "errors")
    ]
    return "\n".join(lines)


def publish_summary(summary: dict) -> None:
    """Summary table and markdown report artifacts."""
    if "template_lines" not in summary and summary.get("output"):
        summary = {
            **summary,
            "template_lines": top_template_lines(summary["output"], summary["run_seq"]),
        }
    create_table_artifact(
        table=summary_rows(summary), key=SUMMARY_KEY, description="winnow run summary"
    )
    create_markdown_artifact(
        markdown=report_markdown(summary), key=REPORT_KEY, description="winnow run report"
    )


def flow_run_name() -> str:
    """Readable flow run name: `winnow-<first input>[+N]-to-<output>`."""
    from prefect.runtime import flow_run

    params = flow_run.parameters or {}
    inputs = [Path(str(p)).name or str(p) for p in params.get("inputs") or []]
    first = inputs[0] if inputs else "nothing"
    more = f"+{len(inputs) - 1}" if len(inputs) > 1 else ""
    out = Path(str(params.get("output", "output"))).name
    return f"winnow-{first}{more}-to-{out}"


def top_template_lines(output: str | Path, run_seq: int, *, n: int = 10) -> list[dict]:
    """This run's boilerplate lines whose key recurs in the most documents."""
    import pyarrow.dataset as ds

    files = sorted(Path(output, "lines").glob(f"part-{run_seq:05d}-*.parquet"))
    if not files:
        return []
    table = ds.dataset([str(f) for f in files], format="parquet").to_table(
        columns=["text", "line_key", "key_doc_count"],
        filter=(ds.field("key_doc_count") >= 2) & ds.field("is_boilerplate"),
    )
    best: dict[int, tuple[int, str]] = {}
    for key, count, text in zip(
        table["line_key"].to_pylist(),
        table["key_doc_count"].to_pylist(),
        table["text"].to_pylist(),
        strict=True,
    ):
        if key not in best:
            best[key] = (count, text)
    ranked = sorted(best.values(), key=lambda ct: (-ct[0], ct[1]))[:n]
    return [{"text": t, "documents": c} for c, t in ranked]
