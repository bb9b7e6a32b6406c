"""Models side by side: one prompt to several models at once, each reply in its own column.

At most ``concurrency`` requests are in flight (a free Puter account allows 3 at once), on
a thread pool of that size; each column reads its model's ChatStream, which accumulates
the reply. Where Python has no threads (a browser: :mod:`puter_magic.api.runtime`) the
models are asked one after another in this thread, each column streaming in turn.
Each column streams live with its own footer, or shows its own warning if that model
fails while the others succeed. The main thread owns the display, as in :mod:`live`.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..api import runtime
from ..api.errors import PuterError
from .failures import WarningBox
from .views import MAX_DISPLAY_CHARS, MUTED, close_fence, cut_text, footer_html, footer_text, left_out_note

if TYPE_CHECKING:
    from ..api.chat import ChatReply, ChatStream

__all__ = ["Column", "CompareView", "run_compare"]


@dataclass
class Column:
    """One model's column: its stream (which accumulates the reply) and its state."""

    model: str
    state: str = "waiting"  # waiting, thinking, streaming, done, failed, interrupted
    error: PuterError | None = None
    started: float | None = None
    finished: float | None = None
    stream: ChatStream | None = field(default=None, repr=False)
    reply: ChatReply | None = field(default=None, repr=False)  # a whole reply (--no-stream)

    @property
    def text(self) -> str:
        if self.reply is not None:
            return self.reply.text
        return self.stream.text if self.stream is not None else ""

    @property
    def usage(self) -> dict[str, Any]:
        if self.reply is not None:
            return dict(self.reply.usage)
        return dict(self.stream.usage) if self.stream is not None else {}

    @property
    def elapsed(self) -> float | None:
        if self.started is None:
            return None
        return (self.finished or time.monotonic()) - self.started


@dataclass
class CompareView:
    """The columns as a grid (stacked in ``text/plain``)."""

    columns: list[Column]
    final: bool = False
    notes: list[str] = field(default_factory=list)
    limit: int = MAX_DISPLAY_CHARS  # the most characters shown of each column's text
    badges: list[str] = field(default_factory=list)  # at each footer's end, e.g. "tutor"
    metadata: dict[str, Any] = field(default_factory=dict)  # the output's metadata (provenance)

    @classmethod
    def starting(cls, models: list[str], concurrency: int) -> CompareView:
        """The first frame: every column, the first *concurrency* thinking, the rest waiting
        (one at a time where there are no threads)."""
        slots = max(1, concurrency) if runtime.can_thread() else 1
        return cls([Column(m, state="thinking" if i < slots else "waiting") for i, m in enumerate(models)])

    def _shown(self, col: Column) -> tuple[str, str]:
        """A column's text as displayed (bounded), and the note on what was left out."""
        cut = cut_text(col.text, self.limit)
        return cut.shown, (left_out_note(cut) if cut.cut else "")

    def _column_html(self, col: Column) -> str:
        from .markup import to_html

        text, left_out = self._shown(col)
        head = (
            f'<div style="font-weight: 600; margin-bottom: 4px"><code>{html.escape(col.model)}</code></div>'
        )
        if col.state in ("waiting", "thinking") and not col.text:
            label = (
                "waiting for a free slot…"
                if col.state == "waiting"
                else f"thinking… {col.elapsed or 0:.1f} s"
            )
            body = f'<div class="puter-thinking" style="{MUTED}">{html.escape(label)}</div>'
        elif self.final or col.state in ("done", "failed", "interrupted"):
            body = to_html(text) if text else ""
        else:  # rendered as it streams (a fence still open is closed for the moment)
            body = to_html(close_fence(text)) + f'<span style="{MUTED}">▍</span>'
        body += footer_html([left_out] if left_out else [])
        foot = ""
        if col.state in ("done", "interrupted") or (col.state == "failed" and col.text):
            extra = ["interrupted"] if col.state == "interrupted" else []
            foot = footer_html([footer_text(col.model, col.usage, col.elapsed, [*extra, *self.badges])])
        warn = WarningBox.from_error(col.error)._repr_mimebundle_()["text/html"] if col.error else ""
        style = "min-width: 0; overflow-wrap: break-word"  # code scrolls in its box (markup)
        return f'<div class="puter-compare-column" style="{style}">{head}{body}{foot}{warn}</div>'

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> dict[str, str] | tuple[dict[str, str], dict[str, Any]]:
        """The bundle, with the output metadata when there is some (it is saved in the .ipynb)."""
        return (self.bundle(), self.metadata) if self.metadata else self.bundle()

    def bundle(self) -> dict[str, str]:
        cols = "".join(self._column_html(c) for c in self.columns)
        grid = (
            f'<div class="puter-compare" style="display: grid; grid-template-columns: '
            f'repeat({len(self.columns)}, minmax(0, 1fr)); gap: 16px; align-items: start">{cols}</div>'
        )
        notes = footer_html(self.notes)
        plain = []
        for col in self.columns:
            plain.append(f"=== {col.model} ===")
            text, left_out = self._shown(col)
            if text:
                plain.append(text.rstrip())
            if left_out:
                plain.append(left_out)
            if col.error is not None:
                plain.append(WarningBox.from_error(col.error)._repr_mimebundle_()["text/plain"])
            elif col.state in ("done", "interrupted"):
                plain.append(
                    footer_text(
                        col.model,
                        col.usage,
                        col.elapsed,
                        [*(["interrupted"] if col.state == "interrupted" else []), *self.badges],
                    )
                )
            elif not self.final:
                plain.append(f"({col.state}…)")
            plain.append("")
        plain.extend(self.notes)
        return {"text/plain": "\n".join(plain).rstrip(), "text/html": grid + notes}

    def __repr__(self) -> str:
        return self.bundle()["text/plain"]


