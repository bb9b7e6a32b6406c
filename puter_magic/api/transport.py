"""HTTP to one Puter origin: one keep-alive session, timeouts always, bounded retries,
redirects kept on the origin; driver calls answered whole or as NDJSON streams. The transport
owns the token (sent only here, only to its origin) and the deadline of each reply. Every
``requests``/``urllib3`` exception becomes a PuterError here (:func:`translate`), its cause kept.

Retry policy (bounded; a stream that has started is never replayed):

- a connection that failed before the request was sent (refused, DNS, connect timeout)
  is retried by urllib3 up to ``CONNECT_RETRIES`` times;
- 429 and 503 are retried with backoff (0.25 s, 0.5 s, 1 s, 2 s...) that honours
  ``Retry-After``, while the wait stays within ``max_retry_wait`` seconds in all;
- nothing else is retried: not 5xx in general, not read errors, not a started stream.

:class:`Wire` is what a client sends through: a :class:`Transport`, or a recording layered
over one (:class:`~puter_magic.api.recording.TapeWire`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3.util.retry import Retry

from . import runtime
from .chat import ChatReply, chat_reply
from .chunks import Chunk, ChunkStream, iter_lines, parse_ndjson
from .errors import (
    Hint,
    MalformedResponse,
    NotSignedIn,
    PuterConnectionError,
    PuterError,
    PuterTimeout,
    RedirectRefused,
    redact,
)
from .origin import Origin
from .protocol import (
    CHAT_INTERFACE,
    NDJSON_TYPE,
    BinaryResult,
    error_from_reply,
    is_json_type,
    is_web_page,
    media_type,
    parse_retry_after,
    result_from_json,
    website_error,
)

__all__ = ["CALL_PATH", "LineTap", "Timeout", "Transport", "Wire", "http_chunks", "make_session", "translate"]

log = logging.getLogger("puter_magic")

CONNECT_RETRIES = 2
RETRY_STATUSES = frozenset({429, 503})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 3
BACKOFF = (0.25, 0.5, 1.0, 2.0, 2.0, 2.0)
READ_SIZE = 65536

Timeout = tuple[float, float]
CALL_PATH = "/drivers/call"
LineTap = Callable[[float, bytes], None]


class Wire(Protocol):
    """What the client sends through: a driver call answered whole or as a stream, and a GET."""

    def result(self, body: dict[str, Any]) -> Any:
        """The ``result`` of a driver call (a :class:`BinaryResult` for a non-JSON reply)."""

    def stream(self, body: dict[str, Any], tap: LineTap | None = None) -> ChunkStream:
        """A driver call answered as a stream; *tap* sees each NDJSON line as it arrives."""

    def get(self, path: str) -> Any:
        """A GET of an API route that answers JSON without an envelope (``/whoami``)."""

    def secrets(self) -> tuple[str | None, ...]:
        """What must never be written or shown (the token)."""


# -- errors translated: which PuterError a failure of the network stack is --------------------
def _chain(exc: BaseException) -> list[BaseException]:
    """*exc* and every exception wrapped in it (args, causes, contexts), outermost first."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < 16:
        current = todo.pop(0)
        if any(current is s for s in seen):
            continue
        seen.append(current)
        todo.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)
    return seen


# What OpenSSL says when the other side answers a TLS handshake with something else,
# most often a plain-http server on that port (the text varies with OpenSSL's version).
NOT_TLS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "UNKNOWN_PROTOCOL")


def translate(exc: BaseException, origin: str, secrets: tuple[str | None, ...]) -> PuterError:
    """Turn a requests/urllib3/socket exception into the matching PuterError."""
    err = _translate(exc, origin, secrets)
    err.origin = origin
    return err


def _not_tls(origin: str) -> PuterConnectionError:
    plain = "http://" + origin.split("://", 1)[1]
    return PuterConnectionError(
        f"{origin} did not answer in TLS (https): the server on that port seems to speak plain http",
        hint=Hint.PLAIN_HTTP,
        hint_origin=plain,
    )


