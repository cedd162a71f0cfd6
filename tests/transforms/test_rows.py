from transforms.extract import document_from_text
from transforms.rows import count_keys_per_document, dup_in_doc, finish_document, label_documents


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
