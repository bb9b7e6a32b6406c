"""What Puter says of the account a token signs in as, as data: who it is (``GET /whoami``:
:class:`Account`), the limits of its tier (:class:`AccountLimits`), and what is left of its
monthly allowance (``GET /metering/usage``: :class:`Allowance`).

Puter answers ``/whoami`` with more for a full session token than for an *app token* (the
kind the sign-in popup hands a web page): an app token's answer names the app it was
minted for (``app_name``, e.g. ``app-2eed5947-...``) and carries no email. A temporary
(guest) account, the kind Puter makes on a browser's first visit, says ``is_temp``; such
an account has a smaller free allowance and Puter's tighter limits (20 requests per 10 s,
2 at once, per interface), which a caller that paces itself wants to know. Puter's
database flags may arrive as 0/1 rather than booleans.

Puter's AI limits count per user and per (interface, method) and depend on the account's
tier (protocol doc §9): a temporary (guest) account may send 20 requests per 10 s with 2 in
flight, a free account 30 and 3, a paid one 200 and 20. ``/whoami``'s ``is_temp`` is the one
sign of the tier a client can read before sending, so a guest starts at its own limits and
everyone else at a free account's (a paid plan sets its own: ``chat_many(concurrency=20,
rate=(200, 10.0))``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from .errors import MalformedResponse
from .protocol import opt_number

__all__ = [
    "FREE",
    "GUEST",
    "PAID",
    "Account",
    "AccountLimits",
    "Allowance",
    "allowance_from",
    "app_uid_for_origin",
    "limits_for",
]

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


# -- the limits of the account's tier ---------------------------------------------------------


@dataclass(frozen=True)
class AccountLimits:
    """Puter's AI limits per (interface, method): ``rate`` requests per ``window`` seconds and
    ``concurrency`` in flight. ``tier`` says whose they are: ``"guest"`` (a temporary
    account), ``"free"``, ``"paid"``, or ``"custom"`` (numbers given by the caller)."""

    tier: Literal["guest", "free", "paid", "custom"]
    rate: int
    window: float
    concurrency: int


GUEST = AccountLimits("guest", 20, 10.0, 2)
FREE = AccountLimits("free", 30, 10.0, 3)
PAID = AccountLimits("paid", 200, 10.0, 20)


def limits_for(account: Mapping[str, Any] | None) -> AccountLimits:
    """The limits of the account ``/whoami`` described: a guest's when ``is_temp`` is true,
    else a free account's (the lowest a signed-up account has; whoami names no paid plan)."""
    return GUEST if isinstance(account, Mapping) and account.get("is_temp") is True else FREE


# -- the account's monthly allowance (GET /metering/usage) ------------------------------------

MICROCENTS_PER_DOLLAR = 100_000_000


@dataclass(frozen=True)
class Allowance:
    """What Puter says of the account this month (``GET /metering/usage``).

    Amounts are in the server's unit: microcents (1 USD = 100,000,000 µ¢), or credits when
    it says ``unit: "credits"`` (a deployment with a credit multiplier). ``app_only`` is True
    when the token is an app's (the sign-in popup's), whose view of the usage by app shows
    only this app and "others".
    """

    allowance: float
    remaining: float
    used: float
    unit: str = "microcents"
    purchased: float = 0.0
    app_only: bool = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def in_credits(self) -> bool:
        return self.unit == "credits"

    def dollars(self, amount: float) -> float | None:
        """*amount* in US dollars (None when the unit is credits: the multiplier is not said)."""
        return None if self.in_credits else amount / MICROCENTS_PER_DOLLAR

    def amount(self, value: float) -> str:
        """``$0.48``, ``$0.4987``, ``$12.00`` or ``12.5 credits``: dollars to four places below
        one dollar, so that a small spend still shows."""
        if self.in_credits:
            return f"{value:,.4g} credits" if value < 1000 else f"{value:,.0f} credits"
        dollars = value / MICROCENTS_PER_DOLLAR
        if dollars >= 1 or dollars == 0:
            return f"${dollars:,.2f}"
        if dollars < 0.0001:
            return "under $0.0001"
        digits = f"{dollars:.4f}".rstrip("0")
        return "$" + (digits if len(digits.split(".")[1]) >= 2 else f"{dollars:.2f}")

    def summary(self) -> str:
        """``$0.48 of $0.50 left this month ($0.02 used)``."""
        text = f"{self.amount(self.remaining)} of {self.amount(self.allowance)} left this month"
        return text + f" ({self.amount(self.used)} used)"

    def covers(self, microcents: float) -> bool | None:
        """Whether what is left covers *microcents* (None when the unit is credits)."""
        return None if self.in_credits else self.remaining >= microcents


def allowance_from(body: Any) -> Allowance:
    """Read the body of ``GET /metering/usage`` (numbers may be missing on older records)."""
    info = body.get("allowanceInfo") if isinstance(body, Mapping) else None
    if not isinstance(info, Mapping):
        raise MalformedResponse("the usage reply has no allowanceInfo")
    total = opt_number(info.get("monthUsageAllowance"))
    remaining = opt_number(info.get("remaining"))
    if total is None or remaining is None:
        raise MalformedResponse("the usage reply does not say the allowance and what remains")
    usage = body.get("usage")
    used = opt_number(usage.get("total")) if isinstance(usage, Mapping) else None
    found = info.get("addons")
    addons: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    purchased = (opt_number(addons.get("purchasedCredits")) or 0.0) - (
        opt_number(addons.get("consumedPurchaseCredits")) or 0.0
    )
    apps = body.get("appTotals")
    return Allowance(
        allowance=total,
        remaining=remaining,
        used=used if used is not None else max(0.0, total + purchased - remaining),
        unit="credits" if info.get("unit") == "credits" else "microcents",
        purchased=max(0.0, purchased),
        app_only=isinstance(apps, Mapping) and "others" in apps,
        raw=dict(body),
    )
