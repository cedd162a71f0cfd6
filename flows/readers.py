"""Extract stage, I/O part: discover input files and stream documents out of them.

Readers yield `Document` or `ErrorRecord` values; a bad input item never raises, and a bad
record costs only that record: the records before it (and, where the format allows, after
it) are still read. Only the library errors named in `_library_errors` become error rows; any
other exception is a bug in winnow and propagates.
"""

from __future__ import annotations

import bz2
import dataclasses
import fcntl
import functools
import gzip
import io
import os
import stat
import tempfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import xxhash

from transforms.config import PipelineConfig
from transforms.extract import (
    MAX_HTML_BYTES,
    document_from_bytes,
    document_from_text,
    html_documents,
    html_too_large,
    long_line_error,
    parse_jsonl_line,
    scrub_surrogates,
    sniff_bom,
)
from transforms.records import Document, ErrorReason, ErrorRecord

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
# Longest line (bytes) a document may hold and still be loaded (`line_over_limit` above,
# checked while streaming, before any decoding). The flow holds ~29 copies of a long line
# (measured peak RSS of `winnow run`: 60 MB line 1.7 GB; 300 MB line 6.0 GB before this
# cap), so 64 MiB bounds a run near 1.9 GB. It is 64x MAX_LINE_CHARS, above which a kept
# document gets a `line_too_long` warning row.
MAX_LINE_BYTES = 64 * 1024**2
# Largest document (bytes, after decompression) loaded at all (`document_too_large` above):
# one .txt file or WARC record is one document, held whole by every stage; a 30 MB text of
# ordinary lines peaked at 0.77 GB in `winnow run`, so 64 MiB bounds a run near 1.7 GB.
MAX_DOCUMENT_BYTES = 64 * 1024**2
# Most lines a document may hold and still be loaded (`document_too_large` above): each line
# costs the flag stage ~690 bytes of peak RSS whatever its length (measured: a .txt.gz of 20 MB
# of newlines, 21M empty lines, peaked at 14.4 GB in `winnow run`), so short or empty lines
# under MAX_DOCUMENT_BYTES could still exhaust memory. A 64 MiB document of ordinary ~80
# character lines holds ~800k lines; 1M lines bounds the stage near 0.7 GB.
MAX_DOCUMENT_LINES = 1_000_000
# Bytes per read() while streaming a file (a decompressor call, a line-length check step);
# far below MAX_LINE_BYTES, which `_line_runs` relies on.
READ_CHUNK = 1 << 20
# The bytes `bytes.isspace()` counts as whitespace (a blank JSONL line holds only these).
ASCII_SPACE = b" \t\n\r\x0b\x0c"


@dataclass(frozen=True)
class InputFile:
    """A discovered input: stable source name, real path, size and content checksum.

    `path` is printable (an undecodable file name is escaped, as in `source`); `fs_path`
    then holds the real name's bytes in hex (every field stays JSON- and Parquet-safe).
    `mtime_ns` lets the reader see a file that changed after discovery.
    """

    source: str
    path: str
    bytes: int
    checksum: str
    mtime_ns: int = 0
    fs_path: str = ""

    def os_path(self) -> str | bytes:
        """The path to open: the real name's bytes if it was escaped, else `path`."""
        return bytes.fromhex(self.fs_path) if self.fs_path else self.path


class NotRegularFile(OSError):
    """A FIFO, device node, socket or folder where a regular file was expected."""


class CorruptArchive(Exception):
    """A decompressor rejected the stream (the library error is the `__cause__`)."""


class DecompressionLimit(Exception):
    """A compressed file expanded past its limit (decompression-bomb guard)."""


class DiskError(Exception):
    """An OSError of the underlying file, told apart from decompressor errors."""


def file_kind(name: str) -> tuple[str, str]:
    """(format suffix, compression suffix) of a file name.

    >>> file_kind("a/b.jsonl.gz")
    ('.jsonl', '.gz')
    """
    lower = name.lower()
    comp = next((c for c in COMPRESSIONS if lower.endswith(c)), "")
    base = lower[: len(lower) - len(comp)] if comp else lower
    return os.path.splitext(base)[1], comp


def printable(name: str) -> str:
    """A file name as text: bytes that were not UTF-8 (surrogate escapes) become `\\xNN`.

    >>> printable(os.fsdecode(b"caf\\xe9.txt"))
    'caf\\\\xe9.txt'
    """
    if name.isascii() or not any("\ud800" <= ch <= "\udfff" for ch in name):
        return name
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that no bytes decoded to
        return scrub_surrogates(name)[0]


def open_regular(path: str | bytes | os.PathLike) -> BinaryIO:
    """Open a regular file for unbuffered reading; NotRegularFile (never blocks) otherwise."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(f"not a regular file: {os.fsdecode(path)}")
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise


def checksum_stream(fh: BinaryIO, *, chunk: int = READ_CHUNK) -> str:
    """xxh3-128 of the stream's remaining bytes, read in chunks."""
    h = xxhash.xxh3_128()
    while block := fh.read(chunk):
        h.update(block)
    return h.hexdigest()


