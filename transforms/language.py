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
    """The detect_langs function of the chosen engine, seeded, loaded once per process."""
    if name in {"auto", "rs"}:
        try:
            import langdetect_rs as module
        except ImportError:
            if name == "rs":
                raise
            module = None
        if module is not None:
            module.DetectorFactory.seed = 0
            return module.detect_langs, module.LangDetectException
    import langdetect
    from langdetect import DetectorFactory
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    return langdetect.detect_langs, LangDetectException


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


def detect_language(text: object, *, engine: str = "auto") -> LangResult:
    """Seeded langdetect label of one text; bad input is `und`, never an exception.

    >>> detect_language("The army said a number of troops were killed.").lang
    'en'
    >>> detect_language(None).lang
    'und'
    """
    if not isinstance(text, str):
        return LangResult(UND, 0.0)
    prepared = prepare_text(unicodedata.normalize("NFC", text))
    if prepared is None:
        return LangResult(UND, 0.0)
    detect_langs, error = _engine(engine)
    try:
        best = detect_langs(prepared)[0]
    except error:
        return LangResult(UND, 0.0)
    return LangResult(guard_script(best.lang, prepared), round(float(best.prob), 6))


def detect_lines(
    texts: Sequence[str], keys: Sequence[int], *, engine: str = "auto", cache: dict | None = None
) -> list[LangResult]:
    """Raw labels for many lines, each distinct key detected once (boilerplate repeats)."""
    cache = {} if cache is None else cache
    out = []
    for text, key in zip(texts, keys, strict=True):
        hit = cache.get(key)
        if hit is None:
            hit = detect_language(text, engine=engine) if key else LangResult(UND, 0.0)
            cache[key] = hit
        out.append(hit)
    return out


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
