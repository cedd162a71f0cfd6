"""Compare two winnow output folders file by file (datasets and `_state`).

Every file must be byte-identical, except what a code change alone changes by design:
the `run_id` (it hashes the `transforms` source, so it differs whenever any transform file
does) and the `runs` timestamps and `code_hash`. Those files are compared as tables with
`run_id` cut to its run sequence and the timestamps and code hash left out, and reported as
such. Anything else that differs is a failure (exit 1).

    python benchmarks/compare_outputs.py OLD_OUTPUT NEW_OUTPUT
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

SKIP_TOP = {"_staging", ".lock", "report.html"}
VOLATILE = {"started_at", "ended_at", "code_hash"}


def files_of(root: Path) -> set[str]:
    """Relative paths of every file except staging, the lock and the report."""
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).parts[0] not in SKIP_TOP
    }


def normalized(path: Path) -> pa.Table:
    """The table with run ids cut to their run sequence and volatile columns dropped."""
    table = pq.read_table(path)
    table = table.replace_schema_metadata(None)
    for name in table.column_names:
        if name in VOLATILE:
            table = table.drop_columns([name])
        elif name == "run_id":
            col = pc.utf8_slice_codeunits(table[name], 0, 5)
            table = table.set_column(table.schema.get_field_index(name), name, col)
    return table


def compare(old: Path, new: Path) -> tuple[int, int, list[str]]:
    """(byte-identical files, files equal after normalizing run ids, differences)."""
    a, b = files_of(old), files_of(new)
    problems = [f"only in {old}: {r}" for r in sorted(a - b)]
    problems += [f"only in {new}: {r}" for r in sorted(b - a)]
    same = normal = 0
    for rel in sorted(a & b):
        x, y = (old / rel).read_bytes(), (new / rel).read_bytes()
        if x == y:
            same += 1
        elif rel.endswith(".parquet") and normalized(old / rel).equals(normalized(new / rel)):
            normal += 1
            has_run_id = "run_id" in pq.read_schema(old / rel).names
            if not has_run_id:
                problems.append(f"differs beyond run ids: {rel}")
        else:
            problems.append(f"differs: {rel}")
    return same, normal, problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    args = ap.parse_args(argv)
    same, normal, problems = compare(args.old, args.new)
    print(f"{same} files byte-identical, {normal} equal up to run_id/timestamps/code_hash")
    for p in problems:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
