"""Chat: the messages sent, the reply of any provider shape (:func:`chat_reply`), and a
streamed reply (:class:`ChatStream`) whose text, reasoning, usage, tool calls and images
build up as its chunks arrive; ``reply()`` drains it into a :class:`ChatReply`.

Web search is part of a reply: Puter takes ``{"type": "web_search"}`` in ``args.tools`` for
models of OpenAI's Responses provider; every other provider answers 400 "web_search tool
requires the OpenAI Responses provider" (protocol doc §2, §6). A reply cites its sources as
``url_citation`` annotations: OpenAI's chat form ``{type, url_citation: {url, title,
start_index, end_index}}`` on ``message.annotations``, or the flat Responses form ``{type,
url, title}`` on a text part's ``annotations``; a stream carries them on a text line. Both
forms are read (:class:`Source`); a source's URL is data, never fetched.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .chunks import (
    Chunk,
    ChunkStream,
    ErrorChunk,
    ImageChunk,
    ReasoningChunk,
    ResultChunk,
    TextChunk,
    ToolUseChunk,
    UsageChunk,
)
from .errors import BadRequest, MalformedResponse, PuterError, StreamError
from .protocol import CHAT_DRIVER, CHAT_INTERFACE, build_call, opt_str
from .usage import total_tokens

__all__ = [
    "WEB_SEARCH_TOOL",
    "ChatReply",
    "ChatStream",
    "ChunkStream",
    "Messages",
    "Source",
    "cannot_search",
    "chat_call",
    "chat_reply",
    "content_text",
    "image_url",
    "normalize_messages",
    "offer_web_search",
    "reply_images",
    "sources_from",
    "with_web_search",
]

Message = Mapping[str, Any]
Messages = str | Sequence[Message]


# -- web search: the tool, and the sources a reply cites ----------------------------------------

WEB_SEARCH_TOOL: dict[str, str] = {"type": "web_search"}
_REFUSAL = "web_search tool requires"


@dataclass(frozen=True)
class Source:
    """A page a reply cites: its URL and title, as the reply gave them (untrusted)."""

    url: str
    title: str | None = None


def _source(annotation: Any) -> Source | None:
    if not isinstance(annotation, Mapping) or annotation.get("type") != "url_citation":
        return None
    inner = annotation.get("url_citation")
    holder: Mapping[str, Any] = inner if isinstance(inner, Mapping) else annotation
    url, title = holder.get("url"), holder.get("title")
    if not isinstance(url, str) or not url.strip():
        return None
    return Source(url.strip(), title.strip() if isinstance(title, str) and title.strip() else None)


def sources_from(*annotation_lists: Any) -> list[Source]:
    """The distinct sources of some ``annotations`` lists, in the order first cited."""
    seen: dict[str, Source] = {}
    for listed in annotation_lists:
        for annotation in listed if isinstance(listed, list) else []:
            found = _source(annotation)
            if found is not None and found.url not in seen:
                seen[found.url] = found
    return list(seen.values())


def message_sources(message: Mapping[str, Any]) -> list[Source]:
    """The sources of a reply's ``message``: its annotations and its text parts'."""
    content = message.get("content")
    parts = content if isinstance(content, list) else []
    return sources_from(
        message.get("annotations"), *(p.get("annotations") for p in parts if isinstance(p, Mapping))
    )


def with_web_search(tools: Iterable[Any] | None) -> list[Any]:
    """*tools* with Puter's ``web_search`` tool added (once)."""
    out = list(tools or [])
    if not any(isinstance(t, Mapping) and t.get("type") == "web_search" for t in out):
        out.append(dict(WEB_SEARCH_TOOL))
    return out


def cannot_search(err: BaseException) -> bool:
    """Whether *err* is Puter refusing web search for a model whose provider has none."""
    if not isinstance(err, PuterError) or _REFUSAL not in err.message:
        return False
    return isinstance(err, BadRequest) or err.status == 400


# -- a reply --------------------------------------------------------------------------------------


@dataclass
class ChatReply:
    """What a chat call produced: the text, usage, and the model that answered."""

    text: str
    model: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    reasoning: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    raw: Any = field(default=None, repr=False)
    #: Provider reasoning artifacts (``message.reasoning_details``), opaque: resend them as they
    #: are in the assistant turn to continue extended thinking.
    reasoning_details: list[Any] = field(default_factory=list, repr=False)
    #: Images the model returned: ``{"type": "image_url", "image_url": {"url": ...}}`` each.
    images: list[dict[str, Any]] = field(default_factory=list, repr=False)
    #: The server says it normalized the reply to OpenAI's shape (``result.normalized``).
    normalized: bool = False
    #: Pages the reply cites (web search), as :class:`Source`; untrusted.
    sources: list[Source] = field(default_factory=list)

    @property
    def total_tokens(self) -> int | None:
        return total_tokens(self.usage)


