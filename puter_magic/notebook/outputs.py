"""Where a cell's answer goes: while it arrives, when it is done, and when it fails.

- :class:`NotebookOutput`: one display that updates in place (the streaming text, then
  the final view or a warning), for Jupyter frontends;
- :class:`TerminalOutput`: terminal IPython, where redrawing is impossible: new text is
  printed as it arrives, then the footer; a warning prints as text.

The flows talk to either through the same three methods, so they never ask which one
they have.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from .rendering import PartialReply

if TYPE_CHECKING:
    from .rendering import ReplyView

__all__ = ["CellOutput", "NotebookOutput", "TerminalOutput", "cell_output"]

Display = Callable[..., Any]


class CellOutput(Protocol):
    def update(self, obj: Any) -> None:
        """Show progress (a :class:`PartialReply`, a view of columns)."""

    def replace(self, obj: Any) -> None:
        """Show *obj* instead of the progress (a warning)."""

    def finish(self, view: ReplyView) -> None:
        """Show the finished reply."""


class NotebookOutput:
    def __init__(self, display: Display, first: Any) -> None:
        self._handle = display(first, display_id=True)

    def update(self, obj: Any) -> None:
        self._handle.update(obj)

    def replace(self, obj: Any) -> None:
        self._handle.update(obj)

    def finish(self, view: ReplyView) -> None:
        self._handle.update(view)


class TerminalOutput:
    def __init__(self, write: Callable[[str], Any], flush: Callable[[], Any], display: Display) -> None:
        self._write = write
        self._flush = flush
        self._display = display
        self.printed = 0

    def update(self, obj: Any) -> None:
        text = obj.text if isinstance(obj, PartialReply) else ""
        if len(text) > self.printed:
            self._write(text[self.printed :])
            self._flush()
            self.printed = len(text)

    def replace(self, obj: Any) -> None:
        if self.printed:
            self._write("\n")
        self._display(obj)

    def finish(self, view: ReplyView) -> None:
        """Print what is left of the text, then the footer and the notes."""
        if len(view.text) > self.printed:
            self._write(view.text[self.printed :])
        pictures = ""
        if view.images:
            from .reply_images import image_parts

            pictures = image_parts(view.images)[0]  # a terminal names them
        tail = "\n".join(n for n in [pictures, view.footer(), *view.notes] if n)
        self._write("\n" + (f"\n{tail}\n" if tail else ""))
        self._flush()
        self.printed = len(view.text)


def cell_output(rich: bool, display: Display, first: Any) -> CellOutput:
    """The output for this frontend, showing *first* at once where it can."""
    if rich:
        return NotebookOutput(display, first)
    import sys

    return TerminalOutput(sys.stdout.write, sys.stdout.flush, display)
