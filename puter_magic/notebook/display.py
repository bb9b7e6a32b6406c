"""``show``: IPython's ``display``, imported on first use so ``%load_ext`` stays quick."""

from __future__ import annotations

from typing import Any

__all__ = ["show"]


def show(obj: Any, **kwargs: Any) -> Any:
    from IPython.display import display

    return display(obj, **kwargs)  # type: ignore[no-untyped-call]
