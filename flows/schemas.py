"""Explicit pyarrow schemas of the output datasets (a contract: README documents them)."""

from __future__ import annotations

import pyarrow as pa

from transforms.quality import QUALITY_COLUMNS

LANG_SHARE = pa.list_(pa.struct([("lang", pa.string()), ("share", pa.float32())]))
COUNTS = pa.list_(pa.struct([("name", pa.string()), ("count", pa.int64())]))

LINES = pa.schema(
    [
        ("doc_id", pa.string()),
        ("line_no", pa.int32()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("text", pa.string()),
        ("line_key", pa.uint64()),
        ("lang", pa.string()),
        ("lang_raw", pa.string()),
        ("lang_score", pa.float32()),
        ("lang_reason", pa.string()),
        ("is_boilerplate", pa.bool_()),
        ("boilerplate_reasons", pa.list_(pa.string())),
        ("dup_in_doc", pa.bool_()),
        ("key_doc_count", pa.int32()),
        ("run_id", pa.string()),  # the run that loaded the line's document
    ]
)

# Stage A intermediate: the expensive, batch-local part (keys and raw language labels).
LABELS = pa.schema(
    [
        LINES.field(name)
        for name in (
            "doc_id",
            "line_no",
            "start",
            "end",
            "text",
            "line_key",
            "lang_raw",
            "lang_score",
        )
    ]
)

DOC_META = pa.schema(
    [
        ("doc_id", pa.string()),
        ("source", pa.string()),
        ("record", pa.int64()),
        ("url", pa.string()),
        ("encoding", pa.string()),
        ("decode_replaced", pa.bool_()),
    ]
)

# `lang` is the hive partition key of `documents/` (lang=xx/ folders), so not in the files.
DOCUMENTS = pa.schema(
    [
        ("doc_id", pa.string()),
        ("source", pa.string()),
        ("record", pa.int64()),
        ("url", pa.string()),
        ("text", pa.string()),
        ("lang_mix", LANG_SHARE),
        ("n_lines", pa.int32()),
        ("n_content_lines", pa.int32()),
        ("content_hash", pa.string()),
        ("encoding", pa.string()),
        ("decode_replaced", pa.bool_()),
        # Gopher / C4 / FineWeb quality signals of the content text (transforms/quality.py).
        *(
            (name, pa.int32() if kind == "int" else pa.float32())
            for name, kind in QUALITY_COLUMNS.items()
        ),
        ("run_id", pa.string()),  # the run that loaded the document
    ]
)
DOCUMENTS_STAGED = DOCUMENTS.append(pa.field("lang", pa.string()))

DUPLICATES = pa.schema(
    [
        ("doc_id", pa.string()),
        # where the removed copy came from (its lines are in `lines`, its row is not in
        # `documents`): input path, record index, URL
        ("source", pa.string()),
        ("record", pa.int64()),
        ("url", pa.string()),
        ("kept_doc_id", pa.string()),
        ("kind", pa.string()),
        ("similarity", pa.float32()),
        ("run_id", pa.string()),
    ]
)

ERRORS = pa.schema(
    [
        ("source", pa.string()),
        ("record", pa.int64()),
        ("reason", pa.string()),
        ("message", pa.string()),
        ("run_id", pa.string()),
    ]
)

INPUTS = pa.schema(
    [
        ("source", pa.string()),
        ("path", pa.string()),
        ("bytes", pa.int64()),
        ("checksum", pa.string()),
    ]
)

# The ingestion ledger (`_state/ledger/`): per input file and run, what was really read.
LEDGER = pa.schema(
    [
        ("source", pa.string()),
        ("checksum", pa.string()),
        ("reading", pa.string()),  # JSON of the options that decided the reading
        ("status", pa.string()),  # complete | retry (not fully read: read again next run)
        ("documents", pa.int64()),
        ("errors", pa.int64()),
        ("run_id", pa.string()),
    ]
)

RUNS = pa.schema(
    [
        ("run_id", pa.string()),
        ("run_seq", pa.int32()),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("ended_at", pa.timestamp("us", tz="UTC")),
        ("config_hash", pa.string()),
        ("code_hash", pa.string()),
        ("config", pa.string()),
        ("inputs", pa.list_(INPUTS_STRUCT := pa.struct(list(INPUTS)))),
        ("n_files", pa.int64()),
        ("n_files_skipped", pa.int64()),
        ("n_documents", pa.int64()),
        ("n_documents_kept", pa.int64()),
        ("n_documents_no_content", pa.int64()),  # kept documents with no content line
        ("n_lines", pa.int64()),
        ("n_boilerplate_lines", pa.int64()),
        ("n_duplicates", pa.int64()),
        ("n_duplicates_exact", pa.int64()),
        ("n_duplicates_near", pa.int64()),
        ("n_errors", pa.int64()),
        ("reason_counts", COUNTS),
        ("lang_counts", COUNTS),  # languages of the run's kept documents (rows of `documents`)
        ("error_counts", COUNTS),
    ]
)
