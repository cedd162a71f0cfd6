"""Assemble the per-line and per-document rows from the stage functions (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from transforms.boilerplate import flag_lines
from transforms.dedup import content_hash
from transforms.documents import content_text
from transforms.language import (
    LangResult,
    content_language,
    detect_languages,
    detect_lines,
    language_mix,
    smooth_languages,
)
from transforms.lines import line_key, split_lines
from transforms.quality import quality_signals
from transforms.records import Document

LABEL_COLUMNS = ("doc_id", "line_no", "start", "end", "text", "line_key", "lang_raw", "lang_score")


def label_documents(
    docs: Sequence[Document], *, engine: str = "auto", cache: dict[str, LangResult] | None = None
) -> dict[str, list]:
    """Stage A: every line of every document with its key and raw language label."""
    cols: dict[str, list] = {name: [] for name in LABEL_COLUMNS}
    split = [(doc, split_lines(doc.text)) for doc in docs]
    texts = [ln.text for _, lines in split for ln in lines]
    keys = [line_key(t) for t in texts]
    labels = iter(detect_lines(texts, keys, engine=engine, cache=cache))  # one batch per chunk
    keys_iter = iter(keys)
    for doc, lines in split:
        for ln in lines:
            key, lab = next(keys_iter), next(labels)
            cols["doc_id"].append(doc.doc_id)
            cols["line_no"].append(ln.line_no)
            cols["start"].append(ln.start)
            cols["end"].append(ln.end)
            cols["text"].append(ln.text)
            cols["line_key"].append(key)
            cols["lang_raw"].append(lab.lang)
            cols["lang_score"].append(lab.score)
    return cols


def dup_in_doc(keys: Sequence[int]) -> list[bool]:
    """True when an earlier line of the same document has the same (non-empty) key.

    >>> dup_in_doc([5, 7, 5, 0, 0])
    [False, False, True, False, False]
    """
    seen: set[int] = set()
    out = []
    for k in keys:
        out.append(bool(k) and k in seen)
        seen.add(k)
    return out


def finish_document(
    texts: Sequence[str],
    keys: Sequence[int],
    langs_raw: Sequence[str],
    key_doc_counts: Sequence[int],
    *,
    lang_scores: Sequence[float] | None = None,
    engine: str = "auto",
    reasons: Sequence[tuple[str, ...]] | None = None,
    text_lang: str | None = None,
) -> tuple[dict[str, list], dict[str, object]]:
    """Stage B for one document: line flags and final language, then the document row.

    `reasons` (from `flag_lines`) and `text_lang` (label of the content text) skip those
    steps when `finish_documents` computed them for a whole batch.
    """
    if reasons is None:
        reasons = flag_lines(texts, keys, key_doc_counts, langs=langs_raw)
    is_bp = [bool(r) for r in reasons]
    weights = [len(t.strip()) for t in texts]
    content_w = [w if not b else 0 for w, b in zip(weights, is_bp, strict=True)]
    text = content_text(texts, is_bp)
    doc_lang = content_language(langs_raw, content_w, text, engine=engine, text_lang=text_lang)
    scores = [1.0] * len(texts) if lang_scores is None else lang_scores
    langs, lang_reasons = smooth_languages(langs_raw, scores, texts, doc_lang=doc_lang)
    line_cols = {
        "lang": langs,
        "lang_reason": lang_reasons,
        "is_boilerplate": is_bp,
        "boilerplate_reasons": [list(r) for r in reasons],
        "dup_in_doc": dup_in_doc(keys),
        "key_doc_count": list(key_doc_counts),
    }
    doc_row = {
        "lang": doc_lang,
        "lang_mix": language_mix(langs, weights),
        "text": text,
        "n_lines": len(texts),
        "n_content_lines": len(texts) - sum(is_bp),
        "content_hash": content_hash(text),
        **quality_signals(text),
    }
    return line_cols, doc_row


def finish_documents(
    docs: Sequence[
        tuple[Sequence[str], Sequence[int], Sequence[str], Sequence[int], Sequence[float]]
    ],
    *,
    engine: str = "auto",
) -> list[tuple[dict[str, list], dict[str, object]]]:
    """`finish_document` of many documents (texts, keys, langs_raw, key_doc_counts, scores),
    with the content texts' languages detected in one batched call (same labels)."""
    reasons = [flag_lines(d[0], d[1], d[3], langs=d[2]) for d in docs]
    texts = [content_text(d[0], [bool(r) for r in rs]) for d, rs in zip(docs, reasons, strict=True)]
    whole = detect_languages(texts, engine=engine)
    return [
        finish_document(*d[:4], lang_scores=d[4], engine=engine, reasons=rs, text_lang=w.lang)
        for d, rs, w in zip(docs, reasons, whole, strict=True)
    ]


def count_keys_per_document(doc_ids: Sequence[str], keys: Sequence[int]) -> Mapping[int, int]:
    """How many distinct documents contain each non-empty key."""
    counts: dict[int, int] = {}
    for pair in set(zip(doc_ids, keys, strict=True)):
        if pair[1]:
            counts[pair[1]] = counts.get(pair[1], 0) + 1
    return counts
