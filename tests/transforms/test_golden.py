"""Golden values of everything persisted across runs and versions.

`line_key` (cross-document key counts), `content_hash` (exact dedup state), `doc_id` (every
dataset) and the MinHash band keys (near-dup state) are stored in outputs and compared with
the next run's. A change of normalization or hashing must fail here, not silently stop
cross-run dedup: if one of these changes on purpose, the state format (flows/store.py
STATE_FORMAT) must change with it.
"""

import pytest

from transforms.dedup import band_keys, content_hash, text_signatures
from transforms.extract import make_doc_id, revise_doc_id
from transforms.lines import line_key


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Allerede abonnent? Logg på her for å lese videre.", 16984436159318996859),
        ("Allerede abonnent ? Logg på her for å lese videre.", 16984436159318996859),
        ("UNITED FRONT 2024", 5132474472381484908),
        ("", 0),
    ],
)
def test_line_key_golden(text, key):
    assert line_key(text) == key


def test_content_hash_golden():
    text = "First document in folder a. It has a sentence.\nSecond line, 42 times."
    assert content_hash(text) == "0ecf0ac36d348d929b6b5496138a3c04"


@pytest.mark.parametrize(
    ("source", "record", "doc_id"),
    [("seeds/a.txt", 0, "e3cab436f1950b39"), ("crawl/x.jsonl", 17, "2d271ccc45a5f5fe")],
)
def test_doc_id_golden(source, record, doc_id):
    assert make_doc_id(source, record) == doc_id


def test_revised_doc_id_golden():
    assert revise_doc_id("2a00fc2a7d931e36", "ab12") == "89484744b61c32f2"


def test_minhash_band_keys_golden():
    text = "The quick brown fox jumps over the lazy dog while the cat sleeps in the sun."
    keys = band_keys(text_signatures([text]))[0].tolist()
    assert keys == [
        9835595729818607104,
        12963818751440312733,
        17434938697760610648,
        7286843882504502928,
        7133074909422638461,
        8361487125868360378,
        9159586648573437890,
        16671897381459894653,
        14625464976437867070,
        6751987601212698483,
        6569284989386058507,
        4215049973571819774,
        1157703006412032863,
        5755969720480166081,
    ]
