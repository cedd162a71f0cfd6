from transforms.dedup import content_hash, find_exact_duplicates


def test_content_hash_ignores_formatting_but_not_words():
    assert content_hash("Hello,  World!\nSecond line.") == content_hash("hello world\nsecond line")
    assert content_hash("Hello world") != content_hash("Hello there")
    assert content_hash("") == "" and content_hash("  \n ") == ""


def test_first_seen_survives_and_empty_content_is_never_a_duplicate():
    docs = [("a", "h1"), ("b", "h2"), ("c", "h1"), ("d", ""), ("e", "")]
    dups, kept = find_exact_duplicates(docs)
    assert [(d.doc_id, d.kept_doc_id, d.kind) for d in dups] == [("c", "a", "exact")]
    assert kept == {"h1": "a", "h2": "b"}


def test_duplicates_of_earlier_runs_point_to_the_old_survivor():
    dups, kept = find_exact_duplicates([("x", "h1")], seen={"h1": "a"})
    assert dups[0].kept_doc_id == "a" and kept == {"h1": "a"}
