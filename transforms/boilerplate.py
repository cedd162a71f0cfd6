"""Boilerplate stage: reason codes per line, then context smoothing.

`is_boilerplate = bool(reasons)`. Every rule returns a reason code; nothing is dropped here.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

# A line of a run of at least this many consecutive unpunctuated lines is list/navigation
# (jusText treats runs of short "bad" paragraphs the same way: Pomikalek 2011, ch. 3).
MIN_UNPUNCTUATED_RUN = 3
# C4 keeps only lines ending in terminal punctuation (Raffel et al. 2020, sec. 2.2).
TERMINAL_PUNCT = (".", "!", "?", '"', "'", "\u201d", "\u2019", "\u3002", ")")
# jusText's length_low: lines shorter than this many characters are "short" and take the
# class of their neighbours (Pomikalek 2011, sec. 3.2; justext default LENGTH_LOW = 70).
SHORT_LINE_CHARS = 70
# A line whose key appears in at least this many documents is a site template line.
MIN_TEMPLATE_DOCS = 3

# Multilingual phrases of paywall/subscription/login prompts (en, no, da, sv, de, fr, es).
_LEXICON = {
    "lexicon_paywall": [
        r"free trial",
        r"subscribe (now|today)",
        r"already (a )?subscriber",
        r"gratis prøveperiode",
        r"allerede abonnent",
        r"prøveperiode",
        r"redan prenumerant",
        r"bereits abonnent",
        r"déjà abonné",
        r"ya eres suscriptor",
        r"premium ?histor",
        r"kostenlos testen",
        r"essai gratuit",
        r"prueba gratuita",
    ],
    "lexicon_login": [
        r"\blog ?in\b",
        r"\bsign ?in\b",
        r"\blogg på\b",
        r"\blog ind\b",
        r"\blogga in\b",
        r"\banmelden\b",
        r"\bse connecter\b",
        r"iniciar sesión",
    ],
    "lexicon_share": [r"^share (this|on)\b", r"\bpartager sur\b", r"\bteilen\b", r"\bdel på\b"],
    "lexicon_cookie": [r"\bcookies?\b", r"\binformasjonskapsler\b"],
    "lexicon_copyright": [r"copyright|©|\(c\) \d{4}|all rights reserved|alle rettigheter"],
    "lexicon_read_more": [
        r"^read more\b",
        r"^les mer\b",
        r"^weiterlesen\b",
        r"^lire la suite\b",
        r"^leer más\b",
    ],
    "lexicon_newsletter": [r"newsletter|nyhetsbrev"],
}
# Menus written as one line: "Home | News | Sport".
NAV_SEPARATORS = re.compile(r"(\s[|•·»/]\s.*){2,}")
_LEXICON_RE = {code: re.compile("|".join(p), re.IGNORECASE) for code, p in _LEXICON.items()}


def has_terminal_punct(text: str) -> bool:
    """True when the stripped line ends like a sentence.

    >>> has_terminal_punct("Allerede abonnent? Logg på")
    False
    """
    return text.rstrip().endswith(TERMINAL_PUNCT)


def lexicon_reasons(text: str) -> tuple[str, ...]:
    """Reason codes of the multilingual prompt lexicon that match the line."""
    return tuple(code for code, rx in _LEXICON_RE.items() if rx.search(text))


def repeated_in_doc(keys: Sequence[int]) -> list[bool]:
    """True for every occurrence of a non-empty key that occurs more than once."""
    counts = Counter(k for k in keys if k)
    return [bool(k) and counts[k] > 1 for k in keys]


def unpunctuated_runs(texts: Sequence[str], *, min_run: int = MIN_UNPUNCTUATED_RUN) -> list[bool]:
    """True for lines inside a run of >= min_run consecutive non-empty unpunctuated lines."""
    flags = [False] * len(texts)
    run: list[int] = []
    for i, text in enumerate([*texts, "."]):
        if text.strip() and not has_terminal_punct(text):
            run.append(i)
            continue
        if len(run) >= min_run:
            for j in run:
                flags[j] = True
        run = []
    return flags


def flag_lines(
    texts: Sequence[str],
    keys: Sequence[int],
    key_doc_counts: Sequence[int],
    *,
    min_template_docs: int = MIN_TEMPLATE_DOCS,
) -> list[tuple[str, ...]]:
    """Reason codes for every line of one document; () means content."""
    repeated = repeated_in_doc(keys)
    runs = unpunctuated_runs(texts)
    out = []
    for i, text in enumerate(texts):
        if not text.strip():
            out.append(("empty_line",))
            continue
        reasons = list(lexicon_reasons(text))
        if NAV_SEPARATORS.search(text):
            reasons.append("navigation_separators")
        if repeated[i]:
            reasons.append("repeated_in_doc")
        if runs[i]:
            reasons.append("unpunctuated_run")
        # Only short lines: a long sentence seen in many documents is a syndicated copy
        # (dedup's business), not a site template.
        if key_doc_counts[i] >= min_template_docs and len(text.strip()) < SHORT_LINE_CHARS:
            reasons.append("template_line")
        out.append(tuple(reasons))
    return smooth_reasons(texts, out)


def smooth_reasons(
    texts: Sequence[str], reasons: Sequence[tuple[str, ...]], *, short_chars: int = SHORT_LINE_CHARS
) -> list[tuple[str, ...]]:
    """jusText-style context: a short unflagged line between boilerplate becomes boilerplate.

    Flagged lines are boilerplate evidence, long unflagged lines content evidence; a short
    unflagged line looks at the nearest evidence before and after it (the document edges
    count as boilerplate) and is flagged `context_boilerplate` when both sides are
    boilerplate. A document with no content evidence at all is left as it is.
    """
    evidence: list[bool | None] = []  # True = boilerplate, False = content, None = short
    for text, r in zip(texts, reasons, strict=True):
        if r:
            evidence.append(True)
        elif len(text.strip()) >= short_chars:
            evidence.append(False)
        else:
            evidence.append(None)
    if False not in evidence:
        return list(reasons)
    n = len(texts)
    before: list[bool] = [True] * n
    prev = True
    for i in range(n):
        before[i] = prev
        if evidence[i] is not None:
            prev = evidence[i]
    out = list(reasons)
    nxt = True
    for i in range(n - 1, -1, -1):
        if evidence[i] is None and before[i] and nxt:
            out[i] = ("context_boilerplate",)
        if evidence[i] is not None:
            nxt = evidence[i]
    return out
