"""Line rows and document rows: label lines, then finish each document from its lines (pure)."""

from __future__ import annotations

import contextlib
import gc
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from transforms.boilerplate import DEFAULT_CONFIG as DEFAULT_BOILERPLATE
from transforms.boilerplate import (
    BoilerplateConfig,
    document_language,
    flag_lines,
    prime_line_evidence,
)
from transforms.dedup import content_hash
from transforms.language import (
    LangResult,
    content_language,
    detect_languages,
    detect_lines,
    language_mix,
    smooth_languages,
)
from transforms.lines import line_keys, split_documents
from transforms.quality import measure_quality
from transforms.records import (
    Document,
    DocumentLines,
    ErrorRecord,
    FinishedDocument,
    LabelledChunk,
)

LABEL_COLUMNS = ("doc_id", "line_no", "start", "end", "text", "line_key", "lang_raw", "lang_score")
# The line columns `finish_documents` adds to the label columns, in output order.
FLAG_COLUMNS = (
    "lang",
    "lang_reason",
    "is_boilerplate",
    "boilerplate_reasons",
    "dup_in_doc",
    "key_doc_count",
)
# Template lines reported per batch: boilerplate lines seen in at least this many documents.
TEMPLATE_MIN_DOCS = 2
TEMPLATE_TOP = 10


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for one batch (reference counting still frees).

    A batch makes millions of short-lived strings, lists and tuples without cycles; the
    collector walks them all and finds nothing: 868 collections, 1.2 s of a 14 s run on the
    100k-line corpus, 15 collections with this around the label and flag work (same peak
    RSS). Outputs do not depend on it; the previous state is restored on exit (process-wide:
    a thread leaving re-enables collection for the others, which is only slower).
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def chunk_records(
    records: Iterable[Document | ErrorRecord], *, size: int
) -> Iterator[tuple[list[Document], list[ErrorRecord]]]:
    """Documents in chunks of `size`, each with the error rows met since the last chunk.

    >>> docs = [Document(str(i), "a.jsonl", i, "x") for i in range(3)]
    >>> [(len(d), len(e)) for d, e in chunk_records(docs, size=2)]
    [(2, 0), (1, 0)]
    """
    if size < 1:
        raise ValueError("size must be >= 1")
    docs: list[Document] = []
    errors: list[ErrorRecord] = []
    for rec in records:
        if isinstance(rec, ErrorRecord):
            errors.append(rec)
            continue
        docs.append(rec)
        if len(docs) >= size:
            yield docs, errors
            docs, errors = [], []
    if docs or errors:
        yield docs, errors


def label_documents(
    docs: Sequence[Document], *, engine: str = "auto", cache: dict[str, LangResult] | None = None
) -> dict[str, list]:
    """Every line of every document with its key and raw language label (LABEL_COLUMNS)."""
    lines = split_documents([doc.text for doc in docs])
    keys = line_keys(lines.text)
    labels = detect_lines(lines.text, keys, engine=engine, cache=cache)  # one batch per chunk
    doc_ids = itertools.chain.from_iterable(
        itertools.repeat(doc.doc_id, n) for doc, n in zip(docs, lines.sizes, strict=True)
    )
    return {
        "doc_id": list(doc_ids),
        "line_no": lines.line_no,
        "start": lines.start,
        "end": lines.end,
        "text": lines.text,
        "line_key": keys,
        "lang_raw": [lab.lang for lab in labels],
        "lang_score": [lab.score for lab in labels],
    }


def label_chunk(
    docs: Sequence[Document],
    errors: Sequence[ErrorRecord] = (),
    *,
    engine: str = "auto",
    cache: dict[str, LangResult] | None = None,
) -> LabelledChunk:
    """A chunk's label columns and documents per line key (errors passed through)."""
    with paused_gc():
        cols = label_documents(docs, engine=engine, cache=cache) if docs else {}
        counts = count_keys_per_document(cols["doc_id"], cols["line_key"]) if docs else {}
    return LabelledChunk(columns=cols, documents=list(docs), errors=list(errors), key_counts=counts)


