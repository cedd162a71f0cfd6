"""`winnow` command line: run the flow (more subcommands: serve, report)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EXIT_OK, EXIT_NOTHING_READ, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# Prefect's console handler only: the run logs still reach the API (and the UI) at INFO.
CONSOLE_LEVEL_ENV = "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"


def version_text() -> str:
    """`winnow --version`: the package, the transforms code hash (in every `runs` row), Prefect."""
    from importlib.metadata import PackageNotFoundError, version

    from flows.plan import code_hash

    try:
        own = version("winnow")
    except PackageNotFoundError:
        own = "unknown"
    return f"winnow {own} (transforms code {code_hash()}, prefect {version('prefect')})"


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options `run` and `serve` share: what is read and how results are decided."""

    parser.add_argument(
        "paths", nargs="*", default=None, help="input files or folders (default: seeds)"
    )
    parser.add_argument(
        "--input",
        action="append",
        dest="inputs",
        default=None,
        metavar="PATH",
        help="input file or folder (repeatable; the same as PATH arguments)",
    )
    parser.add_argument("-o", "--output", default="output", help="output folder (default: output)")
    parser.add_argument(
        "--include",
        action="append",
        default=None,
        metavar="GLOB",
        help="read only files whose source path or file name matches (repeatable; e.g. '*.jsonl.gz')",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=None,
        metavar="GLOB",
        help="skip files whose source path or file name matches (repeatable; wins over --include)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="batches processed in parallel (default 1)"
    )
    parser.add_argument(
        "--dask-address",
        default=None,
        metavar="HOST:PORT",
        help="run batches on an existing dask.distributed cluster (prefect-dask)",
    )
    parser.add_argument(
        "--storage-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="fsspec option for s3:// (or other URL) inputs and output, e.g. "
        "endpoint_url=http://127.0.0.1:9000 (repeatable; AWS_* variables work too)",
    )
    _add_reading_options(parser)
    _add_dedup_options(parser)
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default="WARNING",
        help="Prefect log lines shown on the console (default WARNING: quiet; INFO shows every "
        "task run; the Prefect UI gets INFO either way)",
    )


def _add_reading_options(parser: argparse.ArgumentParser) -> None:
    from flows.plan import BATCH_DOCS, BATCH_FILES, LANG_ENGINES

    parser.add_argument(
        "--text-field", default="text", help="JSONL/Parquet field holding the text (default: text)"
    )
    parser.add_argument(
        "--id-field",
        default=None,
        help="JSONL/Parquet field to use as doc_id (default: none, doc_id = hash of source "
        "and record)",
    )
    parser.add_argument(
        "--batch-docs",
        type=int,
        default=BATCH_DOCS,
        help=f"documents per labelling chunk (default {BATCH_DOCS})",
    )
    parser.add_argument(
        "--batch-files",
        type=int,
        default=BATCH_FILES,
        help=f"files per batch, one task each (default {BATCH_FILES})",
    )
    parser.add_argument(
        "--lang-engine",
        choices=LANG_ENGINES,
        default="auto",
        help="langdetect engine: auto (langdetect-rs if installed), rs, py (identical labels)",
    )


def _add_dedup_options(parser: argparse.ArgumentParser) -> None:
    from transforms.config import LSH_BANDS, LSH_ROWS, NEAR_DUP_MIN_JACCARD

    parser.add_argument(
        "--lsh-bands",
        type=int,
        default=LSH_BANDS,
        help=f"MinHash LSH bands (default {LSH_BANDS}; FineWeb's 14x8 finds Jaccard >= ~0.72)",
    )
    parser.add_argument(
        "--lsh-rows", type=int, default=LSH_ROWS, help=f"MinHash rows per band (default {LSH_ROWS})"
    )
    parser.add_argument(
        "--near-dup-jaccard",
        type=float,
        default=NEAR_DUP_MIN_JACCARD,
        help="estimated Jaccard a candidate pair needs to count as near duplicates "
        f"(default {NEAR_DUP_MIN_JACCARD})",
    )
    parser.add_argument(
        "--no-near-dup", action="store_true", help="exact deduplication only (no MinHash)"
    )


