"""Batches at the speed of the account's tier: a guest (``is_temp``) starts at 20 per 10 s and
2 at once, a free account at 30 and 3, so a batch provokes no 429 from the start."""

from __future__ import annotations

import json

import pytest

from puter_magic import PuterClient
from puter_magic.api.account import FREE, GUEST, AccountLimits, limits_for
from puter_magic.api.errors import RateLimited
from puter_magic.api.pacing import Limiter
from puter_magic.api.protocol import error_from_reply
from puter_magic.sandbox import Sandbox

from ..recorded_puter import RecordedPuter, recorded


def test_a_recorded_guest_is_known_from_whoami(recorded_puter: RecordedPuter) -> None:
    with PuterClient(recorded_puter.origin, "recorded-token") as client:
        assert client.account_limits() == GUEST == AccountLimits("guest", 20, 10.0, 2)
    assert limits_for(recorded("temp-whoami.json")["body"]) is GUEST
    assert limits_for({"username": "admin", "is_temp": False}) is FREE == AccountLimits("free", 30, 10.0, 3)


@pytest.mark.parametrize(("tier", "limits"), [("temp", GUEST), ("free", FREE)])
def test_a_batch_starts_at_its_tiers_limits_and_meets_no_429(tier: str, limits: AccountLimits) -> None:
    with Sandbox(tier=tier, think_time=0.05) as sandbox, PuterClient(sandbox.origin, sandbox.token) as client:
        prompts = [f"item {i}" for i in range(limits.rate)]  # one window's worth: no wait needed
        result = client.chat_many(prompts, model="sandbox-echo")
        counts = sandbox.limits.counts
    assert result.texts == prompts
    assert result.limits == limits
    assert (result.rate_limited, counts.too_many, counts.too_many_at_once) == (0, 0, 0)
    assert counts.most_at_once == limits.concurrency  # it used what the tier allows, no more


def test_given_numbers_are_kept_and_named_custom(sandbox: Sandbox, client: PuterClient) -> None:
    result = client.chat_many(["a", "b"], model="sandbox-echo", concurrency=5, rate=(50, 10.0))
    assert result.limits == AccountLimits("custom", 50, 10.0, 5)
    assert client.chat_many(["a"], model="sandbox-echo", rate=None).limits is None


def _refusal(name: str) -> RateLimited:
    """Puter's own 429, as recorded for a guest (its two wordings)."""
    exchange = recorded(name)
    err = error_from_reply(exchange["status"], "application/json", json.dumps(exchange["body"]).encode())
    assert isinstance(err, RateLimited)
    return err


def test_a_refusal_for_concurrency_does_not_lower_the_believed_rate() -> None:
    now = [0.0]
    limiter = Limiter(3, 20, 10.0, clock=lambda: now[0])
    sends = [limiter.acquire() for _ in range(3)]
    limiter.refused(sends[2], _refusal("temp-429-too-many-concurrent.json"))
    assert (limiter.at_once, limiter.per_window) == (2, 20)
    assert len(limiter._sends) == 3  # Puter counted the refused one in its window
    for sent in sends[:2]:
        limiter.release(sent, answered=True)
    now[0] = 0.5
    more = []
    while (wait := limiter._delay(now[0])) == 0:
        sent = limiter.acquire()
        assert sent is not None
        more.append(sent)
        limiter.release(sent, answered=True)
    assert len(more) + 3 == 20 and wait > 9  # the window holds 20, the refused one among them


def test_a_refusal_for_the_rate_lowers_it_to_what_was_counted() -> None:
    now = [0.0]
    limiter = Limiter(3, 30, 10.0, clock=lambda: now[0])
    for i in range(21):
        now[0] = i * 0.01
        sent = limiter.acquire()
        assert sent is not None
        if i < 20:
            limiter.release(sent, answered=True)
    limiter.refused(sent, _refusal("temp-429-too-many-requests.json"))  # the 21st: a guest's window
    assert (limiter.per_window, limiter.at_once) == (20, 3)
