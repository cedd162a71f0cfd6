"""The one frozen config of a run's results; its hash is stored with every run.

Only knobs that change rows live here (all of them hashed). How a run is scheduled (batch
sizes, language engine, workers) never changes a row and lives in `flows/plan.py`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

from transforms.boilerplate import BoilerplateConfig

# FineWeb MinHash setting: 14 bands x 8 rows over word 5-grams (threshold ~0.72).
LSH_BANDS = 14
LSH_ROWS = 8
SHINGLE_WORDS = 5
# Candidates count as near duplicates when their estimated Jaccard reaches this.
NEAR_DUP_MIN_JACCARD = 0.75


@dataclass(frozen=True)
class PipelineConfig:
    """Every knob that decides a run's rows. Changing any field changes `config_hash`."""

    text_field: str = "text"
    id_field: str | None = None
    lsh_bands: int = LSH_BANDS
    lsh_rows: int = LSH_ROWS
    shingle_words: int = SHINGLE_WORDS
    near_dup_min_jaccard: float = NEAR_DUP_MIN_JACCARD
    near_dup: bool = True
    boilerplate: BoilerplateConfig = field(default_factory=BoilerplateConfig)

    def __post_init__(self) -> None:
        if not self.text_field:
            raise ValueError("text_field must not be empty")
        if self.lsh_bands < 1 or self.lsh_rows < 1 or self.shingle_words < 1:
            raise ValueError("lsh_bands, lsh_rows and shingle_words must be >= 1")
        if not 0.0 < self.near_dup_min_jaccard <= 1.0:
            raise ValueError("near_dup_min_jaccard must be in (0, 1]")

    @property
    def signature_width(self) -> int:
        """MinHash permutations per document (bands x rows)."""
        return self.lsh_bands * self.lsh_rows


def config_hash(config: PipelineConfig) -> str:
    """Stable 16-hex hash of every config field.

    >>> config_hash(PipelineConfig()) == config_hash(PipelineConfig())
    True
    >>> config_hash(PipelineConfig()) == config_hash(PipelineConfig(near_dup=False))
    False
    """
    blob = json.dumps(dataclasses.asdict(config), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
