"""The typed run summary (a `runs` row plus what the CLI and the artifacts show) and the
Prefect artifacts of a run (stable keys, so the UI shows their history)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from uuid import UUID

SUMMARY_KEY = "winnow-summary"
REPORT_KEY = "winnow-report"
PROGRESS_KEY = "winnow-progress"
TOP_TEMPLATE_LINES = 10


@dataclass(frozen=True)
class ExtractResult:
    """What one extract task did (also its resume marker, as JSON)."""

    batch: int
    files: int
    documents: int
    lines: int
    errors: int
    seconds_label: float = 0.0
    plan_key: str = ""  # `flows.tasks.batch_key` of the batch this result belongs to


@dataclass(frozen=True)
class FlagResult:
    """What one flag task found, for the summary and the report."""

    boilerplate_lines: int = 0
    reasons: Mapping[str, int] = field(default_factory=dict)
    doc_langs: Mapping[str, int] = field(default_factory=dict)
    template_lines: tuple[tuple[str, int], ...] = ()


def count_rows(counter: Mapping[str, int]) -> list[dict]:
    """Counts as `runs` rows: most frequent first, ties by name.

    >>> count_rows({"b": 1, "a": 1, "c": 5})
    [{'name': 'c', 'count': 5}, {'name': 'a', 'count': 1}, {'name': 'b', 'count': 1}]
    """
    return [
        {"name": k, "count": int(v)}
        for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


@dataclass(frozen=True)
class RunSummary:
    """One run: its `runs` row (the fields up to `error_counts`) and display-only extras."""

    run_id: str
    run_seq: int
    started_at: datetime
    ended_at: datetime
    config_hash: str
    code_hash: str
    config: str  # JSON of every knob: result config and scheduling options
    inputs: list[dict]
    n_files: int
    n_files_skipped: int
    n_documents: int
    n_documents_kept: int
    n_lines: int
    n_boilerplate_lines: int
    n_duplicates: int
    n_errors: int
    reason_counts: list[dict]
    lang_counts: list[dict]
    error_counts: list[dict]
    # not in `runs`:
    output: str = ""
    seconds_label: float = 0.0
    template_lines: tuple[tuple[str, int], ...] = ()
    read_reasons: list[dict] = field(default_factory=list)  # why files were read: new, ...

    def runs_row(self, schema_names: list[str]) -> dict:
        """The `runs` dataset row."""
        return {name: getattr(self, name) for name in schema_names}

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def merge_flag_results(results: list[FlagResult]) -> tuple[Counter, Counter, int, tuple]:
    """Reason counts, document languages, boilerplate lines and the top template lines."""
    reasons: Counter = Counter()
    langs: Counter = Counter()
    for r in results:
        reasons.update(r.reasons)
        langs.update(r.doc_langs)
    top = {text: n for r in results for text, n in r.template_lines}
    templates = tuple(sorted(top.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TEMPLATE_LINES])
    return reasons, langs, sum(r.boilerplate_lines for r in results), templates


# --- Prefect artifacts ---------------------------------------------------------------------


def start_progress(n_batches: int) -> UUID | None:
    """A progress artifact for this run (0-100)."""
    from prefect.artifacts import create_progress_artifact

    return create_progress_artifact(
        progress=0.0, key=PROGRESS_KEY, description=f"winnow run over {n_batches} batches"
    )


def publish_progress(artifact_id: UUID | None, percent: float) -> None:
    from prefect.artifacts import update_progress_artifact

    if artifact_id is not None:
        update_progress_artifact(artifact_id=artifact_id, progress=round(min(percent, 100.0), 1))


def summary_rows(summary: RunSummary) -> list[dict]:
    """The summary as (metric, value) rows, timestamps as ISO strings."""
    n_lines = summary.n_lines or 1
    rows = [
        ("run_id", summary.run_id),
        ("files read", summary.n_files),
        ("files skipped (already loaded)", summary.n_files_skipped),
        ("documents", summary.n_documents),
        ("documents kept", summary.n_documents_kept),
        ("lines", summary.n_lines),
        ("boilerplate share", f"{summary.n_boilerplate_lines / n_lines:.1%}"),
        ("duplicates", summary.n_duplicates),
        ("errors", summary.n_errors),
    ]
    rows += [(f"language {c['name']}", c["count"]) for c in summary.lang_counts]
    rows += [(f"error {c['name']}", c["count"]) for c in summary.error_counts]
    rows += [("started_at", summary.started_at), ("ended_at", summary.ended_at)]
    return [
        {"metric": k, "value": v.isoformat() if isinstance(v, datetime) else str(v)}
        for k, v in rows
    ]


def report_markdown(summary: RunSummary) -> str:
    """Markdown report: languages, boilerplate reasons, errors, dataset paths."""
    lines = [f"# winnow run `{summary.run_id}`", ""]
    lines += ["| metric | value |", "|---|---|"]
    lines += [f"| {r['metric']} | {r['value']} |" for r in summary_rows(summary)[:9]]
    for title, counts in (
        ("Top languages (documents)", summary.lang_counts),
        ("Top boilerplate reasons (lines)", summary.reason_counts),
        ("Errors by reason", summary.error_counts),
    ):
        lines += ["", f"## {title}", ""]
        lines += [f"- `{c['name']}`: {c['count']}" for c in counts[:10]] or ["- none"]
    lines += ["", "## Top repeated template lines", "", "| documents | line |", "|---:|---|"]
    for text, n in summary.template_lines:
        lines.append(f"| {n} | {text[:120].replace('|', '/')} |")
    lines += ["", "## Datasets", ""]
    lines += [
        f"- `{summary.output}/{name}`"
        for name in ("lines", "documents", "duplicates", "runs", "errors")
    ]
    return "\n".join(lines)


def publish_summary(summary: RunSummary) -> None:
    """Summary table and markdown report artifacts."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

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
