"""Planning a run: which files are new, how they are batched, the run id, the code hash.

Scheduling options (`RunOptions`) decide how the work is cut and run, never the rows, so they
are not part of the config hash; `transforms.config.PipelineConfig` holds the result knobs.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import transforms
from flows.readers import InputFile, file_kind
from transforms.config import PipelineConfig

# Documents per labelling chunk inside one task (bounded memory per task).
BATCH_DOCS = 2_000
# Files per task when grouping many small files (keeps a run at a few hundred task runs).
BATCH_FILES = 1000
LANG_ENGINES = ("auto", "rs", "py")  # auto: langdetect-rs if installed; identical labels

# Soft cap on the bytes of one batch of files (bounded memory per task).
BATCH_BYTES = 8 * 1024**2
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


@dataclass(frozen=True)
class InputPlan:
    """The files of a run: new ones (in input order) and sources loaded before in another
    version (source -> checksum of the new version)."""

    new: list[InputFile]
    revisions: dict[str, str]
    n_skipped: int


def plan_inputs(files: list[InputFile], loaded: Iterable[tuple[str, str]]) -> InputPlan:
    """Files not yet loaded (same source and checksum are skipped) and the new versions."""
    done = set(loaded)
    new = [f for f in files if (f.source, f.checksum) not in done]
    seen_sources = {source for source, _ in done}
    revisions = {f.source: f.checksum for f in new if f.source in seen_sources}
    return InputPlan(new, revisions, len(files) - len(new))


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
    )
    options = RunOptions(
        batch_docs=params["batch_docs"],
        batch_files=params["batch_files"],
        lang_engine=params["lang_engine"],
    )
    return config, options
