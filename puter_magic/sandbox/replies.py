"""What the sandbox's models answer (pure; no I/O): the text, the usage, and its shapes.

Non-streamed replies follow the ``normalize`` rule of newer servers (protocol doc §6):
``args.normalize: true`` gives OpenAI's shape (a content string, ``finish_reason`` mapped,
``normalized: true``), ``false`` the model's native shape, and without it the release date
decides (:data:`~.models.NORMALIZED_SINCE`). ``args.response: {normalize: true}`` (read by servers
of the 8307e8c9 generation) gives Puter's internal shape: a part list marked ``normalized``.
Puter's own test models have no release date and stay native, as recorded. Streams are never
affected.

The tutor also says what it sees in the images of the last question (:func:`describe_images`):
each one's format and pixel size from its header, and the caption of a picture the sandbox drew.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .models import NORMALIZED_SINCE, SandboxModel
from .pixels import image_info, png_text

__all__ = [
    "Reply",
    "normalized",
    "plural",
    "result_envelope",
    "split_stream",
    "stream_lines",
    "text_of",
    "wants_web_search",
    "write_reply",
]

# What the search model cites: fixed pages, never fetched (the sandbox has no network).
SOURCES = (
    ("https://docs.python.org/3/tutorial/datastructures.html", "5. Data Structures — Python documentation"),
    ("https://en.wikipedia.org/wiki/List_comprehension", "List comprehension — Wikipedia"),
    ("https://peps.python.org/pep-0202/", "PEP 202 – List Comprehensions"),
)


def plural(count: int, word: str) -> str:
    """``1 message``, ``2 messages`` (the sandbox shares no code with the client)."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@dataclass
class Reply:
    """A reply before it is put in a result envelope or a stream."""

    text: str
    usage: dict[str, Any]
    reasoning: str = ""
    pieces: list[str] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)  # url_citation annotations


def wants_web_search(args: dict[str, Any]) -> bool:
    """Whether the call offers Puter's ``{"type": "web_search"}`` tool."""
    tools = args.get("tools")
    return isinstance(tools, list) and any(
        isinstance(t, dict) and t.get("type") == "web_search" for t in tools
    )


def _effort_notes(args: dict[str, Any]) -> list[tuple[str, str]]:
    """How hard and how long the caller asked for, in either of Puter's forms."""
    reasoning = args.get("reasoning")
    text = args.get("text")
    effort = args.get("reasoning_effort") or (
        reasoning.get("effort") if isinstance(reasoning, dict) else None
    )
    verbosity = args.get("verbosity") or (text.get("verbosity") if isinstance(text, dict) else None)
    return [(k, str(v)) for k, v in (("reasoning effort", effort), ("verbosity", verbosity)) if v]


def _search(last: str, searched: bool) -> tuple[str, list[dict[str, Any]]]:
    """The search model's answer, and the ``url_citation`` annotations of its sources."""
    if not searched:
        return f"I answered from what I know, without searching the web: {_code_span(last)}.", []
    text = f"I searched the web for {_code_span(last)}."
    citations = []
    for number, (url, title) in enumerate(SOURCES, 1):
        sentence = f" {title.split(' — ')[0].split(' – ')[-1]} is one source [{number}]."
        start = len(text) + 1
        text += sentence
        citations.append(
            {
                "type": "url_citation",
                "url_citation": {"url": url, "title": title, "start_index": start, "end_index": len(text)},
            }
        )
    return text, citations


def text_of(content: Any) -> str:
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


_LOREM_TEXT = (
    "lorem ipsum dolor sit amet consectetur adipisicing elit sed do eiusmod tempor incididunt "
    "ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco "
    "laboris nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate "
    "velit esse cillum eu fugiat nulla pariatur excepteur sint occaecat cupidatat non proident "
    "sunt culpa qui officia deserunt mollit anim id est laborum"
)
_LOREM = _LOREM_TEXT.split()


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


_FENCE_LINE = re.compile(r"^[ \t]*(```|~~~)", re.MULTILINE)


def _quote(text: str, limit: int = 600) -> str:
    """The prompt quoted: a blockquote, or a fenced block when it holds fences of its own.

    A fence inside a blockquote is not a code block for every renderer (Python-Markdown shows
    it as inline code), and a quote cut short can leave one open. So a prompt with fences is
    quoted in a fence longer than any run of backticks it holds, which always closes.
    """
    text = text.strip()
    if len(text) > limit:  # the head and the tail: a question's point is often at its end
        head = int(limit * 0.6)
        text = text[:head].rstrip() + "\n…\n" + text[-(limit - head - 3) :].lstrip()
    if _FENCE_LINE.search(text):
        longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
        fence = "`" * max(3, longest + 1)
        return f"{fence}markdown\n{text}\n{fence}"
    return "\n".join("> " + line if line.strip() else ">" for line in text.splitlines()) or "> "


