"""Language stage: seeded langdetect behind a wrapper, line smoothing, document language.

langdetect is wrong or unstable exactly where web pages are hard; the wrapper fixes what
can be fixed before and after the call (see DESIGN.md, "Language ID numbers").
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

UND = "und"
# Mostly-upper-case text is lowercased first: langdetect's ALL-CAPS accuracy falls to ~20%.
UPPER_SHARE_LOWERCASE = 0.6
# langdetect reads at most this many characters of a document (DESIGN.md: ~1,000).
MAX_DETECT_CHARS = 1_000
# A line is too weak to trust on its own below these sizes: langdetect 1.0.9 is right on 64%
# of single words and 81% of word pairs but 98% of sentences (lingua-py test data, DESIGN.md
# "Language ID numbers"), so lines of fewer than 3 words or 20 letters count as weak.
WEAK_MAX_WORDS = 2
WEAK_MAX_LETTERS = 19
# Below this top probability langdetect itself is unsure (mixed or ambiguous text).
WEAK_SCORE = 0.5
SMOOTHED = "smoothed_context"
# The label of the whole content text (first MAX_DETECT_CHARS) overrides the per-line vote
# when it holds at least this share of the content characters: langdetect is ~100% right on
# documents but 92% on short lines (DESIGN.md), and close languages (no/da, hr/sl) split the
# line vote; the floor keeps a clear line majority from being overruled by the first 1,000 chars.
DOC_TEXT_MIN_SHARE = 0.25
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_ASCII_LETTERS = string.ascii_letters.encode()  # str.isalpha on ASCII text
_ASCII_UPPER = string.ascii_uppercase.encode()  # str.isupper on ASCII text


@dataclass(frozen=True)
class LangResult:
    """A language label with langdetect's probability for it (0.0 for `und`)."""

    lang: str
    score: float


@lru_cache(maxsize=4)
def _engine(name: str):
    """(detect_langs, batch or None, exception) of the chosen engine, seeded, loaded once."""
    if name not in {"auto", "rs", "py"}:
        raise ValueError(f"engine must be auto, rs or py, not {name!r}")
    if name in {"auto", "rs"}:
        try:
            import langdetect_rs as module
        except ImportError:
            if name == "rs":
                raise
            module = None
        if module is not None:
            module.DetectorFactory.seed = 0
            return module.detect_langs, module.detect_langs_batch, module.LangDetectException
    import langdetect
    from langdetect import DetectorFactory
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    return langdetect.detect_langs, None, LangDetectException


def prepare_text(text: str, *, max_chars: int = MAX_DETECT_CHARS) -> str | None:
    """Input fixes before detection: truncate, lowercase mostly-upper text; None if no letters.

    >>> prepare_text("UNITED FRONT")
    'united front'
    >>> prepare_text("12:30 -- 4") is None
    True
    """
    text = text[:max_chars]
    if text.isascii():  # same counts from bytes.translate, ~4x faster than the str methods
        raw = text.encode("ascii")
        n_letters = len(raw) - len(raw.translate(None, _ASCII_LETTERS))
        if not n_letters:
            return None
        upper = len(raw) - len(raw.translate(None, _ASCII_UPPER))
        return text.lower() if upper and upper / n_letters >= UPPER_SHARE_LOWERCASE else text
    if text == text.lower():  # no upper-case letters: only whether it has a letter at all
        return text if any(map(str.isalpha, text)) else None
    n_letters = sum(map(str.isalpha, text))  # map over str methods: ~5x a generator
    if not n_letters:
        return None
    upper = sum(map(str.isupper, text))
    return text.lower() if upper / n_letters >= UPPER_SHARE_LOWERCASE else text


def guard_script(lang: str, text: str) -> str:
    """Fix langdetect's CJK confusions: `ko` without Hangul is `ja` (kana) or `zh-cn`.

    >>> guard_script("ko", "中文文本")
    'zh-cn'
    """
    if lang == "ko" and not _HANGUL.search(text):
        return "ja" if _KANA.search(text) else "zh-cn"
    return lang