def _add_output_commands(sub) -> None:
    """`compact`, `automations` and `report`: commands on an output or the server."""
    compact = sub.add_parser(
        "compact",
        help="fold OUTPUT's dedup state into one sorted segment per table",
        description="Compact the dedup state (runs do it by themselves once a table has more "
        "than 16 run parts): fewer, sorted files, so a run reads only the blocks its keys hit.",
    )
    compact.add_argument("output", nargs="?", default="output", help="output folder")
    automations = sub.add_parser(
        "automations",
        help="create winnow's Prefect automations (run with errors; no completed run in 26 h)",
        description="Create (or replace) the automations of flows/automations.py on the Prefect "
        "server at PREFECT_API_URL: one fires when a winnow-etl run completes with error rows "
        "(tag winnow-errors), one when no winnow-etl run completed in 26 hours.",
    )
    automations.add_argument(
        "--notify-block",
        default=None,
        metavar="TYPE/NAME",
        help="notification block to send through, e.g. slack-webhook/ops (default: none, the "
        "automations only fire, shown in the UI's event feed)",
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="winnow",
        description="Line-first web-text ETL: language and boilerplate per line, "
        "deduplicated Parquet per document, orchestrated by Prefect.",
    )
    parser.add_argument("--version", action="version", version=version_text())
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="run the winnow-etl flow on files or folders",
        description="Run the winnow-etl flow (embedded Prefect, no server needed). Files already "
        "loaded into OUTPUT (same source and checksum) are skipped; new documents are deduplicated "
        "against everything loaded before.",
    )
    add_run_options(run)
    run.add_argument(
        "--fresh", action="store_true", help="delete OUTPUT's datasets and state first"
    )
    run.add_argument(
        "--quiet", action="store_true", help="print only the summary (no progress, errors only)"
    )
    run.add_argument(
        "--json", action="store_true", help="print the summary as JSON on stdout (progress: stderr)"
    )

    serve = sub.add_parser(
        "serve",
        help="serve winnow-etl as a scheduled deployment on a Prefect server",
        description="Register the winnow-etl flow as a deployment with a cron schedule on the "
        "Prefect server at PREFECT_API_URL and execute its runs until interrupted. Start a "
        "server first: PREFECT_SERVER_API_PORT=4200 prefect server start",
    )
    add_run_options(serve)
    serve.add_argument("--cron", default=None, help='cron schedule (default nightly: "0 2 * * *")')
    serve.add_argument(
        "--timezone",
        default="UTC",
        metavar="TZ",
        help="IANA time zone of the cron schedule, e.g. Europe/Oslo (default UTC)",
    )
    serve.add_argument("--name", default=None, help="deployment name (default: winnow-scheduled)")

    _add_output_commands(sub)
    return parser


def _settings_from_args(args: argparse.Namespace):
    """(inputs, PipelineConfig, RunOptions) of `run`/`serve` arguments; ValueError if bad."""
    from flows.plan import RunOptions
    from flows.storage import STORAGE_OPTIONS_ENV, is_url, parse_storage_options
    from transforms.config import PipelineConfig

    inputs = list(args.paths or []) + list(getattr(args, "inputs", None) or []) or ["seeds"]
    if args.storage_option:  # to the flow by the environment: credentials stay out of Prefect
        options = parse_storage_options(args.storage_option)
        os.environ[STORAGE_OPTIONS_ENV] = json.dumps(options)
    for p in inputs:
        if not is_url(p) and not Path(p).exists():
            raise ValueError(f"input not found: {p}")
    if args.workers < 1:
        raise ValueError("--workers must be >= 1")
    config = PipelineConfig(
        text_field=args.text_field,
        id_field=args.id_field,
        lsh_bands=args.lsh_bands,
        lsh_rows=args.lsh_rows,
        near_dup_min_jaccard=args.near_dup_jaccard,
        near_dup=not args.no_near_dup,
    )
    options = RunOptions(
        batch_docs=args.batch_docs, batch_files=args.batch_files, lang_engine=args.lang_engine
    )
    return inputs, config, options


def _error(message: object) -> int:
    print(f"winnow: error: {message}", file=sys.stderr)
    return EXIT_USAGE


# After Ctrl-C, the process exits at most this many seconds later even if a task thread is
# still busy (a batch in progress would otherwise hold the exit until it finished).
INTERRUPT_EXIT_SECONDS = 3.0


def _on_interrupt(signum: int, frame: object) -> None:
    """Ctrl-C: say how to resume, stop the run (KeyboardInterrupt) and exit soon whatever
    a running task thread does; finished batches stay in staging for the re-run."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a second Ctrl-C ends it at once
    print(
        "winnow: interrupted; finished batches are kept, run the same command again to resume",
        file=sys.stderr,
        flush=True,
    )
    timer = threading.Timer(INTERRUPT_EXIT_SECONDS, os._exit, args=(EXIT_INTERRUPTED,))
    timer.daemon = True
    timer.start()
    raise KeyboardInterrupt


def _set_console_log_level(level: str) -> None:
    """Prefect's console handler at `level` (before Prefect configures logging); DEBUG also
    lowers Prefect's own loggers."""
    os.environ[CONSOLE_LEVEL_ENV] = level
    if level == "DEBUG":
        os.environ["PREFECT_LOGGING_LEVEL"] = "DEBUG"


