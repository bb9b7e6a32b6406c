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

from .views import MAX_DISPLAY_CHARS, PartialReply, cut_point

if TYPE_CHECKING:
    from .views import ReplyView

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
    """New text is printed as it arrives (no redraws), up to *limit* characters of it (the
    final lines say what was left out)."""

    def __init__(
        self,
        write: Callable[[str], Any],
        flush: Callable[[], Any],
        display: Display,
        limit: int = MAX_DISPLAY_CHARS,
    ) -> None:
        self._write = write
        self._flush = flush
        self._display = display
        self.limit = limit
        self.printed = 0
        self._line_open = False  # the last character printed was not a line end

    def _end(self, text: str) -> int:
        """How much of *text* may be printed: all of it, or up to where the display is cut."""
        return max(self.printed, cut_point(text, self.limit))

    def _print(self, piece: str) -> None:
        self._write(piece)
        self._line_open = not piece.endswith("\n")

    def update(self, obj: Any) -> None:
        text = obj.text if isinstance(obj, PartialReply) else ""
        end = self._end(text)
        if end > self.printed:
            self._print(text[self.printed : end])
            self._flush()
            self.printed = end

    def replace(self, obj: Any) -> None:
        if self._line_open:
            self._write("\n")
        self._display(obj)

    def finish(self, view: ReplyView) -> None:
        """Print what is left of the text (within the bound), then the quiet lines."""
        end = self._end(view.text)
        if end > self.printed:
            self._print(view.text[self.printed : end])
        pictures = ""
        if view.images:
            from .views import image_parts

            pictures = image_parts(view.images)[0]  # a terminal names them
        tail = "\n".join(n for n in [pictures, *view.tail_lines()] if n)
        self._write(("\n" if self._line_open or not self.printed else "") + (f"\n{tail}\n" if tail else ""))
        self._flush()
        self.printed = end


def cell_output(rich: bool, display: Display, first: Any, limit: int = MAX_DISPLAY_CHARS) -> CellOutput:
    """The output for this frontend, showing *first* at once where it can."""
    if rich:
        return NotebookOutput(display, first)
    import sys

    return TerminalOutput(sys.stdout.write, sys.stdout.flush, display, limit)
