import codecs
import json

import pytest

from transforms.extract import (
    decode_bytes,
    document_from_bytes,
    looks_binary,
    make_doc_id,
    normalize_newlines,
    parse_jsonl_line,
)
from transforms.records import Document, ErrorRecord


@pytest.mark.parametrize(
    "data, encoding",
    [
        ("Logg på – ærlig".encode(), "utf-8"),
        (codecs.BOM_UTF8 + "Logg på".encode(), "utf-8"),
        ("Logg på".encode("utf-16"), "utf-16"),
    ],
)
def test_decode_bytes_honours_bom_and_utf8(data, encoding):
    text, enc, replaced = decode_bytes(data)
    assert text.lstrip("\ufeff").startswith("Logg på")
    assert enc == encoding and not replaced


def test_decode_bytes_detects_latin1():
    data = "Élève à l'école, garçon très sérieux, déjà là.".encode("latin-1")
    text, enc, replaced = decode_bytes(data)
    assert "garçon" in text and enc != "utf-8" and not replaced


def test_normalize_newlines():
    assert normalize_newlines("a\r\nb\rc\x00d") == "a\nb\ncd"


def test_doc_id_is_stable_and_depends_on_source_and_record():
    assert make_doc_id("a.txt", 0) == make_doc_id("a.txt", 0)
    assert len({make_doc_id("a.txt", 0), make_doc_id("a.txt", 1), make_doc_id("b.txt", 0)}) == 3


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty_document"),
        (b"  \n\n ", "empty_document"),
        (bytes(range(256)) * 40, "binary_content"),
    ],
)
def test_bad_bytes_become_error_records(data, reason):
    rec = document_from_bytes("x.txt", 0, data)
    assert isinstance(rec, ErrorRecord) and rec.reason == reason


def test_binary_check_does_not_fire_on_text():
    assert not looks_binary(b"Plain text.\n" * 100)


@pytest.mark.parametrize(
    "line, reason",
    [
        ("{not json", "malformed_json"),
        ("[1, 2]", "malformed_json"),
        (json.dumps({"body": "x"}), "missing_text_field"),
        (json.dumps({"text": 5}), "text_not_string"),
        (json.dumps({"text": "   "}), "empty_document"),
    ],
)
def test_bad_jsonl_records_become_error_records(line, reason):
    rec = parse_jsonl_line("f.jsonl", 3, line)
    assert isinstance(rec, ErrorRecord) and rec.reason == reason and rec.record == 3


def test_jsonl_record_with_custom_fields():
    rec = parse_jsonl_line(
        "f.jsonl", 0, json.dumps({"body": "Hei.", "id": "x1"}), text_field="body", id_field="id"
    )
    assert isinstance(rec, Document) and rec.doc_id == "x1" and rec.text == "Hei."
