"""A cell's one output, chosen once (a notebook's display that updates in place, or a terminal's
printed text), and the throttled reader that shows a reply while it arrives.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, is_dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from ..api import runtime
from ..api.chat import ChatStream
from ..api.errors import PuterError, StreamError
from .tools import CallLine, ToolsView
from .views import PartialReply, ReplyView, cut_point, image_parts

if TYPE_CHECKING:
    from ..api.batch import BatchProgress
    from .state import Settings

__all__ = [
    "CellOutput",
    "Handle",
    "LiveResult",
    "NotebookOutput",
    "Progress",
    "ProgressBar",
    "ProgressLine",
    "TerminalOutput",
    "bounded",
    "cell_output",
    "progress_text",
    "stream_live",
]

# -- the cell's output ------------------------------------------------------------------------------

Display = Callable[..., Any]


def cell_output(settings: Settings, display: Display) -> CellOutput:
    """The cell's one output: the one place that chooses between a notebook's display that
    updates in place (a Jupyter frontend) and a terminal's printed text."""
    if settings.rich:
        return NotebookOutput(settings, display)
    return TerminalOutput(settings, display)


def bounded(obj: Any, limit: int) -> Any:
    """*obj* shown within *limit* characters (a view that has a ``limit``; others as they are)."""
    if is_dataclass(obj) and not isinstance(obj, type) and getattr(obj, "limit", limit) != limit:
        return replace(obj, limit=limit)
    return obj


class CellOutput(Protocol):
    """What every flow talks to: a cell's output, whichever frontend shows it."""

    settings: Settings
    live: bool  # it updates in place (a notebook); False: printed once (a terminal)

    def start(self, first: Any = None) -> None:
        """Show the first frame at once where it can: *first*, or the "thinking…" line."""

    def update(self, obj: Any) -> None:
        """Show progress (a :class:`PartialReply`, a view of columns)."""

    def new_step(self) -> None:
        """The next request's text starts afresh (a --tools cell's next step)."""

    def line(self, line: CallLine) -> None:
        """A tool call started or changed: its line, above the reply."""

    def replace(self, obj: Any) -> None:
        """Show *obj* instead of the progress (a warning); call lines stay."""

    def finish(self, view: Any, *after: Any) -> None:
        """Show the finished view (and any notes or warnings after it)."""

    def progress(self, total: int) -> Progress:
        """A progress display for *total* items (``--each``), replaced by the summary."""


class NotebookOutput:
    """One display that updates in place: call lines above the reply while it streams, then
    the final view or a warning. Every view is shown within ``max_display_chars``."""

    live = True

    def __init__(self, settings: Settings, display: Display) -> None:
        self.settings = settings
        self._display = display
        self.lines: list[CallLine] = []
        self.parts: list[Any] = []
        self._handle: Any = None

    def _show(self) -> None:
        limit = self.settings.max_display_chars
        parts = [bounded(p, limit) for p in self.parts]
        view = parts[0] if not self.lines and len(parts) == 1 else ToolsView(list(self.lines), parts)
        if self._handle is None:
            self._handle = self._display(view, display_id=True)
        else:
            self._handle.update(view)

    def start(self, first: Any = None) -> None:
        self.parts = [first if first is not None else PartialReply()]
        self._show()

    def update(self, obj: Any) -> None:
        self.parts = [obj]
        self._show()

    def new_step(self) -> None:
        pass  # the display is redrawn whole: nothing to end

    def line(self, line: CallLine) -> None:
        if line not in self.lines:
            self.lines.append(line)
        self.parts = [p for p in self.parts if not isinstance(p, PartialReply)]  # no "thinking" now
        self._show()

    def replace(self, obj: Any) -> None:
        self.parts = [obj]
        self._show()

    def finish(self, view: Any, *after: Any) -> None:
        self.parts = [view, *after]
        self._show()

    def progress(self, total: int) -> Progress:
        return ProgressBar(self._display, total)


