"""Readers on small real-format samples, and the real flow on a corpus of bad inputs."""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from flows.readers import MAX_DOCUMENT_LINES, MAX_EXPANDED_ENV, discover_inputs, read_documents
from transforms.config import PipelineConfig
from transforms.extract import make_doc_id
from transforms.records import Document, ErrorRecord

REPO = Path(__file__).resolve().parents[2]
ARTICLE = (
    "The council approved the new budget on Tuesday after a long debate.\n"
    "Schools will receive more money for teachers and buildings next year."
)
HTML = (
    "<html><head><title>Budget</title></head><body>"
    "<nav><a href='/'>Home</a> | <a href='/news'>News</a></nav>"
    "<article><h1>Council approves budget</h1>"
    "<p>The council approved the new budget on Tuesday after a long debate.</p>"
    "<p>Schools will receive more money for teachers and buildings next year.</p>"
    "</article><footer>Copyright 2024 Example News</footer></body></html>"
)


def compress(data: bytes, comp: str) -> bytes:
    if comp == ".gz":
        return gzip.compress(data)
    if comp == ".bz2":
        return bz2.compress(data)
    if comp == ".zst":
        return zstandard.ZstdCompressor().compress(data)
    return data


def make_warc(*, wet: bool = False) -> bytes:
    """A small WARC (response + request + image) or WET (conversion) file, made with warcio."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False)
    writer.write_record(writer.create_warcinfo_record("x.warc", {"software": "test"}))
    if wet:
        for i, text in enumerate([ARTICLE, "Ein zweiter Text auf Deutsch, mit mehreren Wörtern."]):
            writer.write_record(
                writer.create_warc_record(
                    f"https://example.com/{i}",
                    "conversion",
                    payload=io.BytesIO(text.encode()),
                    warc_content_type="text/plain",
                )
            )
        return buf.getvalue()
    writer.write_record(
        writer.create_warc_record(
            "https://example.com/a", "request", payload=io.BytesIO(b"GET /a HTTP/1.1\r\n\r\n")
        )
    )
    for uri, ctype, body in [
        ("https://example.com/a", "text/html; charset=utf-8", HTML.encode()),
        ("https://example.com/logo.png", "image/png", b"\x89PNG\r\n\x1a\n" + bytes(64)),
    ]:
        headers = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
        writer.write_record(
            writer.create_warc_record(
                uri, "response", payload=io.BytesIO(body), http_headers=headers
            )
        )
    return buf.getvalue()


def make_parquet(rows: list[dict]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    return sink.getvalue()


def read_all(path: Path, config: PipelineConfig | None = None) -> list[Document | ErrorRecord]:
    files, errors = discover_inputs([str(path)])
    assert not errors
    return [r for f in files for r in read_documents(f, config or PipelineConfig())]


SAMPLES = {
    ".txt": ARTICLE.encode(),
    ".jsonl": (json.dumps({"text": ARTICLE}) + "\n").encode(),
    ".html": HTML.encode(),
    ".warc": make_warc(),
    ".wet": make_warc(wet=True),
    ".parquet": make_parquet([{"text": ARTICLE, "n": 1}]),
}


@pytest.mark.parametrize("comp", ["", ".gz", ".zst", ".bz2"])
@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_every_format_and_compression_reads_the_article(tmp_path, fmt, comp):
    path = tmp_path / f"sample{fmt}{comp}"
    path.write_bytes(compress(SAMPLES[fmt], comp))
    # a WARC's image response is an error row, not a document (checked below)
    docs = [d for d in read_all(path) if not (fmt == ".warc" and isinstance(d, ErrorRecord))]
    assert all(isinstance(d, Document) for d in docs), docs
    assert docs[0].text.endswith(
        "Schools will receive more money for teachers and buildings next year."
    )
    assert "The council approved the new budget on Tuesday after a long debate." in docs[0].text
    assert "Copyright" not in docs[0].text and "Home" not in docs[0].text
    # stable ids: the same source and record give the same doc_id
    assert [d.doc_id for d in read_all(path) if isinstance(d, Document)] == [d.doc_id for d in docs]


def test_every_format_and_compression_through_winnow_run(tmp_path):
    """The same samples through `winnow run` (its process refuses pandas: every reader and
    stage must work without it): every file's documents are kept or duplicates, none lost."""
    from prefect.settings import PREFECT_API_URL

    inp = tmp_path / "in"
    inp.mkdir()
    for fmt, data in SAMPLES.items():
        for comp in ("", ".gz", ".zst", ".bz2"):
            (inp / f"sample{fmt}{comp}").write_bytes(compress(data, comp))
    env = {**os.environ, "PYTHONPATH": str(REPO), "PREFECT_API_URL": PREFECT_API_URL.value()}
    proc = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", str(inp), "-o", str(tmp_path / "out")],
        cwd=REPO,
        env={**env, "WINNOW_PROGRESS_INTERVAL": "0"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    docs = pd.read_parquet(tmp_path / "out" / "documents")
    dups = pd.read_parquet(tmp_path / "out" / "duplicates")
    errors = pd.read_parquet(tmp_path / "out" / "errors")
    files = {f"in/{p.name}" for p in inp.iterdir()}
    assert set(docs["source"]) | set(dups["source"]) == files
    assert len(docs) + len(dups) == len(set(docs["doc_id"]) | set(dups["doc_id"]))
    assert set(errors["reason"]) == {"unsupported_content_type"}  # the WARCs' image records
    assert set(errors["source"]) == {f for f in files if ".warc" in f}
    lines = pd.read_parquet(tmp_path / "out" / "lines")
    assert set(lines["doc_id"]) == set(docs["doc_id"]) | set(dups["doc_id"])
    assert any("Schools will receive more money" in text for text in docs["text"])


def test_html_keeps_line_structure(tmp_path):
    (tmp_path / "page.htm").write_bytes(HTML.encode())
    (doc,) = read_all(tmp_path / "page.htm")
    assert doc.text.split("\n") == ARTICLE.split("\n") or doc.text.split("\n")[1:] == ARTICLE.split(
        "\n"
    )


def test_warc_reads_html_responses_with_url_and_reports_non_text_ones(tmp_path):
    (tmp_path / "crawl.warc.gz").write_bytes(gzip.compress(make_warc()))
    doc, image = read_all(tmp_path / "crawl.warc.gz")  # warcinfo and request are skipped
    assert doc.record == 2 and doc.url == "https://example.com/a"  # warcinfo 0, request 1
    assert ARTICLE.split("\n")[0] in doc.text
    assert isinstance(image, ErrorRecord) and image.record == 3
    assert image.reason == "unsupported_content_type" and "image/png" in image.message


def test_per_record_gzipped_warc_as_written_by_crawlers(tmp_path):
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True)
    for i in range(3):
        writer.write_record(
            writer.create_warc_record(
                f"https://e.com/{i}",
                "conversion",
                payload=io.BytesIO(f"Document number {i} has a few words.".encode()),
                warc_content_type="text/plain",
            )
        )
    (tmp_path / "cc.warc.wet.gz").write_bytes(buf.getvalue())
    docs = read_all(tmp_path / "cc.warc.wet.gz")
    assert [d.text for d in docs] == [f"Document number {i} has a few words." for i in range(3)]
    assert [d.url for d in docs] == [f"https://e.com/{i}" for i in range(3)]
    assert len({d.doc_id for d in docs}) == 3


