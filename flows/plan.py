"""Planning a run: which files are new, how they are batched, the run id, the code hash.

Scheduling options (`RunOptions`) decide how the work is cut and run, never the rows, so they
are not part of the config hash; `transforms.config.PipelineConfig` holds the result knobs.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import transforms
from flows.readers import InputFile, file_kind
from transforms.boilerplate import BoilerplateConfig
from transforms.config import PipelineConfig
from transforms.records import ErrorReason

# Documents per labelling chunk inside one task (bounded memory per task).
BATCH_DOCS = 2_000
# Files per task when grouping many small files (keeps a run at a few hundred task runs).
BATCH_FILES = 1000
LANG_ENGINES = ("auto", "rs", "py")  # auto: langdetect-rs if installed; identical labels

# Soft cap on the bytes of one batch of files (bounded memory per task). 1M benchmark lines,
# peak RSS of the `winnow run` tree, 2 alternating runs each (2026-12-02): 8 MiB 400-401 MiB,
# 4 MiB 351-364, 2 MiB 342-344 (2 workers: 831 -> 731 MiB); wall time within the machine's
# noise (8 MiB 71-83 s, 2 MiB 72-76 s). Smaller batches cost a Prefect task run each (~0.1 s)
# and, before load wrote row groups across batches, grew the load task's writer metadata.
BATCH_BYTES = 2 * 1024**2
# Inputs smaller than TARGET_BATCHES * BATCH_BYTES are cut into about TARGET_BATCHES batches
# of equal expanded size (work for 2-4 workers, and balanced: one big batch would run alone
# at the end), but no batch is planned below MIN_BATCH_BYTES (~10k lines, ~1 s of work)
# so Prefect's per-task cost (~0.1 s per task run) stays small. Independent of the number of
# workers: the same inputs give the same batches, hence byte-identical datasets.
TARGET_BATCHES = 8
MIN_BATCH_BYTES = 1024**2
# Compressed inputs are weighted by a typical text compression ratio (gzip/zstd on web text
# expand 3-5x), so a batch of compressed shards does not grow to several times BATCH_BYTES.
COMPRESSED_WEIGHT = 4


@dataclass(frozen=True)
class RunOptions:
    """How a run is cut into tasks and which language engine runs them (same rows for any)."""

    batch_docs: int = BATCH_DOCS
    batch_files: int = BATCH_FILES
    lang_engine: str = "auto"

    def __post_init__(self) -> None:
        if self.batch_docs < 1 or self.batch_files < 1:
            raise ValueError("batch sizes must be >= 1")
        if self.lang_engine not in LANG_ENGINES:
            raise ValueError(f"lang_engine must be auto, rs or py, not {self.lang_engine!r}")


def expected_bytes(item: InputFile) -> int:
    """Rough expanded size of an input file, used only to size batches."""
    return item.bytes * (COMPRESSED_WEIGHT if file_kind(item.path)[1] else 1)


def plan_batches(
    files: list[InputFile], *, batch_files: int = BATCH_FILES
) -> list[list[InputFile]]:
    """Group files in input order into batches of at most `batch_files` files and about
    BATCH_BYTES of expanded text (bounded memory per task); small inputs get about
    TARGET_BATCHES batches of equal size (balanced work for every worker)."""
    total = sum(expected_bytes(f) for f in files)
    cap = min(BATCH_BYTES, max(MIN_BATCH_BYTES, -(-total // TARGET_BATCHES)))
    batches: list[list[InputFile]] = []
    current: list[InputFile] = []
    size = 0
    for f in files:
        weight = expected_bytes(f)
        if current and (len(current) >= batch_files or size + weight > cap):
            batches.append(current)
            current, size = [], 0
        current.append(f)
        size += weight
    if current:
        batches.append(current)
    return batches


# Bump when a reader change reads other documents or errors from the same bytes: every file
# is then read again once (its earlier documents stay; the new ones are versions).
READER_VERSION = 1
COMPLETE, RETRY = "complete", "retry"  # ledger status of a file after a run read it
# Error reasons that mean a file was not really read (gone, changed or unreadable while the
# run read it): the ledger says `retry`, and the next run reads it again.
RETRY_REASONS = frozenset(
    {
        ErrorReason.FILE_MISSING,
        ErrorReason.FILE_CHANGED,
        ErrorReason.UNREADABLE_FILE,
        ErrorReason.READ_ERROR,
    }
)


def reading_options(config: PipelineConfig, *, max_expanded_bytes: int) -> str:
    """JSON of everything that decides what is read from a file's bytes (ledger key).

    >>> reading_options(PipelineConfig(), max_expanded_bytes=10)
    '{"id_field": null, "max_expanded_bytes": 10, "reader_version": 1, "text_field": "text"}'
    """
    return json.dumps(
        {
            "text_field": config.text_field,
            "id_field": config.id_field,
            "max_expanded_bytes": max_expanded_bytes,
            "reader_version": READER_VERSION,
        },
        sort_keys=True,
    )


@dataclass(frozen=True)
class LedgerEntry:
    """What a committed run read of one file. `reading` None: written before the ledger
    existed (such a file counts as fully read with any options)."""

    source: str
    checksum: str
    reading: str | None
    status: str = COMPLETE


@dataclass(frozen=True)
class InputPlan:
    """The files of a run: new ones (in input order), why each is read, and the revision
    token of those read before in some form (source -> token for `revise_doc_id`)."""

    new: list[InputFile]
    revisions: dict[str, str]
    n_skipped: int
    reasons: dict[str, str] = dataclasses.field(default_factory=dict)


def _read_reason(f: InputFile, entries: list[LedgerEntry], reading: str) -> str | None:
    """Why `f` must be read (None: fully read before with the same reading options)."""
    same = [e for e in entries if e.checksum == f.checksum]
    if any(e.status == COMPLETE and e.reading in (reading, None) for e in same):
        return None
    if not entries:
        return "new"
    if not same:
        return "new_version"
    return "options_changed" if any(e.status == COMPLETE for e in same) else "retry"


def plan_inputs(
    files: list[InputFile], ledger: Iterable[LedgerEntry], *, reading: str | None = None
) -> InputPlan:
    """Files not yet fully read with these reading options; the rest are skipped.

    A new version of a loaded file (other checksum) gets its checksum as revision token, as
    always; a file read again with the same bytes (other options, or a read that did not
    finish) gets the checksum and its attempt number, so no two reads share a `doc_id`.
    """
    by_source: dict[str, list[LedgerEntry]] = {}
    for e in ledger:
        by_source.setdefault(e.source, []).append(e)
    new, revisions, reasons = [], {}, {}
    for f in files:
        entries = by_source.get(f.source, [])
        reason = _read_reason(f, entries, reading or "")
        if reason is None:
            continue
        new.append(f)
        reasons[f.source] = reason
        if reason == "new_version":
            revisions[f.source] = f.checksum
        elif reason != "new":
            attempt = sum(e.checksum == f.checksum for e in entries)
            revisions[f.source] = f"{f.checksum}\x00{attempt}"
    return InputPlan(new, revisions, len(files) - len(new), reasons)


def matches_any(source: str, patterns: Iterable[str]) -> bool:
    """Whether a source path (or its file name) matches one of the glob patterns (fnmatch,
    case-sensitive; `*` also matches `/`).

    >>> matches_any("crawl/2024/a.jsonl.gz", ["*.jsonl.gz"]), matches_any("crawl/b.txt", ["crawl/*"])
    (True, True)
    >>> matches_any("crawl/b.txt", ["b.*"]), matches_any("crawl/b.txt", ["*.jsonl"])
    (True, False)
    """
    name = source.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(source, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def select_sources(
    items: list, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None
) -> list:
    """The items (anything with a `.source`: input files, discovery errors) that match an
    `include` pattern (all when none is given) and no `exclude` pattern, in order."""
    include, exclude = list(include or []), list(exclude or [])
    return [
        item
        for item in items
        if (not include or matches_any(item.source, include))
        and not matches_any(item.source, exclude)
    ]


@functools.cache
def code_hash() -> str:
    """16-hex hash of the `transforms` source: its thresholds decide rows as much as the config."""
    root = Path(transforms.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.glob("*.py")):
        digest.update(path.name.encode() + b"\x00" + path.read_bytes())
    return digest.hexdigest()[:16]


def make_run_id(run_seq: int, cfg_hash: str, files: list[InputFile]) -> str:
    """Deterministic id: same output history, config, code and inputs give the same run id.

    A killed run resumes its finished batches only under the same id, so a code change never
    mixes rows of two versions.
    """
    blob = json.dumps([cfg_hash, code_hash(), [(f.source, f.checksum) for f in files]]).encode()
    return f"{run_seq:05d}-{hashlib.sha256(blob).hexdigest()[:12]}"


def flow_parameters(config: PipelineConfig, options: RunOptions) -> dict:
    """The flow's keyword parameters for a config and scheduling options (primitives only)."""
    return {
        "text_field": config.text_field,
        "id_field": config.id_field,
        "near_dup": config.near_dup,
        "near_dup_jaccard": config.near_dup_min_jaccard,
        "lsh_bands": config.lsh_bands,
        "lsh_rows": config.lsh_rows,
        "shingle_words": config.shingle_words,
        "boilerplate": dataclasses.asdict(config.boilerplate),
        "lang_engine": options.lang_engine,
        "batch_docs": options.batch_docs,
        "batch_files": options.batch_files,
    }


def settings_of(params: Mapping[str, object]) -> tuple[PipelineConfig, RunOptions]:
    """Config and options from the flow's parameters (the inverse of `flow_parameters`).

    >>> settings_of(flow_parameters(PipelineConfig(), RunOptions())) == (PipelineConfig(), RunOptions())
    True
    """
    config = PipelineConfig(
        text_field=params["text_field"],
        id_field=params["id_field"],
        lsh_bands=params["lsh_bands"],
        lsh_rows=params["lsh_rows"],
        shingle_words=params["shingle_words"],
        near_dup_min_jaccard=params["near_dup_jaccard"],
        near_dup=params["near_dup"],
        boilerplate=BoilerplateConfig(**(params.get("boilerplate") or {})),
    )
    options = RunOptions(
        batch_docs=params["batch_docs"],
        batch_files=params["batch_files"],
        lang_engine=params["lang_engine"],
    )
    return config, options
