"""Extract stage, pure part: bytes -> text, stable ids, record parsing."""

from __future__ import annotations

import codecs
import dataclasses
import json
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence

import xxhash

from transforms.records import Document, ErrorReason, ErrorRecord

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
# Valid multi-byte UTF-8 sequences prove UTF-8: a few invalid bytes next to them (at most
# this many per valid non-ASCII character) are replaced, not re-guessed as a legacy charset.
UTF8_MAX_INVALID_SHARE = 1.0
# Legacy encoding preferred when detection ties (windows-1252 is the most used non-UTF-8
# web encoding, W3Techs; WHATWG maps latin-1 labels to it).
PREFERRED_LEGACY = "cp1252"
# Longest line (characters) before a document gets a `line_too_long` error row. Real prose
# paragraphs stay far below; 1 MB single lines are minified JS/CSS, base64 or dumps. The
# document is still loaded; every per-line step is linear, so this is a signal, not a cut.
MAX_LINE_CHARS = 1_000_000
# Largest HTML page given to trafilatura, whose time grows superlinearly with page size
# (measured on a generated article page: 1 MB 0.7 s, 2 MB 1.6 s, 4 MB 5.9 s, 8 MB 22 s).
# Larger pages get the linear-time `text_from_html_linear` and an `html_fallback` row.
# 2 MiB keeps trafilatura under ~2 s a page, far above typical pages (crawlers commonly
# truncate fetched records near 1 MiB).
HTML_MAX_MAIN_TEXT_BYTES = 2 * 1024**2
# Largest HTML page read at all (`html_too_large` above): the fallback's lxml tree holds
# ~10x the page (a 50 MB page: 2.7 s, 0.63 GB peak RSS), so 64 MiB bounds a page near 0.8 GB.
MAX_HTML_BYTES = 64 * 1024**2
# Lone UTF-16 surrogates: a JSON "\ud800" escape makes one; UTF-8 (and Parquet) cannot hold them.
_SURROGATES = re.compile("[\ud800-\udfff]")
# Elements whose text is never page text (the linear fallback drops them with their content).
_HTML_DROP_TAGS = ("head", "script", "style", "noscript", "template", "svg", "iframe", "nav")
_HTML_DROP_TAGS += ("header", "footer", "aside", "form", "select", "button")
# Elements that start a new line in the linear fallback's output.
_HTML_BLOCK_TAGS = frozenset(
    ("address", "article", "blockquote", "body", "br", "dd", "div", "dl", "dt", "figcaption")
    + ("h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "main", "ol", "p", "pre", "section")
    + ("table", "td", "th", "tr", "ul")
)
# JSONL field kept as `documents.url` when present (C4, RedPajama, Dolma and FineWeb exports use it).
URL_FIELD = "url"


def make_doc_id(source: str, record: int) -> str:
    """Stable 16-hex id of a document from its source path and record index.

    >>> make_doc_id("seeds/a.txt", 0) == make_doc_id("seeds/a.txt", 0)
    True
    """
    return xxhash.xxh3_64_hexdigest(f"{source}\x00{record}".encode())


def assign_doc_ids(
    records: Iterable[Document | ErrorRecord], *, revisions: Mapping[str, str] | None = None
) -> Iterator[Document | ErrorRecord]:
    """Every document under an id no earlier document of `records` holds; errors pass through.

    A document of a source in `revisions` (source -> checksum: a new version of a file loaded
    before) gets `revise_doc_id`, so two versions never share an id. An id from the input
    (`--id-field`) that an earlier document already holds is replaced by the positional id
    (`make_doc_id`), followed by a `duplicate_id` error row: two documents under one id would
    merge their lines. Nothing passed in is mutated.

    >>> docs = [Document("a", "x.jsonl", 0, "One."), Document("a", "x.jsonl", 1, "Two.")]
    >>> out = list(assign_doc_ids(docs))
    >>> out[1].doc_id == make_doc_id("x.jsonl", 1), out[2].reason
    (True, 'duplicate_id')
    """
    taken: dict[str, tuple[str, int]] = {}  # doc_id -> (source, record) of its holder
    for rec in records:
        if isinstance(rec, ErrorRecord):
            yield rec
            continue
        if revisions and rec.source in revisions:
            rec = dataclasses.replace(rec, doc_id=revise_doc_id(rec.doc_id, revisions[rec.source]))
        prior = taken.get(rec.doc_id)
        if prior is None:
            taken[rec.doc_id] = (rec.source, rec.record)
            yield rec
            continue
        new_id = make_doc_id(rec.source, rec.record)
        while new_id in taken:  # only if an input id happens to equal a positional id
            new_id = xxhash.xxh3_64_hexdigest(f"{new_id}\x00duplicate".encode())
        taken[new_id] = (rec.source, rec.record)
        yield dataclasses.replace(rec, doc_id=new_id)
        yield ErrorRecord(
            rec.source,
            rec.record,
            "duplicate_id",
            f"id {rec.doc_id!r} already used by {prior[0]} record {prior[1]}; "
            f"document kept as doc_id {new_id}",
        )


def claim_input_ids(
    docs: Sequence[tuple[str, str, int]],
    *,
    taken: Collection[str] = frozenset(),
    revised: Collection[str] = frozenset(),
) -> tuple[dict[int, str], list[ErrorRecord]]:
    """Input ids (`--id-field`) held by an earlier document of the run or of an earlier run.

    `docs` are (doc_id, source, record) in input order; an id is an input id when it is not
    the positional one and its source is not `revised` (revised ids are hashes). Returns the
    positions to rename (-> positional id) and one `duplicate_id` error row per rename; the
    first holder keeps the id.

    >>> claim_input_ids([("u1", "a.jsonl", 0), ("u1", "b.jsonl", 0)])[0]
    {1: 'c7ce201a860ecbd4'}
    """
    seen: dict[str, tuple[str, int] | None] = dict.fromkeys(taken)
    renames: dict[int, str] = {}
    errors: list[ErrorRecord] = []
    for i, (doc_id, source, record) in enumerate(docs):
        positional = make_doc_id(source, record)
        if doc_id == positional or source in revised:
            continue
        if doc_id not in seen:
            seen[doc_id] = (source, record)
            continue
        holder = seen[doc_id]
        where = f"{holder[0]} record {holder[1]}" if holder else "an earlier run"
        renames[i] = positional
        message = f"id {doc_id!r} already used by {where}; document kept as doc_id {positional}"
        errors.append(ErrorRecord(source, record, "duplicate_id", message))
    return renames, errors


def revise_doc_id(doc_id: str, checksum: str) -> str:
    """Id of a document from a new version of an already loaded file (same source, new bytes).

    Versions of one source never share an id; the same version always gets the same one.

    >>> revise_doc_id("2a00fc2a7d931e36", "ab12") != "2a00fc2a7d931e36"
    True
    """
    return xxhash.xxh3_64_hexdigest(f"{doc_id}\x00{checksum}".encode())


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


def sniff_bom(head: bytes) -> tuple[str, int] | None:
    """(codec, length) of the byte-order mark `head` starts with, or None: a BOM wins.

    >>> sniff_bom(codecs.BOM_UTF16_LE + "{}".encode("utf-16-le"))
    ('utf-16', 2)
    """
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding, len(bom)
    return None


def decode_bytes(data: bytes) -> tuple[str, str, bool]:
    """Decode bytes to text: BOM, then UTF-8, then detection; returns (text, encoding, replaced).

    >>> decode_bytes("Allerede abonnent? Logg på her for å lese videre.".encode("latin-1"))[:2]
    ('Allerede abonnent? Logg på her for å lese videre.', 'cp1252')
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = data.decode(encoding, errors="replace")
            return text, encoding.replace("-sig", ""), "\ufffd" in text
    try:
        return data.decode("utf-8"), "utf-8", False
    except UnicodeDecodeError:
        pass
    lenient = data.decode("utf-8", errors="replace")
    n_bad = lenient.count("\ufffd")
    n_multibyte = sum(1 for ch in lenient if ord(ch) > 0x7F) - n_bad
    if n_multibyte > 0 and n_bad <= UTF8_MAX_INVALID_SHARE * n_multibyte:
        return lenient, "utf-8", True  # UTF-8 with a few broken bytes: marked, not re-guessed
    from charset_normalizer import from_bytes  # imported lazily: only needed off UTF-8

    matches = from_bytes(data[:1_000_000])
    best = matches.best()
    if best is not None:
        encoding = best.encoding
        tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
        if any(PREFERRED_LEGACY in m.could_be_from_charset for m in tied):
            encoding = PREFERRED_LEGACY
        try:
            return data.decode(encoding), encoding, False
        except (UnicodeDecodeError, LookupError):
            pass
    return data.decode("utf-8", errors="replace"), "utf-8", True


def scrub_surrogates(text: str) -> tuple[str, bool]:
    """`text` with lone surrogates replaced by U+FFFD, and whether any was replaced.

    >>> scrub_surrogates("a\\ud800b") == ("a\\ufffdb", True)
    True
    """
    fixed, n = _SURROGATES.subn("\ufffd", text)
    return fixed, n > 0


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


def text_from_html(html: str) -> str:
    """Main text of an HTML page (trafilatura), one paragraph/heading/list item per line.

    Returns "" when no main text is found.

    >>> text_from_html("<html><body><article><p>One paragraph with several words in it.</p>"
    ...                "<p>And a second paragraph with words.</p></article></body></html>")
    'One paragraph with several words in it.\\nAnd a second paragraph with words.'
    """
    import trafilatura  # imported lazily: only HTML inputs need it (import ~0.3 s)

    if not html.strip():
        return ""
    text = trafilatura.extract(
        html, output_format="txt", include_comments=False, include_tables=True, deduplicate=False
    )
    return text or ""


def text_from_html_linear(html: str) -> str:
    """Text of an HTML page in linear time (lxml walk, no main-text detection), a line per block.

    >>> text_from_html_linear("<nav>Home</nav><p>One  <b>bold</b> word.</p><script>x()</script>")
    'One bold word.'
    """
    from lxml import etree
    from lxml import html as lxml_html

    parser = lxml_html.HTMLParser(
        huge_tree=True, remove_comments=True, remove_pis=True, encoding="utf-8"
    )
    try:
        root = lxml_html.document_fromstring(html.encode("utf-8", "replace"), parser=parser)
    except etree.ParserError:  # "Document is empty"
        return ""
    etree.strip_elements(root, *_HTML_DROP_TAGS, with_tail=False)
    parts: list[str] = []
    for event, el in etree.iterwalk(root, events=("start", "end")):
        if el.tag in _HTML_BLOCK_TAGS:
            parts.append("\n")
        text = el.text if event == "start" else el.tail
        if text:
            parts.append(text)
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def document_from_html(source: str, record: int, data: bytes) -> Document | ErrorRecord:
    """One document from raw HTML bytes: decode, then main-text extraction.

    Pages above HTML_MAX_MAIN_TEXT_BYTES get the linear fallback (`html_documents` flags it).
    """
    if len(data) > MAX_HTML_BYTES:
        return html_too_large(source, record, len(data))
    if looks_binary(data):
        return ErrorRecord(source, record, "binary_content", "input looks binary, not HTML")
    html, encoding, replaced = decode_bytes(data)
    if not html.strip():
        return ErrorRecord(source, record, "empty_document", "document holds no text")
    large = len(data) > HTML_MAX_MAIN_TEXT_BYTES
    text = text_from_html_linear(html) if large else text_from_html(html)
    if not text.strip():
        return ErrorRecord(source, record, "no_main_text", "HTML holds no extractable main text")
    return document_from_text(source, record, text, encoding=encoding, replaced=replaced)


def html_too_large(source: str, record: int, n_bytes: int) -> ErrorRecord:
    """The `html_too_large` row of a page above MAX_HTML_BYTES (not loaded)."""
    return ErrorRecord(
        source,
        record,
        ErrorReason.HTML_TOO_LARGE,
        f"HTML page of {n_bytes} bytes or more (> {MAX_HTML_BYTES}); not loaded",
    )


def html_documents(source: str, record: int, data: bytes) -> Iterator[Document | ErrorRecord]:
    """`document_from_html`, then an `html_fallback` row if the page was too large for trafilatura.

    >>> [type(r).__name__ for r in html_documents("s", 0, b"<p>" + b"Words here. " * 200_000)]
    ['Document', 'ErrorRecord']
    """
    doc = document_from_html(source, record, data)
    yield doc
    if isinstance(doc, Document) and len(data) > HTML_MAX_MAIN_TEXT_BYTES:
        yield ErrorRecord(
            source,
            record,
            ErrorReason.HTML_FALLBACK,
            f"document {doc.doc_id} kept; its {len(data)} bytes of HTML (> "
            f"{HTML_MAX_MAIN_TEXT_BYTES}) were reduced to text by the linear fallback, "
            "without main-text detection",
        )


def long_line_error(doc: Document, *, max_chars: int = MAX_LINE_CHARS) -> ErrorRecord | None:
    """A `line_too_long` error row (document kept) when a line exceeds `max_chars`, else None.

    >>> long_line_error(Document("i", "s", 0, "short")) is None
    True
    """
    if len(doc.text) <= max_chars:
        return None
    longest = max(len(line) for line in doc.text.split("\n"))
    if longest <= max_chars:
        return None
    return ErrorRecord(
        doc.source,
        doc.record,
        "line_too_long",
        f"document {doc.doc_id} kept; its longest line has {longest} chars (> {max_chars})",
    )


def parse_jsonl_line(
    source: str, record: int, line: str, *, text_field: str = "text", id_field: str | None = None
) -> Document | ErrorRecord:
    """One JSON Lines record to a document, or an error record with a reason.

    Lone surrogates (a "\\ud800" escape) in the text, url or id become U+FFFD
    (`decode_replaced`): UTF-8 outputs cannot hold them.

    >>> parse_jsonl_line("s", 0, "[" * 100_000).reason == "json_too_deep"
    True
    """
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return ErrorRecord(source, record, "malformed_json", f"line {record + 1}: {exc.msg}")
    except RecursionError:
        return ErrorRecord(
            source, record, ErrorReason.JSON_TOO_DEEP, f"line {record + 1}: nested too deeply"
        )
    except ValueError as exc:  # an int with more digits than sys.get_int_max_str_digits()
        return ErrorRecord(
            source, record, ErrorReason.JSON_NUMBER_TOO_LONG, f"line {record + 1}: {exc}"
        )
    if not isinstance(obj, dict):
        return ErrorRecord(source, record, "malformed_json", f"line {record + 1}: not an object")
    text = obj.get(text_field)
    if not isinstance(text, str):
        reason = "missing_text_field" if text is None else "text_not_string"
        return ErrorRecord(source, record, reason, f"line {record + 1}: no string {text_field!r}")
    escaped = "\\u" in line  # only a \u escape can make a lone surrogate
    text, replaced = scrub_surrogates(text) if escaped else (text, False)
    doc = document_from_text(source, record, text, replaced=replaced)
    if not isinstance(doc, Document):
        return doc
    if id_field and obj.get(id_field) is not None:
        doc_id = str(obj[id_field])
        doc = dataclasses.replace(doc, doc_id=scrub_surrogates(doc_id)[0] if escaped else doc_id)
    if isinstance(obj.get(URL_FIELD), str):
        url, bad_url = scrub_surrogates(obj[URL_FIELD]) if escaped else (obj[URL_FIELD], False)
        doc = dataclasses.replace(doc, url=url, decode_replaced=doc.decode_replaced or bad_url)
    return doc