def test_parquet_text_and_id_fields_configurable(tmp_path):
    rows = [{"body": "First text here.", "uid": "a1"}, {"body": None, "uid": "a2"}]
    (tmp_path / "p.parquet").write_bytes(make_parquet(rows))
    recs = read_all(tmp_path / "p.parquet", PipelineConfig(text_field="body", id_field="uid"))
    assert isinstance(recs[0], Document) and recs[0].doc_id == "a1"
    assert isinstance(recs[1], ErrorRecord) and recs[1].reason == "missing_text_field"
    missing = read_all(tmp_path / "p.parquet")
    assert [r.reason for r in missing] == ["missing_text_field"]


@pytest.mark.parametrize(
    "data, encoding, replaced",
    [
        (codecs.BOM_UTF16_LE + "Logg på her.".encode("utf-16-le"), "utf-16", False),
        ("Allerede abonnent? Logg på her for å lese.".encode("latin-1"), "cp1252", False),
        (b"Valid start \xff\xfe\xfa broken middle " + "ok på".encode() * 3, "utf-8", True),
    ],
)
def test_encodings_recorded_per_document(tmp_path, data, encoding, replaced):
    (tmp_path / "e.txt").write_bytes(data)
    (doc,) = read_all(tmp_path / "e.txt")
    assert (doc.encoding, doc.decode_replaced) == (encoding, replaced)
    assert "på" in doc.text or "\ufffd" in doc.text


