from pathlib import Path

from transforms.extract import document_from_text
from transforms.lines import line_key
from transforms.rows import (
    count_keys_per_document,
    dup_in_doc,
    finish_document,
    finish_documents,
    label_documents,
)

LANGID_SAMPLE = Path(__file__).parents[1] / "data" / "langid" / "sample.tsv"
LANGS = ("de", "es", "fr", "it", "nl", "pt", "sv")


def test_rows_of_sample_page(sample_text, sample_lines):
    doc = document_from_text("seeds/sample.txt", 0, sample_text)
    cols = label_documents([doc], engine="py")
    assert cols["line_no"] == list(range(32))
    line_cols, row = finish_document(cols["text"], cols["line_key"], cols["lang_raw"], [1] * 32)
    assert row["text"] == "\n".join(sample_lines[:6])
    assert row["lang"] == "en" and row["n_content_lines"] == 6
    assert set(row["lang_mix"]) >= {"en", "no"}
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
        docs.append((texts, [line_key(t) for t in texts], langs, [1, 1, 1], [1.0, 1.0, 1.0]))
    batched = finish_documents(docs)
    assert [row["lang"] for _, row in batched] == list(LANGS)
    assert batched == [finish_document(*d[:4], lang_scores=d[4]) for d in docs]