def _translate(exc: BaseException, origin: str, secrets: tuple[str | None, ...]) -> PuterError:
    chain = _chain(exc)
    if origin.startswith("https://") and any(
        isinstance(e, ssl.SSLError) and any(marker in str(e).upper() for marker in NOT_TLS) for e in chain
    ):
        return _not_tls(origin)

    def has(*classes: type[BaseException]) -> bool:
        return any(isinstance(e, classes) for e in chain)

    # Order matters: NewConnectionError subclasses ConnectTimeoutError in urllib3 2.
    if has(urllib3.exceptions.NameResolutionError):
        return PuterConnectionError(f"could not connect to {origin}: the host name did not resolve")
    if has(urllib3.exceptions.NewConnectionError, ConnectionRefusedError):
        return PuterConnectionError(
            f"could not connect to {origin}: the connection was refused or could not be made"
        )
    if has(requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError):
        connect = has(requests.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError)
        what = "connecting to" if connect else "waiting for data from"
        return PuterTimeout(f"timed out {what} {origin}")
    if has(urllib3.exceptions.DecodeError, requests.exceptions.ContentDecodingError):
        return MalformedResponse(f"{origin} sent a body that could not be decoded")
    if has(
        requests.exceptions.ChunkedEncodingError,
        urllib3.exceptions.ProtocolError,
        urllib3.exceptions.InvalidChunkLength,
        ConnectionError,
    ):
        return PuterConnectionError(f"the connection to {origin} broke off mid-reply")
    root = chain[-1]
    text = redact(str(root) or type(root).__name__, secrets)
    return PuterConnectionError(f"network error talking to {origin}: {text[:200]}")


# -- the session -------------------------------------------------------------------------------


class _HostAdapter(HTTPAdapter):
    """An adapter that verifies TLS against the original host name when we connect to
    127.0.0.1 for a ``*.localhost`` origin."""

    def __init__(self, server_hostname: str | None, **kwargs: Any) -> None:
        self._server_hostname = server_hostname
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self._server_hostname:
            kwargs["server_hostname"] = self._server_hostname
            kwargs["assert_hostname"] = self._server_hostname
        super().init_poolmanager(*args, **kwargs)


