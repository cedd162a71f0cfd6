"""`winnow run` as a user runs it: live progress on a terminal (a pseudo-terminal), plain
progress lines otherwise, quiet Prefect chatter, `--json`, `--version`, include/exclude."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
import time

import pandas as pd
import pytest

from tests.conftest import REPO


def _env() -> dict:
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PYTHONPATH": str(REPO), "PREFECT_API_URL": PREFECT_API_URL.value()}
    env.pop("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", None)
    return env


def _cli(*args: str, env: dict | None = None) -> list[str]:
    return [sys.executable, "-m", "flows.cli", *args]


@pytest.fixture(scope="module")
def json_run(tmp_path_factory):
    """`winnow run --json` over seeds/, stdout and stderr pipes (not a terminal)."""
    root = tmp_path_factory.mktemp("cli-json")
    shutil.copytree(REPO / "seeds", root / "seeds")
    env = {**_env(), "WINNOW_PROGRESS_INTERVAL": "0"}
    proc = subprocess.run(
        _cli("run", str(root / "seeds"), "-o", str(root / "out"), "--json"),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root / "out", json.loads(proc.stdout), proc.stderr


def test_progress_lines_when_not_a_terminal(json_run):
    _, _, stderr = json_run
    lines = [s for s in stderr.splitlines() if s.startswith("winnow: ")]
    assert "winnow: starting Prefect" in lines
    assert any(s.startswith("winnow: extract 0/5 files (0%)") for s in lines)
    assert any(s.startswith("winnow: extract 5/5 files (100%), 90 lines") for s in lines)
    assert any(s.startswith("winnow: flag 90/90 lines (100%)") for s in lines)
    for stage in ("count-keys", "dedup", "load", "commit"):
        assert any(s.startswith(f"winnow: {stage} ") and s.endswith("done") for s in lines)
    assert "\x1b[" not in stderr  # no terminal escapes in a log file


def test_prefect_task_chatter_is_quiet_by_default(json_run):
    _, _, stderr = json_run
    assert "Finished in state" not in stderr and "Created task run" not in stderr


def test_json_summary_counts_equal_the_datasets(json_run):
    out, summary, _ = json_run
    docs = pd.read_parquet(out / "documents")
    lines = pd.read_parquet(out / "lines")
    dups = pd.read_parquet(out / "duplicates")
    errors = pd.read_parquet(out / "errors")
    assert summary["n_documents_kept"] == len(docs)
    assert summary["n_documents"] == len(docs) + len(dups)
    assert summary["n_lines"] == len(lines)
    assert summary["n_boilerplate_lines"] == int(lines["is_boilerplate"].sum())
    assert summary["boilerplate_share"] == pytest.approx(lines["is_boilerplate"].mean())
    assert summary["n_documents_no_content"] == int((docs["n_content_lines"] == 0).sum())
    kinds = dups["kind"].value_counts()
    assert summary["n_duplicates_exact"] == kinds.get("exact", 0)
    assert summary["n_duplicates_near"] == kinds.get("near", 0)
    assert summary["n_errors"] == len(errors)
    langs = {c["name"]: c["count"] for c in summary["lang_counts"]}
    assert langs == docs["lang"].astype(str).value_counts().to_dict()  # kept documents only
    assert {c["name"]: c["count"] for c in summary["error_counts"]} == (
        errors["reason"].value_counts().to_dict()
    )
    assert summary["elapsed_seconds"] > 0 and summary["lines_per_second"] > 0
    # every row knows its run, every removed copy its file
    assert set(docs["run_id"]) == set(lines["run_id"]) == {summary["run_id"]}
    assert dups["source"].notna().all() and set(dups["source"]) <= set(
        f"seeds/{p.relative_to(REPO / 'seeds')}" for p in (REPO / "seeds").rglob("*")
    )


def _read_pty(fd: int, proc: subprocess.Popen, timeout: float) -> bytes:
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    return b"".join(chunks)


def test_live_progress_on_a_terminal(tmp_path):
    """Under a pseudo-terminal the rich display redraws (elapsed time, counts) while the run
    goes; the summary follows on stdout."""
    shutil.copytree(REPO / "seeds", tmp_path / "seeds")
    primary, secondary = pty.openpty()
    env = {**_env(), "COLUMNS": "140", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        _cli("run", str(tmp_path / "seeds"), "-o", str(tmp_path / "out"), "--exclude", "*.jsonl"),
        cwd=REPO,
        env=env,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    try:
        screen = _read_pty(primary, proc, 300).decode("utf-8", "replace")
        assert proc.wait(timeout=60) == 0, screen[-3000:]
    finally:
        os.close(primary)
    redraws = screen.count("\x1b[2K")  # rich's live display erases and redraws its lines
    assert redraws >= 5, screen[-2000:]
    assert "starting Prefect" in screen
    for stage in ("extract", "flag", "dedup", "load", "commit"):
        assert stage in screen
    assert "4/4 files" in screen  # --exclude '*.jsonl' left 4 of the 5 files
    assert "ETA" in screen
    assert "files read      4 (" in screen and "Traceback" not in screen


def test_version():
    proc = subprocess.run(_cli("--version"), cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("winnow 0.")
    assert "transforms code" in proc.stdout and "prefect 3." in proc.stdout


def test_report_on_an_output_without_documents_says_why(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.txt").write_bytes(b"")
    out = tmp_path / "out"
    env = _env()
    assert (
        subprocess.run(
            _cli("run", str(tmp_path / "in"), "-o", str(out), "--quiet"),
            cwd=REPO,
            env=env,
            capture_output=True,
            timeout=300,
        ).returncode
        == 1
    )
    proc = subprocess.run(_cli("report", str(out)), cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "has 1 runs but no documents yet: 1 files read, 1 error rows" in proc.stderr
    assert str(out / "errors") in proc.stderr


@pytest.mark.parametrize(
    "args, level",
    [([], "WARNING"), (["--log-level", "info"], "INFO"), (["--quiet"], "ERROR")],
)
def test_log_level_sets_only_prefects_console_handler(monkeypatch, args, level):
    from flows import cli

    monkeypatch.delenv(cli.CONSOLE_LEVEL_ENV, raising=False)
    parsed = cli.build_parser().parse_args(["run", *args])
    cli._set_console_log_level("ERROR" if parsed.quiet else parsed.log_level)
    assert os.environ[cli.CONSOLE_LEVEL_ENV] == level


def test_run_and_serve_share_every_option():
    from flows import cli

    def flags(command):
        sub = cli.build_parser()._subparsers._group_actions[0].choices[command]
        return {opt for action in sub._actions for opt in action.option_strings}

    run_only = {"--fresh", "--quiet", "--json"}
    serve_only = {"--cron", "--timezone", "--name"}
    assert flags("run") - run_only == flags("serve") - serve_only
