import gzip
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from transforms import lexicon as lx
from transforms.boilerplate import (
    EVIDENCE_CACHE_MAX_CHARS,
    REASON_CODES,
    REASON_KINDS,
    RULES,
    BoilerplateConfig,
    Kind,
    Reason,
    _evidence_function,
    clear_evidence_cache,
    content_blocks,
    context_classes,
    count_words,
    document_language,
    flag_lines,
    has_terminal_punct,
    lexicon_reasons,
    line_evidence,
    main_block,
    prime_line_evidence,
    repeated_in_doc,
    stopword_density,
    template_lines,
    unpunctuated_runs,
)
from transforms.language import detect_lines
from transforms.lexicon import stopwords
from transforms.lines import line_key

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "tests" / "data" / "boilerplate" / "sample.jsonl.gz"
# Apache-2.0 (trafilatura's evaluation pages, mostly German; sparse labels), see SOURCES.md
SAMPLE_TRAFILATURA = REPO / "tests" / "data" / "boilerplate" / "sample-trafilatura.jsonl.gz"
LONG = "This is a long line of article text that easily passes the jusText length limit."
# Measured on tests/data/boilerplate/sample.jsonl.gz (121 pages, 33,234 lines): winnow
# F1 0.830, rule baseline 0.793 (+0.037). Floors sit slightly below, so regressions fail.
SAMPLE_MIN_F1 = 0.825
SAMPLE_MIN_GAIN_OVER_RULE = 0.03


def _flags(lines, counts=None, **kw):
    keys = [line_key(t) for t in lines]
    return flag_lines(lines, keys, counts or [1] * len(lines), **kw)


def test_sample_page_flags_exactly_the_26_non_article_lines(sample_lines):
    reasons = _flags(sample_lines)
    assert [i for i, r in enumerate(reasons) if not r] == [0, 1, 2, 3, 4, 5]
    assert all(reasons[i] for i in range(6, 32))
    assert all("repeated_in_doc" in reasons[i] for i in range(6, 12))
    assert {"lexicon_paywall", "lexicon_login"} <= set(reasons[8])


@pytest.mark.parametrize(
    "text, punct",
    [
        ("A sentence.", True),
        ("Really?", True),
        ('He said "no."', True),
        ("Wait…", True),
        ("Logg på", False),
        ("", False),
    ],
)
def test_terminal_punct(text, punct):
    assert has_terminal_punct(text) is punct


@pytest.mark.parametrize(
    "text, code",
    [
        ("Subscribe now and get 50% off", "lexicon_paywall"),  # en
        ("Allerede abonnent? Logg på", "lexicon_paywall"),  # no
        ("Log ind for at læse videre", "lexicon_login"),  # da
        ("Redan prenumerant? Logga in här", "lexicon_paywall"),  # sv
        ("Jetzt abonnieren und weiterlesen", "lexicon_paywall"),  # de
        ("Déjà abonné ? Se connecter", "lexicon_paywall"),  # fr
        ("¿Ya eres suscriptor? Iniciar sesión", "lexicon_paywall"),  # es
        ("Lees meer over dit onderwerp", "lexicon_read_more"),  # nl
        ("Tutti i diritti riservati", "lexicon_copyright"),  # it
        ("Já é assinante? Entrar", "lexicon_paywall"),  # pt
        ("We use cookies to improve your experience", "lexicon_cookie"),
        ("Share this article", "lexicon_share"),
        ("© 2024 Example Media", "lexicon_copyright"),
        ("Sign up for our newsletter", "lexicon_newsletter"),
        ("Leave a comment", "lexicon_comment"),
        ("Facebook", "lexicon_navigation"),
        ("Skip to content", "lexicon_navigation"),
        ("Følg oss på Facebook", "lexicon_share"),
        ("Nächster Artikel", "lexicon_read_more"),
        ("Previous post: How to bake bread", "lexicon_read_more"),
        ("Posts: 292", "lexicon_comment"),  # forum counters
        ("9,844 posts", "lexicon_comment"),
        ("Your email address will not be published.", "lexicon_comment"),
        ("View this post on Instagram", "lexicon_share"),
        ("You are using an out of date browser.", "lexicon_cookie"),
        ("JavaScript ist deaktiviert.", "lexicon_cookie"),
        ("About the author", "lexicon_read_more"),
        ("Inhaltsverzeichnis", "lexicon_read_more"),
        ("Learn more", "lexicon_navigation"),
        # teaser headings, reading times, sign-offs
        ("More from The Guardian", "lexicon_read_more"),
        ("5 min read", "lexicon_read_more"),
        ("4 min lesetid", "lexicon_read_more"),
        ("Thanks for reading!", "lexicon_comment"),
        ("Danke fürs Lesen", "lexicon_comment"),
        # widgets, comment headers, ratings, photo credits, consent dialogs
        ("Get the Recipe", "lexicon_navigation"),
        ("Previous Next", "lexicon_navigation"),
        ("Phone Number *", "lexicon_navigation"),
        ("1 Like", "lexicon_comment"),
        ("Kathy Owen says:", "lexicon_comment"),
        ("4.6 out of 5 stars 10,945", "lexicon_comment"),
        ("Photo: John Smith/Getty Images", "lexicon_copyright"),
        ("We and our partners process data on the basis of legitimate interest", "lexicon_cookie"),
        # captions with a closing photo credit, licences, comment furniture, related links
        ("VW-Chef Herbert Diess vor dem Werk. (Foto: Volkswagen)", "lexicon_copyright"),
        ("Son tres los periodos de vacaciones. Foto: Andina", "lexicon_copyright"),
        ("Dmitry Muratov, periodista ruso (REUTERS/Denis Balibouse)", "lexicon_copyright"),
        (
            "Die Inhalte dieser Website sind unter einer Creative Commons-Lizenz lizenziert.",
            "lexicon_copyright",
        ),
        ("Comment by Mirko Lange — 17.07, 2011 @ 13:04", "lexicon_comment"),
        ("Schreib einen Kommentar", "lexicon_comment"),
        ("E-Mail (wird benötigt und nicht veröffentlicht)", "lexicon_comment"),
        ("This entry was posted in News. Bookmark the permalink.", "lexicon_comment"),
        ("NOTAS RELACIONADAS", "lexicon_read_more"),
        ("PUEDES VER: ¿Qué es la Sunedu?", "lexicon_read_more"),
        ("Auch interessant:", "lexicon_read_more"),
        ("Añadir al carrito", "lexicon_navigation"),
        ("Lägg i varukorgen", "lexicon_navigation"),
        ("Lisää ostoskoriin", "lexicon_navigation"),
        ("Ajouter au panier", "lexicon_navigation"),
    ],
)
def test_lexicon_matches_prompts_in_many_languages(text, code):
    assert code in lexicon_reasons(text)


