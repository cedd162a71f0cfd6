"""Boilerplate stage: reason codes per line, then context from the page's main block.

`is_boilerplate = bool(reasons)`. Every rule returns a reason code; nothing is dropped here.

Each line first gets its own evidence:

- *strong* reasons (lexicon phrase, one-line menu, template line seen in many documents,
  repeat inside the document, no letters, a date/byline line) are boilerplate evidence;
  the structural ones (STRUCTURAL_REASONS) do not flag a line inside the main block;
- *weak* reasons (too few words, no terminal punctuation, inside a run of unpunctuated
  lines, a short repeat) say "looks like a list item or a heading": the line keeps them
  only outside the main block;
- a long punctuated line with no strong reason is *content* evidence.

Context (jusText-style, Pomikalek 2011, sec. 3.2, with a main block after Finn et al.
2001's Body Text Extraction): the main block is the span with the largest sum of line
scores, grown over adjacent sentence-like lines and the headline right above it. Inside
it, unsure lines are content (a headline or a list inside the article); outside it they
are `context_boilerplate`, as is a sentence isolated between boilerplate lines (a teaser
inside a "more stories" list).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

# C4 keeps only lines ending in terminal punctuation (Raffel et al. 2020, sec. 2.2).
TERMINAL_PUNCT = (".", "!", "?", '"', "'", "\u201d", "\u2019", "\u3002", ")", ":", "\u2026")
# C4 keeps only lines with at least this many words (Raffel et al. 2020, sec. 2.2).
MIN_WORDS = 3
# A line of a run of at least this many consecutive unpunctuated lines is list/navigation
# (jusText treats runs of short "bad" paragraphs the same way: Pomikalek 2011, ch. 3).
MIN_UNPUNCTUATED_RUN = 3
# jusText's length_low: lines shorter than this many characters are "short" and take the
# class of their neighbours (Pomikalek 2011, sec. 3.2; justext default LENGTH_LOW = 70).
SHORT_LINE_CHARS = 70
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
# Chinese and Japanese are written without spaces between words; a segmented Chinese word
# averages about 1.5 characters (Chinese Treebank word-length statistics), so a run of Han or
# kana characters counts as len / 1.5 words. Without this a whole CJK sentence is "1 word".
CJK_CHARS_PER_WORD = 1.5

# Multilingual prompt lexicon: en, no, da, sv, de, fr, es, nl, it, pt. Phrases match anywhere
# in a line of at most LEXICON_MAX_WORDS words; `_WHOLE_LINE` entries only as the whole line.
_LEXICON: dict[str, list[str]] = {
    "lexicon_paywall": [
        r"free trial",
        r"subscribe (now|today|to (read|continue))",
        r"already (a )?(subscriber|member)",
        r"subscribers? only",
        r"to continue reading",
        r"unlock (this|full) (article|story)",
        r"gratis prøveperiode",
        r"allerede (abonnent|kunde)",
        r"prøveperiode",
        r"redan prenumerant",
        r"bli prenumerant",
        r"bereits abonnent",
        r"jetzt abonnieren",
        r"kostenlos testen",
        r"déjà abonné",
        r"essai gratuit",
        r"abonnez-vous",
        r"ya eres suscriptor",
        r"suscr[ií]bete",
        r"prueba gratuita",
        r"al abonnee",
        r"word abonnee",
        r"sei già abbonato",
        r"abbonati",
        r"já é assinante",
        r"assine (já|agora)",
        r"premium ?histor",
    ],
    "lexicon_login": [
        r"\blog ?in\b",
        r"\bsign ?in\b",
        r"\bsign up\b",
        r"\blog ?out\b",
        r"\bregister\b",
        r"\bmy account\b",
        r"\bforgot (your )?password\b",
        r"\blogg (på|inn)\b",
        r"\blog ind\b",
        r"\blogga in\b",
        r"\banmelden\b",
        r"\beinloggen\b",
        r"\bse connecter\b",
        r"\bconnexion\b",
        r"iniciar sesión",
        r"\binloggen\b",
        r"\baccedi\b",
        r"\bentrar\b",
        r"\bmin side\b",
        r"\bmein konto\b",
        r"\bmon compte\b",
        r"\bmi cuenta\b",
    ],
    "lexicon_share": [
        r"^share (this|on|via|the)\b",
        r"^share:",
        r"\bpartager sur\b",
        r"\bteilen\b",
        r"\bdel på\b",
        r"\bdela på\b",
        r"\bcompartir en\b",
        r"\bcondividi\b",
        r"\bcompartilhe\b",
        r"\bdelen op\b",
        r"\b(tweet|pin) (this|it)\b",
        r"\bclick to (share|email|print)\b",
        r"^(follow|like|join) us\b",
        r"^(view|see) this post on\b",  # the text of an embedded Instagram/Facebook/X post
        r"^a post shared by\b",
        r"^følg oss\b",
        r"^følg os\b",
        r"^följ oss\b",
        r"^folge?n? uns\b",
        r"^suivez-nous\b",
        r"^síguenos\b",
        r"^volg ons\b",
        r"^seguici\b",
        r"^siga-nos\b",
    ],
    "lexicon_cookie": [
        r"\b(your data is being processed|vendors processing your data|legitimate interest)\b",
        r"\bcookies?\b",
        r"\binformasjonskapsler\b",
        r"\bprivacy (policy|statement|notice|settings)\b",
        r"\bterms (of|and) (use|service|conditions)\b",
        r"\bpersonvern\b",
        r"\bdatenschutz",
        r"\bpolitique de confidentialité\b",
        r"\bpolítica de privacidad\b",
        r"\bprivacybeleid\b",
        r"\binformativa (sulla )?privacy\b",
        r"\bpolítica de privacidade\b",
        r"\bmentions légales\b",
        r"\bimpressum\b",
        r"\baviso legal\b",
        # browser notices shown instead of or above the page
        r"\b(javascript is disabled|enable javascript|out of date browser|browser is out of date)\b",
        r"\b(javascript ist deaktiviert|aktivieren sie javascript|activez javascript|activa javascript)\b",
    ],
    "lexicon_copyright": [
        r"copyright|©|\(c\) \d{4}|all rights reserved|alle rettigheter|alle rechte vorbehalten",
        r"tous droits réservés|todos los derechos reservados|alle rechten voorbehouden",
        r"tutti i diritti riservati|todos os direitos reservados|alla rättigheter förbehållna",
        r"powered by\b",
        # stock-photo agency credits under images
        r"\b(getty images|shutterstock|istock|alamy)\W*$",
    ],
    "lexicon_read_more": [
        r"^read (more|next|the full)\b",
        r"^continue reading\b",
        r"^(see|view|show) (all|more)\b",
        r"^load more\b",
        r"^more (stories|news|articles)\b",
        r"^(related|recommended|popular|latest|recent|trending) (articles?|posts?|stories|news)\b",
        r"^you (may|might) (also )?like\b",
        r"^les (mer|også)\b",
        r"^læs (mere|også)\b",
        r"^läs (mer|också)\b",
        r"^weiterlesen\b",
        r"^mehr (zum thema|lesen)\b",
        r"^lire (la suite|aussi)\b",
        r"^leer más\b",
        r"^lees meer\b",
        r"^leggi (anche|tutto)\b",
        r"^(leia|saiba) mais\b",
        r"^(previous|next|older|newer) (post|article|story|entry|page)\b",
        r"^(forrige|neste|næste) (artikkel|artikel|sak|side)\b",
        r"^(föregående|nästa) (artikel|sida)\b",
        r"^(vorheriger|nächster) (artikel|beitrag)\b",
        r"^(article|page) (précédent|suivant)e?\b",
        r"^(artículo|entrada|página) (anterior|siguiente)\b",
        r"^(vorig|volgend)e? (artikel|bericht|pagina)\b",
        r"^(articolo|pagina) (precedente|successiv[oa])\b",
        r"^(artigo|página) (anterior|seguinte)\b",
        r"^back to (top|home)\b",
        # teaser-box headings and reading-time labels of article lists
        r"^(more from|recommended reading|post navigation)\b",
        r"^\d+ min(ute)?s? read\W*$",
        r"^(mer fra|mere fra|mer från|mehr von|plus de|más de|meer van|altro da|mais de) ",
        r"^\d+ min(utter|uten|uter)? (lesetid|læsetid|läsning|lesezeit|de lecture|de lectura|"
        r"leestijd|di lettura|de leitura)\W*$",
        r"^(about the author|related (content|topics|reading)|jump to (recipe|review|section))\b",
        r"^(om forfatteren|über den autor|à propos de l'auteur|sobre el autor|sobre o autor)\b",
        r"^(over de auteur|sull'autore|om författaren)\b",
        # headings that are the whole line: tables of contents, most-read boxes
        r"^(table of contents|contents|most (read|popular|viewed)|innholdsfortegnelse|innhold)\W*$",
        r"^(indholdsfortegnelse|innehållsförteckning|inhaltsverzeichnis|table des matières)\W*$",
        r"^(índice|indice|inhoudsopgave|sommario|sumário|contenido|conteúdo)\W*$",
    ],
    "lexicon_newsletter": [
        r"newsletter|nyhetsbrev|nyhedsbrev|nieuwsbrief",
        r"\benter your e-?mail\b",
        r"\bsubscribe\b",
        r"\babonner\b",
    ],
    "lexicon_comment": [
        r"^(leave|post|add) a (comment|reply)\b",
        r"^\d+ (comments?|replies|responses)\b",
        # forum and profile counters: "Posts: 292", "9844 posts", "Joined: Mar 2019"
        r"^[\d,.]+k? (posts?|messages|likes|reactions|views|followers|points|votes)$",
        r"^(posts|messages|likes|reactions|reputation|points|joined|member since)\s?: ",
        r"^(reply|svar|antworten|répondre|responder|rispondi)$",
        r"\bcancel reply\b",
        # comment-form notices of WordPress and its anti-spam plugin
        r"\byour email address will not be published\b",
        r"\brequired fields are marked\b",
        r"^save my name, email,? and website\b",
        r"\bthis site uses akismet\b",
        r"^(posted|published|updated|written) (by|on)\b",
        r"^[\d,.]+k? like$",
        r"^\S+( \S+){0,3} (says|sagt|dit|dice|zegt|diz|skriver|skrev):$",
        r"^[\d.]+ out of [\d.]+ stars\b",
        # sign-offs of posts and videos
        r"^thanks? (you )?for (reading|watching|visiting|listening|your feedback)\b",
        r"^(takk for at du leste|tak fordi du læste|tack för att du läste|danke fürs lesen|"
        r"merci de votre lecture|gracias por leer|bedankt voor het lezen|grazie per la lettura|"
        r"obrigado por ler)\b",
    ],
}
# Whole lines that are navigation, share buttons or shop widgets in any of the languages.
_WHOLE_LINE = (
    r"home|menu|search|skip to (main )?content|back to top|top|next|previous|close|more|"
    r"facebook|twitter|x|instagram|linkedin|pinterest|youtube|whatsapp|email|e-mail|print|"
    r"share|tweet|rss|reddit|telegram|tiktok|"
    r"add to (cart|basket|wishlist)|buy now|shop now|view cart|checkout|"
    r"learn more|get started|try (it )?(for )?free|get a demo|request a demo|book a demo|"
    r"apply now|download( now)?|play video|watch video|get in touch|submit|"
    r"schedule a (demo|call|consultation)|start (your )?free( trial)?|visit (the )?website|"
    r"(view|read) (the )?case study|become a (member|partner|patron|subscriber)|"
    r"(first|last) name ?\*?|e-?mail address ?\*?|search for:|republish this (story|article)|"
    r"get the recipe|get started (today|for free)|free download|order now|book a (consultation|call)|"
    r"close window|connect with us|previous next|prev next|like loading\.\.\.|"
    r"(your )?(name|phone( number)?|message|website|company) \*|"
    r"(fornavn|etternavn|efternavn|förnamn|efternamn|vorname|nachname|prénom|voornaam|"
    r"achternaam|cognome|sobrenome|e-?postadresse|e-?postadress|e-?mail-adresse|"
    r"adresse e-?mail|correo electrónico|indirizzo e-?mail|endereço de e-?mail) ?\*?|"
    r"contact( us)?|about( us)?|sitemap|careers|faq|help|"
    r"hjem|forside|søk|søg|sök|meny|startseite|suche|accueil|recherche|inicio|buscar|"
    r"zoeken|cerca|pesquisar|del|dela|teilen|partager|compartir|condividi|delen|"
    r"loading(\.\.\.)?|advertisement|annonse|annons|anzeige|publicité|publicidad|"
    r"advertentie|pubblicità|publicidade|sponsored"
)


def _compile_lexicon(patterns: Sequence[str]) -> tuple[re.Pattern[str], ...]:
    """Up to three regexes per category (line-start, word-bounded, plain) for lowercased text.

    Python's re scans fast for one literal-led alternation but slowly for an alternation
    whose branches each start with an anchor, so anchors are factored out.
    """
    start = [p[1:] for p in patterns if p.startswith("^")]
    word = [p[2:] for p in patterns if p.startswith(r"\b")]
    plain = [p for p in patterns if not p.startswith(("^", r"\b"))]
    out = []
    if start:
        out.append(re.compile("^(?:" + "|".join(start) + ")"))
    if word:
        out.append(re.compile(r"\b(?:" + "|".join(word) + ")"))
    if plain:
        out.append(re.compile("|".join(plain)))
    return tuple(out)


_LEXICON_RES = {code: _compile_lexicon(pats) for code, pats in _LEXICON.items()}
_WHOLE_LINE_RE = re.compile(rf"(?:{_WHOLE_LINE})\W*", re.IGNORECASE)
# Menus written as one line: "Home | News | Sport".
NAV_SEPARATORS = re.compile(r"(\s[|•·»/>]\s.*){2,}")
# A line that is only a date, a time, or a byline with a date.
_DATE_LINE = re.compile(
    r"^(?:(?:posted|published|updated|by)\b.{0,60})?"
    r"(?:\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mai|okt|dez|des|janv|févr|avr|juil|"
    r"déc|ene|abr|ago|dic|mrt|gen|giu|lug|set|ott|fev|out)[a-zé]*\.? \d{1,2},? \d{4}|"
    r"\d{1,2}\.? (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mai|okt|dez|des|janv|"
    r"févr|avr|juil|déc|ene|abr|ago|dic|mrt|gen|giu|lug|set|ott|fev|out)[a-zé]*\.? \d{4})"
    r"(?:,? (?:at )?\d{1,2}[:.]\d{2}(?: ?[ap]\.?m\.?)?)?\W*$",
    re.IGNORECASE,
)
# "79 days ago", "vor 3 Tagen", "il y a 2 heures", "3 dager siden": relative timestamps of
# bylines, comments and teasers, in the lexicon's ten languages.
_RELATIVE_TIME = re.compile(
    r"^(?:(?:posted|published|updated|edited)\s+)?(?:"
    r"(?:\d+|an?|one)\s+(?:second|minute|min|hour|hr|day|week|month|year)s?\s+ago|"
    r"vor\s+(?:\d+|einer?|einem)\s+(?:sekunde|minute|stunde|tag|woche|monat|jahr)\w*|"
    r"il\s+y\s+a\s+\d+\s+(?:seconde|minute|heure|jour|semaine|mois|an)s?|"
    r"hace\s+\d+\s+(?:segundo|minuto|hora|día|semana|mes|año)\w*|"
    r"há\s+\d+\s+(?:segundo|minuto|hora|dia|semana|mês|mes|ano)\w*|"
    r"\d+\s+(?:sekund|minutt|minut|time|timer|timme|timmar|dag|dage|dager|dagar|uke|uker|uge|"
    r"uger|vecka|veckor|måned|måneder|månad|månader|år)\w*\s+(?:siden|sedan)|"
    r"\d+\s+(?:seconde|minuut|minuten|uur|dag|dagen|week|weken|maand|maanden|jaar)\s+geleden|"
    r"\d+\s+(?:secondi|minuti|ore|ora|giorni|giorno|settimane|mesi|anni|anno)\s+fa"
    r")\W*$",
    re.IGNORECASE,
)
_LETTERS = re.compile(r"[^\W\d_]")
# A letter or digit in any script: a line without one carries no words (punctuation, symbols,
# emoji, zero-width characters left by the HTML-to-text step).
_ALNUM = re.compile(r"[^\W_]")
_CJK_CHARS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[^\W\d_]+")

# Reason codes that hold whatever the context says.
STRONG_REASONS = frozenset(
    [
        *_LEXICON,
        "lexicon_navigation",
        "navigation_separators",
        "repeated_in_doc",
        "template_line",
        "no_letters",
        "no_text",
        "date_line",
    ]
)
# Strong codes about a line's shape or frequency rather than its wording: they count against
# a main block, but inside the main block they do not flag a line (table cells, prices and
# repeated specs in a product page; a site's standard heading inside the article).
STRUCTURAL_REASONS = frozenset(["repeated_in_doc", "template_line", "no_letters"])
# Reason codes that only stand when the context is boilerplate too.
WEAK_REASONS = frozenset(["too_few_words", "no_terminal_punct", "unpunctuated_run"])
# Every code flag_lines can emit (README's glossary documents each one).
REASON_CODES = STRONG_REASONS | WEAK_REASONS | {"empty_line", "context_boilerplate"}
# Signals that can be switched off (for ablation in benchmarks/eval_boilerplate.py).
RULES = frozenset(
    [
        "lexicon",
        "navigation_separators",
        "repeated_in_doc",
        "template_line",
        "no_letters",
        "no_text",
        "date_line",
        "too_few_words",
        "no_terminal_punct",
        "unpunctuated_run",
        "main_block",
        "isolated_sentence",
        "smoothing",
    ]
)


def count_words(text: str) -> int:
    """Whitespace words, with runs of Chinese/Japanese characters counted as words too.

    >>> count_words("Read more"), count_words("先日、不正に改造したiPhoneを販売した")
    (2, 9)
    """
    words = text.split()
    if text.isascii():
        return len(words)
    cjk = len(_CJK_CHARS.findall(text))
    if not cjk:
        return len(words)
    spaced = sum(1 for w in words if not _CJK_CHARS.search(w))
    return spaced + max(1, round(cjk / CJK_CHARS_PER_WORD))


def has_terminal_punct(text: str) -> bool:
    """True when the stripped line ends like a sentence.

    >>> has_terminal_punct("Allerede abonnent? Logg på")
    False
    """
    return text.rstrip().endswith(TERMINAL_PUNCT)


def lexicon_reasons(text: str, *, max_words: int = LEXICON_MAX_WORDS) -> tuple[str, ...]:
    """Reason codes of the multilingual prompt lexicon that match the line.

    >>> lexicon_reasons("Allerede abonnent? Logg på")
    ('lexicon_paywall', 'lexicon_login')
    >>> lexicon_reasons("Facebook")
    ('lexicon_navigation',)
    """
    s = text.strip()
    if count_words(s) > max_words:
        return ()
    if _WHOLE_LINE_RE.fullmatch(s):
        return ("lexicon_navigation",)
    low = s.lower()
    return tuple(
        code for code, regexes in _LEXICON_RES.items() if any(rx.search(low) for rx in regexes)
    )


def repeated_in_doc(keys: Sequence[int]) -> list[bool]:
    """True for every occurrence of a non-empty key that occurs more than once.

    >>> repeated_in_doc([1, 2, 1, 0, 0])
    [True, False, True, False, False]
    """
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


# line_evidence depends on the line text alone, and site templates repeat the same lines in
# many documents (at 100k benchmark lines, ~38k distinct texts): memoize short lines per
# process. Bounded: at most EVIDENCE_CACHE_SIZE entries of at most EVIDENCE_CACHE_MAX_CHARS.
EVIDENCE_CACHE_SIZE = 1 << 16
EVIDENCE_CACHE_MAX_CHARS = 400


def line_evidence(
    text: str, *, rules: frozenset[str] = RULES
) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    """Strong reasons, weak reasons and content evidence of one non-empty line on its own.

    Content evidence: no strong reason, terminal punctuation and at least jusText's
    length_low characters.

    >>> line_evidence("Allerede abonnent? Logg på")
    (('lexicon_paywall', 'lexicon_login'), ('no_terminal_punct',), False)
    """
    s = text.strip()
    if len(s) <= EVIDENCE_CACHE_MAX_CHARS:
        return _line_evidence_cached(s, rules)
    return _line_evidence(s, rules)


@lru_cache(maxsize=EVIDENCE_CACHE_SIZE)
def _line_evidence_cached(
    s: str, rules: frozenset[str]
) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    return _line_evidence(s, rules)


def _line_evidence(s: str, rules: frozenset[str]) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    strong: list[str] = []
    weak: list[str] = []
    if "lexicon" in rules:
        strong.extend(lexicon_reasons(s))
    if "navigation_separators" in rules and NAV_SEPARATORS.search(s):
        strong.append("navigation_separators")
    if "no_letters" in rules and len(_LETTERS.findall(s)) < MIN_LETTER_RATIO * len(
        s.replace(" ", "")
    ):
        strong.append("no_text" if "no_text" in rules and not _ALNUM.search(s) else "no_letters")
    if (
        "date_line" in rules
        and len(s) < SHORT_LINE_CHARS
        and (_DATE_LINE.match(s) or _RELATIVE_TIME.match(s))
    ):
        strong.append("date_line")
    if "too_few_words" in rules and count_words(s) < MIN_WORDS:
        weak.append("too_few_words")
    terminal = s.endswith(TERMINAL_PUNCT)
    if "no_terminal_punct" in rules and not terminal:
        weak.append("no_terminal_punct")
    good = not strong and terminal and len(s) >= SHORT_LINE_CHARS
    return tuple(strong), tuple(weak), good


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


def flag_lines(
    texts: Sequence[str],
    keys: Sequence[int],
    key_doc_counts: Sequence[int],
    *,
    min_template_docs: int = MIN_TEMPLATE_DOCS,
    rules: frozenset[str] = RULES,
) -> list[tuple[str, ...]]:
    """Reason codes for every line of one document; () means content.

    `rules` switches signals off (for measuring them); the default uses all of RULES.
    """
    if not rules <= RULES:
        raise ValueError(f"unknown rules: {sorted(rules - RULES)}")
    if min_template_docs < 1:
        raise ValueError("min_template_docs must be >= 1")
    n = len(texts)
    if not (len(keys) == len(key_doc_counts) == n):
        raise ValueError("texts, keys and key_doc_counts must have the same length")
    repeated = repeated_in_doc(keys) if "repeated_in_doc" in rules else [False] * n
    runs = unpunctuated_runs(texts) if "unpunctuated_run" in rules else [False] * n
    templ = (
        template_lines(keys, key_doc_counts, min_docs=min_template_docs)
        if "template_line" in rules
        else [False] * n
    )
    strong_all: list[tuple[str, ...]] = []
    weak_all: list[tuple[str, ...]] = []
    evidence: list[bool | None] = []  # True = boilerplate, False = content, None = unsure
    for i, text in enumerate(texts):
        if not text.strip():
            strong_all.append(("empty_line",))
            weak_all.append(())
            evidence.append(None)
            continue
        strong, weak, good = line_evidence(text, rules=rules)
        if repeated[i]:
            if count_words(text) >= REPEAT_MIN_WORDS:
                strong = (*strong, "repeated_in_doc")
            else:
                weak = (*weak, "repeated_in_doc")
        # A long punctuated line shared by many documents is a syndicated copy (dedup's
        # business), not a site template.
        if templ[i] and not good:
            strong = (*strong, "template_line")
        if runs[i]:
            weak = (*weak, "unpunctuated_run")
        strong_all.append(strong)
        weak_all.append(weak)
        evidence.append(True if strong else False if good else None)
    if "smoothing" not in rules:
        return [s + w for s, w in zip(strong_all, weak_all, strict=True)]
    context = context_classes(evidence)
    if "main_block" in rules:
        scores = [
            0.0 if ev is None else BOILERPLATE_SCORE if ev else CONTENT_SCORE for ev in evidence
        ]
        start, end = main_block(scores)
        if end > start:  # grow over adjacent sentence-like lines (punctuated, >= 3 words)
            while start > 0 and evidence[start - 1] is None and not weak_all[start - 1]:
                start -= 1
            while end < n and evidence[end] is None and not weak_all[end]:
                end += 1
            if start > 0 and evidence[start - 1] is None:  # the article's headline
                start -= 1
        in_block = [start <= i < end for i in range(n)]
    else:
        in_block = [not c for c in context]
    out: list[tuple[str, ...]] = []
    for i, (strong, weak, ev) in enumerate(zip(strong_all, weak_all, evidence, strict=True)):
        if strong and in_block[i] and "main_block" in rules and set(strong) <= STRUCTURAL_REASONS:
            out.append(())
        elif strong:
            out.append(strong + weak)
        elif ev is False:  # content evidence: boilerplate only when isolated outside the block
            isolated = "isolated_sentence" in rules and not in_block[i] and context[i]
            out.append(("context_boilerplate",) if isolated else ())
        elif in_block[i]:
            out.append(())
        else:
            out.append((*weak, "context_boilerplate"))
    return out
