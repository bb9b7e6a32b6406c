"""The sandbox's models and the replies they write (pure; no I/O).

- ``fake``, ``costly``, ``abuse``: Puter's own offline test models. Lorem ipsum in Puter's
  Claude-style result shape (content as a list of text parts), streamed as one text
  line then a usage line, like a real self-hosted Puter. Seeded by the conversation, so
  the same request gets the same reply.
- ``sandbox-tutor``: the teaching model. Deterministic Markdown that makes the
  conversation visible: it quotes the prompt, counts the turns and messages it was sent,
  echoes the system prompt, and has a heading, a table, a list, a code block and math.
  Claude-style shape; streams word by word.
- ``sandbox-tutor-lite``: a second teaching model with OpenAI's shape (string content,
  ``prompt_tokens``/``completion_tokens``): short answers, a different provider.
- ``sandbox-echo``: replies with the last user message verbatim (OpenAI shape), so tests
  and teachers can make the "model" say exactly anything, hostile HTML included.
- ``sandbox-slow``: the tutor's reply, streamed slowly, to watch streaming happen.
- ``sandbox-thinker``: streams ``reasoning`` chunks before its answer.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .reading import describe_images

__all__ = ["MODELS", "Reply", "SandboxModel", "write_reply"]


@dataclass(frozen=True)
class SandboxModel:
    id: str
    provider: str
    shape: str  # "claude" or "openai"
    name: str
    context: int | None = 32000
    max_tokens: int = 8192
    cost_in: int = 0  # US cents per 1M input tokens
    cost_out: int = 0
    pace: float | None = None  # seconds between stream chunks; None: the sandbox's pace
    aliases: tuple[str, ...] = ()
    hidden: bool = False  # hidden from the public (token-less) catalogue, as Puter hides its test models
    selfhosted: bool = False  # reported with the fewer fields of a self-hosted Puter

    def catalogue_entry(self) -> dict[str, Any]:
        if self.selfhosted:
            return {
                "id": self.id,
                "aliases": list(self.aliases),
                "costs_currency": "usd-cents",
                "costs": {"input-tokens": self.cost_in, "output-tokens": self.cost_out},
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
                "prompt_tokens": self.cost_in,
                "completion_tokens": self.cost_out,
            },
            "context": self.context,
            "max_tokens": self.max_tokens,
            "modalities": {"input": ["text"], "output": ["text"]},
            "tool_call": False,
        }


MODELS: dict[str, SandboxModel] = {
    m.id: m
    for m in (
        SandboxModel(
            "sandbox-tutor",
            "sandbox",
            "claude",
            "Sandbox Tutor",
            32000,
            8192,
            30,
            120,
            aliases=("tutor",),
        ),
        SandboxModel(
            "sandbox-tutor-lite",
            "sandbox-openai",
            "openai",
            "Sandbox Tutor Lite",
            16000,
            4096,
            5,
            20,
            aliases=("tutor-lite",),
        ),
        SandboxModel("sandbox-echo", "sandbox-openai", "openai", "Sandbox Echo", 8000, 4096),
        SandboxModel("sandbox-slow", "sandbox", "claude", "Sandbox Slow Tutor", 32000, 8192, pace=0.06),
        SandboxModel("sandbox-thinker", "sandbox", "claude", "Sandbox Thinker", 32000, 8192, 50, 200),
        SandboxModel("abuse", "fake-chat", "claude", "abuse", None, 8192, hidden=True, selfhosted=True),
        SandboxModel(
            "costly",
            "fake-chat",
            "claude",
            "costly",
            None,
            8192,
            1000,
            2000,
            hidden=True,
            selfhosted=True,
        ),
        SandboxModel("fake", "fake-chat", "claude", "fake", None, 8192, hidden=True, selfhosted=True),
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


@dataclass
class Reply:
    """A reply before it is put in a result envelope or a stream."""

    text: str
    usage: dict[str, Any]
    reasoning: str = ""
    pieces: list[str] = field(default_factory=list)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    if isinstance(content, list):
        return "".join(
            p.get("text", "") if isinstance(p, dict) else str(p)
            for p in content
            if not isinstance(p, dict) or p.get("type", "text") == "text"
        )
    return ""


def _words(text: str) -> int:
    return len(text.split())


_LOREM = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipisicing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "enim",
    "ad",
    "minim",
    "veniam",
    "quis",
    "nostrud",
    "exercitation",
    "ullamco",
    "laboris",
    "nisi",
    "aliquip",
    "ex",
    "ea",
    "commodo",
    "consequat",
    "duis",
    "aute",
    "irure",
    "in",
    "reprehenderit",
    "voluptate",
    "velit",
    "esse",
    "cillum",
    "eu",
    "fugiat",
    "nulla",
    "pariatur",
    "excepteur",
    "sint",
    "occaecat",
    "cupidatat",
    "non",
    "proident",
    "sunt",
    "culpa",
    "qui",
    "officia",
    "deserunt",
    "mollit",
    "anim",
    "id",
    "est",
    "laborum",
]


def _lorem(seed: str) -> str:
    rng = random.Random(hashlib.sha256(seed.encode()).digest())
    paragraphs = []
    for _ in range(rng.randint(1, 3)):
        sentences = []
        for _ in range(rng.randint(4, 7)):
            words = [rng.choice(_LOREM) for _ in range(rng.randint(10, 20))]
            sentences.append(" ".join(words).capitalize() + ".")
        paragraphs.append(" ".join(sentences))
    return "\n".join(paragraphs)


def _cell(text: str, limit: int = 80) -> str:
    """Text made safe for one Markdown table cell."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("\\", "\\\\").replace("|", "\\|") or " "