def make_session(origin: Origin, adapter: BaseAdapter | None = None) -> requests.Session:
    """A keep-alive session whose adapter retries only connections that were never made.

    *adapter*, if given, carries every request instead (e.g. a server answering in this
    process: the sandbox's, where Python cannot open a socket)."""
    session = requests.Session()
    session.trust_env = False  # no netrc credentials or proxies picked up behind our back
    if adapter is not None:
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session
    retry = Retry(
        total=None,
        connect=CONNECT_RETRIES,
        read=0,
        redirect=0,
        status=0,
        other=0,
        backoff_factor=0.1,
        allowed_methods=None,
        raise_on_redirect=False,
        raise_on_status=False,
    )
    server_hostname = origin.host if origin.host_header and origin.scheme == "https" else None
    adapter = _HostAdapter(server_hostname, max_retries=retry, pool_maxsize=16)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class Transport:
    """Sends requests to one origin, with its token, and reads what comes back.

    :meth:`result`, :meth:`stream` and :meth:`get` are the :class:`Wire`: a driver call
    answered whole, a driver call answered as a stream, a GET of a route. Below them,
    :meth:`request` returns responses whose status is final (PuterError subclasses for
    network failures and for error statuses of either generation); 2xx responses come back
    open (``stream=True``) to read with :meth:`read_body` or :meth:`iter_pieces`.

    Args:
        token: the Puter token; sent only in this transport's ``Authorization`` header.
        total_timeout: the longest a reply, streamed or not, may take in all (None: no limit).
    """

    def __init__(
        self,
        origin: Origin,
        token: str | None,
        *,
        timeout: Timeout,
        total_timeout: float | None,
        max_retries: int,
        max_retry_wait: float,
        max_body_bytes: int,
        user_agent: str,
        session: requests.Session | None = None,
        adapter: BaseAdapter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.origin = origin
        self._token = token or None
        self.timeout = timeout
        self.total_timeout = total_timeout
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.max_body_bytes = max_body_bytes
        self.user_agent = user_agent
        self.adapter = adapter
        self.session = session or make_session(origin, adapter)
        self._sleep = sleep
        self._local = threading.local()  # per-thread overrides (see not_retrying, patient)
        #: Set when a reply said the account's allowance is used up (``metadata.usage_limited``).
        self.limited = threading.Event()

    def secrets(self) -> tuple[str | None, ...]:
        return (self._token,)

    def close(self) -> None:
        self.session.close()

    def require_token(self) -> None:
        """Raise NotSignedIn when there is no token to send (before any request)."""
        if self._token is None:
            raise NotSignedIn("no Puter token is set")

    def deadline(self) -> float | None:
        """When a reply starting now must have ended (None: no limit); longer in a
        :meth:`patient` block."""
        patience: float | None = getattr(self._local, "patience", None)
        if patience is not None:
            total = patience if self.total_timeout is None else max(patience, self.total_timeout)
            return time.monotonic() + total
        return None if self.total_timeout is None else time.monotonic() + self.total_timeout

    @contextlib.contextmanager
    def not_retrying(self, *statuses: int) -> Iterator[None]:
        """Within the block, in this thread only, *statuses* are not retried but raised at
        once (a batch paces itself and retries a 429 through its own limiter)."""
        before: frozenset[int] = getattr(self._local, "skip", frozenset())
        self._local.skip = before | frozenset(statuses)
        try:
            yield
        finally:
            self._local.skip = before

    @contextlib.contextmanager
    def patient(self, seconds: float) -> Iterator[None]:
        """Within the block, in this thread only, a reply may take *seconds*, to start or go
        on and in all (video generation holds its request open for minutes)."""
        before: tuple[Timeout | None, float | None] = (
            getattr(self._local, "timeout", None),
            getattr(self._local, "patience", None),
        )
        self._local.timeout = (self.timeout[0], max(seconds, self.timeout[1]))
        self._local.patience = seconds
        try:
            yield
        finally:
            self._local.timeout, self._local.patience = before

    # -- the wire: driver calls and routes --------------------------------------------------

    def result(self, body: dict[str, Any]) -> Any:
        """The ``result`` of a driver call (a :class:`BinaryResult` for a non-JSON reply)."""
        self.require_token()
        deadline = self.deadline()
        resp = self.request("POST", CALL_PATH, body)
        content_type = resp.headers.get("Content-Type")
        data = self.read_body(resp, deadline=deadline)
        if is_json_type(content_type) or (not content_type and data.lstrip()[:1] in (b"{", b"[")):
            return result_from_json(
                data, status=resp.status_code, secrets=self.secrets(), on_limited=self.limited.set
            )
        if is_web_page(content_type):  # no driver answers HTML: this is a website
            raise website_error(self.origin.url, self.origin.api_url(), resp.status_code)
        return BinaryResult(data, media_type(content_type) or "application/octet-stream")

    def stream(self, body: dict[str, Any], tap: LineTap | None = None) -> ChunkStream:
        """A driver call answered as a stream; *tap* sees each NDJSON line as it arrives."""
        self.require_token()
        requested = time.monotonic()  # lines are timed from here, the wait to start included
        resp = self.request("POST", CALL_PATH, body, accept=f"{NDJSON_TYPE}, application/json")
        content_type = media_type(resp.headers.get("Content-Type"))
        chat = body.get("interface") == CHAT_INTERFACE and body.get("method") == "complete"
        chunks = http_chunks(resp, self, self.deadline(), tap, chat=chat, started=requested)
        return ChunkStream(chunks, content_type, response=resp)

    def get(self, path: str) -> Any:
        """A GET of an API route that answers JSON without an envelope (``/whoami``)."""
        self.require_token()
        resp = self.request("GET", path)
        data = self.read_body(resp, deadline=self.deadline())
        if is_web_page(resp.headers.get("Content-Type"), data):
            raise website_error(self.origin.url, self.origin.api_url(), resp.status_code)
        return result_from_json(data, status=resp.status_code, secrets=self.secrets(), envelope=False)

    # -- HTTP ----------------------------------------------------------------------------------

    def _headers(self, has_body: bool, accept: str) -> dict[str, str]:
        headers = {"Accept": accept, "User-Agent": self.user_agent}
        if has_body:
            headers["Content-Type"] = "application/json"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        if self.origin.host_header:
            headers["Host"] = self.origin.host_header
        return headers

    def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        accept: str = "application/json",
        timeout: Timeout | None = None,
    ) -> requests.Response:
        try:
            return self._request(method, path, body, accept=accept, timeout=timeout)
        except PuterError as err:
            if err.origin is None:
                err.origin = self.origin.url  # so a warning can name this server's own pages
            raise

    def _request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        accept: str,
        timeout: Timeout | None,
    ) -> requests.Response:
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        url = self.origin.url + path
        timeout = timeout or getattr(self._local, "timeout", None) or self.timeout
        waited = 0.0
        redirects = 0
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                resp = self.session.request(
                    method,
                    self.origin.to_connect(url),
                    data=data,
                    headers=self._headers(data is not None, accept),
                    timeout=timeout,
                    stream=True,
                    allow_redirects=False,
                )
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                raise translate(exc, self.origin.url, self.secrets()) from exc
            log.debug("%s %s -> %s in %.3fs", method, path, resp.status_code, time.monotonic() - started)
            status = resp.status_code
            if status in REDIRECT_STATUSES and resp.headers.get("Location"):
                target = urljoin(url, resp.headers["Location"])
                resp.close()
                if not self.origin.same_origin(target) or redirects >= MAX_REDIRECTS:
                    where = urlsplit(target).netloc or "elsewhere"
                    raise RedirectRefused(
                        redact(
                            f"{self.origin.url} redirected to {where}; not followed, so your "
                            "token is not sent to another host (check the origin)",
                            self.secrets(),
                        ),
                        status=status,
                    )
                redirects += 1
                if status == 303:
                    method, data = "GET", None
                url = target
                continue
            retried = status in RETRY_STATUSES and status not in getattr(self._local, "skip", ())
            if retried and attempt < self.max_retries:
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                delay = retry_after if retry_after is not None else BACKOFF[min(attempt, len(BACKOFF) - 1)]
                if waited + delay <= self.max_retry_wait:
                    resp.close()
                    log.debug("HTTP %s: retrying in %.2fs", status, delay)
                    self._sleep(delay)
                    waited += delay
                    attempt += 1
                    continue
            if status >= 300:
                raise self.error_for(resp)
            return resp

    def error_for(self, resp: requests.Response) -> PuterError:
        """Read an error reply (bounded) and build its exception; closes the response."""
        try:
            body = self.read_body(resp, limit=1_000_000, tolerate_truncation=True)
        except PuterError:
            body = b""
        return error_from_reply(
            resp.status_code,
            resp.headers.get("Content-Type"),
            body,
            retry_after=parse_retry_after(resp.headers.get("Retry-After")),
            secrets=self.secrets(),
        )

    def iter_pieces(self, resp: requests.Response, deadline: float | None = None) -> Iterator[bytes]:
        """The body as it arrives: one piece per HTTP chunk, or whatever one read returns.

        Network errors become PuterErrors. Never blocks to fill a buffer, so NDJSON lines
        reach the caller as soon as the server writes them.
        """
        raw = resp.raw
        try:
            if raw.chunked and getattr(raw, "supports_chunked_reads", lambda: False)():
                pieces: Iterator[bytes] = raw.read_chunked(READ_SIZE, decode_content=True)
            elif runtime.in_browser():
                # The browser's fetch (urllib3's Emscripten response) has no read1; each of its
                # reads returns what has arrived, so stream() does not wait to fill a buffer.
                pieces = raw.stream(READ_SIZE, decode_content=True)
            else:
                pieces = iter(lambda: raw.read1(READ_SIZE, decode_content=True), b"")
            for piece in pieces:
                if deadline is not None and time.monotonic() > deadline:
                    raise PuterTimeout(f"the reply from {self.origin.url} took too long in all")
                yield piece
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise translate(exc, self.origin.url, self.secrets()) from exc
        finally:
            resp.close()

    def read_body(
        self,
        resp: requests.Response,
        *,
        limit: int | None = None,
        deadline: float | None = None,
        tolerate_truncation: bool = False,
    ) -> bytes:
        """The whole body, at most *limit* bytes (MalformedResponse past it)."""
        limit = self.max_body_bytes if limit is None else limit
        parts: list[bytes] = []
        size = 0
        try:
            for piece in self.iter_pieces(resp, deadline):
                size += len(piece)
                if size > limit:
                    if tolerate_truncation:
                        parts.append(piece)
                        break
                    raise MalformedResponse(
                        f"the reply is larger than {limit:,} bytes", status=resp.status_code
                    )
                parts.append(piece)
        except PuterConnectionError:
            if not tolerate_truncation:
                raise
        finally:
            resp.close()
        return b"".join(parts)


