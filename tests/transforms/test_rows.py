import gc
from pathlib import Path

import numpy as np
import pytest

from transforms.extract import document_from_text
from transforms.lines import line_key
from transforms.records import Document, DocumentLines, ErrorRecord
from transforms.rows import (
    chunk_records,
    count_keys_per_document,
    document_lines,
    dup_in_doc,
    finish_document,
    finish_documents,
    flag_documents,
    group_rows,
    label_chunk,
    label_documents,
    lookup_key_counts,
    paused_gc,
    top_template_lines,
)

LANGID_SAMPLE = Path(__file__).parents[1] / "data" / "langid" / "sample.tsv"
LANGS = ("de", "es", "fr", "it", "nl", "pt", "sv")


def test_rows_of_sample_page(sample_text, sample_lines):
    doc = document_from_text("seeds/sample.txt", 0, sample_text)
    cols = label_documents([doc], engine="py")
    assert cols["line_no"] == list(range(32))
    lines = DocumentLines(cols["text"], cols["line_key"], cols["lang_raw"], [1] * 32)
    finished = finish_document(lines)
    row, line_cols = finished.row, finished.line_columns
    assert row["text"] == "\n".join(sample_lines[:6])
    assert row["lang"] == "en" and row["n_content_lines"] == 6
    assert {m["lang"] for m in row["lang_mix"]} >= {"en", "no"}
    assert line_cols["dup_in_doc"][9:12] == [True, True, True]


def test_dup_in_doc_only_for_later_copies():
    assert dup_in_doc([3, 4, 3, 3, 0, 0]) == [False, False, True, True, False, False]


def test_key_counts_count_documents_not_lines():
    counts = count_keys_per_document(["a", "a", "b", "b"], [7, 7, 7, 0])
    assert counts == {7: 2}


def _sentences(lang: str, k: int = 3) -> list[str]:
    """k long sentences of one language from the langid sample, longest first."""
    rows = [r.split("\t") for r in LANGID_SAMPLE.read_text(encoding="utf-8").splitlines()]
    found = [t for lg, kind, t in rows if lg == lang and kind == "sentence" and 60 <= len(t) < 200]
    return sorted((t.rstrip(".") + "." for t in found), key=len, reverse=True)[:k]


def test_finish_documents_batch_equals_one_by_one():
    """One batched content-language call; each document still gets its own text's label.

    The longest line carries the true label and the others a wrong one (`af`): the line vote
    says `af`, so only the whole-text label of the right document gives the true language.
    """
    docs = []
    for lang in LANGS:
        texts = _sentences(lang)
        langs = [lang, "af", "af"]
        keys = [line_key(t) for t in texts]
        docs.append(DocumentLines(texts, keys, langs, [1, 1, 1], [1.0, 1.0, 1.0]))
    batched = finish_documents(docs)
    assert [d.row["lang"] for d in batched] == list(LANGS)
    assert batched == [finish_document(d) for d in docs]


@pytest.mark.parametrize(
    ("row_ids", "doc_ids", "expected"),
    [
        (["a", "a", "b"], ["a", "b"], [[0, 1], [2]]),
        (["a", "b", "a"], ["b", "a"], [[1], [0, 2]]),  # interleaved rows, other document order
        (["x"], ["x"], [[0]]),
    ],
)
def test_group_rows_regroups_a_batch_per_document(row_ids, doc_ids, expected):
    assert group_rows(row_ids, doc_ids) == expected


def test_document_lines_gather_non_contiguous_rows():
    cols = {
        "doc_id": ["a", "b", "a"],
        "text": ["A1.", "B1.", "A2."],
        "line_key": [1, 2, 3],
        "lang_raw": ["en", "de", "en"],
        "key_doc_count": [1, 1, 2],
        "lang_score": [0.9, 0.8, 0.7],
    }
    a, b = document_lines(cols, ["a", "b"])
    assert list(a.texts) == ["A1.", "A2."] and list(a.key_doc_counts) == [1, 2]
    assert list(b.keys) == [2] and list(b.lang_scores) == [0.8]


def test_flag_documents_orders_lines_by_document_and_keeps_every_line(sample_text):
    docs = [
        document_from_text("a.txt", 0, sample_text),
        document_from_text("b.txt", 0, "Second document. It has a sentence."),
    ]
    cols = label_documents(docs, engine="py")
    cols["key_doc_count"] = [1] * len(cols["doc_id"])
    flagged = flag_documents(cols, [docs[1].doc_id, docs[0].doc_id], engine="py")
    assert sorted(flagged.order) == list(range(len(cols["doc_id"])))
    assert [cols["doc_id"][i] for i in flagged.order[:1]] == [docs[1].doc_id]
    assert all(len(v) == len(flagged.order) for v in flagged.line_columns.values())
    assert [r["n_lines"] for r in flagged.rows] == [1, 32]


def test_chunk_records_keeps_every_record_in_order():
    recs = [Document(str(i), "a.jsonl", i, "x") for i in range(5)]
    recs.insert(2, ErrorRecord("a.jsonl", 9, "malformed_json", "bad"))
    chunks = list(chunk_records(recs, size=2))
    assert [[d.doc_id for d in docs] for docs, _ in chunks] == [["0", "1"], ["2", "3"], ["4"]]
    assert [len(errs) for _, errs in chunks] == [0, 1, 0]
    only_errors = list(chunk_records(recs[2:3], size=2))
    assert only_errors == [([], [recs[2]])]


def test_label_chunk_counts_documents_per_key():
    docs = [Document("1", "a", 0, "Menu\nText one."), Document("2", "a", 1, "Menu\nOther.")]
    chunk = label_chunk(docs, engine="py")
    assert chunk.key_counts[line_key("Menu")] == 2
    assert label_chunk([], [ErrorRecord("a", 0, "r", "m")]).columns == {}


def test_lookup_key_counts_is_a_join_with_zero_for_unknown_and_empty():
    keys = np.array([5, 0, 9, 4], np.uint64)
    got = lookup_key_counts(keys, np.array([9, 5, 0], np.uint64), np.array([3, 2, 7]))
    assert got.tolist() == [2, 0, 3, 0]
    assert (
        lookup_key_counts(keys, np.array([], np.uint64), np.array([], np.int64)).tolist() == [0] * 4
    )


def test_top_template_lines_first_text_per_key_most_widespread_first():
    got = top_template_lines(
        ["A", "B", "A ", "C", "D"],
        [1, 2, 1, 3, 4],
        [5, 9, 5, 1, 9],
        [True, True, True, True, False],
    )
    assert got == [("B", 9), ("A", 5)]


@pytest.mark.parametrize("enabled", [True, False])
def test_paused_gc_restores_the_collector_state_even_on_error(enabled):
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with pytest.raises(KeyError), paused_gc():
            assert not gc.isenabled()
            raise KeyError("x")
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_label_documents_columns_match_each_line(sample_text):
    docs = [document_from_text("a.txt", 0, sample_text), document_from_text("b.txt", 0, "x\n\nY 2")]
    cols = label_documents(docs, engine="py")
    lines = [(d.doc_id, t) for d in docs for t in d.text.split("\n")]
    assert cols["doc_id"] == [d for d, _ in lines] and cols["text"] == [t for _, t in lines]
    assert cols["line_key"] == [line_key(t) for _, t in lines]
    for d in docs:
        rows = [i for i, x in enumerate(cols["doc_id"]) if x == d.doc_id]
        assert [cols["line_no"][i] for i in rows] == list(range(len(rows)))
        assert all(d.text[cols["start"][i] : cols["end"][i]] == cols["text"][i] for i in rows)
