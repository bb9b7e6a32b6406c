"""A cell's one output, chosen once (a notebook's display that updates in place, or a terminal's
printed text), and the throttled reader that shows a reply while it arrives.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..api import runtime
from ..api.chat import ChatStream
from ..api.errors import PuterError, StreamError
from .views import MAX_DISPLAY_CHARS, PartialReply, cut_point

if TYPE_CHECKING:
    from .views import ReplyView

__all__ = [
    "CellOutput",
    "Handle",
    "LiveResult",
    "NotebookOutput",
    "TerminalOutput",
    "cell_output",
    "stream_live",
]

# -- the cell's output ------------------------------------------------------------------------------

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


# -- the throttled reader ---------------------------------------------------------------------------

TICK = 0.1  # how often the "thinking" line updates before text arrives


class Handle(Protocol):
    """What IPython's DisplayHandle offers (and what tests can fake)."""

    def update(self, obj: Any) -> None: ...


@dataclass
class LiveResult:
    text: str = ""
    reasoning: str = ""
    usage: dict[str, Any] = field(default_factory=dict)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    sources: list[Any] = field(default_factory=list)  # pages a web-search reply cites
    interrupted: bool = False
    error: PuterError | None = None
    updates: int = 0
    first_text_at: float | None = None  # clock time the first text was handed to the display
    first_chunk_at: float | None = None  # clock time the worker received the first text


class _Reader(threading.Thread):
    """Reads the stream in the background; the ChatStream accumulates what arrives.

    The main thread only looks at the ChatStream's text (its parts grow by appends,
    which are atomic), so no chunk crosses threads and the main thread has no per-chunk
    work at all.
    """

    def __init__(self, chat: ChatStream, clock: Callable[[], float]) -> None:
        super().__init__(name="puter-stream", daemon=True)
        self.chat = chat
        self.clock = clock
        self.changed = threading.Event()  # something arrived while the main thread waits
        self.finished = threading.Event()
        self.first_text_at: float | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        chat, changed = self.chat, self.changed
        try:
            for _chunk in chat:
                if self.first_text_at is None and chat.text_length:
                    self.first_text_at = self.clock()
                if not changed.is_set():
                    changed.set()
        except BaseException as exc:  # handed to the main thread
            self.error = exc
        finally:
            self.finished.set()
            changed.set()


def stream_live(
    chat: ChatStream,
    handle: Handle,
    *,
    close: Callable[[], None],
    max_rate: float = 20.0,
    clock: Callable[[], float] = time.monotonic,
    limit: int = MAX_DISPLAY_CHARS,
) -> LiveResult:
    """Consume *chat*, updating *handle* with :class:`PartialReply` objects.

    Returns what arrived. A KeyboardInterrupt closes the stream (via *close*) and marks
    the result interrupted; an ``error`` chunk or a PuterError from the stream ends it
    with ``error`` set. Other exceptions (bugs) propagate. The final rendering is the
    caller's: this only shows progress, and shows at most *limit* characters of the text.
    """
    result = LiveResult()
    painter = _Painter(chat, handle, result, clock, max_rate, limit)
    if not runtime.can_thread():
        return _read_inline(chat, painter, result, close)
    reader = _Reader(chat, clock)
    reader.start()
    try:
        while not reader.finished.is_set():
            if chat.text_length:
                # Text is streaming: sleep until the next update is due (or the end).
                reader.finished.wait(max(0.0, painter.next_due() - clock()))
            else:
                # Nothing to show yet: wake for the first text, or to tick the clock.
                reader.changed.wait(TICK)
                reader.changed.clear()
            if reader.finished.is_set():
                break
            painter.paint_if_due(clock(), tick=True)
    except KeyboardInterrupt:
        result.interrupted = True
        close()
        reader.join(1.0)
    return _ended(result, chat, close, reader.first_text_at, None if result.interrupted else reader.error)


class _Painter:
    """The throttle: the first text shows at once, then at most *max_rate* updates a
    second, and never more often than every four times the last update's cost."""

    def __init__(
        self,
        chat: ChatStream,
        handle: Handle,
        result: LiveResult,
        clock: Callable[[], float],
        max_rate: float,
        limit: int,
    ) -> None:
        self.chat, self.handle, self.result, self.clock, self.limit = chat, handle, result, clock, limit
        self.started = clock()
        self.min_interval = 1.0 / max_rate
        self.interval = self.min_interval
        self.last_update = -1e9
        self.shown = (0, 0)  # (text chars, reasoning chars) last rendered

    def next_due(self) -> float:
        return self.last_update + self.interval

    def paint_if_due(self, now: float, *, tick: bool) -> None:
        """Render if something new is due; *tick*: the "thinking" clock may advance too."""
        chat = self.chat
        if chat.text_length:
            if now >= self.next_due() and (chat.text_length, len(chat.reasoning)) != self.shown:
                self.render(now)
        else:
            new_reasoning = len(chat.reasoning) != self.shown[1]
            # The thinking line ticks on a clock; read inline, new reasoning waits its turn.
            due = now - self.last_update >= TICK if tick else now >= self.next_due()
            if (tick and (due or new_reasoning)) or (not tick and new_reasoning and due):
                self.render(now)

    def render(self, now: float) -> None:
        chat, clock, result = self.chat, self.clock, self.result
        text, reasoning = chat.text, len(chat.reasoning)
        t0 = clock()
        self.handle.update(PartialReply(text, now - self.started, reasoning, self.limit))
        cost = clock() - t0
        result.updates += 1
        self.last_update = clock()
        self.shown = (len(text), reasoning)
        self.interval = max(self.min_interval, 4 * cost)
        if result.first_text_at is None and text:
            result.first_text_at = self.last_update


def _read_inline(
    chat: ChatStream, painter: _Painter, result: LiveResult, close: Callable[[], None]
) -> LiveResult:
    """Read *chat* in this thread (no threads here), rendering between chunks when due."""
    first_text_at: float | None = None
    error: BaseException | None = None
    try:
        for _chunk in chat:
            now = painter.clock()
            if first_text_at is None and chat.text_length:
                first_text_at = now
            painter.paint_if_due(now, tick=False)
    except KeyboardInterrupt:
        result.interrupted = True
        close()
    except PuterError as err:
        error = err
    return _ended(result, chat, close, first_text_at, error)


def _ended(
    result: LiveResult,
    chat: ChatStream,
    close: Callable[[], None],
    first_text_at: float | None,
    error: BaseException | None,
) -> LiveResult:
    """Fill *result* from what *chat* accumulated, once the stream ended (or was stopped)."""
    result.text, result.reasoning = chat.text, chat.reasoning
    result.usage, result.tool_calls = dict(chat.usage), list(chat.tool_calls)
    result.images = list(chat.images)
    result.sources = list(getattr(chat, "sources", ()))
    result.first_chunk_at = first_text_at
    if not result.interrupted and error is not None:
        if not isinstance(error, PuterError):
            raise error
        result.error = error
        close()
    if isinstance(result.error, StreamError) and not result.error.message:
        result.error.message = "the stream reported an error"
    return result
