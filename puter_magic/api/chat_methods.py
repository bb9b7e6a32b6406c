"""PuterClient's chat methods: ``chat`` and ``chat_stream`` (with images and tools), and
``chat_many`` (many prompts within Puter's limits). Each goes through the client's one Wire."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from .account import AccountLimits
from .chat import ChatReply, ChatStream, Messages, chat_reply, normalize_messages
from .media import with_images
from .protocol import CHAT_DRIVER, CHAT_INTERFACE, build_call

if TYPE_CHECKING:
    from .batch import BatchItem, BatchProgress, BatchResult
    from .recording import Tape
    from .toolloop import ToolCall, ToolLike, ToolReply, ToolStream
    from .tools import Tool
    from .transport import Transport, Wire

__all__ = ["ChatMethods"]


def _offer_web_search(tools: Any, options: dict[str, Any]) -> None:
    from .chat import with_web_search

    if tools is not None:
        raise ValueError("web_search=True goes without tools= (Puter's web search is a tool of its own)")
    options["tools"] = with_web_search(options.get("tools"))


class ChatMethods:
    """Mixed into :class:`~puter_magic.api.client.PuterClient`."""

    _wire: Wire
    _transport: Transport
    tape: Tape | None

    def _secrets(self) -> tuple[str | None, ...]:
        raise NotImplementedError

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
        web_search: bool = ...,
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
        web_search: bool = ...,
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
        web_search: bool = False,
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
            messages = with_images(messages, images)
        if web_search:
            _offer_web_search(tools, options)
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
        web_search: bool = ...,
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
        web_search: bool = ...,
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
        web_search: bool = False,
        **options: Any,
    ) -> ChatStream | ToolStream:
        """The streaming twin of :meth:`chat`: a :class:`ChatStream` to iterate.

        With ``tools=[f, g]`` it is a :class:`~puter_magic.api.toolloop.ToolStream`: the
        chunks of every step, a ``ToolResultChunk`` after each call ran, and ``reply()``
        for the final :class:`~puter_magic.api.toolloop.ToolReply`.
        """
        if images:
            messages = with_images(messages, images)
        if web_search:
            _offer_web_search(tools, options)
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

                def ask_whole(msgs: list[dict[str, Any]], defs: list[dict[str, Any]]) -> ChatReply:
                    return self.chat(msgs, model, driver=driver, service=service, **options, tools=defs)

                loop = ToolLoop(messages, functions, max_steps=max_steps, approve=approve)
                return ToolStream(open_stream, loop, ask_whole)
        body = self._chat_body(messages, model, driver, service, options)
        body["args"]["stream"] = True
        return ChatStream(self._wire.stream(body), model, self._secrets())

    # -- many prompts at once ------------------------------------------------------------

    def chat_many(
        self,
        prompts: Iterable[Messages],
        model: str,
        *,
        system: str | None = None,
        concurrency: int | Literal["account"] = "account",
        rate: tuple[int, float] | Literal["account"] | None = "account",
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
        are sent per window (``rate=None``: no pacing). By default both are the account's
        (:meth:`account_limits`): a guest's 2 and 20 per 10 s, else a free account's 3 and
        30; a paid plan allows 20 and 200 (``concurrency=20, rate=(200, 10.0)``). The limits
        used are in ``result.limits``. A 429 is honoured and its item asked again; a failure ends only
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
        if tape is not None and tape.replaying and not tape.fallthrough:
            rate = None  # answered from a recording: no server to pace for
        limits = self.account_limits() if "account" in (concurrency, rate) else None
        at_once = limits.concurrency if concurrency == "account" and limits else int(concurrency)
        pace = (limits.rate, limits.window) if rate == "account" and limits else rate
        in_use = None
        if isinstance(pace, tuple):
            same = limits is not None and concurrency == rate == "account"
            in_use = limits if same else AccountLimits("custom", pace[0], float(pace[1]), at_once)

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
            concurrency=at_once,
            rate=pace if isinstance(pace, tuple) else None,
            on_progress=on_progress,
            stop=stop,
            before_send=before_send,
            on_answer=on_answer,
            sent=sent,
        )
        self._batch_sent = sent
        result.index = index
        result.limits = in_use
        return result

    def account_limits(self) -> AccountLimits:
        raise NotImplementedError
