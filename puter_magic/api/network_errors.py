"""Which PuterError a failure of the network stack is: refused, unresolved, timed out,
broken off, or TLS spoken to a plain-http port. No message carries the token."""

from __future__ import annotations

import ssl

import requests
import urllib3.exceptions

from .errors import MalformedResponse, PuterConnectionError, PuterError, PuterTimeout, redact

__all__ = ["translate"]


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
        hint=f"if it is a plain-http server, use %puter_login --origin {plain}; otherwise check the port",
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