def run_compare(
    start: Callable[[str], ChatStream | ChatReply],
    models: list[str],
    update: Callable[[CompareView], None] | None,
    *,
    concurrency: int = 3,
    max_rate: float = 10.0,
) -> list[Column]:
    """Ask every model (at most *concurrency* at once) and show progress through *update*.

    *start(model)* opens that model's stream, or returns its whole reply (``--no-stream``:
    the column thinks until it arrives). A KeyboardInterrupt closes every open stream and
    marks the unfinished columns interrupted.
    """
    from ..api.chat import ChatReply

    columns = [Column(m) for m in models]
    stopping = threading.Event()
    last_update = -1e9

    def tick() -> None:
        """Between chunks, when read in this thread: show progress at most *max_rate* a second."""
        nonlocal last_update
        now = time.monotonic()
        if update is not None and now - last_update >= 1.0 / max_rate:
            last_update = now
            update(CompareView(columns))

    def work(col: Column, on_chunk: Callable[[], None] | None = None) -> None:
        if stopping.is_set():
            return
        col.state, col.started = "thinking", time.monotonic()
        try:
            opened = start(col.model)
            if isinstance(opened, ChatReply):
                if col.state != "interrupted":
                    col.reply, col.state = opened, "done"
                return
            col.stream = opened
            for _chunk in col.stream:
                if col.state == "thinking" and col.stream.text_length:
                    col.state = "streaming"
                if on_chunk is not None:
                    on_chunk()
            if col.state != "interrupted":
                col.state = "done"
        except PuterError as err:
            if col.state != "interrupted":  # closing it on an interrupt is no failure
                col.error, col.state = err, "failed"
        finally:
            col.finished = time.monotonic()

    def interrupted() -> None:
        stopping.set()
        for col in columns:
            if col.state not in ("done", "failed"):
                col.state = "interrupted"
                if col.stream is not None:
                    col.stream.close()

    if not runtime.can_thread():
        try:
            for col in columns:
                tick()
                work(col, tick)
        except KeyboardInterrupt:
            interrupted()
        return columns
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="puter-compare")
    futures = [pool.submit(work, col) for col in columns]
    try:
        next_at = 0.0
        while wait(futures, timeout=1.0 / max_rate).not_done:
            # Columns render their Markdown while they stream: never more often than every
            # four times the last redraw's cost, so long replies stay cheap to watch.
            if update is not None and time.monotonic() >= next_at:
                drawn = time.monotonic()
                update(CompareView(columns))
                next_at = drawn + max(1.0 / max_rate, 4 * (time.monotonic() - drawn))
    except KeyboardInterrupt:
        interrupted()
        wait(futures, timeout=1.0)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return columns
