"""The one exception tree of puter_magic.

Every failure that comes from Puter, from the network or from a broken reply is one of these::

    PuterError                      base: .status, .code, .message, .retry_after, .detail
    ├── APIError                    the server answered and said no
    │   ├── AuthError               401: token missing, expired or rejected
    │   ├── UsageLimited            402: no usage left (insufficient_funds)
    │   ├── PermissionDenied        403: forbidden, permission_denied, verification needed
    │   ├── NotFound                404: a wrong origin (about_route), or something named that Puter lacks
    │   ├── BadRequest              400 and 413
    │   │   └── ModelNotFound       400 "Model not found: <name>"
    │   ├── RateLimited             429: too_many_requests, upstream_rate_limited
    │   ├── ServerError             5xx, or a proxy's HTML / empty error page
    │   │   └── NotConfigured       500 "... not configured": the server has no provider for it
    │   └── StreamError             an {"type": "error"} line in a started stream
    ├── MalformedResponse           a reply that is not what the protocol promises
    ├── RedirectRefused             a redirect to another host (the token is not sent there)
    ├── NotSignedIn                 no token to send (raised before any request)
    ├── BudgetExceeded              the notebook spent its budget (raised before any request)
    ├── ReplayMiss                  replaying a recording that does not hold this request
    ├── PuterTimeout                no connection or no bytes within the timeout
    └── PuterConnectionError        the connection failed or broke

Both server generations become the same classes: the older HTTP 200
``{"success": false, "error": {"code", "message"}}`` and the current real-status flat
``{"error", "message", "code"}``. This module does no I/O and imports nothing heavy.

No message built here may contain a credential: callers pass texts through
:func:`redact` before they reach an exception.

An error may carry a :class:`Hint`: the next step, as data, when the place that raised knows
it better than the kind does. The api words no next step; whoever shows the error does.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "APIError",
    "AuthError",
    "BadRequest",
    "BudgetExceeded",
    "Hint",
    "MalformedResponse",
    "ModelNotFound",
    "NotConfigured",
    "NotFound",
    "NotSignedIn",
    "PermissionDenied",
    "PuterConnectionError",
    "PuterError",
    "PuterTimeout",
    "RateLimited",
    "RedirectRefused",
    "ReplayMiss",
    "ServerError",
    "StreamError",
    "UsageLimited",
    "error_for",
    "redact",
]

REDACTED = "<redacted>"


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Return *text* with every non-empty secret in *secrets* replaced by a marker."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    return text


class Hint(enum.Enum):
    """The next step that the place raising an error knows better than the error's kind does
    (data: the notebook words it). ``hint_origin`` on the error carries the origin it names."""

    PLAIN_HTTP = "plain-http"
    """https met a server that speaks plain http on that port: ``hint_origin`` is its http:// origin."""
    API_ORIGIN = "api-origin"
    """A website answered where Puter's API answers JSON: ``hint_origin`` is the API origin
    that goes with it, or None when there is no such guess."""
    MEDIA_MISLABELLED = "media-mislabelled"
    """A media reply held something other than what it announced (an "image" that is a page)."""
    MEDIA_UNUSABLE = "media-unusable"
    """A media reply arrived, but its media could not be downloaded or used."""
    MEDIA_URL_NOT_FETCHED = "media-url-not-fetched"
    """A media URL was not fetched (not https): nothing of it was downloaded."""
    CLOSE_MODELS = "close-models"
    """The model asked for is not listed; ``hint_names`` holds the listed ids spelled most like
    it, closest first (a typo: ``sandbox-tutr`` -> ``sandbox-tutor``)."""


class PuterError(Exception):
    """A failure talking to Puter: safe to show to a user as it is.

    Attributes:
        status: the HTTP status, or None when no reply arrived.
        code: Puter's error code (``token_missing``, ``insufficient_funds``...), or None.
        message: a human sentence, from Puter when it gave one.
        retry_after: seconds the server asked us to wait, when it said so.
        detail: extra fields of the error body (``reason``, ``attempts``...), already redacted.
        hint: the next step, when the place that raised knows it better than the kind does
            (:attr:`Hint.PLAIN_HTTP` for a TLS handshake with a plain-http server), or None.
        hint_origin: the origin the hint names, where it names one.
        hint_names: the names the hint offers (:attr:`Hint.CLOSE_MODELS`: model ids), else empty.
        origin: the API origin the failure came from, where known (set by the client).
    """

    origin: str | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        detail: Mapping[str, Any] | None = None,
        hint: Hint | None = None,
        hint_origin: str | None = None,
        hint_names: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.detail: dict[str, Any] = dict(detail or {})
        self.hint = hint
        self.hint_origin = hint_origin
        self.hint_names = hint_names

    def __str__(self) -> str:
        parts = []
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code:
            parts.append(self.code)
        prefix = f"[{', '.join(parts)}] " if parts else ""
        return f"{prefix}{self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(message={self.message!r}, status={self.status!r}, code={self.code!r})"


class APIError(PuterError):
    """The server answered with an error."""


class AuthError(APIError):
    """401: the token is missing, expired, revoked or not accepted."""