def _lexicon_lines():
    lines = {
        t.strip() for path in (SAMPLE, SAMPLE_TRAFILATURA) for p in _load(path) for t in p["lines"]
    }
    return sorted(t.lower() for t in lines if t)


def test_the_lexicon_prefilter_never_drops_a_match():
    """The cheap filter is a necessary condition: on every sample line, and selective."""
    lines = _lexicon_lines()
    union = [any(f(low) for fs in lx.LEXICON_RES.values() for f in fs) for low in lines]
    passed = [lx.LEXICON_FILTER(low) for low in lines]
    assert sum(union) > 300
    assert not [low for low, u, f in zip(lines, union, passed, strict=True) if u and not f]
    assert sum(passed) < 0.4 * len(lines)


# Lines where RE2's ASCII classes differ from Python's Unicode ones (digits, spaces, letters).
_UNICODE_PROMPTS = [
    "٣ min read",  # an Arabic-Indic digit
    "١٢ comments",
    "٤ out of ٥ stars",
    "12 comments",
    "комментарии 5",
    "σχόλια 3",
    "anna sagt:",
    "publié dans économie",
    "© 2024 exempel ab",
]


def test_the_batch_prefilters_let_through_every_line_the_python_tests_pass():
    """`line_candidates` (RE2 scans of lowercased lines) is a superset of the lexicon filter,
    the whole-line entries and NAV_SEPARATORS on the original line, and selective."""
    lines = sorted(
        {
            t.strip()
            for path in (SAMPLE, SAMPLE_TRAFILATURA)
            for p in _load(path)
            for t in p["lines"]
        }
        - {""}
    )
    lines += [*_UNICODE_PROMPTS, "Home | News | Sport", "A » B » C", "Your name *"]
    lows = [t.lower() for t in lines]
    lexicon, separators = lx.line_candidates(lows)
    whole = [bool(lx.WHOLE_LINE_RE.fullmatch(low)) for low in lows]
    passed = [lx.LEXICON_FILTER(low) for low in lows]
    menus = [bool(lx.NAV_SEPARATORS.search(t)) for t in lines]
    assert sum(passed) > 300 and sum(whole) > 50 and sum(menus) > 20
    assert not [
        t for t, c, p, w in zip(lines, lexicon, passed, whole, strict=True) if (p or w) and not c
    ]
    assert not [t for t, c, m in zip(lines, separators, menus, strict=True) if m and not c]
    assert all(lx.LEXICON_FILTER(low) for low in _UNICODE_PROMPTS)  # the cases are real
    assert sum(lexicon) < 1.6 * sum(map(max, passed, whole))
    assert sum(separators) < 0.1 * len(lines)


def test_the_batch_prefilter_leaves_unencodable_text_to_the_python_filter():
    assert lx.line_candidates(["lone \ud800 surrogate", "plain text"])[0] == [True, True]
    assert lx.line_candidates([])[0] == []


def test_primed_line_evidence_is_the_per_line_evidence():
    """`prime_line_evidence` (one batch pass) gives every line the evidence it gets alone."""
    pages = _load(SAMPLE)[:40] + _load(SAMPLE_TRAFILATURA)[:20]
    texts = [[*p["lines"], "Log in", "٣ min read", "  Home | News | Sport  "] for p in pages]
    langs = ["en"] * 40 + ["de"] * 20
    pairs = {(t.strip(), lang) for ts, lang in zip(texts, langs, strict=True) for t in ts}
    short = sorted(pair for pair in pairs if 0 < len(pair[0]) <= EVIDENCE_CACHE_MAX_CHARS)
    clear_evidence_cache()
    alone = [line_evidence(t, lang=lang) for t, lang in short]
    clear_evidence_cache()
    prime_line_evidence(texts, langs)
    entries = _evidence_function(RULES, BoilerplateConfig()).entries
    primed = [entries.get(f"{lang}\0{t}") for t, lang in short]
    clear_evidence_cache()
    assert len(short) > 1000
    assert primed == alone
    assert sum(bool(ev.strong) for ev in alone) > 100  # the lexicon and others did fire


def test_priming_many_lines_works_in_bounded_passes(monkeypatch):
    """More distinct lines than the cache holds: several RE2 passes of at most that many
    lines, and every line still gets the evidence it gets alone (long ones included)."""
    from transforms import boilerplate as bp

    monkeypatch.setattr(bp, "EVIDENCE_CACHE_SIZE", 50)
    sizes: list[int] = []
    scan = lx.line_candidates
    monkeypatch.setattr(lx, "line_candidates", lambda lows: sizes.append(len(lows)) or scan(lows))
    lines = [f"Log in to read part {i} of the story." for i in range(180)]
    lines += ["Home", "", "Home", "word " * 100]  # a repeat, an empty and a long line
    clear_evidence_cache()
    primed = prime_line_evidence([lines], ["en"])[0]
    clear_evidence_cache()
    alone = [line_evidence(t, lang="en") if t.strip() else None for t in lines]
    clear_evidence_cache()
    assert primed == alone
    assert len(sizes) == 4 and max(sizes) <= 50 and sum(sizes) == 182  # 181 short, 1 long
    monkeypatch.setattr(bp, "PRIME_PASS_CHARS", 400)  # ~10 of the short lines per pass
    sizes.clear()
    again = prime_line_evidence([lines], ["en"])[0]
    clear_evidence_cache()
    assert again == alone
    assert len(sizes) > 15 and max(sizes) <= 12