def checksum_file(path: str | bytes | Path, *, chunk: int = READ_CHUNK) -> str:
    """xxh3-128 of the file's bytes, read in chunks."""
    with open_regular(path) as fh:
        return checksum_stream(fh, chunk=chunk)


@dataclass(frozen=True)
class _Root:
    """One input argument: its path, the label its sources start with, and its real path."""

    arg: str
    label: str
    real: Path
    is_dir: bool


def _roots(paths: Sequence[str]) -> list[_Root]:
    """The input arguments; the label is a folder's real name or a file's own name."""
    roots = []
    for arg in paths:
        root = Path(arg)
        if not root.exists() and not root.is_symlink():
            raise FileNotFoundError(f"input not found: {arg}")
        is_dir = root.is_dir()
        real = root.resolve() if is_dir else Path(os.path.abspath(arg))
        roots.append(_Root(arg, real.name, real, is_dir))
    return roots


@dataclass(frozen=True)
class _Found:
    """One file found under an argument: where, its identity (real path), and its outcome."""

    root: _Root
    rel: str  # path below the argument ("" for a file argument)
    real: Path
    outcome: InputFile | ErrorRecord


def _distinct_sources(found: list[_Found]) -> list[str]:
    """Source names: `label/rel`, unless two different files would share one; then those
    get as many parent folders of their arguments as make them distinct (`a/data/x.txt`,
    `b/data/x.txt`). Other files keep their names.
    """
    plain = [printable(_join(f.root.label, f.rel)) for f in found]
    owners: dict[str, list[_Found]] = {}
    for name, f in zip(plain, found, strict=True):
        group = owners.setdefault(name, [])
        if all(g.real != f.real for g in group):
            group.append(f)
    out = []
    for name, f in zip(plain, found, strict=True):
        group = owners[name]
        depth, longest = 1, max(len(g.root.real.parts) for g in group)

        def distinct(d: int, group: list[_Found] = group) -> bool:
            return len({g.root.real.parts[-d:] for g in group}) == len(group)

        while not distinct(depth) and depth < longest:
            depth += 1
        if depth == 1 or not distinct(depth):  # no clash, or one parents cannot resolve
            out.append(name)
        else:
            label = "/".join(f.root.real.parts[-depth:]).lstrip("/")
            out.append(printable(_join(label, f.rel)))
    return out


def _join(label: str, rel: str) -> str:
    """`label/rel`, without an empty part."""
    return "/".join(part for part in (label, rel) if part)


def _walk(
    root: Path, report: Callable[[str, str, str], None], excluded: set[Path]
) -> Iterator[tuple[Path, str]]:
    """(path, path relative to root) of every non-folder entry under root, iteratively.

    Same order as a sorted top-down `os.walk`: a folder's entries, then its subfolders.
    Symlinked folders are not entered: their target inside the input is walked anyway, one
    outside is reported (`symlink_outside_input`). Folders in `excluded` are not entered.
    """
    base = root.resolve()
    stack: list[tuple[Path, str]] = [(root, "")]
    while stack:
        folder, rel = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            report(rel, ErrorReason.UNREADABLE_FILE, str(exc))
            continue
        subdirs = []
        for entry in entries:
            sub_rel = f"{rel}/{entry.name}" if rel else entry.name
            path = folder / entry.name
            try:
                is_dir = entry.is_dir()
                is_link = entry.is_symlink()
            except OSError as exc:
                report(sub_rel, ErrorReason.UNREADABLE_FILE, str(exc))
                continue
            if is_dir and is_link:
                if not path.resolve().is_relative_to(base):
                    message = f"{path} -> {path.resolve()}"
                    report(sub_rel, ErrorReason.SYMLINK_OUTSIDE_INPUT, message)
            elif is_dir:
                if base.joinpath(sub_rel) not in excluded:
                    subdirs.append((path, sub_rel))
            else:
                yield path, sub_rel
        stack.extend(reversed(subdirs))


def discover_inputs(
    paths: Sequence[str], *, exclude: Sequence[str | Path] = ()
) -> tuple[list[InputFile], list[ErrorRecord]]:
    """All supported files under the given paths, in a stable order, plus what was skipped.

    A file's `source` is its path relative to the parent of the argument it was found
    under (`winnow run /data/crawl` -> `crawl/a/b.txt`), so ids do not depend on the cwd.
    Two different files that would share a source get parent folders of their arguments
    (`winnow run a/data b/data` -> `a/data/x.txt`, `b/data/x.txt`); all others keep theirs.
    Only regular files are read (`not_regular_file` for FIFOs, devices, sockets). Symlinks to
    regular files inside their input folder are read under the link's name; symlinks that
    point outside it are reported, not followed. Undecodable names are escaped (`\\xNN`).
    Folders in `exclude` (the output) and everything under them are skipped silently.
    """
    excluded = {Path(p).resolve() for p in exclude}
    found: list[_Found | ErrorRecord] = []  # in walk order (error rows keep today's order)
    for root in _roots(paths):
        if any(root.real.is_relative_to(e) for e in excluded):
            continue
        if root.is_dir:

            def report(rel: str, reason: str, message: str, label: str = root.label) -> None:
                source = printable(_join(label, rel))
                found.append(ErrorRecord(source, -1, reason, printable(message)))

            candidates: Iterator[tuple[Path, str]] = _walk(Path(root.arg), report, excluded)
        else:
            candidates = iter([(Path(root.arg), "")])
        for p, rel in candidates:
            source = printable(_join(root.label, rel))
            outcome = _discover_file(p, source, root.real if root.is_dir else None)
            if not (isinstance(outcome, ErrorRecord) and not outcome.reason):  # "": skipped
                found.append(_Found(root, rel, root.real / rel if rel else root.real, outcome))
    return _unique(found)