def content_text(content: Any) -> str:
    """The text of a message ``content``: a string, a list of parts, or one part."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and part.get("type", "text") == "text":
                text = part.get("text")
                if isinstance(text, str):
                    texts.append(text)
        return "".join(texts)
    raise MalformedResponse(f"message content of unexpected type {type(content).__name__}")


def reply_images(items: Any) -> list[dict[str, Any]]:
    """The image entries of ``message.images`` (or of content parts): dicts with a URL."""
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and image_url(item) is not None:
            out.append(item)
    return out


def image_url(item: Mapping[str, Any]) -> str | None:
    """The URL of an image entry: ``{image_url: {url}}``, ``{image_url: url}`` or ``{url}``."""
    inner = item.get("image_url")
    url = inner.get("url") if isinstance(inner, Mapping) else inner
    if url is None:
        url = item.get("url")
    return url if isinstance(url, str) and url else None


def chat_reply(result: Any, metadata_model: str | None = None) -> ChatReply:
    """Read a ``complete`` result of any shape into a :class:`ChatReply`.

    Whatever was asked (``normalize``, ``response.normalize``), a reply may come as:

    - OpenAI-style (also what ``normalize: true`` gives, with ``normalized: true``):
      ``{message: {content: str, tool_calls?, reasoning?, reasoning_details?, images?},
      usage, finish_reason}``;
    - Claude-style and Puter's test provider: ``{message: {content: [{type: "text", text},
      {type: "thinking"}, {type: "tool_use"}...], model}, usage}``;
    - Puter's internal normalized shape (``response: {normalize: true}``): a part list as above,
      with ``normalized: true``.

    Some gateways put OpenAI's ``choices`` list at the top; that is read too.
    """
    if isinstance(result, str):
        return ChatReply(text=result, model=metadata_model, raw=result)
    if not isinstance(result, dict):
        raise MalformedResponse(f"chat result of unexpected type {type(result).__name__}")
    message = result.get("message")
    if message is None and isinstance(result.get("choices"), list) and result["choices"]:
        first = result["choices"][0]
        message = first.get("message") if isinstance(first, dict) else None
    if not isinstance(message, dict):
        raise MalformedResponse("chat result has no message")
    raw_content = message.get("content")
    text = content_text(raw_content)
    reasoning = ""
    tool_calls: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    if isinstance(raw_content, list):
        for part in raw_content:
            if isinstance(part, dict) and part.get("type") == "thinking":
                reasoning += str(part.get("thinking") or "")
            elif isinstance(part, dict) and part.get("type") == "tool_use":
                tool_calls.append(_with_input_read(part))
            elif isinstance(part, dict) and part.get("type") in ("image_url", "image"):
                images.extend(reply_images([part]))
    if isinstance(message.get("tool_calls"), list):
        tool_calls.extend(c for c in message["tool_calls"] if isinstance(c, dict))
    if not reasoning:
        for key in ("reasoning", "reasoning_content"):
            if isinstance(message.get(key), str):
                reasoning = message[key]
                break
    details = message.get("reasoning_details")
    images.extend(reply_images(message.get("images")))
    usage: Any = result.get("usage")
    if not isinstance(usage, dict):
        usage = message.get("usage")
    if not isinstance(usage, dict):
        usage = {}
    model = message.get("model") if isinstance(message.get("model"), str) else None
    finish = result.get("finish_reason") or message.get("stop_reason")
    return ChatReply(
        text=text,
        model=model or metadata_model or opt_str(result.get("model")),
        usage=dict(usage),
        reasoning=reasoning,
        tool_calls=tool_calls,
        finish_reason=finish if isinstance(finish, str) else None,
        raw=result,
        reasoning_details=list(details) if isinstance(details, list) else [],
        images=images,
        normalized=result.get("normalized") is True,
        sources=message_sources(message),
    )


def _with_input_read(part: dict[str, Any]) -> dict[str, Any]:
    """A ``tool_use`` part whose ``input`` is an object: with ``response: {normalize: true}``
    Puter sends it as a JSON string (recorded: ``ollama-tools-normalize.json``). Text that is
    not a JSON object stays as it came (the tools loop answers it with an error result)."""
    raw = part.get("input")
    if not isinstance(raw, str):
        return part
    try:
        value = json.loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError):
        return part
    return {**part, "input": value} if isinstance(value, dict) else part


class ChatStream:
    """A streamed chat reply: iterate for chunks as they arrive; the reply builds up.

    ``text``, ``reasoning``, ``usage``, ``tool_calls`` and ``images`` grow while you iterate. An
    ``error`` line raises :class:`~puter_magic.api.errors.StreamError` (the partial text stays
    in ``text``). Unknown chunk types are yielded as they are. ``reply()`` drains the rest
    and returns a :class:`ChatReply`.
    """

    def __init__(self, chunks: ChunkStream, model: str | None, secrets: tuple[str | None, ...]):
        self._chunks = chunks
        self.model = model
        self._secrets = secrets
        self._parts: list[str] = []
        self.reasoning = ""
        self.usage: dict[str, Any] = {}
        self.tool_calls: list[dict[str, Any]] = []
        self.images: list[dict[str, Any]] = []
        self.sources: list[Source] = []
        self.done = False
        self.error: StreamError | None = None

    @property
    def text_length(self) -> int:
        """How many text pieces have arrived (cheap: no joining)."""
        return len(self._parts)

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def __iter__(self) -> Iterator[Chunk]:
        for chunk in self._chunks:
            if type(chunk) is TextChunk:
                self._parts.append(chunk.text)
                if chunk.annotations:
                    known = {s.url for s in self.sources}
                    self.sources += [s for s in sources_from(chunk.annotations) if s.url not in known]
            elif isinstance(chunk, UsageChunk):
                self.usage = chunk.usage
            elif isinstance(chunk, ReasoningChunk):
                self.reasoning += chunk.text
            elif isinstance(chunk, ToolUseChunk):
                self.tool_calls.append(
                    _with_input_read({"id": chunk.id, "name": chunk.name, "input": chunk.input})
                )
            elif isinstance(chunk, ImageChunk):
                self.images.extend(reply_images([chunk.image]))
            elif isinstance(chunk, ErrorChunk):
                self.error = chunk.to_exception(self._secrets)
                self.close()
                raise self.error
            elif isinstance(chunk, ResultChunk):
                self.close()
                raise MalformedResponse("the server answered a chat with something that is not a chat reply")
            yield chunk
        self.done = True

    @classmethod
    def of_reply(cls, reply: ChatReply) -> ChatStream:
        """A whole reply as a stream whose chunks are all there at once: reasoning, text, one
        ``tool_use`` chunk per call, usage (for a loop that streams some steps and not others)."""

        def chunks() -> Generator[Chunk, None, None]:
            if reply.reasoning:
                yield ReasoningChunk(reply.reasoning)
            if reply.text:
                yield TextChunk(reply.text)
            for raw in reply.tool_calls:  # as sent, so that arguments that are no JSON stay so
                function = raw.get("function")
                spec = function if isinstance(function, dict) else raw
                ident, name = raw.get("id"), spec.get("name")
                yield ToolUseChunk(
                    ident if isinstance(ident, str) else None,
                    name if isinstance(name, str) else None,
                    spec.get("arguments") if isinstance(function, dict) else raw.get("input"),
                )
            yield UsageChunk(dict(reply.usage))

        return cls(ChunkStream(chunks(), "application/json"), reply.model, ())

    def reply(self) -> ChatReply:
        """Read to the end (if not already) and return the whole reply."""
        for _ in self:
            pass
        return ChatReply(
            text=self.text,
            model=self.model,
            usage=dict(self.usage),
            reasoning=self.reasoning,
            tool_calls=list(self.tool_calls),
            images=list(self.images),
            sources=list(self.sources),
        )

    def close(self) -> None:
        self._chunks.close()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ChatStream model={self.model!r} chars={len(self.text)} done={self.done}>"


def normalize_messages(messages: Messages) -> list[dict[str, Any]]:
    """A bare string becomes one user message; dicts are copied; a missing role is user."""
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    out = []
    for message in messages:
        if not isinstance(message, Mapping):
            raise TypeError(f"a message must be a mapping, not {type(message).__name__}")
        item = dict(message)
        item.setdefault("role", "user")
        out.append(item)
    return out


def chat_call(
    messages: Messages,
    model: str,
    *,
    driver: str | None = None,
    service: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The body of a ``complete`` call: *options* (``temperature``, ``max_tokens``, ``tools``...)
    go into ``args`` as they are, except ``stream``, which the caller sets."""
    if not model:
        raise ValueError("a model is required (Puter answers 'Model not found' without one)")
    extra = {k: v for k, v in (options or {}).items() if k != "stream"}
    args = {"model": model, "messages": normalize_messages(messages), **extra}
    driver = driver or (None if service else CHAT_DRIVER)
    return build_call(CHAT_INTERFACE, "complete", args, driver=driver, service=service)


def offer_web_search(tools: Any, options: dict[str, Any]) -> None:
    """Add Puter's ``web_search`` tool to *options* (``web_search=True``), which goes without
    ``tools=``: Puter's web search is a tool of its own."""
    if tools is not None:
        raise ValueError("web_search=True goes without tools= (Puter's web search is a tool of its own)")
    options["tools"] = with_web_search(options.get("tools"))
