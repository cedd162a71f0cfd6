"""Extract stage, I/O part: discover input files and stream documents out of them.

Readers yield `Document` or `ErrorRecord` values; a bad item never raises.
"""

from __future__ import annotations

import bz2
import gzip
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import xxhash

from transforms.config import PipelineConfig
from transforms.extract import document_from_bytes, parse_jsonl_line
from transforms.records import Document, ErrorRecord

COMPRESSIONS = (".gz", ".zst", ".bz2")
TEXT_SUFFIXES = (".txt", ".text")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
SUPPORTED = TEXT_SUFFIXES + JSONL_SUFFIXES
# Largest expanded size read from one compressed file (decompression-bomb guard).
MAX_EXPANDED_BYTES = 4 * 1024**3


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
            for dirpath, dirnames, filenames in os.walk(root):
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


def open_binary(path: str, *, limit: int = MAX_EXPANDED_BYTES) -> BinaryIO:
    """Open a possibly compressed file for streaming binary reads."""
    comp = file_kind(path)[1]
    if comp == ".gz":
        inner: BinaryIO = gzip.open(path, "rb")
    elif comp == ".bz2":
        inner = bz2.open(path, "rb")
    elif comp == ".zst":
        import zstandard

        inner = zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)
    else:
        return open(path, "rb")
    return io.BufferedReader(_LimitedReader(inner, limit), buffer_size=1 << 20)


def read_documents(item: InputFile, config: PipelineConfig) -> Iterator[Document | ErrorRecord]:
    """Stream the documents of one input file; a failure becomes an error row, never a raise."""
    fmt, _ = file_kind(item.path)
    record = 0
    try:
        with open_binary(item.path) as fh:
            if fmt in JSONL_SUFFIXES:
                for record, raw in enumerate(fh):  # noqa: B007
                    if not raw.strip():
                        continue
                    line = raw.decode("utf-8", errors="replace")
                    yield parse_jsonl_line(
                        item.source,
                        record,
                        line,
                        text_field=config.text_field,
                        id_field=config.id_field,
                    )
            else:
                yield document_from_bytes(item.source, 0, fh.read())
    except (OSError, EOFError, ValueError) as exc:
        yield ErrorRecord(item.source, record, _reason_for(exc), f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # zstandard.ZstdError and friends: report, never crash
        yield ErrorRecord(item.source, record, "corrupt_archive", f"{type(exc).__name__}: {exc}")


def _reason_for(exc: Exception) -> str:
    text = str(exc)
    if "expanded size exceeds" in text:
        return "decompression_limit"
    if isinstance(exc, PermissionError):
        return "unreadable_file"
    if isinstance(exc, (EOFError, gzip.BadGzipFile)) or "compressed" in text.lower():
        return "corrupt_archive"
    return "read_error"