def _unique(found: list[_Found | ErrorRecord]) -> tuple[list[InputFile], list[ErrorRecord]]:
    """Inputs under distinct sources (sorted) and the error rows; a file found twice is one
    input, a source two files still share is a `source_collision` row for the second."""
    files = [f for f in found if isinstance(f, _Found)]
    source_of = dict(zip(map(id, files), _distinct_sources(files), strict=True))
    inputs: dict[str, tuple[InputFile, Path]] = {}
    errors: list[ErrorRecord] = []
    for f in found:
        if isinstance(f, ErrorRecord):
            errors.append(f)
            continue
        source = source_of[id(f)]
        outcome = dataclasses.replace(f.outcome, source=source)
        if isinstance(outcome, ErrorRecord):
            errors.append(dataclasses.replace(outcome, message=printable(outcome.message)))
        elif source not in inputs:
            inputs[source] = (outcome, f.real)
        elif inputs[source][1] != f.real:
            message = f"{outcome.path} has the same source name as {inputs[source][0].path}"
            errors.append(
                ErrorRecord(source, -1, ErrorReason.SOURCE_COLLISION, f"{message}; not read")
            )
    return [inputs[k][0] for k in sorted(inputs)], errors


def _discover_file(p: Path, source: str, base: Path | None) -> InputFile | ErrorRecord:
    """The InputFile of one candidate, or its error row (reason "" = skip silently).

    `base`: the real path of the folder argument it was found under (None: a file argument).
    """
    if base is not None and p.is_symlink() and not p.resolve().is_relative_to(base):
        return ErrorRecord(source, -1, ErrorReason.SYMLINK_OUTSIDE_INPUT, f"{p} -> {p.resolve()}")
    if file_kind(p.name)[0] not in SUPPORTED:
        if not p.name.startswith(".") and p.name.lower() not in {"readme.md"}:
            return ErrorRecord(
                source, -1, ErrorReason.UNSUPPORTED_FORMAT, f"no reader for {p.name}"
            )
        return ErrorRecord(source, -1, "", "")
    try:
        st = p.stat()
        if not stat.S_ISREG(st.st_mode):
            return ErrorRecord(
                source, -1, ErrorReason.NOT_REGULAR_FILE, f"{_kind_of(st.st_mode)}; not read"
            )
        checksum = checksum_file(p)
    except OSError as exc:
        return ErrorRecord(source, -1, ErrorReason.UNREADABLE_FILE, str(exc))
    path = str(p)
    shown = printable(path)
    fs_path = os.fsencode(path).hex() if shown != path else ""
    return InputFile(source, shown, st.st_size, checksum, st.st_mtime_ns, fs_path)


def _kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, name in (
        (stat.S_ISFIFO, "named pipe (FIFO)"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISDIR, "folder"),
    ):
        if test(mode):
            return name
    return "not a regular file"


