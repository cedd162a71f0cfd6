"""The ingestion ledger: a file is skipped only when fully read with the same reading options;
bad output folders give one line and exit 2; empty datasets still read."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from flows.plan import RunOptions
from flows.runners import run_etl
from transforms.config import PipelineConfig

REPO = Path(__file__).resolve().parents[2]


def test_fixing_the_text_field_reads_the_file_again(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    topics = ("rivers and hills", "harbours in winter", "old railway bridges")
    rows = [{"body": f"This record holds a sentence about {t}."} for t in topics]
    (inputs / "export.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out"
    first = run_etl([str(inputs)], str(out))
    assert first.n_documents == 0 and first.n_errors == 3  # missing_text_field, three times
    fixed = run_etl([str(inputs)], str(out), config=PipelineConfig(text_field="body"))
    assert fixed.n_files == 1 and fixed.n_documents == 3
    assert {r["name"]: r["count"] for r in fixed.read_reasons} == {"options_changed": 1}
    again = run_etl([str(inputs)], str(out), config=PipelineConfig(text_field="body"))
    assert again.n_files == 0 and again.n_files_skipped == 1
    docs = pd.read_parquet(out / "documents")
    assert len(docs) == 3 and docs["doc_id"].is_unique
    ledger = pd.read_parquet(out / "_state" / "ledger")
    assert ledger["documents"].tolist() == [0, 3] and ledger["errors"].tolist() == [3, 0]
    assert (ledger["status"] == "complete").all()


def test_a_run_without_documents_leaves_readable_empty_datasets(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "empty.txt").write_bytes(b"")
    out = tmp_path / "out"
    summary = run_etl([str(inputs)], str(out), options=RunOptions(batch_files=1))
    assert summary.n_documents == 0
    for name in ("lines", "documents", "duplicates", "errors", "runs"):
        assert isinstance(pd.read_parquet(out / name), pd.DataFrame), name
    assert pd.read_parquet(out / "documents").empty and pd.read_parquet(out / "lines").empty
    assert json.loads((out / "_state" / "FORMAT.json").read_text()) == {"format": 2}


def _cli(out: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    (tmp_path / "in").mkdir(exist_ok=True)
    (tmp_path / "in" / "a.txt").write_text("A sentence of text. Another one follows here.")
    cmd = [sys.executable, "-m", "flows.cli", "run", str(tmp_path / "in"), "-o", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def _file_output(tmp_path: Path) -> Path:
    (tmp_path / "out").write_text("not a folder")
    return tmp_path / "out"


def _lock_symlink(tmp_path: Path) -> Path:
    (tmp_path / "out").mkdir()
    (tmp_path / "target").write_text("keep me")
    (tmp_path / "out" / ".lock").symlink_to(tmp_path / "target")
    return tmp_path / "out"


def _lock_folder(tmp_path: Path) -> Path:
    (tmp_path / "out" / ".lock").mkdir(parents=True)
    return tmp_path / "out"


def _newer_format(tmp_path: Path) -> Path:
    (tmp_path / "out" / "_state").mkdir(parents=True)
    (tmp_path / "out" / "_state" / "FORMAT.json").write_text('{"format": 99}')
    return tmp_path / "out"


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (_file_output, "not a folder"),
        (_lock_symlink, "symbolic link"),
        (_lock_folder, "Is a directory"),
        (_newer_format, "state format 99"),
    ],
)
def test_a_bad_output_folder_is_one_line_and_exit_2(tmp_path, make, says):
    out = make(tmp_path)
    proc = _cli(out, tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert says in proc.stderr
    if (tmp_path / "target").exists():
        assert (tmp_path / "target").read_text() == "keep me"  # the link's target untouched


def test_output_inside_the_input_is_never_read_as_input(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.txt").write_text("A sentence of text. Another one follows here.")
    run_etl([str(inputs)], str(inputs / "out"))
    again = run_etl([str(inputs)], str(inputs / "out"))
    assert again.n_files == 0 and again.n_errors == 0 and again.n_files_skipped == 1


def test_repeated_input_ids_across_files_and_runs_never_remove_a_neighbour(tmp_path):
    """--id-field values repeated in another batch or an earlier run: the later document keeps
    its positional id (with a duplicate_id row) and nothing else is lost or merged."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    words = ["rivers", "hills", "forests", "cities", "harbours", "deserts"]
    for f in range(2):
        rows = [
            {"id": f"u{i}", "text": f"File {f} record {i} is about {words[(f * 3 + i) % 6]} today."}
            for i in range(3)
        ]
        (inputs / f"part{f}.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out"
    config = PipelineConfig(id_field="id")
    run_etl([str(inputs)], str(out), config=config, options=RunOptions(batch_files=1))
    docs = pd.read_parquet(out / "documents")
    assert len(docs) == 6 and docs["doc_id"].is_unique
    assert sorted(docs.loc[docs["source"].str.endswith("part0.jsonl"), "doc_id"]) == [
        "u0",
        "u1",
        "u2",
    ]
    errors = pd.read_parquet(out / "errors")
    assert (errors["reason"] == "duplicate_id").sum() == 3
    assert pd.read_parquet(out / "duplicates").empty
    later = tmp_path / "later"
    later.mkdir()
    (later / "more.jsonl").write_text(json.dumps({"id": "u1", "text": "A new text on valleys."}))
    summary = run_etl([str(later)], str(out), config=config)
    docs = pd.read_parquet(out / "documents")
    assert len(docs) == 7 and docs["doc_id"].is_unique and summary.n_documents_kept == 1
    assert "u1" in set(docs.loc[docs["source"].str.endswith("part0.jsonl"), "doc_id"])
