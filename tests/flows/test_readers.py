"""Readers on hostile inputs: each damaged item costs only itself, nothing hangs or raises."""

from __future__ import annotations

import codecs
import gzip
import io
import json
import os
import random
import socket
import stat
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from warcio.warcwriter import WARCWriter

import flows.readers as readers
import transforms.extract as extract
from flows.readers import InputFile, discover_inputs, read_documents
from transforms.config import PipelineConfig
from transforms.extract import make_doc_id
from transforms.records import WARNING_REASONS, Document, ErrorReason, ErrorRecord

from .test_inputs import ARTICLE, HTML, SAMPLES, compress

REPO = Path(__file__).resolve().parents[2]
# A discovery or read of one small hostile input finishes within this (a hang fails fast).
HANG_SECONDS = 20


def read_path(path: Path, config: PipelineConfig | None = None) -> list[Document | ErrorRecord]:
    """Discover one path and read every file found (discovery errors first)."""
    files, errors = discover_inputs([str(path)])
    return [*errors, *(r for f in files for r in read_documents(f, config or PipelineConfig()))]


def reasons(recs) -> list[str]:
    return [r.reason for r in recs if isinstance(r, ErrorRecord)]


def texts(recs) -> list[str]:
    return [r.text for r in recs if isinstance(r, Document)]


def in_thread(fn, *args):
    """fn(*args) in a daemon thread; fails (instead of hanging the suite) after HANG_SECONDS."""
    result: list = []
    t = threading.Thread(target=lambda: result.append(fn(*args)), daemon=True)
    t.start()
    t.join(HANG_SECONDS)
    assert not t.is_alive(), f"{fn.__name__} still running after {HANG_SECONDS} s"
    return result[0]


# ---------------------------------------------------------------------------------------
# Discovery: only regular files, any depth, any name, distinct sources.


