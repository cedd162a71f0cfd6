"""Frozen records passed between stages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class ErrorReason(StrEnum):
    """Reason code of an `errors` row (the value is what the row holds; never rename one)."""

    # discovery
    UNREADABLE_FILE = "unreadable_file"
    SYMLINK_OUTSIDE_INPUT = "symlink_outside_input"
    UNSUPPORTED_FORMAT = "unsupported_format"
    NOT_REGULAR_FILE = "not_regular_file"  # FIFO, device, socket, symlink to a folder
    SOURCE_COLLISION = "source_collision"  # two inputs would share one `source`
    # reading a file
    FILE_MISSING = "file_missing"  # deleted between discovery and read
    FILE_CHANGED = "file_changed"  # other bytes than at discovery; not read
    CORRUPT_ARCHIVE = "corrupt_archive"
    DECOMPRESSION_LIMIT = "decompression_limit"
    TRUNCATED_RECORD = "truncated_record"  # a record cut short by the end of the file
    READ_ERROR = "read_error"
    # one record
    MALFORMED_JSON = "malformed_json"
    JSON_TOO_DEEP = "json_too_deep"  # nesting beyond Python's recursion limit
    JSON_NUMBER_TOO_LONG = "json_number_too_long"  # int beyond sys.get_int_max_str_digits()
    MISSING_TEXT_FIELD = "missing_text_field"
    TEXT_NOT_STRING = "text_not_string"
    EMPTY_DOCUMENT = "empty_document"
    BINARY_CONTENT = "binary_content"
    NO_MAIN_TEXT = "no_main_text"
    UNSUPPORTED_CONTENT_TYPE = "unsupported_content_type"
    LINE_OVER_LIMIT = "line_over_limit"  # a line too long to load: document not loaded
    DOCUMENT_TOO_LARGE = "document_too_large"  # document not loaded
    HTML_TOO_LARGE = "html_too_large"  # page not loaded
    # warnings: the document IS loaded, the row says what is special about it
    LINE_TOO_LONG = "line_too_long"
    HTML_FALLBACK = "html_fallback"  # page too large for trafilatura: linear fallback text
    DUPLICATE_ID = "duplicate_id"  # input id already taken: positional id used


# Reasons whose row accompanies a loaded document instead of standing for a lost item.
WARNING_REASONS = frozenset(
    {ErrorReason.LINE_TOO_LONG, ErrorReason.HTML_FALLBACK, ErrorReason.DUPLICATE_ID}
)


@dataclass(frozen=True)
class Document:
    """One input document, decoded to text."""

    doc_id: str
    source: str
    record: int
    text: str
    encoding: str = "utf-8"
    decode_replaced: bool = False  # True when undecodable bytes became U+FFFD
    url: str | None = None  # WARC-Target-URI, or the JSONL record's `url` field


@dataclass(frozen=True)
class ErrorRecord:
    """One input item that could not be read; the run goes on."""

    source: str
    record: int
    reason: str
    message: str


@dataclass(frozen=True)
class DocumentLines:
    """The labelled lines of one document, as the flag stage needs them (one entry per line)."""

    texts: Sequence[str]
    keys: Sequence[int]
    langs_raw: Sequence[str]
    key_doc_counts: Sequence[int]
    lang_scores: Sequence[float] | None = None  # None: every raw label counts as sure (1.0)


@dataclass(frozen=True)
class FinishedDocument:
    """One document after the flag stage: its per-line columns and its document row."""

    line_columns: Mapping[str, list]
    row: Mapping[str, object]


@dataclass(frozen=True)
class LabelledChunk:
    """Stage A output of a chunk of documents: line label columns, the documents read (in
    input order), the error rows met on the way, and documents per line key."""

    columns: Mapping[str, list]
    documents: Sequence[Document]
    errors: Sequence[ErrorRecord]
    key_counts: Mapping[int, int] = field(default_factory=dict)
