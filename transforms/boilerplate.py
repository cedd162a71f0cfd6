"""Boilerplate stage: reason codes per line, then context from the page's content blocks.

`is_boilerplate = bool(reasons)`. Every rule returns a `Reason` code; nothing is dropped
here. `flag_lines` runs in three phases:

1. **signals** (`line_evidence`, per line, no context): *strong* reasons (lexicon phrase,
   one-line menu, template line, repeat inside the document, no letters, a date line) are
   boilerplate evidence, the *structural* ones among them do not flag a line inside a
   content block; *weak* reasons (too few words, no terminal punctuation, a run of
   unpunctuated lines, few stopwords) say "a list item or a heading": the line keeps them
   only outside a content block; a long line that ends like a sentence or reads like prose
   (stopword density, jusText) with no strong reason is *content* evidence.
2. **content block** (`content_blocks`): the span with the largest sum of line scores
   (Finn et al. 2001's Body Text Extraction), grown over adjacent sentence-like lines and
   the headline right above it. One block: further blocks lost on every dev set (their
   labels call reader comments boilerplate; README, "Tried and dropped"). When no line is
   content evidence, the fallback scores *prose-like* lines (enough words, and a sentence
   end or stopwords) instead, so a short clean document keeps its text; a page with no
   evidence either way (only short unpunctuated lines, none of them strong boilerplate
   evidence: "Hello world") keeps all of it.
3. **classify**: inside a block, unsure lines are content (a headline or a list inside
   the article); outside, they are `context_boilerplate`, as is a sentence isolated between
   boilerplate lines (a teaser inside a "more stories" list), jusText-style (Pomikalek
   2011, sec. 3.2).

Language-independent: words are counted per script (CJK and Thai by characters), sentence
ends per script (`。！？`, `؟`, `।`, ...), stopwords from jusText's stoplist of the
document's language (from the per-line language labels, `langs=`).
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import NamedTuple

from transforms import lexicon as lx


class Kind(StrEnum):
    """How a reason code weighs in the decision."""

    STRONG = "strong"  # flags the line whatever its context
    STRUCTURAL = "structural"  # strong, but not inside a content block (cells, prices, specs)
    WEAK = "weak"  # only outside a content block
    CONTEXT = "context"  # the decision of the context phase
    EMPTY = "empty"  # a blank line


class Reason(StrEnum):
    """Every code `flag_lines` can emit; a rule of the same name can be switched off."""

    EMPTY_LINE = "empty_line"
    LEXICON_PAYWALL = "lexicon_paywall"
    LEXICON_LOGIN = "lexicon_login"
    LEXICON_SHARE = "lexicon_share"
    LEXICON_COOKIE = "lexicon_cookie"
    LEXICON_COPYRIGHT = "lexicon_copyright"
    LEXICON_READ_MORE = "lexicon_read_more"
    LEXICON_NEWSLETTER = "lexicon_newsletter"
    LEXICON_COMMENT = "lexicon_comment"
    LEXICON_NAVIGATION = "lexicon_navigation"
    NAVIGATION_SEPARATORS = "navigation_separators"
    NO_TEXT = "no_text"
    NO_LETTERS = "no_letters"
    DATE_LINE = "date_line"
    REPEATED_IN_DOC = "repeated_in_doc"
    TEMPLATE_LINE = "template_line"
    TOO_FEW_WORDS = "too_few_words"
    NO_TERMINAL_PUNCT = "no_terminal_punct"
    UNPUNCTUATED_RUN = "unpunctuated_run"
    FEW_STOPWORDS = "few_stopwords"
    CONTEXT_BOILERPLATE = "context_boilerplate"
    COMMENT_SECTION = "comment_section"

    @property
    def kind(self) -> Kind:
        """STRONG, STRUCTURAL, WEAK, CONTEXT or EMPTY."""
        return REASON_KINDS[self]

    @property
    def is_strong(self) -> bool:
        """True for codes that count as boilerplate evidence (structural ones included)."""
        return REASON_KINDS[self] in (Kind.STRONG, Kind.STRUCTURAL)


# The one mapping of codes to their weight. REPEATED_IN_DOC is structural from
# REPEAT_MIN_WORDS words on and weak below (a short repeated cell only counts outside), and
# weak for a line that ends like a sentence (a quoted forum post; eval: WCXB forum pages,
# trafilatura es, sign test positive on every dev set).
REASON_KINDS: dict[Reason, Kind] = {
    Reason.EMPTY_LINE: Kind.EMPTY,
    **{r: Kind.STRONG for r in Reason if r.value.startswith("lexicon_")},
    Reason.NAVIGATION_SEPARATORS: Kind.STRONG,
    Reason.NO_TEXT: Kind.STRONG,
    Reason.NO_LETTERS: Kind.STRUCTURAL,
    Reason.DATE_LINE: Kind.STRONG,
    Reason.REPEATED_IN_DOC: Kind.STRUCTURAL,
    Reason.TEMPLATE_LINE: Kind.STRUCTURAL,
    Reason.TOO_FEW_WORDS: Kind.WEAK,
    Reason.NO_TERMINAL_PUNCT: Kind.WEAK,
    Reason.UNPUNCTUATED_RUN: Kind.WEAK,
    Reason.FEW_STOPWORDS: Kind.WEAK,
    Reason.CONTEXT_BOILERPLATE: Kind.CONTEXT,
    Reason.COMMENT_SECTION: Kind.CONTEXT,
}
# Every code flag_lines can emit (README's glossary documents each one).
REASON_CODES = frozenset(Reason)
# Rules that can be switched off (for ablation in benchmarks/eval_boilerplate.py): one per
# reason code; switching off `context_boilerplate` leaves every line its own evidence.
RULES = frozenset(r.value for r in Reason if r is not Reason.EMPTY_LINE)
_LEXICON_VALUES = frozenset(lx.LEXICON) | {Reason.LEXICON_NAVIGATION.value}
_NAVIGATION = (Reason.LEXICON_NAVIGATION.value,)


class _C:
    """The reason codes as plain str constants (fast membership tests in the hot path)."""

    NAVIGATION_SEPARATORS = Reason.NAVIGATION_SEPARATORS.value
    NO_TEXT = Reason.NO_TEXT.value
    NO_LETTERS = Reason.NO_LETTERS.value
    DATE_LINE = Reason.DATE_LINE.value
    TOO_FEW_WORDS = Reason.TOO_FEW_WORDS.value
    NO_TERMINAL_PUNCT = Reason.NO_TERMINAL_PUNCT.value
    FEW_STOPWORDS = Reason.FEW_STOPWORDS.value


_EMPTY = (Reason.EMPTY_LINE.value,)
_CONTEXT = (Reason.CONTEXT_BOILERPLATE.value,)
_COMMENTS = (Reason.COMMENT_SECTION.value,)
_REPEATED = Reason.REPEATED_IN_DOC.value
_TEMPLATE = Reason.TEMPLATE_LINE.value
_RUN = Reason.UNPUNCTUATED_RUN.value
_STRUCTURAL = frozenset(r.value for r, k in REASON_KINDS.items() if k is Kind.STRUCTURAL)

# C4 keeps only lines with at least this many words (Raffel et al. 2020, sec. 2.2).
MIN_WORDS = 3
# A line of a run of at least this many consecutive unpunctuated lines is list/navigation
# (jusText treats runs of short "bad" paragraphs the same way: Pomikalek 2011, ch. 3).
MIN_UNPUNCTUATED_RUN = 3
# jusText's length_low: lines shorter than this many characters are "short" and take the
# class of their neighbours (Pomikalek 2011, sec. 3.2; justext default LENGTH_LOW = 70).
# 75 measured on the dev-a halves: macro F1 DAnIEL +0.010, trafilatura +0.001, WCXB/
# scrapinghub -0.001 against 70; the dev-b halves agree.
SHORT_LINE_CHARS = 75
# jusText's stopwords_high / stopwords_low (justext defaults 0.32 / 0.30): a line with at
# least the high share of stopwords reads like prose; under the low share, like a list of
# names or keywords.
STOPWORDS_HIGH = 0.32
STOPWORDS_LOW = 0.30
# A punctuated long line with fewer stopwords than this is a list of names or keywords
# ("Tags: a, b, c."), not content evidence; far below jusText's stopwords_low. winnow's own
# choice, measured on dev-a.
MIN_CONTENT_STOPWORDS = 0.1
# A character of a script written without spaces (CJK, Thai) counts as 1 / 1.5 words: a
# segmented Chinese word averages about 1.5 characters (Chinese Treebank word-length
# statistics). Without this a whole CJK sentence is "1 word".
NO_SPACE_CHARS_PER_WORD = 1.5
# A line repeated inside its document is a strong signal only from this many words on
# (a repeated prompt or teaser); shorter repeats are table cells, specs or list items and
# only count when the context is boilerplate too. winnow's own choice, measured.
REPEAT_MIN_WORDS = 5
# Main-block scores (Finn, Kushmerick & Smyth 2001, "Fact or fiction: content
# classification for digital libraries", Body Text Extraction): the main content is the
# contiguous span of lines with the largest sum of scores. A content-evidence line scores
# +2, a strongly flagged line -1, an unsure line 0. winnow's own weights, measured.
CONTENT_SCORE = 2.0
BOILERPLATE_SCORE = -1.0
# In the fallback (no content evidence on the page) a prose-like line scores this much:
# half a content line, so the fallback block stays tight. winnow's own choice, measured.
FALLBACK_SCORE = 1.0
# A line whose key appears in at least this many *other* documents (beyond the copies of
# this document) is a site template line. winnow's own choice, measured on the eval set.
MIN_TEMPLATE_DOCS = 3
# Lexicon phrases only count on lines up to this many words: a long sentence that mentions
# "cookies" is about cookies, not a cookie banner. winnow's own choice, measured.
LEXICON_MAX_WORDS = 30
# Lines whose letters are less than this share of their non-space characters are symbols,
# numbers, prices or dates (Gopher's 80% alphabetic-word rule, applied per line: Rae et
# al. 2021, app. A).
MIN_LETTER_RATIO = 0.5


@dataclass(frozen=True)
class BoilerplateConfig:
    """The knobs of `flag_lines` (defaults are the module constants, with their sources)."""

    min_template_docs: int = MIN_TEMPLATE_DOCS
    min_words: int = MIN_WORDS
    short_line_chars: int = SHORT_LINE_CHARS
    min_content_stopwords: float = MIN_CONTENT_STOPWORDS
    stopwords_high: float = STOPWORDS_HIGH
    stopwords_low: float = STOPWORDS_LOW
    repeat_min_words: int = REPEAT_MIN_WORDS
    content_score: float = CONTENT_SCORE
    boilerplate_score: float = BOILERPLATE_SCORE
    fallback_score: float = FALLBACK_SCORE

    def __post_init__(self) -> None:
        if self.min_template_docs < 1:
            raise ValueError("min_template_docs must be >= 1")
        if self.content_score <= 0 or self.boilerplate_score >= 0:
            raise ValueError("content_score must be > 0 and boilerplate_score < 0")


DEFAULT_CONFIG = BoilerplateConfig()


def count_words(text: str) -> int:
    """Whitespace words; in scripts without spaces (CJK, Thai) 1 word per 1.5 characters.

    >>> count_words("Read more"), count_words("先日、不正に改造したiPhoneを販売した")
    (2, 9)
    """
    words = text.split()
    if text.isascii():
        return len(words)
    dense = len(lx.NO_SPACE_CHARS.findall(text))
    if not dense:
        return len(words)
    spaced = sum(1 for w in words if not lx.NO_SPACE_CHARS.search(w))
    return spaced + max(1, round(dense / NO_SPACE_CHARS_PER_WORD))


def has_terminal_punct(text: str) -> bool:
    """True when the stripped line ends like a sentence, in any script.

    A closing quote or bracket counts only after a sentence end (`.»`, `。」`), so a quoted
    title (`«Title»`, `"Title"`) is no sentence.

    >>> has_terminal_punct("Allerede abonnent? Logg på"), has_terminal_punct("他说：「好。」")
    (False, True)
    >>> has_terminal_punct("Read «The Title»"), has_terminal_punct("هل أنت مشترك؟")
    (False, True)
    """
    s = text.rstrip()
    if s.endswith(")"):  # "(dpa)", "(2019)": as C4's filter sees it, measured
        return True
    core = s.rstrip(lx.CLOSERS)
    return bool(core) and core[-1] in lx.SENTENCE_END


def stopword_density(text: str, stops: frozenset[str]) -> float | None:
    """Share of the line's words that are stopwords; None without a stoplist or words.

    >>> stopword_density("The cat is on the mat", frozenset({"the", "is", "on"}))
    0.6667
    """
    if not stops:
        return None
    return _density(lx.WORD.findall(text.lower()), stops)


def _density(words: Sequence[str], stops: frozenset[str]) -> float | None:
    """`stopword_density` of the line's lowercased letter words."""
    if not words or not stops:
        return None
    return round(sum(map(stops.__contains__, words)) / len(words), 4)