class _DiskReader(io.RawIOBase):
    """The raw file: its OSErrors become DiskError, so no decompressor error is mistaken for one."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[override]
        try:
            return self.raw.readinto(buf)
        except OSError as exc:
            raise DiskError(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        self.raw.close()
        super().close()


class _LimitedReader(io.RawIOBase):
    """A decompressed stream, one decompressor call per read, capped at `limit` bytes.

    A decompressor error becomes CorruptArchive (cause kept), the cap DecompressionLimit.
    Reads return what one call produced (never more than asked), so every byte before a
    damaged or truncated spot reaches the reader.
    """

    def __init__(self, inner: BinaryIO, limit: int) -> None:
        self.inner, self.limit, self.seen = inner, limit, 0
        self.read_some = getattr(inner, "read1", inner.read)

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[override]
        try:
            data = self.read_some(len(buf))
        except _DECOMPRESSOR_ERRORS as exc:
            raise CorruptArchive(f"{type(exc).__name__}: {exc}") from exc
        self.seen += len(data)
        if self.seen > self.limit:
            raise DecompressionLimit(f"expanded size exceeds {self.limit} bytes")
        buf[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.inner.close()
        super().close()


class _ZstdReader(io.RawIOBase):
    """Streaming zstd decoder that raises EOFError on a truncated stream (multi-frame ok).

    zstandard's `stream_reader` silently returns what it has when the input ends early.
    """

    def __init__(self, raw: BinaryIO) -> None:
        import zstandard

        self._zstd = zstandard
        self.raw = raw
        self.dobj = zstandard.ZstdDecompressor().decompressobj()
        self.pending = b""
        self.started = False

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[override]
        while not self.pending:
            chunk = self.raw.read(READ_CHUNK)
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


class _GzipMembers(io.RawIOBase):
    """Multi-member gzip decoder (as gzip.GzipFile) that can skip past a damaged member.

    Crawlers gzip every WARC record on its own; after a damaged member `resync` moves to the
    next member header, so only the damaged record is lost.
    """

    MAGIC = b"\x1f\x8b\x08"  # gzip id bytes + deflate method (RFC 1952)

    def __init__(self, raw: BinaryIO) -> None:
        self.raw, self.buf, self.dobj = raw, b"", None

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        chunk = self.raw.read(READ_CHUNK)
        self.buf += chunk
        return bool(chunk)

    def readinto(self, b) -> int:  # type: ignore[override]
        while True:
            if self.dobj is None:  # between members: zero padding is allowed (as gzip)
                while len(self.buf.lstrip(b"\x00")) < 2 and self._fill():
                    pass
                self.buf = self.buf.lstrip(b"\x00")
                if not self.buf:
                    return 0
                if not self.buf.startswith(self.MAGIC[:2]):
                    raise gzip.BadGzipFile(f"Not a gzipped file ({self.buf[:2]!r})")
                self.dobj = zlib.decompressobj(31)
            if not self.buf and not self._fill():
                raise EOFError("Compressed file ended before the end-of-stream marker was reached")
            out = self.dobj.decompress(self.buf, len(b))
            if self.dobj.eof:
                self.buf, self.dobj = self.dobj.unused_data, None
            else:
                self.buf = self.dobj.unconsumed_tail
            if out:
                b[: len(out)] = out
                return len(out)

    def resync(self) -> bool:
        """Skip to the next member header after the damaged spot; False at the end of file."""
        self.dobj, start = None, 1
        while (i := self.buf.find(self.MAGIC, start)) < 0:
            self.buf, start = self.buf[-2:], 0
            if not self._fill():
                self.buf = b""
                return False
        self.buf = self.buf[i:]
        return True

    def close(self) -> None:
        self.raw.close()
        super().close()


def _decompressor_errors() -> tuple[type[BaseException], ...]:
    """Errors a decompressor raises on damaged input (zstandard's only if installed)."""
    errors: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error)  # gzip, bz2
    try:
        import zstandard
    except ImportError:  # pragma: no cover - a dependency
        return errors
    return (*errors, zstandard.ZstdError)


_DECOMPRESSOR_ERRORS = _decompressor_errors()


def max_expanded_bytes() -> int:
    """Absolute expansion limit: $WINNOW_MAX_EXPANDED_BYTES if set, else MAX_EXPANDED_BYTES."""
    value = os.environ.get(MAX_EXPANDED_ENV)
    return int(value) if value else MAX_EXPANDED_BYTES


def expand(raw: BinaryIO, comp: str, *, limit: int, members: bool = False) -> BinaryIO:
    """Decompressing unbuffered reader over an open file (`comp` from `file_kind`).

    `members`: a .gz file is read by `_GzipMembers`, which can skip a damaged member.
    """
    disk = _DiskReader(raw)
    if comp == ".gz" and members:
        inner: BinaryIO = _GzipMembers(disk)  # type: ignore[assignment]
    elif comp == ".gz":
        inner = gzip.GzipFile(fileobj=disk, mode="rb")
    elif comp == ".bz2":
        inner = bz2.BZ2File(disk, "rb")
    elif comp == ".zst":
        inner = _ZstdReader(disk)  # type: ignore[assignment]
    else:
        return disk  # type: ignore[return-value]
    return _LimitedReader(inner, limit)  # type: ignore[return-value]


def expansion_limit(compressed_bytes: int) -> int:
    """Largest expanded size allowed for a compressed file of this size."""
    return max(max_expanded_bytes(), MAX_EXPANSION_RATIO * compressed_bytes)


def open_binary(path: str | bytes, *, limit: int | None = None) -> BinaryIO:
    """Open a possibly compressed regular file for buffered binary reads (expanded size capped)."""
    raw = open_regular(path)
    comp = file_kind(os.fsdecode(path))[1]
    if limit is None:
        limit = expansion_limit(os.fstat(raw.fileno()).st_size)
    return io.BufferedReader(expand(raw, comp, limit=limit), buffer_size=READ_CHUNK)


