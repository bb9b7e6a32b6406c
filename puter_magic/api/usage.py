"""The usage meter: tokens and cost per model, from what replies report (shown by the
notebook's :class:`~puter_magic.notebook.tables.UsageTable`).

Replies that report no token counts (Puter's streamed usage line from some providers is
only ``{"usd_cents": null}``) are counted as such, not as zero tokens: the table says
"not reported" where no reply of a model reported any, and the total says how many
replies it leaves out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .values import is_int
from .words import plural

__all__ = ["ModelUsage", "UsageMeter", "total_tokens"]


def _int(value: Any) -> int:
    return value if is_int(value) else 0


def total_tokens(usage: Mapping[str, Any]) -> int | None:
    """Input plus output tokens from a usage dict of any provider's shape."""
    if not isinstance(usage, Mapping):
        return None
    total = usage.get("total_tokens")
    if is_int(total):
        return total
    count = 0
    seen = False
    for key in ("prompt_tokens", "input_tokens", "completion_tokens", "output_tokens"):
        value = usage.get(key)
        if is_int(value):
            count += value
            seen = True
    return count if seen else None


@dataclass
class ModelUsage:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cents: float = 0.0
    priced: bool = False  # the server gave a cost at least once
    unreported: int = 0  # replies whose usage had no token counts
    tokenless: int = 0  # requests of a kind that has no tokens (images, speech, OCR)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass
class UsageMeter:
    """Cumulative usage of one notebook, by model."""

    models: dict[str, ModelUsage] = field(default_factory=dict)

    def add(self, model: str, usage: dict[str, Any] | None, *, tokens: bool = True) -> None:
        """Count one request of *model* (or of an interface, for media) and what it reported.

        ``tokens=False`` is a request of a kind that is not counted in tokens (an image,
        speech, OCR, a driver call that is not a chat): a request, not a missing count.
        """
        entry = self.models.setdefault(model, ModelUsage())
        entry.requests += 1
        usage = usage or {}
        if not tokens:
            entry.tokenless += 1
        elif total_tokens(usage) is None:
            entry.unreported += 1
        entry.input_tokens += _int(usage.get("input_tokens")) + _int(usage.get("prompt_tokens"))
        entry.output_tokens += _int(usage.get("output_tokens")) + _int(usage.get("completion_tokens"))
        cents = usage.get("usd_cents")
        if isinstance(cents, (int, float)) and not isinstance(cents, bool):
            entry.cents += float(cents)
            entry.priced = True

    @property
    def spent_cents(self) -> float:
        return sum(m.cents for m in self.models.values())

    def reset(self) -> None:
        self.models.clear()

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        out = []
        for name, m in sorted(self.models.items()):
            cost = f"{m.cents:.4g}¢" if m.priced else "not reported"
            requests = str(m.requests)
            if m.tokenless == m.requests:
                tokens_in = tokens_out = "–"
            elif m.unreported + m.tokenless == m.requests:
                tokens_in = tokens_out = "not reported"
            else:
                tokens_in, tokens_out = f"{m.input_tokens:,}", f"{m.output_tokens:,}"
                if m.unreported:
                    requests += f" ({m.unreported} without token counts)"
            out.append((name, requests, tokens_in, tokens_out, cost))
        return out

    def summary(self) -> str:
        """``132 tokens, but 1 of 3 replies reported no token counts (not included), 0.5¢ reported``"""
        everything = sum(m.requests for m in self.models.values())
        requests = everything - sum(m.tokenless for m in self.models.values())
        unreported = sum(m.unreported for m in self.models.values())
        if requests == 0:
            return plural(everything, "request") + (
                f", {self.spent_cents:.4g}¢ reported" if any(m.priced for m in self.models.values()) else ""
            )
        if unreported == requests:
            tokens = (
                "tokens not reported (the reply reported no token counts)"
                if requests == 1
                else f"tokens not reported (none of the {requests} replies reported token counts)"
            )
        else:
            tokens = plural(sum(m.tokens for m in self.models.values()), "token")
            if unreported:
                tokens += (
                    f", but {unreported} of {plural(requests, 'reply')} reported no token counts "
                    "(not included)"
                )
        priced = any(m.priced for m in self.models.values())
        return tokens + (f", {self.spent_cents:.4g}¢ reported" if priced else "")
