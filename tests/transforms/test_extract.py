import codecs
import json

import pytest

from transforms.extract import (
    decode_bytes,
    document_from_bytes,
    document_from_html,
    document_from_text,
    long_line_error,
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


@pytest.mark.parametrize(
    "obj, url",
    [
        ({"text": "Hei.", "url": "https://e.no/a"}, "https://e.no/a"),
        ({"text": "Hei."}, None),
        ({"text": "Hei.", "url": 7}, None),  # not a string: not a URL
    ],
)
def test_jsonl_url_field_is_kept(obj, url):
    rec = parse_jsonl_line("f.jsonl", 0, json.dumps(obj))
    assert isinstance(rec, Document) and rec.url == url


@pytest.mark.parametrize(
    "data, text, encoding, replaced",
    [
        # UTF-8 with two broken bytes next to valid multi-byte characters: marked, kept UTF-8
        (
            b"Broken " + b"\xff\x80" + " på norsk, ærlig og søt.".encode(),
            "Broken \ufffd\ufffd på norsk, ærlig og søt.",
            "utf-8",
            True,
        ),
        # Latin-1 without any valid UTF-8 sequence: detected (windows-1252 on ties)
        (
            "Der Bürgermeister sagte, dass die Straße bleibt.".encode("latin-1"),
            "Der Bürgermeister sagte, dass die Straße bleibt.",
            "cp1252",
            False,
        ),
        (
            "Привет, как дела? Это тест кодировки.".encode("cp1251"),
            "Привет, как дела? Это тест кодировки.",
            "cp1251",
            False,
        ),
    ],
)
def test_decode_bytes_off_utf8(data, text, encoding, replaced):
    assert decode_bytes(data) == (text, encoding, replaced)


def test_document_from_html_extracts_main_text_by_line():
    html = (
        "<html><body><nav><a href='/'>Home</a> | <a href='/x'>News</a></nav><article>"
        "<h1>Council approves budget</h1>"
        "<p>The council approved the new budget on Tuesday after a long debate.</p>"
        "<p>Schools will receive more money for teachers and buildings next year.</p>"
        "</article><footer>Copyright 2024 Example</footer></body></html>"
    )
    doc = document_from_html("p.html", 0, html.encode())
    assert isinstance(doc, Document)
    assert doc.text.split("\n")[-2:] == [
        "The council approved the new budget on Tuesday after a long debate.",
        "Schools will receive more money for teachers and buildings next year.",
    ]
    assert "Copyright" not in doc.text and "Home" not in doc.text


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty_document"),
        (b"<html><body><script>var x = 1;</script></body></html>", "no_main_text"),
        (bytes(range(0, 32)) * 100, "binary_content"),
    ],
)
def test_document_from_html_bad_data_is_a_reason(data, reason):
    rec = document_from_html("p.html", 3, data)
    assert isinstance(rec, ErrorRecord) and rec.reason == reason and rec.record == 3


@pytest.mark.parametrize(
    "text, flagged",
    [("short\nlines", False), ("a" * 50 + "\n" + "b" * 50, False), ("x\n" + "y" * 101, True)],
)
def test_long_line_error_flags_but_names_the_kept_document(text, flagged):
    doc = document_from_text("s.txt", 0, text)
    rec = long_line_error(doc, max_chars=100)
    assert (rec is not None) == flagged
    if flagged:
        assert rec.reason == "line_too_long" and doc.doc_id in rec.message


def test_assign_doc_ids_revises_versions_and_resolves_collisions_without_mutation():
    from transforms.extract import assign_doc_ids, make_doc_id, revise_doc_id

    docs = [
        Document("id1", "a.jsonl", 0, "One."),
        ErrorRecord("a.jsonl", 1, "malformed_json", "bad"),
        Document("id1", "a.jsonl", 2, "Two."),  # repeated input id
        Document("x", "b.txt", 0, "Three."),  # a new version of a loaded file
    ]
    before = list(docs)
    out = list(assign_doc_ids(docs, revisions={"b.txt": "c0ffee"}))
    assert docs == before  # nothing mutated
    assert [type(r).__name__ for r in out] == [
        "Document",
        "ErrorRecord",
        "Document",
        "ErrorRecord",
        "Document",
    ]
    assert out[0].doc_id == "id1"
    assert out[2].doc_id == make_doc_id("a.jsonl", 2) and out[3].reason == "duplicate_id"
    assert out[4].doc_id == revise_doc_id("x", "c0ffee")
    ids = [r.doc_id for r in out if isinstance(r, Document)]
    assert len(set(ids)) == len(ids)
