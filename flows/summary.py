"""The typed run summary (a `runs` row plus what the CLI and the artifacts show) and the
Prefect artifacts of a run (stable keys, so the UI shows their history)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

SUMMARY_KEY = "winnow-summary"
REPORT_KEY = "winnow-report"
PROGRESS_KEY = "winnow-progress"
ERRORS_KEY = "winnow-errors"
HISTORY_KEY = "winnow-history"
ERROR_TAG = "winnow-errors"  # flow runs with error rows carry this tag
ERROR_EVENT = "winnow.run.errors"  # ... and emit this event (flows/automations.py)
HISTORY_RUNS = 30  # rows of the run-history artifact
TOP_TEMPLATE_LINES = 10
TOP_ERROR_FILES = 20
ERROR_ROWS_SHOWN = 50


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
    template_lines: tuple[tuple[str, int], ...] = ()
    documents: int = 0
    lines: int = 0


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
class LoadResult:
    """What the load task wrote into `documents`: the kept documents."""

    kept: int = 0
    no_content: int = 0  # kept documents with no content line (n_content_lines == 0)
    langs: Mapping[str, int] = field(default_factory=dict)


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
    n_documents_no_content: int
    n_lines: int
    n_boilerplate_lines: int
    n_duplicates: int
    n_duplicates_exact: int
    n_duplicates_near: int
    n_errors: int
    reason_counts: list[dict]
    lang_counts: list[dict]  # languages of the kept documents (the rows of `documents`)
    error_counts: list[dict]
    # not in `runs`:
    output: str = ""
    seconds_label: float = 0.0
    template_lines: tuple[tuple[str, int], ...] = ()
    error_files: tuple[tuple[str, int], ...] = ()  # (source, errors), most errors first
    read_reasons: list[dict] = field(default_factory=list)  # why files were read: new, ...

    def runs_row(self, schema_names: list[str]) -> dict:
        """The `runs` dataset row."""
        return {name: getattr(self, name) for name in schema_names}

    @property
    def elapsed_seconds(self) -> float:
        return max((self.ended_at - self.started_at).total_seconds(), 0.0)

    @property
    def lines_per_second(self) -> float:
        return self.n_lines / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    @property
    def boilerplate_share(self) -> float | None:
        """Boilerplate lines / lines; None for a run without lines (no "0.0% of lines")."""
        return self.n_boilerplate_lines / self.n_lines if self.n_lines else None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> dict:
        """JSON-ready: timestamps as ISO strings, derived rates included (`winnow run --json`)."""
        data = self.to_dict()
        data["started_at"] = self.started_at.isoformat()
        data["ended_at"] = self.ended_at.isoformat()
        data["template_lines"] = [{"text": t, "documents": n} for t, n in self.template_lines]
        data["error_files"] = [{"source": s, "errors": n} for s, n in self.error_files]
        data["elapsed_seconds"] = round(self.elapsed_seconds, 3)
        data["lines_per_second"] = round(self.lines_per_second, 1)
        data["boilerplate_share"] = self.boilerplate_share
        return data


def merge_flag_results(results: list[FlagResult]) -> tuple[Counter, int, tuple]:
    """Reason counts, boilerplate lines and the top template lines of the flag tasks."""
    reasons: Counter = Counter()
    for r in results:
        reasons.update(r.reasons)
    top = {text: n for r in results for text, n in r.template_lines}
    templates = tuple(sorted(top.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TEMPLATE_LINES])
    return reasons, sum(r.boilerplate_lines for r in results), templates


def run_counts(
    extracted: list[ExtractResult],
    flagged: list[FlagResult],
    loaded: LoadResult,
    duplicate_kinds: Mapping[str, int],
    errors: list[dict],
) -> dict:
    """The RunSummary fields counted from the task results and the run's error rows."""
    reasons, n_boilerplate, templates = merge_flag_results(flagged)
    return {
        "n_documents": sum(e.documents for e in extracted),
        "n_documents_kept": loaded.kept,
        "n_documents_no_content": loaded.no_content,
        "n_lines": sum(e.lines for e in extracted),
        "n_boilerplate_lines": n_boilerplate,
        "n_duplicates": sum(duplicate_kinds.values()),
        "n_duplicates_exact": duplicate_kinds.get("exact", 0),
        "n_duplicates_near": duplicate_kinds.get("near", 0),
        "n_errors": len(errors),
        "reason_counts": count_rows(reasons),
        "lang_counts": count_rows(loaded.langs),
        "error_counts": count_rows(Counter(e["reason"] for e in errors)),
        "seconds_label": sum(e.seconds_label for e in extracted),
        "template_lines": templates,
        "error_files": top_error_files([e["source"] for e in errors]),
    }


def top_error_files(sources: list[str], *, n: int = TOP_ERROR_FILES) -> tuple[tuple[str, int], ...]:
    """The files with the most error rows, most first, ties by name.

    >>> top_error_files(["b", "a", "b"])
    (('b', 2), ('a', 1))
    """
    return tuple((c["name"], c["count"]) for c in count_rows(Counter(sources))[:n])


# --- text -----------------------------------------------------------------------------------


