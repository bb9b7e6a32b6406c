"""What a batch gives back: :class:`BatchItem` per prompt, :class:`BatchResult` for all of
them, and :class:`BatchProgress` while it runs (see :mod:`.batch`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from .chat import ChatReply, Messages
from .errors import PuterError
from .pacing import AccountLimits

__all__ = ["BatchItem", "BatchProgress", "BatchResult", "error_label"]


@dataclass
class BatchItem:
    """One prompt of a batch and how it ended: a reply, an error, or not asked."""

    index: int
    prompt: Messages
    reply: ChatReply | None = None
    error: PuterError | None = None
    attempts: int = 0  # requests sent for it (429s included)
    elapsed: float | None = None  # seconds its answered request took

    @property
    def ok(self) -> bool:
        return self.reply is not None

    @property
    def text(self) -> str | None:
        return self.reply.text if self.reply is not None else None

    @property
    def status(self) -> str:
        """``answered``, ``failed`` or ``not asked`` (stopped or interrupted before)."""
        if self.reply is not None:
            return "answered"
        return "failed" if self.error is not None else "not asked"

    def __repr__(self) -> str:
        what = f"text={_clip(self.text or '', 60)!r}" if self.ok else f"error={self.error!r}"
        return f"BatchItem({self.index}, {self.status}, {what if self.status != 'not asked' else ''})"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_label(err: PuterError) -> str:
    """A short name for a kind of failure: Puter's code, else the class."""
    return err.code or type(err).__name__


@dataclass
class BatchResult(Sequence[BatchItem]):
    """Every item of a batch, in the input's order, and how the batch ended.

    ``stopped`` is None when every item was tried, ``"interrupted"``, or ``"stopped"``
    when an error that ends every item arrived (``stop_error``: 402, 401...).
    """

    items: list[BatchItem]
    elapsed: float = 0.0
    rate_limited: int = 0  # 429s met (and retried) along the way
    stopped: str | None = None
    stop_error: PuterError | None = None
    index: Any = None  # the pandas index of the prompts, when they came as a Series
    limits: AccountLimits | None = None  # the limits it kept to (None: not paced)

    @overload
    def __getitem__(self, index: int) -> BatchItem: ...
    @overload
    def __getitem__(self, index: slice) -> list[BatchItem]: ...
    def __getitem__(self, index: int | slice) -> BatchItem | list[BatchItem]:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[BatchItem]:
        return iter(self.items)

    @property
    def texts(self) -> list[str | None]:
        """Each item's reply text, None where it failed or was not asked."""
        return [item.text for item in self.items]

    @property
    def errors(self) -> dict[int, PuterError]:
        """The error of each failed item, by position."""
        return {item.index: item.error for item in self.items if item.error is not None}

    @property
    def answered(self) -> int:
        return sum(1 for item in self.items if item.reply is not None)

    @property
    def failed(self) -> int:
        return sum(1 for item in self.items if item.reply is None and item.error is not None)

    @property
    def not_asked(self) -> int:
        return len(self.items) - self.answered - self.failed

    @property
    def interrupted(self) -> bool:
        return self.stopped == "interrupted"

    def to_series(self, name: str = "reply") -> Any:
        """The replies as a pandas Series on the prompts' index (a Series' own, else 0..n-1);
        None where an item failed or was not asked, the errors in ``attrs["errors"]``.
        Needs pandas."""
        import importlib

        pd = importlib.import_module("pandas")  # only when asked for: not a dependency

        index = self.index if self.index is not None else pd.RangeIndex(len(self.items))
        series = pd.Series(self.texts, index=index, dtype=object, name=name)
        series.attrs["errors"] = {index[i]: err for i, err in self.errors.items()}
        return series

    def failure_groups(self) -> list[tuple[str, int, PuterError]]:
        """``(label, count, first error)`` per kind of failure, the most frequent first."""
        groups: dict[str, list[PuterError]] = {}
        for item in self.items:
            if item.reply is None and item.error is not None:
                groups.setdefault(error_label(item.error), []).append(item.error)
        ranked = sorted(groups.items(), key=lambda kv: -len(kv[1]))
        return [(label, len(errs), errs[0]) for label, errs in ranked]

    def summary(self) -> str:
        """One line: answered, failed and why, not asked, time, 429s."""
        parts = [f"{self.answered} of {len(self)} answered"]
        if self.failed:
            why = ", ".join(f"{n} × {label}: {_clip(e.message, 60)}" for label, n, e in self.failure_groups())
            parts.append(f"{self.failed} failed ({why})")
        if self.not_asked:
            parts.append(f"{self.not_asked} not asked")
        line = ", ".join(parts) + f" in {self.elapsed:.1f} s"
        if self.rate_limited:
            line += f"; {self.rate_limited} rate limit{'s' if self.rate_limited > 1 else ''} (429) met"
        if self.stopped == "interrupted":
            line += "; interrupted"
        elif self.stop_error is not None:
            line += f"; stopped: {error_label(self.stop_error)}: {_clip(self.stop_error.message, 80)}"
        return line

    def __repr__(self) -> str:
        return f"<BatchResult {self.summary()}>"


@dataclass(frozen=True)
class BatchProgress:
    """How far a batch is (handed to ``on_progress`` in the calling thread)."""

    total: int
    answered: int
    failed: int
    in_flight: int
    elapsed: float
    rate_limited: int
    finished: bool = False
    max_per_second: float | None = None  # what the rate limit allows

    @property
    def done(self) -> int:
        return self.answered + self.failed

    @property
    def per_second(self) -> float | None:
        """Items done per second so far."""
        if not self.done or self.elapsed <= 0:
            return None
        return self.done / self.elapsed

    @property
    def seconds_left(self) -> float | None:
        """At the speed so far, but never faster than the rate limit allows."""
        speed = self.per_second
        if speed is None:
            return None
        if self.max_per_second:
            speed = min(speed, self.max_per_second)
        return (self.total - self.done) / speed
