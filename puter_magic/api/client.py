"""PuterClient: Puter's driver API from plain Python (no IPython needed).

>>> from puter_magic import PuterClient
>>> client = PuterClient(origin="https://api.puter.com", token="...")  # doctest: +SKIP
>>> client.chat("Hello", model="gpt-4o-mini").text                     # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
from requests.adapters import BaseAdapter

from .._version import __version__
from .account import Account, AccountLimits, Allowance, limits_for
from .chat import ChatStream
from .chat_methods import ChatMethods
from .chunks import ChunkStream
from .errors import APIError, BadRequest, MalformedResponse, NotFound, PuterError
from .media_client import MediaMethods
from .models import ModelInfo
from .origin import DEFAULT_ORIGIN, Origin, parse_origin
from .protocol import CHAT_DRIVER, CHAT_INTERFACE, build_call
from .recording import Mode, Tape, TapeWire
from .transport import Timeout, Transport, Wire

__all__ = ["Allowance", "ChatStream", "ChunkStream", "ModelInfo", "PuterClient"]


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

    def allowance(self, max_age: float = 0.0) -> Allowance:
        """This month's allowance, what is used and what remains (``GET /metering/usage``).

        *max_age* (seconds) answers from the last reading while it is that young: Puter
        allows 120 metering reads a minute. An app's token (the sign-in popup's) gets the
        account's allowance too; ``app_only`` says its usage-by-app view shows only this app.
        """
        from .account import allowance_from

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
