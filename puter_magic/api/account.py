"""Who a token signs in as: the account ``GET /whoami`` describes, as data.

Puter answers ``/whoami`` with more for a full session token than for an *app token* (the
kind the sign-in popup hands a web page): an app token's answer names the app it was
minted for (``app_name``, e.g. ``app-2eed5947-...``) and carries no email. A temporary
(guest) account, the kind Puter makes on a browser's first visit, says ``is_temp``; such
an account has a smaller free allowance and Puter's tighter limits (20 requests per 10 s,
2 at once, per interface), which a caller that paces itself wants to know. Puter's
database flags may arrive as 0/1 rather than booleans.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Account", "app_uid_for_origin"]

# The namespace Puter derives an origin's app uid with (AuthService.appUidFromOrigin).
APP_UID_NAMESPACE = uuid.UUID("33de3768-8ee0-43e9-9e73-db192b97a5d8")


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Account:
    """The signed-in account, read from a ``/whoami`` answer.

    Attributes:
        username: the account's name (a guest's is made up, e.g. ``quiet_fox_4821``).
        uuid: the account's id.
        is_temp: a temporary (guest) account: no email, no password, a small allowance.
        app_name: for an app token, the uid of the app it was minted for; None for a
            session or access token.
        email_confirmed: whether the account confirmed an email (None: not said).
        details: the whole answer, for anything else a caller wants.
    """

    username: str | None = None
    uuid: str | None = None
    is_temp: bool = False
    app_name: str | None = None
    email_confirmed: bool | None = None
    details: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_whoami(cls, answer: dict[str, Any]) -> Account:
        return cls(
            username=_text(answer.get("username")),
            uuid=_text(answer.get("uuid")),
            is_temp=_flag(answer.get("is_temp")) is True,
            app_name=_text(answer.get("app_name")),
            email_confirmed=_flag(answer.get("email_confirmed")),
            details=dict(answer),
        )

    @property
    def guest(self) -> bool:
        """A temporary account (``is_temp``): Puter's guest, made without an email."""
        return self.is_temp

    @property
    def app_token(self) -> bool:
        """Whether the token is an app token (minted for one web origin's app)."""
        return self.app_name is not None


def app_uid_for_origin(origin: str) -> str:
    """The uid Puter gives the app of a web origin that is no registered app.

    ``app-`` + UUIDv5 of the origin normalised to ``scheme://host[:port]``, e.g.
    ``http://localhost:8888`` -> ``app-2eed5947-eadd-5a16-9ee1-a90baebf41cb``.
    """
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) origin: {origin!r}")
    host = parts.hostname.lower()
    default = 443 if parts.scheme == "https" else 80
    netloc = host if parts.port in (None, default) else f"{host}:{parts.port}"
    return "app-" + str(uuid.uuid5(APP_UID_NAMESPACE, f"{parts.scheme}://{netloc}"))