# Site templates repeat the same short lines across documents: memoize their preparation.
PREPARE_CACHE_SIZE = 1 << 16
PREPARE_CACHE_MAX_CHARS = 400


def _prepare_input(text: object) -> str | None:
    """NFC-normalised, prepared text, or None when it cannot be classified (-> `und`)."""
    if not isinstance(text, str):
        return None
    if len(text) <= PREPARE_CACHE_MAX_CHARS:
        return _prepare_cached(text)
    return prepare_text(unicodedata.normalize("NFC", text))


@lru_cache(maxsize=PREPARE_CACHE_SIZE)
def _prepare_cached(text: str) -> str | None:
    return prepare_text(unicodedata.normalize("NFC", text))


def clear_prepare_cache() -> None:
    """Drop the memoized line preparations (labels do not depend on them)."""
    _prepare_cached.cache_clear()


def _prepare_inputs(texts: Sequence[object]) -> list[str | None]:
    """`_prepare_input` of many texts; each distinct text prepared once (lines repeat)."""
    try:
        prepared = {t: _prepare_input(t) for t in dict.fromkeys(texts)}
    except TypeError:  # an unhashable input: one by one
        return [_prepare_input(t) for t in texts]
    return list(map(prepared.__getitem__, texts))


def _to_result(best, prepared: str) -> LangResult:
    """LangResult from langdetect's top Language (None -> `und`), script guard applied."""
    if best is None:
        return LangResult(UND, 0.0)
    return LangResult(guard_script(best.lang, prepared), round(float(best.prob), 6))


def detect_language(text: object, *, engine: str = "auto") -> LangResult:
    """Seeded langdetect label of one text; bad input is `und`, never an exception.

    >>> detect_language("The army said a number of troops were killed.").lang
    'en'
    >>> detect_language(None).lang
    'und'
    """
    return detect_languages([text], engine=engine)[0]


def detect_languages(
    texts: Sequence[object], *, engine: str = "auto", cache: dict[str, LangResult] | None = None
) -> list[LangResult]:
    """`detect_language` of many texts: each distinct prepared text detected once, in one
    batched (GIL-free) langdetect-rs call; `cache` (prepared text -> result) persists across calls.

    >>> [r.lang for r in detect_languages(["Guten Morgen, wie geht es dir heute?", "42"])]
    ['de', 'und']
    """
    cache = {} if cache is None else cache
    prepared = _prepare_inputs(texts)
    todo = list(dict.fromkeys(p for p in prepared if p is not None and p not in cache))
    if todo:
        detect_langs, batch, error = _engine(engine)
        if batch is not None:
            found = [langs[0] if langs else None for langs in batch(todo)]
        else:
            found = []
            for p in todo:
                try:
                    found.append(detect_langs(p)[0])
                except error:
                    found.append(None)
        cache.update((p, _to_result(best, p)) for p, best in zip(todo, found, strict=True))
    none = LangResult(UND, 0.0)
    return [none if p is None else cache[p] for p in prepared]


def detect_lines(
    texts: Sequence[str], keys: Sequence[int], *, engine: str = "auto", cache: dict | None = None
) -> list[LangResult]:
    """Raw labels for many lines; repeated lines (boilerplate) are detected once.

    The cache is keyed by the exact prepared text, not by `line_key` (which folds case and
    digits), so every label is the one langdetect gives that very line. Key 0 (no word
    characters) is `und` without detection.
    """
    results = detect_languages(
        [t if k else None for t, k in zip(texts, keys, strict=True)], engine=engine, cache=cache
    )
    return results


def is_weak_line(text: str, score: float) -> bool:
    """True when a line is too short or too uncertain for its own label to be trusted.

    >>> is_weak_line("Picture perfect", 0.99), is_weak_line("Player swept away, believe police", 0.99)
    (True, False)
    """
    # (the same test as `len(text.split()) <= 2 or letters <= 19`, without splitting or
    # counting a long line to its end: every line is tested in `smooth_languages`)
    if score < WEAK_SCORE or len(text.split(None, WEAK_MAX_WORDS)) <= WEAK_MAX_WORDS:
        return True
    head = text[: 2 * WEAK_MAX_LETTERS + 2]
    if head.isascii():  # letters counted by bytes.translate, as in prepare_text
        raw = head.encode("ascii")
        if len(raw) - len(raw.translate(None, _ASCII_LETTERS)) > WEAK_MAX_LETTERS:
            return False
    elif sum(map(str.isalpha, head)) > WEAK_MAX_LETTERS:
        return False
    return sum(map(str.isalpha, text)) <= WEAK_MAX_LETTERS


