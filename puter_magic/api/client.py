"""PuterClient: Puter's driver API from plain Python (no IPython needed).

>>> from puter_magic import PuterClient
>>> client = PuterClient(origin="https://api.puter.com", token="...")  # doctest: +SKIP
>>> client.chat("Hello", model="gpt-4o-mini").text                     # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, overload

import requests
from requests.adapters import BaseAdapter

from .._version import __version__
from .account import Account, AccountLimits, Allowance, allowance_from, limits_for
from .batch import BatchItem, BatchProgress, BatchResult, batch_pacing, batch_prompts, one_shot, run_batch
from .chat import ChatReply, ChatStream, Messages, chat_call, chat_reply, offer_web_search
from .chunks import ChunkStream
from .errors import APIError, BadRequest, MalformedResponse, NotFound, PuterError
from .media import (
    OCR_LIMIT,
    SPEECH_LIMIT,
    TTS_TEXT_LIMIT,
    VOICE_LIMIT,
    MediaInputError,
    load_input,
    ratio_arg,
    with_images,
)
from .media_results import (
    AudioResult,
    ImageResult,
    MediaFetcher,
    OCRResult,
    Transcript,
    VideoResult,
    audio_result,
    image_result,
    ocr_result,
    transcript,
    video_result,
)
from .models import ModelInfo
from .origin import DEFAULT_ORIGIN, Origin, is_loopback_host, parse_origin
from .protocol import (
    CHAT_DRIVER,
    CHAT_INTERFACE,
    IMAGE_INTERFACE,
    OCR_INTERFACE,
    SPEECH2SPEECH_INTERFACE,
    SPEECH2TXT_INTERFACE,
    TTS_INTERFACE,
    VIDEO_INTERFACE,
    build_call,
)
from .recording import Mode, Tape, TapeWire
from .toolloop import ToolCall, ToolLike, ToolLoop, ToolReply, ToolStream, chat_with_tools, split_tools
from .tools import Tool
from .transport import Timeout, Transport, Wire

__all__ = ["Allowance", "ChatStream", "ChunkStream", "ModelInfo", "PuterClient"]

VIDEO_TIMEOUT = 900.0  # seconds: Puter polls the provider while the request stays open (Gemini: 10 min)


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
        record: a file to record every driver call and its reply to (JSON Lines).
        replay: a recording to answer from instead of the network; ``fallthrough`` sends
            requests it does not hold to the network, ``replay_pace`` is ``"original"``
            or ``"fast"`` for streamed replies.
        adapter: a ``requests`` transport adapter that carries every request of this client
            (and the download of media URLs on its origin) instead of the network: a server
            answering in this process, as the sandbox does where Python cannot open a socket.
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
        adapter: BaseAdapter | None = None,
    ) -> None:
        self._origin: Origin = parse_origin(origin, allow_insecure_http=allow_insecure_http)
        self.account: Account | None = None  # who the token signs in as, once whoami() read it
        if isinstance(timeout, (int, float)):
            timeout = (float(timeout), float(timeout))
        self._transport = Transport(
            self._origin,
            token,
            timeout=timeout,
            total_timeout=total_timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
            max_body_bytes=max_body_bytes,
            user_agent=f"puter-magic/{__version__}",
            session=session,
            adapter=adapter,
        )
        self._allowance: tuple[float, Allowance] | None = None
        self._batch_sent: list[float] = []  # our recent batch sends, which Puter still counts
        if record and replay:
            raise ValueError("record or replay, not both")
        self.tape = None
        if record:
            self.tape = Tape(record, Mode.RECORD)
        elif replay:
            self.tape = Tape(replay, Mode.REPLAY, fallthrough=fallthrough, pace=replay_pace)

    # -- identity -----------------------------------------------------------------

    @property
    def origin(self) -> str:
        return self._origin.url

    @property
    def gui_origin(self) -> str:
        return self._origin.gui_url()

    @property
    def timeout(self) -> Timeout:
        return self._transport.timeout

    @timeout.setter
    def timeout(self, value: Timeout) -> None:
        self._transport.timeout = value

    @property
    def total_timeout(self) -> float | None:
        """The longest a reply, streamed or not, may take in all (None: no limit)."""
        return self._transport.total_timeout

    @total_timeout.setter
    def total_timeout(self, value: float | None) -> None:
        self._transport.total_timeout = value

    def __repr__(self) -> str:
        token = "<hidden>" if any(self._transport.secrets()) else None
        tape = f", {self.tape.mode.value}={str(self.tape.path)!r}" if self.tape else ""
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
        self._wire: Wire = self._transport if tape is None else TapeWire(tape, self._transport)

    def _secrets(self) -> tuple[str | None, ...]:
        return self._transport.secrets()

    def _patient(self, seconds: float) -> contextlib.AbstractContextManager[None]:
        """Calls in the block, in this thread, may take *seconds* (silence and total alike)."""
        return self._transport.patient(seconds)

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
        messages = self._prepared(messages, images, web_search, tools, options)
        if tools is not None:
            functions, definitions = split_tools(tools)
            if definitions:
                options["tools"] = definitions
            else:

                def send(msgs: list[dict[str, Any]], defs: list[dict[str, Any]]) -> ChatReply:
                    return self.chat(msgs, model, driver=driver, service=service, **options, tools=defs)

                return chat_with_tools(send, messages, functions, max_steps=max_steps, approve=approve)
        body = chat_call(messages, model, driver=driver, service=service, options=options)
        reply = chat_reply(self._wire.result(body))
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
        messages = self._prepared(messages, images, web_search, tools, options)
        if tools is not None:
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
        body = chat_call(messages, model, driver=driver, service=service, options=options)
        body["args"]["stream"] = True
        return ChatStream(self._wire.stream(body), model, self._secrets())

    @staticmethod
    def _prepared(
        messages: Messages,
        images: Sequence[Any] | None,
        web_search: bool,
        tools: Sequence[ToolLike] | None,
        options: dict[str, Any],
    ) -> Messages:
        """*messages* with *images* attached; Puter's web search tool in *options* if asked."""
        if web_search:
            offer_web_search(tools, options)
        return with_images(messages, images) if images else messages

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
        if not model:
            raise ValueError("a model is required (Puter answers 'Model not found' without one)")
        asked, index = batch_prompts(prompts, system)
        tape = self.tape
        if tape is not None and tape.replaying and not tape.fallthrough:
            rate = None  # answered from a recording: no server to pace for
        at_once, pace, limits = batch_pacing(concurrency, rate, self.account_limits)

        def send(prompt: Messages) -> ChatReply:
            messages = one_shot(prompt, system)
            with self._transport.not_retrying(429):  # the batch retries 429s itself, paced
                reply: ChatReply = self.chat(messages, model, driver=driver, service=service, **dict(options))
            return reply

        # Our recent sends, which Puter still counts: the next batch waits for them too.
        # A copy per batch, so that late replies of an interrupted one cannot touch it.
        sent = list(self._batch_sent)
        result = run_batch(
            send,
            asked,
            concurrency=at_once,
            rate=pace,
            on_progress=on_progress,
            stop=stop,
            before_send=before_send,
            on_answer=on_answer,
            sent=sent,
        )
        self._batch_sent = sent
        result.index, result.limits = index, limits
        return result

    # -- media, named as puter.js names them ------------------------------------------------

    def media_fetcher(self) -> MediaFetcher:
        """What fetches reply URLs: a plain session that never carries the token. Plain http
        is allowed only to loopback, and only when this client's origin is loopback too. A
        client whose requests go through an adapter (a server in this process) fetches the
        URLs on its own origin through it too."""
        adapter = self._transport.adapter
        return MediaFetcher(
            allow_loopback_http=is_loopback_host(self._origin.host),
            adapters={self._origin.url + "/": adapter} if adapter is not None else None,
        )

    def _media_call(self, interface: str, method: str, args: dict[str, Any]) -> Any:
        return self._wire.result(build_call(interface, method, args))

    def txt2img(
        self,
        prompt: str,
        *,
        model: str | None = None,
        quality: str | None = None,
        ratio: Any = None,
        test_mode: bool = False,
        **args: Any,
    ) -> ImageResult:
        """Generate an image (``puter-image-generation`` ``generate``).

        *ratio* is ``"16:9"``, ``(16, 9)`` or ``{"w": 16, "h": 9}``; *test_mode* asks for
        Puter's free sample. Other keywords (``provider``, ``width``, ``seed``...) go into
        ``args`` as they are. The reply may be a data URL, an https URL or bytes: the result's
        ``data`` is the image either way (fetched without the token).
        """
        if not isinstance(prompt, str) or not prompt.strip():
            raise MediaInputError("txt2img needs a prompt")
        call = {"prompt": prompt, **_given(model=model, quality=quality, test_mode=test_mode), **args}
        if ratio is not None:
            call["ratio"] = ratio_arg(ratio)
        result = self._media_call(IMAGE_INTERFACE, "generate", call)
        return image_result(result, self.media_fetcher(), prompt=prompt, model=model, secrets=self._secrets())

    def txt2speech(
        self,
        text: str,
        *,
        voice: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        engine: str | None = None,
        language: str | None = None,
        test_mode: bool = False,
        **args: Any,
    ) -> AudioResult:
        """Speak *text* (``puter-tts`` ``synthesize``): raw audio bytes, or a URL to them."""
        if not isinstance(text, str) or not text.strip():
            raise MediaInputError("txt2speech needs some text")
        if len(text) > TTS_TEXT_LIMIT:
            raise MediaInputError(
                f"the text is {len(text):,} characters, over Puter's {TTS_TEXT_LIMIT:,}-character "
                "limit for text-to-speech; nothing was sent"
            )
        options = _given(
            voice=voice, provider=provider, model=model, engine=engine, language=language, test_mode=test_mode
        )
        result = self._media_call(TTS_INTERFACE, "synthesize", {"text": text, **options, **args})
        return audio_result(result, self.media_fetcher(), text=text, secrets=self._secrets())

    def speech2txt(
        self,
        file: Any,
        *,
        model: str | None = None,
        language: str | None = None,
        translate: bool = False,
        response_format: str | None = None,
        **args: Any,
    ) -> Transcript:
        """Transcribe audio (``puter-speech2txt`` ``transcribe``; ``translate=True``: into English).

        *file* is a path, bytes, a file object, an https or data: URL, a Puter path or an
        AudioResult; over 25 MB it is refused before sending.
        """
        call = _given(model=model, language=language, response_format=response_format)
        if file is not None or not args.get("test_mode"):
            call["file"] = load_input(file, accept="audio", limit=SPEECH_LIMIT).value
        method = "translate" if translate else "transcribe"
        return transcript(self._media_call(SPEECH2TXT_INTERFACE, method, {**call, **args}))

    def img2txt(self, source: Any, *, provider: str | None = None, **args: Any) -> OCRResult:
        """Read the text in an image or PDF (``puter-ocr`` ``recognize``); over 10 MB it is
        refused before sending. Textract's and Mistral's reply shapes both give ``text``."""
        call = _given(provider=provider)
        if source is not None or not args.get("test_mode"):
            call["source"] = load_input(source, accept="document", limit=OCR_LIMIT).value
        return ocr_result(self._media_call(OCR_INTERFACE, "recognize", {**call, **args}))

    def speech2speech(
        self,
        audio: Any,
        *,
        voice: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        test_mode: bool = False,
        **args: Any,
    ) -> AudioResult:
        """Say *audio* again in another voice (``puter-speech2speech`` ``convert``, ElevenLabs'
        voice changer). *voice* is the provider's voice id, sent as given.

        *audio* is a path, bytes, a file object, a data: URL, a Puter path or an AudioResult
        (not an https URL: Puter reads this input only as data or from your storage); over
        25 MB it is refused before sending. In test mode it may be None.
        """
        call = _given(voice=voice, model=model, provider=provider, test_mode=test_mode)
        if audio is not None or not test_mode:
            found = load_input(audio, accept="audio", limit=VOICE_LIMIT)
            if found.kind == "url":
                raise MediaInputError(
                    "the voice changer takes a file, bytes or a Puter path, not a URL "
                    "(Puter does not download it); download it and give the file instead"
                )
            call["audio"] = found.value
        result = self._media_call(SPEECH2SPEECH_INTERFACE, "convert", {**call, **args})
        return audio_result(result, self.media_fetcher(), secrets=self._secrets())

    def txt2vid(
        self,
        prompt: str,
        *,
        model: str | None = None,
        seconds: float | None = None,
        size: str | None = None,
        test_mode: bool = False,
        timeout: float = VIDEO_TIMEOUT,
        **args: Any,
    ) -> VideoResult:
        """Make a video (``puter-video-generation`` ``generate``).

        Puter keeps the request open while the provider renders (minutes), so this call waits
        up to *timeout* seconds, longer than the client's usual timeouts. *seconds* and *size*
        (``"1280x720"``) are snapped by the server to what the model allows. The reply is an
        https URL or a data: URL; the result's ``data`` is the video (fetched without the token).
        """
        if not isinstance(prompt, str) or not prompt.strip():
            raise MediaInputError("txt2vid needs a prompt")
        call = {
            "prompt": prompt,
            **_given(model=model, seconds=seconds, size=size, test_mode=test_mode),
            **args,
        }
        with self._patient(timeout):
            result = self._media_call(VIDEO_INTERFACE, "generate", call)
        return video_result(result, self.media_fetcher(), prompt=prompt, model=model, secrets=self._secrets())

    def voices(self, provider: str | None = None) -> list[dict[str, Any]]:
        """The voices text-to-speech offers (``puter-tts`` ``list_voices``): ``id``, ``name``,
        ``language``, ``provider``..., of one *provider* or all of them."""
        return _entries(self._media_call(TTS_INTERFACE, "list_voices", _given(provider=provider)), "voice")

    def tts_engines(self, provider: str | None = None) -> list[dict[str, Any]]:
        """The engines (models) text-to-speech offers (``puter-tts`` ``list_engines``)."""
        return _entries(self._media_call(TTS_INTERFACE, "list_engines", _given(provider=provider)), "engine")

    # -- the catalogue and the account ---------------------------------------------------

    def models(self) -> list[ModelInfo]:
        """The chat models the server offers (method ``models``, falling back to ``list``)."""
        try:
            result = self.call(CHAT_INTERFACE, "models", {}, CHAT_DRIVER)
        except (NotFound, BadRequest):
            result = self.call(CHAT_INTERFACE, "list", {}, CHAT_DRIVER)
        if not isinstance(result, list):
            raise MalformedResponse("the model list is not a list")
        return [ModelInfo.from_any(item) for item in result]

    def allowance(self, max_age: float = 0.0) -> Allowance:
        """This month's allowance, what is used and what remains (``GET /metering/usage``).

        *max_age* (seconds) answers from the last reading while it is that young: Puter
        allows 120 metering reads a minute. An app's token (the sign-in popup's) gets the
        account's allowance too; ``app_only`` says its usage-by-app view shows only this app.
        """

        last = self._allowance
        if last is not None and max_age > 0 and time.monotonic() - last[0] < max_age:
            return last[1]
        found = allowance_from(self._wire.get("/metering/usage"))
        self._allowance = (time.monotonic(), found)
        return found

    @property
    def last_allowance(self) -> Allowance | None:
        """The last allowance read (None: never read), without asking the server."""
        return self._allowance[1] if self._allowance is not None else None

    def usage_limited(self, *, clear: bool = True) -> bool:
        """Whether a reply since the last call said the account's allowance is used up
        (``metadata.usage_limited: true`` on a reply or a stream line, as puter.js reads it).
        The reply itself stands; further calls will likely be refused with 402."""
        seen = self._transport.limited.is_set()
        if clear:
            self._transport.limited.clear()
        return seen

    def whoami(self) -> dict[str, Any]:
        """The signed-in account (``username``, ``uuid``, ``is_temp``...); it is also kept,
        read, as :attr:`account` (so :attr:`is_guest` knows a temporary account)."""
        result = self._wire.get("/whoami")
        if not isinstance(result, dict):
            raise MalformedResponse("whoami did not return an object")
        self.account = Account.from_whoami(result)
        return result

    @property
    def is_guest(self) -> bool:
        """Whether the token signs in a temporary (guest) account, as ``/whoami`` said
        (False until :meth:`whoami` was called). Guests have Puter's tighter limits."""
        return self.account is not None and self.account.guest

    def account_limits(self) -> AccountLimits:
        """Puter's AI limits for this account's tier (:class:`~puter_magic.api.account.AccountLimits`): a
        guest's (``is_temp`` in ``/whoami``: 20 per 10 s, 2 at once) or a free account's (30
        and 3). Reads ``/whoami`` once unless :meth:`whoami` was called already; when it
        cannot be read (or a recording is replayed), a free account's."""
        if self.account is None and not (self.tape is not None and self.tape.replaying):
            try:
                self.whoami()
            except PuterError:
                pass
        return limits_for(self.account.details if self.account is not None else None)

    def check_reachable(self) -> None:
        """Raise the network's PuterError if the origin cannot be reached; any answer of the
        server will do (``GET /whoami``: a tokenless client gets the usual 401)."""
        if self.tape is not None and self.tape.replaying:
            return
        try:
            self._transport.request("GET", "/whoami").close()
        except APIError:
            return


def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None and v is not False}


def _entries(result: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(result, list):
        raise MalformedResponse(f"the {what} list is not a list")
    return [item for item in result if isinstance(item, dict)]
