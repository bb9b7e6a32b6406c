"""Many prompts at once, as fast as Puter's limits allow (:meth:`PuterClient.chat_many`).

Puter limits AI calls per user and per (interface, method): a free account may send 30
per 10 s and have 3 in flight; a paid one 200 and 20 (protocol doc §9). Over either, it
answers 429 ``too_many_requests`` ("Too many requests." or "Too many concurrent
requests."), with no ``Retry-After``. A batch therefore paces itself:

- :class:`Limiter` lets a request go only when fewer than ``concurrency`` are in flight
  and fewer than ``rate`` were sent in the last ``window`` seconds (a sliding log, as
  Puter keeps), with a small margin for the time a request takes to reach the server;
- a 429 is not retried by the transport (that would send behind the limiter's back) but
  here: the item goes back to the front of the queue, every worker pauses
  (``Retry-After`` when the server gives one, else a short backoff that doubles), and the
  pace drops (fewer at once after "concurrent"; after "Too many requests.", either a
  wider margin when it was our clock running ahead, or as many per window as we had sent
  when refused), to climb back one step per calm window;
- a failure ends only its item, except those that would end every item the same way
  (402 out of credit, 401, an unknown model, no sign-in, a spent budget; or the server or
  network failing several items in a row): then nothing more is sent, and what was done
  is kept;
- a stop event, or a KeyboardInterrupt in the calling thread, returns at once with what
  is done (replies still in flight are dropped, so a re-run asks them again).

Results come back in the input's order, one :class:`BatchItem` each; nothing raises out
of the batch except bugs.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, overload

from .chat import Messages
from .errors import (
    AuthError,
    BudgetExceeded,
    MalformedResponse,
    ModelNotFound,
    NotFound,
    NotSignedIn,
    PermissionDenied,
    PuterConnectionError,
    PuterError,
    PuterTimeout,
    RateLimited,
    RedirectRefused,
    ServerError,
    UsageLimited,
)
from .protocol import ChatReply

__all__ = ["BatchItem", "BatchProgress", "BatchResult", "Limiter", "one_shot", "run_batch"]

MAX_RATE_RETRIES = 10  # 429s one item may meet before it is given up (failed, RateLimited)
MAX_PAUSE = 60.0  # a Retry-After longer than this stops the batch instead of waiting
MAX_BACKOFF = 10.0  # the longest pause after a 429 without Retry-After
FORGET_AFTER = 4  # calm windows after which a limit a 429 taught is forgotten
DOWN = (PuterConnectionError, PuterTimeout, ServerError, MalformedResponse)  # many in a row: stop
ACCOUNT_WIDE = frozenset(
    {"permission_denied", "email_confirmation_required", "phone_verification_required"}
    | {"card_verification_required"}
)


def stops_the_batch(err: PuterError) -> bool:
    """Whether *err* would end every other item the same way (so nothing more is sent)."""
    if isinstance(err, (UsageLimited, AuthError, NotSignedIn, BudgetExceeded, ModelNotFound)):
        return True
    if isinstance(err, (NotFound, RedirectRefused)):  # a wrong origin or interface
        return True
    return isinstance(err, PermissionDenied) and err.code in ACCOUNT_WIDE


def one_shot(prompt: Messages, system: str | None = None) -> list[dict[str, Any]]:
    """The messages of one batch item: the prompt alone (no history), after *system*."""
    from .chat import normalize_messages

    messages = normalize_messages(prompt)
    if system and not (messages and messages[0].get("role") == "system"):
        messages.insert(0, {"role": "system", "content": system})
    return messages


# -- results --------------------------------------------------------------------------


@dataclass
class BatchItem:
    """One prompt of a batch and how it ended: a reply, an error, or not asked."""

    index: int
    prompt: Messages
    reply: ChatReply | None = None
    error: PuterError | None = None
    attempts: int = 0  # requests sent for it (429s included)
    elapsed: float | None = None  # seconds its answered request took

    @property
    def ok(self) -> bool:
        return self.reply is not None

    @property
    def text(self) -> str | None:
        return self.reply.text if self.reply is not None else None

    @property
    def status(self) -> str:
        """``answered``, ``failed`` or ``not asked`` (stopped or interrupted before)."""
        if self.reply is not None:
            return "answered"
        return "failed" if self.error is not None else "not asked"

    def __repr__(self) -> str:
        what = f"text={_clip(self.text or '', 60)!r}" if self.ok else f"error={self.error!r}"
        return f"BatchItem({self.index}, {self.status}, {what if self.status != 'not asked' else ''})"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_label(err: PuterError) -> str:
    """A short name for a kind of failure: Puter's code, else the class."""
    return err.code or type(err).__name__


