"""Extract stage, I/O part: discover input files and stream documents out of them.

Readers yield `Document` or `ErrorRecord` values; a bad item never raises.
"""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import xxhash

from transforms.config import PipelineConfig
from transforms.extract import (
    document_from_bytes,
    document_from_html,
    document_from_text,
    long_line_error,
    parse_jsonl_line,
)
from transforms.records import Document, ErrorRecord

COMPRESSIONS = (".gz", ".zst", ".bz2")
TEXT_SUFFIXES = (".txt", ".text")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
HTML_SUFFIXES = (".html", ".htm")
WARC_SUFFIXES = (".warc", ".wet", ".arc")
PARQUET_SUFFIXES = (".parquet",)
SUPPORTED = TEXT_SUFFIXES + JSONL_SUFFIXES + HTML_SUFFIXES + WARC_SUFFIXES + PARQUET_SUFFIXES
# Largest expanded size read from one compressed file (decompression-bomb guard); a
# 4 GiB cap is far above any real .txt/.jsonl part and far below a zip-bomb's 100s of GiB.
MAX_EXPANDED_BYTES = 4 * 1024**3
# ... unless the file is large: a compressed file may expand to this many times its own
# size (text compresses ~3-10x with gzip/zstd; decompression bombs expand 1000x+).
MAX_EXPANSION_RATIO = 100
# Environment override of MAX_EXPANDED_BYTES (bytes), e.g. to keep a bomb test small.
MAX_EXPANDED_ENV = "WINNOW_MAX_EXPANDED_BYTES"


@dataclass(frozen=True)
class InputFile:
    """A discovered input: stable source name, real path, size and content checksum."""

    source: str
    path: str
    bytes: int
    checksum: str


def file_kind(name: str) -> tuple[str, str]:
    """(format suffix, compression suffix) of a file name.

    >>> file_kind("a/b.jsonl.gz")
    ('.jsonl', '.gz')
    """
    lower = name.lower()
    comp = next((c for c in COMPRESSIONS if lower.endswith(c)), "")
    base = lower[: len(lower) - len(comp)] if comp else lower
    return os.path.splitext(base)[1], comp


def checksum_file(path: Path, *, chunk: int = 1 << 20) -> str:
    """xxh3-128 of the file's bytes, read in chunks."""
    h = xxhash.xxh3_128()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def discover_inputs(paths: list[str]) -> tuple[list[InputFile], list[ErrorRecord]]:
    """All supported files under the given paths, in a stable order, plus what was skipped.

    A file's `source` is its path relative to the parent of the argument it was found
    under (`winnow run /data/crawl` -> `crawl/a/b.txt`), so ids do not depend on the cwd.
    Symlinks that point outside their input folder are reported, not followed.
    """
    found: dict[str, InputFile] = {}
    errors: list[ErrorRecord] = []
    for arg in paths:
        root = Path(arg)
        if not root.exists() and not root.is_symlink():
            raise FileNotFoundError(f"input not found: {arg}")
        if root.is_file():
            candidates = [(root, root.name)]
        else:
            base = root.resolve()
            candidates = []

            def report(exc: OSError, root: Path = root) -> None:
                sub = os.path.relpath(str(exc.filename or root), root)
                rel = (Path(root.resolve().name) / sub).as_posix()
                errors.append(ErrorRecord(rel, -1, "unreadable_file", str(exc)))

            for dirpath, dirnames, filenames in os.walk(root, onerror=report):
                dirnames.sort()
                for name in sorted(filenames):
                    p = Path(dirpath) / name
                    rel = (Path(root.resolve().name) / p.relative_to(root)).as_posix()
                    if p.is_symlink() and not p.resolve().is_relative_to(base):
                        errors.append(
                            ErrorRecord(rel, -1, "symlink_outside_input", f"{p} -> {p.resolve()}")
                        )
                        continue
                    candidates.append((p, rel))
        for p, rel in candidates:
            if file_kind(p.name)[0] not in SUPPORTED:
                if not p.name.startswith(".") and p.name.lower() not in {"readme.md"}:
                    errors.append(
                        ErrorRecord(rel, -1, "unsupported_format", f"no reader for {p.name}")
                    )
                continue
            try:
                found[rel] = InputFile(rel, str(p), p.stat().st_size, checksum_file(p))
            except OSError as exc:
                errors.append(ErrorRecord(rel, -1, "unreadable_file", str(exc)))
    return [found[k] for k in sorted(found)], errors


