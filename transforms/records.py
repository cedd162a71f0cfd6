"""Frozen records passed between stages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


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
