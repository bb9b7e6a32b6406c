"""PuterClient: Puter's driver API from plain Python (no IPython needed).

>>> from puter_magic import PuterClient
>>> client = PuterClient(origin="https://api.puter.com", token="...")  # doctest: +SKIP
>>> client.chat("Hello", model="gpt-4o-mini").text                     # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
from requests.adapters import BaseAdapter

from .._version import __version__
from .catalogue import ModelInfo
from .chat import ChatStream
from .chat_methods import ChatMethods
from .chunks import ChunkStream
from .errors import APIError, BadRequest, MalformedResponse, NotFound, NotSignedIn
from .media_client import MediaMethods
from .origin import DEFAULT_ORIGIN, Origin, parse_origin
from .protocol import CHAT_DRIVER, CHAT_INTERFACE, build_call
from .tape import Tape
from .transport import Timeout, Transport
from .wire import Network, TapeWire, Wire

__all__ = ["ChatStream", "ChunkStream", "ModelInfo", "PuterClient"]


class PuterClient(ChatMethods, MediaMethods):
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
            adapter=adapter,
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

    def check_reachable(self) -> None:
        """Raise the network's PuterError if the origin cannot be reached; any answer of the
        server will do (``GET /whoami``: a tokenless client gets the usual 401)."""
        if self.tape is not None and self.tape.mode == "replay":
            return
        try:
            self._transport.request("GET", "/whoami").close()
        except APIError:
            return
