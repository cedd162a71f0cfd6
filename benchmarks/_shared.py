"""Paths shared by the benchmark scripts: the repo root and the optional ../shared/ data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def shared_file(*parts: str) -> Path:
    """`shared/<parts>` from $WINNOW_SHARED, beside the repo, or beside its worktree folder.

    May not exist: callers fall back to their in-repo sample.
    """
    rel = Path(*parts)
    roots = [Path(os.environ["WINNOW_SHARED"])] if os.environ.get("WINNOW_SHARED") else []
    roots += [REPO.parent / "shared", REPO.parent.parent / "shared"]
    return next((r / rel for r in roots if (r / rel).exists()), roots[0] / rel)


def data_or_sample(path: Path, sample: Path) -> Path:
    """`path` if it exists, else the in-repo `sample`, saying so."""
    if path.exists():
        return path
    print(f"note: {path} not found; using the in-repo sample {sample}")
    return sample
