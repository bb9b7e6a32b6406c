"""Puter's AI limits in the sandbox: requests per window, requests at once, and credit.

Off unless the sandbox is started with them (``Sandbox(rate_limit=(30, 10.0),
concurrency_limit=3, credit_calls=100)``). Enforced as Puter enforces them (protocol doc §9;
``core/http/middleware/rateLimit`` and ``DriverController`` in Puter's source):

- one bucket per (interface, method) of the AI interfaces (the sandbox has one account);
- the window is a sliding log: a request is refused when ``limit`` requests were admitted
  in the last ``window`` seconds; a refused request is not recorded;
- the window is checked first and records the request; then a concurrency slot is taken,
  so a request refused for concurrency still counts in the window;
- a slot is held until the response has been written in full (a stream until it drains)
  or the client went away;
- credit is checked last, inside the driver: once ``credit_calls`` calls were admitted,
  the next answers 402 ``insufficient_funds`` with ``X-Needs-Upgrade: true`` (calls in
  flight hold their cost, as Puter reserves their worst case).

Refusals are Puter's: 429 ``too_many_requests`` "Too many requests." or "Too many
concurrent requests.", with no ``Retry-After`` and no ``X-RateLimit-*`` headers.

These gates count calls, not money: what a call costs and how much of the month's allowance
is left is the metering's (:mod:`.metering`), checked after them.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["AI_INTERFACES", "COSTLY", "TIERS", "Limits", "Refusal"]

# Puter's limits per plan (protocol doc §9): (requests, seconds) and requests at once.
TIERS: dict[str, tuple[tuple[int, float], int]] = {
    "temp": ((20, 10.0), 2),  # temp_free: a temporary (guest) account
    "free": ((30, 10.0), 3),  # user_free
    "paid": ((200, 10.0), 20),
}

# Every AI interface has its own limits per method (protocol doc §9); these spend credit.
COSTLY = frozenset(
    {
        ("puter-chat-completion", "complete"),
        ("puter-image-generation", "generate"),
        ("puter-tts", "synthesize"),
        ("puter-speech2txt", "transcribe"),
        ("puter-speech2txt", "translate"),
        ("puter-ocr", "recognize"),
        ("puter-speech2speech", "convert"),
        ("puter-video-generation", "generate"),
    }
)
AI_INTERFACES = frozenset(iface for iface, _ in COSTLY)

TOO_MANY = "Too many requests."
TOO_MANY_AT_ONCE = "Too many concurrent requests."
NO_CREDIT = "No usage left for request."


@dataclass(frozen=True)
class Refusal:
    """What the sandbox answers instead of the call."""

    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Counts:
    admitted: int = 0
    too_many: int = 0  # 429 "Too many requests."
    too_many_at_once: int = 0  # 429 "Too many concurrent requests."
    no_credit: int = 0  # 402
    most_at_once: int = 0  # the most calls in flight at one time, per bucket


def _release_nothing() -> None:
    return None


class Limits:
    """The sandbox's rate, concurrency and credit gates (thread-safe)."""

    def __init__(
        self,
        rate_limit: tuple[int, float] | None = None,
        concurrency_limit: int | None = None,
        credit_calls: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_limit is not None and (rate_limit[0] < 1 or rate_limit[1] <= 0):
            raise ValueError("rate_limit is (requests, seconds), both positive")
        if concurrency_limit is not None and concurrency_limit < 1:
            raise ValueError("concurrency_limit is at least 1")
        self.rate_limit = rate_limit
        self.concurrency_limit = concurrency_limit
        self.credit_calls = credit_calls
        self.counts = Counts()
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._in_flight: dict[tuple[str, str], int] = {}
        self._spent = 0

    @property
    def active(self) -> bool:
        return any(x is not None for x in (self.rate_limit, self.concurrency_limit, self.credit_calls))

    def admit(self, interface: str, method: str) -> tuple[Refusal | None, Callable[[], None]]:
        """Check a call's gates in Puter's order: a refusal, or None and the slot's release.

        The release must be called once the response is written (also after a refusal:
        it is then a no-op or frees the slot a credit refusal held)."""
        if interface not in AI_INTERFACES or not self.active:
            return None, _release_nothing
        key = (interface, method)
        with self._lock:
            now = self._clock()
            if self.rate_limit is not None:
                limit, window = self.rate_limit
                hits = self._hits.setdefault(key, deque())
                while hits and hits[0] < now - window:
                    hits.popleft()
                if len(hits) >= limit:
                    self.counts.too_many += 1
                    return Refusal(429, "too_many_requests", TOO_MANY), _release_nothing
                hits.append(now)
            held = self._in_flight.get(key, 0)
            if self.concurrency_limit is not None and held >= self.concurrency_limit:
                self.counts.too_many_at_once += 1
                return Refusal(429, "too_many_requests", TOO_MANY_AT_ONCE), _release_nothing
            self._in_flight[key] = held + 1
            self.counts.most_at_once = max(self.counts.most_at_once, held + 1)
            release = self._releaser(key)
            if key in COSTLY and self.credit_calls is not None:
                if self._spent >= self.credit_calls:
                    self.counts.no_credit += 1
                    refusal = Refusal(402, "insufficient_funds", NO_CREDIT, {"X-Needs-Upgrade": "true"})
                    return refusal, release
                self._spent += 1
            self.counts.admitted += 1
            return None, release

    def _releaser(self, key: tuple[str, str]) -> Callable[[], None]:
        done = False

        def release() -> None:
            nonlocal done
            with self._lock:
                if done:
                    return
                done = True
                self._in_flight[key] = max(0, self._in_flight.get(key, 0) - 1)

        return release

    def in_flight(self, interface: str = "puter-chat-completion", method: str = "complete") -> int:
        with self._lock:
            return self._in_flight.get((interface, method), 0)

    def reset(self) -> None:
        """Forget the window, the counts and the credit spent (slots in use stay held)."""
        with self._lock:
            self._hits.clear()
            self.counts = Counts()
            self._spent = 0