def count_keys_per_document(doc_ids: Sequence[str], keys: Sequence[int]) -> Mapping[int, int]:
    """How many distinct documents contain each non-empty key.

    >>> count_keys_per_document(["a", "a", "b"], [7, 7, 7])
    {7: 2}
    """
    counts: dict[int, int] = {}
    for pair in set(zip(doc_ids, keys, strict=True)):
        if pair[1]:
            counts[pair[1]] = counts.get(pair[1], 0) + 1
    return counts


def lookup_key_counts(
    keys: np.ndarray, known_keys: np.ndarray, known_counts: np.ndarray
) -> np.ndarray:
    """Documents per key for each of `keys` (int32; 0 for the empty key 0 and unknown keys).

    >>> lookup_key_counts(np.array([5, 0, 9], np.uint64), np.array([9, 5], np.uint64),
    ...                   np.array([3, 2])).tolist()
    [2, 0, 3]
    """
    if not len(known_keys):
        return np.zeros(len(keys), np.int32)
    order = np.argsort(known_keys, kind="stable")
    sorted_keys, sorted_counts = known_keys[order], known_counts[order]
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    hit = (sorted_keys[pos] == keys) & (keys != 0)
    return np.where(hit, sorted_counts[pos], 0).astype(np.int32)


def group_rows(row_doc_ids: Sequence[str], doc_ids: Sequence[str]) -> list[list[int]]:
    """Row indices of each document of `doc_ids`, in that order (rows keep their order).

    >>> group_rows(["a", "b", "a", "c"], ["c", "a", "b"])
    [[3], [0, 2], [1]]
    """
    rows: dict[str, list[int]] = {}
    for i, doc_id in enumerate(row_doc_ids):
        rows.setdefault(doc_id, []).append(i)
    return [rows[doc_id] for doc_id in doc_ids]


def _take(values: Sequence, idx: list[int]) -> Sequence:
    """`values` at `idx`: a slice when the rows are contiguous (written document by document)."""
    lo, hi = idx[0], idx[-1] + 1
    return values[lo:hi] if hi - lo == len(idx) else [values[i] for i in idx]


def document_lines(columns: Mapping[str, Sequence], doc_ids: Sequence[str]) -> list[DocumentLines]:
    """The label columns of a batch regrouped per document, in `doc_ids` order."""
    out = []
    for idx in group_rows(columns["doc_id"], doc_ids):
        texts, keys, langs, counts, scores = (
            _take(columns[c], idx)
            for c in ("text", "line_key", "lang_raw", "key_doc_count", "lang_score")
        )
        out.append(DocumentLines(texts, keys, langs, counts, scores))
    return out


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


def content_text(texts: Sequence[str], is_boilerplate: Sequence[bool]) -> str:
    """The content lines joined with newlines (line first, then document).

    >>> content_text(["Article.", "Log in", "More text."], [False, True, False])
    'Article.\\nMore text.'
    """
    return "\n".join(t for t, b in zip(texts, is_boilerplate, strict=True) if not b)


def _finish(
    lines: DocumentLines,
    reasons: Sequence[tuple[str, ...]],
    content: tuple[str, str, Mapping[str, object]],
    engine: str,
) -> FinishedDocument:
    """Line columns and document row of one document from its flags and its content text
    with that text's language and quality signals."""
    text, text_lang, quality = content
    texts = lines.texts
    is_bp = [bool(r) for r in reasons]
    weights = [len(t.strip()) for t in texts]
    content_w = [w if not b else 0 for w, b in zip(weights, is_bp, strict=True)]
    doc_lang = content_language(
        lines.langs_raw, content_w, text, engine=engine, text_lang=text_lang
    )
    scores = [1.0] * len(texts) if lines.lang_scores is None else lines.lang_scores
    langs, lang_reasons = smooth_languages(lines.langs_raw, scores, texts, doc_lang=doc_lang)
    line_columns = {
        "lang": langs,
        "lang_reason": lang_reasons,
        "is_boilerplate": is_bp,
        "boilerplate_reasons": [list(r) for r in reasons],
        "dup_in_doc": dup_in_doc(lines.keys),
        "key_doc_count": list(lines.key_doc_counts),
    }
    mix = language_mix(langs, weights)
    row = {
        "lang": doc_lang,
        "lang_mix": [{"lang": k, "share": v} for k, v in mix.items()],
        "text": text,
        "n_lines": len(texts),
        "n_content_lines": len(texts) - sum(is_bp),
        "content_hash": content_hash(text),
        **quality,
    }
    return FinishedDocument(line_columns, row)


