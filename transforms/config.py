"""The one frozen config of a run; its hash is stored with every run."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

# FineWeb MinHash setting: 14 bands x 8 rows over word 5-grams (threshold ~0.72).
LSH_BANDS = 14
LSH_ROWS = 8
SHINGLE_WORDS = 5
# Candidates count as near duplicates when their estimated Jaccard reaches this.
NEAR_DUP_MIN_JACCARD = 0.75
# Documents per batch inside one task (bounded memory; Prefect task granularity).
BATCH_DOCS = 2_000
# Files per task when grouping many small files (keeps a run at a few hundred task runs).
BATCH_FILES = 1000


@dataclass(frozen=True)
class PipelineConfig:
    """Every knob of a run. Changing any field changes `config_hash`."""

    text_field: str = "text"
    id_field: str | None = None
    batch_docs: int = BATCH_DOCS
    batch_files: int = BATCH_FILES
    lang_engine: str = "auto"  # "auto" (langdetect-rs if installed), "rs", "py"
    lsh_bands: int = LSH_BANDS
    lsh_rows: int = LSH_ROWS
    shingle_words: int = SHINGLE_WORDS
    near_dup_min_jaccard: float = NEAR_DUP_MIN_JACCARD
    near_dup: bool = True

    def __post_init__(self) -> None:
        if self.batch_docs < 1 or self.batch_files < 1:
            raise ValueError("batch sizes must be >= 1")
        if self.lang_engine not in {"auto", "rs", "py"}:
            raise ValueError(f"lang_engine must be auto, rs or py, not {self.lang_engine!r}")
        if self.lsh_bands < 1 or self.lsh_rows < 1 or self.shingle_words < 1:
            raise ValueError("lsh_bands, lsh_rows and shingle_words must be >= 1")
        if not 0.0 < self.near_dup_min_jaccard <= 1.0:
            raise ValueError("near_dup_min_jaccard must be in (0, 1]")


# Fields that change scheduling only, never results: left out of the hash.
_NOT_HASHED = {"batch_docs", "batch_files", "lang_engine"}


def config_hash(config: PipelineConfig) -> str:
    """Stable 16-hex hash of the result-relevant config fields.

    >>> config_hash(PipelineConfig()) == config_hash(PipelineConfig())
    True
    """
    fields = {k: v for k, v in dataclasses.asdict(config).items() if k not in _NOT_HASHED}
    blob = json.dumps(fields, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