def _code_span(text: str, limit: int = 60) -> str:
    """Text as one inline code span (shown as written: no math, no escapes), cut to *limit*."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}" if text else "(empty)"


def _tutor(messages: list[dict[str, Any]], args: dict[str, Any], model: SandboxModel) -> str:
    users = [text_of(m.get("content")) for m in messages if m.get("role", "user") == "user"]
    systems = [text_of(m.get("content")) for m in messages if m.get("role") == "system"]
    assistants = [m for m in messages if m.get("role") == "assistant"]
    turn = len(users)
    last = users[-1] if users else ""
    system = " / ".join(s for s in systems if s) or "(none)"
    temperature = args.get("temperature", "(default)")
    max_tokens = args.get("max_tokens", "(default)")
    asked = _effort_notes(args)
    if model.shape == "openai":
        how = "".join(f" {k.capitalize()}: {v}." for k, v in asked)
        return (
            f"**{model.name}**, turn {turn}: you asked\n\n{_quote(last, 200)}\n\n"
            f"I was sent {plural(len(messages), 'message')} ({turn} from you). "
            f"System prompt: {_cell(system).rstrip('.')}.{how}"
        )
    rows = "".join(f"| {k} | {_cell(v)} |\n" for k, v in asked)
    earlier = users[:-1]
    if earlier:
        history = "Your earlier questions in this conversation:\n\n" + "\n".join(
            f"{i}. {_code_span(q)}" for i, q in enumerate(earlier, 1)
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
{rows}
{history}

```python
# The sandbox answers deterministically: same conversation, same reply.
questions = {turn}
print(f"question number {{questions}}")
```

A formula for the road: $x_1 + x_2 = \\frac{{a_1}}{{b_1}}$, and on its own line:

$$\\sum_{{i=1}}^{{n}} i = \\frac{{n(n+1)}}{{2}}$$
"""


# -- what the tutor sees in the images it is sent -----------------------------------------