def make_special(kind: str, path: Path) -> object:
    """A FIFO, socket or character device at `path` (the socket object must stay alive)."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        return sock
    else:
        try:
            os.mknod(path, 0o644 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null's numbers
        except PermissionError:
            pytest.skip("mknod needs root")
    return None


@pytest.mark.parametrize("kind", ["fifo", "socket", "device"])
def test_special_files_are_error_rows_never_opened(tmp_path, kind):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "good.txt").write_text(ARTICLE)
    keep = make_special(kind, inp / "special.txt")
    recs = in_thread(read_path, inp)
    assert reasons(recs) == ["not_regular_file"]
    assert recs[0].source == "in/special.txt"
    assert texts(recs) == [ARTICLE]
    del keep


def test_fifo_given_as_argument_is_an_error_row(tmp_path):
    os.mkfifo(tmp_path / "pipe.jsonl")
    files, errors = in_thread(discover_inputs, [str(tmp_path / "pipe.jsonl")])
    assert files == [] and [e.reason for e in errors] == ["not_regular_file"]


def test_file_replaced_by_a_fifo_after_discovery_is_not_opened(tmp_path):
    (tmp_path / "x.txt").write_text(ARTICLE)
    (item,), _ = discover_inputs([str(tmp_path / "x.txt")])
    (tmp_path / "x.txt").unlink()
    os.mkfifo(tmp_path / "x.txt")
    recs = in_thread(lambda: list(read_documents(item, PipelineConfig())))
    assert reasons(recs) == ["not_regular_file"]


def test_symlink_to_a_regular_file_inside_is_read_under_its_own_name(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "real.txt").write_text(ARTICLE)
    (inp / "link.txt").symlink_to(inp / "real.txt")
    (inp / "dirlink").symlink_to(inp, target_is_directory=True)  # not entered: no loop
    files, errors = discover_inputs([str(inp)])
    assert [f.source for f in files] == ["in/link.txt", "in/real.txt"] and errors == []


def test_folder_tree_deeper_than_the_recursion_limit(tmp_path):
    depth = 1_200
    deep = tmp_path / "in"
    rel = "/".join(["d"] * depth)
    folder = deep
    deep.mkdir()
    for _ in range(depth):  # not os.makedirs: it recurses once per level
        folder = folder / "d"
        folder.mkdir()
    (folder / "x.txt").write_text(ARTICLE)
    (deep / "a.txt").write_text(ARTICLE)
    try:
        files, errors = discover_inputs([str(deep)])
        assert errors == []
        assert [f.source for f in files] == ["in/a.txt", f"in/{rel}/x.txt"]
        assert texts(read_documents(files[1], PipelineConfig())) == [ARTICLE]
    finally:  # shutil.rmtree (pytest's clean-up) recurses once per level too
        (folder / "x.txt").unlink()
        while folder != deep:
            folder.rmdir()
            folder = folder.parent


def test_undecodable_file_name_is_escaped_and_read(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    raw = os.fsencode(inp) + b"/caf\xe9.txt"
    with open(raw, "wb") as fh:
        fh.write(ARTICLE.encode())
    (item,), errors = discover_inputs([str(inp)])
    assert errors == [] and item.source == "in/caf\\xe9.txt"
    item.source.encode("utf-8")  # storable; path too
    item.path.encode("utf-8")
    (doc,) = read_documents(item, PipelineConfig())
    assert doc.text == ARTICLE and doc.doc_id == make_doc_id("in/caf\\xe9.txt", 0)
    json.dumps([vars(item)])  # a task parameter: JSON-serialisable


@pytest.mark.parametrize(
    "layout, args, sources",
    [
        (  # one folder: today's names
            {"data/x.txt": "one"},
            ["data"],
            ["data/x.txt"],
        ),
        (  # two folders with one name
            {"a/data/x.txt": "one", "b/data/x.txt": "two"},
            ["a/data", "b/data"],
            ["a/data/x.txt", "b/data/x.txt"],
        ),
        (  # two files with one name
            {"a/y.txt": "one", "b/y.txt": "two"},
            ["a/y.txt", "b/y.txt"],
            ["a/y.txt", "b/y.txt"],
        ),
        (  # only the colliding ones get a parent
            {"a/y.txt": "one", "b/y.txt": "two", "c/z.txt": "three"},
            ["a/y.txt", "b/y.txt", "c/z.txt"],
            ["a/y.txt", "b/y.txt", "z.txt"],
        ),
        (  # only the files that would share a name get parents
            {"a/data/x.txt": "one", "a/data/only_a.txt": "two", "b/data/x.txt": "three"},
            ["a/data", "b/data"],
            ["a/data/x.txt", "b/data/x.txt", "data/only_a.txt"],
        ),
        (  # two arguments with one name but no shared file: today's names
            {"first/seeds/a.txt": "one", "second/seeds/b.txt": "two"},
            ["first/seeds", "second/seeds"],
            ["seeds/a.txt", "seeds/b.txt"],
        ),
        (  # the same folder twice is read once
            {"data/x.txt": "one"},
            ["data", "data"],
            ["data/x.txt"],
        ),
        (  # same name three levels up: as many parents as needed
            {"p/a/data/x.txt": "one", "q/a/data/x.txt": "two"},
            ["p/a/data", "q/a/data"],
            ["p/a/data/x.txt", "q/a/data/x.txt"],
        ),
    ],
)
def test_every_input_gets_a_distinct_source(tmp_path, layout, args, sources):
    for rel, text in layout.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(f"Text number {text} of the file.")
    files, errors = discover_inputs([str(tmp_path / a) for a in args])
    assert errors == []
    assert [f.source for f in files] == sources
    assert len({f.path for f in files}) == len(files)


def test_a_source_two_different_files_would_share_is_an_error_row(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "caf\\xe9.txt").write_text("A name with a backslash in it.")  # literally \xe9
    with open(os.fsencode(inp) + b"/caf\xe9.txt", "wb") as fh:  # byte 0xE9: escaped alike
        fh.write(b"A name that is not UTF-8.")
    files, errors = discover_inputs([str(inp)])
    assert [f.source for f in files] == ["in/caf\\xe9.txt"]
    assert [(e.source, e.reason) for e in errors] == [("in/caf\\xe9.txt", "source_collision")]


def test_output_folder_inside_the_input_is_not_read(tmp_path):
    inp = tmp_path / "in"
    (inp / "out" / "documents").mkdir(parents=True)
    (inp / "out" / "documents" / "part.parquet").write_bytes(SAMPLES[".parquet"])
    (inp / "doc.txt").write_text(ARTICLE)
    files, errors = discover_inputs([str(inp)], exclude=[inp / "out"])
    assert [f.source for f in files] == ["in/doc.txt"] and errors == []
    assert discover_inputs([str(inp)], exclude=[inp]) == ([], [])


# ---------------------------------------------------------------------------------------
# JSONL: one line's failure is that line's row.

GOOD_LINE = json.dumps({"text": "A good line of text."})


@pytest.mark.parametrize(
    "bad_line, reason",
    [
        ("[" * 100_000 + "]" * 100_000, "json_too_deep"),
        ('{"text": "x", "n": ' + "9" * 5_000 + "}", "json_number_too_long"),
        ('{"text": "x", "a": ' + "[" * 100_000 + "]" * 100_000 + "}", "json_too_deep"),
        ("{not json", "malformed_json"),
    ],
)
def test_jsonl_bad_line_costs_only_itself(tmp_path, bad_line, reason):
    (tmp_path / "x.jsonl").write_text(f"{GOOD_LINE}\n{bad_line}\n{GOOD_LINE}\n")
    recs = read_path(tmp_path / "x.jsonl")
    assert [(type(r).__name__, r.record) for r in recs] == [
        ("Document", 0),
        ("ErrorRecord", 1),
        ("Document", 2),
    ]
    assert recs[1].reason == reason


def test_jsonl_lone_surrogates_become_replacement_characters(tmp_path):
    line = '{"text": "Broken \\ud800 text here.", "url": "https://e.com/\\udfff", "id": "\\ud800"}'
    (tmp_path / "x.jsonl").write_text(f"{line}\n{GOOD_LINE}\n")
    doc, good = read_path(tmp_path / "x.jsonl", PipelineConfig(id_field="id"))
    assert doc.text == "Broken \ufffd text here." and doc.url == "https://e.com/\ufffd"
    assert doc.doc_id == "\ufffd" and doc.decode_replaced and not good.decode_replaced
    pa.table({"t": [doc.text], "u": [doc.url]})  # storable in Parquet
    ok = '{"text": "Pair \\ud83d\\ude00 is fine."}'
    (tmp_path / "y.jsonl").write_text(ok + "\n")
    (pair,) = read_path(tmp_path / "y.jsonl")
    assert pair.text == "Pair \U0001f600 is fine." and not pair.decode_replaced


@pytest.mark.parametrize(
    "encode",
    [
        lambda s: codecs.BOM_UTF8 + s.encode(),
        lambda s: s.encode("utf-16"),  # BOM + native order
        lambda s: codecs.BOM_UTF16_BE + s.encode("utf-16-be"),
        lambda s: s.encode("utf-32"),
    ],
    ids=["utf-8-bom", "utf-16", "utf-16-be", "utf-32"],
)
def test_jsonl_byte_order_mark_wins(tmp_path, encode):
    lines = [json.dumps({"text": f"Line {i} på norsk, æøå."}, ensure_ascii=False) for i in (0, 1)]
    (tmp_path / "x.jsonl").write_bytes(encode("\n".join(lines) + "\n"))
    recs = read_path(tmp_path / "x.jsonl")
    assert texts(recs) == ["Line 0 på norsk, æøå.", "Line 1 på norsk, æøå."], recs


@pytest.mark.parametrize(
    "blank",
    [b"\n", b"  \n", b"\r\n", b" \t\x0b\x0c\n", b"\n" * 3_000_000, b" \n" * 700_000],
    ids=["newline", "spaces", "crlf", "ascii-space", "3M-newlines", "1.4MB-space-lines"],
)
@pytest.mark.parametrize("comp", ["", ".gz"])
def test_jsonl_blank_line_runs_are_skipped_and_records_keep_their_line_index(tmp_path, blank, comp):
    """Blank lines are skipped a buffer at a time (a .jsonl.gz of newlines, a bomb, costs
    seconds, not minutes), and every record keeps the index of its line in the file."""
    rng = random.Random(len(blank))
    parts = []
    for i in range(6):
        parts.append(blank * rng.randint(0, 3))
        parts.append(b"   " + GOOD_LINE.encode() + b"\n" if i % 2 else b"{not json\n")
    data = b"".join(parts) + blank + b"\xc2\xa0\n" + GOOD_LINE.encode()  # NBSP: blank too
    (tmp_path / f"x.jsonl{comp}").write_bytes(compress(data, comp))
    recs = read_path(tmp_path / f"x.jsonl{comp}")
    expected = [
        (i, "Document" if b"text" in line else "ErrorRecord")
        for i, line in enumerate(data.split(b"\n"))
        if line.decode().strip()
    ]
    assert [(r.record, type(r).__name__) for r in recs] == expected


@pytest.mark.parametrize("comp", ["", ".gz"])
def test_jsonl_line_over_the_limit_is_skipped_without_loading_it(tmp_path, monkeypatch, comp):
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 1_000)
    long = json.dumps({"text": "word " * 5_000})
    data = f"{GOOD_LINE}\n{long}\n{GOOD_LINE}\n".encode()
    (tmp_path / f"x.jsonl{comp}").write_bytes(compress(data, comp))
    recs = read_path(tmp_path / f"x.jsonl{comp}")
    assert [(type(r).__name__, r.record) for r in recs] == [
        ("Document", 0),
        ("ErrorRecord", 1),
        ("Document", 2),
    ]
    assert recs[1].reason == "line_over_limit"


def test_truncated_jsonl_gz_keeps_every_complete_line(tmp_path):
    lines = [json.dumps({"text": f"Line number {i} of a long file."}) for i in range(20_000)]
    full = gzip.compress(("\n".join(lines) + "\n").encode())
    (tmp_path / "x.jsonl.gz").write_bytes(full[: len(full) * 3 // 4])
    recs = read_path(tmp_path / "x.jsonl.gz")
    *docs, last = recs
    assert last.reason == "corrupt_archive" and "EOFError" in last.message
    assert [d.record for d in docs] == list(range(len(docs)))
    assert last.record in (len(docs), len(docs) + 1)  # the cut line (or the one after it)
    assert len(docs) > 20_000 * 0.7


# ---------------------------------------------------------------------------------------
# Text and HTML: bounded work per document.


def test_text_line_over_the_limit_is_an_error_row(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 10_000)
    monkeypatch.setattr(readers, "READ_CHUNK", 4_096)
    (tmp_path / "long.txt").write_bytes(b"short line\n" + b"x" * 10_001 + b"\nend\n")
    (tmp_path / "ok.txt").write_bytes((b"y" * 9_999 + b"\r\n") * 5)
    recs = read_path(tmp_path)
    assert [(r.source, type(r).__name__) for r in recs] == [
        (f"{tmp_path.name}/long.txt", "ErrorRecord"),
        (f"{tmp_path.name}/ok.txt", "Document"),
    ]
    assert recs[0].reason == "line_over_limit"


@pytest.mark.parametrize(
    ("name", "data", "errors", "loaded"),
    [
        ("x.txt", b"Top line.\n" + b"\n" * 150, [(0, "document_too_large")], []),
        (
            "x.jsonl",
            (json.dumps({"text": "a\n" * 150}) + "\n" + GOOD_LINE + "\n").encode(),
            [(0, "document_too_large")],
            [1],  # the next record is still loaded
        ),
        ("x.txt", b"Top line.\n" + b"\n" * 98, [], [0]),  # 100 lines (split on "\n"): loaded
    ],
    ids=["txt", "jsonl-record", "at-the-limit"],
)
def test_document_with_more_lines_than_the_limit_is_an_error_row(
    tmp_path, monkeypatch, name, data, errors, loaded
):
    monkeypatch.setattr(readers, "MAX_DOCUMENT_LINES", 100)
    (tmp_path / name).write_bytes(data)
    recs = read_path(tmp_path / name)
    assert [(r.record, r.reason) for r in recs if isinstance(r, ErrorRecord)] == errors
    assert [r.record for r in recs if isinstance(r, Document)] == loaded


def test_text_document_over_the_limit_is_an_error_row(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_DOCUMENT_BYTES", 10_000)
    (tmp_path / "big.txt.gz").write_bytes(gzip.compress(b"a line of text\n" * 1_000))
    assert reasons(read_path(tmp_path / "big.txt.gz")) == ["document_too_large"]


def test_large_html_gets_the_linear_fallback_and_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(extract, "HTML_MAX_MAIN_TEXT_BYTES", 1_000)
    page = HTML.replace("<article>", "<article>" + "<p>Filler paragraph of words.</p>" * 40)
    (tmp_path / "big.html").write_text(page)
    doc, warning = read_path(tmp_path / "big.html")
    assert warning.reason == "html_fallback" and warning.reason in WARNING_REASONS
    assert ARTICLE.split("\n")[0] in doc.text.split("\n")
    assert "Home" not in doc.text and "Copyright" not in doc.text  # nav and footer dropped


def test_html_over_the_hard_limit_is_not_loaded(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_HTML_BYTES", 100)
    (tmp_path / "huge.html").write_text(HTML)
    assert reasons(read_path(tmp_path / "huge.html")) == ["html_too_large"]


def test_linear_fallback_is_linear_on_a_big_page():
    import time

    block = "<div><p>Words of one paragraph, with a <a href='/x'>link</a> inside.</p></div>"
    times = []
    for n in (2_000, 16_000):
        t0 = time.perf_counter()
        text = extract.text_from_html_linear("<html><body>" + block * n + "</body></html>")
        times.append(time.perf_counter() - t0)
        assert text.count("\n") == n - 1
    assert times[1] < 8 * times[0] * 3 + 0.5  # 8x the input: far from 64x (quadratic)


# ---------------------------------------------------------------------------------------
# Parquet: a bad row costs only itself.


def test_parquet_invalid_utf8_row_keeps_its_batch_neighbours(tmp_path):
    values = [f"Row number {i} of the table.".encode() for i in range(3_000)]
    values[1_500] = b"Broken \xff\xfe bytes in row 1500."
    arr = pa.array(values, pa.binary())
    texts_ = pa.Array.from_buffers(pa.string(), len(arr), arr.buffers())  # unvalidated
    pq.write_table(pa.table({"text": texts_}), tmp_path / "t.parquet", row_group_size=2_000)
    recs = read_path(tmp_path / "t.parquet")
    assert all(isinstance(r, Document) for r in recs), reasons(recs)
    assert [r.record for r in recs] == list(range(3_000))
    assert recs[1_500].decode_replaced and "\ufffd" in recs[1_500].text
    assert recs[1_499].text == "Row number 1499 of the table." and not recs[1_499].decode_replaced


# ---------------------------------------------------------------------------------------
# WARC: per-record recovery and truncated records.


def make_conversions(n: int, *, gz: bool) -> tuple[bytes, list[int]]:
    """A WET file of n conversion records, and the byte offset where each record ends."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=gz)
    ends = []
    for i in range(n):
        body = f"Document number {i} has a few words in it.".encode()
        writer.write_record(
            writer.create_warc_record(
                f"https://e.com/{i}",
                "conversion",
                payload=io.BytesIO(body),
                warc_content_type="text/plain",
            )
        )
        ends.append(buf.tell())
    return buf.getvalue(), ends


