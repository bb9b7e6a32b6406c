"""PuterClient: Puter's driver API from plain Python (no IPython needed).

>>> from puter_magic import PuterClient
>>> client = PuterClient(origin="https://api.puter.com", token="...")  # doctest: +SKIP
>>> client.chat("Hello", model="gpt-4o-mini").text                     # doctest: +SKIP
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import requests

from .._version import __version__
from .catalogue import ModelInfo
from .chat import ChatReply, ChatStream, Messages, chat_reply, normalize_messages
from .chunks import ChunkStream
from .errors import BadRequest, MalformedResponse, NotFound, NotSignedIn
from .media_client import MediaMethods
from .origin import DEFAULT_ORIGIN, Origin, parse_origin
from .protocol import CHAT_DRIVER, CHAT_INTERFACE, build_call
from .tape import Tape
from .transport import Timeout, Transport
from .wire import Network, TapeWire, Wire

if TYPE_CHECKING:
    from .toolloop import ToolLike, ToolReply, ToolStream
    from .tools import Tool, ToolCall

if TYPE_CHECKING:
    from .batch import BatchItem, BatchProgress, BatchResult

__all__ = ["ChatStream", "ChunkStream", "ModelInfo", "PuterClient"]


def with_images(messages: Messages, images: Sequence[Any]) -> list[dict[str, Any]]:
    """*messages* with *images* added to the last user message as content parts."""
    from .media import attach_images, image_parts

    return attach_images(normalize_messages(messages), image_parts(images))


class PuterClient(MediaMethods):
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
        record: a file to record every driver call and its reply to (JSON Lines).
        replay: a recording to answer from instead of the network; ``fallthrough`` sends
            requests it does not hold to the network, ``replay_pace`` is ``"original"``
            or ``"fast"`` for streamed replies.
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
        record: str | Path | None = None,
        replay: str | Path | None = None,
        fallthrough: bool = False,
        replay_pace: str = "original",
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
        self._network = Network(self._transport, require_token=self._require_token, deadline=self._deadline)
        if record and replay:
            raise ValueError("record or replay, not both")
        self.tape = None
        if record:
            self.tape = Tape(record, "record")
        elif replay:
            self.tape = Tape(replay, "replay", fallthrough=fallthrough, pace=replay_pace)

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
        tape = f", {self.tape.mode}={str(self.tape.path)!r}" if self.tape else ""
        return f"PuterClient(origin={self.origin!r}, token={token}{tape})"

    def close(self) -> None:
        """Close pooled connections."""
        self._transport.close()

    def __enter__(self) -> PuterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the one way requests go out --------------------------------------------------

    @property
    def tape(self) -> Tape | None:
        """The recording requests go through (None: straight to the network)."""
        return self._tape

    @tape.setter
    def tape(self, tape: Tape | None) -> None:
        self._tape = tape
        self._wire: Wire = self._network if tape is None else TapeWire(tape, self._network, self._secrets)

    def _secrets(self) -> tuple[str | None, ...]:
        return self._transport.secrets()

    def _require_token(self) -> None:
        if self.__token is None:
            raise NotSignedIn("no Puter token is set")

    def _deadline(self) -> float | None:
        return None if self.total_timeout is None else time.monotonic() + self.total_timeout

    # -- driver calls ---------------------------------------------------------------

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
        return self._wire.result(build_call(interface, method, args, driver=driver, service=service))

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

        A method that does not stream (``list``, ``models``...) answers plain JSON: its stream
        then holds one :class:`~puter_magic.api.chunks.ResultChunk` whose ``result`` is what
        :meth:`call` would return.
        """
        args = {**(args or {}), "stream": True}
        return self._wire.stream(build_call(interface, method, args, driver=driver, service=service))

    # -- chat ---------------------------------------------------------------------------

    def _chat_body(
        self,
        messages: Messages,
        model: str,
        driver: str | None,
        service: str | None,
        options: dict[str, Any],
    ) -> dict[str, Any]:
        if not model:
            raise ValueError("a model is required (Puter answers 'Model not found' without one)")
        options.pop("stream", None)
        args = {"model": model, "messages": normalize_messages(messages), **options}
        driver = driver or (None if service else CHAT_DRIVER)
        return build_call(CHAT_INTERFACE, "complete", args, driver=driver, service=service)

    @overload
    def chat(
        self,
        messages: Messages,
        model: str,
        *,
        driver: str | None = ...,
        service: str | None = ...,
        tools: Sequence[Callable[..., Any] | Tool],
        max_steps: int = ...,
        approve: Callable[[ToolCall], bool] | None = ...,
        images: Sequence[Any] | None = ...,
        **options: Any,
    ) -> ToolReply: ...

    @overload
    def chat(
        self,
        messages: Messages,
        model: str,
        *,
        driver: str | None = ...,
        service: str | None = ...,
        tools: Sequence[Mapping[str, Any]] | None = ...,
        max_steps: int = ...,
        approve: Callable[[ToolCall], bool] | None = ...,
        images: Sequence[Any] | None = ...,
        **options: Any,
    ) -> ChatReply: ...

    def chat(
        self,
        messages: Messages,
        model: str,
        *,
        driver: str | None = None,
        service: str | None = None,
        tools: Sequence[ToolLike] | None = None,
        max_steps: int = 8,
        approve: Callable[[ToolCall], bool] | None = None,
        images: Sequence[Any] | None = None,
        **options: Any,
    ) -> ChatReply:
        """Send a conversation to ``puter-chat-completion`` and return the reply.

        *options* go into ``args`` as they are: ``temperature``, ``max_tokens``,
        ``provider``, ``reasoning_effort``... *images* (paths, bytes, file objects, https or
        data: URLs, Puter paths, PIL images, matplotlib figures) are added to the last user
        message as content parts, for models that see.

        ``tools=[f, g]`` offers Python functions the model may call (their schemas come from
        their signatures, type hints and docstrings): the calls it asks for are run and
        their results sent back, until it answers in text or ``max_steps`` requests were
        made (then a :class:`~puter_magic.api.toolloop.ToolStepLimit` warning). The reply is
        a :class:`~puter_magic.api.toolloop.ToolReply` whose ``calls`` list each call, its
        arguments and result. ``approve(call)`` is asked before each call; False refuses it.
        Ready-made definitions (dicts) are sent as they are, with no loop.
        """
        if images:
            messages, images = with_images(messages, images), None
        if tools is not None:
            from .toolloop import chat_with_tools, split_tools

            functions, definitions = split_tools(tools)
            if definitions:
                options["tools"] = definitions
            else:

                def send(msgs: list[dict[str, Any]], defs: list[dict[str, Any]]) -> ChatReply:
                    return self.chat(msgs, model, driver=driver, service=service, **options, tools=defs)

                return chat_with_tools(send, messages, functions, max_steps=max_steps, approve=approve)
        reply = chat_reply(self._wire.result(self._chat_body(messages, model, driver, service, options)))
        if reply.model is None:
            reply.model = model
        return reply

    @overload
    def chat_stream(
        self,
        messages: Messages,
        model: str,
        *,
        driver: str | None = ...,
        service: str | None = ...,
        tools: Sequence[Callable[..., Any] | Tool],
        max_steps: int = ...,
        approve: Callable[[ToolCall], bool] | None = ...,
        images: Sequence[Any] | None = ...,
        **options: Any,
    ) -> ToolStream: ...

    @overload
    def chat_stream(
        self,
        messages: Messages,
        model: str,
        *,
        driver: str | None = ...,
        service: str | None = ...,
        tools: Sequence[Mapping[str, Any]] | None = ...,
        max_steps: int = ...,
        approve: Callable[[ToolCall], bool] | None = ...,
        images: Sequence[Any] | None = ...,
        **options: Any,
    ) -> ChatStream: ...

    def chat_stream(
        self,
        messages: Messages,
        model: str,
        *,
        driver: str | None = None,
        service: str | None = None,
        images: Sequence[Any] | None = None,
        tools: Sequence[ToolLike] | None = None,
        max_steps: int = 8,
        approve: Callable[[ToolCall], bool] | None = None,
        **options: Any,
    ) -> ChatStream | ToolStream:
        """The streaming twin of :meth:`chat`: a :class:`ChatStream` to iterate.

        With ``tools=[f, g]`` it is a :class:`~puter_magic.api.toolloop.ToolStream`: the
        chunks of every step, a ``ToolResultChunk`` after each call ran, and ``reply()``
        for the final :class:`~puter_magic.api.toolloop.ToolReply`.
        """
        if images:
            messages = with_images(messages, images)
        if tools is not None:
            from .toolloop import ToolLoop, ToolStream, split_tools

            functions, definitions = split_tools(tools)
            if definitions:
                options["tools"] = definitions
            else:

                def open_stream(msgs: list[dict[str, Any]], defs: list[dict[str, Any]]) -> ChatStream:
                    return self.chat_stream(
                        msgs, model, driver=driver, service=service, **options, tools=defs
                    )

                loop = ToolLoop(messages, functions, max_steps=max_steps, approve=approve)
                return ToolStream(open_stream, loop)
        body = self._chat_body(messages, model, driver, service, options)
        body["args"]["stream"] = True
        return ChatStream(self._wire.stream(body), model, self._secrets())

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
        result = self._wire.get("/whoami")
        if not isinstance(result, dict):
            raise MalformedResponse("whoami did not return an object")
        return result

    # -- many prompts at once ------------------------------------------------------------

    def chat_many(
        self,
        prompts: Iterable[Messages],
        model: str,
        *,
        system: str | None = None,
        concurrency: int = 3,
        rate: tuple[int, float] | None = (30, 10.0),
        on_progress: Callable[[BatchProgress], None] | None = None,
        stop: threading.Event | None = None,
        before_send: Callable[[], None] | None = None,
        on_answer: Callable[[BatchItem], None] | None = None,
        driver: str | None = None,
        service: str | None = None,
        **options: Any,
    ) -> BatchResult:
        """Ask every prompt once (no history), as fast as Puter's limits allow.

        At most *concurrency* requests are in flight and *rate* = ``(requests, seconds)``
        are sent per window (a free account's 3 and 30 per 10 s by default; a paid plan
        allows 20 and 200). A 429 is honoured and its item asked again; a failure ends only
        its item, except one that would end them all (402 out of credit, 401, an unknown
        model), after which nothing more is sent. Returns a
        :class:`~puter_magic.api.batch.BatchResult`: one item per prompt, in order, each a
        reply or the error it ended with. *on_progress* gets a
        :class:`~puter_magic.api.batch.BatchProgress` a few times a second, in this thread.
        Setting *stop*, or Ctrl-C, returns at once with what is done. A pandas Series of
        prompts keeps its index for ``result.to_series()``; for a DataFrame, make one prompt
        per row first (``df.apply(lambda row: f"...{row.title}", axis=1)``). *before_send* runs
        before each request (raise a PuterError to stop sending), *on_answer* gets each
        answered item as it arrives (in a worker thread).

        >>> result = client.chat_many(["Hi", "Bye"], model="gpt-4o-mini")  # doctest: +SKIP
        >>> result.texts, result.summary()                                  # doctest: +SKIP
        """
        from .batch import one_shot, pandas_index, run_batch

        if not model:
            raise ValueError("a model is required (Puter answers 'Model not found' without one)")
        index = pandas_index(prompts)
        asked = list(prompts)
        for prompt in asked:
            one_shot(prompt, system)  # a prompt that is no message fails here, before any request
        tape = self.tape
        if tape is not None and tape.mode == "replay" and not tape.fallthrough:
            rate = None  # answered from a recording: no server to pace for

        def send(prompt: Messages) -> ChatReply:
            messages = one_shot(prompt, system)
            with self._transport.not_retrying(429):  # the batch retries 429s itself, paced
                reply: ChatReply = self.chat(messages, model, driver=driver, service=service, **dict(options))
            return reply

        # Our recent sends, which Puter still counts: the next batch waits for them too.
        # A copy per batch, so that late replies of an interrupted one cannot touch it.
        sent = list(getattr(self, "_batch_sent", ()))
        result = run_batch(
            send,
            asked,
            concurrency=concurrency,
            rate=rate,
            on_progress=on_progress,
            stop=stop,
            before_send=before_send,
            on_answer=on_answer,
            sent=sent,
        )
        self._batch_sent = sent
        result.index = index
        return result