def _image_parts(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    users = [m for m in messages if isinstance(m, dict) and m.get("role", "user") == "user"]
    content = users[-1].get("content") if users else None
    parts = [content] if isinstance(content, dict) else content if isinstance(content, list) else []
    return [
        p
        for p in parts
        if isinstance(p, dict) and (p.get("type") in ("image_url", "file") or "image_url" in p)
    ]


def describe_images(messages: list[dict[str, Any]]) -> str:
    """A Markdown note on the images in the last user message: count, format, pixel size."""
    parts = _image_parts(messages)
    if not parts:
        return ""
    rows = []
    for number, part in enumerate(parts, 1):
        if part.get("type") == "file":
            rows.append(f"| {number} | a file in your Puter storage ({part.get('puter_path')}) | | |")
            continue
        holder = part.get("image_url")
        url = holder.get("url") if isinstance(holder, dict) else holder
        if not isinstance(url, str) or not url.startswith("data:"):
            host = urlsplit(url).hostname if isinstance(url, str) else None
            rows.append(f"| {number} | an image at {host or '?'} (the sandbox fetches no URLs) | | |")
            continue
        header, _, payload = url.partition(",")
        chunk = payload[:120_000]
        try:
            head = base64.b64decode(chunk[: len(chunk) // 4 * 4])
        except (binascii.Error, ValueError):
            head = b""
        info = image_info(head)
        size = len(payload) * 3 // 4 if header.endswith(";base64") else len(payload)
        caption = png_text(head) if info and info[0] == "PNG" else None
        what = f"{info[0]}" if info else "not an image I can read"
        pixels = f"{info[1]}×{info[2]}" if info and info[1] else "?"
        said = f" · its caption reads “{caption[:80]}”" if caption else ""
        rows.append(f"| {number} | {what}{said} | {pixels} | {size / 1000:.1f} kB |")
    count = f"{len(parts)} image" + ("s" if len(parts) != 1 else "")
    return (
        f"\n\n**I see {count}:**\n\n| # | what | pixels | size |\n|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n"
    )


def split_stream(text: str) -> list[str]:
    """Pieces of about one word each, whitespace kept, so the stream reassembles exactly."""
    pieces = re.findall(r"\s*\S+\s*?(?=\s|$)|\s+$", text)
    if "".join(pieces) != text:  # defensive: never lose a character
        pieces = [text[i : i + 8] for i in range(0, len(text), 8)]
    return pieces or [""]


def write_reply(model: SandboxModel, messages: list[dict[str, Any]], args: dict[str, Any]) -> Reply:
    """The reply *model* gives to *messages* (deterministic)."""
    prompt_text = "\n".join(text_of(m.get("content")) for m in messages)
    reasoning = ""
    citations: list[dict[str, Any]] = []
    if model.writes == "search":
        users = [text_of(m.get("content")) for m in messages if m.get("role", "user") == "user"]
        text, citations = _search(users[-1] if users else "", wants_web_search(args))
    elif model.writes == "lorem":
        text = _lorem(json.dumps(messages, sort_keys=True, default=str) + model.id)
    elif model.writes == "echo":
        users = [text_of(m.get("content")) for m in messages if m.get("role", "user") == "user"]
        text = users[-1] if users else ""
    else:
        text = _tutor(messages, args, model) + describe_images(messages)
    if model.thinks:
        effort = "".join(f" The {k} asked for is {v}." for k, v in _effort_notes(args))
        reasoning = (
            f"The learner sent {plural(len(messages), 'message')}. "
            f"I should answer with a table and a code block.{effort}"
        )
    tokens_in = _words(prompt_text)
    tokens_out = _words(text) + _words(reasoning)
    cents = (tokens_in * model.cents_per_million_in + tokens_out * model.cents_per_million_out) / 1_000_000
    usd_cents: float | None = round(cents, 6) if model.priced else None
    if not model.counts_tokens:
        tokens_in, tokens_out = 0, 1
    if model.test_provider:  # Puter's test provider never reports a cost
        usage: dict[str, Any] = {"input_tokens": tokens_in, "output_tokens": tokens_out, "usd_cents": None}
    elif model.compat_usage:  # Puter's OpenAI-compatible code (Ollama, OpenRouter...), as recorded
        usage = {"prompt": tokens_in, "completion": tokens_out, "input_cache_read": 0, "usd_cents": usd_cents}
    elif model.shape == "openai":
        usage = {
            "prompt_tokens": tokens_in,
            "completion_tokens": tokens_out,
            "cached_tokens": 0,
            "usd_cents": usd_cents,
        }
    else:
        usage = {"input_tokens": tokens_in, "output_tokens": tokens_out, "usd_cents": usd_cents}
    pieces = [text] if model.test_provider else split_stream(text)  # Puter's: one text line
    return Reply(text=text, usage=usage, reasoning=reasoning, pieces=pieces, citations=citations)


def normalized(model: SandboxModel, args: dict[str, Any]) -> bool:
    """Whether a non-streamed reply comes in OpenAI's shape: ``args.normalize``, else the release date."""
    flag = args.get("normalize")
    if isinstance(flag, bool):
        return flag
    return model.release_date is not None and model.release_date >= NORMALIZED_SINCE


def _openai_result(reply: Reply, *, mark: bool, native_stop: str = "end_turn") -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
    if reply.citations:
        message["annotations"] = reply.citations
    if reply.reasoning:
        message["reasoning"] = reply.reasoning
        signature = hashlib.sha256(reply.reasoning.encode()).hexdigest()[:32]
        message["reasoning_details"] = [
            {"type": "reasoning.text", "text": reply.reasoning, "signature": signature, "index": 0}
        ]
    finish = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}
    result: dict[str, Any] = {
        "index": 0,
        "message": message,
        "finish_reason": finish.get(native_stop, native_stop),
        "usage": reply.usage,
        "via_ai_chat_service": True,
    }
    if mark:
        result["normalized"] = True
    return result


def result_envelope(model: SandboxModel, reply: Reply, args: dict[str, Any] | None = None) -> dict[str, Any]:
    """The success envelope of a non-streamed ``complete``: normalized or native (see above)."""
    args = args or {}
    response = args.get("response")
    internal = isinstance(response, dict) and response.get("normalize") is True
    if normalized(model, args):
        result: dict[str, Any] = _openai_result(reply, mark=True)
        service_used = "openai-completion" if model.shape == "openai" else "claude"
    elif model.shape == "openai":
        result = _openai_result(reply, mark=False)
        if internal:  # Puter's internal shape: the content as a part list
            result["message"]["content"] = [{"type": "text", "text": reply.text}]
            result["normalized"] = True
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
        if internal:
            result["normalized"] = True
        service_used = "fake-chat" if model.test_provider else "claude"
    return {
        "success": True,
        "result": result,
        "service": {"name": "ai-chat"},
        "metadata": {"service_used": service_used, "providerUsed": model.id},
    }


def stream_lines(model: SandboxModel, reply: Reply) -> Iterator[dict[str, Any]]:
    """The NDJSON objects of a streamed reply, ending with the usage line."""
    if reply.reasoning:
        for piece in split_stream(reply.reasoning):
            yield {"type": "reasoning", "reasoning": piece}
    for piece in reply.pieces:
        yield {"type": "text", "text": piece}
    if reply.citations:  # the sources, once the text is out
        yield {"type": "text", "text": "", "annotations": reply.citations}
    usage = {"usd_cents": None} if model.test_provider else reply.usage
    yield {"type": "usage", "usage": usage}