class UsageLimited(APIError):
    """402: the account has no usage left."""


class PermissionDenied(APIError):
    """403: the account or token may not do this."""


class NotFound(APIError):
    """404: no such route (the wrong origin or host name), or no such interface, driver,
    method, app or file (Puter answered, about something the request named)."""

    @property
    def about_route(self) -> bool:
        """True when the server had no such route at all (Puter's bare "Not Found", a web
        server's page or an empty reply): the origin is likely wrong. False when Puter
        answered about something the request named ("Method 'x' not found...", "App not
        found")."""
        message = self.message.strip().rstrip(".").lower()
        return message in ("not found", "") or message.startswith("http 404")


class BadRequest(APIError):
    """400 or 413: the server rejected the request itself."""


class ModelNotFound(BadRequest):
    """400 "Model not found: <name>": the server has no model by that name."""

    @property
    def requested(self) -> str | None:
        """The name the server did not find, as its message quotes it (None: it does not)."""
        _, colon, name = self.message.partition(":")
        name = name.strip()
        return name if colon and name and name != "undefined" else None


class RateLimited(APIError):
    """429: too many requests, or too many at once."""


class ServerError(APIError):
    """5xx, or an error page from a proxy in front of Puter."""


class NotConfigured(ServerError):
    """500 "... not configured" ("No OCR provider configured", "OpenAI API key not configured"):
    the server has no provider for this interface. A configuration, not a passing fault:
    asking again will not help (Puter's ``test_mode`` may still answer with a sample)."""


class StreamError(APIError):
    """A streamed reply broke off with an ``{"type": "error"}`` line."""


class MalformedResponse(PuterError):
    """The reply does not follow the protocol (bad JSON, no ``result``, wrong types)."""


class RedirectRefused(PuterError):
    """The server redirected to another host; the request (and token) was not sent there."""


class NotSignedIn(PuterError):
    """No token is set, so nothing was sent."""


class BudgetExceeded(PuterError):
    """The notebook's usage budget is spent, so nothing was sent."""


class ReplayMiss(PuterError):
    """A recording is being replayed and does not hold this request (nothing was sent)."""


class PuterTimeout(PuterError):
    """No connection, or no data, within the timeout."""


class PuterConnectionError(PuterError):
    """The connection could not be made or broke off."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequest,
    401: AuthError,
    402: UsageLimited,
    403: PermissionDenied,
    404: NotFound,
    413: BadRequest,
    429: RateLimited,
}

# Codes seen in the older (HTTP 200, success: false) generation, where the status is
# not a real HTTP status; also used when a body names a code but the status says little.
_BY_CODE: dict[str, type[APIError]] = {
    "token_missing": AuthError,
    "token_auth_failed": AuthError,
    "reauth_required": AuthError,
    "unauthorized": AuthError,
    "token_invalid": AuthError,
    "insufficient_funds": UsageLimited,
    "subscription_required": UsageLimited,
    "forbidden": PermissionDenied,
    "permission_denied": PermissionDenied,
    "app_blocked": PermissionDenied,
    "email_confirmation_required": PermissionDenied,
    "phone_verification_required": PermissionDenied,
    "card_verification_required": PermissionDenied,
    "not_found": NotFound,
    "interface_not_found": NotFound,
    "method_not_found": NotFound,
    "entity_not_found": NotFound,
    "too_many_requests": RateLimited,
    "rate_limit_exceeded": RateLimited,
    "upstream_rate_limited": RateLimited,
    "bad_request": BadRequest,
    "client_bad_json": BadRequest,
    "client_bad_request": BadRequest,
    "internal_error": ServerError,
    "no_implementation_available": ServerError,
    "upstream_auth_failed": ServerError,
    "db_unavailable": ServerError,
}


# "No OCR provider configured", "OpenAI API key not configured" (protocol doc §7).
_NOT_CONFIGURED = re.compile(r"\bnot configured\b|^no\b.*\bconfigured\b", re.IGNORECASE)


def error_for(
    status: int | None,
    code: str | None,
    message: str,
    *,
    retry_after: float | None = None,
    detail: Mapping[str, Any] | None = None,
) -> APIError:
    """Build the most specific :class:`APIError` for a status, a Puter code and a message.

    A real HTTP status decides first; a code decides when the status is 200 (the older
    generation) or unknown. Puter reports an unknown model only as ``bad_request`` with
    the message "Model not found: ...", so that message picks :class:`ModelNotFound`.
    """
    cls: type[APIError] | None = None
    if status is not None and status != 200:
        cls = _BY_STATUS.get(status)
        if cls is None and status >= 500:
            cls = ServerError
    if cls is None and code:
        cls = _BY_CODE.get(code)
    if cls is None:
        cls = ServerError if status is None or status >= 500 or status == 200 else APIError
    if issubclass(BadRequest, cls) and message.lower().startswith("model not found"):
        cls = ModelNotFound
    if cls is ServerError and _NOT_CONFIGURED.search(message):
        cls = NotConfigured
    return cls(message, status=status, code=code, retry_after=retry_after, detail=detail)