def test_flag_lines_with_primed_evidence_flags_as_it_does_alone():
    """`flag_lines(..., evidence=prime_line_evidence(...))` is `flag_lines` on its own."""
    pages = _load(SAMPLE)[:30] + _load(SAMPLE_TRAFILATURA)[:10]
    texts = [[*p["lines"], "", "Log in", "x" * 500 + " Log in"] for p in pages]
    langs = ["en"] * 30 + ["de"] * 10
    keys = [[line_key(t) for t in ts] for ts in texts]
    counts = [[1] * len(ts) for ts in texts]
    clear_evidence_cache()
    alone = [
        flag_lines(ts, ks, cs, doc_lang=lang)
        for ts, ks, cs, lang in zip(texts, keys, counts, langs, strict=True)
    ]
    clear_evidence_cache()
    primed = prime_line_evidence(texts, langs)
    assert [len(ev) for ev in primed] == [len(ts) for ts in texts]
    assert all(ev[-3] is None for ev in primed)  # the empty line
    together = [
        flag_lines(ts, ks, cs, doc_lang=lang, evidence=ev)
        for ts, ks, cs, lang, ev in zip(texts, keys, counts, langs, primed, strict=True)
    ]
    clear_evidence_cache()
    assert together == alone
    assert sum(bool(r) for rs in alone for r in rs) > 200
    with pytest.raises(ValueError, match="one entry per line"):
        flag_lines(["a", "b"], [1, 2], [1, 1], evidence=[None])


@pytest.mark.parametrize(
    ("low", "passes"),
    [
        ("we need your help with the garden", False),  # "your" leads no phrase here
        ("your email address will not be published", True),
        ("all of them came to the party", False),
        ("all rights reserved", True),
        ("the mother of all battles", False),  # "mot de passe" needs the word "mot"
        ("mot de passe oublié ?", True),
    ],
)
def test_the_prefilter_checks_the_literal_a_leading_word_starts(low, passes):
    assert lx.LEXICON_FILTER(low) is passes


def test_the_whole_line_precheck_never_drops_a_match():
    """Every whole-line entry starts with one of WHOLE_LINE_STARTS (sample lines and buttons)."""
    lines = _lexicon_lines() + ["your name *", "company *", "x", "sku: ab-12", "sida 1 av 3"]
    full = [low for low in lines if lx.WHOLE_LINE_RE.fullmatch(low)]
    assert len(full) > 50
    assert [low for low in full if not low.startswith(lx.WHOLE_LINE_STARTS)] == []
    assert "" not in lx.WHOLE_LINE_STARTS  # the precheck is not a no-op


@pytest.mark.parametrize(
    "pattern, literals",
    [
        (r"(tweet|pin) (this|it)\b", {"tweet", "pin"}),
        (r"cookies?\b", {"cookie"}),
        (r"\d+ min", None),
        (r"(\d+ )?kommentare", None),
        (r"suscr[ií]bete", {"suscr"}),
    ],
)
def test_leading_literals_of_the_lexicon_patterns(pattern, literals):
    assert lx.leading_literals(pattern, letters_only=True) == literals


@pytest.mark.parametrize(
    "text, matches",
    [("Abonnieren Sie den Newsletter", True), ("Musiknewsletter", False)],
)
def test_lexicon_phrases_match_from_the_start_of_a_word(text, matches):
    assert bool(lexicon_reasons(text)) is matches


@pytest.mark.parametrize(
    "text",
    [
        "The home team won the match after a long and difficult season.",
        "Bakers know that cookies " + "taste better with butter, sugar and patience " * 4 + ".",
        "Índice de precios al consumo subió un dos por ciento en marzo.",  # a heading word
        "Contents of the report were leaked to the press on Monday.",
        "Learn more about the history of the harbour in the museum.",
    ],
)
def test_lexicon_leaves_prose_alone(text):
    assert lexicon_reasons(text) == ()


