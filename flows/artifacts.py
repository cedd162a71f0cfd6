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
    lines += ["", "## Top repeated template lines", "", "| documents | line |", "|---:|---|"]
    for text, n in summary.get("template_lines", []):
        lines.append(f"| {n} | {text[:120].replace('|', '/')} |")
    lines += ["", "## Datasets", ""]
    lines += [
        f"- `{out}/{name}`" for name in ("lines", "documents", "duplicates", "runs", "errors")
    ]
    return "\n".join(lines)


def publish_summary(summary: dict) -> None:
    """Summary table and markdown report artifacts."""
    create_table_artifact(
        table=summary_rows(summary), key=SUMMARY_KEY, description="winnow run summary"
    )
    create_markdown_artifact(
        markdown=report_markdown(summary), key=REPORT_KEY, description="winnow run report"
    )


def run_name(inputs: list[str], output: str) -> str:
    """Readable flow run name: `winnow-<first input>[+N]-to-<output>`.

    >>> run_name(["/data/crawl", "/data/more"], "/data/winnow")
    'winnow-crawl+1-to-winnow'
    """
    names = [Path(str(p)).name or str(p) for p in inputs]
    first = names[0] if names else "nothing"
    more = f"+{len(names) - 1}" if len(names) > 1 else ""
    return f"winnow-{first}{more}-to-{Path(str(output)).name}"


def flow_run_name() -> str:
    """The flow's `flow_run_name` callable (reads the run's parameters)."""
    from prefect.runtime import flow_run

    params = flow_run.parameters or {}
    return run_name(list(params.get("inputs") or []), str(params.get("output", "output")))
