"""Frozen records passed between stages."""

from __future__ import annotations

from dataclasses import dataclass


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