# Inline furniture that survives a first-pass extractor (forums, Q&A, shops, news), in the
# six languages of the issue: each is strong evidence on its own (flagged inside the block).
@pytest.mark.parametrize(
    ("text", "lang", "code"),
    [
        ("Publié le 12 mars 2021 à 10h00", "fr", "date_line"),
        ("Veröffentlicht am 12.03.2021 um 10:00 Uhr", "de", "date_line"),
        ("Aktualisiert am 13. März 2021", "de", "date_line"),
        ("Publicado el 12 de marzo de 2021 a las 10:00", "es", "date_line"),
        ("Publicerad 12 mars 2021 kl. 10.00", "sv", "date_line"),
        ("Julkaistu 12.3.2021 klo 10.00", "fi", "date_line"),
        ("för 3 timmar sedan", "sv", "date_line"),
        ("3 tuntia sitten", "fi", "date_line"),
        ("Von Hans Müller", "de", "date_line"),
        ("Por Juan Pérez", "es", "date_line"),
        ("By John Smith, Reuters", "en", "date_line"),
        ("Kirjoittanut Matti Meikäläinen", "fi", "date_line"),
        ("Crédit photo : AFP", "fr", "lexicon_copyright"),
        ("Kuva: Lehtikuva", "fi", "lexicon_copyright"),
        ("Un grupo de pingüinos en la Antártida el 11 de febrero. EFE", "es", "lexicon_copyright"),
        ("Demonstranten vor dem Kanzleramt in Berlin. dpa", "de", "lexicon_copyright"),
        ("Ce contenu est réservé aux abonnés", "fr", "lexicon_paywall"),
        ("Exklusiv für Abonnenten", "de", "lexicon_paywall"),
        ("Contenido exclusivo para suscriptores", "es", "lexicon_paywall"),
        ("Innehållet är endast för prenumeranter", "sv", "lexicon_paywall"),
        ("Passwort vergessen?", "de", "lexicon_login"),
        ("¿Olvidaste tu contraseña?", "es", "lexicon_login"),
        ("Lähetä sähköpostilla", "fi", "lexicon_share"),
        ("Envoyer par e-mail", "fr", "lexicon_share"),
        ("See also", "en", "lexicon_read_more"),
        ("Siehe auch:", "de", "lexicon_read_more"),
        ("Vous aimerez aussi", "fr", "lexicon_read_more"),
        ("Du kanske också gillar", "sv", "lexicon_read_more"),
        ("Lesezeit: 4 Minuten", "de", "lexicon_read_more"),
        ("Tiempo de lectura: 4 minutos", "es", "lexicon_read_more"),
        ("Retour en haut", "fr", "lexicon_read_more"),
        ("Sisällysluettelo", "fi", "lexicon_read_more"),
        ("Tilaa uutiskirje", "fi", "lexicon_newsletter"),
        ("Zitieren", "de", "lexicon_comment"),
        ("Citera", "sv", "lexicon_comment"),
        ("Beiträge: 1.234", "de", "lexicon_comment"),
        ("Inlägg: 1 234", "sv", "lexicon_comment"),
        ("Meilleure réponse", "fr", "lexicon_comment"),
        ("Paras vastaus", "fi", "lexicon_comment"),
        ("Asked by Mary on 03/12/2021", "en", "lexicon_comment"),
        ("Pregunta de María el 12/03/2021", "es", "lexicon_comment"),
        ("Visa profil", "sv", "lexicon_comment"),
        ("Lämna en kommentar", "sv", "lexicon_comment"),
        ("Din e-postadress kommer inte publiceras.", "sv", "lexicon_comment"),
        ("Hat Ihnen dieser Artikel gefallen?", "de", "lexicon_comment"),
        ("¿Te ha gustado este artículo?", "es", "lexicon_comment"),
        ("Bewertung: 4,5 von 5 Sternen (12)", "de", "lexicon_comment"),
        ("Note : 4,5/5 (12 avis)", "fr", "lexicon_comment"),
        ("Kundrecensioner", "sv", "lexicon_comment"),
        ("Pflichtfeld", "de", "lexicon_comment"),
        ("This field is required!", "en", "lexicon_comment"),
        ("Listen to this article", "en", "lexicon_share"),
        ("Escucha esta nota aquí", "es", "lexicon_share"),
        ("Écouter cet article", "fr", "lexicon_share"),
        ("Artikel anhören", "de", "lexicon_share"),
        ("Lyssna på artikeln", "sv", "lexicon_share"),
        ("Kuuntele juttu", "fi", "lexicon_share"),
        ("Auf Lager", "de", "lexicon_navigation"),
        ("Varastossa", "fi", "lexicon_navigation"),
        ("Cantidad", "es", "lexicon_navigation"),
        ("inkl. MwSt., zzgl. Versand", "de", "lexicon_navigation"),
        ("Artikelnummer: 12345", "de", "lexicon_navigation"),
        ("SKU: AB-1234", "en", "lexicon_navigation"),
        ("Sida 1 av 3", "sv", "lexicon_navigation"),
        ("Free shipping on orders over $50", "en", "lexicon_navigation"),
        ("Livraison gratuite dès 49 €", "fr", "lexicon_navigation"),
        ("Nous contacter", "fr", "lexicon_navigation"),
        ("Tags: Politik, Berlin, Wahlen", "de", "lexicon_navigation"),
        ("Étiquettes : politique, France", "fr", "lexicon_navigation"),
        ("Avainsanat: politiikka, vaalit", "fi", "lexicon_navigation"),
        ("Categoría: Noticias", "es", "lexicon_navigation"),
        ("Posted in News, Politics", "en", "lexicon_navigation"),
        ("Publicerad i Nyheter", "sv", "lexicon_navigation"),
        ("Home › Blog › Post title", "en", "navigation_separators"),
    ],
)
def test_inline_furniture_of_six_languages_is_strong(text, lang, code):
    assert code in line_evidence(text, lang=lang).strong


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("By the time we arrived, the shop had closed.", "en"),
        ("By The Numbers", "en"),  # a title-case heading, not a byline
        ("Free shipping is one reason people keep coming back to small online shops.", "en"),
        ("See also the chapter on memory, which explains this in detail.", "en"),
        ("Customers who bought the older model can upgrade for free.", "en"),
        ("References", "en"),
        ("Page 3 of the report lists every school in the county.", "en"),
        ("Von Anfang an war klar, dass das Projekt teuer wird.", "de"),
        ("Kostenloser Versand lohnt sich für kleine Händler kaum.", "de"),
        ("Beiträge zur Rentenversicherung steigen im nächsten Jahr.", "de"),
        ("Veröffentlicht wurde die Studie bereits im vergangenen Herbst.", "de"),
        ("Par ailleurs, le gouvernement prévoit une nouvelle loi.", "fr"),
        ("Livraison gratuite ou non, les clients comparent les prix.", "fr"),
        ("Note : cette recette se conserve trois jours au frais.", "fr"),
        ("Por ejemplo, la ciudad de Lima tiene diez millones de habitantes.", "es"),
        ("Publicado en 2010, el libro se tradujo a veinte idiomas.", "es"),
        ("Av alla städer i Sverige är Göteborg min favorit.", "sv"),
        ("Fri frakt är vanligt hos stora nätbutiker i dag.", "sv"),
        ("Ilmainen toimitus houkuttelee asiakkaita verkkokauppoihin.", "fi"),
        ("Määrä kasvoi viime vuonna kymmenellä prosentilla.", "fi"),
        ("She worked for the AP.", "en"),
        ("Posted in 2019, this review still holds up well", "en"),
        ("LABEL: Optional attribute for adding a unique name.", "en"),
        ("Working Directory → Staging Area → Git Repository", "en"),
        ("Listen to this story of my grandmother, who came here in 1950.", "en"),
        ("Escucha la noticia completa en nuestro podcast, que sale cada lunes.", "es"),
    ],
)
def test_prose_near_the_six_language_furniture_is_not_strong(text, lang):
    assert line_evidence(text, lang=lang).strong == ()


