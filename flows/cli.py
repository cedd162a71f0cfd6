"""`winnow` command line: run the flow (more subcommands: serve, report)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_NOTHING_READ, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="winnow",
        description="Line-first web-text ETL: language and boilerplate per line, "
        "deduplicated Parquet per document, orchestrated by Prefect.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="run the winnow-etl flow on files or folders",
        description="Run the winnow-etl flow (embedded Prefect, no server needed). Files already "
        "loaded into OUTPUT (same source and checksum) are skipped; new documents are deduplicated "
        "against everything loaded before.",
    )
    run.add_argument(
        "paths", nargs="*", default=["seeds"], help="input files or folders (default: seeds)"
    )
    run.add_argument("-o", "--output", default="output", help="output folder (default: output)")
    run.add_argument(
        "--fresh", action="store_true", help="delete OUTPUT's datasets and state first"
    )
    run.add_argument(
        "--workers", type=int, default=1, help="batches processed in parallel (default 1)"
    )
    run.add_argument(
        "--text-field", default="text", help="JSONL/Parquet field holding the text (default: text)"
    )
    run.add_argument(
        "--id-field",
        default=None,
        help="JSONL field to use as doc_id (default: derived from source and record)",
    )
    run.add_argument("--batch-docs", type=int, default=None, help="documents per labelling chunk")
    run.add_argument("--batch-files", type=int, default=None, help="files per batch (task)")
    run.add_argument(
        "--lang-engine",
        choices=["auto", "rs", "py"],
        default="auto",
        help="langdetect engine: auto (langdetect-rs if installed), rs, py (identical labels)",
    )
    run.add_argument(
        "--dask-address",
        default=None,
        metavar="HOST:PORT",
        help="run batches on an existing dask.distributed cluster (prefect-dask)",
    )
    run.add_argument(
        "--lsh-bands",
        type=int,
        default=None,
        help="MinHash LSH bands (default 14; FineWeb's 14x8 finds Jaccard >= ~0.72)",
    )
    run.add_argument("--lsh-rows", type=int, default=None, help="MinHash rows per band (default 8)")
    run.add_argument(
        "--near-dup-jaccard",
        type=float,
        default=None,
        help="estimated Jaccard a candidate pair needs to count as near duplicates (default 0.75)",
    )
    run.add_argument(
        "--no-near-dup", action="store_true", help="exact deduplication only (no MinHash)"
    )
    run.add_argument("--quiet", action="store_true", help="print only the summary")

    serve = sub.add_parser(
        "serve",
        help="serve winnow-etl as a scheduled deployment on a Prefect server",
        description="Register the winnow-etl flow as a deployment with a cron schedule on the "
        "Prefect server at PREFECT_API_URL and execute its runs until interrupted. Start a "
        "server first: PREFECT_SERVER_API_PORT=4200 prefect server start",
    )
    serve.add_argument(
        "--input",
        action="append",
        dest="inputs",
        default=None,
        help="input file or folder (repeatable; default: seeds)",
    )
    serve.add_argument("--output", default="output", help="output folder (default: output)")
    serve.add_argument("--cron", default=None, help='cron schedule (default nightly: "0 2 * * *")')
    serve.add_argument("--name", default=None, help="deployment name (default: winnow-scheduled)")
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes per run (default 1)"
    )
    serve.add_argument(
        "--dask-address",
        default=None,
        metavar="HOST:PORT",
        help="run each run's batches on an existing dask.distributed cluster",
    )

    report = sub.add_parser(
        "report",
        help="write OUTPUT/report.html with plots of the datasets",
        description="Write a self-contained HTML report (plotly) next to the datasets: language "
        "mix, boilerplate by reason and by source, line lengths, duplicate cluster sizes.",
    )
    report.add_argument(
        "output", nargs="?", default="output", help="output folder (default: output)"
    )
    return parser


def format_summary(summary: dict) -> str:
    """A short human summary of a run."""
    n_lines = summary["n_lines"] or 1
    langs = ", ".join(f"{c['name']} {c['count']}" for c in summary["lang_counts"][:6]) or "-"
    errors = ", ".join(f"{c['name']} {c['count']}" for c in summary["error_counts"]) or "none"
    out = summary["output"]
    return "\n".join(
        [
            f"winnow run {summary['run_id']}",
            f"  files read      {summary['n_files']} (skipped, already loaded: {summary['n_files_skipped']})",
            f"  documents       {summary['n_documents']} ({summary['n_documents_kept']} kept)",
            f"  lines           {summary['n_lines']}",
            f"  languages       {langs}",
            f"  boilerplate     {summary['n_boilerplate_lines'] / n_lines:.1%} of lines",
            f"  duplicates      {summary['n_duplicates']}",
            f"  errors          {summary['n_errors']} ({errors})",
            f"  datasets        {out}/{{lines,documents,duplicates,runs,errors}}",
        ]
    )


def _run(args: argparse.Namespace) -> int:
    from transforms.config import PipelineConfig

    for p in args.paths:
        if not Path(p).exists():
            print(f"winnow: error: input not found: {p}", file=sys.stderr)
            return EXIT_USAGE
    if args.workers < 1:
        print("winnow: error: --workers must be >= 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        config = PipelineConfig(
            text_field=args.text_field,
            id_field=args.id_field,
            lang_engine=args.lang_engine,
            **({"batch_docs": args.batch_docs} if args.batch_docs else {}),
            **({"batch_files": args.batch_files} if args.batch_files else {}),
            **({"lsh_bands": args.lsh_bands} if args.lsh_bands is not None else {}),
            **({"lsh_rows": args.lsh_rows} if args.lsh_rows is not None else {}),
            **(
                {"near_dup_min_jaccard": args.near_dup_jaccard}
                if args.near_dup_jaccard is not None
                else {}
            ),
            near_dup=not args.no_near_dup,
        )
    except ValueError as exc:
        print(f"winnow: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from flows.state import lsh_mismatch_message, other_lsh_state

    other = other_lsh_state(Path(args.output), config)
    if other and config.near_dup and not args.fresh:  # before Prefect starts; the flow checks too
        print(f"winnow: error: {lsh_mismatch_message(args.output, other)}", file=sys.stderr)
        return EXIT_USAGE
    if args.quiet:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from flows.store import OutputLockedError, RunLock

    try:  # fail fast, before Prefect starts (the flow takes the lock again for the run)
        with RunLock(Path(args.output)):
            pass
    except OutputLockedError as exc:
        print(f"winnow: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from flows.etl import run_etl
    from flows.reaper import start_reaper

    reaper = start_reaper()  # stops the temporary Prefect server if this process is kill -9ed
    try:
        summary = run_etl(
            args.paths, args.output, config=config, fresh=args.fresh, workers=args.workers
        )
    except OutputLockedError as exc:
        print(f"winnow: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        if reaper is not None:
            reaper.terminate()
            reaper.wait()
    print(format_summary(summary))
    if summary["n_files"] and not summary["n_documents"]:
        print("winnow: error: no document could be read from the inputs", file=sys.stderr)
        return EXIT_NOTHING_READ
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from flows.serve import DEFAULT_CRON, DEPLOYMENT_NAME, serve_etl

    inputs = args.inputs or ["seeds"]
    for p in inputs:
        if not Path(p).exists():
            print(f"winnow: error: input not found: {p}", file=sys.stderr)
            return EXIT_USAGE
    if not os.environ.get("PREFECT_API_URL"):
        print(
            "winnow: error: serve needs a Prefect server: start one with "
            "`PREFECT_SERVER_API_PORT=4200 prefect server start` and export "
            "PREFECT_API_URL=http://127.0.0.1:4200/api",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.workers < 1:
        print("winnow: error: --workers must be >= 1", file=sys.stderr)
        return EXIT_USAGE
    serve_etl(
        inputs,
        args.output,
        cron=args.cron or DEFAULT_CRON,
        name=args.name or DEPLOYMENT_NAME,
        workers=args.workers,
        dask_address=args.dask_address,
    )
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from flows.report import write_report

    try:
        path = write_report(args.output)
    except FileNotFoundError as exc:
        print(f"winnow: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"report written to {path}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"run": _run, "serve": _serve, "report": _report}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
