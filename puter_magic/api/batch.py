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

Where Python has no threads (a browser: :mod:`.runtime`) the items are asked one at a
time in the calling thread, within the same limits, with progress between them.

Results come back in the input's order, one :class:`BatchItem` each, in a
:class:`BatchResult`; :class:`BatchProgress` says how far it is while it runs. Nothing raises
out of the batch except bugs.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Literal, overload

from . import runtime
from .account import AccountLimits
from .chat import ChatReply, Messages
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
from .humanize import plural
from .pacing import Limiter

__all__ = [
    "BatchItem",
    "BatchProgress",
    "BatchResult",
    "batch_pacing",
    "batch_prompts",
    "error_label",
    "one_shot",
    "pandas_index",
    "run_batch",
]

MAX_RATE_RETRIES = 10  # 429s one item may meet before it is given up (failed, RateLimited)
MAX_PAUSE = 60.0  # a Retry-After longer than this stops the batch instead of waiting
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


def pandas_index(prompts: Any) -> Any:
    """The index of a pandas Series of prompts (None for other sequences). A DataFrame is
    refused: iterating it would give its column names, not prompts."""
    pd = sys.modules.get("pandas")
    if pd is None:
        return None
    if isinstance(prompts, pd.DataFrame):
        raise TypeError(
            "chat_many takes prompts, not a DataFrame: make one per row first, e.g. "
            'df.apply(lambda row: f"Summarise {row.text}", axis=1)'
        )
    return prompts.index if isinstance(prompts, pd.Series) else None


def one_shot(prompt: Messages, system: str | None = None) -> list[dict[str, Any]]:
    """The messages of one batch item: the prompt alone (no history), after *system*."""
    from .chat import normalize_messages

    messages = normalize_messages(prompt)
    if system and not (messages and messages[0].get("role") == "system"):
        messages.insert(0, {"role": "system", "content": system})
    return messages


def batch_prompts(prompts: Any, system: str | None = None) -> tuple[list[Messages], Any]:
    """The prompts as a list, and the pandas index they came with (None: not a Series); a
    prompt that is no message fails here, before any request."""
    index = pandas_index(prompts)
    asked = list(prompts)
    for prompt in asked:
        one_shot(prompt, system)
    return asked, index


def batch_pacing(
    concurrency: int | Literal["account"],
    rate: tuple[int, float] | Literal["account"] | None,
    account: Callable[[], AccountLimits],
) -> tuple[int, tuple[int, float] | None, AccountLimits | None]:
    """How many at once, what pace (None: no pacing) and the limits that describe them (None:
    not paced), for ``chat_many``'s *concurrency* and *rate*; ``"account"`` asks *account*."""
    limits = account() if "account" in (concurrency, rate) else None
    at_once = limits.concurrency if concurrency == "account" and limits else int(concurrency)
    pace = (limits.rate, limits.window) if rate == "account" and limits else rate
    if not isinstance(pace, tuple):
        return at_once, None, None
    same = limits is not None and concurrency == rate == "account"
    in_use = limits if same else AccountLimits("custom", pace[0], float(pace[1]), at_once)
    return at_once, (pace[0], float(pace[1])), in_use


