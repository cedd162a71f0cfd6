"""Progress of a run, stage by stage: done of total, lines, rate, elapsed time, ETA.

The flow reports to a `RunProgress` (flows/etl.py), which feeds
- the `winnow-progress` Prefect artifact: overall percent, and a description with the stage
  and its counts (updated per batch and at every stage change);
- the run's log (a plain line per finished stage, and per batch at most every
  LOG_INTERVAL_SECONDS): what a served run shows in the Prefect UI;
- the display the CLI installed in this process (`use_display`): a rich live display on a
  terminal (`RichDisplay`), plain periodic lines on stderr otherwise (`LogDisplay`).

Extract tasks that run in the flow's own process (one worker) also report after every chunk
of documents (`report_chunk`); tasks in worker processes are counted when their batch ends.
Nothing here changes a row: progress is display only.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Protocol, TextIO

from flows.summary import PROGRESS_KEY

# Overall percent per stage (extract and flag are where the time goes).
STAGE_SPAN = {
    "extract": (0.0, 50.0),
    "count-keys": (50.0, 51.0),
    "claim-ids": (51.0, 52.0),
    "flag": (52.0, 90.0),
    "dedup": (90.0, 96.0),
    "load": (96.0, 99.0),
    "commit": (99.0, 100.0),
}
# Plain progress lines (not a terminal, run logs): at most one per stage every this many
# seconds, plus one when a stage ends. WINNOW_PROGRESS_INTERVAL overrides it.
LOG_INTERVAL_SECONDS = 10.0
LOG_INTERVAL_ENV = "WINNOW_PROGRESS_INTERVAL"
ARTIFACT_MIN_SECONDS = 1.0  # between two progress-artifact updates within a stage


def log_interval() -> float:
    try:
        return float(os.environ.get(LOG_INTERVAL_ENV, LOG_INTERVAL_SECONDS))
    except ValueError:
        return LOG_INTERVAL_SECONDS


@dataclass(frozen=True)
class ProgressState:
    """Where a run is: its stage, done of total (in `unit`), lines so far, times."""

    stage: str
    unit: str
    done: int
    total: int
    lines: int
    stage_seconds: float
    run_seconds: float
    finished: bool = False

    @property
    def fraction(self) -> float:
        if self.finished:
            return 1.0
        return min(self.done / self.total, 1.0) if self.total else 0.0

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.stage_seconds if self.stage_seconds > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        """Linear estimate from the stage's pace so far; None before anything is done."""
        if self.finished:
            return 0.0
        if not self.done or not self.total:
            return None
        return self.stage_seconds * (self.total - self.done) / self.done

    @property
    def percent(self) -> float:
        start, end = STAGE_SPAN.get(self.stage, (0.0, 100.0))
        return round(start + (end - start) * self.fraction, 1)


def format_seconds(seconds: float | None) -> str:
    """Clock time, `-` when unknown.

    >>> format_seconds(3.4), format_seconds(3725), format_seconds(None)
    ('0:03', '1:02:05', '-')
    """
    if seconds is None:
        return "-"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def progress_line(state: ProgressState) -> str:
    """One plain line of progress.

    >>> print(progress_line(ProgressState("extract", "files", 3, 5, 1234, 3.0, 20.0)))
    extract 3/5 files (60%), 1,234 lines, 411 lines/s, elapsed 0:03 (run 0:20), ETA 0:02
    """
    s = state
    parts = [f"{s.stage} {s.done:,}/{s.total:,} {s.unit} ({s.fraction:.0%})"]
    if s.lines:
        parts += [f"{s.lines:,} lines", f"{s.lines_per_second:,.0f} lines/s"]
    parts.append(f"elapsed {format_seconds(s.stage_seconds)} (run {format_seconds(s.run_seconds)})")
    parts.append("done" if s.finished else f"ETA {format_seconds(s.eta_seconds)}")
    return ", ".join(parts)


class Display(Protocol):
    def waiting(self, text: str) -> None: ...
    def update(self, state: ProgressState) -> None: ...
    def close(self) -> None: ...


class LogDisplay:
    """Plain lines on a stream (stderr when it is not a terminal): a stage's first update,
    then at most one per `interval` seconds, and its end."""

    def __init__(self, stream: TextIO | None = None, interval: float | None = None) -> None:
        self._stream = stream or sys.stderr
        self._interval = log_interval() if interval is None else interval
        self._last: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def _write(self, text: str) -> None:
        self._stream.write(f"winnow: {text}\n")
        self._stream.flush()

    def waiting(self, text: str) -> None:
        self._write(text)

    def update(self, state: ProgressState) -> None:
        now = time.monotonic()
        with self._lock:
            if self._last is None or self._last[0] != state.stage:  # a new stage
                self._last = (state.stage, now)
                if state.unit in ("files", "lines") and not state.finished:  # long stages
                    self._write(progress_line(state))
            if state.finished or now - self._last[1] >= self._interval:
                self._last = (state.stage, now)
                self._write(progress_line(state))

    def close(self) -> None:
        pass


