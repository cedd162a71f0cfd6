"""The ingestion ledger (`_state/ledger/`): per input file, what each committed run really
read, under which reading options, and whether the read finished. It decides which files a
run skips (flows/plan.py:plan_inputs) and is written through the commit like all state."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from flows import schemas
from flows.plan import COMPLETE, RETRY, RETRY_REASONS, LedgerEntry
from flows.readers import InputFile
from flows.staging import Staging
from flows.store import OutputStore, write_parquet
from transforms.records import Document, ErrorRecord

LEDGER = "ledger"
LEGACY_INPUTS = "inputs"  # written by every run; before the ledger, the only record of reads


def _part_seqs(folder: Path) -> dict[int, Path]:
    parts = sorted(folder.glob("part-*.parquet")) if folder.exists() else []
    return {int(p.stem.split("-")[1]): p for p in parts}


def read_ledger(store: OutputStore) -> list[LedgerEntry]:
    """Every ledger entry of the committed runs; runs from before the ledger contribute their
    `_state/inputs` rows as fully read (with any options)."""
    ledger = _part_seqs(store.state(LEDGER))
    entries: list[LedgerEntry] = []
    for seq, path in sorted(_part_seqs(store.state(LEGACY_INPUTS)).items()):
        if seq in ledger:
            t = pq.read_table(ledger[seq], columns=["source", "checksum", "reading", "status"])
            entries += [LedgerEntry(**row) for row in t.to_pylist()]
        else:
            t = pq.read_table(path, columns=["source", "checksum"])
            entries += [LedgerEntry(s, c, None) for s, c in zip(*t.columns, strict=True)]
    return entries


def ledger_rows(
    files: list[InputFile], records: Iterable[Document | ErrorRecord], *, reading: str, run_id: str
) -> list[dict]:
    """One ledger row per file of a batch from the records read (status `retry` when an error
    says the file was not really read)."""
    docs: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    retry: set[str] = set()
    for rec in records:
        if isinstance(rec, Document):
            docs[rec.source] += 1
        else:
            errors[rec.source] += 1
            if rec.reason in RETRY_REASONS:
                retry.add(rec.source)
    return [
        {
            "source": f.source,
            "checksum": f.checksum,
            "reading": reading,
            "status": RETRY if f.source in retry else COMPLETE,
            "documents": docs[f.source],
            "errors": errors[f.source],
            "run_id": run_id,
        }
        for f in files
    ]


def write_ledger_rows(rows: list[dict], path: Path) -> Path:
    return write_parquet(pa.Table.from_pylist(rows, schema=schemas.LEDGER), path)


def stage_ledger(staging: Staging, batch_parts: list[Path]) -> Path:
    """The run's ledger part: every batch's rows in batch order."""
    tables = [schemas.LEDGER.empty_table()] + [pq.read_table(p) for p in batch_parts]
    return write_parquet(pa.concat_tables(tables), staging.state_part(LEDGER))


# --- input ids (`--id-field`): checked against every earlier run -----------------------------
IDS = "ids"
IDS_SCHEMA = pa.schema([("doc_id", pa.string())])


def prior_input_ids(store: OutputStore, ids: list[str]) -> set[str]:
    """Those of `ids` that an earlier run loaded as input ids."""
    folder = store.state(IDS)
    parts = sorted(folder.glob("part-*.parquet")) if folder.exists() else []
    if not parts or not ids:
        return set()
    table = ds.dataset(parts, format="parquet").to_table(
        filter=ds.field("doc_id").isin(pa.array(ids, pa.string()))
    )
    return set(table["doc_id"].to_pylist())


def write_input_ids(ids: list[str], staging: Staging) -> Path:
    return write_parquet(pa.table({"doc_id": ids}, schema=IDS_SCHEMA), staging.state_part(IDS))
