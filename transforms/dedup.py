"""Dedup stage: exact duplicates by content hash; survivor = first seen, never random."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import xxhash

from transforms.lines import normalize_line


@dataclass(frozen=True)
class Duplicate:
    """A document that is a copy of an earlier kept document."""

    doc_id: str
    kept_doc_id: str
    kind: str  # "exact" | "near"
    similarity: float


def content_hash(text: str) -> str:
    """32-hex hash of the normalized content text ("" for a document with no content).

    >>> content_hash("Hello,  world!") == content_hash("hello world")
    True
    """
    norm = "\n".join(n for n in (normalize_line(t) for t in text.split("\n")) if n)
    return xxhash.xxh3_128_hexdigest(norm.encode()) if norm else ""


def find_exact_duplicates(
    docs: Iterable[tuple[str, str]], *, seen: dict[str, str] | None = None
) -> tuple[list[Duplicate], dict[str, str]]:
    """Exact duplicates among (doc_id, content_hash) pairs in survivor order.

    `seen` maps hashes already loaded to their kept doc_id; returns the duplicates and the
    updated mapping (a new dict). Documents without content are never duplicates.
    """
    kept = dict(seen or {})
    dups = []
    for doc_id, chash in docs:
        if not chash:
            continue
        first = kept.setdefault(chash, doc_id)
        if first != doc_id:
            dups.append(Duplicate(doc_id, first, "exact", 1.0))
    return dups, kept
