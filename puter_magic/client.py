"""PuterClient: Puter's driver API from plain Python (no IPython needed).

>>> from puter_magic import PuterClient
>>> client = PuterClient(origin="https://api.puter.com", token="...")  # doctest: +SKIP
>>> client.chat("Hello", model="gpt-4o-mini").text                     # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from . import __version__
from .errors import (
    BadRequest,
    MalformedResponse,
    NotFound,
    NotSignedIn,
    StreamError,
)
from .origin import DEFAULT_ORIGIN, Origin, parse_origin
from .protocol import (
    CHAT_DRIVER,
    CHAT_INTERFACE,
    NDJSON_TYPE,
    BinaryResult,
    ChatReply,
    build_call,
    chat_reply,
    is_json_type,
    media_type,
    result_from_json,
)
from .stream import (
    Chunk,
    ErrorChunk,
    ReasoningChunk,
    TextChunk,
    ToolUseChunk,
    UnknownChunk,
    UsageChunk,
    iter_lines,
    parse_ndjson,
)
from .transport import Timeout, Transport

__all__ = ["ChatStream", "ChunkStream", "ModelInfo", "PuterClient"]

Message = Mapping[str, Any]
Messages = str | Sequence[Message]


@dataclass
class ModelInfo:
    """One entry of the model catalogue; fields the server did not give are None."""

    id: str
    provider: str | None = None
    name: str | None = None
    aliases: list[str] = field(default_factory=list)
    context: int | None = None
    max_tokens: int | None = None
    costs: dict[str, Any] = field(default_factory=dict)
    costs_currency: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_any(cls, item: Any) -> ModelInfo:
        if isinstance(item, str):
            return cls(id=item, raw={"id": item})
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise MalformedResponse("a model entry has no id")

        def opt_int(key: str) -> int | None:
            value = item.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        def opt_str(key: str) -> str | None:
            value = item.get(key)
            return value if isinstance(value, str) else None

        aliases = item.get("aliases")
        costs = item.get("costs")
        return cls(
            id=item["id"],
            provider=opt_str("provider"),
            name=opt_str("name"),
            aliases=[a for a in aliases if isinstance(a, str)] if isinstance(aliases, list) else [],
            context=opt_int("context") or opt_int("context_window"),
            max_tokens=opt_int("max_tokens"),
            costs=dict(costs) if isinstance(costs, dict) else {},
            costs_currency=opt_str("costs_currency"),
            raw=dict(item),
        )


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


class ChunkStream:
    """An open NDJSON reply: iterate it for typed chunks.

    Closing it (``close()``, leaving a ``with`` block, or dropping it) closes the
    connection, which frees the server's concurrency slot. It is never replayed.
    """

    def __init__(self, response: requests.Response, transport: Transport, deadline: float | None):
        self.response = response
        self.content_type = media_type(response.headers.get("Content-Type"))
        self._transport = transport
        self._chunks = self._generate(deadline)
        self.closed = False

    def _generate(self, deadline: float | None) -> Generator[Chunk, None, None]:
        if self.content_type in (NDJSON_TYPE, ""):
            pieces = self._transport.iter_pieces(self.response, deadline)
            count = 0
            for chunk in parse_ndjson(iter_lines(pieces)):
                count += 1
                yield chunk
            if count == 0:  # Puter always ends a stream with a usage line
                raise MalformedResponse("the stream ended without sending anything", status=200)
            return
        if not is_json_type(self.content_type):
            self.response.close()
            raise MalformedResponse(
                f"expected a stream (application/x-ndjson) but got {self.content_type}", status=200
            )
        # The server answered a stream request with plain JSON (an older server, a
        # gateway that buffers, or an older-generation HTTP 200 error): read it whole.
        body = self._transport.read_body(self.response, deadline=deadline)
        result = result_from_json(body, secrets=self._transport.secrets())
        try:
            reply = chat_reply(result)
        except MalformedResponse:
            yield UnknownChunk("result", {"type": "result", "result": result})
            return
        if reply.reasoning:
            yield ReasoningChunk(reply.reasoning)
        if reply.text:
            yield TextChunk(reply.text)
        yield UsageChunk(reply.usage)

    def __iter__(self) -> ChunkStream:
        return self

    def __next__(self) -> Chunk:
        return next(self._chunks)

    def close(self) -> None:
        """Stop reading and close the connection."""
        if not self.closed:
            self.closed = True
            # Wake a read blocked in another thread (an interrupt), then close.
            with contextlib.suppress(AttributeError, ValueError, RuntimeError, OSError):
                self.response.raw.shutdown()
            with contextlib.suppress(ValueError):  # "generator already executing"
                self._chunks.close()
            self.response.close()

    def __enter__(self) -> ChunkStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<ChunkStream {self.content_type or 'unknown'} {state}>"


class ChatStream:
    """A streamed chat reply: iterate for chunks as they arrive; the reply builds up.

    ``text``, ``reasoning``, ``usage`` and ``tool_calls`` grow while you iterate. An
    ``error`` line raises :class:`~puter_magic.errors.StreamError` (the partial text stays
    in ``text``). Unknown chunk types are yielded as they are. ``reply()`` drains the rest
    and returns a :class:`ChatReply`.
    """

    def __init__(self, chunks: ChunkStream, model: str | None, secrets: tuple[str | None, ...]):
        self._chunks = chunks
        self.model = model
        self._secrets = secrets
        self._parts: list[str] = []
        self._text: str | None = ""
        self.reasoning = ""
        self.usage: dict[str, Any] = {}
        self.tool_calls: list[dict[str, Any]] = []
        self.done = False
        self.error: StreamError | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = "".join(self._parts)
        return self._text

    def __iter__(self) -> Iterator[Chunk]:
        for chunk in self._chunks:
            if isinstance(chunk, TextChunk):
                self._parts.append(chunk.text)
                self._text = None
            elif isinstance(chunk, UsageChunk):
                self.usage = chunk.usage
            elif isinstance(chunk, ReasoningChunk):
                self.reasoning += chunk.text
            elif isinstance(chunk, ToolUseChunk):
                self.tool_calls.append({"id": chunk.id, "name": chunk.name, "input": chunk.input})
            elif isinstance(chunk, ErrorChunk):
                self.error = chunk.to_exception(self._secrets)
                self.close()
                raise self.error
            elif isinstance(chunk, UnknownChunk) and chunk.kind == "result":
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
        )

    def close(self) -> None:
        self._chunks.close()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ChatStream model={self.model!r} chars={len(self.text)} done={self.done}>"


class PuterClient:
    """A client for one Puter API origin.

    Args:
        origin: the API origin, e.g. ``https://api.puter.com`` or a self-hosted
            ``http://api.puter.localhost:4100``.
        token: a Puter auth token (never shown in reprs, errors or logs).
        timeout: ``(connect, read)`` seconds; *read* is the longest silence allowed.
        total_timeout: the longest a reply, streamed or not, may take in all (None: no limit).
        max_retries: how many times 429/503 are retried.
        max_retry_wait: the most seconds spent waiting between retries in all.
        allow_insecure_http: permit ``http://`` to a non-loopback host.
    """

    def __init__(
        self,
        origin: str = DEFAULT_ORIGIN,
        token: str | None = None,
        *,
        timeout: Timeout | float = (10.0, 120.0),
        total_timeout: float | None = 600.0,
        max_retries: int = 4,
        max_retry_wait: float = 15.0,
        max_body_bytes: int = 64 * 1024 * 1024,
        allow_insecure_http: bool = False,
        session: requests.Session | None = None,
    ) -> None:
        self._origin: Origin = parse_origin(origin, allow_insecure_http=allow_insecure_http)
        self.__token = token or None
        if isinstance(timeout, (int, float)):
            timeout = (float(timeout), float(timeout))
        self.total_timeout = total_timeout
        self._transport = Transport(
            self._origin,
            lambda: self.__token,
            timeout=timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
            max_body_bytes=max_body_bytes,
            user_agent=f"puter-magic/{__version__}",
            session=session,
        )

    # -- identity -----------------------------------------------------------------

    @property
    def origin(self) -> str:
        return self._origin.url

    @property
    def gui_origin(self) -> str:
        return self._origin.gui_url()

    @property
    def has_token(self) -> bool:
        return self.__token is not None

    def set_token(self, token: str | None) -> None:
        self.__token = token or None

    @property
    def timeout(self) -> Timeout:
        return self._transport.timeout

    @timeout.setter
    def timeout(self, value: Timeout) -> None:
        self._transport.timeout = value

    def __repr__(self) -> str:
        token = "<hidden>" if self.__token else None
        return f"PuterClient(origin={self.origin!r}, token={token})"

    def close(self) -> None:
        """Close pooled connections."""
        self._transport.close()

    def __enter__(self) -> PuterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- driver calls ---------------------------------------------------------------

    def _require_token(self) -> None:
        if self.__token is None:
            raise NotSignedIn("no Puter token is set")

    def _deadline(self) -> float | None:
        return None if self.total_timeout is None else time.monotonic() + self.total_timeout

    def call(
        self,
        interface: str,
        method: str,
        args: Mapping[str, Any] | None = None,
        driver: str | None = None,
        *,
        service: str | None = None,
    ) -> Any:
        """Call a driver method and return its ``result``.

        A reply whose Content-Type is not JSON (audio, images) comes back as a
        :class:`BinaryResult`. Errors of either generation raise a PuterError.
        """
        self._require_token()
        body = build_call(interface, method, args, driver=driver, service=service)
        deadline = self._deadline()
        resp = self._transport.request("POST", "/drivers/call", body)
        content_type = resp.headers.get("Content-Type")
        data = self._transport.read_body(resp, deadline=deadline)
        if is_json_type(content_type) or (not content_type and data.lstrip()[:1] in (b"{", b"[")):
            return result_from_json(data, status=resp.status_code, secrets=self._transport.secrets())
        return BinaryResult(data, media_type(content_type) or "application/octet-stream")

    def stream(
        self,
        interface: str,
        method: str,
        args: Mapping[str, Any] | None = None,
        driver: str | None = None,
        *,
        service: str | None = None,
    ) -> ChunkStream:
        """Call a driver method with ``args.stream = true`` and return its chunks.

        Errors that happen before the stream starts are raised here. The request is
        retried (429/503) only before that; a started stream is never replayed.
        """
        self._require_token()
        body = build_call(interface, method, {**(args or {}), "stream": True}, driver=driver, service=service)
        resp = self._transport.request(
            "POST", "/drivers/call", body, accept=f"{NDJSON_TYPE}, application/json"
        )
        return ChunkStream(resp, self._transport, self._deadline())

    # -- chat ---------------------------------------------------------------------------

    def _chat_args(self, messages: Messages, model: str, options: dict[str, Any]) -> dict[str, Any]:
        if not model:
            raise ValueError("a model is required (Puter answers 'Model not found' without one)")
        options.pop("stream", None)
        return {"model": model, "messages": normalize_messages(messages), **options}

    def chat(
        self,
        messages: Messages,
        model: str,
        *,
        driver: str | None = None,
        service: str | None = None,
        **options: Any,
    ) -> ChatReply:
        """Send a conversation to ``puter-chat-completion`` and return the reply.

        *options* go into ``args`` as they are: ``temperature``, ``max_tokens``,
        ``tools``, ``provider``, ``reasoning_effort``...
        """
        args = self._chat_args(messages, model, options)
        driver = driver or (None if service else CHAT_DRIVER)
        self._require_token()
        body = build_call(CHAT_INTERFACE, "complete", args, driver=driver, service=service)
        deadline = self._deadline()
        resp = self._transport.request("POST", "/drivers/call", body)
        data = self._transport.read_body(resp, deadline=deadline)
        result = result_from_json(data, status=resp.status_code, secrets=self._transport.secrets())
        reply = chat_reply(result)
        if reply.model is None:
            reply.model = model
        return reply

    def chat_stream(
        self,
        messages: Messages,
        model: str,
        *,
        driver: str | None = None,
        service: str | None = None,
        **options: Any,
    ) -> ChatStream:
        """The streaming twin of :meth:`chat`: a :class:`ChatStream` to iterate."""
        args = self._chat_args(messages, model, options)
        driver = driver or (None if service else CHAT_DRIVER)
        chunks = self.stream(CHAT_INTERFACE, "complete", args, driver=driver, service=service)
        return ChatStream(chunks, model, self._transport.secrets())

    # -- catalogue and account -----------------------------------------------------

    def models(self) -> list[ModelInfo]:
        """The chat models the server offers (method ``models``, falling back to ``list``)."""
        try:
            result = self.call(CHAT_INTERFACE, "models", {}, CHAT_DRIVER)
        except (NotFound, BadRequest):
            result = self.call(CHAT_INTERFACE, "list", {}, CHAT_DRIVER)
        if not isinstance(result, list):
            raise MalformedResponse("the model list is not a list")
        return [ModelInfo.from_any(item) for item in result]

    def whoami(self) -> dict[str, Any]:
        """The signed-in account (``username``, ``uuid``, ``email``...)."""
        self._require_token()
        resp = self._transport.request("GET", "/whoami")
        data = self._transport.read_body(resp, deadline=self._deadline())
        result = result_from_json(
            data, status=resp.status_code, secrets=self._transport.secrets(), envelope=False
        )
        if not isinstance(result, dict):
            raise MalformedResponse("whoami did not return an object")
        return result
