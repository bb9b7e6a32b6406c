"""Pure functions for Puter's ``POST /drivers/call`` wire format (no I/O).

Building a request body, turning a reply (either error generation, or a proxy's page)
into a result or a :class:`~puter_magic.api.errors.PuterError`, and reading the loosely typed
values replies carry. See ``puter-protocol.md`` in the project's shared docs.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from .errors import APIError, Hint, MalformedResponse, error_for, redact

CHAT_INTERFACE = "puter-chat-completion"
CHAT_DRIVER = "ai-chat"
IMAGE_INTERFACE = "puter-image-generation"
TTS_INTERFACE = "puter-tts"
SPEECH2TXT_INTERFACE = "puter-speech2txt"
OCR_INTERFACE = "puter-ocr"
SPEECH2SPEECH_INTERFACE = "puter-speech2speech"
VIDEO_INTERFACE = "puter-video-generation"
JSON_TYPES = ("application/json", "text/json")
NDJSON_TYPE = "application/x-ndjson"
MAX_MESSAGE_CHARS = 500


# -- loosely typed JSON values: what a reply field is, if it is what we need -------------------


def is_int(value: Any) -> TypeGuard[int]:
    """True for an int that is not a bool (JSON's true is not a count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def opt_int(value: Any) -> int | None:
    return value if is_int(value) else None


def opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def opt_number(value: Any) -> float | None:
    """A JSON number as a float (None for anything else, a bool included)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def build_call(
    interface: str,
    method: str,
    args: Mapping[str, Any] | None = None,
    *,
    driver: str | None = None,
    service: str | None = None,
) -> dict[str, Any]:
    """The JSON body of a driver call.

    ``service`` is the name older docs give the ``driver`` field. It is sent as it was given,
    as ``service``: older servers read ``driver ?? service`` (and took old provider names such
    as ``fake-chat`` as aliases), current ones ignore it and answer with the interface's
    default driver. Moved into ``driver``, an old name would be a 404 on a current server.
    Options such as ``model``, ``stream`` and ``test_mode`` belong in *args*.
    """
    if driver and service and driver != service:
        raise ValueError("give driver or service, not two different names")
    body: dict[str, Any] = {"interface": interface, "method": method, "args": dict(args or {})}
    if driver:
        body["driver"] = driver
    if service:
        body["service"] = service
    return body


def media_type(content_type: str | None) -> str:
    """``"application/json"`` from ``"application/json; charset=utf-8"``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_json_type(content_type: str | None) -> bool:
    mt = media_type(content_type)
    return mt in JSON_TYPES or mt.endswith("+json")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    import email.utils  # only for an HTTP date: the email package is not loaded with the extension

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def _as_text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    return None


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_H1 = re.compile(rb"<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")


def _page_summary(body: bytes) -> str | None:
    """A one-line summary of an HTML error page: its title or first heading."""
    import html

    for pattern in (_TITLE, _H1):
        match = pattern.search(body[:65536])
        if match:
            text = match.group(1).decode("utf-8", "replace")
            text = html.unescape(_TAGS.sub("", text)).strip()
            if text:
                return text
    return None


_EXTRA_SKIP = {"error", "message", "code", "success", "status", "$", "service"}


def error_from_body(
    status: int | None,
    body: Any,
    *,
    retry_after: float | None = None,
    secrets: Iterable[str | None] = (),
) -> APIError | None:
    """The error a decoded JSON body describes, in either generation, or None if it is none.

    - current: a real status and ``{"error": msg, "message": msg, "code": ...}``;
    - older: HTTP 200 and ``{"success": false, "error": {"code", "message", "status"?}}``;
    - older middleware: a real status and ``{"message", "code"}``.
    """
    if not isinstance(body, dict):
        return None
    secrets = tuple(secrets)
    err = body.get("error")
    if body.get("success") is False or isinstance(err, dict):
        inner = err if isinstance(err, dict) else {}
        code = _as_text(inner.get("code")) or _as_text(body.get("code"))
        message = (
            _as_text(inner.get("message"))
            or _as_text(body.get("message"))
            or _as_text(err)
            or (f"Puter refused the request ({code})" if code else "Puter refused the request")
        )
        inner_status = inner.get("status")
        real_status = status
        if is_int(inner_status) and status in (None, 200):
            real_status = inner_status
        extra = {k: v for k, v in inner.items() if k not in _EXTRA_SKIP}
    elif status is not None and status >= 400:
        code = _as_text(body.get("code"))
        message = _as_text(body.get("message")) or _as_text(err) or f"HTTP {status}"
        real_status = status
        extra = {k: v for k, v in body.items() if k not in _EXTRA_SKIP}
    else:
        return None
    detail = json.loads(redact(json.dumps(extra, default=str), secrets)) if extra else None
    return error_for(
        real_status,
        code,
        _short(redact(message, secrets)),
        retry_after=retry_after,
        detail=detail,
    )


def error_from_reply(
    status: int,
    content_type: str | None,
    body: bytes,
    *,
    retry_after: float | None = None,
    secrets: Iterable[str | None] = (),
) -> APIError:
    """The error for a non-2xx reply whatever its body: JSON, an HTML page, text or nothing."""
    secrets = tuple(secrets)
    decoded: Any = None
    if body.strip():
        try:
            decoded = json.loads(body)
        except (ValueError, RecursionError):
            decoded = None
    err = error_from_body(status, decoded, retry_after=retry_after, secrets=secrets)
    if err is not None:
        return err
    summary: str | None
    if media_type(content_type) in ("text/html", "application/xhtml+xml") or body.lstrip()[:1] == b"<":
        summary = _page_summary(body)
    else:
        summary = _as_text(body[:2000].decode("utf-8", "replace"))
    if summary:
        message = f"HTTP {status} from the server: {summary}"
    elif body.strip():
        message = f"HTTP {status} from the server"
    else:
        message = f"HTTP {status} with an empty reply"
    return error_for(status, None, _short(redact(message, secrets)), retry_after=retry_after)


def is_web_page(content_type: str | None, body: bytes = b"") -> bool:
    """True for an HTML page (by its Content-Type, or a body that starts with ``<``)."""
    return media_type(content_type) in ("text/html", "application/xhtml+xml") or body.lstrip()[:1] == b"<"


def website_error(origin: str, api_origin: str | None, status: int = 200) -> MalformedResponse:
    """The error for a web page where Puter's API answers JSON: the origin is most likely
    Puter's website (its GUI host, which serves pages) instead of its API host."""
    return MalformedResponse(
        f"{origin} answered with a web page, not JSON: this looks like Puter's website, not its API",
        status=status,
        hint=Hint.API_ORIGIN,
        hint_origin=api_origin,
    )


def usage_limited(obj: Any) -> bool:
    """Whether a reply's envelope or a stream line says the account's allowance is used up, as
    puter.js reads it: ``metadata.usage_limited: true``, or an ``insufficient_funds`` error."""
    if type(obj) is not dict:
        return False
    metadata, error = obj.get("metadata"), obj.get("error")
    if isinstance(metadata, dict) and metadata.get("usage_limited") is True:
        return True
    return isinstance(error, dict) and error.get("code") == "insufficient_funds"


def result_from_json(
    body: bytes,
    *,
    status: int = 200,
    secrets: Iterable[str | None] = (),
    envelope: bool = True,
    on_limited: Callable[[], None] | None = None,
) -> Any:
    """The ``result`` of a 2xx JSON reply, or raise the error it carries.

    With ``envelope=False`` (routes such as ``/whoami``) the whole body is the result.
    *on_limited* is called when a successful envelope says ``metadata.usage_limited: true``
    (the reply stands; the account's allowance is used up).
    """
    secrets = tuple(secrets)
    if not body.strip():
        raise MalformedResponse(f"HTTP {status} with an empty reply", status=status)
    try:
        decoded = json.loads(body)
    except RecursionError:
        raise MalformedResponse("the reply is nested too deeply to read", status=status) from None
    except ValueError as exc:
        raise MalformedResponse(
            f"the reply is not valid JSON ({type(exc).__name__} at byte {getattr(exc, 'pos', '?')})",
            status=status,
        ) from None
    err = error_from_body(status, decoded, secrets=secrets)
    if err is not None:
        raise err
    if not envelope:
        return decoded
    if not isinstance(decoded, dict):
        raise MalformedResponse(f"expected a JSON object, got {type(decoded).__name__}", status=status)
    if decoded.get("success") is not True or "result" not in decoded:
        raise MalformedResponse(
            "the reply has no result (neither success nor a known error form)", status=status
        )
    if on_limited is not None and usage_limited(decoded):
        on_limited()
    return decoded["result"]


@dataclass
class BinaryResult:
    """A driver reply that is not JSON (audio, images): its bytes and content type."""

    content: bytes = field(repr=False)
    content_type: str

    def __repr__(self) -> str:
        return f"BinaryResult(content_type={self.content_type!r}, size={len(self.content)})"
