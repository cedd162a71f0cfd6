"""Dedup end to end: exact and near duplicates, survivor rule, determinism, incremental runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from flows.plan import RunOptions
from flows.runners import run_etl
from transforms.config import PipelineConfig
from transforms.extract import make_doc_id

MIRROR = make_doc_id("seeds/crawl/mirror_library.txt", 0)
REFETCH = make_doc_id("seeds/crawl/refetch_library.txt", 0)


def _files(out: Path, *names: str) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for name in names
        for p in sorted((out / name).rglob("*.parquet"))
    }


def _datasets(out: Path) -> dict[str, bytes]:
    return _files(out, "lines", "documents", "duplicates", "errors")


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dedup")
    shutil.copytree(Path(__file__).parents[2] / "seeds", root / "seeds")
    run_etl([str(root / "seeds")], str(root / "out"), options=RunOptions(batch_files=2))
    return root


def test_exact_duplicate_with_other_boilerplate_points_to_the_first_seen(seeds_run):
    dups = pd.read_parquet(seeds_run / "out" / "duplicates")
    exact = dups[dups["kind"] == "exact"]
    assert exact["kept_doc_id"].tolist() == [MIRROR]  # the JSONL copy, read after the mirror
    assert exact["similarity"].tolist() == [1.0]


def test_refetched_article_is_a_near_duplicate_of_the_library_article(seeds_run):
    dups = pd.read_parquet(seeds_run / "out" / "duplicates").set_index("doc_id")
    assert dups.loc[REFETCH, "kind"] == "near"
    assert dups.loc[REFETCH, "kept_doc_id"] == MIRROR
    # estimated Jaccard of the word 5-grams; at least the confirmation threshold
    assert PipelineConfig().near_dup_min_jaccard <= dups.loc[REFETCH, "similarity"] < 1.0


def test_unrelated_documents_are_not_merged(seeds_run):
    docs = pd.read_parquet(seeds_run / "out" / "documents")
    dups = pd.read_parquet(seeds_run / "out" / "duplicates")
    assert len(dups) == 2  # the exact and the near copy of the library article, nothing else
    assert len(docs) == 6 and not set(dups["doc_id"]) & set(docs["doc_id"])


def test_datasets_do_not_depend_on_workers_or_file_creation_order(seeds_run, tmp_path):
    # the same files, created in reverse order, in three batches of two files on 2 workers
    src, copy = seeds_run / "seeds", tmp_path / "seeds"
    for p in sorted(src.rglob("*"), reverse=True):
        if p.is_file():
            (copy / p.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(p, copy / p.relative_to(src))
    shutil.copytree(copy, tmp_path / "in" / "seeds")
    run_etl(
        [str(tmp_path / "in" / "seeds")],
        str(tmp_path / "out"),
        options=RunOptions(batch_files=2),
        workers=2,
    )
    assert _datasets(tmp_path / "out") == _datasets(seeds_run / "out")


def test_second_run_dedups_against_the_first_and_a_rerun_changes_nothing(seeds_run, tmp_path):
    first, second = tmp_path / "first" / "seeds", tmp_path / "second" / "seeds"
    (first / "crawl").mkdir(parents=True)
    (second / "crawl").mkdir(parents=True)
    crawl = seeds_run / "seeds" / "crawl"
    shutil.copy(crawl / "mirror_library.txt", first / "crawl")
    shutil.copy(crawl / "refetch_library.txt", second / "crawl")
    shutil.copy(crawl / "news.jsonl", second / "crawl")
    out = tmp_path / "out"
    run_etl([str(first)], str(out))
    assert pd.read_parquet(out / "duplicates").empty
    run_etl([str(second)], str(out))
    dups = pd.read_parquet(out / "duplicates").set_index("doc_id")
    # the JSONL copy of the library article: its boilerplate flags (cross-document key
    # counts) differ from the first run's, so it is a near, not an exact, duplicate
    assert dups["kept_doc_id"].to_dict() == {
        make_doc_id("seeds/crawl/news.jsonl", 0): MIRROR,
        REFETCH: MIRROR,
    }
    assert (dups["kind"] == "near").all()
    before = _files(out, "lines", "documents", "duplicates", "errors", "_state")
    again = run_etl([str(first), str(second)], str(out))
    assert again.n_files == 0 and again.n_duplicates == 0
    after = _files(out, "lines", "documents", "duplicates", "errors", "_state")
    changed = {k for k in after if before.get(k) != after[k]}
    # a re-run adds only its own empty parts and removes nothing
    assert before.keys() <= after.keys()
    assert all(pd.read_parquet(out / k).empty for k in changed if not k.startswith("_state/inputs"))
