"""Terminal text helpers for the commands: wrap long reasons, never cut them."""

from __future__ import annotations

import textwrap

WIDTH = 100


def wrapped(text: str, indent: str = "", width: int = WIDTH) -> str:
    """``text`` on lines of at most ``width`` columns (a longer word keeps its own line),
    each starting with ``indent``: the whole text, nothing cut."""
    words = " ".join(str(text).split())
    if not words:
        return indent
    return textwrap.fill(
        words, width=width, initial_indent=indent, subsequent_indent=indent,
        break_long_words=False, break_on_hyphens=False,
    )  # fmt: skip
