"""Where a Puter API lives and how to reach it safely (pure; no I/O).

- ``*.localhost`` names are loopback (RFC 6761) but many system resolvers do not know
  them, so such an origin is reached on 127.0.0.1 with the original ``Host`` header:
  self-hosted Puter routes by host name (``api.puter.localhost:4100``). In a browser
  (:mod:`.runtime`) the name is used as it is: the browser resolves it, and would not let
  a page set ``Host``.
- Plain ``http://`` is accepted only for loopback hosts unless the caller opts in, so a
  token is never sent in clear over a network.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from . import runtime

DEFAULT_ORIGIN = "https://api.puter.com"
DEFAULT_GUI_ORIGIN = "https://puter.com"


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, ``*.localhost``, 127.0.0.0/8 and ::1."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Origin:
    """A validated API origin.

    Attributes:
        url: the origin as the user gave it, normalised (no trailing slash).
        connect_url: what the socket connects to (127.0.0.1 for ``*.localhost``).
        host_header: the ``Host`` header to send when ``connect_url`` differs, else None.
    """

    url: str
    connect_url: str
    host_header: str | None
    scheme: str
    host: str
    port: int

    @property
    def netloc(self) -> str:
        return urlsplit(self.url).netloc

    def same_origin(self, url: str) -> bool:
        """True if *url* (absolute) is on this origin: same scheme, host and port."""
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return (
            parts.scheme == self.scheme and (parts.hostname or "").lower() == self.host and port == self.port
        )

    def to_connect(self, url: str) -> str:
        """Rewrite an absolute URL on this origin to the address we connect to."""
        if self.host_header is None:
            return url
        parts = urlsplit(url)
        base = urlsplit(self.connect_url)
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))

    def gui_url(self) -> str:
        """The GUI origin that goes with this API origin, as Puter pairs them
        (``https://api.puter.com`` -> ``https://puter.com``, ``api.X`` -> ``X``; an origin
        without ``api.`` is its own GUI)."""
        host = self.host
        if host.startswith("api."):
            host = host[4:]
        default = 443 if self.scheme == "https" else 80
        netloc = host if self.port == default else f"{host}:{self.port}"
        return f"{self.scheme}://{netloc}"

    def api_url(self) -> str | None:
        """The API origin that goes with this one if it is a GUI origin (``X`` -> ``api.X``),
        or None when there is no such guess (already ``api.``, an IP address, ``localhost``)."""
        host = self.host
        if host.startswith("api.") or host == "localhost" or "." not in host:
            return None
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            pass
        else:
            return None
        default = 443 if self.scheme == "https" else 80
        netloc = f"api.{host}" if self.port == default else f"api.{host}:{self.port}"
        return f"{self.scheme}://{netloc}"


def parse_origin(url: str, *, allow_insecure_http: bool = False) -> Origin:
    """Validate and normalise an API origin; raise ValueError with the reason if it is unfit."""
    text = (url or "").strip()
    if "://" not in text:
        raise ValueError(f"origin {text!r} needs a scheme, e.g. https://api.puter.com")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"origin scheme must be http or https, not {scheme!r}")
    if parts.username or parts.password:
        raise ValueError("origin must not carry a user name or password")
    if parts.query or parts.fragment:
        raise ValueError("origin must not have a query or fragment")
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError(f"origin {text!r} has no host name")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise ValueError(f"origin {text!r} has a bad port") from exc
    loopback = is_loopback_host(host)
    if scheme == "http" and not loopback and not allow_insecure_http:
        raise ValueError(
            f"refusing plain http:// to {host}: the token would travel unencrypted. "
            "Use https://, or opt in explicitly (allow_insecure_http=True) on a network you trust."
        )
    path = parts.path.rstrip("/")
    netloc = parts.netloc.lower()
    normalized = urlunsplit((scheme, netloc, path, "", ""))
    if host.endswith(".localhost") and not runtime.in_browser():
        connect = urlunsplit((scheme, f"127.0.0.1:{port}", path, "", ""))
        default = 443 if scheme == "https" else 80
        host_header = host if port == default else f"{host}:{port}"
    else:
        connect, host_header = normalized, None
    return Origin(normalized, connect, host_header, scheme, host, port)


def parse_gui_origin(url: str, *, allow_insecure_http: bool = False) -> str:
    """Validate a GUI origin (where Puter's sign-in pages live) and return it exactly as a
    browser spells an origin: ``scheme://host[:port]``, lower case, no default port, no
    path. A browser compares message origins with that string, so it must match it.
    """
    parsed = parse_origin(url, allow_insecure_http=allow_insecure_http)
    if urlsplit(parsed.url).path:
        raise ValueError(f"a GUI origin has no path: {url.strip()!r} (e.g. https://puter.com)")
    default = 443 if parsed.scheme == "https" else 80
    netloc = parsed.host if parsed.port == default else f"{parsed.host}:{parsed.port}"
    return f"{parsed.scheme}://{netloc}"