def _quote(text: str, limit: int = 400) -> str:
    text = text.strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "\n".join("> " + line if line.strip() else ">" for line in text.splitlines()) or "> "


def _tutor(messages: list[dict[str, Any]], args: dict[str, Any], model: SandboxModel) -> str:
    users = [_text_of(m.get("content")) for m in messages if m.get("role", "user") == "user"]
    systems = [_text_of(m.get("content")) for m in messages if m.get("role") == "system"]
    assistants = [m for m in messages if m.get("role") == "assistant"]
    turn = len(users)
    last = users[-1] if users else ""
    system = " / ".join(s for s in systems if s) or "(none)"
    temperature = args.get("temperature", "(default)")
    max_tokens = args.get("max_tokens", "(default)")
    if model.shape == "openai":
        return (
            f"**{model.name}**, turn {turn}: you asked\n\n{_quote(last, 200)}\n\n"
            f"I was sent {len(messages)} messages ({turn} from you). "
            f"System prompt: {_cell(system)}."
        )
    earlier = users[:-1]
    if earlier:
        history = "Your earlier questions in this conversation:\n\n" + "\n".join(
            f"{i}. {_cell(q, 60)}" for i, q in enumerate(earlier, 1)
        )
    else:
        history = "- This is the first question of the conversation.\n- Ask a follow-up: I will count it."
    return f"""### Turn {turn} · {model.name}

You asked:

{_quote(last)}

| what I was sent | value |
|---|---|
| messages | {len(messages)} |
| your questions so far | {turn} |
| my earlier answers | {len(assistants)} |
| system prompt | {_cell(system)} |
| temperature | {_cell(str(temperature))} |
| max tokens | {_cell(str(max_tokens))} |

{history}

```python
# The sandbox answers deterministically: same conversation, same reply.
questions = {turn}
print(f"question number {{questions}}")
```

A formula for the road: $x_1 + x_2 = \\frac{{a_1}}{{b_1}}$, and on its own line:

$$\\sum_{{i=1}}^{{n}} i = \\frac{{n(n+1)}}{{2}}$$
"""


