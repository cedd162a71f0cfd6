"""The run summary's text, artifacts and progress lines, on hand-made values (no flow run)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flows.progress import LogDisplay, ProgressState, progress_line
from flows.summary import (
    RunSummary,
    errors_markdown,
    history_rows,
    summary_rows,
    summary_text,
)

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def make_summary(**kw) -> RunSummary:
    values = dict(
        run_id="00002-abc",
        run_seq=2,
        started_at=T0,
        ended_at=T0 + timedelta(seconds=4),
        config_hash="c",
        code_hash="h",
        config="{}",
        inputs=[],
        n_files=1_200,
        n_files_skipped=3,
        n_documents=12_345,
        n_documents_kept=10_000,
        n_documents_no_content=17,
        n_lines=600_000,
        n_boilerplate_lines=150_000,
        n_duplicates=2_345,
        n_duplicates_exact=2_000,
        n_duplicates_near=345,
        n_errors=2,
        reason_counts=[{"name": "too_few_words", "count": 90_000}],
        lang_counts=[{"name": "en", "count": 9_000}, {"name": "de", "count": 1_000}],
        error_counts=[{"name": "binary_content", "count": 2}],
        output="/data/out",
        error_files=(("in/bad.bin.txt", 2),),
    )
    values.update(kw)
    return RunSummary(**values)


def test_summary_text_has_separators_rates_and_the_split_counts():
    text = summary_text(make_summary(), wall_seconds=19.5)
    assert "documents       12,345 (10,000 kept, 17 with no content left)" in text
    assert "lines           600,000" in text
    assert "languages       en 9,000, de 1,000 (kept documents)" in text
    assert "boilerplate     25.0% of lines" in text
    assert "duplicates      2,345 (exact 2,000, near 345)" in text
    assert "errors          2 (binary_content 2)" in text
    assert "error files     in/bad.bin.txt (2)" in text
    assert (
        "elapsed         4.0 s in the flow, 150,000 lines/s (19.5 s with Prefect start-up)" in text
    )


def test_files_read_again_say_why():
    plain = summary_text(make_summary(read_reasons=[{"name": "new", "count": 1_200}]))
    assert "files read      1,200 (skipped, already loaded: 3)\n" in plain
    again = make_summary(
        read_reasons=[{"name": "new", "count": 1_000}, {"name": "retry", "count": 200}]
    )
    assert "(skipped, already loaded: 3; read as new 1,000, retry 200)" in summary_text(again)


def test_an_empty_run_prints_no_boilerplate_percentage():
    empty = make_summary(
        n_files=0,
        n_documents=0,
        n_documents_kept=0,
        n_documents_no_content=0,
        n_lines=0,
        n_boilerplate_lines=0,
        n_duplicates=0,
        n_duplicates_exact=0,
        n_duplicates_near=0,
        n_errors=0,
        reason_counts=[],
        lang_counts=[],
        error_counts=[],
        error_files=(),
    )
    text = summary_text(empty)
    assert "0.0%" not in text and "boilerplate     - (no lines)" in text
    assert "errors          0 (none)" in text and "with no content" not in text
    assert empty.to_json()["boilerplate_share"] is None
    assert dict((r["metric"], r["value"]) for r in summary_rows(empty))["boilerplate share"] == "-"


def test_summary_table_is_metrics_only():
    rows = summary_rows(make_summary())
    metrics = [r["metric"] for r in rows]
    assert not any(m.startswith(("language ", "error ")) for m in metrics)
    assert len(rows) < 20 and {"lines/s", "elapsed (s)", "duplicates near"} <= set(metrics)


def test_history_rows_newest_first_with_the_trend_values():
    runs = [
        make_summary(run_seq=s, run_id=f"0000{s}-x").runs_row(
            [
                "run_id",
                "run_seq",
                "started_at",
                "ended_at",
                "n_files",
                "n_documents",
                "n_documents_kept",
                "n_documents_no_content",
                "n_lines",
                "n_boilerplate_lines",
                "n_duplicates",
                "n_duplicates_exact",
                "n_duplicates_near",
                "n_errors",
            ]
        )
        for s in (1, 2)
    ]
    runs[0].pop("n_documents_no_content")  # a row written before the column existed
    rows = history_rows(runs)
    assert [r["run"] for r in rows] == [2, 1]
    assert rows[0]["boilerplate_share"] == 0.25 and rows[0]["lines_per_s"] == 150_000.0
    assert rows[0]["no_content"] == 17 and rows[1]["no_content"] is None
    assert list(rows[0])[:9] == [
        "run",
        "new_files",
        "documents",
        "kept",
        "no_content",
        "boilerplate_share",
        "duplicates",
        "errors",
        "lines_per_s",
    ]


def test_errors_markdown_names_the_files():
    errors = [
        {"source": "in/bad.bin.txt", "record": -1, "reason": "binary_content", "message": "x|y"},
        {"source": "in/bad.bin.txt", "record": 3, "reason": "binary_content", "message": "z"},
    ]
    md = errors_markdown(make_summary(), errors)
    assert "2 error rows in 1 files" in md and "| `in/bad.bin.txt` | 2 |" in md
    assert "x/y" in md  # a pipe in a message does not break the table
    assert errors_markdown(make_summary(n_errors=0), []).endswith("no errors")


@pytest.mark.parametrize(
    "state, expected",
    [
        (
            ProgressState("flag", "lines", 0, 90, 0, 0.0, 5.0),
            "flag 0/90 lines (0%), elapsed 0:00 (run 0:05), ETA -",
        ),
        (
            ProgressState("extract", "files", 10, 40, 2_000, 10.0, 12.0),
            "extract 10/40 files (25%), 2,000 lines, 200 lines/s, elapsed 0:10 (run 0:12), ETA 0:30",
        ),
        (
            ProgressState("commit", "steps", 1, 1, 0, 0.2, 3.0, finished=True),
            "commit 1/1 steps (100%), elapsed 0:00 (run 0:03), done",
        ),
    ],
)
def test_progress_line(state, expected):
    assert progress_line(state) == expected


def test_progress_percent_spans_the_stages():
    assert ProgressState("extract", "files", 5, 10, 0, 1, 1).percent == 25.0
    assert ProgressState("flag", "lines", 0, 0, 0, 1, 1, finished=True).percent == 90.0
    assert ProgressState("commit", "steps", 1, 1, 0, 1, 1, finished=True).percent == 100.0


def test_log_display_throttles_but_always_prints_stage_ends(tmp_path):
    out = (tmp_path / "log.txt").open("w+")
    display = LogDisplay(out, interval=3600)
    display.update(ProgressState("extract", "files", 0, 3, 0, 0, 0))
    for done in (1, 2):  # within the interval: not printed
        display.update(ProgressState("extract", "files", done, 3, 10, 1, 1))
    display.update(ProgressState("extract", "files", 3, 3, 30, 2, 2, finished=True))
    display.update(ProgressState("dedup", "documents", 0, 3, 0, 0, 2))  # short stage: no start
    display.update(ProgressState("dedup", "documents", 3, 3, 0, 0, 2, finished=True))
    out.seek(0)
    lines = out.read().splitlines()
    assert [s.split(" (")[0] for s in lines] == [
        "winnow: extract 0/3 files",
        "winnow: extract 3/3 files",
        "winnow: dedup 3/3 documents",
    ]
