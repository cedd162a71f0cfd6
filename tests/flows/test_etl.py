"""End-to-end: the real winnow-etl flow, read back with pandas."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from flows.plan import RunOptions, code_hash, make_run_id, plan_batches
from flows.readers import InputFile
from flows.runners import run_etl
from flows.store import DATASETS
from tests.conftest import SAMPLE_PAGE
from transforms.config import PipelineConfig


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("sample")
    inputs = root / "in"
    inputs.mkdir()
    shutil.copy(SAMPLE_PAGE, inputs / SAMPLE_PAGE.name)
    summary = run_etl([str(inputs)], str(root / "out"))
    return root / "out", summary


def test_sample_page_lines(sample_run):
    out, _ = sample_run
    lines = pd.read_parquet(out / "lines").sort_values("line_no").reset_index(drop=True)
    assert len(lines) == 32
    article, paywall = lines.iloc[0:6], lines.iloc[6:12]
    assert (article["lang"] == "en").all()
    assert not article["is_boilerplate"].any()
    assert (paywall["lang"] == "no").all()
    assert paywall["is_boilerplate"].all()
    assert lines.loc[8, "line_key"] == lines.loc[11, "line_key"]
    assert lines.loc[9:11, "dup_in_doc"].all()
    assert not lines.loc[0:8, "dup_in_doc"].any()
    assert all(len(r) > 0 for r in paywall["boilerplate_reasons"])
    assert all(len(r) == 0 for r in article["boilerplate_reasons"])
    teasers = lines.iloc[12:32]
    assert teasers["is_boilerplate"].all()
    assert all(len(r) > 0 for r in teasers["boilerplate_reasons"])
    assert int(lines["is_boilerplate"].sum()) == 26
    # final language: every line right (6-11 `no`, the rest `en`) though raw says `ro` for
    # "Picture perfect"; the smoothed line keeps its raw label and says why it changed
    expected = ["en"] * 6 + ["no"] * 6 + ["en"] * 20
    assert lines["lang"].tolist() == expected
    picture = lines.loc[20]
    assert picture["text"] == "Picture perfect" and picture["lang_raw"] == "ro"
    assert picture["lang_reason"] == "smoothed_context"
    assert (lines["lang_reason"] == "smoothed_context").sum() == 1
    assert (lines.drop(index=20)["lang"] == lines.drop(index=20)["lang_raw"]).all()


def test_sample_page_document_is_its_article(sample_run, sample_lines):
    out, summary = sample_run
    docs = pd.read_parquet(out / "documents")
    assert len(docs) == 1
    doc = docs.iloc[0]
    assert doc["lang"] == "en"
    assert doc["text"] == "\n".join(sample_lines[0:6])
    assert doc["n_lines"] == 32 and doc["n_content_lines"] == 6
    assert summary.n_documents_kept == 1 and summary.n_errors == 0
    # quality signals are computed on the six article lines only
    assert doc["gopher_dup_line_frac"] == 0.0
    assert doc["c4_terminal_punct_ratio"] == 1.0
    assert doc["gopher_words"] > 100 and doc["gopher_stop_words"] >= 2


def test_every_dataset_is_readable(sample_run):
    out, _ = sample_run
    for name in DATASETS:
        pd.read_parquet(out / name)
    runs = pd.read_parquet(out / "runs")
    assert runs["n_lines"].tolist() == [32]
    # the run records which code made it, and the code is part of the run id (resume safety)
    assert runs["code_hash"].tolist() == [code_hash()]
    assert runs["run_id"][0] == make_run_id(1, runs["config_hash"][0], _inputs(runs))
    assert not (out / "_staging").exists() or not any((out / "_staging").iterdir())


def _inputs(runs: pd.DataFrame) -> list[InputFile]:
    return [InputFile(**item) for item in runs["inputs"][0]]


def _dataset_bytes(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for name in ("lines", "documents", "duplicates", "errors")
        for p in sorted((out / name).rglob("*.parquet"))
    }


def test_same_inputs_give_identical_datasets(seeds_copy, tmp_path):
    a = run_etl([str(seeds_copy)], str(tmp_path / "a"))
    b = run_etl([str(seeds_copy)], str(tmp_path / "b"))
    assert a.run_id == b.run_id
    bytes_a, bytes_b = _dataset_bytes(tmp_path / "a"), _dataset_bytes(tmp_path / "b")
    assert bytes_a and bytes_a == bytes_b


def test_seeds_run_dedups_and_reports_errors(seeds_copy, tmp_path):
    out = tmp_path / "out"
    summary = run_etl([str(seeds_copy)], str(out))
    docs = pd.read_parquet(out / "documents")
    dups = pd.read_parquet(out / "duplicates")
    errors = pd.read_parquet(out / "errors")
    lines = pd.read_parquet(out / "lines")
    # the JSONL article is an exact duplicate of the mirror (sorted first, so kept): same
    # content lines, different boilerplate around them
    exact = dups[dups["kind"] == "exact"]
    kept = docs.set_index("doc_id").loc[exact["kept_doc_id"], "source"].tolist()
    assert "seeds/crawl/mirror_library.txt" in kept
    dup_doc = exact.loc[
        exact["kept_doc_id"]
        == docs.set_index("source").loc["seeds/crawl/mirror_library.txt", "doc_id"],
        "doc_id",
    ].iloc[0]
    assert set(lines.loc[lines["doc_id"] == dup_doc, "text"]) >= {"Cookie settings"}
    assert not set(dups["doc_id"]) & set(docs["doc_id"])
    assert errors.set_index("source").loc["seeds/crawl/empty.txt", "reason"] == "empty_document"
    assert {"de", "fr", "es", "en"} <= set(docs["lang"].astype(str))
    # the ferry story: its lines split no/da, the content text as a whole says `no`
    ferry = docs[docs["text"].str.startswith("Ny ferjerute")]
    assert ferry["lang"].astype(str).tolist() == ["no"]
    assert summary.n_documents == len(docs) + len(dups)


def test_rerun_on_same_output_adds_nothing(seeds_copy, tmp_path):
    out = tmp_path / "out"
    run_etl([str(seeds_copy)], str(out))
    before = _dataset_bytes(out)
    second = run_etl([str(seeds_copy)], str(out))
    assert second.n_files == 0 and second.n_files_skipped == 5
    assert _dataset_bytes(out).keys() >= before.keys()
    for name in ("lines", "documents", "duplicates"):
        assert (
            len(pd.read_parquet(out / name))
            == len(
                pd.concat([pd.read_parquet(out / p) for p in before if p.startswith(name + "/")])
            )
            or name == "duplicates"
        )
    assert len(pd.read_parquet(out / "runs")) == 2


def test_changed_file_is_a_new_version_with_its_own_doc_ids(tmp_path):
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    page = inputs / "page.txt"
    shutil.copy(SAMPLE_PAGE, page)
    run_etl([str(inputs)], str(out))
    first = pd.read_parquet(out / "documents")
    # the scraper rewrote the file: same article, one more footer line
    page.write_text(SAMPLE_PAGE.read_text() + "\n© 2026 Example Media. All rights reserved.\n")
    second = run_etl([str(inputs)], str(out))
    assert second.n_files == 1 and second.n_documents == 1
    docs, dups = pd.read_parquet(out / "documents"), pd.read_parquet(out / "duplicates")
    lines = pd.read_parquet(out / "lines")
    new_id = (set(lines["doc_id"]) - set(first["doc_id"])).pop()
    assert docs["doc_id"].is_unique and len(docs) == 1  # the new version is not a second row
    # same content text: the new version is an exact duplicate of the first, which survives
    assert dups[["doc_id", "kept_doc_id", "kind"]].values.tolist() == [
        [new_id, first["doc_id"].iloc[0], "exact"]
    ]
    assert not lines.duplicated(["doc_id", "line_no"]).any()
    sizes = lines.groupby("doc_id").size()
    assert sizes[first["doc_id"].iloc[0]] == 32 and sizes[new_id] > 32  # both versions' lines


def test_repeated_input_ids_keep_every_document_apart(tmp_path):
    """Two records with one `--id-field` value: both documents loaded, lines not merged."""
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    texts = [
        "Cats sleep for most of the day and hunt at dusk when the light is low.\nThey purr.",
        "Dogs were domesticated from wolves many thousands of years ago, studies say.",
        "Birds sing in the early morning hours to defend their territory and find mates.",
    ]
    records = [{"id": i, "text": t} for i, t in zip(["a", "a", "b"], texts, strict=True)]
    (inputs / "x.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    summary = run_etl([str(inputs)], str(out), config=PipelineConfig(id_field="id"))
    assert summary.n_documents == 3
    lines, errors = pd.read_parquet(out / "lines"), pd.read_parquet(out / "errors")
    docs = pd.read_parquet(out / "documents")
    assert sorted(docs["doc_id"]) == sorted(lines["doc_id"].unique()) and len(docs) == 3
    assert not lines.duplicated(["doc_id", "line_no"]).any() and len(lines) == 4
    first = lines[lines["doc_id"] == "a"]["text"].tolist()
    assert first == texts[0].split("\n")  # the first record keeps its id and only its lines
    assert errors["reason"].tolist() == ["duplicate_id"] and errors["record"].tolist() == [1]
    assert "already used by" in errors["message"].iloc[0]


@pytest.mark.parametrize("batch_docs", [1, 2, 3])
def test_flag_stage_in_chunks_gives_the_datasets_of_one_chunk(tmp_path, batch_docs):
    """flag_staged works `batch_docs` documents at a time (row dicts and signatures per
    chunk); datasets equal those of one chunk, with renamed input ids and near duplicates."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    topics = ["rivers", "glaciers", "deserts", "forests", "volcanoes", "reefs", "caves"]
    records = [
        {
            "id": i,
            "text": f"Notes on {t}: field record {n}.\nThe {t} we saw this year, in {1990 + n}, "
            f"were unlike the {t} described by earlier surveys of region {n * 7}.",
        }
        for n, (i, t) in enumerate(zip(["a", "b", "a", "c", "b", "d", "e"], topics, strict=True))
    ]
    records.append({"id": "f", "text": records[0]["text"]})  # an exact copy
    (inputs / "x.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    config = PipelineConfig(id_field="id")
    runs = {}
    for name, docs in (("one", 2_000), ("chunks", batch_docs)):
        run_etl(
            [str(inputs)], str(tmp_path / name), config=config, options=RunOptions(batch_docs=docs)
        )
        runs[name] = {
            d: pd.read_parquet(tmp_path / name / d).drop(columns="run_id", errors="ignore")
            for d in ("lines", "documents", "duplicates", "errors")
        }
    assert len(runs["one"]["documents"]) == 7 and len(runs["one"]["duplicates"]) == 1
    assert runs["one"]["errors"]["reason"].tolist() == ["duplicate_id", "duplicate_id"]
    for d, frame in runs["one"].items():
        pd.testing.assert_frame_equal(frame, runs["chunks"][d], obj=d)


def _winnow(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**__import__("os").environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        timeout=300,
    )


def test_cli_help_explains_every_option():
    res = _winnow("run", "--help")
    assert res.returncode == 0
    for option in (
        "--output",
        "--fresh",
        "--workers",
        "--text-field",
        "--id-field",
        "--lang-engine",
        "--lsh-bands",
        "--lsh-rows",
        "--near-dup-jaccard",
        "--no-near-dup",
    ):
        assert option in res.stdout


def test_cli_missing_input_is_a_one_line_error(tmp_path):
    res = _winnow("run", str(tmp_path / "nope"), "--output", str(tmp_path / "out"))
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "input not found" in res.stderr
    assert "Traceback" not in res.stderr


def test_other_lsh_settings_on_an_existing_output_are_refused(tmp_path):
    out = tmp_path / "out"
    run_etl([str(SAMPLE_PAGE)], str(out))  # near-dup index built with the default 14x8
    res = _winnow("run", str(SAMPLE_PAGE), "-o", str(out), "--lsh-bands", "20", "--lsh-rows", "5")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().count("\n") == 0 and "minhash-14x8-w5" in res.stderr
    assert len(pd.read_parquet(out / "runs")) == 1  # nothing ran
    other = PipelineConfig(lsh_bands=20, lsh_rows=5)
    with pytest.raises(ValueError, match="minhash-14x8-w5"):  # the flow itself refuses too
        run_etl([str(SAMPLE_PAGE)], str(out), config=other)
    assert len(pd.read_parquet(out / "runs")) == 1
    run_etl([str(SAMPLE_PAGE)], str(out), config=other, fresh=True)  # starting over is fine
    assert len(pd.read_parquet(out / "runs")) == 1


def test_batches_are_bounded_by_files_and_expanded_bytes():
    from flows.plan import BATCH_BYTES, COMPRESSED_WEIGHT
    from flows.readers import InputFile

    small = [InputFile(f"s{i}.txt", f"s{i}.txt", 1000, "x") for i in range(450)]
    assert [len(b) for b in plan_batches(small, batch_files=200)] == [200, 200, 50]
    shard = BATCH_BYTES // COMPRESSED_WEIGHT // 2 + 1  # expands to just over half a batch
    shards = [InputFile(f"{i}.jsonl.gz", f"{i}.jsonl.gz", shard, "x") for i in range(4)]
    assert [len(b) for b in plan_batches(shards)] == [1, 1, 1, 1]
    mib = 1024**2
    big = [InputFile(f"{i}.jsonl", f"{i}.jsonl", mib, "x") for i in range(100)]
    assert [len(b) for b in plan_batches(big)] == [2] * 50  # 2 MiB cap


def test_small_inputs_get_balanced_batches_independent_of_workers():
    from flows.plan import MIN_BATCH_BYTES, TARGET_BATCHES
    from flows.readers import InputFile

    mib = 1024**2
    # 12 MiB of plain shards: about TARGET_BATCHES batches of equal size, not 6 of 2 MiB
    plain = [InputFile(f"{i}.jsonl", f"{i}.jsonl", mib // 2, "x") for i in range(24)]
    sizes = [len(b) for b in plan_batches(plain)]
    assert sizes == [3] * 8 and len(sizes) >= TARGET_BATCHES
    # tiny inputs are not cut below MIN_BATCH_BYTES
    tiny = [InputFile(f"{i}.jsonl", f"{i}.jsonl", MIN_BATCH_BYTES // 8, "x") for i in range(8)]
    assert [len(b) for b in plan_batches(tiny)] == [8]


def _row_groups(output: Path) -> dict[str, int]:
    files = sorted((output / "documents").rglob("*.parquet"))
    return {f.parent.name: pq.ParquetFile(f).metadata.num_row_groups for f in files}


def test_documents_row_groups_span_batches_with_the_same_rows(seeds_copy, tmp_path, monkeypatch):
    """load_documents buffers a language's rows across batches (an open writer keeps every
    row group's metadata): fewer row groups, the same rows in the same order."""
    import flows.tasks

    options = RunOptions(batch_files=1)  # one batch per input file
    monkeypatch.setattr(flows.tasks, "LOAD_BUFFER_BYTES", 1)  # write after every batch
    run_etl([str(seeds_copy)], str(tmp_path / "per-batch"), options=options)
    monkeypatch.setattr(flows.tasks, "LOAD_BUFFER_BYTES", 1 << 30)  # write at the end
    run_etl([str(seeds_copy)], str(tmp_path / "buffered"), options=options)
    per_batch, buffered = _row_groups(tmp_path / "per-batch"), _row_groups(tmp_path / "buffered")
    assert per_batch.keys() == buffered.keys() and set(buffered.values()) == {1}
    assert max(per_batch.values()) > 1  # a language in several batches: several row groups
    a = pd.read_parquet(tmp_path / "per-batch" / "documents")
    b = pd.read_parquet(tmp_path / "buffered" / "documents")
    pd.testing.assert_frame_equal(a.drop(columns="run_id"), b.drop(columns="run_id"))
