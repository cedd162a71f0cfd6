"""Documents stage: a document is derived from its content lines only."""

from __future__ import annotations

from collections.abc import Sequence


def content_text(texts: Sequence[str], is_boilerplate: Sequence[bool]) -> str:
    """The content lines joined with newlines (line first, then document).

    >>> content_text(["Article.", "Log in", "More text."], [False, True, False])
    'Article.\\nMore text.'
    """
    return "\n".join(t for t, b in zip(texts, is_boilerplate, strict=True) if not b)
