"""PuterClient: Puter's driver API from plain Python (no IPython needed).

>>> from puter_magic import PuterClient
>>> client = PuterClient(origin="https://api.puter.com", token="...")  # doctest: +SKIP
>>> client.chat("Hello", model="gpt-4o-mini").text                     # doctest: +SKIP
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from . import __version__
from .chunkstream import ChatStream, ChunkStream, http_chunks
from .errors import BadRequest, MalformedResponse, NotFound, NotSignedIn, PuterError
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
    is_web_page,
    media_type,
    result_from_json,
    website_error,
)
from .tape import Tape
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
        if record and replay:
            raise ValueError("record or replay, not both")
        self.tape: Tape | None = None
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

    # -- the one place requests go out (and recordings are made or played) ----------

    def _require_token(self) -> None:
        if self.__token is None:
            raise NotSignedIn("no Puter token is set")

    def _deadline(self) -> float | None:
        return None if self.total_timeout is None else time.monotonic() + self.total_timeout

    def _replaying(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The recorded entry for *body* when replaying; raise if it is missing and the
        recording does not fall through to the network."""
        if self.tape is None or self.tape.mode != "replay":
            return None
        entry = self.tape.lookup(body)
        if entry is None and not self.tape.fallthrough:
            raise self.tape.miss(body)
        return entry

    def _recording(self) -> Tape | None:
        return self.tape if self.tape is not None and self.tape.mode == "record" else None

    def _result(self, body: dict[str, Any]) -> Any:
        entry = self._replaying(body)
        if entry is not None:
            return self.tape.replay_result(entry)  # type: ignore[union-attr]
        self._require_token()
        tape, secrets = self._recording(), self._transport.secrets()
        try:
            deadline = self._deadline()
            resp = self._transport.request("POST", "/drivers/call", body)
            content_type = resp.headers.get("Content-Type")
            data = self._transport.read_body(resp, deadline=deadline)
            if is_json_type(content_type) or (not content_type and data.lstrip()[:1] in (b"{", b"[")):
                result = result_from_json(data, status=resp.status_code, secrets=secrets)
                if tape is not None:
                    tape.record_result(body, result, secrets)
                return result
            if is_web_page(content_type):  # no driver answers HTML: this is a website
                raise website_error(self.origin, self._origin.api_url(), resp.status_code)
            binary = BinaryResult(data, media_type(content_type) or "application/octet-stream")
            if tape is not None:
                tape.record_binary(body, binary.content, binary.content_type, secrets)
            return binary
        except PuterError as err:
            if tape is not None:
                tape.record_error(body, err, secrets)
            raise

    def _stream(self, body: dict[str, Any]) -> ChunkStream:
        entry = self._replaying(body)
        if entry is not None:
            stop = threading.Event()
            return ChunkStream(self.tape.replay_chunks(entry, stop), NDJSON_TYPE, on_close=stop.set)  # type: ignore[union-attr]
        self._require_token()
        tape, secrets = self._recording(), self._transport.secrets()
        try:
            resp = self._transport.request(
                "POST", "/drivers/call", body, accept=f"{NDJSON_TYPE}, application/json"
            )
        except PuterError as err:
            if tape is not None:
                tape.record_error(body, err, secrets)
            raise
        content_type = media_type(resp.headers.get("Content-Type"))
        if tape is None:
            return ChunkStream(
                http_chunks(resp, self._transport, self._deadline()), content_type, response=resp
            )
        lines: list[tuple[float, bytes]] = []

        def recorded() -> Any:
            yield from http_chunks(
                resp, self._transport, self._deadline(), lambda t, line: lines.append((t, line))
            )
            tape.record_stream(body, lines, secrets)  # only a stream that ran to its end

        return ChunkStream(recorded(), content_type, response=resp)

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
        return self._result(build_call(interface, method, args, driver=driver, service=service))

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
        args = {**(args or {}), "stream": True}
        return self._stream(build_call(interface, method, args, driver=driver, service=service))

    # -- chat ---------------------------------------------------------------------------

    def _chat_body(
        self, messages: Messages, model: str, driver: str | None, service: str | None, options: dict[str, Any]
    ) -> dict[str, Any]:
        if not model:
            raise ValueError("a model is required (Puter answers 'Model not found' without one)")
        options.pop("stream", None)
        args = {"model": model, "messages": normalize_messages(messages), **options}
        driver = driver or (None if service else CHAT_DRIVER)
        return build_call(CHAT_INTERFACE, "complete", args, driver=driver, service=service)

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
        reply = chat_reply(self._result(self._chat_body(messages, model, driver, service, options)))
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
        body = self._chat_body(messages, model, driver, service, options)
        body["args"]["stream"] = True
        return ChatStream(self._stream(body), model, self._transport.secrets())

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
        body = {"interface": "http", "method": "GET /whoami"}
        entry = self._replaying(body)
        if entry is not None:
            result = self.tape.replay_result(entry)  # type: ignore[union-attr]
        else:
            self._require_token()
            resp = self._transport.request("GET", "/whoami")
            data = self._transport.read_body(resp, deadline=self._deadline())
            if is_web_page(resp.headers.get("Content-Type"), data):
                raise website_error(self.origin, self._origin.api_url(), resp.status_code)
            result = result_from_json(
                data, status=resp.status_code, secrets=self._transport.secrets(), envelope=False
            )
            tape = self._recording()
            if tape is not None:
                tape.record_result(body, result, self._transport.secrets())
        if not isinstance(result, dict):
            raise MalformedResponse("whoami did not return an object")
        return result
