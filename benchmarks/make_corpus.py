"""Build a deterministic benchmark corpus for winnow (seeded; same args -> same bytes).

Sources: the real labelled pages in ../shared/eval/boilerplate/dev.jsonl.gz and the
sentences of ../shared/eval/langid/dev.tsv (51 languages). When ../shared is missing
(a user's clone), the small in-repo samples in benchmarks/data/ are used instead.

The corpus mixes file formats (.txt one document per file, .jsonl, .jsonl.gz, .jsonl.zst),
plants site templates (cookie banners, navigation lines, footers) shared across documents,
and plants exact and near duplicates. Usage:

    python benchmarks/make_corpus.py --lines 100000 --out benchmarks/out/corpus-100k
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import zstandard

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("WINNOW_SHARED", ROOT.parent / "shared"))
SHARED_PAGES = SHARED / "eval" / "boilerplate" / "dev.jsonl.gz"
SHARED_SENTENCES = SHARED / "eval" / "langid" / "dev.tsv"
SAMPLE_PAGES = ROOT / "benchmarks" / "data" / "pages_sample.jsonl.gz"
SAMPLE_SENTENCES = ROOT / "benchmarks" / "data" / "sentences_sample.tsv"

# Site templates planted into documents: (header lines, footer lines). Multilingual.
TEMPLATES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        ("We use cookies to improve your experience. Accept all cookies", "Home", "News", "Sport"),
        ("© 2024 Daily Example Media. All rights reserved.", "Privacy policy | Terms of use"),
    ),
    (
        ("Vi bruker informasjonskapsler. Godta alle", "Forsiden", "Nyheter", "Meny"),
        ("Allerede abonnent? Logg på", "Kopiering uten tillatelse er forbudt."),
    ),
    (
        ("Wir verwenden Cookies. Alle akzeptieren", "Startseite", "Politik", "Wirtschaft"),
        ("Impressum | Datenschutz | Kontakt", "© 2023 Beispiel Verlag GmbH"),
    ),
    (
        ("Nous utilisons des cookies. Tout accepter", "Accueil", "Actualités"),
        ("Mentions légales - Politique de confidentialité", "Lire la suite"),
    ),
    (
        ("Utilizamos cookies propias y de terceros. Aceptar", "Inicio", "Deportes"),
        ("Suscríbete a nuestro boletín", "Todos los derechos reservados © 2022"),
    ),
    (
        ("Share on Facebook", "Share on Twitter", "Subscribe to our newsletter"),
        ("Read more", "Sign in | Register", "Page 1 of 12"),
    ),
)
FORMATS = (".txt", ".jsonl", ".jsonl.gz", ".jsonl.zst")
FORMAT_WEIGHTS = (0.15, 0.35, 0.3, 0.2)
DOCS_PER_SHARD = 500
EXACT_DUP_RATE = 0.08
NEAR_DUP_RATE = 0.05
TEMPLATE_RATE = 0.7


@dataclass(frozen=True)
class Sources:
    """Real text the corpus is assembled from."""

    pages: list[list[str]]  # lines of each real page
    sentences: dict[str, list[str]]  # language -> sentences


def load_sources(pages_path: Path | None = None, sentences_path: Path | None = None) -> Sources:
    """Load ../shared eval data, falling back to the in-repo samples with a message."""
    if pages_path is None:
        pages_path = SHARED_PAGES if SHARED_PAGES.exists() else SAMPLE_PAGES
    if sentences_path is None:
        sentences_path = SHARED_SENTENCES if SHARED_SENTENCES.exists() else SAMPLE_SENTENCES
    for p in (pages_path, sentences_path):
        if not p.exists():
            sys.exit(f"error: corpus source {p} not found (need ../shared/eval or benchmarks/data)")
    if pages_path == SAMPLE_PAGES or sentences_path == SAMPLE_SENTENCES:
        print(
            f"note: ../shared/eval not found, using in-repo samples {pages_path.parent}",
            file=sys.stderr,
        )
    with gzip.open(pages_path, "rt", encoding="utf-8") as fh:
        pages = [json.loads(line)["lines"] for line in fh if line.strip()]
    sentences: dict[str, list[str]] = {}
    with open(sentences_path, encoding="utf-8") as fh:
        next(fh)  # header: lang kind text
        for row in fh:
            lang, kind, text = row.rstrip("\n").split("\t", 2)
            if kind in ("sentence", "caps_sentence"):
                sentences.setdefault(lang, []).append(text)
    return Sources(pages=[p for p in pages if p], sentences=sentences)


def _page_doc(rng: random.Random, src: Sources) -> list[str]:
    page = rng.choice(src.pages)
    n = rng.randint(10, 80)
    start = rng.randrange(max(1, len(page) - n + 1))
    return list(page[start : start + n])


def _sentence_doc(rng: random.Random, src: Sources) -> list[str]:
    langs = sorted(src.sentences)
    main = rng.choice(langs)
    lines = rng.choices(src.sentences[main], k=rng.randint(5, 40))
    if rng.random() < 0.3:  # a few lines in a second language
        other = rng.choice(langs)
        for _ in range(rng.randint(1, 3)):
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(src.sentences[other]))
    return lines


def make_documents(n_lines: int, *, seed: int = 0, src: Sources) -> list[list[str]]:
    """Documents (as line lists) totalling at least `n_lines` lines; deterministic per seed."""
    rng = random.Random(seed)
    docs: list[list[str]] = []
    total = 0
    while total < n_lines:
        r = rng.random()
        if docs and r < EXACT_DUP_RATE:
            doc = list(rng.choice(docs))
        elif docs and r < EXACT_DUP_RATE + NEAR_DUP_RATE:
            doc = list(rng.choice(docs))
            i = rng.randrange(len(doc))
            doc[i] = doc[i] + " " + rng.choice(["(updated)", "Reuters", "2024", "AP"])
        else:
            doc = _page_doc(rng, src) if rng.random() < 0.5 else _sentence_doc(rng, src)
            if rng.random() < TEMPLATE_RATE:
                head, foot = rng.choice(TEMPLATES)
                doc = [*head, *doc, *foot]
        docs.append(doc)
        total += len(doc)
    return docs


def _open_shard(path: Path):
    if path.suffix == ".gz":
        return gzip.GzipFile(path, "wb", mtime=0)  # mtime=0: byte-identical reruns
    if path.suffix == ".zst":
        return zstandard.ZstdCompressor(level=3).stream_writer(open(path, "wb"), closefd=True)
    return open(path, "wb")


def write_corpus(docs: list[list[str]], out: Path, *, seed: int = 0) -> dict:
    """Write documents into OUT in mixed formats; returns counts (documents, lines, files)."""
    rng = random.Random(seed + 1)
    if out.exists():
        shutil.rmtree(out)
    (out / "txt").mkdir(parents=True)
    shards: dict[str, list[list[str]]] = {f: [] for f in FORMATS[1:]}
    n_files = 0
    counters = dict.fromkeys(FORMATS, 0)

    def flush(fmt: str) -> None:
        nonlocal n_files
        path = out / f"shard-{counters[fmt]:05d}{fmt}"
        counters[fmt] += 1
        with _open_shard(path) as fh:
            for d in shards[fmt]:
                fh.write(json.dumps({"text": "\n".join(d)}, ensure_ascii=False).encode() + b"\n")
        shards[fmt].clear()
        n_files += 1

    for i, doc in enumerate(docs):
        fmt = rng.choices(FORMATS, FORMAT_WEIGHTS)[0]
        if fmt == ".txt":
            sub = out / "txt" / f"{i // 1000:04d}"
            sub.mkdir(exist_ok=True)
            (sub / f"doc-{i:07d}.txt").write_text("\n".join(doc) + "\n", encoding="utf-8")
            n_files += 1
        else:
            shards[fmt].append(doc)
            if len(shards[fmt]) >= DOCS_PER_SHARD:
                flush(fmt)
    for fmt in shards:
        if shards[fmt]:
            flush(fmt)
    return {"documents": len(docs), "lines": sum(len(d) for d in docs), "files": n_files}


def build_corpus(n_lines: int, out: Path, *, seed: int = 0, src: Sources | None = None) -> dict:
    """make_documents + write_corpus."""
    src = src or load_sources()
    return write_corpus(make_documents(n_lines, seed=seed, src=src), out, seed=seed)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=100_000, help="approximate total lines")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="default benchmarks/out/corpus-<lines>")
    ap.add_argument("--pages", type=Path, default=None, help=f"default {SHARED_PAGES}")
    ap.add_argument("--sentences", type=Path, default=None, help=f"default {SHARED_SENTENCES}")
    args = ap.parse_args(argv)
    out = args.out or ROOT / "benchmarks" / "out" / f"corpus-{args.lines}"
    stats = build_corpus(
        args.lines, out, seed=args.seed, src=load_sources(args.pages, args.sentences)
    )
    print(f"{out}: {stats['documents']} documents, {stats['lines']} lines, {stats['files']} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
