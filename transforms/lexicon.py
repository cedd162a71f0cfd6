"""Phrase lists, compiled patterns and per-language data of the boilerplate stage.

Data, not logic: `transforms/boilerplate.py` holds the rules that use these. The lexicon
keys are `Reason` codes of that module (`lexicon_*`).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from pathlib import Path

# Multilingual prompt lexicon: en, no, da, sv, de, fr, es, nl, it, pt, and the commonest
# navigation, login, share, legal, related-links and comment phrases in fi, pl, ru, el, zh.
# Phrases match from the start of a word (`word_start`) anywhere in a line of at most
# LEXICON_MAX_WORDS words; `^` ones at the line start; `WHOLE_LINE` entries only as the
# whole line.
LEXICON: dict[str, list[str]] = {
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
        r"^unterstützen sie (diese|unsere|uns)\b|^unterstütze (das|uns|unsere)\b",
        # "this content is for subscribers" notices of de, es, fr, sv, fi
        # (each led by a rare word: the prefilter tests a line's words against the leading
        # word, so "nur für" or "para" would send most German or Spanish lines to the regexes)
        r"réservée?s? aux (abonnés|membres)|exklusiv für (abonnenten|abonnentinnen|mitglieder)",
        r"(exclusivo|solo|sólo) para (suscriptores|socios)\b|endast för (prenumeranter|medlemmar)\b",
        r"vain tilaajille",
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
        # fi, pl, ru, el, zh
        r"\bkirjaudu( sisään| ulos)?\b",
        r"\brekisteröidy\b",
        r"\bzaloguj( się)?\b",
        r"\bzarejestruj( się)?\b",
        r"^(войти|вход|регистрация|выйти)\b",
        r"^(σύνδεση|είσοδος|εγγραφή|αποσύνδεση)\b",
        r"^(登录|注册|登入|退出)",
        # forgotten-password links of de, es, fr, sv, fi
        r"mot de passe oublié|passwort vergessen|olvidaste (tu|su) contraseña",
        r"glömt (ditt )?lösenord|unohditko salasana",
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
        r"^(teile|teilen sie) (diesen|den|diese)\b|\bbei pinterest speichern\b",
        r"^bild (anzeigen|schließen|vergrößern)\b",
        r"^følg oss\b",
        r"^følg os\b",
        r"^följ oss\b",
        r"^folge?n? uns\b",
        r"^suivez-nous\b",
        r"^síguenos\b",
        r"^volg ons\b",
        r"^seguici\b",
        r"^siga-nos\b",
        r"\budostępnij\b",
        r"^поделиться\b",
        r"^(jaa|jaa sivu|jaa artikkeli)\b",
        r"^κοινοποίηση\b",
        r"^分享到",
        # "send by e-mail" buttons
        r"^(envoyer par (e-?mail|courriel)|per e-?mail (versenden|senden|teilen|empfehlen)|"
        r"enviar por (correo|e-?mail)|skicka (med|som|via) e-?post|lähetä sähköpostilla|"
        r"(e-mail|email) this( (article|story|page|post))?)\W*$",
        # read-aloud players of news pages, en, de, es, fr, sv, fi: "Listen to this article"
        # (not followed by a sentence: "Listen to this story of my grandmother, who ...")
        r"^(listen to (this|the) article|listen to this story|(diesen )?(artikel|beitrag) "
        r"(anhören|vorlesen)|escucha(r)? (esta|la|el) (nota|noticia|artículo)|escuchar "
        r"(artículo|noticia|nota)|écouter (cet|l'|l’) ?article|lyssna på (artikeln|texten)|"
        r"kuuntele (artikkeli|juttu))\b[^.!?]{0,40}$",
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
        r"\bevästeet?\w*",
        r"\btietosuoja\w*",
        r"\bpolityka prywatności\b",
        r"\bciasteczk\w*",
        r"\bполитика конфиденциальности\b",
        r"\bπολιτική απορρήτου\b",
        r"隐私政策|隱私政策",
    ],
    "lexicon_copyright": [
        r"copyright|©|\(c\) \d{4}|all rights reserved|alle rettigheter|alle rechte vorbehalten",
        r"tous droits réservés|todos los derechos reservados|alle rechten voorbehouden",
        r"tutti i diritti riservati|todos os direitos reservados|alla rättigheter förbehållna",
        r"powered by\b",
        # stock-photo agency credits under images
        r"\b(getty images|shutterstock|istock|alamy)(\.com)?\W*$",
        # photo credits closing a caption: "(Foto: dpa)", "Foto: Andina", "(REUTERS/Name)"
        r"\((foto|fotos|bild|bildquelle|quelle|imagen|photo|credit|crédito|symbolbild)\b[^()]{0,60}\)\W*$",
        r"\b(foto|imagen|bild|photo|fotografía|crédit photo|crédits? photos?|kuva)\s?: [^.:;]{1,40}$",
        r"\((reuters|afp|ap|efe|dpa|epa)(/[^()]{1,40})?\)\W*$",
        # a caption closing in its agency: "... el 11 de febrero pasado. EFE"
        r"\. (reuters|afp|ap|efe|dpa|epa|ansa|europa press|tt|ntb|stt|lehtikuva|keystone)\W*$",
        r"^(photograph|photo|picture|image) by ",
        # licence and liability notices
        r"creative commons|\bcc-by\b|\blizenz(iert)? |haftung für (die )?inhalte",
        r"^(quelle|quellen|quellenangaben|fuente|källa|lähde)\s?:",
        r"\b(alle angaben ohne gewähr|ohne gewähr)\b",
        r"kaikki oikeudet pidätetään|wszelkie prawa zastrzeżone|все права защищены",
        r"με επιφύλαξη παντός δικαιώματος|版权所有|版權所有",
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
        # fi, pl, ru, el, zh and more de/es/fr/sv read-more and related-links headings
        r"^lesen sie (auch|mehr)\b",
        r"^(weitere|verwandte|ähnliche) (artikel|nachrichten|beiträge|themen|meldungen)\b",
        r"^das könnte (sie|dich) auch interessieren\b",
        r"^(lea|lee) (también|más)\b",
        r"^(otras noticias|noticias relacionadas|notas relacionadas|artículos relacionados|más noticias)\b",
        r"^(puedes ver|mira también|ver también|lea|lee)\s?:",
        r"^(auch interessant|empfohlen für (dich|sie))\b",
        r"^(mehr zu(m|r)?|schon gelesen|neueste artikel|weiterführende links|zurück zur)\b",
        r"^(también )?te puede interesar\b",
        r"^(à lire aussi|voir aussi|articles similaires|sur le même sujet|lire plus)\b",
        r"^(se även|relaterade artiklar|mest lästa|fler nyheter)\b",
        r"^(lue (lisää|myös)|katso myös|aiheeseen liittyvät|luetuimmat|uusimmat)\b",
        r"^(seuraava|edellinen) (artikkeli|juttu|sivu)\b",
        r"^(czytaj|zobacz) (więcej|także|też|również)\b",
        r"^(polecamy|podobne artykuły|najczęściej czytane|najnowsze)\b",
        r"^(читайте (также|далее)|подробнее|смотрите также|другие новости|самое читаемое)\b",
        r"^похожие (статьи|новости|материалы)\b",
        r"^(διαβάστε (επίσης|ακόμα|περισσότερα)|δείτε (επίσης|ακόμα)|σχετικά άρθρα)\b",
        r"^(相关新闻|相关阅读|相关文章|相關新聞|推荐阅读|阅读全文|上一篇|下一篇|返回顶部|责任编辑|点击排行)",
        # see-also and you-may-also-like headings, reading times, back-to-top links, tables of
        # contents of en, de, es, fr, sv, fi
        r"^(see also|read also|also read|siehe auch|ver también|se även|katso myös)(\s?:|\W*$)",
        r"^vous (aimerez|pourriez aimer)( peut-être)?( aussi| également)?\b",
        r"^du (kanske|kan) (också )?(gilla|gillar|vara intresserad)\b",
        r"^saatat (myös )?(pitää|olla kiinnostunut)\b|^(sinua voisi|voisit) (myös )?kiinnostaa\b",
        r"^(customers|kunden|les clients|los clientes|kunder) (who|die|qui|que|som) [^.]{0,40}"
        r"\b(also|auch|aussi|también|även|också)\b[^.]{0,40}$",
        r"^(reading time|temps de lecture|lesezeit|lesedauer|tiempo de lectura|lästid|lukuaika)"
        r"\s?:?\s?(ca\.? |env\.? |~)?\d+\s?(min|minutes?|minuten|minutos|minuter|minuuttia)\W*$",
        r"^(retour en haut( de (la )?page)?|volver arriba|ir arriba|till toppen|takaisin ylös|"
        r"zum seitenanfang|seitenanfang)\W*$",
        r"^(sommaire|sisällysluettelo|sisällys|innehåll)\W*$",
    ],
    "lexicon_newsletter": [
        r"newsletter|nyhetsbrev|nyhedsbrev|nieuwsbrief",
        r"\benter your e-?mail\b",
        r"\bsubscribe\b",
        r"\babonnieren\b",
        r"\babonner\b",
        r"uutiskirje|lettre d'information",
    ],
    "lexicon_comment": [
        r"^(leave|post|add) a (comment|reply)\b",
        r"^\d+ (comments?|replies|responses)\b",
        # forum and profile counters: "Posts: 292", "9844 posts", "Joined: Mar 2019"
        r"^[\d,.]+k? (posts?|messages|likes|reactions|views|followers|points|votes)$",
        r"^(posts|messages|likes|reactions|reputation|points|joined|member since)\s?: ",
        r"^(reply|svar|antworten|répondre|responder|rispondi)$",
        r"\bcancel reply\b",
        # comment headers, forms and notices: "Comment by X — date", "Schreib einen Kommentar"
        r"^(comment|kommentar|antwort|reply|comentario|commentaire) (by|von|de|par) ",
        r"^(eingestellt|geschrieben|gepostet|verfasst) (von|am)\b",
        r"\bin den kommentaren\b|^bewerten sie (dieses|diesen|diese)\b",
        r"^(schreib(e|en sie)? einen|dein|ihr) kommentar",
        r"\bkommentar(e|funktion) (deaktiviert|geschlossen|ist|wird)",
        r"\b(wird|werden) (benötigt und )?nicht veröffentlicht",
        r"\bno (será|serán) (publicad[oa]s?)\b",
        r"\bne sera pas publiée?\b",
        r"^(this entry was posted in|dieser eintrag wurde veröffentlicht)\b",
        r"\bbookmark the permalink\b|\bpermanentlink\b",
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
        r"^(kommentar schreiben|deja un comentario|laisser un commentaire|dodaj komentarz)\b",
        r"^(kommentoi|vastaa|odpowiedz|ответить|απάντηση)$",
        r"^(\d+ )?(kommentare|comentarios|commentaires|kommentit|kommentarer|komentarze|"
        r"комментари\w*|σχόλια)\W*\d*$",
        r"^(发表评论|评论)",
        # forum and Q&A furniture of en, de, es, fr, sv, fi: post buttons, member counters,
        # best-answer labels, askers, profile links, comment prompts and form notices
        r"^(quote|report( (abuse|post|this))?|citer|signaler|zitieren|melden|citar|reportar|"
        r"denunciar|citera|anmäl|svara|lainaa|ilmoita( asiaton( viesti)?)?|gefällt mir|"
        r"j'aime|me gusta|gilla|tykkää)$",
        r"^(inscrit( le| depuis)?|messages|registriert( seit)?|beiträge|dabei seit|mitglied seit|"
        r"registrado( desde)?|mensajes|miembro desde|medlem sedan|inlägg|registrerad|"
        r"liittynyt|viestejä|viestit|rekisteröitynyt)\s?: ",
        r"^(best answer|accepted answer|meilleure réponse|beste antwort|mejor respuesta|"
        r"bästa svar(et)?|paras vastaus)\W*$",
        r"^(asked|answered) (by|on) |^(question posée|réponse) (par|le) |^(frage|gefragt) von |"
        r"^(pregunta|respuesta) de \S+( \S+)? el\b|^(fråga|svar) från |^(kysyjä|vastaaja)\s?:",
        r"^((view|see) (full )?profile|voir (le )?profil|profil anzeigen|ver (el )?perfil|"
        r"visa profil(en)?|näytä profiili)$",
        r"^(lämna en kommentar|skriv en kommentar|kommentera|jätä kommentti|kirjoita kommentti|"
        r"écrire un commentaire|escribe un comentario|réagir|reagieren|comments)\W*$",
        r"kommer inte att publiceras|kommer inte publiceras|sähköpostiosoitettasi ei julkaista",
        r"^(this )?field is required\b|^(\* )?(pflichtfeld|champs? obligatoires?|campos? "
        r"obligatorios?|obligatoriskt fält|pakollinen kenttä)\W*$",
        r"^(did you (like|enjoy) this|was this (article|page|answer|review|information) "
        r"(helpful|useful))\b",
        r"^(cet article|cette page|cette réponse) vous a|^(hat|haben) (ihnen|dir) (dieser|der) "
        r"(artikel|beitrag) gefallen|^(war|ist) (dieser|der) (artikel|beitrag) hilfreich",
        r"^¿?(te|le) (ha )?(gustado|resultado útil|sido útil) (este|el|esta) (artículo|contenido|"
        r"información)|^gillade du (artikeln|inlägget)|^var (artikeln|sidan|svaret) (till )?hjälp|"
        r"^piditkö (artikkelista|jutusta)|^oliko (tästä|artikkelista|vastauksesta) apua",
        # review widgets: "Rating: 4.5 out of 5", "Note : 4,5/5 (12 avis)", "Customer reviews (12)"
        r"^(rating|rated|bewertung|valoración|calificación|note|betyg|arvio|arvosana)\s?:?\s?"
        r"[\d.,]+\s?(/|out of|von|de|sur|av)\s?\d",
        r"^(customer reviews|reviews|kundenbewertungen|bewertungen|avis( clients)?|"
        r"opiniones( de (los )?clientes)?|valoraciones|kundrecensioner|recensioner|omdömen|"
        r"asiakasarviot|arvostelut)\s?(\(\d+\))?\W*$",
    ],
}
# Taxonomy lines of blogs, forums and shops: tags, categories, "posted in" (navigation that
# is not the whole line), in en, de, es, fr, sv, fi and the lexicon's other languages.
LEXICON["lexicon_navigation"] = [
    r"^(tags?|tagged|labels?|schlagwörter|schlagworte|stichwörter|stichworte|"
    r"étiquettes?|mots-clés|etiquetas|palabras clave|taggar|nyckelord|avainsanat|tunnisteet|"
    r"emneord|stikord|trefwoorden|tag|parole chiave|kategorie(n)?|rubrik|rubriken|catégories?|"
    r"rubriques?|categorías?|categorias?|kategori(er)?|kategoria|kategoriat|categorieën|"
    r"categorie|filed under|posted in|categories)\s?:\s?[^.!?]+$",
    # (not before a number: "Posted in 2019, this review ..." is prose)
    r"^(posted|filed) (in|under) (?!\d)[^.!?]{1,80}$",
    r"^(veröffentlicht|abgelegt|gespeichert) (in|unter) (?!\d)[^.!?]{1,80}$",
    r"^(publié|classé) dans (?!\d)[^.!?]{1,80}$|^publicado en (?!\d)[^.!?]{1,80}$",
    r"^julkaistu kategoria(ssa|t) |^publicerad i (?!\d)[^.!?]{1,60}$",
]
# Whole lines that are navigation, share buttons or shop widgets in any of the languages.
WHOLE_LINE = (
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
    r"(your (name|phone( number)?|message|website|company)|name|phone( number)?|message|website|"
    r"company) \*|"
    r"(fornavn|etternavn|efternavn|förnamn|efternamn|vorname|nachname|prénom|voornaam|"
    r"achternaam|cognome|sobrenome|e-?postadresse|e-?postadress|e-?mail-adresse|"
    r"adresse e-?mail|correo electrónico|indirizzo e-?mail|endereço de e-?mail) ?\*?|"
    r"contact( us)?|about( us)?|sitemap|careers|faq|help|nous contacter|contactez-nous|"
    r"hjem|forside|søk|søg|sök|meny|startseite|suche|accueil|recherche|inicio|buscar|"
    r"zoeken|cerca|pesquisar|del|dela|teilen|partager|compartir|condividi|delen|"
    r"loading(\.\.\.)?|advertisement|annonse|annons|anzeige|publicité|publicidad|"
    r"advertentie|pubblicità|publicidade|sponsored|"
    # de, es, fr, sv, fi, pl, ru, el, zh menu and widget words
    r"drucken|versenden|nach oben|zurück|werbung|imprimir|volver|menú|imprimer|retour|"
    r"hem|startsida|skriv ut|kontakta oss|om oss|etusivu|haku|hae|valikko|tulosta|"
    r"yhteystiedot|palaute|takaisin|strona główna|szukaj|zaloguj|drukuj|więcej|reklama|"
    r"главная|поиск|меню|контакты|реклама|печать|ещё|далее|назад|наверх|"
    r"αρχική|αναζήτηση|επικοινωνία|εκτύπωση|διαφήμιση|περισσότερα|"
    r"首页|首頁|搜索|分享|打印|返回|更多|广告|關閉|关闭|收藏|"
    # shop buttons and account/site links of de, es, fr, sv, fi (and en)
    r"cart|basket|wishlist|my cart|view basket|sign in|log in|register|my account|"
    r"show more|see more|view more|next page|previous page|"
    r"in den warenkorb|warenkorb|zur kasse|jetzt kaufen|merkzettel|wunschliste|"
    r"registrieren|abmelden|kontakt|hilfe|weiter|mehr erfahren|mehr anzeigen|alle anzeigen|"
    r"añadir al carrito|agregar al carrito|carrito|comprar( ahora)?|registrarse|contacto|ayuda|"
    r"siguiente|anterior|ver más|ver todo|saber más|"
    r"ajouter au panier|panier|acheter( maintenant)?|s'inscrire|aide|suivant|précédent|"
    r"voir plus|voir tout|en savoir plus|"
    r"lägg i varukorgen|köp( nu)?|varukorg(en)?|mitt konto|registrera|kontakt|hjälp|nästa|"
    r"föregående|visa mer|visa alla|läs mer|"
    r"lisää ostoskoriin|ostoskori|osta( nyt)?|oma tili|ota yhteyttä|seuraava|edellinen|"
    r"näytä lisää|näytä kaikki|lue lisää"
    r"|"
    # stock, quantity, tax and article-number lines of shops; pagination
    r"in stock|out of stock|auf lager|nicht auf lager|sofort lieferbar|en stock|agotado|"
    r"en rupture de stock|i lager|slut i lager|varastossa|loppu varastosta|"
    r"quantity|menge|anzahl|cantidad|quantité|antal|määrä|kpl|"
    r"tax included|incl\.? (vat|tax)|inkl\.? mwst\.?(,? zzgl\.? versand(kosten)?)?|"
    r"iva incluido|ttc|prix ttc|inkl\.? moms|sis\.? alv( \d+ ?%)?|"
    r"(sku|ean|isbn|art\.?-?nr\.?|artikelnummer|artikelnr\.?|référence|réf\.?|referencia|"
    r"ref\.?|tuotenumero|tuotekoodi|produktnummer)(\s?[:#]\s?|\s)[\w-]*\d[\w-]*|"
    r"(page|seite|página|sida|sivu)\s\d+\s?(of|von|de|sur|av|/)\s?\d+|"
    r"(free (shipping|delivery)|kostenlose[rn]? (versand|lieferung)|versandkostenfrei|"
    r"envío (gratis|gratuito)|livraison (gratuite|offerte)|fri frakt|gratis frakt|"
    r"ilmainen (toimitus|kuljetus)|maksuton toimitus)( [^.!?]{0,30}\d[\d.,]*\s?[^\s.!?]{0,6})?"
)


def compile_lexicon(patterns: Sequence[str]) -> tuple[Callable[[str], object], ...]:
    """Up to three matchers per category (line-start, word-bounded, plain) for lowercased text.

    Python's re scans fast for one literal-led alternation but slowly for an alternation
    whose branches each start with an anchor, so anchors are factored out; the line-start
    group is tried at position 0 only (`match`: `search` would try every position).
    """
    start = [p[1:] for p in patterns if p.startswith("^")]
    word = [p[2:] for p in patterns if p.startswith(r"\b")]
    plain = [p for p in patterns if not p.startswith(("^", r"\b"))]
    out: list[Callable[[str], object]] = []
    if start:
        out.append(re.compile("(?:" + "|".join(start) + ")").match)
    if word:
        out.append(re.compile(r"\b(?:" + "|".join(word) + ")").search)
    if plain:
        out.append(re.compile("|".join(plain)).search)
    return tuple(out)


def split_alternatives(pattern: str) -> list[str]:
    r"""The top-level `|` branches of a regex (groups, classes and escapes kept whole).

    >>> split_alternatives(r"a(b|c)|[|]d|e\|f")
    ['a(b|c)', '[|]d', 'e\\|f']
    """
    out: list[str] = []
    cur: list[str] = []
    for _, token, depth, active in _scan_regex(pattern):
        if active and token == "|" and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(token)
    out.append("".join(cur))
    return out


def _group_end(pattern: str) -> int:
    """Index just past the group that opens at pattern[0] (which is "(")."""
    for i, token, depth, active in _scan_regex(pattern):
        if active and token == ")" and depth == 0:
            return i + 1
    return len(pattern)


def _scan_regex(pattern: str) -> Iterator[tuple[int, str, int, bool]]:
    """(index, token, group depth after it, active) per token of a regex: an escape is one
    inactive token; tokens inside a [...] class (and its closing ]) are inactive."""
    depth, in_class, i = 0, False, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            yield i, pattern[i : i + 2], depth, False
            i += 2
            continue
        active = not in_class
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c in "()":
            depth += 1 if c == "(" else -1
        yield i, c, depth, active
        i += 1


_SPECIAL = frozenset("\\()[].^$|?*+{}")


def leading_literals(pattern: str, *, letters_only: bool) -> set[str] | None:
    r"""Literal strings one of which every match of `pattern` starts with; None if unknown.

    `letters_only` stops at the first non-letter (for token-prefix tests); otherwise the
    literal runs on over other plain characters and escaped punctuation, and into a
    following group (for substring tests).

    >>> sorted(leading_literals(r"(tweet|pin) (this|it)\b", letters_only=True))
    ['pin', 'tweet']
    >>> leading_literals(r"cookies?\b", letters_only=True), leading_literals(r"\d+", letters_only=True)
    ({'cookie'}, None)
    >>> sorted(leading_literals(r"\((foto|bild)\b", letters_only=False))
    ['(bild', '(foto']
    """
    out: set[str] = set()
    for alt in split_alternatives(pattern):
        alt = alt.removeprefix(r"\b")
        lit: list[str] = []
        i = 0
        while i < len(alt):
            c = alt[i]
            if c == "\\" and not letters_only and i + 1 < len(alt) and not alt[i + 1].isalnum():
                c, step = alt[i + 1], 2
            elif c.isalpha() or (not letters_only and c not in _SPECIAL):
                step = 1
            else:
                break
            if i + step < len(alt) and alt[i + step] in "?*{":
                break
            lit.append(c)
            i += step
            if i < len(alt) and alt[i] == "+":
                break
        head = "".join(lit)
        rest = alt[i:]
        if rest.startswith("(") and not rest.startswith("(?") and (not head or not letters_only):
            end = _group_end(rest)
            if end < len(rest) and rest[end] in "?*{":
                if not head:
                    return None
                out.add(head)
                continue
            inner = leading_literals(rest[1 : end - 1], letters_only=letters_only)
            if not inner:
                if not head:
                    return None
                out.add(head)
                continue
            out |= {head + x for x in inner}
            continue
        if not head:
            return None
        out.add(head)
    return out


class LexiconFilter:
    r"""A fast necessary condition for any lexicon phrase to match a lowercased line.

    Line-start phrases need the line to start with their leading literal (one
    `str.startswith` of a tuple); word-bounded ones need a word of the line equal to their
    leading word (when the phrase goes on with a separator: "\bdel på") or starting with it
    (a dict lookup by its first three letters), and then the line to hold one of the
    literals that word leads; shorter leading words are tested as substrings; plain ones
    need their leading literal as a substring (`in`); what cannot be analysed is one
    residual regex (line-start ones tried at position 0 only). No regex scans most lines.
    """

    def __init__(self, patterns: Sequence[str]) -> None:
        # leading word -> the literals its matches start with (None: not known), for the
        # words a phrase follows with a separator (exact) and the others (prefixes)
        exact: dict[str, set[str] | None] = {}
        prefix_words: dict[str, set[str] | None] = {}
        starts: set[str] = set()
        substrings: set[str] = set()
        start_residual: list[str] = []
        residual: list[str] = []
        for p in patterns:
            if p.startswith("^"):
                lits = leading_literals(p[1:], letters_only=False)
                if lits is not None:
                    starts.update(lits)
                else:
                    start_residual.append(p[1:])
                continue
            words = leading_literals(p, letters_only=True)
            lits = leading_literals(p, letters_only=False)
            if words is not None and all(len(w) >= 3 for w in words):
                for w in words:
                    fulls = None if lits is None else {x for x in lits if x.startswith(w)}
                    target = exact if fulls and _whole_word(w, fulls) else prefix_words
                    known = target.get(w, set())
                    target[w] = None if known is None or not fulls else known | fulls
                continue
            if lits is not None and all(len(x) >= 2 for x in lits):
                substrings.update(lits)
            else:
                residual.append(p)

        def longer(fulls: set[str] | None, w: str) -> tuple[str, ...] | None:
            """The literals worth an `in` test after the word matched (None: none)."""
            if fulls is None or any(x == w for x in fulls):
                return None
            return tuple(sorted(fulls))

        # first three letters -> (leading word, its literals) (one dict lookup per word)
        prefixes: dict[str, list[tuple[str, tuple[str, ...] | None]]] = {}
        for w, fulls in sorted(prefix_words.items()):
            prefixes.setdefault(w[:3], []).append((w, longer(fulls, w)))
        # (the leading words, for one C-level `startswith` scan; then their literals)
        self.prefixes = {k: (tuple(w for w, _ in v), tuple(v)) for k, v in prefixes.items()}
        # leading words the pattern ends with a separator after ("\bdel på"): a word of
        # the line must be exactly one of them ("delivery" is not "del"), and the line must
        # hold one of the literals that word leads ("your email address will", not "your")
        self.exact = {w: longer(fulls, w) for w, fulls in exact.items()}
        # (its keys again as a frozenset: `isdisjoint` on it is ~8% of the filter's time faster
        # than on the dict's keys view, and almost every line stops there)
        self.exact_words = frozenset(self.exact)
        self.starts = tuple(sorted(starts))
        by_first: dict[str, list[str]] = {}
        for sub in sorted(substrings):
            by_first.setdefault(sub[0], []).append(sub)
        # grouped by first character: one `in` test per group when the line lacks it
        self.substrings = tuple((first, tuple(subs)) for first, subs in by_first.items())
        self.start_residual = re.compile("|".join(start_residual)).match if start_residual else None
        self.residual = re.compile("|".join(residual)).search if residual else None

    def __call__(self, low: str, words: Sequence[str] | None = None) -> bool:
        """True when some lexicon phrase may match `low` (never False when one does).

        `words`: `WORD.findall(low)`, if the caller has it.
        """
        if low.startswith(self.starts):
            return True
        if self.start_residual is not None and self.start_residual(low) is not None:
            return True
        if words is None:
            words = WORD.findall(low)
        if not self.exact_words.isdisjoint(words):
            for w in self.exact_words.intersection(words):
                fulls = self.exact[w]
                if fulls is None or any(x in low for x in fulls):
                    return True
        get = self.prefixes.get
        for w in words:
            leading = get(w[:3])
            if leading is not None and any(map(w.startswith, leading[0])):
                for lead, fulls in leading[1]:
                    if w.startswith(lead) and (fulls is None or any(x in low for x in fulls)):
                        return True
        for first, subs in self.substrings:
            if first in low and any(sub in low for sub in subs):
                return True
        return self.residual is not None and self.residual(low) is not None

    def re2_patterns(self) -> tuple[str, str]:
        """Two RE2 patterns, for lines at their start and anywhere, whose union matches every
        lowercased line this filter passes (and a few more): the same test as a batch scan
        (`line_candidates`), with this filter then run on the lines it lets through."""
        literals: set[str] = set()
        for w, fulls in self.exact.items():
            literals.update(fulls or (w,))
        for _, pairs in self.prefixes.values():
            for lead, fulls in pairs:
                literals.update(fulls or (lead,))
        for _, subs in self.substrings:
            literals.update(subs)
        start = [*map(_re2_literal, sorted(self.starts))]
        anywhere = [*map(_re2_literal, sorted(literals))]
        for matcher, out in ((self.start_residual, start), (self.residual, anywhere)):
            if matcher is not None:
                out.extend(map(re2_superset, split_alternatives(matcher.__self__.pattern)))
        return "(?s)^(?:" + "|".join(start) + ")", "(?s)(?:" + "|".join(anywhere) + ")"


_RE2_SPECIAL = frozenset("\\.^$|?*+()[]{}")


def _re2_literal(text: str) -> str:
    r"""`text` as an RE2 literal (RE2 rejects some of Python's `re.escape` escapes, `\ `).

    >>> _re2_literal("(c) 2024 ok?")
    '\\(c\\) 2024 ok\\?'
    """
    return "".join("\\" + c if c in _RE2_SPECIAL else c for c in text)


def re2_superset(pattern: str) -> str:
    r"""An RE2 pattern that matches wherever Python's `re.search(pattern)` does (and more).

    Every character class and class escape becomes `.` (one character of any kind, `(?s)`
    the caller's), word boundaries and lookarounds are dropped; RE2 lacks lookarounds, and
    its `\w`, `\s`, `\d` are ASCII where Python's are Unicode. Raises ValueError on what has
    no RE2 superset here (backreferences).

    >>> re2_superset(r"(?!\d)[^.!?]{1,80}$ \bdel på\b \d+ min\W*")
    '.{1,80}$ del på .+ min.*'
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            nxt = pattern[i + 1 : i + 2]
            if nxt in ("b", "B", "A", "Z"):
                pass  # zero-width: dropping it only widens the match
            elif nxt in ("d", "D", "w", "W", "s", "S"):
                out.append(".")
            elif nxt == "u":
                out.append("\\x{" + pattern[i + 2 : i + 6] + "}")
                i += 4
            elif nxt.isdigit() or nxt in ("g", "N", "P"):
                raise ValueError(f"no RE2 superset for {pattern[i : i + 2]!r} in {pattern!r}")
            else:
                out.append(pattern[i : i + 2])
            i += 2
        elif c == "[":
            i = _class_end(pattern, i)
            out.append(".")
        elif pattern.startswith("(?P=", i):
            raise ValueError(f"no RE2 superset for a backreference in {pattern!r}")
        elif pattern.startswith(("(?=", "(?!", "(?<=", "(?<!"), i):
            i += _group_end(pattern[i:])
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _class_end(pattern: str, start: int) -> int:
    """Index just past the [...] class that opens at pattern[start]."""
    i = start + 1
    if pattern[i : i + 1] == "^":
        i += 1
    if pattern[i : i + 1] == "]":  # a leading ] is a literal
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i + 1


# Characters that end a `WORD` token and that a phrase literal may hold after its first word.
_WORD_BREAKS = frozenset(" :;,.!?'’-/()&")


def _whole_word(word: str, literals: set[str]) -> bool:
    """True when every literal that starts with `word` continues with a word break, so a
    match needs a token equal to `word` (not merely starting with it).

    >>> _whole_word("del", {"del på"}), _whole_word("cookie", {"cookie"})
    (True, False)
    >>> _whole_word("del", {"del på", "delen på"})
    False
    """
    after = [lit[len(word) : len(word) + 1] for lit in literals if lit.startswith(word)]
    return bool(after) and all(c in _WORD_BREAKS for c in after)


def word_start(patterns: Sequence[str]) -> list[str]:
    r"""One pattern per top-level branch; a branch that starts with a letter gets `\b`.

    >>> word_start([r"copyright|©", r"^read more", r"\bdel på\b"])
    ['\\bcopyright', '©', '^read more', '\\bdel på\\b']
    """
    out: list[str] = []
    for p in patterns:
        branches = [p] if p.startswith("^") else split_alternatives(p)
        out.extend(rf"\b{b}" if b[:1].isalpha() else b for b in branches)
    return out


_PATTERNS = {code: word_start(pats) for code, pats in LEXICON.items()}
LEXICON_RES = {code: compile_lexicon(pats) for code, pats in _PATTERNS.items()}
# Checked before LEXICON_RES: no regex at all on most lines.
LEXICON_FILTER = LexiconFilter([p for pats in _PATTERNS.values() for p in pats])
# For lowercased lines (cheaper than re.IGNORECASE on the original).
WHOLE_LINE_RE = re.compile(rf"(?:{WHOLE_LINE})\W*")
# What every whole-line entry starts with: one `str.startswith` before the long fullmatch.
WHOLE_LINE_STARTS = tuple(sorted(leading_literals(WHOLE_LINE, letters_only=False) or ("",)))
# Menus written as one line: "Home | News | Sport".
NAV_SEPARATORS = re.compile(r"(\s[|•·»/>›]\s.*){2,}")
# The prefilters of a line's evidence as RE2 scans of a whole batch (`line_candidates`): the
# lexicon filter (one start and one anywhere pattern), the whole-line entries (at the line
# start: they are `fullmatch`ed), and a superset of NAV_SEPARATORS (two separators with a
# character between them).
LEXICON_RE2 = LEXICON_FILTER.re2_patterns()
WHOLE_LINE_RE2 = "(?s)^(?:" + re2_superset(WHOLE_LINE) + ")"
NAV_SEPARATORS_RE2 = "(?s)[|•·»/>›].+[|•·»/>›]"


def line_candidates(lows: Sequence[str]) -> tuple[list[bool], list[bool]]:
    """For many lowercased lines: (may match the lexicon or a whole-line entry, may match
    NAV_SEPARATORS); False only where the Python tests cannot pass (`LEXICON_FILTER` and
    `WHOLE_LINE_RE.fullmatch`, `NAV_SEPARATORS.search`).

    Three RE2 scans over the whole list (~1 µs a line against ~13 µs for the Python tests);
    text that Arrow cannot hold (lone surrogates) leaves every line to the Python tests.
    Lines must hold no newline (`(?s)`: `.` matches one; `$` is the end of the text).

    >>> line_candidates(["all rights reserved", "a | b | c", "a quiet sentence."])
    ([True, False, False], [False, True, False])
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    start, anywhere = LEXICON_RE2
    try:  # (a pattern RE2 cannot compile fails here too: test_lexicon checks they compile)
        lines = pa.array(lows, pa.large_string())
        lexicon = pc.or_(
            pc.or_(
                pc.match_substring_regex(lines, start), pc.match_substring_regex(lines, anywhere)
            ),
            pc.match_substring_regex(lines, WHOLE_LINE_RE2),
        )
        separators = pc.match_substring_regex(lines, NAV_SEPARATORS_RE2)
    except (UnicodeError, pa.ArrowException):
        return [True] * len(lows), [True] * len(lows)
    return lexicon.to_pylist(), separators.to_pylist()


# A line that is only a date, a time, or a byline with a date.
_MONTHS = (
    r"(?:jan|feb|mar|mär|apr|may|maj|jun|jul|aug|sep|oct|nov|dec|mai|okt|dez|des|janv|févr|avr|"
    r"juil|déc|ene|abr|ago|dic|mrt|gen|giu|lug|set|ott|fev|out)[a-zéû]*\.?"
)
DATE_LINE = re.compile(
    r"^(?:(?:posted|published|updated|by|veröffentlicht|aktualisiert|erstellt|stand|publié|"
    r"mis à jour|publicado|actualizado|publicerad|uppdaterad|julkaistu|päivitetty|muokattu)"
    # or one to three words (a user name, an author) before the date, in a line that does
    # not end like a sentence ("He died on July 26, 2025." stays prose)
    r"\b.{0,60}|(?!.*\.\s*$)(?:[^\W\d][\w.'’-]*\s){1,3}(?:[–—|·-]\s)?)?"
    rf"(?:\d{{1,4}}[./-]\d{{1,2}}[./-]\d{{1,4}}|{_MONTHS} \d{{1,2}},? \d{{4}}|"
    rf"\d{{1,2}}\.? (?:de )?{_MONTHS} (?:de )?\d{{4}}|\d{{1,2}}\. [a-zäö]+kuuta \d{{4}})"
    r"(?:,?\s(?:at|um|à|a las|kl\.?|klo|-)?\s?\d{1,2}[:.h]\d{2}(?::\d{2})?"
    r"(?: ?(?:[ap]\.?m\.?|uhr|h|[+-]\d{2}:?\d{2}|utc|gmt|cet|cest))?)?"
    # a forum post's number or a comment count after the date ("July 26, 2025, 9:58pm 3")
    r"(?:\s(?:[|#·]\s?)?\d{1,4})?\W*$",
    re.IGNORECASE,
)
# Every DATE_LINE match holds a digit: the cheap test before it.
HAS_DIGIT = re.compile(r"\d").search
# A byline that is the whole line: "By Jane Doe", "Von Hans Müller", "Par Jean Dupont", "Por
# Juan Pérez", "Av Anna Svensson", "Kirjoittanut Matti Virtanen" (case-sensitive: two to six
# capitalised name words, not an article, so a title-case heading "By The Numbers" stays).
BYLINE = re.compile(
    r"^(?:By|BY|Von|VON|Par|PAR|Por|POR|Av|AV|Kirjoittanut|Teksti|Text|Texto|Texte|Autor|"
    r"Autorin|Auteur|Author|Författare|Kirjoittaja)\s?:?\s"
    r"(?!(?:The|A|An|Der|Die|Das|Le|La|Les|El|Los|Las|Un|Une|Ein|Eine|En|Ett)\b)"
    r"[A-ZÀ-ÖØ-Þ][\w'’.-]*,?(?:\s(?:(?:de|van|von|der|la|le|del|y|och|und|and|&)\s)?"
    r"[A-ZÀ-ÖØ-Þ][\w'’.-]*,?){1,5}\W*$"
)
# "79 days ago", "vor 3 Tagen", "il y a 2 heures", "3 dager siden": relative timestamps of
# bylines, comments and teasers, in the lexicon's ten languages.
RELATIVE_TIME = re.compile(
    r"^(?:(?:posted|published|updated|edited|för)\s+)?(?:"
    r"(?:\d+|an?|one)\s+(?:second|minute|min|hour|hr|day|week|month|year)s?\s+ago|"
    r"vor\s+(?:\d+|einer?|einem)\s+(?:sekunde|minute|stunde|tag|woche|monat|jahr)\w*|"
    r"il\s+y\s+a\s+\d+\s+(?:seconde|minute|heure|jour|semaine|mois|an)s?|"
    r"hace\s+\d+\s+(?:segundo|minuto|hora|día|semana|mes|año)\w*|"
    r"há\s+\d+\s+(?:segundo|minuto|hora|dia|semana|mês|mes|ano)\w*|"
    r"\d+\s+(?:sekund|minutt|minut|time|timer|timme|timmar|dag|dage|dager|dagar|uke|uker|uge|"
    r"uger|vecka|veckor|måned|måneder|månad|månader|år)\w*\s+(?:siden|sedan)|"
    r"\d+\s+(?:sekuntia|minuuttia|tuntia|päivää|viikkoa|kuukautta|vuotta)\s+sitten|"
    r"\d+\s+(?:seconde|minuut|minuten|uur|dag|dagen|week|weken|maand|maanden|jaar)\s+geleden|"
    r"\d+\s+(?:secondi|minuti|ore|ora|giorni|giorno|settimane|mesi|anni|anno)\s+fa"
    r")\W*$",
    re.IGNORECASE,
)
# A letter or digit in any script: a line without one carries no words (punctuation, symbols,
# emoji, zero-width characters left by the HTML-to-text step).
ALNUM = re.compile(r"[^\W_]")
CJK_CHARS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
WORD = re.compile(r"[^\W\d_]+")
# WORD on lowercased ASCII text (~1.6x faster than the Unicode class there).
ASCII_WORD = re.compile(r"[a-z]+")

# Scripts written without spaces between words: a whitespace "word" there is a clause.
# Han, kana (Chinese, Japanese), Thai, Lao, Khmer, Myanmar.
NO_SPACE_CHARS = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    r"\u0e00-\u0e7f\u0e80-\u0eff\u1780-\u17ff\u1000-\u109f]"
)
# Sentence-final punctuation per script: Latin/Cyrillic/Greek `. ! ? … :`, the Greek
# question mark (U+037E), CJK full stops and full-width
# marks `。！？．`, Arabic/Persian `؟ ۔`, Devanagari/Bengali danda `। ॥`, Armenian `։`,
# Ethiopic `።`, Myanmar `။`, Khmer `។`.
SENTENCE_END = (
    ".!?\u2026:\u037e\u3002\uff01\uff1f\uff0e\u061f\u06d4\u0964\u0965\u0589\u1362\u104b\u17d4"
)
# Closing quotes and brackets that may follow the sentence end: `." .» .” .) 。」`.
CLOSERS = "\"'\u201d\u2019\u201c\u00bb\u203a)]\u300d\u300f\u3011\uff09\u300b"

# ISO 639-1 codes (as langdetect labels lines) -> jusText 3.0.2 stoplist names
# (Pomikalek 2011; the stoplists ship inside the justext package, BSD licence).
JUSTEXT_STOPLISTS: dict[str, str] = {
    "af": "Afrikaans",
    "an": "Aragonese",
    "ar": "Arabic",
    "bg": "Bulgarian",
    "bn": "Bengali",
    "ca": "Catalan",
    "cs": "Czech",
    "cy": "Welsh",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "et": "Estonian",
    "eu": "Basque",
    "fa": "Persian",
    "fi": "Finnish",
    "fr": "French",
    "gl": "Galician",
    "gu": "Gujarati",
    "he": "Hebrew",
    "hi": "Hindi",
    "hr": "Croatian",
    "hu": "Hungarian",
    "id": "Indonesian",
    "is": "Icelandic",
    "it": "Italian",
    "kn": "Kannada",
    "ko": "Korean",
    "lt": "Lithuanian",
    "lv": "Latvian",
    "mk": "Macedonian",
    "ml": "Malayalam",
    "mr": "Marathi",
    "ne": "Nepali",
    "nl": "Dutch",
    "nn": "Norwegian_Nynorsk",
    "no": "Norwegian_Bokmal",
    "pa": "Western_Panjabi",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sk": "Slovak",
    "sl": "Slovenian",
    "sq": "Albanian",
    "sr": "Serbian",
    "sv": "Swedish",
    "sw": "Swahili",
    "ta": "Tamil",
    "te": "Telugu",
    "tl": "Tagalog",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "vi": "Vietnamese",
}


# A heading that opens the reader-comment section of a page ("12 comments", "Comments (3)",
# "User Comments", "297 comments below", "Kommentare (2)", "Комментарии"): the lines after it,
# below the main content, are readers' posts (DAnIEL and WCXB label them boilerplate).
# Forum and Q&A pages use "replies" and "answers", which it leaves alone. Eval (README,
# Boilerplate quality): DAnIEL en +0.007, sign test dev 25 / 4, DAnIEL 27 / 0, trafilatura 4 / 0.
COMMENTS_HEADING = re.compile(
    r"^((\d+|no) )?((reader|user|selected|latest|recent|top) )?(comments?|kommentare|"
    r"kommentarer|kommentit|komentarze|комментари\w*|σχόλια|commentaires|comentarios|评论)"
    r"( ?[\(\[]\d+[\)\]])?( below)?\W*$",
    re.IGNORECASE,
)


@cache
def stopwords(lang: str) -> frozenset[str]:
    """jusText's stoplist for an ISO 639-1 code (lowercase words); empty when it has none.

    >>> "the" in stopwords("en"), "und" in stopwords("de"), len(stopwords("zh-cn"))
    (True, True, 0)
    """
    name = JUSTEXT_STOPLISTS.get(lang.split("-")[0])
    if name is None:
        return frozenset()
    return frozenset(w.decode("utf8").lower() for w in _stoplist_bytes(name).splitlines())


@cache
def _justext_folder() -> Path:
    """jusText's package folder, found without importing it (its import loads lxml: ~5 MiB
    per process for what is, here, only a folder of word lists)."""
    spec = importlib.util.find_spec("justext")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("justext is not installed (a dependency of trafilatura)")
    return Path(next(iter(spec.submodule_search_locations)))


def _stoplist_bytes(name: str) -> bytes:
    """The bytes of jusText's `stoplists/<name>.txt` (what `justext.get_stoplist` reads)."""
    return (_justext_folder() / "stoplists" / f"{name}.txt").read_bytes()