def smooth_languages(
    langs_raw: Sequence[str], scores: Sequence[float], texts: Sequence[str], *, doc_lang: str
) -> tuple[list[str], list[str]]:
    """Final line labels and reasons: a weak line takes its context's language.

    A weak line (see `is_weak_line`, with letters) is relabelled `doc_lang` when its nearest
    reliable line above and its nearest reliable line below (one of them at a document edge)
    are both labelled `doc_lang`. Reason `smoothed_context` when the label changed, else "".

    >>> smooth_languages(["en", "ro", "en"], [1.0, 1.0, 1.0],
    ...     ["Baby's life saved by mum's best friend", "Picture perfect",
    ...      "Liz portfolio is striking legacy"], doc_lang="en")
    (['en', 'en', 'en'], ['', 'smoothed_context', ''])
    """
    n = len(langs_raw)
    if len(scores) != n or len(texts) != n:
        raise ValueError("langs_raw, scores and texts must have the same length")
    langs, reasons = list(langs_raw), [""] * n
    if doc_lang == UND:
        return langs, reasons
    reliable = [
        lang != UND and not is_weak_line(text, score)
        for lang, score, text in zip(langs_raw, scores, texts, strict=True)
    ]
    before: list[str | None] = [None] * n  # label of the nearest reliable line above
    last = None
    for i in range(n):
        before[i] = last
        if reliable[i]:
            last = langs_raw[i]
    after = None
    for i in range(n - 1, -1, -1):
        if not reliable[i] and langs_raw[i] != UND and langs_raw[i] != doc_lang:
            context = {x for x in (before[i], after) if x is not None}
            if context == {doc_lang}:
                langs[i], reasons[i] = doc_lang, SMOOTHED
        if reliable[i]:
            after = langs_raw[i]
    return langs, reasons


def language_mix(langs: Iterable[str], weights: Iterable[int]) -> dict[str, float]:
    """Share of characters per language (`und` excluded), largest first.

    >>> language_mix(["en", "no", "en"], [6, 2, 2])
    {'en': 0.8, 'no': 0.2}
    """
    totals: dict[str, int] = {}
    for lang, w in zip(langs, weights, strict=True):
        if lang != UND and w > 0:
            totals[lang] = totals.get(lang, 0) + w
    total = sum(totals.values())
    if not total:
        return {}
    ordered = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    return {lang: round(w / total, 4) for lang, w in ordered}


def document_language(langs: Sequence[str], weights: Sequence[int]) -> str:
    """Character-weighted majority language, ties broken alphabetically; `und` if none."""
    mix = language_mix(langs, weights)
    return next(iter(mix), UND)


def content_language(
    langs: Sequence[str],
    weights: Sequence[int],
    text: str,
    *,
    engine: str = "auto",
    text_lang: str | None = None,
) -> str:
    """Document language: the label of the content text itself when the lines support it.

    The whole-text label (truncated to MAX_DETECT_CHARS) wins when it has at least
    DOC_TEXT_MIN_SHARE of the line-vote characters; otherwise the char-weighted line vote.
    `text_lang` is the text's label when the caller already detected it (in a batch).

    >>> content_language(["da", "no"], [163, 157], "Ny ferjerute mellom øyene fra neste sommer")
    'no'
    """
    mix = language_mix(langs, weights)
    vote = next(iter(mix), UND)
    if text_lang is not None:
        whole = text_lang
    else:
        whole = detect_language(text, engine=engine).lang if text else UND
    if whole != UND and mix.get(whole, 0.0) >= DOC_TEXT_MIN_SHARE:
        return whole
    return vote