def _split_stream(text: str) -> list[str]:
    """Pieces of about one word each, whitespace kept, so the stream reassembles exactly."""
    pieces = re.findall(r"\s*\S+\s*?(?=\s|$)|\s+$", text)
    if "".join(pieces) != text:  # defensive: never lose a character
        pieces = [text[i : i + 8] for i in range(0, len(text), 8)]
    return pieces or [""]


def write_reply(model: SandboxModel, messages: list[dict[str, Any]], args: dict[str, Any]) -> Reply:
    """The reply *model* gives to *messages* (deterministic)."""
    prompt_text = "\n".join(_text_of(m.get("content")) for m in messages)
    reasoning = ""
    if model.provider == "fake-chat":
        text = _lorem(json.dumps(messages, sort_keys=True, default=str) + model.id)
    elif model.id == "sandbox-echo":
        users = [_text_of(m.get("content")) for m in messages if m.get("role", "user") == "user"]
        text = users[-1] if users else ""
    else:
        text = _tutor(messages, args, model) + describe_images(messages)
        if model.id == "sandbox-thinker":
            reasoning = (
                f"The learner sent {len(messages)} messages. I should answer with a table and a code block."
            )
    tokens_in = _words(prompt_text)
    tokens_out = _words(text) + _words(reasoning)
    cents = (tokens_in * model.cost_in + tokens_out * model.cost_out) / 1_000_000
    usd_cents: float | None = round(cents, 6) if (model.cost_in or model.cost_out) else None
    if model.provider == "fake-chat":  # Puter's test provider never reports a cost
        usage: dict[str, Any] = {"input_tokens": 0, "output_tokens": 1, "usd_cents": None}
        if model.id == "costly":
            usage = {"input_tokens": tokens_in, "output_tokens": tokens_out, "usd_cents": None}
    elif model.shape == "openai":
        usage = {
            "prompt_tokens": tokens_in,
            "completion_tokens": tokens_out,
            "cached_tokens": 0,
            "usd_cents": usd_cents,
        }
    else:
        usage = {"input_tokens": tokens_in, "output_tokens": tokens_out, "usd_cents": usd_cents}
    pieces = [text] if model.provider == "fake-chat" else _split_stream(text)
    return Reply(text=text, usage=usage, reasoning=reasoning, pieces=pieces)


def result_envelope(model: SandboxModel, reply: Reply) -> dict[str, Any]:
    """The success envelope of a non-streamed ``complete``, in the model's provider shape."""
    if model.shape == "openai":
        result: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": reply.text, "refusal": None},
            "finish_reason": "stop",
            "usage": reply.usage,
            "via_ai_chat_service": True,
        }
        service_used = "openai-completion"
    else:
        content: list[dict[str, Any]] = []
        if reply.reasoning:
            content.append({"type": "thinking", "thinking": reply.reasoning})
        content.append({"type": "text", "text": reply.text})
        result = {
            "message": {
                "id": "00000000-0000-0000-0000-000000000000",
                "type": "message",
                "role": "assistant",
                "model": model.id,
                "content": content,
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": reply.usage,
            },
            "usage": reply.usage,
            "finish_reason": "stop",
            "via_ai_chat_service": True,
        }
        service_used = "fake-chat" if model.provider == "fake-chat" else "claude"
    return {
        "success": True,
        "result": result,
        "service": {"name": "ai-chat"},
        "metadata": {"service_used": service_used, "providerUsed": model.id},
    }


def stream_lines(model: SandboxModel, reply: Reply) -> Iterator[dict[str, Any]]:
    """The NDJSON objects of a streamed reply, ending with the usage line."""
    if reply.reasoning:
        for piece in _split_stream(reply.reasoning):
            yield {"type": "reasoning", "reasoning": piece}
    for piece in reply.pieces:
        yield {"type": "text", "text": piece}
    usage = {"usd_cents": None} if model.provider == "fake-chat" else reply.usage
    yield {"type": "usage", "usage": usage}
