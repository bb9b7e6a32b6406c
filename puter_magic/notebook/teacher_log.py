"""The teacher's log: every exchange of a notebook, one JSON line each, in a file beside it.

``assignment.ipynb`` logs to ``assignment.puter-log.jsonl``. Each line holds the time, the
cell id, the magic and its options, the model asked and the model that answered, the
prompt as sent (after ``{name}`` filling), the reply, the usage and the outcome
(``answered``, ``failed``, ``refused``, ``interrupted``). Never the token: a line is built
from those fields only, never from a request or its headers.

A folder that cannot be written is a note for the student, not a failure of their cell.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

__all__ = ["LOG_SUFFIX", "OUTCOMES", "TeacherLog", "log_path_for"]

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
