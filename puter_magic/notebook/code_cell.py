"""``%%puter --code``: the code blocks of a reply, put into a new cell below (not run).

IPython's ``set_next_input(text, replace=False)`` does it: in a kernel it is a payload that
JupyterLab, Notebook 7 and VS Code turn into a new cell below the running one; terminal
IPython puts the text on the next prompt. Nothing a model writes is run.
"""

from __future__ import annotations

import re
from typing import Any

from ..api.humanize import plural
from .rendering import Note

__all__ = ["code_blocks", "offer_code"]

FENCE = re.compile(
    r"^(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S
)
NOT_CODE = {"text", "txt", "output", "console", "markdown", "md", "plain"}


def code_blocks(text: str) -> list[str]:
    """The fenced code blocks of *text*, in order (blocks marked as text or output are left out)."""
    blocks = []
    for match in FENCE.finditer(text):
        lang = match.group("info").strip().split(" ")[0].lower()
        body = match.group("body").rstrip("\n")
        if body.strip() and lang not in NOT_CODE:
            blocks.append(body)
    return blocks


def offer_code(shell: Any, reply: str) -> Note:
    """Put the code blocks of *reply* into the next cell; a note says what happened."""
    blocks = code_blocks(reply)
    if not blocks:
        return Note("--code: the reply has no code block,", "so no cell was added.")
    code = "\n\n".join(blocks)
    shell.set_next_input(code, replace=False)
    where = "a new cell below" if getattr(shell, "kernel", None) is not None else "the next prompt"
    lines = plural(code.count("\n") + 1, "line")
    return Note(f"--code: {plural(len(blocks), 'code block')} ({lines}) put into {where},", "not run.")