@pytest.mark.parametrize("gz", [True, False], ids=["warc.gz", "warc"])
def test_warc_cut_inside_record_2_keeps_record_1(tmp_path, gz):
    data, ends = make_conversions(3, gz=gz)
    cut = ends[0] + (ends[1] - ends[0]) * 2 // 3
    name = "x.warc.wet.gz" if gz else "x.warc"
    (tmp_path / name).write_bytes(data[:cut])
    recs = read_path(tmp_path / name)
    assert texts(recs) == ["Document number 0 has a few words in it."]
    assert [(r.record, r.reason) for r in recs if isinstance(r, ErrorRecord)] == [
        (1, "truncated_record")
    ]


@pytest.mark.parametrize("at_boundary", [False, True])
def test_warc_gz_cut_at_75_percent_keeps_every_complete_record(tmp_path, at_boundary):
    n = 3_000
    data, ends = make_conversions(n, gz=True)
    k = n * 3 // 4  # the cut falls in record k (or, at_boundary, right after record k - 1)
    cut = ends[k - 1] if at_boundary else (ends[k - 1] + ends[k]) // 2
    (tmp_path / "x.warc.gz").write_bytes(data[:cut])
    recs = read_path(tmp_path / "x.warc.gz")
    assert [r.record for r in recs if isinstance(r, Document)] == list(range(k))
    errors = [(r.record, r.reason) for r in recs if isinstance(r, ErrorRecord)]
    assert errors == ([] if at_boundary else [(k, "truncated_record")])


