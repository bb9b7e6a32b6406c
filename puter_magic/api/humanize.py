"""Counts and sizes as people read them: ``1 token``, ``3 replies``, ``312 KB``, ``1.4 MB``."""

from __future__ import annotations

__all__ = ["human_size", "plural"]


def plural(count: int, word: str, many: str | None = None) -> str:
    """*count* and *word*, in the plural unless *count* is 1 (``1,234 tokens``).

    The plural adds ``s`` (``es`` after s, x, ch, sh; ``ies`` for a consonant and ``y``);
    pass *many* for any other form. Only the last word of *word* changes
    (``plural(2, "more character")`` is ``2 more characters``).
    """
    if count == 1:
        form = word
    elif many is not None:
        form = many
    elif word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        form = word[:-1] + "ies"
    elif word.endswith(("s", "x", "ch", "sh")):
        form = word + "es"
    else:
        form = word + "s"
    return f"{count:,} {form}"


def human_size(size: int) -> str:
    """``312 KB``, ``1.4 MB`` (decimal units, as file managers show them)."""
    if size < 1000:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KB", "MB"):
        value /= 1000.0
        if value < 1000:
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{value / 1000.0:.3g} GB"