def _output_problem(args: argparse.Namespace, config) -> str | None:
    """Why the output cannot take this run (checked before Prefect starts; the flow checks
    again), or None. A URL output is checked by the flow only (lock, LSH settings)."""
    from flows.storage import is_url
    from flows.store import OutputError, OutputStore, RunLock, lsh_mismatch_message, other_lsh_state

    if is_url(args.output):
        return None
    other = other_lsh_state(Path(args.output), config)
    if other and config.near_dup and not args.fresh:
        return lsh_mismatch_message(args.output, other)
    try:
        if Path(args.output).exists() and not Path(args.output).is_dir():
            raise OutputError(f"cannot use {args.output} as output: not a folder")
        OutputStore(args.output).check_format()
        with RunLock(Path(args.output)):
            pass
    except OutputError as exc:
        return str(exc)
    return None


def _pandas_free(args: argparse.Namespace) -> None:
    """`run` and `serve`: refuse pandas before pyarrow is imported (flows/memory.py:
    PANDAS_FREE_ENV), except on a Dask cluster, whose own code may want it."""
    if args.dask_address is None:
        from flows.memory import keep_pandas_out

        keep_pandas_out()


def _run(args: argparse.Namespace) -> int:
    _pandas_free(args)
    try:
        inputs, config, options = _settings_from_args(args)
    except ValueError as exc:
        return _error(exc)
    from flows.server import start_early

    start_early()  # the reusable Prefect server comes up while this process imports and plans
    problem = _output_problem(args, config)
    if problem is not None:
        return _error(problem)
    _set_console_log_level("ERROR" if args.quiet else args.log_level)
    from flows import progress
    from flows.runners import run_etl
    from flows.store import OutputError
    from flows.summary import summary_text

    display = None if args.quiet else progress.terminal_display()
    progress.use_display(display)
    if display is not None:
        display.waiting("starting Prefect")
    signal.signal(signal.SIGINT, _on_interrupt)
    started = time.monotonic()
    try:
        summary = run_etl(
            inputs,
            args.output,
            config=config,
            options=options,
            fresh=args.fresh,
            workers=args.workers,
            dask_address=args.dask_address,
            include=args.include,
            exclude=args.exclude,
        )
    except OutputError as exc:
        return _error(exc)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        if display is not None:
            display.close()
    if args.json:
        print(json.dumps(summary.to_json(), indent=2, ensure_ascii=False))
    else:
        print(summary_text(summary, wall_seconds=time.monotonic() - started))
    if summary.n_files and not summary.n_documents:
        print("winnow: error: no document could be read from the inputs", file=sys.stderr)
        return EXIT_NOTHING_READ
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    _pandas_free(args)
    from flows.serve import DEFAULT_CRON, DEPLOYMENT_NAME, serve_etl

    try:
        inputs, config, options = _settings_from_args(args)
        ZoneInfo(args.timezone)
    except ValueError as exc:
        return _error(exc)
    except ZoneInfoNotFoundError:
        return _error(f"unknown time zone {args.timezone!r} (IANA names, e.g. Europe/Oslo)")
    _set_console_log_level(args.log_level)
    if not os.environ.get("PREFECT_API_URL"):
        return _error(
            "serve needs a Prefect server: start one with "
            "`PREFECT_SERVER_API_PORT=4200 prefect server start` and export "
            "PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    serve_etl(
        inputs,
        args.output,
        config=config,
        options=options,
        cron=args.cron or DEFAULT_CRON,
        timezone=args.timezone,
        name=args.name or DEPLOYMENT_NAME,
        include=args.include,
        exclude=args.exclude,
        workers=args.workers,
        dask_address=args.dask_address,
    )
    return EXIT_OK


def _automations(args: argparse.Namespace) -> int:
    if not os.environ.get("PREFECT_API_URL"):
        return _error("automations need a Prefect server: export PREFECT_API_URL")
    from flows.automations import apply_automations

    try:
        ids = apply_automations(args.notify_block)
    except ValueError as exc:
        return _error(exc)
    except OSError as exc:  # httpx's connection errors are OSErrors underneath
        return _error(
            f"could not reach the Prefect server at {os.environ['PREFECT_API_URL']}: {exc}"
        )
    except Exception as exc:
        if type(exc).__module__.startswith(("httpx", "prefect")):
            return _error(f"Prefect server at {os.environ['PREFECT_API_URL']}: {exc}")
        raise
    print(f"{len(ids)} automations created: {', '.join(map(str, ids))}")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from flows.report import write_report

    try:
        path = write_report(args.output)
    except (FileNotFoundError, ValueError) as exc:
        print(f"winnow: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"report written to {path}")
    return EXIT_OK


def _compact(args: argparse.Namespace) -> int:
    from flows.compaction import compact_output
    from flows.store import OutputError

    try:
        folded = compact_output(args.output)
    except OutputError as exc:
        return _error(exc)
    print(f"compacted {args.output}: {len(folded)} parts and segments folded")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {
        "run": _run,
        "serve": _serve,
        "report": _report,
        "compact": _compact,
        "automations": _automations,
    }
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
