"""Downloading a media URL that came in a reply: never with the token, never unbounded.

A reply's URL may point anywhere (Puter's sample files, a provider's CDN, a hostile server),
so it is fetched by its own plain ``requests`` session that has never seen the token (no
``Authorization`` header, no cookies, ``trust_env`` off so no ``.netrc`` credentials):

- https only; plain http only to a loopback host, and only when the client itself talks to a
  loopback origin (the sandbox, a self-hosted Puter, tests);
- redirects followed by hand, each hop checked by the same rule, at most three;
- ``(connect, read)`` timeouts and a total deadline; at most ``max_bytes`` read (a bigger
  Content-Length is refused before reading).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import BaseAdapter

from .._version import __version__
from .errors import MalformedResponse, PuterConnectionError, PuterTimeout
from .humanize import human_size
from .origin import is_loopback_host
from .transport import Timeout, translate

__all__ = ["MAX_MEDIA_BYTES", "MediaFetcher", "check_media_url"]

MAX_MEDIA_BYTES = 40 * 1024 * 1024
MAX_REDIRECTS = 3
READ_SIZE = 65536

RETRY_HINT = "the reply arrived but its media could not be used: run the cell again, or pick another model"


def check_media_url(url: str, *, allow_loopback_http: bool) -> str:
    """*url* if it may be fetched; else MalformedResponse saying why not."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if scheme == "https" and host:
        return url
    if scheme == "http" and host and allow_loopback_http and is_loopback_host(host):
        return url
    shown = url if len(url) <= 80 else url[:77] + "..."
    raise MalformedResponse(
        f"the reply's media URL is not https, so it was not fetched: {shown}",
        hint="open the URL yourself if you trust it; nothing of it was downloaded here",
    )


class MediaFetcher:
    """Fetches reply URLs without credentials (see the module's docstring)."""

    def __init__(
        self,
        *,
        allow_loopback_http: bool = False,
        timeout: Timeout = (10.0, 60.0),
        total_timeout: float = 180.0,
        max_bytes: int = MAX_MEDIA_BYTES,
        adapters: Mapping[str, BaseAdapter] | None = None,
    ) -> None:
        self.allow_loopback_http = allow_loopback_http
        self.adapters = dict(adapters or {})  # URL prefix -> what answers it (a server in this process)
        self.timeout = timeout
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes

    def __repr__(self) -> str:
        return f"MediaFetcher(max_bytes={self.max_bytes}, loopback_http={self.allow_loopback_http})"

    def fetch(self, url: str) -> tuple[bytes, str | None]:
        """The body at *url* and the Content-Type it was sent with."""
        deadline = time.monotonic() + self.total_timeout
        with requests.Session() as session:
            session.trust_env = False
            for prefix, adapter in self.adapters.items():
                session.mount(prefix, adapter)
            for _ in range(MAX_REDIRECTS + 1):
                check_media_url(url, allow_loopback_http=self.allow_loopback_http)
                host = urlsplit(url).netloc
                try:
                    resp = session.get(
                        url,
                        headers={
                            "User-Agent": f"puter-magic/{__version__}",
                            "Accept": "image/*, audio/*, */*",
                        },
                        timeout=self.timeout,
                        stream=True,
                        allow_redirects=False,
                    )
                except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                    raise translate(exc, host, ()) from exc
                with resp:
                    if resp.is_redirect and resp.headers.get("Location"):
                        url = urljoin(url, resp.headers["Location"])
                        continue
                    if resp.status_code >= 400:
                        raise PuterConnectionError(
                            f"could not download the media from {host}: HTTP {resp.status_code}",
                            hint=RETRY_HINT,
                        )
                    return self._read(resp, host, deadline), resp.headers.get("Content-Type")
        raise PuterConnectionError(
            f"the media URL redirected more than {MAX_REDIRECTS} times", hint=RETRY_HINT
        )

    def _read(self, resp: requests.Response, host: str, deadline: float) -> bytes:
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise MalformedResponse(
                f"the media at {host} is {human_size(int(declared))}, over the "
                f"{human_size(self.max_bytes)} this client downloads; nothing was kept",
                hint=RETRY_HINT,
            )
        parts: list[bytes] = []
        size = 0
        try:
            for piece in resp.raw.stream(READ_SIZE, decode_content=True):
                size += len(piece)
                if size > self.max_bytes:
                    raise MalformedResponse(
                        f"the media at {host} is over the {human_size(self.max_bytes)} this client "
                        "downloads; nothing was kept",
                        hint=RETRY_HINT,
                    )
                if time.monotonic() > deadline:
                    raise PuterTimeout(f"downloading the media from {host} took too long")
                parts.append(piece)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise translate(exc, host, ()) from exc
        return b"".join(parts)