class _LimitedReader(io.RawIOBase):
    """Raises once more than `limit` bytes were read (decompression-bomb guard)."""

    def __init__(self, inner: BinaryIO, limit: int) -> None:
        self.inner, self.limit, self.seen = inner, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[override]
        data = self.inner.read(len(buf))
        self.seen += len(data)
        if self.seen > self.limit:
            raise ValueError(f"expanded size exceeds {self.limit} bytes")
        buf[: len(data)] = data
        return len(data)


class _ZstdReader(io.RawIOBase):
    """Streaming zstd decoder that raises EOFError on a truncated stream (multi-frame ok).

    zstandard's `stream_reader` silently returns what it has when the input ends early.
    """

    def __init__(self, path: str) -> None:
        import zstandard

        self._zstd = zstandard
        self.raw = open(path, "rb")  # noqa: SIM115 - closed in close()
        self.dobj = zstandard.ZstdDecompressor().decompressobj()
        self.pending = b""
        self.started = False

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[override]
        while not self.pending:
            chunk = self.raw.read(1 << 20)
            if not chunk:
                if self.started and not self.dobj.eof:
                    raise EOFError("zstd stream ended before the end of its frame (truncated)")
                return 0
            while chunk:
                if self.dobj.eof:
                    self.dobj = self._zstd.ZstdDecompressor().decompressobj()
                self.started = True
                self.pending += self.dobj.decompress(chunk)
                chunk = self.dobj.unused_data if self.dobj.eof else b""
        n = min(len(buf), len(self.pending))
        buf[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


def max_expanded_bytes() -> int:
    """Absolute expansion limit: $WINNOW_MAX_EXPANDED_BYTES if set, else MAX_EXPANDED_BYTES."""
    value = os.environ.get(MAX_EXPANDED_ENV)
    return int(value) if value else MAX_EXPANDED_BYTES


def open_binary(path: str, *, limit: int | None = None) -> BinaryIO:
    """Open a possibly compressed file for streaming binary reads (expanded size capped)."""
    comp = file_kind(path)[1]
    if not comp:
        return open(path, "rb")  # noqa: SIM115 - returned to the caller
    if limit is None:
        limit = max(max_expanded_bytes(), MAX_EXPANSION_RATIO * os.path.getsize(path))
    if comp == ".gz":
        inner: BinaryIO = gzip.open(path, "rb")
    elif comp == ".bz2":
        inner = bz2.open(path, "rb")
    elif comp == ".zst":
        inner = _ZstdReader(path)  # type: ignore[assignment]
    return io.BufferedReader(_LimitedReader(inner, limit), buffer_size=1 << 20)


def read_documents(item: InputFile, config: PipelineConfig) -> Iterator[Document | ErrorRecord]:
    """Stream the documents of one input file; a failure becomes an error row, never a raise.

    Each document that holds an over-long line is followed by a `line_too_long` error row
    (the document is still loaded).
    """
    for rec in _read_records(item, config):
        yield rec
        if isinstance(rec, Document):
            warning = long_line_error(rec)
            if warning is not None:
                yield warning


def _read_records(item: InputFile, config: PipelineConfig) -> Iterator[Document | ErrorRecord]:
    fmt, _ = file_kind(item.path)
    where = [0]  # the record being read, for the error row of a failure
    try:
        with open_binary(item.path) as fh:
            if fmt in JSONL_SUFFIXES:
                yield from _read_jsonl(item.source, fh, config, where)
            elif fmt in HTML_SUFFIXES:
                yield document_from_html(item.source, 0, fh.read())
            elif fmt in WARC_SUFFIXES:
                yield from _read_warc(item.source, fh, where)
            elif fmt in PARQUET_SUFFIXES:
                yield from _read_parquet(item, fh, config, where)
            else:
                yield document_from_bytes(item.source, 0, fh.read())
    except (OSError, EOFError, ValueError) as exc:
        yield ErrorRecord(item.source, where[0], _reason_for(exc), f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # zstd/warcio/arrow errors: report, never crash
        yield ErrorRecord(item.source, where[0], "corrupt_archive", f"{type(exc).__name__}: {exc}")


def _read_jsonl(
    source: str, fh: BinaryIO, config: PipelineConfig, where: list[int]
) -> Iterator[Document | ErrorRecord]:
    for record, raw in enumerate(fh):
        where[0] = record
        if not raw.strip():
            continue
        line = raw.decode("utf-8", errors="replace")
        yield parse_jsonl_line(
            source, record, line, text_field=config.text_field, id_field=config.id_field
        )


def _read_warc(source: str, fh: BinaryIO, where: list[int]) -> Iterator[Document | ErrorRecord]:
    """WARC: HTML responses through the HTML reader; WET: conversion records are text.

    Streams record by record (warcio); `record` is the record's index in the file, so the
    doc_id is stable; the WARC-Target-URI becomes `url`. Requests, metadata and warcinfo
    records are skipped; a response that is neither HTML nor plain text (PDF, image) is an
    `unsupported_content_type` error row, so the summary says what was not loaded.
    """
    from warcio.archiveiterator import ArchiveIterator

    for index, rec in enumerate(ArchiveIterator(fh, arc2warc=True)):
        where[0] = index
        kind = rec.rec_type
        url = rec.rec_headers.get_header("WARC-Target-URI")
        if kind == "conversion":
            item = document_from_bytes(source, index, rec.content_stream().read())
        elif kind in ("response", "resource"):
            headers = rec.http_headers if rec.http_headers is not None else rec.rec_headers
            ctype = (headers.get_header("Content-Type") or "").lower()
            if "html" in ctype:
                item = document_from_html(source, index, rec.content_stream().read())
            elif ctype.startswith("text/plain"):
                item = document_from_bytes(source, index, rec.content_stream().read())
            else:
                item = ErrorRecord(
                    source,
                    index,
                    "unsupported_content_type",
                    f"{kind} record for {url} has Content-Type {ctype or 'none'}; not text",
                )
        else:
            continue
        yield dataclasses.replace(item, url=url) if isinstance(item, Document) and url else item


def _read_parquet(
    item: InputFile, fh: BinaryIO, config: PipelineConfig, where: list[int]
) -> Iterator[Document | ErrorRecord]:
    """Parquet: one document per row of column `text_field` (id from `id_field` if given)."""
    import pyarrow.parquet as pq

    if file_kind(item.path)[1]:  # compressed Parquet: expand to a temporary file (seekable)
        spool = tempfile.TemporaryFile()
        while block := fh.read(1 << 20):
            spool.write(block)
        spool.seek(0)
        pf = pq.ParquetFile(spool)
    else:
        pf = pq.ParquetFile(item.path)
    names = pf.schema_arrow.names
    if config.text_field not in names:
        yield ErrorRecord(
            item.source, 0, "missing_text_field", f"no column {config.text_field!r} in {names}"
        )
        return
    columns = [config.text_field]
    if config.id_field and config.id_field in names and config.id_field != config.text_field:
        columns.append(config.id_field)
    record = 0
    for batch in pf.iter_batches(batch_size=1024, columns=columns):
        texts = batch.column(config.text_field).to_pylist()
        ids = batch.column(config.id_field).to_pylist() if len(columns) > 1 else [None] * len(texts)
        for text, doc_id in zip(texts, ids, strict=True):
            where[0] = record
            if not isinstance(text, str):
                reason = "missing_text_field" if text is None else "text_not_string"
                yield ErrorRecord(
                    item.source, record, reason, f"row {record}: no string {config.text_field!r}"
                )
            else:
                doc = document_from_text(item.source, record, text)
                if doc_id is not None and isinstance(doc, Document):
                    doc = dataclasses.replace(doc, doc_id=str(doc_id))
                yield doc
            record += 1


def _reason_for(exc: Exception) -> str:
    text = str(exc)
    if "expanded size exceeds" in text:
        return "decompression_limit"
    if isinstance(exc, PermissionError):
        return "unreadable_file"
    if isinstance(exc, (EOFError, gzip.BadGzipFile)) or "compressed" in text.lower():
        return "corrupt_archive"
    if "invalid data stream" in text.lower() or "zstd" in text.lower():
        return "corrupt_archive"
    return "read_error"
