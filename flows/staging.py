"""Every path inside a run's staging folder: the only module that spells them.

OUTPUT/_staging/<run_id>/
    flow_run.json                      the Prefect flow run writing here (crash marking)
    COMMIT.json                        the commit journal (present only while committing)
    a/labels-b<batch>.parquet          extract: line labels (keys, raw languages)
    a/docs-b<batch>.parquet            extract: document metadata
    a/errors-b<batch>.parquet          extract: error rows
    a/keys-b<batch>.parquet            extract: documents per line key
    a/b<batch>.done.json               extract: batch finished (a resumed run reuses it)
    key_counts.parquet                 documents per key, this run and every earlier run
    b/docs-b<batch>.parquet            flag: document rows
    b/sigs-b<batch>.npy                flag: MinHash signatures of those rows
    final/...                          files that land at OUTPUT/... at commit
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STAGING_DIR = "_staging"
FINAL_DIR = "final"
COMMIT_FILE = "COMMIT.json"
FLOW_RUN_FILE = "flow_run.json"


def staging_root(output: Path) -> Path:
    """The folder holding every run's staging folder."""
    return output / STAGING_DIR


@dataclass(frozen=True)
class Staging:
    """Staged paths of one run (`run_seq` names its final parts, `folder` is per run id)."""

    folder: Path
    run_seq: int

    @classmethod
    def of(cls, output: Path, run_id: str, run_seq: int) -> Staging:
        return cls(staging_root(output) / run_id, run_seq)

    # --- run-level files ---
    @property
    def flow_run_file(self) -> Path:
        return self.folder / FLOW_RUN_FILE

    @property
    def commit_file(self) -> Path:
        return self.folder / COMMIT_FILE

    @property
    def final_root(self) -> Path:
        return self.folder / FINAL_DIR

    @property
    def key_counts(self) -> Path:
        return self.folder / "key_counts.parquet"

    @property
    def id_renames(self) -> Path:
        """Documents whose input id an earlier document holds: (batch, row, new doc_id)."""
        return self.folder / "id_renames.parquet"

    @property
    def id_errors(self) -> Path:
        return self.folder / "id_errors.parquet"

    # --- extract (stage a) ---
    def labels(self, batch: int) -> Path:
        return self.folder / "a" / f"labels-b{batch:05d}.parquet"

    def labels_tmp(self, batch: int) -> Path:
        return self.folder / "a" / f".labels-b{batch:05d}.tmp"

    def doc_meta(self, batch: int) -> Path:
        return self.folder / "a" / f"docs-b{batch:05d}.parquet"

    def batch_errors(self, batch: int) -> Path:
        return self.folder / "a" / f"errors-b{batch:05d}.parquet"

    def batch_keys(self, batch: int) -> Path:
        return self.folder / "a" / f"keys-b{batch:05d}.parquet"

    def batch_ledger(self, batch: int) -> Path:
        return self.folder / "a" / f"ledger-b{batch:05d}.parquet"

    def extract_done(self, batch: int) -> Path:
        return self.folder / "a" / f"b{batch:05d}.done.json"

    # --- flag (stage b) ---
    def documents(self, batch: int) -> Path:
        return self.folder / "b" / f"docs-b{batch:05d}.parquet"

    def signatures(self, batch: int) -> Path:
        return self.folder / "b" / f"sigs-b{batch:05d}.npy"

    # --- final: land at OUTPUT/<rel> on commit ---
    def final(self, rel: str) -> Path:
        return self.final_root / rel

    def lines_part(self, batch: int) -> Path:
        return self.final(f"lines/part-{self.run_seq:05d}-{batch:05d}.parquet")

    def documents_part(self, lang: str) -> Path:
        return self.final(f"documents/lang={lang}/part-{self.run_seq:05d}.parquet")

    def dataset_part(self, dataset: str) -> Path:
        """duplicates, errors or runs: one part per run."""
        return self.final(f"{dataset}/part-{self.run_seq:05d}.parquet")

    def state_part(self, table: str) -> Path:
        """_state/<table>: key_counts, inputs or hashes."""
        return self.final(f"_state/{table}/part-{self.run_seq:05d}.parquet")

    def state_file(self, name: str) -> Path:
        """A file directly in _state/ (FORMAT.json)."""
        return self.final(f"_state/{name}")

    def staged_parts(self, dataset: str) -> list[Path]:
        """The Parquet files this run has staged for a dataset."""
        return sorted((self.final_root / dataset).rglob("*.parquet"))

    def minhash_sig_part(self, state: str, chunk: int) -> Path:
        return self.final(f"_state/{state}/sig/part-{self.run_seq:05d}-{chunk:04d}.parquet")

    def minhash_band_part(self, state: str, band: int) -> Path:
        return self.final(f"_state/{state}/band={band:02d}/part-{self.run_seq:05d}.parquet")