def _counts(counts: list[dict], limit: int) -> str:
    shown = ", ".join(f"{c['name']} {c['count']:,}" for c in counts[:limit])
    more = len(counts) - limit
    return (shown + (f", ... (+{more})" if more > 0 else "")) or "-"


def _files(files: tuple[tuple[str, int], ...], limit: int = 3) -> str:
    shown = ", ".join(f"{src} ({n:,})" for src, n in files[:limit])
    return shown + (f", ... (+{len(files) - limit} files)" if len(files) > limit else "")


def _reread(summary: RunSummary) -> bool:
    """Whether some file was read for another reason than being new (the ledger's reasons)."""
    return any(c["name"] != "new" for c in summary.read_reasons)


def summary_text(summary: RunSummary, *, wall_seconds: float | None = None) -> str:
    """The CLI's human summary; every count is a count of rows in the datasets."""
    s = summary
    share = s.boilerplate_share
    boilerplate = f"{share:.1%} of lines" if share is not None else "- (no lines)"
    elapsed = f"{s.elapsed_seconds:,.1f} s in the flow, {s.lines_per_second:,.0f} lines/s"
    if wall_seconds is not None:
        elapsed += f" ({wall_seconds:,.1f} s with Prefect start-up)"
    no_content = (
        f", {s.n_documents_no_content:,} with no content left" if s.n_documents_no_content else ""
    )
    return "\n".join(
        [
            f"winnow run {s.run_id}",
            f"  files read      {s.n_files:,} (skipped, already loaded: {s.n_files_skipped:,}"
            + (f"; read as {_counts(s.read_reasons, 4)})" if _reread(s) else ")"),
            f"  documents       {s.n_documents:,} ({s.n_documents_kept:,} kept{no_content})",
            f"  lines           {s.n_lines:,}",
            f"  languages       {_counts(s.lang_counts, 8)} (kept documents)",
            f"  boilerplate     {boilerplate}",
            f"  duplicates      {s.n_duplicates:,} (exact {s.n_duplicates_exact:,}, "
            f"near {s.n_duplicates_near:,})",
            f"  errors          {s.n_errors:,} ({_counts(s.error_counts, 8) if s.n_errors else 'none'})",
            *([f"  error files     {_files(s.error_files)}"] if s.error_files else []),
            f"  elapsed         {elapsed}",
            f"  datasets        {s.output}/{{lines,documents,duplicates,runs,errors}}",
        ]
    )


# --- Prefect artifacts ---------------------------------------------------------------------


def summary_rows(summary: RunSummary) -> list[dict]:
    """The summary's metrics as (metric, value) rows (languages and errors: the report)."""
    s = summary
    share = s.boilerplate_share
    rows = [
        ("run_id", s.run_id),
        ("files read", f"{s.n_files:,}"),
        ("files skipped (already loaded)", f"{s.n_files_skipped:,}"),
        ("documents", f"{s.n_documents:,}"),
        ("documents kept", f"{s.n_documents_kept:,}"),
        ("kept documents with no content", f"{s.n_documents_no_content:,}"),
        ("lines", f"{s.n_lines:,}"),
        ("boilerplate share", f"{share:.1%}" if share is not None else "-"),
        ("duplicates exact", f"{s.n_duplicates_exact:,}"),
        ("duplicates near", f"{s.n_duplicates_near:,}"),
        ("errors", f"{s.n_errors:,}"),
        ("elapsed (s)", f"{s.elapsed_seconds:,.1f}"),
        ("lines/s", f"{s.lines_per_second:,.0f}"),
        ("started_at", s.started_at.isoformat()),
        ("ended_at", s.ended_at.isoformat()),
    ]
    return [{"metric": k, "value": v} for k, v in rows]


def report_markdown(summary: RunSummary) -> str:
    """Markdown report: metrics, languages, boilerplate reasons, errors, dataset paths."""
    lines = [f"# winnow run `{summary.run_id}`", ""]
    lines += ["| metric | value |", "|---|---:|"]
    lines += [f"| {r['metric']} | {r['value']} |" for r in summary_rows(summary)[1:13]]
    for title, counts in (
        ("Top languages (kept documents)", summary.lang_counts),
        ("Top boilerplate reasons (lines)", summary.reason_counts),
        ("Errors by reason", summary.error_counts),
    ):
        lines += ["", f"## {title}", ""]
        lines += [f"- `{c['name']}`: {c['count']:,}" for c in counts[:10]] or ["- none"]
    lines += ["", "## Top repeated template lines", "", "| documents | line |", "|---:|---|"]
    for text, n in summary.template_lines:
        lines.append(f"| {n:,} | {_cell(text)} |")
    lines += ["", "## Datasets", ""]
    lines += [
        f"- `{summary.output}/{name}`"
        for name in ("lines", "documents", "duplicates", "runs", "errors")
    ]
    return "\n".join(lines)


def _cell(text: object, width: int = 120) -> str:
    return str(text)[:width].replace("|", "/").replace("\n", " ")


