"""Tokens and cost: what a reply's usage says in every provider's shape, and the meter that
adds up a session's requests per model. (What Puter says is left of the account's monthly
allowance is the account's: :class:`~puter_magic.api.account.Allowance`.)

Replies that report no token counts (Puter's streamed usage line from some providers is
only ``{"usd_cents": null}``) are counted as such, not as zero tokens: the table says
"not reported" where no reply of a model reported any, and the total says how many
replies it leaves out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .humanize import plural
from .protocol import is_int, opt_number

__all__ = ["ModelUsage", "UsageMeter", "token_counts", "total_tokens"]


# Every shape of usage Puter passes on (protocol doc §14), as (input keys, output keys):
# OpenAI-style providers count cached input inside ``prompt_tokens``; Claude-style ones count
# cache reads and writes apart from ``input_tokens``; Puter's OpenAI-compatible code (Ollama,
# OpenRouter and others) reports ``prompt`` without the cached part, ``input_cache_read``.
INPUT_KEYS = (
    "prompt_tokens",
    "input_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "prompt",
    "input_cache_read",
    "input_cache_write",
)
OUTPUT_KEYS = ("completion_tokens", "output_tokens", "completion")
# Claude's cache writes by lifetime, when the total above is not given.
CACHE_WRITE_PARTS = ("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens")


def token_counts(usage: Mapping[str, Any]) -> tuple[int, int] | None:
    """``(input, output)`` tokens from a usage dict of any provider's shape, or None when it
    reports no token counts at all (Puter's streamed ``{"usd_cents": null}``)."""
    if not isinstance(usage, Mapping):
        return None
    seen = False
    counts = [0, 0]
    keys = INPUT_KEYS if is_int(usage.get("cache_creation_input_tokens")) else INPUT_KEYS + CACHE_WRITE_PARTS
    for side, names in ((0, keys), (1, OUTPUT_KEYS)):
        for key in names:
            value = usage.get(key)
            if is_int(value):
                counts[side] += value
                seen = True
    return (counts[0], counts[1]) if seen else None


def total_tokens(usage: Mapping[str, Any]) -> int | None:
    """Input plus output tokens from a usage dict of any provider's shape."""
    if not isinstance(usage, Mapping):
        return None
    total = usage.get("total_tokens")
    if is_int(total):
        return total
    counts = token_counts(usage)
    return None if counts is None else counts[0] + counts[1]


@dataclass
class ModelUsage:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cents: float = 0.0
    priced: bool = False  # the server gave a cost at least once
    unpriced: int = 0  # replies that gave no cost
    unreported: int = 0  # replies whose usage had no token counts
    tokenless: int = 0  # requests of a kind that has no tokens (images, speech, OCR)
    interrupted: int = 0  # requests stopped midway (stop button, Ctrl-C): sent, maybe charged

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass
class UsageMeter:
    """Cumulative usage of one notebook, by model."""

    models: dict[str, ModelUsage] = field(default_factory=dict)

    def add(
        self, model: str, usage: dict[str, Any] | None, *, tokens: bool = True, interrupted: bool = False
    ) -> None:
        """Count one request of *model* (or of an interface, for media) and what it reported.

        ``tokens=False`` is a request of a kind that is not counted in tokens (an image,
        speech, OCR, a driver call that is not a chat): a request, not a missing count.
        ``interrupted``: a reply stopped midway. It was sent and the server may have charged
        for it, but its token counts (which come last) usually never arrived.
        """
        entry = self.models.setdefault(model, ModelUsage())
        entry.requests += 1
        usage = usage or {}
        if interrupted:
            entry.interrupted += 1
        elif not tokens:
            entry.tokenless += 1
        elif total_tokens(usage) is None:
            entry.unreported += 1
        counts = token_counts(usage) or (0, 0)  # a bare total_tokens: no split to add
        entry.input_tokens += counts[0]
        entry.output_tokens += counts[1]
        cents = opt_number(usage.get("usd_cents"))
        if cents is not None:
            entry.cents += cents
            entry.priced = True
        else:
            entry.unpriced += 1

    @property
    def spent_cents(self) -> float:
        return sum(m.cents for m in self.models.values())

    def average_cents(self, model: str | None = None) -> float | None:
        """What a reply cost on average (of *model*, or of all), from the replies that said
        (None: no reply gave a cost yet)."""
        entries = (
            [self.models[model]] if model in self.models else [] if model else list(self.models.values())
        )
        priced = [m for m in entries if m.priced]
        requests = sum(m.requests - m.unpriced for m in priced)
        return sum(m.cents for m in priced) / requests if requests > 0 else None

    def reset(self) -> None:
        self.models.clear()

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        out = []
        for name, m in sorted(self.models.items()):
            cost = f"{m.cents:.4g}¢" if m.priced else "not reported"
            notes = [f"{m.interrupted} interrupted"] if m.interrupted else []
            if m.tokenless == m.requests:
                tokens_in = tokens_out = "–"
            elif m.unreported + m.tokenless + m.interrupted == m.requests and not m.tokens:
                tokens_in = tokens_out = "not reported"
            else:
                tokens_in, tokens_out = f"{m.input_tokens:,}", f"{m.output_tokens:,}"
                if m.unreported:
                    notes.append(f"{m.unreported} without token counts")
            requests = str(m.requests) + (f" ({', '.join(notes)})" if notes else "")
            out.append((name, requests, tokens_in, tokens_out, cost))
        return out

    def summary(self) -> str:
        """``132 tokens, but 1 of 3 replies reported no token counts (not included), 0.5¢ reported``"""
        everything = sum(m.requests for m in self.models.values())
        interrupted = sum(m.interrupted for m in self.models.values())
        requests = everything - sum(m.tokenless for m in self.models.values()) - interrupted
        unreported = sum(m.unreported for m in self.models.values())
        counted = "counted as a request; its" if interrupted == 1 else "counted as requests; their"
        cut_short = (
            f"; {interrupted} interrupted ({counted} token counts never arrived)" if interrupted else ""
        )
        if requests == 0:
            return (
                plural(everything, "request")
                + (
                    f", {self.spent_cents:.4g}¢ reported"
                    if any(m.priced for m in self.models.values())
                    else ""
                )
                + cut_short
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
        return tokens + (f", {self.spent_cents:.4g}¢ reported" if priced else "") + cut_short
