"""Reading loosely typed JSON values (pure): what a reply field is, if it is what we need."""

from __future__ import annotations

from typing import Any, TypeGuard

__all__ = ["is_int", "opt_int", "opt_str"]


def is_int(value: Any) -> TypeGuard[int]:
    """True for an int that is not a bool (JSON's true is not a count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def opt_int(value: Any) -> int | None:
    return value if is_int(value) else None


def opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
