"""Run planning: new files, new versions, run ids, scheduling options (no Prefect)."""

import pytest

from flows.plan import COMPLETE, RETRY, LedgerEntry, RunOptions, make_run_id, plan_inputs
from flows.readers import InputFile


def _f(source: str, checksum: str) -> InputFile:
    return InputFile(source, f"/in/{source}", 10, checksum)


def test_plan_inputs_skips_loaded_files_and_names_new_versions():
    files = [_f("a.txt", "1"), _f("b.txt", "2"), _f("c.txt", "3")]
    ledger = [LedgerEntry("a.txt", "1", "R"), LedgerEntry("b.txt", "old", "R")]
    plan = plan_inputs(files, ledger, reading="R")
    assert [f.source for f in plan.new] == ["b.txt", "c.txt"]
    assert plan.revisions == {"b.txt": "2"} and plan.n_skipped == 1
    assert plan.reasons == {"b.txt": "new_version", "c.txt": "new"}


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ([LedgerEntry("a.txt", "1", "R")], None),  # fully read with these options: skipped
        ([LedgerEntry("a.txt", "1", None)], None),  # before the ledger: counts as fully read
        ([LedgerEntry("a.txt", "1", "OTHER")], "options_changed"),
        ([LedgerEntry("a.txt", "1", "R", RETRY)], "retry"),  # the read did not finish
        ([LedgerEntry("a.txt", "1", "R", RETRY), LedgerEntry("a.txt", "1", "R", COMPLETE)], None),
    ],
)
def test_plan_inputs_reads_a_file_again_unless_fully_read_with_the_same_options(entries, reason):
    plan = plan_inputs([_f("a.txt", "1")], entries, reading="R")
    assert plan.reasons.get("a.txt") == reason
    if reason is not None:  # a second read of the same bytes: ids of its own, per attempt
        assert plan.revisions["a.txt"] == f"1\x00{len(entries)}"


def test_run_id_depends_on_inputs_and_config_not_on_scheduling():
    files = [_f("a.txt", "1")]
    assert make_run_id(1, "cfg", files) == make_run_id(1, "cfg", files)
    assert make_run_id(1, "cfg", files) != make_run_id(1, "cfg2", files)
    assert make_run_id(1, "cfg", files) != make_run_id(1, "cfg", [_f("a.txt", "2")])
    assert make_run_id(2, "cfg", files).startswith("00002-")


@pytest.mark.parametrize(
    "kwargs", [{"batch_docs": 0}, {"batch_files": 0}, {"lang_engine": "fasttext"}]
)
def test_run_options_reject_bad_values(kwargs):
    with pytest.raises(ValueError):
        RunOptions(**kwargs)
