"""The sandbox's models, described by what they do (pure; no I/O). Their replies: :mod:`.replies`.

- ``fake``, ``costly``, ``abuse``: Puter's own offline test models (``test_provider``):
  lorem ipsum in the Claude-style result shape, streamed as one text line then a usage
  line without token counts, never a cost, hidden from the public catalogue and listed
  with the fewer fields of a self-hosted Puter, as recorded.
- ``sandbox-tutor``: the teaching model. Deterministic Markdown that makes the
  conversation visible (``writes="tutor"``); Claude-style; streams word by word.
- ``sandbox-tutor-lite``: a second teaching model with OpenAI's shape and short answers.
- ``sandbox-echo``: replies with the last user message verbatim (``writes="echo"``), so tests
  and teachers can make the "model" say exactly anything, hostile HTML included.
- ``sandbox-slow``: the tutor's reply, streamed slowly (``Sandbox(slow_pace=...)`` sets it).
- ``sandbox-thinker``: streams reasoning before its answer (``thinks``). Released after
  2026-09-01, so its non-streamed replies come normalized unless asked not to.
- ``sandbox-searcher``: OpenAI's Responses provider: takes the ``web_search`` tool and cites
  its (fixed, never fetched) sources as ``url_citation`` annotations; the other models answer
  a ``web_search`` tool with Puter's 400.
- ``sandbox-agent`` (OpenAI's shape) and ``sandbox-agent-claude`` (Claude's): call the
  tools they are offered when the prompt names them (``tool_call``; see :mod:`.tools`).
- ``sandbox-local``: a local model as Puter serves Ollama's (``compat_usage``): OpenAI's
  shape, and usage as Puter's OpenAI-compatible code reports it for Ollama, OpenRouter and
  others, ``{"prompt", "completion", "input_cache_read", "usd_cents": null}``, in whole
  replies and stream lines alike; no cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["MODELS", "NORMALIZED_SINCE", "SandboxModel", "lookup"]

NORMALIZED_SINCE = "2026-09-01"  # models released on or after this answer in OpenAI's shape


@dataclass(frozen=True, kw_only=True)
class SandboxModel:
    id: str
    name: str
    provider: str
    shape: Literal["claude", "openai"]  # the native shape of its non-streamed replies
    writes: Literal["tutor", "echo", "lorem", "search"] = "tutor"
    thinks: bool = False  # streams reasoning chunks (a thinking part) before its answer
    test_provider: bool = False  # one of Puter's fake-chat models (see the module docstring)
    counts_tokens: bool = True  # False: the usage says 0 in and 1 out, as Puter's `fake` does
    context: int | None = 32000
    max_tokens: int = 8192
    cents_per_million_in: float = 0  # what a reply costs; 0 and 0: no cost reported
    cents_per_million_out: float = 0
    pace: float | None = None  # seconds between stream chunks; None: the sandbox's pace
    slow: bool = False  # Sandbox(slow_pace=...) sets its pace
    aliases: tuple[str, ...] = ()
    release_date: str | None = None  # ISO date; decides whether replies come normalized
    tool_call: bool = False  # calls the tools it is offered (sandbox/tools.py)
    compat_usage: bool = False  # usage as {prompt, completion, input_cache_read} (Ollama through Puter)
    web_search: bool = False  # takes Puter's {"type": "web_search"} tool and cites sources

    @property
    def priced(self) -> bool:
        return bool(self.cents_per_million_in or self.cents_per_million_out)

    def catalogue_entry(self) -> dict[str, Any]:
        if self.test_provider:  # the fewer fields a self-hosted Puter lists for them
            return {
                "id": self.id,
                "aliases": list(self.aliases),
                "costs_currency": "usd-cents",
                "costs": {
                    "input-tokens": self.cents_per_million_in,
                    "output-tokens": self.cents_per_million_out,
                },
                "max_tokens": self.max_tokens,
                "provider": self.provider,
            }
        return {
            "id": self.id,
            "name": self.name,
            "provider": self.provider,
            "aliases": list(self.aliases),
            "costs_currency": "usd-cents",
            "input_cost_key": "prompt_tokens",
            "output_cost_key": "completion_tokens",
            "costs": {
                "tokens": 1_000_000,
                "prompt_tokens": self.cents_per_million_in,
                "completion_tokens": self.cents_per_million_out,
            },
            "context": self.context,
            "max_tokens": self.max_tokens,
            "modalities": {"input": ["text"], "output": ["text"]},
            "tool_call": self.tool_call,
            "release_date": self.release_date,
        }


def _test_model(model_id: str, **fields: Any) -> SandboxModel:
    return SandboxModel(
        id=model_id,
        name=model_id,
        provider="fake-chat",
        shape="claude",
        writes="lorem",
        test_provider=True,
        context=None,
        **fields,
    )


MODELS: dict[str, SandboxModel] = {
    m.id: m
    for m in (
        SandboxModel(
            id="sandbox-tutor",
            name="Sandbox Tutor",
            provider="sandbox",
            shape="claude",
            cents_per_million_in=30,
            cents_per_million_out=120,
            aliases=("tutor",),
            release_date="2026-03-02",
        ),
        SandboxModel(
            id="sandbox-tutor-lite",
            name="Sandbox Tutor Lite",
            provider="sandbox-openai",
            shape="openai",
            context=16000,
            max_tokens=4096,
            cents_per_million_in=5,
            cents_per_million_out=20,
            aliases=("tutor-lite",),
            release_date="2025-11-17",
        ),
        SandboxModel(
            id="sandbox-echo",
            name="Sandbox Echo",
            provider="sandbox-openai",
            shape="openai",
            writes="echo",
            context=8000,
            max_tokens=4096,
            release_date="2025-06-10",
        ),
        SandboxModel(
            id="sandbox-slow",
            name="Sandbox Slow Tutor",
            provider="sandbox",
            shape="claude",
            pace=0.06,
            slow=True,
            release_date="2026-03-02",
        ),
        SandboxModel(
            id="sandbox-thinker",
            name="Sandbox Thinker",
            provider="sandbox",
            shape="claude",
            thinks=True,
            cents_per_million_in=50,
            cents_per_million_out=200,
            release_date="2026-10-05",
        ),
        SandboxModel(
            id="sandbox-agent",
            name="Sandbox Agent",
            provider="sandbox-openai",
            shape="openai",
            context=16000,
            max_tokens=4096,
            cents_per_million_in=5,
            cents_per_million_out=20,
            tool_call=True,
            release_date="2026-05-12",
        ),
        SandboxModel(
            id="sandbox-agent-claude",
            name="Sandbox Agent (Claude)",
            provider="sandbox",
            shape="claude",
            cents_per_million_in=5,
            cents_per_million_out=20,
            tool_call=True,
            release_date="2026-05-12",
        ),
        SandboxModel(
            id="sandbox-local",
            name="Sandbox Local (Ollama)",
            provider="ollama",
            shape="openai",
            context=8192,
            max_tokens=8192,
            compat_usage=True,
            release_date="2025-08-05",
        ),
        SandboxModel(
            id="sandbox-searcher",
            name="Sandbox Searcher",
            provider="openai-responses",
            shape="openai",
            writes="search",
            context=16000,
            max_tokens=4096,
            cents_per_million_in=10,
            cents_per_million_out=40,
            web_search=True,
            aliases=("searcher",),
            release_date="2026-04-20",
        ),
        _test_model("abuse", counts_tokens=False),
        _test_model("costly", cents_per_million_in=1000, cents_per_million_out=2000),
        _test_model("fake", counts_tokens=False),
    )
}


def lookup(name: Any) -> SandboxModel | None:
    """Find a model by id or alias, trimmed and case-insensitive, as Puter does."""
    if not isinstance(name, str):
        return None
    key = name.strip().lower()
    for model in MODELS.values():
        if key == model.id or key in model.aliases:
            return model
    return None