# -- reading a stream --------------------------------------------------------------------------


def http_chunks(
    response: requests.Response,
    transport: Transport,
    deadline: float | None,
    tap: LineTap | None = None,
    *,
    chat: bool = True,
    started: float | None = None,
) -> Generator[Chunk, None, None]:
    """Chunks of an HTTP reply to a stream request; *tap* sees each NDJSON line as it arrives,
    with its time since *started* (when the request was sent: so the wait for the reply to
    start is in the first line's time), or since the first read if not given.

    A plain JSON answer becomes the chunks of a chat reply when *chat* and it reads as one,
    else one :class:`ResultChunk` (a method that does not stream).
    """
    content_type = media_type(response.headers.get("Content-Type"))
    if content_type in (NDJSON_TYPE, ""):
        lines: Iterator[bytes] = iter_lines(transport.iter_pieces(response, deadline))
        if tap is not None:
            lines = _tapped(lines, tap, started)
        count = 0
        for chunk in parse_ndjson(lines, on_limited=transport.limited.set):
            count += 1
            yield chunk
        if count == 0:  # Puter always ends a stream with a usage line
            raise MalformedResponse("the stream ended without sending anything", status=200)
        return
    if not is_json_type(content_type):
        response.close()
        if is_web_page(content_type):
            raise website_error(transport.origin.url, transport.origin.api_url())
        raise MalformedResponse(
            f"expected a stream (application/x-ndjson) but got {content_type}", status=200
        )
    # The server answered a stream request with plain JSON (an older server, a gateway
    # that buffers, an older-generation HTTP 200 error, or a method that does not stream).
    body = transport.read_body(response, deadline=deadline)
    result = result_from_json(body, secrets=transport.secrets(), on_limited=transport.limited.set)
    reply: ChatReply | None = None
    if chat:
        with contextlib.suppress(MalformedResponse):
            reply = chat_reply(result)
    objects: list[dict[str, Any]] = []
    if reply is None:
        objects.append({"type": "result", "result": result})
    else:
        if reply.reasoning:
            objects.append({"type": "reasoning", "reasoning": reply.reasoning})
        if reply.text:
            objects.append({"type": "text", "text": reply.text})
        objects.extend({"type": "image", "image": image} for image in reply.images)
        objects.append({"type": "usage", "usage": reply.usage})
    encoded = [json.dumps(o).encode() for o in objects]
    yield from parse_ndjson(_tapped(iter(encoded), tap, started) if tap else iter(encoded))


def _tapped(lines: Iterator[bytes], tap: LineTap, started: float | None = None) -> Iterator[bytes]:
    if started is None:
        started = time.monotonic()
    for line in lines:
        tap(time.monotonic() - started, line)
        yield line
