"""The ingestion ledger (`_state/ledger/`): per input file, what each committed run really
read, under which reading options, and whether the read finished. It decides which files a
run skips (flows/plan.py:plan_inputs) and is written through the commit like all state."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from flows import schemas
from flows.dedup_state import IDS_TABLE, LEDGER_TABLE, loaded_inputs, prior_rows
from flows.plan import COMPLETE, RETRY, RETRY_REASONS, LedgerEntry
from flows.readers import InputFile
from flows.staging import Staging
from flows.store import OutputStore, write_parquet
from transforms.records import Document, ErrorRecord


def read_ledger(store: OutputStore, sources: list[str]) -> list[LedgerEntry]:
    """The ledger entries of `sources` from every committed run. Runs from before the
    ledger recorded their files only in `_state/inputs` (no run writes it any more): those
    count as fully read with any options."""
    if not sources:
        return []
    wanted = sorted(set(sources))
    t = prior_rows(store, LEDGER_TABLE, wanted, ["source", "checksum", "reading", "status"])
    entries = [LedgerEntry(**row) for row in t.to_pylist()]
    legacy = loaded_inputs(store, wanted)
    return entries + [LedgerEntry(source, checksum, None) for source, checksum in legacy]


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
    return write_parquet(pa.concat_tables(tables), staging.state_part(LEDGER_TABLE.folder))


# --- input ids (`--id-field`): checked against every earlier run -----------------------------


def prior_input_ids(store: OutputStore, ids: list[str]) -> set[str]:
    """Those of `ids` that an earlier run loaded as input ids."""
    if not ids:
        return set()
    return set(prior_rows(store, IDS_TABLE, sorted(set(ids)), ["doc_id"])["doc_id"].to_pylist())


def write_input_ids(ids: list[str], staging: Staging) -> Path:
    table = pa.table({"doc_id": ids}, schema=IDS_TABLE.schema)
    return write_parquet(table, staging.state_part(IDS_TABLE.folder))