class RichDisplay:
    """A live display on a terminal (rich): one bar per stage with done/total, lines,
    lines/s, elapsed time and ETA; finished stages stay on screen."""

    def __init__(self, stream: TextIO | None = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        console = Console(file=stream or sys.stderr)
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description:<10}"),
            BarColumn(bar_width=30),
            TextColumn("{task.fields[counts]}"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA {task.fields[eta]}"),
            console=console,
            refresh_per_second=4,
            redirect_stderr=False,
            redirect_stdout=False,
        )
        self._tasks: dict[str, int] = {}
        self._wait_task: int | None = None
        self._lock = threading.Lock()
        self._progress.start()

    def waiting(self, text: str) -> None:
        with self._lock:
            self._wait_task = self._progress.add_task(text, total=None, counts="", rate="", eta="-")

    def update(self, state: ProgressState) -> None:
        with self._lock:
            if self._wait_task is not None:
                self._progress.remove_task(self._wait_task)
                self._wait_task = None
            fields = {
                "counts": f"{state.done:,}/{state.total:,} {state.unit}",
                "rate": f"{state.lines:,} lines {state.lines_per_second:,.0f}/s"
                if state.lines
                else "",
                "eta": format_seconds(state.eta_seconds),
            }
            task = self._tasks.get(state.stage)
            if task is None:
                task = self._tasks[state.stage] = self._progress.add_task(
                    state.stage, total=max(state.total, 1), **fields
                )
            self._progress.update(
                task,
                completed=state.done if state.total else int(state.finished),
                total=max(state.total, 1),
                **fields,
            )
            if state.finished:
                self._progress.stop_task(task)

    def close(self) -> None:
        with self._lock:
            self._progress.stop()


_display: Display | None = None
_active: RunProgress | None = None


def use_display(display: Display | None) -> None:
    """Install the display of this process (the CLI does, before the flow starts)."""
    global _display
    _display = display


def terminal_display(stream: TextIO | None = None) -> Display:
    """A rich display when `stream` (stderr) is a terminal, else plain log lines."""
    stream = stream or sys.stderr
    return RichDisplay(stream) if stream.isatty() else LogDisplay(stream)


class RunProgress:
    """The progress of one flow run: stages, per-batch counts, artifact, log, display."""

    def __init__(self, logger: logging.Logger | logging.LoggerAdapter, *, artifact: bool = True):
        self._logger = logger
        self._display = _display
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self._stage: tuple[str, str, int, float] = ("extract", "files", 0, self._t0)
        self._batches: dict[int, tuple[int, int]] = {}
        self._last_artifact = 0.0
        self._last_log = 0.0
        self._artifact_id = None
        if artifact:
            from prefect.artifacts import create_progress_artifact

            self._artifact_id = create_progress_artifact(
                progress=0.0, key=PROGRESS_KEY, description="winnow: starting"
            )

    def __enter__(self) -> RunProgress:
        global _active
        _active = self
        return self

    def __exit__(self, *exc) -> None:
        global _active
        _active = None

    def state(self, *, finished: bool = False) -> ProgressState:
        name, unit, total, started = self._stage
        now = time.monotonic()
        done = sum(d for d, _ in self._batches.values())
        lines = sum(n for _, n in self._batches.values())
        return ProgressState(
            name, unit, done, total, lines, now - started, now - self._t0, finished
        )

    def stage(self, name: str, total: int, unit: str) -> None:
        """Start a stage of `total` units."""
        with self._lock:
            self._stage = (name, unit, total, time.monotonic())
            self._batches = {}
        self._publish(self.state(), force=True)

    def batch(self, batch: int, done: int, lines: int = 0) -> None:
        """Batch `batch` of the current stage has done `done` units and `lines` lines."""
        with self._lock:
            self._batches[batch] = (done, lines)
        self._publish(self.state())

    def end_stage(self) -> ProgressState:
        with self._lock:
            state = self.state(finished=True)
        self._publish(state, force=True)
        return state

    def chunk(self, batch: int, done: int, lines: int) -> None:
        """From a task in this process: display only (no API calls off the flow's thread)."""
        with self._lock:
            self._batches[batch] = (done, lines)
            state = self.state()
        if self._display is not None:
            self._display.update(state)

    def close(self) -> None:
        """Stop the live display (the summary follows)."""
        if self._display is not None:
            self._display.close()
            self._display = None

    def _publish(self, state: ProgressState, *, force: bool = False) -> None:
        if self._display is not None:
            self._display.update(state)
        now = time.monotonic()
        periodic = 0 < state.done < state.total and now - self._last_log >= log_interval()
        if state.finished or periodic:
            self._last_log = now
            self._logger.info("progress: %s", progress_line(state))
        if self._artifact_id is not None and (
            force or now - self._last_artifact >= ARTIFACT_MIN_SECONDS
        ):
            from prefect.artifacts import update_progress_artifact

            self._last_artifact = now
            update_progress_artifact(
                artifact_id=self._artifact_id,
                progress=state.percent,
                description=f"winnow: {progress_line(state)}",
            )


def report_chunk(batch: int, done: int, lines: int) -> None:
    """An extract task's partial counts (no-op outside the flow's process)."""
    if _active is not None:
        _active.chunk(batch, done, lines)


def run_step(progress: RunProgress, stage: str, total: int, unit: str, fn, *args):
    """A one-step stage of the flow: `fn(*args)` between its progress start and end."""
    progress.stage(stage, total, unit)
    result = fn(*args)
    progress.batch(0, total)
    progress.end_stage()
    return result


def gather_batches(futures: list, progress: RunProgress, done_of) -> list:
    """Task results in submission order; `done_of(i, result)` gives batch i's (done, lines)."""
    results = []
    for i, fut in enumerate(futures):
        results.append(fut.result())
        progress.batch(i, *done_of(i, results[-1]))
    progress.end_stage()
    return results
