"""README's dataset docs name every column of flows/schemas.py (a golden check on the contract)."""

from __future__ import annotations

import re

import pytest

from flows import schemas
from tests.conftest import REPO


def _expand(name: str) -> list[str]:
    """`a_{2,3}_b` and `a_{5..7}` as the column names they stand for."""
    m = re.search(r"\{([^}]*)\}", name)
    if not m:
        return [name]
    body = m[1]
    if ".." in body:
        lo, hi = body.split("..")
        options = [str(i) for i in range(int(lo), int(hi) + 1)]
    else:
        options = body.split(",")
    return [x for o in options for x in _expand(name[: m.start()] + o + name[m.end() :])]


def _documented(section: str) -> set[str]:
    text = (REPO / "README.md").read_text()
    body = text.split(f"### `{section}`", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    return {x for name in re.findall(r"`([a-z0-9_{},.]+)`", body) for x in _expand(name)}


@pytest.mark.parametrize(
    "section, schema",
    [
        ("lines", schemas.LINES),
        ("documents", schemas.DOCUMENTS),
        ("duplicates", schemas.DUPLICATES),
        ("errors", schemas.ERRORS),
        ("runs", schemas.RUNS),
    ],
)
def test_readme_documents_every_column(section, schema):
    missing = set(schema.names) - _documented(section)
    assert not missing, f"README's `{section}` section lacks {sorted(missing)}"


def test_run_id_is_in_every_row_dataset():
    for schema in (schemas.LINES, schemas.DOCUMENTS, schemas.DUPLICATES, schemas.ERRORS):
        assert "run_id" in schema.names
    assert {"source", "record", "url"} <= set(schemas.DUPLICATES.names)