# ---------------------------------------------------------------------------------------
# The real flow on a corpus of bad inputs next to good ones.

GOOD = {
    "good/a.txt": "Good text file number one has a sentence.",
    "good/b.txt.gz": "Good gzip file holds another sentence here.",
}
BAD_REASONS = {  # input -> reason of its one errors row
    "bad/garbage.txt": "binary_content",
    "bad/corrupt.txt.gz": "corrupt_archive",
    "bad/truncated.txt.zst": "corrupt_archive",
    "bad/empty.txt": "empty_document",
    "bad/bomb.txt.gz": "decompression_limit",
    "bad/image.png": "unsupported_format",
    "bad/escape.txt": "symlink_outside_input",
    "bad/dangling.txt": "unreadable_file",
    "bad/huge_line.txt": "line_too_long",
    "bad/newlines.txt.gz": "document_too_large",  # more lines than MAX_DOCUMENT_LINES
    "bad/crawl_with_image.warc.gz": "unsupported_content_type",  # its HTML page is loaded
}
HUGE_LINE_BYTES = 50 * 1024**2


def build_bad_corpus(root: Path) -> Path:
    inp = root / "in"
    for rel, text in GOOD.items():
        p = inp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(compress(text.encode(), ".gz" if rel.endswith(".gz") else ""))
    bad = inp / "bad"
    bad.mkdir()
    (bad / "garbage.txt").write_bytes(bytes((i * 7919) % 256 for i in range(20_000)))
    (bad / "invalid_utf8.txt").write_bytes(
        b"Broken bytes " + b"\xff\x80" + " in a good sentence: på norsk, ærlig og søt.".encode()
    )
    (bad / "utf16.txt").write_bytes("Tekst med BOM på norsk, æøå.".encode("utf-16"))
    (bad / "latin1.txt").write_bytes(
        "Der Bürgermeister sagte, dass die Straße bleibt.".encode("latin-1")
    )
    (bad / "nul_bytes.txt").write_bytes(b"Text with a NUL\x00 byte in the middle of it.")
    (bad / "corrupt.txt.gz").write_bytes(gzip.compress(b"x" * 1000)[:12] + b"\x00garbage" * 20)
    full = zstandard.ZstdCompressor().compress(b"A sentence that gets cut off. " * 2000)
    (bad / "truncated.txt.zst").write_bytes(full[: len(full) // 2])
    (bad / "empty.txt").write_bytes(b"")
    (bad / "bomb.txt.gz").write_bytes(gzip.compress(b"\x20" * (8 * 1024**2)))  # 8 MB of spaces
    (bad / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    newlines = b"Intro sentence here.\n" + b"\n" * MAX_DOCUMENT_LINES  # under the 1 MiB cap
    (bad / "newlines.txt.gz").write_bytes(gzip.compress(newlines))
    (bad / "crawl_with_image.warc.gz").write_bytes(gzip.compress(make_warc()))
    lines = [
        json.dumps({"text": "First good JSON line has words."}),
        "{not json",
        json.dumps({"title": "no text field"}),
        json.dumps({"text": 42}),
        "[1, 2]",
        json.dumps({"text": "Second good JSON line has words."}),
    ]
    (bad / "mixed.jsonl").write_text("\n".join(lines) + "\n")
    outside = root / "secret.txt"
    outside.write_text("Outside the input folder; must not be read.")
    (bad / "escape.txt").symlink_to(outside)
    (bad / "dangling.txt").symlink_to(bad / "missing-target.txt")
    locked = bad / "locked.txt"
    locked.write_text("A file without read permission has text.")
    locked.chmod(0)
    words = b"lorem ipsum dolor sit amet consectetur "
    (bad / "huge_line.txt").write_bytes(words * (HUGE_LINE_BYTES // len(words)))
    return inp


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    inp = build_bad_corpus(root)
    env = {**os.environ, MAX_EXPANDED_ENV: str(1024**2), "PYTHONPATH": str(REPO)}
    from prefect.settings import PREFECT_API_URL

    env["PREFECT_API_URL"] = PREFECT_API_URL.value()
    proc = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", str(inp), "-o", str(root / "out"), "--quiet"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return root / "out", proc


def test_bad_inputs_run_finishes_with_summary(bad_run):
    out, proc = bad_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    runs = pd.read_parquet(out / "runs")
    errors = pd.read_parquet(out / "errors")
    assert int(runs["n_errors"].iloc[0]) == len(errors)
    assert f"errors          {len(errors)} (" in proc.stdout


def test_every_good_document_is_loaded(bad_run):
    out, _ = bad_run
    docs = pd.read_parquet(out / "documents")
    lines = pd.read_parquet(out / "lines", columns=["doc_id", "text"])
    dups = pd.read_parquet(out / "duplicates")
    loaded = set(docs["doc_id"]) | set(dups["doc_id"])
    expected = [
        ("in/good/a.txt", 0),
        ("in/good/b.txt.gz", 0),
        ("in/bad/invalid_utf8.txt", 0),
        ("in/bad/utf16.txt", 0),
        ("in/bad/latin1.txt", 0),
        ("in/bad/nul_bytes.txt", 0),
        ("in/bad/mixed.jsonl", 0),
        ("in/bad/mixed.jsonl", 5),
        ("in/bad/huge_line.txt", 0),
        ("in/bad/crawl_with_image.warc.gz", 2),
    ]
    if os.geteuid() == 0:  # root reads chmod-000 files: it is then a good document
        expected.append(("in/bad/locked.txt", 0))
    ids = {src if rec == 0 else f"{src}#{rec}": make_doc_id(src, rec) for src, rec in expected}
    assert set(ids.values()) <= loaded
    assert set(lines["doc_id"]) == set(ids.values())  # and nothing else (no escaped symlink)
    meta = docs.set_index("doc_id")
    assert meta.loc[ids["in/bad/utf16.txt"], "encoding"] == "utf-16"
    assert meta.loc[ids["in/bad/latin1.txt"], "encoding"] == "cp1252"
    assert meta.loc[ids["in/bad/invalid_utf8.txt"], "decode_replaced"]
    assert not meta.loc[ids["in/good/a.txt"], "decode_replaced"]
    assert meta.loc[ids["in/bad/crawl_with_image.warc.gz#2"], "url"] == "https://example.com/a"
    assert pd.isna(meta.loc[ids["in/good/a.txt"], "url"])
    text = lines.groupby("doc_id")["text"].agg("\n".join)
    assert text[ids["in/bad/mixed.jsonl"]] == "First good JSON line has words."
    assert text[ids["in/bad/mixed.jsonl#5"]] == "Second good JSON line has words."
    assert text[ids["in/bad/nul_bytes.txt"]] == "Text with a NUL byte in the middle of it."
    assert text[ids["in/bad/utf16.txt"]] == "Tekst med BOM på norsk, æøå."
    assert "\ufffd" in text[ids["in/bad/invalid_utf8.txt"]]
    assert len(text[ids["in/bad/huge_line.txt"]]) > 50_000_000


def test_every_bad_item_is_one_error_row(bad_run):
    out, _ = bad_run
    errors = pd.read_parquet(out / "errors")
    assert errors["message"].str.len().gt(0).all()
    got = errors.groupby("source")["reason"].agg(list).to_dict()
    for rel, reason in BAD_REASONS.items():
        assert got.pop(f"in/{rel}") == [reason], rel
    assert sorted(got.pop("in/bad/mixed.jsonl")) == sorted(
        ["malformed_json", "missing_text_field", "text_not_string", "malformed_json"]
    )
    if os.geteuid() != 0:
        assert got.pop("in/bad/locked.txt") == ["unreadable_file"]
    assert got == {}  # nothing else is reported


def test_nothing_readable_exits_1_and_bad_args_exit_2(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.txt").write_bytes(b"")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    from prefect.settings import PREFECT_API_URL

    env["PREFECT_API_URL"] = PREFECT_API_URL.value()
    cmd = [sys.executable, "-m", "flows.cli", "run", "-o", str(tmp_path / "out"), "--quiet"]
    nothing = subprocess.run(
        [*cmd, str(tmp_path / "in")], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert nothing.returncode == 1
    assert nothing.stderr.strip().splitlines()[-1].startswith("winnow: error: no document")
    missing = subprocess.run(
        [*cmd, str(tmp_path / "nope")], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr.strip() == f"winnow: error: input not found: {tmp_path / 'nope'}"