# -- what a batch gives back ------------------------------------------------------------------


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
    index: Any = None  # the pandas index of the prompts, when they came as a Series
    limits: AccountLimits | None = None  # the limits it kept to (None: not paced)

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

    def to_series(self, name: str = "reply") -> Any:
        """The replies as a pandas Series on the prompts' index (a Series' own, else 0..n-1);
        None where an item failed or was not asked, the errors in ``attrs["errors"]``.
        Needs pandas."""
        import importlib

        pd = importlib.import_module("pandas")  # only when asked for: not a dependency

        index = self.index if self.index is not None else pd.RangeIndex(len(self.items))
        series = pd.Series(self.texts, index=index, dtype=object, name=name)
        series.attrs["errors"] = {index[i]: err for i, err in self.errors.items()}
        return series

    def failure_groups(self) -> list[tuple[str, int, PuterError]]:
        """``(label, count, first error)`` per kind of failure (its class and Puter's code), the
        most frequent first: the one count of the failures, whoever words them."""
        groups: dict[tuple[type[PuterError], str | None], list[PuterError]] = {}
        for item in self.items:
            if item.reply is None and item.error is not None:
                groups.setdefault((type(item.error), item.error.code), []).append(item.error)
        ranked = sorted(groups.values(), key=len, reverse=True)
        return [(error_label(errs[0]), len(errs), errs[0]) for errs in ranked]

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
            line += f"; {plural(self.rate_limited, 'rate limit')} (429) met"
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
    waited: float = 0.0  # seconds with nothing in flight while items were left (the rate window)
    rate: tuple[int, float] | None = None  # the limit in use: requests per window of seconds

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
        """At the speed so far while sending, and never before the rate window lets the
        last items go: with *rate* = (n, w), the items after the first k·n wait until k·w
        seconds in, so a wait on the window counts down instead of freezing the estimate."""
        if not self.done or self.elapsed <= 0:
            return None
        left = self.total - self.done
        active = self.elapsed - self.waited
        speed = self.done / active if active > 0 else self.done / self.elapsed
        estimate = left / speed
        if self.rate is not None and self.rate[0] > 0 and left:
            limit, window = self.rate
            groups = (self.total - 1) // limit  # windows to wait for before the last group goes
            last_group = min(left, self.total - groups * limit)
            estimate = max(estimate, groups * window - self.elapsed + last_group / speed)
        return max(estimate, 0.0)


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

    def worker(between: Callable[[], None] | None = None) -> None:
        """Ask items until none is left or the run stops; *between* runs after each one
        (when asked in the calling thread)."""
        try:
            while not run.stopping.is_set():
                if between is not None:
                    between()
                    if run.stopping.is_set():
                        return
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
        except KeyboardInterrupt:  # only ever in the calling thread (asked inline)
            raise
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
                waited=waited[0],
                rate=(limits, window) if limits else None,
            )

    interrupted = False
    waited = [0.0]  # seconds with nothing in flight and items left: time on the rate window
    if not runtime.can_thread():
        last_progress = -math.inf

        def between() -> None:
            nonlocal interrupted, last_progress
            if stop is not None and stop.is_set():
                interrupted = True
                run.stopping.set()
                return
            now = clock()
            if on_progress is not None and now - last_progress >= progress_interval:
                last_progress = now
                on_progress(progress())

        try:
            worker(between)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            run.closed = interrupted
            run.stopping.set()
            limiter.close()
        return _result(run, items, clock() - started, interrupted, on_progress, progress)
    workers = max(1, min(concurrency, len(items)))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="puter-batch")
    futures = [pool.submit(worker) for _ in range(workers)]
    try:
        last = -math.inf
        tick = min(0.05, progress_interval)
        before = clock()
        while wait(futures, timeout=tick).not_done:
            if stop is not None and stop.is_set():
                interrupted = True
                break
            now = clock()
            if limiter.in_flight == 0 and not all(it.reply is not None or it.error for it in items):
                waited[0] += now - before  # nothing in flight, items left: the rate window (or a 429)
            before = now
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
    return _result(run, items, clock() - started, interrupted, on_progress, progress)


def _result(
    run: _Run,
    items: list[BatchItem],
    elapsed: float,
    interrupted: bool,
    on_progress: Callable[[BatchProgress], None] | None,
    progress: Callable[..., BatchProgress],
) -> BatchResult:
    if run.bug is not None:
        raise run.bug
    result = BatchResult(
        items,
        elapsed=elapsed,
        rate_limited=run.rate_limited,
        stopped="interrupted" if interrupted else ("stopped" if run.stop_error is not None else None),
        stop_error=run.stop_error,
    )
    if on_progress is not None:
        on_progress(progress(finished=True))
    return result
