"""Pacing a batch within Puter's limits (the account's: :class:`~puter_magic.api.account.AccountLimits`):
:class:`Limiter` (see :mod:`.batch`).

At most ``concurrency`` requests in flight and ``rate`` sends per ``window`` seconds, as a
sliding log of our send times, the way Puter counts; a margin for the time a request takes
to reach the server; after a 429, a pause for everyone and a lower pace, which climbs back
once the 429s stop.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Callable

from .errors import RateLimited

__all__ = ["FORGET_AFTER", "MAX_BACKOFF", "Limiter"]

MAX_BACKOFF = 10.0  # the longest pause after a 429 without Retry-After
FORGET_AFTER = 4  # calm windows after which a limit a 429 taught is forgotten


class Limiter:
    """At most ``concurrency`` in flight and ``rate`` sends per ``window`` seconds, slowing
    down after a 429 and climbing back one step per window without one. Thread-safe."""

    def __init__(
        self,
        concurrency: int,
        rate: int | None,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sent: list[float] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency is at least 1")
        if rate is not None and (rate < 1 or window <= 0):
            raise ValueError("rate is at least 1 request per a positive window")
        self.concurrency = concurrency
        self.rate = rate
        self.window = window
        self.at_once = concurrency  # what is allowed now (lower after a 429)
        self.per_window = rate
        # Our clock starts before the server's, and one request may take longer to get
        # there than the next: leave a little room so a send does not land inside the
        # server's window of the one it replaces (doubled after a 429 that says it did).
        self.margin = 0.01 * window + 0.02
        self._clock = clock
        self._cond = threading.Condition()
        # Times of our sends, in order (the last two windows); *sent* carries them over from
        # an earlier batch, whose requests Puter still counts.
        self._sends: list[float] = sent if sent is not None else []
        self._in_flight = 0
        self._paused_until = -math.inf
        self._strikes = 0  # 429s since the last answer
        self._calm_since = clock()
        self._learnt_at_once = concurrency  # the limits a 429 taught us
        self._learnt_per_window = rate or 0
        self._closed = False

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def _delay(self, now: float) -> float:
        if now < self._paused_until:
            return self._paused_until - now
        if self._in_flight >= self.at_once:
            return math.inf  # a release wakes us
        if self.per_window is not None:
            sends = self._sends
            if sends and sends[0] < now - 2 * self.window:
                del sends[: bisect.bisect_left(sends, now - 2 * self.window)]
            horizon = self.window + self.margin
            first = bisect.bisect_right(sends, now - horizon)  # older ones are out of the window
            over = len(sends) - first - self.per_window
            if over >= 0:
                return sends[first + over] + horizon - now
        return 0.0

    def acquire(self) -> float | None:
        """Wait for a slot and a place in the window; the send's time, or None if closed."""
        with self._cond:
            while not self._closed:
                now = self._clock()
                delay = self._delay(now)
                if delay <= 0:
                    self._in_flight += 1
                    if self.per_window is not None:
                        self._sends.append(now)
                    return now
                self._cond.wait(None if delay == math.inf else delay)
            return None

    def release(self, sent: float, *, answered: bool) -> None:
        """The request sent at *sent* has ended (not with a 429)."""
        with self._cond:
            self._in_flight -= 1
            if answered:
                self._strikes = 0
                self._recover(self._clock())
            self._cond.notify_all()

    def _recover(self, now: float) -> None:
        """One step back up per calm window, up to the limits a 429 taught us; those are
        forgotten after ``FORGET_AFTER`` calm windows (the bucket may have been shared with
        another user, or with an earlier batch, for a while only)."""
        calm = now - self._calm_since
        if calm < self.window:
            return
        if calm >= FORGET_AFTER * self.window:
            self._learnt_at_once, self._learnt_per_window = self.concurrency, self.rate or 0
        changed = False
        if self.at_once < self._learnt_at_once:
            self.at_once += 1
            changed = True
        per_window, learnt = self.per_window, self._learnt_per_window
        if self.rate is not None and per_window is not None and per_window < learnt:
            self.per_window = min(learnt, per_window + max(1, self.rate // 10))
            changed = True
        if changed:
            self._calm_since = now

    def refused(self, sent: float, err: RateLimited) -> float:
        """The request sent at *sent* met a 429: slow down; returns the pause (seconds)."""
        with self._cond:
            now = self._clock()
            at_once = self._in_flight
            self._in_flight -= 1
            self._strikes += 1
            if "concurrent" in err.message.lower():
                # Puter counted it in the window before refusing the slot: keep its send.
                self.at_once = self._learnt_at_once = max(1, min(self.at_once - 1, at_once - 1))
            elif self.per_window is not None:
                try:
                    self._sends.remove(sent)  # a refused request is not counted by Puter
                except ValueError:
                    pass
                inside = sum(1 for t in self._sends if sent - self.window < t < sent)
                edge = sent - self.window - 2 * self.margin
                just_left = any(edge < t <= sent - self.window for t in self._sends)
                if just_left and inside >= self.per_window - 1:
                    # Sent as our oldest left the window, and the server still counted it:
                    # its clock runs a little behind ours. Leave more room; same pace.
                    self.margin = min(self.margin * 2, self.window / 20)
                else:
                    # Refused after `inside` of ours: the limit is about that many (a plan
                    # below the configured one). After few of ours: someone else shares the
                    # bucket, or the server is busy: step down gently and pause.
                    step = inside if inside >= self.per_window // 2 else self.per_window - 1
                    self.per_window = self._learnt_per_window = max(1, min(self.per_window - 1, step))
            base = self.window / 40 if self.rate is not None else 0.25
            pause: float = min(self.window, MAX_BACKOFF, base * 2.0 ** (self._strikes - 1))
            if err.retry_after is not None:
                pause = err.retry_after
            self._paused_until = max(self._paused_until, now + pause)
            self._calm_since = now
            self._cond.notify_all()
            return pause

    def close(self) -> None:
        """Wake every waiter; nothing more is let through."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
