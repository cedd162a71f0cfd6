"""Shared fixtures. Nothing here imports Prefect: transform tests never start a server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE_PAGE = REPO / "seeds" / "000_f03d96d0f5b1cf7c.txt"


@pytest.fixture(scope="session")
def sample_text() -> str:
    return SAMPLE_PAGE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def sample_lines(sample_text: str) -> list[str]:
    return sample_text.split("\n")


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    """A private copy of seeds/ (tests never write into the repo)."""
    dst = tmp_path / "seeds"
    shutil.copytree(REPO / "seeds", dst)
    return dst