@dataclass
class BatchResult(Sequence[BatchItem]):
    """Every item of a batch, in the input's order, and how the batch ended.

    ``stopped`` is None when every item was tried, ``"interrupted"``, or ``"stopped"``
    when an error that ends every item arrived (``stop_error``: 402, 401...).
    """

    items: list[BatchItem]
    elapsed: float = 0.0
    rate_limited: int = 0  # 429s met (and retried) along the way
    stopped: str | None = None
    stop_error: PuterError | None = None

    @overload
    def __getitem__(self, index: int) -> BatchItem: ...
    @overload
    def __getitem__(self, index: slice) -> list[BatchItem]: ...
    def __getitem__(self, index: int | slice) -> BatchItem | list[BatchItem]:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[BatchItem]:
        return iter(self.items)

    @property
    def texts(self) -> list[str | None]:
        """Each item's reply text, None where it failed or was not asked."""
        return [item.text for item in self.items]

    @property
    def errors(self) -> dict[int, PuterError]:
        """The error of each failed item, by position."""
        return {item.index: item.error for item in self.items if item.error is not None}

    @property
    def answered(self) -> int:
        return sum(1 for item in self.items if item.reply is not None)

    @property
    def failed(self) -> int:
        return sum(1 for item in self.items if item.reply is None and item.error is not None)

    @property
    def not_asked(self) -> int:
        return len(self.items) - self.answered - self.failed

    @property
    def interrupted(self) -> bool:
        return self.stopped == "interrupted"

    def failure_groups(self) -> list[tuple[str, int, PuterError]]:
        """``(label, count, first error)`` per kind of failure, the most frequent first."""
        groups: dict[str, list[PuterError]] = {}
        for item in self.items:
            if item.reply is None and item.error is not None:
                groups.setdefault(error_label(item.error), []).append(item.error)
        ranked = sorted(groups.items(), key=lambda kv: -len(kv[1]))
        return [(label, len(errs), errs[0]) for label, errs in ranked]

    def summary(self) -> str:
        """One line: answered, failed and why, not asked, time, 429s."""
        parts = [f"{self.answered} of {len(self)} answered"]
        if self.failed:
            why = ", ".join(f"{n} × {label}: {_clip(e.message, 60)}" for label, n, e in self.failure_groups())
            parts.append(f"{self.failed} failed ({why})")
        if self.not_asked:
            parts.append(f"{self.not_asked} not asked")
        line = ", ".join(parts) + f" in {self.elapsed:.1f} s"
        if self.rate_limited:
            line += f"; {self.rate_limited} rate limit{'s' if self.rate_limited > 1 else ''} (429) met"
        if self.stopped == "interrupted":
            line += "; interrupted"
        elif self.stop_error is not None:
            line += f"; stopped: {error_label(self.stop_error)}: {_clip(self.stop_error.message, 80)}"
        return line

    def __repr__(self) -> str:
        return f"<BatchResult {self.summary()}>"


@dataclass(frozen=True)
class BatchProgress:
    """How far a batch is (handed to ``on_progress`` in the calling thread)."""

    total: int
    answered: int
    failed: int
    in_flight: int
    elapsed: float
    rate_limited: int
    finished: bool = False
    max_per_second: float | None = None  # what the rate limit allows

    @property
    def done(self) -> int:
        return self.answered + self.failed

    @property
    def per_second(self) -> float | None:
        """Items done per second so far."""
        if not self.done or self.elapsed <= 0:
            return None
        return self.done / self.elapsed

    @property
    def seconds_left(self) -> float | None:
        """At the speed so far, but never faster than the rate limit allows."""
        speed = self.per_second
        if speed is None:
            return None
        if self.max_per_second:
            speed = min(speed, self.max_per_second)
        return (self.total - self.done) / speed


# -- pacing ------------------------------------------------------------------------------


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


# -- the run ---------------------------------------------------------------------------


@dataclass
class _Run:
    items: list[BatchItem]
    queue: deque[int]
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    closed: bool = False  # the caller has its result: late replies are dropped
    rate_limited: int = 0
    failures_in_a_row: int = 0  # of the server or the network, with no answer between
    stop_error: PuterError | None = None
    bug: BaseException | None = None