def read_documents(item: InputFile, config: PipelineConfig) -> Iterator[Document | ErrorRecord]:
    """Stream the documents of one input file; a failure becomes an error row, never a raise.

    Each document that holds an over-long line is followed by a `line_too_long` error row
    (the document is still loaded); one of more than MAX_DOCUMENT_LINES lines is a
    `document_too_large` row instead. Every string is valid UTF-8 (storable in Parquet).
    """
    for rec in _read_records(item, config):
        if isinstance(rec, ErrorRecord):
            yield dataclasses.replace(
                rec, source=printable(rec.source), message=scrub_surrogates(rec.message)[0]
            )
            continue
        if (lines := rec.text.count("\n") + 1) > MAX_DOCUMENT_LINES:
            yield ErrorRecord(
                printable(rec.source),
                rec.record,
                ErrorReason.DOCUMENT_TOO_LARGE,
                f"document has {lines:,} lines, more than {MAX_DOCUMENT_LINES:,}; not loaded",
            )
            continue
        if rec.url is not None:
            url, replaced = scrub_surrogates(rec.url)
            if replaced:
                rec = dataclasses.replace(rec, url=url, decode_replaced=True)
        yield rec
        warning = long_line_error(rec)
        if warning is not None:
            yield warning


def _read_records(item: InputFile, config: PipelineConfig) -> Iterator[Document | ErrorRecord]:
    """The records of one file, damaged ones as error rows; the file's own failures last."""
    fmt, comp = file_kind(item.path)
    where = [0]  # the record being read, for the error row of a failure
    opened = _open_unchanged(item)
    if isinstance(opened, ErrorRecord):
        yield opened
        return
    before = os.fstat(opened.fileno())
    probe = os.dup(opened.fileno())  # to see the file after the reader closed it
    try:
        try:
            yield from _read_format(item, opened, fmt, comp, config, where)
        except _read_errors() as exc:
            yield _error_row(item.source, where[0], exc)
        after = os.fstat(probe)
    finally:
        os.close(probe)
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        yield ErrorRecord(
            item.source,
            -1,
            ErrorReason.FILE_CHANGED,
            f"changed while being read ({before.st_size} -> {after.st_size} bytes); the "
            "records above may mix versions, a later run reads the new version",
        )


def _read_format(
    item: InputFile,
    opened: BinaryIO,
    fmt: str,
    comp: str,
    config: PipelineConfig,
    where: list[int],
) -> Iterator[Document | ErrorRecord]:
    """The records of an opened file by its format (library errors propagate)."""
    warc = fmt in WARC_SUFFIXES
    with expand(opened, comp, limit=expansion_limit(item.bytes), members=warc) as stream:
        if warc:  # unbuffered: every record before a cut is parsed
            inner = getattr(stream, "inner", None)
            resync = inner.resync if isinstance(inner, _GzipMembers) else None
            yield from _read_warc(item.source, stream, where, resync=resync)
            return
        fh = io.BufferedReader(stream, buffer_size=READ_CHUNK)
        if fmt in JSONL_SUFFIXES:
            yield from _read_jsonl(item.source, fh, config, where)
        elif fmt in HTML_SUFFIXES:
            yield from _read_html(item.source, fh)
        elif fmt in PARQUET_SUFFIXES:
            yield from _read_parquet(item, opened if not comp else fh, config, where)
        else:
            yield _read_text(item.source, fh)


def _open_unchanged(item: InputFile) -> BinaryIO | ErrorRecord:
    """The file opened, if it is still the regular file of the given size and checksum."""
    try:
        raw = open_regular(item.os_path())
    except FileNotFoundError as exc:
        return ErrorRecord(
            item.source, -1, ErrorReason.FILE_MISSING, f"gone since discovery: {exc}"
        )
    except NotRegularFile as exc:
        return ErrorRecord(item.source, -1, ErrorReason.NOT_REGULAR_FILE, str(exc))
    except OSError as exc:
        return ErrorRecord(item.source, -1, ErrorReason.UNREADABLE_FILE, str(exc))
    st = os.fstat(raw.fileno())
    changed = st.st_size != item.bytes
    if not changed and item.mtime_ns and st.st_mtime_ns != item.mtime_ns:
        changed = checksum_stream(raw) != item.checksum
        raw.seek(0)
    if changed:
        raw.close()
        return ErrorRecord(
            item.source,
            -1,
            ErrorReason.FILE_CHANGED,
            f"changed since discovery ({item.bytes} -> {st.st_size} bytes); not read, "
            "a later run reads the new version",
        )
    return raw


def _error_row(source: str, record: int, exc: BaseException) -> ErrorRecord:
    """The error row of a library error raised while reading a file."""
    cause = exc.__cause__ if isinstance(exc, (CorruptArchive, DiskError)) else exc
    reason = next(r for types, r in _library_errors() if isinstance(exc, types))
    if isinstance(cause, PermissionError):
        reason = ErrorReason.UNREADABLE_FILE
    return ErrorRecord(source, record, reason, f"{type(cause).__name__}: {cause}")


@functools.cache
def _library_errors() -> tuple[tuple[tuple[type[BaseException], ...], str], ...]:
    """(exception types, reason) of the library errors a damaged input raises, in match order
    (pyarrow and warcio imported on the first call: the flow process plans without them)."""
    import pyarrow as pa
    from warcio.exceptions import ArchiveLoadFailed
    from warcio.statusandheaders import StatusAndHeadersParserException

    return (
        ((DecompressionLimit,), ErrorReason.DECOMPRESSION_LIMIT),
        ((CorruptArchive,), ErrorReason.CORRUPT_ARCHIVE),
        ((ArchiveLoadFailed, StatusAndHeadersParserException), ErrorReason.CORRUPT_ARCHIVE),
        ((pa.ArrowException,), ErrorReason.CORRUPT_ARCHIVE),  # ArrowInvalid, ArrowIOError
        ((DiskError, OSError), ErrorReason.READ_ERROR),
    )


