"""What was asked and what came back, as the classroom keeps it: the teacher's log and each
reply's output metadata, two copies of one record.

The teacher's log: every exchange of a notebook, one JSON line each, in a file beside it
(``assignment.ipynb`` logs to ``assignment.puter-log.jsonl``). Each line holds the time, the
cell id, the magic and its options, the model asked and the model that answered, the prompt as
sent (after ``{name}`` filling), the reply, the usage and the outcome (``answered``, ``failed``,
``refused``, ``interrupted``). Never the token: a line is built from those fields only. A folder
that cannot be written is a note for the student, not a failure of their cell.

The output metadata: a kernel cannot write a cell's metadata, but it can write an output's: each
reply's display carries ``{"puter_magic": {...}}`` with the model that answered, the provider
when the server names it, the usage, the time, the options that shaped it and the puter-magic
version. nbformat reads it back from the saved notebook (``output.metadata.puter_magic``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..._version import __version__

__all__ = ["KEY", "LOG_SUFFIX", "OUTCOMES", "TeacherLog", "log_path_for", "stamp", "utc_now"]

# -- the teacher's log ----------------------------------------------------------------------

LOG_SUFFIX = ".puter-log.jsonl"
OUTCOMES = ("answered", "failed", "refused", "interrupted")


def log_path_for(notebook: Path) -> Path:
    """``assignment.puter-log.jsonl`` beside ``assignment.ipynb``."""
    return notebook.with_name(notebook.stem + LOG_SUFFIX)


class TeacherLog:
    """Appends one JSON line per exchange to *path*; a write that fails returns why."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.written = 0

    def write(self, entry: dict[str, Any]) -> str | None:
        """Append *entry*; None when written, else a short reason (the folder is read-only...)."""
        line = json.dumps(entry, ensure_ascii=False, default=str, separators=(",", ":")) + "\n"
        try:
            with self._lock, self.path.open("a", encoding="utf-8") as f:
                f.write(line)
        except OSError as exc:
            return exc.strerror or str(exc)
        self.written += 1
        return None


# -- the output metadata --------------------------------------------------------------------

KEY = "puter_magic"


def utc_now() -> str:
    """The time now, as ISO 8601 in UTC to the second: ``2026-12-06T23:41:07Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


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
