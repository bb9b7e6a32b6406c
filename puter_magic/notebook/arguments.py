"""Reading a magic's line into its declared arguments, as a shell would."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError

__all__ = ["parse_line"]


def parse_line(magic: Any, line: str) -> Any:
    """Parse *line* with *magic*'s ``@argument`` declarations; quotes group words and are
    removed (IPython's own ``parse_argstring`` keeps them). Bad options are a UsageError."""
    import shlex

    try:
        argv = shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"could not read the options: {exc}") from None
    return magic.parser.parse_args(argv)
