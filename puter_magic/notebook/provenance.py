"""Where a reply came from, carried in its output's metadata so it is saved in the .ipynb.

A kernel cannot write a cell's metadata, but it can write an output's: each reply's
display carries ``{"puter_magic": {...}}`` with the model that answered, the provider when
the server names it, the usage, the time, the options that shaped it and the puter-magic
version. nbformat reads it back from the saved notebook (``output.metadata.puter_magic``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .._version import __version__

__all__ = ["KEY", "options_of", "stamp", "utc_now"]

KEY = "puter_magic"
UNSHOWN = {"no_interpolate"}  # options that shape nothing the model sees


def utc_now() -> str:
    """The time now, as ISO 8601 in UTC to the second: ``2026-12-06T23:41:07Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def options_of(args: Any) -> dict[str, Any]:
    """A magic's parsed options that were given (not None, False or empty), by name."""
    given = vars(args) if not isinstance(args, Mapping) else args
    return {
        k: v for k, v in given.items() if v is not None and v is not False and v != [] and k not in UNSHOWN
    }


def stamp(
    *,
    model: str | None,
    usage: Mapping[str, Any] | None,
    elapsed: float | None,
    options: Mapping[str, Any],
    provider: str | None = None,
    asked: str | None = None,
    mode: str | None = None,
) -> dict[str, Any]:
    """The output metadata of one reply: ``{"puter_magic": {...}}``."""
    about: dict[str, Any] = {"model": model}
    if asked and asked != model:
        about["asked"] = asked
    if provider:
        about["provider"] = provider
    about["usage"] = dict(usage or {})
    about["time"] = utc_now()
    if elapsed is not None:
        about["seconds"] = round(elapsed, 2)
    about["options"] = dict(options)
    if mode and mode != "on":
        about["ai"] = mode
    about["version"] = __version__
    return {KEY: about}