def errors_markdown(summary: RunSummary, errors: list[dict]) -> str:
    """The run's errors naming their files: per file, then the first rows."""
    if not summary.n_errors:
        return f"# winnow run `{summary.run_id}`: no errors"
    n_files = len({e["source"] for e in errors})
    lines = [
        f"# winnow run `{summary.run_id}`: {summary.n_errors:,} error rows in {n_files:,} files",
        "",
        "| file | errors |",
        "|---|---:|",
    ]
    lines += [f"| `{_cell(src)}` | {n:,} |" for src, n in summary.error_files]
    lines += ["", "| file | record | reason | message |", "|---|---:|---|---|"]
    for e in errors[:ERROR_ROWS_SHOWN]:
        lines.append(
            f"| `{_cell(e['source'])}` | {e['record']} | `{e['reason']}` | {_cell(e['message'])} |"
        )
    if len(errors) > ERROR_ROWS_SHOWN:
        lines.append(f"\n{len(errors) - ERROR_ROWS_SHOWN:,} more rows in the `errors` dataset")
    return "\n".join(lines)


def history_rows(runs: list[dict]) -> list[dict]:
    """One table row per `runs` row, newest first: what each run added (the trend columns
    first, so the UI's table shows them without scrolling)."""
    rows = []
    for r in sorted(runs, key=lambda r: -r["run_seq"]):
        seconds = max((r["ended_at"] - r["started_at"]).total_seconds(), 0.0)
        n_lines = r.get("n_lines") or 0
        share = round(r["n_boilerplate_lines"] / n_lines, 4) if n_lines else None
        rows.append(
            {
                "run": r["run_seq"],
                "new_files": r["n_files"],
                "documents": r["n_documents"],
                "kept": r["n_documents_kept"],
                "no_content": r.get("n_documents_no_content"),
                "boilerplate_share": share,
                "duplicates": r["n_duplicates"],
                "errors": r["n_errors"],
                "lines_per_s": round(n_lines / seconds, 1) if seconds > 0 else None,
                "lines": n_lines,
                "exact": r.get("n_duplicates_exact"),
                "near": r.get("n_duplicates_near"),
                "ended_at": r["ended_at"].strftime("%Y-%m-%d %H:%M:%SZ"),
                "run_id": r["run_id"],
            }
        )
    return rows


def read_recent_runs(output: Path, n: int = HISTORY_RUNS) -> list[dict]:
    """The last `n` rows of OUTPUT/runs, oldest first (one file per run, read one by one so
    rows written before a column was added still read)."""
    import pyarrow.parquet as pq

    files = sorted((Path(output) / "runs").glob("part-*.parquet"))[-n:]
    return [row for f in files for row in pq.read_table(f).to_pylist()]


def publish_summary(summary: RunSummary, errors: list[dict]) -> None:
    """Summary table, markdown report, errors and run-history artifacts (stable keys)."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    create_table_artifact(
        table=summary_rows(summary), key=SUMMARY_KEY, description="winnow run summary"
    )
    create_markdown_artifact(
        markdown=report_markdown(summary), key=REPORT_KEY, description="winnow run report"
    )
    create_markdown_artifact(
        markdown=errors_markdown(summary, errors),
        key=ERRORS_KEY,
        description=f"winnow run errors: {summary.n_errors:,}",
    )
    history = history_rows(read_recent_runs(Path(summary.output)))
    create_table_artifact(
        table=history,
        key=HISTORY_KEY,
        description=f"winnow: the last {len(history)} runs on {summary.output} (newest first)",
    )


def mark_run_with_errors(summary: RunSummary, logger) -> None:
    """When the run has error rows: tag this flow run `ERROR_TAG` (visible in the UI's runs
    list, filterable), emit `ERROR_EVENT` (the trigger of the automation in
    flows/automations.py: a tag added during a run does not travel on its state events) and
    log a warning naming the files. Never fails the run: its rows are committed already."""
    if not summary.n_errors:
        return
    files = ", ".join(src for src, _ in summary.error_files[:3])
    logger.warning(
        "run %s has %d error rows (%s), in %s",
        *(summary.run_id, summary.n_errors, _counts(summary.error_counts, 4), files),
    )
    from prefect import get_client
    from prefect.context import FlowRunContext
    from prefect.events import emit_event

    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        return
    run = ctx.flow_run
    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(run.id, tags=sorted({*(run.tags or []), ERROR_TAG}))
        emit_event(
            event=ERROR_EVENT,
            resource={
                "prefect.resource.id": f"prefect.flow-run.{run.id}",
                "prefect.resource.name": run.name,
            },
            related=[
                {
                    "prefect.resource.id": f"prefect.flow.{run.flow_id}",
                    "prefect.resource.role": "flow",
                    "prefect.resource.name": ctx.flow.name if ctx.flow else "",
                }
            ],
            payload={
                "winnow_run_id": summary.run_id,
                "errors": summary.n_errors,
                "error_counts": summary.error_counts,
                "files": [src for src, _ in summary.error_files],
                "output": summary.output,
            },
        )
    except Exception as exc:  # the API is down: nothing to mark
        logger.warning("could not mark flow run %s (%s): %s", run.id, ERROR_TAG, exc)


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