def test_uncompressed_warc_last_record_shorter_than_declared_is_reported(tmp_path):
    data, ends = make_conversions(2, gz=False)
    (tmp_path / "x.warc").write_bytes(data[: ends[1] - 20])  # inside the last payload
    recs = read_path(tmp_path / "x.warc")
    assert texts(recs) == ["Document number 0 has a few words in it."]
    assert [(r.record, r.reason) for r in recs if isinstance(r, ErrorRecord)] == [
        (1, "truncated_record")
    ]


@pytest.mark.parametrize("gz", [True, False], ids=["warc.gz", "warc"])
def test_warc_every_cut_point_keeps_the_records_before_it(tmp_path, gz):
    data, ends = make_conversions(3, gz=gz)
    name = "x.warc.gz" if gz else "x.warc"
    step = max(1, len(data) // 150)
    for cut in range(1, len(data), step):
        (tmp_path / name).write_bytes(data[:cut])
        recs = read_path(tmp_path / name)
        complete = sum(1 for e in ends if e <= cut)
        got = [r.record for r in recs if isinstance(r, Document)]
        assert got[:complete] == list(range(complete)), (cut, recs)
        lost = {r.record for r in recs if isinstance(r, ErrorRecord)}
        assert len(got) + len(lost) >= complete, (cut, recs)
        if cut < ends[-1] and complete < len(ends) and not got[complete:]:
            # the cut record is reported unless the cut fell in the blank lines after it
            assert lost or cut - ends[complete - 1 if complete else 0] <= 4, (cut, recs)


# ---------------------------------------------------------------------------------------
# A file that changes between discovery and reading; a bug is not an error row.


def test_file_deleted_after_discovery_is_file_missing(tmp_path):
    (tmp_path / "x.txt").write_text(ARTICLE)
    (item,), _ = discover_inputs([str(tmp_path / "x.txt")])
    (tmp_path / "x.txt").unlink()
    assert reasons(read_documents(item, PipelineConfig())) == ["file_missing"]


@pytest.mark.parametrize("change", ["truncate", "same_size"])
def test_file_changed_after_discovery_is_file_changed(tmp_path, change):
    path = tmp_path / "x.txt"
    path.write_text(ARTICLE)
    (item,), _ = discover_inputs([str(path)])
    if change == "truncate":
        path.write_text(ARTICLE[:10])
    else:
        path.write_text(ARTICLE.upper())
        os.utime(path, ns=(item.mtime_ns + 10**9, item.mtime_ns + 10**9))
    assert reasons(read_documents(item, PipelineConfig())) == ["file_changed"]


def test_touched_but_unchanged_file_is_read(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text(ARTICLE)
    (item,), _ = discover_inputs([str(path)])
    os.utime(path, ns=(item.mtime_ns + 10**9, item.mtime_ns + 10**9))
    assert texts(read_documents(item, PipelineConfig())) == [ARTICLE]


def test_a_bug_in_winnow_propagates_instead_of_becoming_a_row(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise TypeError("a bug")

    monkeypatch.setattr(readers, "document_from_bytes", broken)
    (tmp_path / "x.txt.gz").write_bytes(gzip.compress(ARTICLE.encode()))
    with pytest.raises(TypeError, match="a bug"):
        read_path(tmp_path / "x.txt.gz")


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("bad.txt.gz", b"\x1f\x8b\x08\x00" + b"\xff" * 64, "corrupt_archive"),
        ("bad.txt.bz2", b"BZh9" + b"\x00" * 64, "corrupt_archive"),
        ("bad.txt.zst", b"\x28\xb5\x2f\xfd" + b"\xff" * 64, "corrupt_archive"),
        ("bad.parquet", b"PAR1" + b"\x00" * 64 + b"PAR1", "corrupt_archive"),
        ("bad.warc", b"WARC/1.0\r\nWARC-Type: response\r\n\r\n", "corrupt_archive"),
        ("bad.warc.gz", b"not gzip at all", "corrupt_archive"),
        ("cut.jsonl.zst", b"\x28\xb5\x2f\xfd" + b"\x00" * 64, "corrupt_archive"),
    ],
)
def test_library_errors_map_to_reasons(tmp_path, name, data, reason):
    (tmp_path / name).write_bytes(data)
    assert reasons(read_path(tmp_path / name)) == [reason]


def test_every_reason_code_is_snake_case_and_unique():
    values = [r.value for r in ErrorReason]
    assert len(values) == len(set(values))
    assert all(v.replace("_", "").isalpha() and v.islower() for v in values)
    assert set(WARNING_REASONS) <= set(ErrorReason)


# ---------------------------------------------------------------------------------------
# Fuzz: random truncations and byte flips of real files never make a reader raise.

FUZZ_CASES_PER_FILE = 12


def fuzz_sources() -> dict[str, bytes]:
    """Real inputs: seeds/, crawled pages, and a sample of every format x compression."""
    found = {
        p.name: p.read_bytes()
        for p in sorted((REPO / "seeds").rglob("*"))
        if p.is_file() and p.suffix in {".txt", ".jsonl"}
    }
    for fmt, data in SAMPLES.items():
        for comp in ("", ".gz", ".zst", ".bz2"):
            found[f"sample{fmt}{comp}"] = compress(data, comp)
    gzwarc, _ = make_conversions(5, gz=True)
    found["five.warc.wet.gz"] = gzwarc
    pages = REPO / "benchmarks" / "data" / "pages_sample.jsonl.gz"  # real crawled pages
    found[pages.name] = gzip.compress(gzip.decompress(pages.read_bytes())[:200_000])
    return found


def mutate(data: bytes, rng: random.Random) -> bytes:
    """A truncation, some byte flips, or both."""
    out = bytearray(data)
    if rng.random() < 0.5 and len(out) > 1:
        del out[rng.randrange(1, len(out)) :]
    if rng.random() < 0.7 or len(out) == len(data):
        for _ in range(rng.randint(1, 8)):
            if out:
                out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


@pytest.mark.parametrize("name", sorted(fuzz_sources()))
def test_fuzzed_real_files_never_raise(tmp_path, name):
    rng = random.Random(f"winnow-fuzz-{name}")
    data = fuzz_sources()[name]
    for case in range(FUZZ_CASES_PER_FILE):
        path = tmp_path / f"{case}-{name}"
        path.write_bytes(mutate(data, rng))
        files, errors = discover_inputs([str(path)])
        assert errors == []
        for rec in read_documents(files[0], PipelineConfig()):
            assert isinstance(rec, (Document, ErrorRecord))
            if isinstance(rec, ErrorRecord):
                assert rec.reason in set(ErrorReason) and rec.message
            for value in (rec.source, getattr(rec, "text", ""), getattr(rec, "url", "") or ""):
                value.encode("utf-8")  # storable


def test_input_file_keeps_its_positional_constructor():
    item = InputFile("s", "p", 1, "c")
    assert (item.mtime_ns, item.fs_path, item.os_path()) == (0, "", "p")


@pytest.mark.parametrize("damaged", [[1], [0], [2], [1, 2], [4]])
def test_warc_gz_damaged_member_loses_only_its_record(tmp_path, damaged):
    data, ends = make_conversions(5, gz=True)
    out = bytearray(data)
    starts = [0, *ends[:-1]]
    for i in damaged:  # flip bytes in the middle of the member's deflate data
        mid = (starts[i] + ends[i]) // 2
        out[mid : mid + 4] = bytes(b ^ 0xFF for b in out[mid : mid + 4])
    (tmp_path / "x.warc.gz").write_bytes(bytes(out))
    recs = read_path(tmp_path / "x.warc.gz")
    assert [r.record for r in recs if isinstance(r, Document)] == [
        i for i in range(5) if i not in damaged
    ]
    assert [(r.record, r.reason) for r in recs if isinstance(r, ErrorRecord)] == [
        (i, "corrupt_archive") for i in damaged
    ]


def test_file_changed_while_being_read_is_reported_after_its_records(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(f"{GOOD_LINE}\n{GOOD_LINE}\n")
    (item,), _ = discover_inputs([str(path)])
    stream = read_documents(item, PipelineConfig())
    first = next(stream)
    with open(path, "a") as fh:  # another process appends while the reader is at line 0
        fh.write(f"{GOOD_LINE}\n")
    rest = list(stream)
    assert isinstance(first, Document)
    assert (rest[-1].record, rest[-1].reason) == (-1, "file_changed")
