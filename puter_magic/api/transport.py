"""HTTP for Puter: one keep-alive session, timeouts always, bounded retries; every
``requests``/``urllib3`` exception becomes a PuterError here (:mod:`.network_errors` says which).

Retry policy (bounded; a stream that has started is never replayed):

- a connection that failed before the request was sent (refused, DNS, connect timeout)
  is retried by urllib3 up to ``CONNECT_RETRIES`` times;
- 429 and 503 are retried with backoff (0.25 s, 0.5 s, 1 s, 2 s...) that honours
  ``Retry-After``, while the wait stays within ``max_retry_wait`` seconds in all;
- nothing else is retried: not 5xx in general, not read errors, not a started stream.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3.util.retry import Retry

from . import runtime
from .errors import (
    MalformedResponse,
    PuterConnectionError,
    PuterError,
    PuterTimeout,
    RedirectRefused,
    redact,
)
from .network_errors import translate
from .origin import Origin
from .protocol import error_from_reply, parse_retry_after

log = logging.getLogger("puter_magic")

CONNECT_RETRIES = 2
RETRY_STATUSES = frozenset({429, 503})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 3
BACKOFF = (0.25, 0.5, 1.0, 2.0, 2.0, 2.0)
READ_SIZE = 65536

Timeout = tuple[float, float]


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
    """Sends requests to one origin and returns responses whose status is final.

    Raises PuterError subclasses for network failures and for error statuses
    (either generation); 2xx responses come back open (``stream=True``) for the caller
    to read with :meth:`read_body` or :meth:`iter_pieces`.
    """

    def __init__(
        self,
        origin: Origin,
        token_getter: Callable[[], str | None],
        *,
        timeout: Timeout,
        max_retries: int,
        max_retry_wait: float,
        max_body_bytes: int,
        user_agent: str,
        session: requests.Session | None = None,
        adapter: BaseAdapter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.origin = origin
        self._token = token_getter
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.max_body_bytes = max_body_bytes
        self.user_agent = user_agent
        self.adapter = adapter
        self.session = session or make_session(origin, adapter)
        self._sleep = sleep
        self._local = threading.local()  # per-thread overrides (see not_retrying)

    def secrets(self) -> tuple[str | None, ...]:
        return (self._token(),)

    def close(self) -> None:
        self.session.close()

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
    def patient(self, read_timeout: float) -> Iterator[None]:
        """Within the block, in this thread only, wait up to *read_timeout* seconds for a reply
        to start or go on (video generation holds its request open for minutes)."""
        before: Timeout | None = getattr(self._local, "timeout", None)
        self._local.timeout = (self.timeout[0], max(read_timeout, self.timeout[1]))
        try:
            yield
        finally:
            self._local.timeout = before

    def _headers(self, has_body: bool, accept: str) -> dict[str, str]:
        headers = {"Accept": accept, "User-Agent": self.user_agent}
        if has_body:
            headers["Content-Type"] = "application/json"
        token = self._token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
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
                raise translate(exc, self.origin.url, self.secrets()) from None
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
            raise translate(exc, self.origin.url, self.secrets()) from None
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