@functools.cache
def _read_errors() -> tuple[type[BaseException], ...]:
    """Every exception type of `_library_errors`."""
    return tuple(t for types, _ in _library_errors() for t in types)


def _line_runs(chunk: bytes, run: int) -> tuple[int, int]:
    """(longest line that reaches an edge of `chunk`, counting `run` bytes carried in; bytes
    carried out). Lines inside the chunk are shorter than it, so below MAX_LINE_BYTES.

    >>> _line_runs(b"ab\\ncdef\\rg", 3)
    (5, 1)
    """
    first = min((i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0), default=-1)
    if first < 0:
        return run + len(chunk), run + len(chunk)
    carry = len(chunk) - 1 - max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
    return max(run + first, carry), carry


def _read_bounded(fh: BinaryIO, source: str, record: int) -> bytes | ErrorRecord:
    """All bytes of a stream, or an error row as soon as a line or the whole gets too long.

    Checked chunk by chunk before anything is decoded, so memory stays near the bound.
    """
    chunks: list[bytes] = []
    total = run = 0  # bytes so far; bytes since the last line break
    while chunk := fh.read(READ_CHUNK):
        total += len(chunk)
        longest, run = _line_runs(chunk, run)
        if longest > MAX_LINE_BYTES:
            return ErrorRecord(
                source,
                record,
                ErrorReason.LINE_OVER_LIMIT,
                f"a line longer than {MAX_LINE_BYTES} bytes; document not loaded",
            )
        if total > MAX_DOCUMENT_BYTES:
            return ErrorRecord(
                source,
                record,
                ErrorReason.DOCUMENT_TOO_LARGE,
                f"more than {MAX_DOCUMENT_BYTES} bytes; document not loaded",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _read_text(source: str, fh: BinaryIO) -> Document | ErrorRecord:
    """A text file: one document (BOM, UTF-8 or detected encoding)."""
    data = _read_bounded(fh, source, 0)
    return data if isinstance(data, ErrorRecord) else document_from_bytes(source, 0, data)


def _read_html(source: str, fh: BinaryIO) -> Iterator[Document | ErrorRecord]:
    """An HTML file: one document (main text), read only up to MAX_HTML_BYTES."""
    data = fh.read(MAX_HTML_BYTES + 1)
    if len(data) > MAX_HTML_BYTES:
        yield html_too_large(source, 0, len(data))
        return
    yield from html_documents(source, 0, data)


def _jsonl_lines(fh: BinaryIO, where: list[int]) -> Iterator[tuple[int, str | None]]:
    """(line index, text) of a JSONL stream's lines (None for one over MAX_LINE_BYTES, skipped
    unread); `where[0]` is the index of the next line to read.

    A byte-order mark decides the encoding (UTF-8, UTF-16, UTF-32); else UTF-8, bad bytes
    replaced. Runs of blank lines are skipped a buffer at a time (`_skip_blank_lines`).
    """
    bom = sniff_bom(fh.peek(4)[:4])  # type: ignore[attr-defined]
    if bom is not None and bom[0] != "utf-8-sig":
        text = io.TextIOWrapper(fh, encoding=bom[0], errors="replace", newline="\n")  # type: ignore[arg-type]
        while line := text.readline(MAX_LINE_BYTES + 1):
            if len(line) > MAX_LINE_BYTES and not line.endswith("\n"):
                while (more := text.readline(READ_CHUNK)) and not more.endswith("\n"):
                    pass
                yield where[0], None
            else:
                yield where[0], line
            where[0] += 1
        return
    if bom is not None:
        fh.read(bom[1])
    while raw := fh.readline(MAX_LINE_BYTES + 1):
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (more := fh.readline(READ_CHUNK)) and not more.endswith(b"\n"):
                pass
            yield where[0], None
        elif raw.isspace():
            where[0] += 1
            _skip_blank_lines(fh, where)
            continue
        else:
            yield where[0], raw.decode("utf-8", errors="replace")
        where[0] += 1


def _skip_blank_lines(fh: BinaryIO, where: list[int]) -> None:
    """Consume the whole blank (ASCII whitespace) lines at `fh`'s position, counting them in
    `where[0]`: a file of newlines costs a buffer scan per MiB instead of a Python step per
    line (200 MB of newlines in a .jsonl.gz: 46 s before, 0.8 s after)."""
    while buf := fh.peek(READ_CHUNK):  # type: ignore[attr-defined]
        rest = buf.lstrip(ASCII_SPACE)
        cut = buf.rfind(b"\n", 0, len(buf) - len(rest)) + 1  # after the run's last newline
        if not cut:
            return
        where[0] += buf.count(b"\n", 0, cut)
        fh.read(cut)
        if rest:
            return


def _read_jsonl(
    source: str, fh: BinaryIO, config: PipelineConfig, where: list[int]
) -> Iterator[Document | ErrorRecord]:
    """JSON Lines: one document per line; a bad line is that line's error row."""
    where[0] = 0
    for record, line in _jsonl_lines(fh, where):
        if line is None:
            yield ErrorRecord(
                source,
                record,
                ErrorReason.LINE_OVER_LIMIT,
                f"line {record + 1} is longer than {MAX_LINE_BYTES} bytes; not loaded",
            )
        elif line.strip():
            yield parse_jsonl_line(
                source, record, line, text_field=config.text_field, id_field=config.id_field
            )


def _read_warc(
    source: str, fh: BinaryIO, where: list[int], *, resync: Callable[[], bool] | None = None
) -> Iterator[Document | ErrorRecord]:
    """WARC: HTML responses through the HTML reader; WET: conversion records are text.

    Streams record by record (warcio); `record` is the record's index in the file, so the
    doc_id is stable; the WARC-Target-URI becomes `url`. Requests, metadata and warcinfo
    records are skipped; a response that is neither HTML nor plain text (PDF, image) is an
    `unsupported_content_type` error row, so the summary says what was not loaded. A record
    cut short by the end of the file (shorter than its Content-Length, or its gzip member
    truncated) is a `truncated_record` row; every record before it is read. With `resync`
    (a per-record .warc.gz) reading goes on at the next gzip member after a damaged one.
    """
    from warcio.archiveiterator import ArchiveIterator

    index = -1  # the last record started
    while True:
        records = ArchiveIterator(fh, arc2warc=True)
        while True:
            where[0] = index + 1
            try:
                rec = next(records)
            except StopIteration:
                return
            except CorruptArchive as exc:
                index, failure = index + 1, exc
                yield _truncated_or_corrupt(source, index, exc, "before its headers were read")
                break
            except _WARCIO_PARSE_ERRORS as exc:  # warcio's parser on a damaged header block
                index, failure = index + 1, exc
                yield ErrorRecord(
                    source,
                    index,
                    ErrorReason.CORRUPT_ARCHIVE,
                    f"record {index} unparsable ({type(exc).__name__}: {exc})",
                )
                break
            index += 1
            try:
                items = _warc_record(source, index, rec)
            except CorruptArchive as exc:
                failure = exc
                yield _truncated_or_corrupt(source, index, exc, "inside its content")
                break
            yield from items
        if resync is None or isinstance(failure.__cause__, EOFError) or not resync():
            return


def _warcio_parse_errors() -> tuple[type[BaseException], ...]:
    """What warcio's record parser raises on a damaged header block.

    Besides its own exceptions it fails with plain ValueError/AttributeError/TypeError/
    IndexError (e.g. `None.startswith` for a record without WARC-Target-URI); they are
    caught only around `next(records)`, where no winnow code runs but the readers above.
    """
    from warcio.exceptions import ArchiveLoadFailed
    from warcio.statusandheaders import StatusAndHeadersParserException

    return (
        ArchiveLoadFailed,
        StatusAndHeadersParserException,
        ValueError,
        AttributeError,
        TypeError,
        IndexError,
        KeyError,
    )


_WARCIO_PARSE_ERRORS = _warcio_parse_errors()


def _truncated_or_corrupt(source: str, index: int, exc: CorruptArchive, where: str) -> ErrorRecord:
    """The row of a WARC record the decompressor failed on (truncated if the stream ended)."""
    if isinstance(exc.__cause__, EOFError):
        return ErrorRecord(
            source,
            index,
            ErrorReason.TRUNCATED_RECORD,
            f"record {index}: the compressed file ends {where} ({exc}); records before it read",
        )
    return _error_row(source, index, exc)


def _warc_record(source: str, index: int, rec) -> list[Document | ErrorRecord]:
    """One WARC record as a document (and its warning), an error row, or nothing (not text)."""
    kind = rec.rec_type
    url = rec.rec_headers.get_header("WARC-Target-URI")
    if rec.format != "arc" and rec.rec_headers.get_header("Content-Length") is None:
        message = f"record {index} has no Content-Length: cut inside its headers; not loaded"
        return [ErrorRecord(source, index, ErrorReason.TRUNCATED_RECORD, message)]
    if kind not in ("conversion", "response", "resource"):
        return []
    headers = rec.http_headers if rec.http_headers is not None else rec.rec_headers
    ctype = (headers.get_header("Content-Type") or "").lower()
    html = kind != "conversion" and "html" in ctype
    if kind != "conversion" and not html and not ctype.startswith("text/plain"):
        return [
            ErrorRecord(
                source,
                index,
                ErrorReason.UNSUPPORTED_CONTENT_TYPE,
                f"{kind} record for {url} has Content-Type {ctype or 'none'}; not text",
            )
        ]
    cap = MAX_HTML_BYTES if html else MAX_DOCUMENT_BYTES
    try:
        data = rec.content_stream().read(cap + 1)
    except _DECOMPRESSOR_ERRORS as exc:  # its HTTP Content-Encoding (gzip, br) is damaged
        message = f"record {index} ({url}): payload undecodable, {type(exc).__name__}: {exc}"
        return [ErrorRecord(source, index, ErrorReason.CORRUPT_ARCHIVE, message)]
    if len(data) > cap:
        return [html_too_large(source, index, len(data)) if html else _too_large(source, index)]
    missing = _missing_bytes(rec)
    if missing:
        message = f"record {index} ({url}): {missing} bytes fewer than its Content-Length"
        return [ErrorRecord(source, index, ErrorReason.TRUNCATED_RECORD, message + "; not loaded")]
    if html:
        items = list(html_documents(source, index, data))
    else:
        items = [document_from_bytes(source, index, data)]
    return [
        dataclasses.replace(r, url=url) if isinstance(r, Document) and url else r for r in items
    ]


def _missing_bytes(rec) -> int:
    """How many bytes of its declared Content-Length a WARC record lacks (0 when complete)."""
    raw = rec.raw_stream
    while raw.read(READ_CHUNK):  # the rest after the payload (chunked trailer, blank lines)
        pass
    return max(getattr(raw, "limit", 0), 0)


def _too_large(source: str, index: int) -> ErrorRecord:
    """The `document_too_large` row of a record above MAX_DOCUMENT_BYTES."""
    return ErrorRecord(
        source,
        index,
        ErrorReason.DOCUMENT_TOO_LARGE,
        f"record {index} holds more than {MAX_DOCUMENT_BYTES} bytes; not loaded",
    )


def _read_parquet(
    item: InputFile, fh: BinaryIO, config: PipelineConfig, where: list[int]
) -> Iterator[Document | ErrorRecord]:
    """Parquet: one document per row of column `text_field` (id from `id_field` if given).

    Read row group by row group: a damaged row group is one error row for its rows, and a
    batch whose text is not valid UTF-8 is converted row by row (bad bytes replaced).
    """
    import pyarrow.parquet as pq

    if file_kind(item.path)[1]:  # compressed Parquet: expand to a temporary file (seekable)
        spool = tempfile.TemporaryFile()
        while block := fh.read(READ_CHUNK):
            spool.write(block)
        spool.seek(0)
        fh = spool  # type: ignore[assignment]
    try:
        pf = pq.ParquetFile(fh)
    except _parquet_data_errors() as exc:  # pyarrow raises OSError for a damaged footer too
        yield ErrorRecord(
            item.source, 0, ErrorReason.CORRUPT_ARCHIVE, f"{type(exc).__name__}: {exc}"
        )
        return
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
    for group in range(pf.num_row_groups):
        end = record + pf.metadata.row_group(group).num_rows
        try:
            for batch in pf.iter_batches(batch_size=1024, columns=columns, row_groups=[group]):
                for text, doc_id in _batch_rows(batch, config.text_field, len(columns) > 1):
                    where[0] = record
                    yield _parquet_row(item.source, record, text, doc_id, config.text_field)
                    record += 1
        except _parquet_data_errors() as exc:
            yield ErrorRecord(
                item.source,
                record,
                ErrorReason.CORRUPT_ARCHIVE,
                f"row group {group}, rows {record}..{end - 1} unreadable: {type(exc).__name__}: {exc}",
            )
        record = end


@functools.cache
def _parquet_data_errors() -> tuple[type[BaseException], ...]:
    """Errors pyarrow raises on a damaged Parquet page (pyarrow imported on the first call)."""
    import pyarrow as pa

    return (pa.ArrowException, OSError)


def _batch_rows(batch, text_field: str, with_id: bool) -> list[tuple[object, object]]:
    """(text, id) of every row of a record batch; text as (bytes, True) if not valid UTF-8."""
    import pyarrow as pa

    column = batch.column(text_field)
    try:
        texts: list[object] = column.to_pylist()
    except (pa.ArrowInvalid, UnicodeDecodeError):  # a row that is not valid UTF-8
        texts = [_text_or_bytes(v) for v in column.cast(pa.binary()).to_pylist()]
    ids = batch.column(1).to_pylist() if with_id else [None] * len(texts)
    return list(zip(texts, ids, strict=True))


def _text_or_bytes(value: bytes | None) -> object:
    """A binary cell as text, or as (bytes,) when it is not valid UTF-8."""
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return (value,)


def _parquet_row(
    source: str, record: int, text: object, doc_id: object, text_field: str
) -> Document | ErrorRecord:
    """One Parquet row as a document (invalid UTF-8 replaced and flagged) or an error row."""
    if isinstance(text, tuple):
        doc = document_from_text(
            source, record, text[0].decode("utf-8", errors="replace"), replaced=True
        )
    elif not isinstance(text, str):
        reason = "missing_text_field" if text is None else "text_not_string"
        return ErrorRecord(source, record, reason, f"row {record}: no string {text_field!r}")
    else:
        doc = document_from_text(source, record, text)
    if doc_id is not None and isinstance(doc, Document):
        doc = dataclasses.replace(doc, doc_id=str(doc_id))
    return doc
