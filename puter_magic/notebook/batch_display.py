"""What a ``%%puter --each`` cell shows: a progress bar while it runs, then one summary.

- :class:`ProgressBar`: in a notebook, an ipywidgets bar and a label (done, failed, total,
  rate, time left), updated by the caller a few times a second at most;
- :class:`ProgressLine`: in a terminal, one line rewritten with ``\\r``;
- :class:`BatchView`: the end: one summary line (answered, failed and why, time, where
  the results are) and a short preview of the first few results. Bounded whatever the
  batch's size; every text is escaped (replies are untrusted).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .views import MUTED, NOTE_STYLE

if TYPE_CHECKING:
    from ..api.batch import BatchProgress, BatchResult
    from ..api.errors import PuterError
    from .batch_prompts import Prompts

__all__ = [
    "BatchView",
    "Progress",
    "ProgressBar",
    "ProgressLine",
    "batch_summary",
    "error_title",
    "progress_for",
    "progress_text",
    "why_failed",
]

PREVIEW_ROWS = 5
PREVIEW_CHARS = 100


def _clip(text: str, limit: int = PREVIEW_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


def progress_for(rich: bool, display: Callable[..., Any], total: int) -> Progress:
    if rich:
        return ProgressBar(display, total)
    import sys

    return ProgressLine(sys.stdout.write, sys.stdout.flush, display)


@dataclass
class BatchView:
    """The end of a batch: a summary line, notes, and the first few results."""

    summary: str
    notes: list[str] = field(default_factory=list)
    preview: list[tuple[str, str, bool]] = field(default_factory=list)  # (item, shown, muted)
    total: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)  # the output's metadata (provenance)

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> dict[str, str] | tuple[dict[str, str], dict[str, Any]]:
        """The bundle, with the output metadata when there is some (it is saved in the .ipynb)."""
        return (self.bundle(), self.metadata) if self.metadata else self.bundle()

    def bundle(self) -> dict[str, str]:
        rows = self.preview[:PREVIEW_ROWS]
        plain = [self.summary, *self.notes]
        for item, shown, _ in rows:
            plain.append(f"  {_clip(item, 40)!r} → {_clip(shown, 70)}")
        if rows and self.total > len(rows):
            plain.append(f"  (the first {len(rows)} of {self.total:,})")
        notes = "".join(f'<div style="{MUTED}">{html.escape(n)}</div>' for n in self.notes)
        table = ""
        if rows:
            cells = "".join(
                f'<tr><td style="text-align: left">{html.escape(_clip(item, 60))}</td>'
                f'<td style="text-align: left{"; " + MUTED if muted else ""}">'
                f"{html.escape(_clip(shown))}</td></tr>"
                for item, shown, muted in rows
            )
            more = (
                f'<div style="{MUTED}">the first {len(rows)} of {self.total:,}</div>'
                if self.total > len(rows)
                else ""
            )
            table = (
                '<table class="puter-batch-preview" style="margin-top: 6px; font-size: 0.9em">'
                "<thead><tr><th style='text-align: left'>item</th><th style='text-align: left'>reply</th>"
                f"</tr></thead><tbody>{cells}</tbody></table>{more}"
            )
        body = f"<div><strong>{html.escape(self.summary)}</strong></div>{notes}{table}"
        return {
            "text/plain": "\n".join(plain),
            "text/html": f'<div class="puter-batch" style="{NOTE_STYLE}">{body}</div>',
        }

    def __repr__(self) -> str:
        return self.bundle()["text/plain"]


def error_title(err: PuterError) -> str:
    """``Model not found (bad_request)``: a failure's kind, as its warning would title it."""
    from .advice import describe_error

    title = describe_error(err)[0]
    return f"{title} ({err.code})" if err.code else title


def why_failed(errors: list[PuterError]) -> str:
    """``2 × Model not found (bad_request), 1 × Timeout``: failures grouped by kind."""
    groups: dict[str, int] = {}
    for err in errors:
        label = error_title(err)
        groups[label] = groups.get(label, 0) + 1
    return ", ".join(f"{n} × {label}" for label, n in sorted(groups.items(), key=lambda kv: -kv[1]))


def batch_summary(
    prompts: Prompts,
    model: str,
    todo: list[int],
    result: BatchResult | None,
    errors: dict[int, PuterError],
    out: str | None,
    held: int = 0,
) -> tuple[str, list[str]]:
    """The summary line of a batch, and notes saying where the results are. *held*: items of
    *todo* not asked because the classroom's request limit was reached."""
    total = len(prompts)
    kept = total - len(todo)
    head = f"{total:,} prompt{'s' if total != 1 else ''} to {model}: "
    if result is None:
        return head + f"all {total:,} answered in an earlier run; nothing asked", _where(prompts, out, 0)
    parts = [f"{result.answered:,} answered"]
    if errors:
        parts.append(f"{len(errors):,} failed ({why_failed(list(errors.values()))})")
    if result.not_asked:
        parts.append(f"{result.not_asked:,} not asked")
    if held:
        parts.append(f"{held:,} not asked (the request limit)")
    line = head + (f"{kept:,} kept from the last run; asked {len(todo) - held:,}: " if kept else "")
    line += ", ".join(parts) + f" in {result.elapsed:.1f} s"
    if result.rate_limited:
        plural = "s" if result.rate_limited > 1 else ""
        line += f" · {result.rate_limited} rate limit{plural} (429) waited out"
        if result.limits is not None:
            from .advice import limits_words

            line += f" ({limits_words(result.limits)})"
    if result.interrupted:
        line += " · interrupted"
    elif result.stop_error is not None:
        from .advice import describe_error

        line += f" · stopped: {describe_error(result.stop_error)[0].lower()}"
    return line, _where(prompts, out, len(errors) + result.not_asked + held)


def _where(prompts: Prompts, out: str | None, left: int) -> list[str]:
    notes = []
    if out:
        listed = prompts.kind == "list" or (prompts.kind == "files" and prompts.index is None)
        errs = f"{out}.errors" if listed else f"{out}.attrs['errors']"
        notes.append(f"Results in {out}: failed items are None, their errors in {errs}.")
    else:
        notes.append(
            "Add --out VAR to keep the results in a variable (running the cell again asks nothing new)."
        )
    if left:
        notes.append(f"Run the cell again to ask only the {left:,} left (--fresh asks all again).")
    return notes