@pytest.mark.parametrize(
    "text, is_date",
    [
        ("79 days ago", True),
        ("Posted 3 hours ago", True),
        ("vor 3 Tagen", True),  # de
        ("il y a 2 heures", True),  # fr
        ("hace 5 días", True),  # es
        ("3 dager siden", True),  # no
        ("2 giorni fa", True),  # it
        ("12 March 2024", True),
        ("kozikowski July 26, 2025, 9:58pm 3", True),  # a forum post header
        ("Kyle Orland – 3/5/2026 | 138", True),  # author, date, comment count
        ("2012-01-05 11:40:46 +00:00", True),
        ("He died on July 26, 2025.", False),  # a sentence around a date
        ("He left the town 3 days ago.", False),
    ],
)
def test_date_lines_include_relative_timestamps(text, is_date):
    assert ("date_line" in line_evidence(text).strong) == is_date


@pytest.mark.parametrize(
    "text, words",
    [
        ("Read more", 2),
        ("先日、不正に改造したiPhoneを販売したとして男性が逮捕された", 17),  # ja: 26 kana/kanji
        ("日本 is great", 3),
        ("", 0),
    ],
)
def test_count_words_counts_cjk_runs(text, words):
    assert count_words(text) == words


def test_a_cjk_sentence_is_not_too_few_words():
    assert (
        "too_few_words"
        not in line_evidence("先日、不正に改造したiPhoneを販売したとして男性が逮捕された。").weak
    )


def test_repeated_in_doc_marks_every_occurrence_but_not_empty_keys():
    assert repeated_in_doc([1, 2, 1, 0, 0]) == [True, False, True, False, False]


def test_unpunctuated_runs_need_three_lines():
    assert unpunctuated_runs(["a", "b", "Done.", "c", "d", "e"]) == [
        False,
        False,
        False,
        True,
        True,
        True,
    ]


@pytest.mark.parametrize(
    "counts, expected",
    [
        ([1, 1, 9], [False, False, True]),  # a line in 9 documents: template
        ([4, 4, 12], [False, False, True]),  # 4 copies of an article, template around them
        ([4, 4, 4], [False, False, False]),  # a syndicated article: its copies share lines
        ([1, 2, 3], [False, False, True]),
    ],
)
def test_template_lines_discount_the_documents_own_copies(counts, expected):
    assert template_lines([11, 12, 13], counts) == expected


def test_template_line_reason_in_flag_lines():
    reasons = _flags([LONG, LONG + " Again.", "Cookie settings here"], counts=[1, 1, 5])
    assert "template_line" in reasons[2]
    assert reasons[0] == () and reasons[1] == ()


def test_main_block_is_the_largest_scoring_span():
    assert main_block([-1, 2, 0, 0, 2, -1, -1, 2, -1]) == (1, 5)
    assert main_block([-1, -1]) == (0, 0)
    assert main_block([]) == (0, 0)


@pytest.mark.parametrize(
    "evidence, expected",
    [
        ([None, False, None, None, False, None], [False] * 6),  # one edge is not enough
        ([None, None], [True, True]),  # both edges are boilerplate
        ([True, None, None, True], [True] * 4),
        ([True, False, True, False, False], [True, True, True, False, False]),  # isolated
    ],
)
def test_context_classes_take_the_class_of_the_neighbours(evidence, expected):
    assert context_classes(evidence) == expected


def test_headline_and_list_inside_the_article_stay_content():
    texts = [
        "Menu",
        LONG,
        "A headline",
        LONG + " More.",
        "first item",
        "second item",
        "third item",
        "Another long paragraph " + LONG,
        "Facebook",
    ]
    reasons = _flags(texts)
    assert [bool(r) for r in reasons] == [
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        True,
    ]


def test_sentence_inside_a_teaser_list_stays_boilerplate():
    body = [LONG, LONG + " Two.", LONG + " Three."]
    teasers = [f"Teaser headline number {i}" for i in range(6)]
    texts = [
        *body,
        *teasers[:3],
        "A long teaser sentence that ends like prose, on its own line here.",
        *teasers[3:],
    ]
    texts[-1] = "Login"
    reasons = _flags(texts)
    assert not any(reasons[:3])
    assert all(reasons[3:])
    assert "context_boilerplate" in reasons[6]


def test_short_repeated_cells_inside_content_stay_content():
    texts = [LONG, "Price", "Colour", LONG + " Two.", "Price", "Colour", LONG + " Three."]
    reasons = _flags(texts)
    assert not any(reasons)


def test_every_emitted_code_is_known(sample_lines):
    emitted = {
        c for r in _flags(sample_lines + ["", "Home | News | Sport", "12/03/2024"]) for c in r
    }
    assert emitted <= REASON_CODES
    assert {"empty_line", "navigation_separators", "date_line"} <= emitted