def run_batch(
    send: Callable[[Messages], ChatReply],
    prompts: Sequence[Messages],
    *,
    concurrency: int = 3,
    rate: tuple[int, float] | None = (30, 10.0),
    on_progress: Callable[[BatchProgress], None] | None = None,
    stop: threading.Event | None = None,
    before_send: Callable[[], None] | None = None,
    on_answer: Callable[[BatchItem], None] | None = None,
    progress_interval: float = 0.25,
    clock: Callable[[], float] = time.monotonic,
    sent: list[float] | None = None,
) -> BatchResult:
    """Ask ``send(prompt)`` for every prompt within the limits; see the module's doc.

    *on_progress* is called in this thread, at most every *progress_interval* seconds and
    once at the end. *before_send* runs before each request (raise a PuterError such as
    BudgetExceeded to stop sending); *on_answer* gets each answered item as it arrives
    (in a worker thread). Setting *stop*, or a KeyboardInterrupt here, returns
    at once with what is done. *sent* is the send times of earlier batches to the same
    server (updated in place), so that this one does not walk into their window.
    """
    started = clock()
    items = [BatchItem(i, p) for i, p in enumerate(prompts)]
    run = _Run(items, deque(range(len(items))))
    limits, window = (rate[0], float(rate[1])) if rate is not None else (None, 10.0)
    limiter = Limiter(concurrency, limits, window, clock=clock, sent=sent)
    give_up_after = max(5, 2 * concurrency)  # failures in a row: the server or network is down

    def finish(item: BatchItem, outcome: ChatReply | PuterError, took: float) -> None:
        answered = isinstance(outcome, ChatReply)
        with run.lock:
            if run.closed:  # interrupted: the caller has its result already
                return
            if isinstance(outcome, ChatReply):
                item.reply, item.error, item.elapsed = outcome, None, took
                run.failures_in_a_row = 0
                stop_now = False
            else:
                item.error = outcome
                if isinstance(outcome, DOWN):
                    run.failures_in_a_row += 1
                stop_now = stops_the_batch(outcome) or run.failures_in_a_row >= give_up_after
                if stop_now and run.stop_error is None:
                    run.stop_error = outcome
        if answered and on_answer is not None:
            on_answer(item)
        if stop_now:
            run.stopping.set()
            limiter.close()

    def attempt(item: BatchItem) -> bool:
        """Send *item* once; True if it must go back in the queue (a 429)."""
        at = limiter.acquire()
        if at is None:
            return True
        item.attempts += 1
        try:
            reply = send(item.prompt)
        except RateLimited as err:
            limiter.refused(at, err)
            with run.lock:
                run.rate_limited += 1
            too_long = err.retry_after is not None and err.retry_after > MAX_PAUSE
            if item.attempts > MAX_RATE_RETRIES or too_long:
                finish(item, err, clock() - at)
                if too_long:
                    with run.lock:
                        run.stop_error = run.stop_error or err
                    run.stopping.set()
                    limiter.close()
                return False
            return True
        except PuterError as err:
            limiter.release(at, answered=False)
            finish(item, err, clock() - at)
            return False
        except BaseException:
            limiter.release(at, answered=False)
            raise
        limiter.release(at, answered=True)
        finish(item, reply, clock() - at)
        return False

    def worker() -> None:
        try:
            while not run.stopping.is_set():
                with run.lock:
                    if not run.queue:
                        return
                    index = run.queue.popleft()
                item = items[index]
                if before_send is not None:
                    try:
                        before_send()
                    except PuterError as err:
                        with run.lock:
                            run.stop_error = run.stop_error or err
                        run.stopping.set()
                        limiter.close()
                        return
                if attempt(item):
                    with run.lock:
                        run.queue.appendleft(index)
        except BaseException as exc:  # a bug: handed to the caller's thread
            with run.lock:
                run.bug = run.bug or exc
            run.stopping.set()
            limiter.close()

    def progress(finished: bool = False) -> BatchProgress:
        with run.lock:
            answered = sum(1 for it in items if it.reply is not None)
            failed = sum(1 for it in items if it.reply is None and it.error is not None)
            return BatchProgress(
                total=len(items),
                answered=answered,
                failed=failed,
                in_flight=limiter.in_flight,
                elapsed=clock() - started,
                rate_limited=run.rate_limited,
                finished=finished,
                max_per_second=(limits / window) if limits else None,
            )

    interrupted = False
    workers = max(1, min(concurrency, len(items)))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="puter-batch")
    futures = [pool.submit(worker) for _ in range(workers)]
    try:
        last = -math.inf
        tick = min(0.05, progress_interval)
        while wait(futures, timeout=tick).not_done:
            if stop is not None and stop.is_set():
                interrupted = True
                break
            now = clock()
            if on_progress is not None and now - last >= progress_interval:
                last = now
                on_progress(progress())
        if stop is not None and stop.is_set():
            interrupted = True
    except KeyboardInterrupt:
        interrupted = True
    finally:
        with run.lock:
            run.closed = interrupted or run.closed
        run.stopping.set()
        limiter.close()
        pool.shutdown(wait=False, cancel_futures=True)
    if run.bug is not None:
        raise run.bug
    result = BatchResult(
        items,
        elapsed=clock() - started,
        rate_limited=run.rate_limited,
        stopped="interrupted" if interrupted else ("stopped" if run.stop_error is not None else None),
        stop_error=run.stop_error,
    )
    if on_progress is not None:
        on_progress(progress(finished=True))
    return result
