"""The peer benchmark's pure helpers (no DataTrove here: it lives in benchmarks/.peer-venv)."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_peer  # noqa: E402


@pytest.mark.parametrize(
    ("n", "shards", "expected"),
    [
        (10, 3, [(0, 4), (4, 7), (7, 10)]),
        (2, 8, [(0, 1), (1, 2)]),
        (1, 1, [(0, 1)]),
        (0, 8, [(0, 0)]),
    ],
)
def test_shard_ranges_cover_in_order(n: int, shards: int, expected: list) -> None:
    """Contiguous, near-equal ranges covering every item once."""
    assert bench_peer.shard_ranges(n, shards) == expected


def test_write_jsonl_gz_keeps_documents_and_order(tmp_path: Path) -> None:
    """The DataTrove copy of a corpus has the same texts in the same order."""
    texts = ["a\nb", "ünï\ncode", "c", "d\n"]
    bench_peer.write_jsonl_gz(texts, tmp_path / "dt", shards=3)
    got = []
    for p in sorted((tmp_path / "dt").glob("*.jsonl.gz")):
        with gzip.open(p, "rt", encoding="utf-8") as f:
            got += [json.loads(line) for line in f]
    assert [r["text"] for r in got] == texts
    assert [r["id"] for r in got] == ["0", "1", "2", "3"]


def test_rates_and_summary() -> None:
    """net lines/s takes the fixed cost off; the CLI summary parses."""
    assert bench_peer.net_rate(1000, 3.0, 1.0) == 500.0
    assert bench_peer.net_rate(1000, 1.0, 1.0) == float("inf")
    assert bench_peer.count_lines("a\nb\n") == 2
    assert bench_peer.paired_ratio([2.0, 9.0, 3.0], [1.0, 3.0, 3.0]) == 2.0
    out = "winnow run x\n  documents       2680 (2400 kept)\n  lines           100000\n"
    assert bench_peer.parse_winnow_summary(out) == {
        "documents": 2680,
        "kept": 2400,
        "lines": 100000,
    }
    # the real summary groups thousands and may say more after `kept`
    out = (
        "  documents       2,680 (2,327 kept, 3 with no content left)\n  lines           100,435\n"
    )
    assert bench_peer.parse_winnow_summary(out) == {
        "documents": 2680,
        "kept": 2327,
        "lines": 100435,
    }