def document_language(langs: Sequence[str], texts: Sequence[str]) -> str | None:
    """Character-weighted majority of the lines' raw language labels (`und` ignored).

    >>> document_language(["de", "en", "und"], ["Ein langer deutscher Satz.", "Home", "42"])
    'de'
    """
    weights: dict[str, int] = {}
    get = weights.get
    for lang, size in zip(langs, map(len, texts), strict=True):
        weights[lang] = get(lang, 0) + size
    for none in ("und", "", None):
        weights.pop(none, None)  # type: ignore[arg-type]
    if not weights:
        return None
    return min(weights.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def lexicon_reasons(text: str, *, max_words: int = LEXICON_MAX_WORDS) -> tuple[Reason, ...]:
    """Reason codes of the multilingual prompt lexicon that match the line.

    >>> lexicon_reasons("Allerede abonnent? Logg på")
    (<Reason.LEXICON_PAYWALL: 'lexicon_paywall'>, <Reason.LEXICON_LOGIN: 'lexicon_login'>)
    >>> lexicon_reasons("Facebook")
    (<Reason.LEXICON_NAVIGATION: 'lexicon_navigation'>,)
    """
    s = text.strip()
    return tuple(Reason(c) for c in _lexicon_codes(s, count_words(s), max_words=max_words))


def _lexicon_codes(
    s: str,
    words: int,
    *,
    max_words: int = LEXICON_MAX_WORDS,
    low: str | None = None,
    tokens: Sequence[str] | None = None,
    candidate: bool = True,
) -> tuple[str, ...]:
    """`lexicon_reasons` of a stripped line of `words` words, as plain strings.

    `low` and `tokens` (its `lx.WORD` words) when the caller has them already; `candidate`
    False when `lx.line_candidates` ruled the line out.
    """
    if words > max_words or not candidate:
        return ()
    if low is None:
        low = s.lower()
    if low.startswith(lx.WHOLE_LINE_STARTS) and lx.WHOLE_LINE_RE.fullmatch(low):
        return _NAVIGATION
    if not lx.LEXICON_FILTER(low, tokens):  # a cheap necessary condition first
        return ()
    return tuple(code for code, finds in lx.LEXICON_RES.items() if any(find(low) for find in finds))


def repeated_in_doc(keys: Sequence[int]) -> list[bool]:
    """True for every occurrence of a non-empty key that occurs more than once.

    >>> repeated_in_doc([1, 2, 1, 0, 0])
    [True, False, True, False, False]
    """
    counts = Counter(k for k in keys if k)
    return [bool(k) and counts[k] > 1 for k in keys]


def unpunctuated_runs(texts: Sequence[str], *, min_run: int = MIN_UNPUNCTUATED_RUN) -> list[bool]:
    """True for lines inside a run of >= min_run consecutive non-empty unpunctuated lines.

    >>> unpunctuated_runs(["Home", "News", "Sport", "A sentence."])
    [True, True, True, False]
    """
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


def _unpunctuated(
    lines: Sequence[Evidence | None], min_run: int = MIN_UNPUNCTUATED_RUN
) -> list[bool]:
    """`unpunctuated_runs` from the lines' evidence (None = blank line)."""
    flags = [False] * len(lines)
    start = 0
    for i, ev in enumerate([*lines, None]):
        if ev is not None and not ev.terminal:
            continue
        if i - start >= min_run:
            flags[start:i] = [True] * (i - start)
        start = i + 1
    return flags


def template_lines(
    keys: Sequence[int],
    key_doc_counts: Sequence[int],
    *,
    min_docs: int = MIN_TEMPLATE_DOCS,
) -> list[bool]:
    """True for lines whose key is in >= min_docs documents beyond this document's copies.

    Exact and near-duplicate copies of a document share all their lines, so a plain count
    would flag a syndicated article. The document's own copy count is estimated as the
    smallest count among its keys (its most unique line); a line is a template line when
    its count exceeds that by at least `min_docs - 1`.

    >>> template_lines([1, 2, 3], [1, 3, 40])
    [False, True, True]
    >>> template_lines([1, 2, 3], [5, 5, 5])
    [False, False, False]
    """
    present = [c for k, c in zip(keys, key_doc_counts, strict=True) if k and c > 0]
    if not present:
        return [False] * len(keys)
    copies = min(present)
    return [
        bool(k) and c - copies + 1 >= min_docs for k, c in zip(keys, key_doc_counts, strict=True)
    ]


class Evidence(NamedTuple):
    """What one line says on its own: strong and weak codes, content / prose-like."""

    strong: tuple[str, ...]  # Reason values, plain str
    weak: tuple[str, ...]
    content: bool  # content evidence: scores CONTENT_SCORE in the block search
    prose: bool  # reads like text (enough words, sentence end or stopwords): the fallback
    words: int
    terminal: bool  # ends like a sentence


# line_evidence depends on the line text and the stoplist alone, and site templates repeat
# the same lines in many documents (at 100k benchmark lines, ~38k distinct texts): memoize
# short lines per process. Bounded: at most EVIDENCE_CACHE_SIZE entries of at most
# EVIDENCE_CACHE_MAX_CHARS.
EVIDENCE_CACHE_SIZE = 1 << 16
EVIDENCE_CACHE_MAX_CHARS = 400
# Characters of one `EvidenceCache.prime` pass (its lowercased copies and RE2 input).
PRIME_PASS_CHARS = 1 << 23
# The cached lines share few distinct Evidence values (65,536 distinct benchmark lines: 1,298
# values), so the cache holds one object per value: ~120 bytes less per entry (its tuples),
# 33 -> 25 MiB for a full cache. Bounded too (cleared when full: values do not depend on it).
EVIDENCE_SHARED_MAX = 1 << 14


def line_evidence(
    text: str,
    *,
    lang: str | None = None,
    rules: frozenset[str] = RULES,
    config: BoilerplateConfig = DEFAULT_CONFIG,
) -> Evidence:
    """Phase 1 for one non-empty line on its own, with `lang`'s stoplist if it has one.

    >>> ev = line_evidence("Allerede abonnent? Logg på")
    >>> ev.strong, ev.weak, ev.content
    (('lexicon_paywall', 'lexicon_login'), ('no_terminal_punct',), False)
    """
    return _evidence_function(rules, config)(text.strip(), lang)


@cache
def _evidence_function(rules: frozenset[str], config: BoilerplateConfig) -> EvidenceCache:
    """The per-process `EvidenceCache` of one rule set and config."""
    return EvidenceCache(rules, config)


class EvidenceCache:
    """`line_evidence` of stripped lines for one rule set and config, memoized per process.

    Bounded: at most EVIDENCE_CACHE_SIZE lines of at most EVIDENCE_CACHE_MAX_CHARS, least
    recently used out first. `prime` fills it for a batch of lines at once, with the lexicon
    and separator prefilters run as RE2 scans (`lx.line_candidates`) instead of once per line.
    """

    def __init__(self, rules: frozenset[str], config: BoilerplateConfig) -> None:
        self.rules, self.config = rules, config
        # One str key per entry, "<lang>\0<line>" (a key tuple would cost ~70 bytes more
        # per entry); language codes hold no NUL.
        self.entries: OrderedDict[str, Evidence] = OrderedDict()
        self.shared: dict[Evidence, Evidence] = {}  # one object per value (EVIDENCE_SHARED_MAX)

    def __call__(self, s: str, lang: str | None) -> Evidence:
        if len(s) > EVIDENCE_CACHE_MAX_CHARS:
            return _line_evidence(s, lang, self.rules, self.config)
        key = f"{lang or ''}\0{s}"
        ev = self.entries.get(key)
        if ev is None:
            return self._add(key, _line_evidence(s, lang, self.rules, self.config))
        try:  # noqa: SIM105 (a hot path: contextlib.suppress costs more than the lookup)
            self.entries.move_to_end(key)
        except KeyError:  # evicted by another thread meanwhile
            pass
        return ev

    def prime(self, lines: Sequence[tuple[str, str | None]]) -> list[Evidence | None]:
        """The evidence of many (stripped line, language) pairs (None for an empty line).

        The lines not cached yet are computed together, with the prefilters as RE2 scans over
        all of them at once (a scan costs ~3.5 ms to set up: one call per chunk, not per line
        or language), in passes of at most EVIDENCE_CACHE_SIZE distinct lines and
        PRIME_PASS_CHARS characters (a pass's lowercased copies stay bounded however many
        lines a chunk holds); the short ones are kept in the cache.
        """
        entries = self.entries
        out: list[Evidence | None] = [None] * len(lines)
        todo: dict[str, list[int]] = {}  # key -> positions of the short lines not cached
        longs: list[int] = []  # positions of the lines too long for the cache
        chars = 0
        for i, (s, lang) in enumerate(lines):
            if not s:
                continue
            if len(s) > EVIDENCE_CACHE_MAX_CHARS:
                longs.append(i)
            else:
                key = f"{lang or ''}\0{s}"
                ev = entries.get(key)
                if ev is not None:
                    out[i] = ev
                    continue
                if key in todo:
                    todo[key].append(i)
                    continue
                todo[key] = [i]
            chars += len(s)
            if len(todo) + len(longs) >= EVIDENCE_CACHE_SIZE or chars >= PRIME_PASS_CHARS:
                self._compute(todo, longs, lines, out)
                todo, longs, chars = {}, [], 0
        if todo or longs:
            self._compute(todo, longs, lines, out)
        return out

    def _compute(
        self,
        todo: dict[str, list[int]],
        longs: list[int],
        lines: Sequence[tuple[str, str | None]],
        out: list[Evidence | None],
    ) -> None:
        """One pass of `prime`: the evidence of its lines into `out`, the short ones cached."""
        pairs = [lines[at[0]] for at in todo.values()] + [lines[i] for i in longs]
        lows = [s.lower() for s, _ in pairs]
        lexicon, separators = lx.line_candidates(lows)
        rules, config = self.rules, self.config
        found = [
            _line_evidence(s, lang, rules, config, low=low, candidate=m, separators=sep)
            for (s, lang), low, m, sep in zip(pairs, lows, lexicon, separators, strict=True)
        ]
        for (key, at), ev in zip(todo.items(), found[: len(todo)], strict=True):
            ev = self._add(key, ev)
            for i in at:
                out[i] = ev
        for i, ev in zip(longs, found[len(todo) :], strict=True):
            out[i] = ev

    def _add(self, key: str, ev: Evidence) -> Evidence:
        shared = self.shared
        if len(shared) >= EVIDENCE_SHARED_MAX:
            shared.clear()
        ev = shared.setdefault(ev, ev)
        entries = self.entries
        entries[key] = ev
        while len(entries) > EVIDENCE_CACHE_SIZE:
            try:
                entries.popitem(last=False)
            except KeyError:
                break
        return ev


def prime_line_evidence(
    texts: Sequence[Sequence[str]],
    doc_langs: Sequence[str | None],
    *,
    rules: frozenset[str] = RULES,
    config: BoilerplateConfig = DEFAULT_CONFIG,
) -> list[list[Evidence | None]]:
    """Phase 1 of many documents at once: each line's evidence with its document's language
    (None for an empty line), per document, for `flag_lines(..., evidence=)`; the lines not
    in the line cache are computed in one pass (`EvidenceCache.prime`)."""
    own = _evidence_function(rules, config)
    flat = own.prime(
        [(t.strip(), lang) for lines, lang in zip(texts, doc_langs, strict=True) for t in lines]
    )
    out, at = [], 0
    for lines in texts:
        out.append(flat[at : at + len(lines)])
        at += len(lines)
    return out


def clear_evidence_cache() -> None:
    """Drop the per-process line caches and the loaded stoplists (flags do not depend on
    them: cold-speed measurements, and memory between pipeline stages)."""
    _evidence_function.cache_clear()
    lx.stopwords.cache_clear()


def _line_evidence(
    s: str,
    lang: str | None,
    rules: frozenset[str],
    config: BoilerplateConfig,
    *,
    low: str | None = None,
    candidate: bool = True,
    separators: bool = True,
) -> Evidence:
    """`line_evidence` of a stripped line; `candidate` and `separators` False where
    `lx.line_candidates` ruled out the lexicon and the one-line menu."""
    words = count_words(s)
    if low is None:
        low = s.lower()
    # letter words: the lexicon filter, letters, stopwords
    tokens = (lx.ASCII_WORD if low.isascii() else lx.WORD).findall(low)
    strong = list(_lexicon_codes(s, words, low=low, tokens=tokens, candidate=candidate))
    if strong and not rules >= _LEXICON_VALUES:
        strong = [c for c in strong if c in rules]
    weak: list[str] = []
    if separators and _C.NAVIGATION_SEPARATORS in rules and lx.NAV_SEPARATORS.search(s):
        strong.append(_C.NAVIGATION_SEPARATORS)
    if sum(map(len, tokens)) < MIN_LETTER_RATIO * (len(s) - s.count(" ")):
        if not lx.ALNUM.search(s):
            if _C.NO_TEXT in rules:
                strong.append(_C.NO_TEXT)
        elif _C.NO_LETTERS in rules:
            strong.append(_C.NO_LETTERS)
    if (
        _C.DATE_LINE in rules
        and len(s) < SHORT_LINE_CHARS
        and (
            (lx.HAS_DIGIT(s) and lx.DATE_LINE.match(s))
            or lx.RELATIVE_TIME.match(s)
            or lx.BYLINE.match(s)
        )
    ):
        strong.append(_C.DATE_LINE)
    if words < config.min_words and _C.TOO_FEW_WORDS in rules:
        weak.append(_C.TOO_FEW_WORDS)
    terminal = has_terminal_punct(s)
    if not terminal and _C.NO_TERMINAL_PUNCT in rules:
        weak.append(_C.NO_TERMINAL_PUNCT)
    # stopwords matter only from MIN_WORDS words on (few_stopwords, content, prose)
    density = _density(tokens, lx.stopwords(lang)) if lang and words >= config.min_words else None
    if (
        density is not None
        and density < config.stopwords_low
        and words >= config.min_words
        and _C.FEW_STOPWORDS in rules
    ):
        weak.append(_C.FEW_STOPWORDS)
    wordy = density is None or density >= config.min_content_stopwords
    content = not strong and terminal and wordy and len(s) >= config.short_line_chars
    prose_words = density is not None and density >= config.stopwords_high
    prose = not strong and words >= config.min_words and (terminal or prose_words)
    return Evidence(tuple(strong), tuple(weak), content, prose, words, terminal)


def main_block(scores: Sequence[float]) -> tuple[int, int]:
    """[start, end) of the contiguous span with the largest score sum; (0, 0) if none is > 0.

    >>> main_block([-1, 2, 0, 0, 2, -1, -1, 2, -1])
    (1, 5)
    """
    best, best_span = 0.0, (0, 0)
    cur, start = 0.0, 0
    for i, x in enumerate(scores):
        if cur <= 0:
            cur, start = 0.0, i
        cur += x
        if cur > best:
            best, best_span = cur, (start, i + 1)
    return best_span


def grow_block(
    span: tuple[int, int], evidence: Sequence[bool | None], sentence_like: Sequence[bool]
) -> tuple[int, int]:
    """Grow a block over adjacent unsure sentence-like lines, then the headline above it.

    >>> grow_block((2, 3), [None, None, False, None, True], [False, True, True, True, False])
    (0, 4)
    """
    start, end = span
    n = len(evidence)
    while start > 0 and evidence[start - 1] is None and sentence_like[start - 1]:
        start -= 1
    while end < n and evidence[end] is None and sentence_like[end]:
        end += 1
    if start > 0 and evidence[start - 1] is None:  # the article's headline
        start -= 1
    return start, end


def content_blocks(
    evidence: Sequence[bool | None],
    sentence_like: Sequence[bool],
    prose: Sequence[bool],
    wordy: Sequence[bool] | None = None,
    *,
    config: BoilerplateConfig = DEFAULT_CONFIG,
) -> list[bool]:
    """Phase 2: True for lines inside the main content block (or the fallback's block).

    `evidence` is True (boilerplate), False (content evidence) or None (unsure). When no
    line is content evidence, prose-like lines take the content score instead (fallback 1);
    when no span scores either, unsure `wordy` lines (>= MIN_WORDS words, or a sentence end:
    "Danke!") do (fallback 2); when still none does and no line is boilerplate evidence
    either ("Hello world", a list of product names), every line is inside (fallback 3:
    nothing on the page says what to flag).

    >>> content_blocks([True, None, True], [False, True, False], [False, True, False])
    [False, True, False]
    """
    n = len(evidence)
    scores = [
        0.0 if ev is None else config.boilerplate_score if ev else config.content_score
        for ev in evidence
    ]
    fallback_score = config.fallback_score
    if not any(ev is False for ev in evidence):  # fallback 1: no long sentence on the page
        scores = [
            fallback_score if p and ev is None else s
            for s, p, ev in zip(scores, prose, evidence, strict=True)
        ]
    start, end = main_block(scores)
    if end <= start and wordy is not None:  # fallback 2: not even a short sentence
        scores = [
            fallback_score if w and ev is None else s
            for s, w, ev in zip(scores, wordy, evidence, strict=True)
        ]
        start, end = main_block(scores)
    if end <= start:  # fallback 3: no evidence either way on the whole page, nothing to flag
        return [True not in evidence] * n  # (every line is unsure here: no content evidence)
    lo, hi = grow_block((start, end), evidence, sentence_like)
    return [lo <= i < hi for i in range(n)]


def context_classes(evidence: Sequence[bool | None]) -> list[bool]:
    """jusText-style context: each line's class from its nearest evidence on both sides.

    `evidence` is True (boilerplate), False (content) or None (unsure); the document edges
    count as boilerplate. A line is boilerplate when it is boilerplate evidence or when the
    nearest evidence on both sides is boilerplate (an unsure line, or a content line
    isolated among boilerplate); otherwise it is content.

    >>> context_classes([False, None, True, False, True, None, None, False])
    [True, False, True, True, True, False, False, True]
    """
    n = len(evidence)
    before = [True] * n
    prev = True
    for i in range(n):
        before[i] = prev
        if evidence[i] is not None:
            prev = evidence[i]
    out = [True] * n
    nxt = True
    for i in range(n - 1, -1, -1):
        ev = evidence[i]
        out[i] = bool(ev) or (before[i] and nxt)
        if ev is not None:
            nxt = ev
    return out


def comment_section(
    texts: Sequence[str], reasons: list[tuple[str, ...]], inside: Sequence[bool]
) -> list[tuple[str, ...]]:
    """Reader comments: after a comments heading (`lexicon.COMMENTS_HEADING`) below the last
    line of the content block, the lines still kept get `comment_section`.

    >>> comment_section(["Story.", "2 comments", "Nice!"], [(), ("x",), ()], [True, False, False])
    [(), ('x',), ('comment_section',)]
    """
    last = max((i for i, x in enumerate(inside) if x), default=-1)
    for h in range(last + 1, len(texts)):
        if lx.COMMENTS_HEADING.match(texts[h].strip()):
            return [*reasons[: h + 1], *(r or _COMMENTS for r in reasons[h + 1 :])]
    return reasons


def classify_lines(
    lines: Sequence[Evidence | None], evidence: Sequence[bool | None], inside: Sequence[bool]
) -> list[tuple[str, ...]]:
    """Phase 3: the reason codes of every line from its evidence and the content blocks."""
    context = context_classes(evidence)
    out: list[tuple[str, ...]] = []
    for ev, e, ins, ctx in zip(lines, evidence, inside, context, strict=True):
        if ev is None:
            out.append(_EMPTY)
        elif ev.strong:
            structural = _STRUCTURAL.issuperset(ev.strong)
            out.append(() if ins and structural else ev.strong + ev.weak)
        elif ins:
            out.append(())
        elif e is False:  # content evidence outside the blocks: boilerplate only if isolated
            out.append(_CONTEXT if ctx else ())
        else:
            out.append((*ev.weak, *_CONTEXT))
    return out


def flag_lines(
    texts: Sequence[str],
    keys: Sequence[int],
    key_doc_counts: Sequence[int],
    *,
    langs: Sequence[str] | None = None,
    doc_lang: str | None = None,
    min_template_docs: int | None = None,
    rules: frozenset[str] = RULES,
    config: BoilerplateConfig = DEFAULT_CONFIG,
    evidence: Sequence[Evidence | None] | None = None,
) -> list[tuple[str, ...]]:
    """Reason codes for every line of one document; () means content.

    `langs` are the lines' raw language labels (stage A); their character-weighted majority,
    or `doc_lang`, picks the stoplist. `rules` switches signals off (for measuring them).
    `evidence`: the lines' phase 1, when `prime_line_evidence` computed it (with the same
    `doc_lang`, rules and config).
    """
    if not rules <= RULES:
        raise ValueError(f"unknown rules: {sorted(rules - RULES)}")
    if min_template_docs is not None:
        if min_template_docs < 1:
            raise ValueError("min_template_docs must be >= 1")
        config = BoilerplateConfig(**{**config.__dict__, "min_template_docs": min_template_docs})
    n = len(texts)
    if not (len(keys) == len(key_doc_counts) == n) or (langs is not None and len(langs) != n):
        raise ValueError("texts, keys, key_doc_counts (and langs) must have the same length")
    if doc_lang is None and langs is not None:
        doc_lang = document_language(langs, texts)
    # phase 1: signals
    if evidence is None:
        own = _evidence_function(rules, config)
        lines: list[Evidence | None] = [
            own(s, doc_lang) if s else None for s in (text.strip() for text in texts)
        ]
    elif len(evidence) != n:
        raise ValueError("evidence must hold one entry per line")
    else:
        lines = list(evidence)
    repeated = repeated_in_doc(keys) if _REPEATED in rules else [False] * n
    runs = _unpunctuated(lines) if _RUN in rules else [False] * n
    templ = (
        template_lines(keys, key_doc_counts, min_docs=config.min_template_docs)
        if _TEMPLATE in rules
        else [False] * n
    )
    evidence: list[bool | None] = []  # True = boilerplate, False = content, None = unsure
    repeat_min_words = config.repeat_min_words
    for i, ev in enumerate(lines):
        if ev is None:
            evidence.append(None)
            continue
        if repeated[i] or templ[i] or runs[i]:
            strong, weak, content, prose = ev.strong, ev.weak, ev.content, ev.prose
            if repeated[i]:
                if ev.words >= repeat_min_words and not ev.terminal:
                    strong = (*strong, _REPEATED)
                else:
                    # A repeated sentence (a quoted post, a lede or a reply printed twice)
                    # is no evidence either way: unsure, kept only inside a content block.
                    weak = (*weak, _REPEATED)
                    content = False
            # A long punctuated line shared by many documents is a syndicated copy (dedup's
            # business), not a site template.
            if templ[i] and not content:
                strong = (*strong, _TEMPLATE)
            if runs[i]:
                weak = (*weak, _RUN)
            if strong:
                content = prose = False
            # (a new tuple, not `ev._replace`: ~3x cheaper, and this runs on most lines)
            ev = lines[i] = Evidence(strong, weak, content, prose, ev.words, ev.terminal)
        evidence.append(True if ev.strong else False if ev.content else None)
    if _CONTEXT[0] not in rules:
        return [_EMPTY if ev is None else ev.strong + ev.weak for ev in lines]
    # phase 2: content blocks
    sentence_like = [ev is not None and not ev.weak for ev in lines]
    prose = [ev is not None and ev.prose for ev in lines]
    wordy = [ev is not None and (ev.words >= config.min_words or ev.terminal) for ev in lines]
    inside = content_blocks(evidence, sentence_like, prose, wordy, config=config)
    # phase 3: classify
    out = classify_lines(lines, evidence, inside)
    return comment_section(texts, out, inside) if _COMMENTS[0] in rules else out
