"""Language stage: seeded langdetect behind a wrapper, line smoothing, document language.

langdetect is wrong or unstable exactly where web pages are hard; the wrapper fixes what
can be fixed before and after the call (see DESIGN.md, "Language ID numbers").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

UND = "und"
# Mostly-upper-case text is lowercased first: langdetect's ALL-CAPS accuracy falls to ~20%.
UPPER_SHARE_LOWERCASE = 0.6
# langdetect reads at most this many characters of a document (DESIGN.md: ~1,000).
MAX_DETECT_CHARS = 1_000
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_KANA = re.compile(r"[\u3040-\u30ff]")


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
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return None
    upper = sum(1 for c in letters if c.isupper())
    if upper / len(letters) >= UPPER_SHARE_LOWERCASE:
        text = text.lower()
    return text


def guard_script(lang: str, text: str) -> str:
    """Fix langdetect's CJK confusions: `ko` without Hangul is `ja` (kana) or `zh-cn`.

    >>> guard_script("ko", "中文文本")
    'zh-cn'
    """
    if lang == "ko" and not _HANGUL.search(text):
        return "ja" if _KANA.search(text) else "zh-cn"
    return lang


def _prepare_input(text: object) -> str | None:
    """NFC-normalised, prepared text, or None when it cannot be classified (-> `und`)."""
    if not isinstance(text, str):
        return None
    return prepare_text(unicodedata.normalize("NFC", text))


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
    prepared = [_prepare_input(t) for t in texts]
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
