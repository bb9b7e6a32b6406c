"""Counts in words a user reads: ``1 token``, ``2 tokens``, ``1 reply``, ``3 replies``."""

from __future__ import annotations

__all__ = ["plural"]


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
