"""A streamed chat reply (ChatStream): the text, reasoning, usage and tool calls build up
as its chunks arrive; ``reply()`` drains it into a :class:`ChatReply`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
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
from .errors import MalformedResponse, StreamError
from .protocol import ChatReply, reply_images

__all__ = ["ChatStream", "ChunkStream", "Messages", "normalize_messages"]

Message = Mapping[str, Any]
Messages = str | Sequence[Message]


class ChatStream:
    """A streamed chat reply: iterate for chunks as they arrive; the reply builds up.

    ``text``, ``reasoning``, ``usage``, ``tool_calls`` and ``images`` grow while you iterate. An
    ``error`` line raises :class:`~puter_magic.errors.StreamError` (the partial text stays
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
            elif isinstance(chunk, UsageChunk):
                self.usage = chunk.usage
            elif isinstance(chunk, ReasoningChunk):
                self.reasoning += chunk.text
            elif isinstance(chunk, ToolUseChunk):
                self.tool_calls.append({"id": chunk.id, "name": chunk.name, "input": chunk.input})
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
