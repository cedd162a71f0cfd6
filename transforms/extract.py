"""Extract stage, pure part: bytes -> text, stable ids, record parsing."""

from __future__ import annotations

import codecs
import json

import xxhash

from transforms.records import Document, ErrorRecord

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Share of NUL/control bytes above which an input is treated as binary, not text.
BINARY_CONTROL_SHARE = 0.10
_CONTROL_BYTES = bytes(range(0, 9)) + bytes(range(14, 32))


def make_doc_id(source: str, record: int) -> str:
    """Stable 16-hex id of a document from its source path and record index.

    >>> make_doc_id("seeds/a.txt", 0) == make_doc_id("seeds/a.txt", 0)
    True
    """
    return xxhash.xxh3_64_hexdigest(f"{source}\x00{record}".encode())


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR become LF; NUL characters are removed.

    >>> normalize_newlines("a\\r\\nb\\rc")
    'a\\nb\\nc'
    """
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def looks_binary(data: bytes, *, max_share: float = BINARY_CONTROL_SHARE) -> bool:
    """True when the first 8 KiB hold too many control bytes to be text (BOM-less)."""
    head = data[:8192]
    if not head or head.startswith(tuple(bom for bom, _ in _BOMS)):
        return False
    controls = sum(head.count(bytes([b])) for b in _CONTROL_BYTES)
    return controls / len(head) > max_share


def decode_bytes(data: bytes) -> tuple[str, str, bool]:
    """Decode bytes to text: BOM, then UTF-8, then detection; returns (text, encoding, replaced).

    >>> decode_bytes("Logg på".encode("latin-1"))[0]
    'Logg på'
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = data.decode(encoding, errors="replace")
            return text, encoding.replace("-sig", ""), "\ufffd" in text
    try:
        return data.decode("utf-8"), "utf-8", False
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # imported lazily: only needed off UTF-8

    best = from_bytes(data[:1_000_000]).best()
    if best is not None:
        encoding = best.encoding
        try:
            return data.decode(encoding), encoding, False
        except (UnicodeDecodeError, LookupError):
            pass
    return data.decode("utf-8", errors="replace"), "utf-8", True


def document_from_bytes(source: str, record: int, data: bytes) -> Document | ErrorRecord:
    """One document from raw bytes, or an error record (empty, binary)."""
    if looks_binary(data):
        return ErrorRecord(source, record, "binary_content", "input looks binary, not text")
    text, encoding, replaced = decode_bytes(data)
    return document_from_text(source, record, text, encoding=encoding, replaced=replaced)


def document_from_text(
    source: str, record: int, text: str, *, encoding: str = "utf-8", replaced: bool = False
) -> Document | ErrorRecord:
    """One document from decoded text, or an error record when it holds no text."""
    text = normalize_newlines(text)
    if not text.strip():
        return ErrorRecord(source, record, "empty_document", "document holds no text")
    return Document(
        doc_id=make_doc_id(source, record),
        source=source,
        record=record,
        text=text,
        encoding=encoding,
        decode_replaced=replaced or "\ufffd" in text,
    )


def parse_jsonl_line(
    source: str, record: int, line: str, *, text_field: str = "text", id_field: str | None = None
) -> Document | ErrorRecord:
    """One JSON Lines record to a document, or an error record with a reason."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return ErrorRecord(source, record, "malformed_json", f"line {record + 1}: {exc.msg}")
    if not isinstance(obj, dict):
        return ErrorRecord(source, record, "malformed_json", f"line {record + 1}: not an object")
    text = obj.get(text_field)
    if not isinstance(text, str):
        reason = "missing_text_field" if text is None else "text_not_string"
        return ErrorRecord(source, record, reason, f"line {record + 1}: no string {text_field!r}")
    doc = document_from_text(source, record, text)
    if id_field and isinstance(doc, Document) and obj.get(id_field) is not None:
        return Document(
            doc_id=str(obj[id_field]),
            source=doc.source,
            record=doc.record,
            text=doc.text,
            encoding=doc.encoding,
            decode_replaced=doc.decode_replaced,
        )
    return doc