class TerminalOutput:
    """Terminal IPython, where redrawing is impossible: new text is printed as it arrives, up
    to ``max_display_chars`` of it (the final lines say what was left out), then the footer;
    a call line prints once its call ended; a warning or a view of columns is displayed."""

    live = False

    def __init__(
        self,
        settings: Settings,
        display: Display,
        write: Callable[[str], Any] | None = None,
        flush: Callable[[], Any] | None = None,
    ) -> None:
        import sys

        self.settings = settings
        self._display = display
        self._write = write or sys.stdout.write
        self._flush = flush or sys.stdout.flush
        self.printed = 0
        self._line_open = False  # the last character printed was not a line end

    def _end(self, text: str) -> int:
        """How much of *text* may be printed: all of it, or up to where the display is cut."""
        return max(self.printed, cut_point(text, self.settings.max_display_chars))

    def _print(self, piece: str) -> None:
        self._write(piece)
        self._line_open = not piece.endswith("\n")

    def start(self, first: Any = None) -> None:
        pass  # nothing to show until text arrives

    def update(self, obj: Any) -> None:
        text = obj.text if isinstance(obj, PartialReply) else ""
        end = self._end(text)
        if end > self.printed:
            self._print(text[self.printed : end])
            self._flush()
            self.printed = end

    def new_step(self) -> None:
        if self.printed:
            self._write("\n")
            self._flush()
            self.printed, self._line_open = 0, False

    def line(self, line: CallLine) -> None:
        self.new_step()  # a call line (or --approve's question) starts on its own line
        if line.run is not None or line.interrupted:
            self._write(line.plain() + "\n")
            self._flush()

    def replace(self, obj: Any) -> None:
        if self._line_open:
            self._write("\n")
        self._display(obj)

    def finish(self, view: Any, *after: Any) -> None:
        """A reply: what is left of its text (within the bound), then its quiet lines; any
        other view is displayed as it is."""
        if isinstance(view, ReplyView):
            self._finish_reply(bounded(view, self.settings.max_display_chars))
        else:
            self._display(view)
        for obj in after:
            self._display(obj)

    def _finish_reply(self, view: ReplyView) -> None:
        end = self._end(view.text)
        if end > self.printed:
            self._print(view.text[self.printed : end])
        if view.interrupted and end:  # the partial line ends, marked as the notebook marks it
            self._print(" … (interrupted)\n")
        pictures = image_parts(view.images)[0] if view.images else ""  # a terminal names them
        tail = "\n".join(n for n in [pictures, *view.tail_lines()] if n)
        self._write(("\n" if self._line_open or not self.printed else "") + (f"\n{tail}\n" if tail else ""))
        self._flush()
        self.printed = end

    def progress(self, total: int) -> Progress:
        return ProgressLine(self._write, self._flush, self._display)


# -- a batch's progress ----------------------------------------------------------------------------


def _seconds(value: float) -> str:
    if value < 60:
        return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds:02d} s"


def progress_text(p: BatchProgress) -> str:
    """``120/300 done · 2 failed · 28.5/s · about 6 s left``"""
    parts = [f"{p.done:,}/{p.total:,} done"]
    if p.failed:
        parts.append(f"{p.failed:,} failed")
    speed = p.per_second
    if speed is not None:
        parts.append(f"{speed:.1f}/s")
    left = p.seconds_left
    if left is not None and p.done < p.total:
        parts.append(f"about {_seconds(left)} left")
    if p.rate_limited:
        parts.append(f"{p.rate_limited} rate limit{'s' if p.rate_limited > 1 else ''} waited out")
    if not p.in_flight and p.done < p.total and not p.finished:
        parts.append("waiting for the rate limit")
    return " · ".join(parts)


class Progress(Protocol):
    def update(self, p: BatchProgress) -> None: ...

    def finish(self, view: Any) -> None: ...


class ProgressBar:
    """An ipywidgets bar with a label, replaced by the final view."""

    def __init__(self, display: Callable[..., Any], total: int) -> None:
        import ipywidgets as widgets

        self._bar = widgets.IntProgress(
            value=0, min=0, max=max(1, total), layout=widgets.Layout(width="240px")
        )
        self._label = widgets.Label(value=f"0/{total:,} done · starting…")
        self._box = widgets.HBox([self._bar, self._label])
        self._handle = display(self._box, display_id=True)

    def update(self, p: BatchProgress) -> None:
        self._bar.value = p.done
        if p.failed:
            self._bar.bar_style = "warning"
        self._label.value = progress_text(p)

    def finish(self, view: Any) -> None:
        self._handle.update(view)
        self._box.close()  # frees the widgets' comms; the output now shows the summary


class ProgressLine:
    """One line in a terminal, rewritten in place; the summary is printed after it."""

    WIDTH = 24

    def __init__(self, write: Callable[[str], Any], flush: Callable[[], Any], display: Callable[..., Any]):
        self._write = write
        self._flush = flush
        self._display = display
        self._shown = 0

    def update(self, p: BatchProgress) -> None:
        filled = int(self.WIDTH * p.done / p.total) if p.total else self.WIDTH
        line = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {progress_text(p)}"
        self._write("\r" + line.ljust(self._shown))
        self._flush()
        self._shown = len(line)

    def finish(self, view: Any) -> None:
        if self._shown:
            self._write("\r" + " " * self._shown + "\r")
            self._flush()
        self._display(view)


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
) -> LiveResult:
    """Consume *chat*, updating *handle* with :class:`PartialReply` objects.

    Returns what arrived. A KeyboardInterrupt closes the stream (via *close*) and marks
    the result interrupted; an ``error`` chunk or a PuterError from the stream ends it
    with ``error`` set. Other exceptions (bugs) propagate. The final rendering is the
    caller's: this only shows progress (the output it updates bounds what it shows).
    """
    result = LiveResult()
    painter = _Painter(chat, handle, result, clock, max_rate)
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
    ) -> None:
        self.chat, self.handle, self.result, self.clock = chat, handle, result, clock
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
        self.handle.update(PartialReply(text, now - self.started, reasoning))
        cost = clock() - t0
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