def test_readme_glossary_covers_every_reason_code():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    glossary = readme.split("## Boilerplate reason glossary", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([a-z_]+)`", glossary))
    assert documented >= REASON_CODES


def test_rules_can_be_switched_off_for_measurement(sample_lines):
    raw = _flags(sample_lines, rules=RULES - {"context_boilerplate"})
    assert not any("context_boilerplate" in r for r in raw)
    assert all(
        "repeated_in_doc" not in r for r in _flags(sample_lines, rules=RULES - {"repeated_in_doc"})
    )


@pytest.mark.parametrize("bad", [{"rules": frozenset({"nope"})}, {"min_template_docs": 0}])
def test_bad_arguments_raise(bad):
    with pytest.raises(ValueError):
        _flags(["a"], **bad)


def test_length_mismatch_raises():
    with pytest.raises(ValueError):
        flag_lines(["a", "b"], [1], [1])


def _prf(pairs):
    tp = sum(p and g for p, g in pairs)
    fp = sum(p and not g for p, g in pairs)
    fn = sum(g and not p for p, g in pairs)
    prec, rec = tp / (tp + fp), tp / (tp + fn)
    return 2 * prec * rec / (prec + rec)


@pytest.fixture(scope="module")
def labelled_sample():
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def test_f1_floor_on_the_labelled_sample(labelled_sample):
    """Per page as in the pipeline, key_doc_count counted across the sample's pages."""
    keys = [[line_key(t) for t in p["lines"]] for p in labelled_sample]
    counts = Counter(k for ks in keys for k in set(ks) if k)
    ours, rule = [], []
    for page, ks in zip(labelled_sample, keys, strict=True):
        gold = [lab == "boilerplate" for lab in page["labels"]]
        reasons = flag_lines(page["lines"], ks, [counts[k] if k else 0 for k in ks])
        ours += [(bool(r), g) for r, g in zip(reasons, gold, strict=True)]
        rule += [
            (len(t.split()) < 3 or not t.rstrip().endswith((".", "!", "?", '"', "'")), g)
            for t, g in zip(page["lines"], gold, strict=True)
        ]
    f1, f1_rule = _prf(ours), _prf(rule)
    assert f1 >= SAMPLE_MIN_F1
    assert f1 - f1_rule >= SAMPLE_MIN_GAIN_OVER_RULE


def test_structural_codes_do_not_flag_lines_inside_the_main_block():
    texts = ["$ 19.99", LONG, "$ 24.99", LONG + " Two.", "Login", "$ 9.99"]
    reasons = _flags(texts)
    assert reasons[2] == ()  # a price inside the article
    assert "no_letters" in reasons[0] and "no_letters" in reasons[5]  # outside it
    assert "lexicon_login" in reasons[4]


def test_last_short_sentence_of_the_article_stays_content():
    texts = [LONG, LONG + " Two.", "The mayor said she was pleased.", "Allerede abonnent? Logg på"]
    reasons = _flags(texts)
    assert [bool(r) for r in reasons] == [False, False, False, True]


def test_syndicated_long_lines_are_not_template_lines():
    # a near-duplicate copy: one edited line is unique (count 1), the rest are in 3 documents
    texts = ["Menu item", LONG, LONG + " Two.", LONG + " Three."]
    reasons = _flags(texts, counts=[9, 1, 3, 3])
    assert "template_line" in reasons[0]
    assert reasons[1:] == [(), (), ()]


@pytest.mark.parametrize("before", [[], ["Home", "News", "Sport"]])
def test_the_headline_directly_above_the_article_is_content(before):
    texts = [*before, "Ny ferjerute mellom øyene", LONG, LONG + " Two.", "Logg på"]
    reasons = _flags(texts)
    k = len(before)
    assert reasons[k] == ()
    assert all(reasons[:k]) and reasons[-1]


@pytest.mark.parametrize("line", ["\u200d", "—", "* * *", "}", "👍 👍"])
def test_a_line_without_letters_or_digits_is_boilerplate_even_inside_the_article(line):
    reasons = _flags([LONG, line, LONG + " Two."])
    assert "no_text" in reasons[1]
    assert reasons[0] == reasons[2] == ()


def test_a_price_inside_the_article_is_no_letters_not_no_text():
    reasons = _flags([LONG, "$ 19.99", LONG + " Two."])
    assert reasons[1] == ()  # structural no_letters does not flag inside the block


def test_a_sentence_about_reading_time_is_not_a_reading_time_label():
    assert lexicon_reasons("It takes 5 min to read the manual.") == ()


@pytest.mark.parametrize(
    "line", ["Schedule a demo", "Start free trial", "First Name *", "Vorname *", "Search for:"]
)
def test_call_to_action_buttons_and_form_labels_are_navigation(line):
    assert lexicon_reasons(line) == ("lexicon_navigation",)


@pytest.mark.parametrize("line", ["She says: no.", "Phone number", "I like it"])
def test_ordinary_lines_near_those_phrases_are_not_flagged(line):
    assert lexicon_reasons(line) == ()


# --- reason codes: one enum, one mapping ------------------------------------------------


def test_every_reason_has_a_kind_and_rules_are_reason_names():
    assert set(REASON_KINDS) == set(Reason)
    assert {r.value for r in Reason} - {"empty_line"} == RULES
    assert all(r.value == r.value.lower() and " " not in r.value for r in Reason)
    assert Reason.NO_LETTERS.is_strong and Reason.NO_LETTERS.kind is Kind.STRUCTURAL
    assert not Reason.TOO_FEW_WORDS.is_strong and Reason.LEXICON_LOGIN.is_strong


def test_flag_lines_returns_plain_strings():
    reasons = _flags(["Home", LONG])
    assert all(type(c) is str for r in reasons for c in r)


@pytest.mark.parametrize(
    "bad", [{"min_template_docs": 0}, {"content_score": 0.0}, {"boilerplate_score": 1.0}]
)
def test_bad_config_raises(bad):
    with pytest.raises(ValueError):
        BoilerplateConfig(**bad)


def test_config_is_used():
    texts = ["Menu", LONG, "Footer"]
    strict = BoilerplateConfig(short_line_chars=len(LONG) + 1)
    assert _flags(texts)[1] == ()
    assert _flags(texts, config=strict)[1] != () or _flags(texts, config=strict)[0] != ()


# --- script-aware signals ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, punct",
    [
        ("这是一个句子。", True),  # zh full stop
        ("你好吗？", True),  # full-width question mark
        ("他说：「好。」", True),  # a sentence end inside closing brackets
        ("هل أنت مشترك؟", True),  # Arabic question mark
        ("यह एक वाक्य है।", True),  # Devanagari danda
        ("Это предложение.", True),
        ("Читайте «Новости»", False),  # a quoted title is no sentence
        ('Read "The Title"', False),
        ('He said "yes."', True),
        ("Hamburg (dpa)", True),
        ("Главная", False),
    ],
)
def test_terminal_punct_per_script(text, punct):
    assert has_terminal_punct(text) is punct


@pytest.mark.parametrize(
    "text, words",
    [
        ("这是一个很长的中文句子没有空格", 10),  # 15 Han characters / 1.5
        ("ภาษาไทยไม่มีช่องว่างระหว่างคำ", 19),  # Thai: 28 characters / 1.5
        ("Ein ganz normaler Satz", 4),
    ],
)
def test_words_are_counted_per_script(text, words):
    assert count_words(text) == words


def test_stopword_density_uses_the_language_stoplist():
    de = stopwords("de")
    assert stopword_density("Das ist ein Haus und es ist groß", de) >= 0.5
    assert stopword_density("Fahrrad Motorrad Quad Zubehör", de) == 0.0
    assert stopword_density("any words", frozenset()) is None
    assert stopwords("zh") == frozenset() and len(stopwords("fi")) > 100


def test_document_language_is_the_character_weighted_majority():
    langs = ["sv", "en", "sv", "und"]
    texts = ["En lång svensk mening om vädret.", "Home", "Ännu en mening.", "12"]
    assert document_language(langs, texts) == "sv"
    assert document_language(["und"], ["42"]) is None


def test_few_stopwords_is_weak_and_needs_a_language():
    keywords = "Fahrrad Motorrad Quad Zubehör Felgen Reifen"
    assert "few_stopwords" in line_evidence(keywords, lang="de").weak
    assert "few_stopwords" not in line_evidence(keywords).weak
    assert _flags([keywords], langs=["de"]) == [()]  # weak: the fallback keeps a lone line


# --- never empty: short clean documents and the fallback ---------------------------------


@pytest.mark.parametrize(
    "lines",
    [
        ["First document in folder a. It has a sentence."],
        ["Just landed in Lisbon, the light here is unreal #travel"],  # a tweet
        ["Organic cotton T-shirt", "Soft, breathable and made to last", "Machine washable"],
        ["Notice", "The library will be closed on Monday for maintenance."],
        ["Wie lange dauert die Lieferung?", "Wie kann ich bezahlen?", "Kann ich zurückgeben?"],
        ["这是一个简短的通知。"],
    ],
)
def test_short_clean_documents_keep_their_text(lines):
    reasons = _flags(lines)
    assert any(r == () for r in reasons)
    assert reasons[0] == () or lines[0] == "Notice"


def test_a_page_of_questions_without_a_long_sentence_keeps_them():
    texts = [
        "Home",
        "Login",
        "How do I reset my password?",
        "Can I change my delivery address?",
        "Where is my order?",
        "© 2024 Shop",
    ]
    reasons = _flags(texts)
    assert [bool(r) for r in reasons] == [True, True, False, False, False, True]


def test_fallback_2_keeps_wordy_lines_when_nothing_ends_like_a_sentence():
    texts = ["Search", "Red wool winter coat", "Blue cotton summer dress", "Add to cart"]
    reasons = _flags(texts)
    assert reasons[1] == () and reasons[2] == ()
    assert reasons[0] and reasons[3]


def test_content_blocks_fallback_only_without_content_evidence():
    # content evidence exists: the prose-like line on its own does not open a second block
    assert content_blocks(
        [False, True, True, None], [True, False, False, True], [True, False, False, True]
    ) == [True, False, False, False]
    assert content_blocks([True, None], [False, True], [False, True]) == [False, True]


@pytest.mark.parametrize(
    "lines, lang, content",
    [
        (  # forum thread: posts without final stops between bylines
            [
                "Forum",
                "Login",
                "Re: best tent for winter camping?",
                "Posted by hiker42 on 12 March 2021",
                "I have used the same four-season tent for years and it never let me down in snow",
                "Thanks, that helps a lot. Did you ever have trouble with condensation inside",
                "Reply",
            ],
            "en",
            [4, 5],
        ),
        (  # dictionary entry: a headword and short sense lines
            [
                "Wörterbuch",
                "Suche",
                "Haus",
                "das Haus, die Häuser",
                "Gebäude, in dem Menschen wohnen",
                "Beispiel: Wir kaufen ein Haus am See",
                "Impressum",
            ],
            "de",
            [2, 3, 4, 5],
        ),
        (  # product page: a name and a description without stops
            [
                "Inicio",
                "Zapatillas de running Ultra 3 para hombre",
                "Amortiguación ligera y suela de goma para los entrenamientos de cada día",
                "Tallas disponibles de la 38 a la 45",
                "Añadir al carrito",
                "Política de privacidad",
            ],
            "es",
            [2, 3],
        ),
    ],
)
def test_non_article_pages_keep_their_content_lines(lines, lang, content):
    reasons = _flags(lines, langs=[lang] * len(lines))
    assert [i for i in content if reasons[i]] == []
    assert reasons[0] and reasons[-1]  # the site furniture around them stays flagged


@pytest.mark.parametrize(
    ("lines", "lang"),
    [(["Kiitos kaikille!"], "fi"), (["Danke!"], "de"), (["¡Gracias a todos por venir!"], "es")],
)
def test_a_short_document_ending_like_a_sentence_keeps_its_text(lines, lang):
    assert _flags(lines, langs=[lang] * len(lines)) == [()] * len(lines)


@pytest.mark.parametrize(
    "lines", [["Hello"], ["Tack"], ["Hello world"], ["Summer sale", "Blue linen shirt"]]
)
def test_a_page_without_evidence_either_way_keeps_its_text(lines):
    """Fallback 3: no line is boilerplate or content evidence, so none is flagged."""
    assert _flags(lines) == [()] * len(lines)


@pytest.mark.parametrize(
    "lines", [["Home", "News"], ["Log in"], ["12:30", "Hello there"], ["© 2024 Acme", "Hello"]]
)
def test_a_short_page_with_boilerplate_evidence_stays_boilerplate(lines):
    assert all(_flags(lines))


def test_a_page_of_menu_words_only_stays_boilerplate():
    assert all(_flags(["Home", "News", "Sport", "Contact"]))


# --- per-language floors on the in-repo samples (permissive licences only) ---------------


def _load(path):
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _macro(pairs):
    c = Counter(pairs)
    tp, fp, fn, tn = c[True, True], c[True, False], c[False, True], c[False, False]

    def f1(a, b, d):
        return 2 * a / (2 * a + b + d) if a else 0.0

    return f1(tp, fp, fn), (f1(tp, fp, fn) + f1(tn, fn, fp)) / 2


@pytest.fixture(scope="module")
def sample_scores():
    """(winnow, rule) labelled pairs per group, and emptied pages, as the pipeline runs."""
    out = {}
    emptied = eligible = 0
    for path in (SAMPLE, SAMPLE_TRAFILATURA):
        pages = _load(path)
        keys = [[line_key(t) for t in p["lines"]] for p in pages]
        counts = Counter(k for ks in keys for k in set(ks) if k)
        texts = [t for p in pages for t in p["lines"]]
        langs = iter(r.lang for r in detect_lines(texts, [k for ks in keys for k in ks]))
        for page, ks in zip(pages, keys, strict=True):
            lg = [next(langs) for _ in ks]
            reasons = flag_lines(page["lines"], ks, [counts[k] if k else 0 for k in ks], langs=lg)
            groups = [page["source"], f"{page['source']}/{page['lang']}"]
            for text, r, lab in zip(page["lines"], reasons, page["labels"], strict=True):
                if not lab:
                    continue
                gold = lab == "boilerplate"
                rule = len(text.split()) < 3 or not text.rstrip().endswith(
                    (".", "!", "?", '"', "'")
                )
                for g in groups:
                    ours, base = out.setdefault(g, ([], []))
                    ours.append((bool(r), gold))
                    base.append((rule, gold))
            labs = [lab for lab in page["labels"] if lab]
            if labs and labs.count("content") >= 0.2 * len(labs):
                eligible += 1
                emptied += all(reasons)
    return out, emptied, eligible


# Measured (per line languages from detect_lines, key counts across each sample):
# scrapinghub macro 0.842 (rule 0.814; 11 pages: 0.851 before repeated sentences became
# unsure, 0.838 after, on all 109 dev pages 0.836 -> 0.835), wcxb 0.734 (rule 0.618); trafilatura
# sample (149 pages) macro 0.875 (rule 0.798): de (108 pages) 0.874 (rule 0.807), en (25
# pages) 0.899 (rule 0.727). Floors sit ~0.01 below, so regressions fail.
@pytest.mark.parametrize(
    "group, min_macro, min_gain_over_rule",
    [
        ("scrapinghub", 0.828, 0.015),
        ("wcxb", 0.724, 0.105),
        ("trafilatura", 0.865, 0.067),
        ("trafilatura/de", 0.864, 0.057),
        ("trafilatura/en", 0.889, 0.16),
    ],
)
def test_macro_f1_floor_per_source_and_language(
    sample_scores, group, min_macro, min_gain_over_rule
):
    ours, rule = sample_scores[0][group]
    macro, macro_rule = _macro(ours)[1], _macro(rule)[1]
    assert macro >= min_macro
    assert macro - macro_rule >= min_gain_over_rule


def test_no_sample_document_with_content_is_emptied(sample_scores):
    _, emptied, eligible = sample_scores
    assert eligible > 200 and emptied == 0


_ARTICLE = [
    "City council approves the new tram line",
    "The city council approved the new tram line on Tuesday after a debate of four hours.",
    "Construction is expected to begin next spring and to last for about three years.",
    "The mayor said the line would connect the northern districts with the main station.",
    "Opponents argued that the budget had been underestimated by the planning office.",
    "The first trams are to run in the autumn of the year after next, the council said.",
    "Tickets will cost the same as on the buses, and the old bus line will be shortened.",
    "A public consultation on the exact location of the eleven stops opens next month.",
]
_SHARE = [
    "Share this article",
    "Facebook",
    "Twitter",
    "Email",
    "Print",
    "Related articles",
    "Sign up for our newsletter",
    "Most read",
]
_POSTS = [
    "anna_k",
    "2 hours ago",
    "I have been waiting for this for years and I am glad it finally happened at last.",
    "My children will be able to take the tram to their school instead of the slow bus.",
    "Reply",
    "tom84",
    "3 hours ago",
    "Great news, but the construction will be a nightmare for the shops on the main road.",
    "Nobody asked the owners whether they could survive three years of closed streets.",
    "Reply",
]
_POST_LINES = (2, 3, 7, 8)  # the posts' sentences within _POSTS


@pytest.mark.parametrize(
    ("heading", "in_section"),
    [
        ("12 comments", True),
        ("Comments (3)", True),
        ("User Comments", True),
        ("Kommentare (2)", True),
        ("Комментарии", True),
        ("5 replies", False),  # a forum thread's replies are its content
        ("2 Answers", False),  # so are a Q&A page's answers
    ],
)
def test_reader_comments_after_a_comments_heading_are_flagged(heading, in_section):
    """The posts' sentences sit outside the article's block but not isolated (each between
    a date and a button): kept as content unless a comments heading opened their section."""
    page = [*_ARTICLE, *_SHARE, heading, *_POSTS]
    reasons = _flags(page)
    assert all(not r for r in reasons[1 : len(_ARTICLE)])  # the article keeps its text
    start = len(_ARTICLE) + len(_SHARE) + 1
    posts = [reasons[start + i] for i in _POST_LINES]
    if in_section:
        assert posts == [("comment_section",)] * 4
    else:
        assert posts == [()] * 4  # replies and answers stay content


def test_a_comments_heading_above_the_article_flags_nothing_of_it():
    reasons = _flags(["12 comments", *_ARTICLE, *_SHARE])
    assert all("comment_section" not in r for r in reasons)
    assert all(not r for r in reasons[2 : len(_ARTICLE) + 1])