def finish_documents(
    docs: Sequence[DocumentLines],
    *,
    engine: str = "auto",
    boilerplate: BoilerplateConfig = DEFAULT_BOILERPLATE,
) -> list[FinishedDocument]:
    """Boilerplate flags, final line languages and the document row of each document; the
    content texts' languages are detected in one batched call, the lines' evidence is
    computed in one pass (`prime_line_evidence`) and handed to `flag_lines`."""
    doc_langs = [document_language(d.langs_raw, d.texts) for d in docs]
    evidence = prime_line_evidence([d.texts for d in docs], doc_langs, config=boilerplate)
    reasons = [
        # (no `langs`: the document's language is `lang` already, None when all lines are `und`)
        flag_lines(
            d.texts, d.keys, d.key_doc_counts, doc_lang=lang, config=boilerplate, evidence=ev
        )
        for d, lang, ev in zip(docs, doc_langs, evidence, strict=True)
    ]
    texts = [
        content_text(d.texts, [bool(r) for r in rs]) for d, rs in zip(docs, reasons, strict=True)
    ]
    whole = detect_languages(texts, engine=engine)
    quality = measure_quality(texts)  # one batch: shared vocabulary, n-grams of all texts
    return [
        _finish(d, rs, (t, w.lang, q), engine)
        for d, rs, t, w, q in zip(docs, reasons, texts, whole, quality, strict=True)
    ]


def finish_document(
    lines: DocumentLines,
    *,
    engine: str = "auto",
    boilerplate: BoilerplateConfig = DEFAULT_BOILERPLATE,
) -> FinishedDocument:
    """`finish_documents` of one document."""
    return finish_documents([lines], engine=engine, boilerplate=boilerplate)[0]


@dataclass(frozen=True)
class FlaggedBatch:
    """A batch after flagging: row order of its lines (documents in input order), the flag
    columns in that order, and one document row per document."""

    order: list[int]
    line_columns: dict[str, list]
    rows: list[Mapping[str, object]]


def flag_documents(
    columns: Mapping[str, Sequence],
    doc_ids: Sequence[str],
    *,
    engine: str = "auto",
    boilerplate: BoilerplateConfig = DEFAULT_BOILERPLATE,
) -> FlaggedBatch:
    """Flag every document of a batch from its label columns (with `key_doc_count`)."""
    groups = group_rows(columns["doc_id"], doc_ids)
    lines = document_lines(columns, doc_ids)
    finished = finish_documents(lines, engine=engine, boilerplate=boilerplate)
    line_columns: dict[str, list] = {name: [] for name in FLAG_COLUMNS}
    for doc in finished:
        for name in FLAG_COLUMNS:
            line_columns[name].extend(doc.line_columns[name])
    order = [i for idx in groups for i in idx]
    return FlaggedBatch(order, line_columns, [doc.row for doc in finished])


def top_template_lines(
    texts: Sequence[str],
    keys: Sequence[int],
    key_doc_counts: Sequence[int],
    is_boilerplate: Sequence[bool],
    *,
    top: int = TEMPLATE_TOP,
    min_docs: int = TEMPLATE_MIN_DOCS,
) -> list[tuple[str, int]]:
    """The most widespread boilerplate lines (first text of each key) with their document count.

    >>> top_template_lines(["Menu", "Text.", "Menu "], [1, 2, 1], [9, 9, 9], [True, False, True])
    [('Menu', 9)]
    """
    seen: set[int] = set()
    found: list[tuple[str, int]] = []
    for text, key, n, bp in zip(texts, keys, key_doc_counts, is_boilerplate, strict=True):
        if bp and n >= min_docs and key not in seen:
            seen.add(key)
            found.append((text, int(n)))
    return sorted(found, key=lambda kv: -kv[1])[:top]
