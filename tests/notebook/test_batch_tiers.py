"""%%puter --each at the speed of the account's tier, and hints after 429s that name the
limits in use (a guest's 20 per 10 s and 2 at once, not always a free account's)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from puter_magic.sandbox import Fault, Sandbox

from ..shell import magics_of, run

GUEST_WORDS = "a guest account may send 20 requests per 10 s, 2 at once"


@pytest.fixture
def guest(ip: InteractiveShell) -> Iterator[Sandbox]:
    """*ip* signed in to a sandbox whose account is a guest (Puter's temporary tier)."""
    with Sandbox(tier="temp", think_time=0.05) as sandbox:
        os.environ["PUTER_AUTH_TOKEN"] = sandbox.token
        _, result = run(ip, f"%puter_login --origin {sandbox.origin}")
        assert result.success, result.error_in_exec
        magics_of(ip).default_model = "sandbox-echo"
        yield sandbox


def _summary(outputs: list[dict[str, Any]]) -> str:
    return next(o["text/plain"] for o in outputs if "prompts to" in o.get("text/plain", ""))


def test_a_guests_batch_keeps_to_its_limits_from_the_start(ip: InteractiveShell, guest: Sandbox) -> None:
    ip.user_ns["xs"] = [f"x{i}" for i in range(20)]  # one guest window's worth
    outputs, result = run(ip, "%%puter --each xs --out ys\n{item}")
    assert result.success, result.error_in_exec
    assert ip.user_ns["ys"] == ip.user_ns["xs"]
    counts = guest.limits.counts
    assert (counts.too_many, counts.too_many_at_once, counts.most_at_once) == (0, 0, 2)
    assert "429" not in _summary(outputs)


def test_the_summary_after_429s_names_the_guests_limits(ip: InteractiveShell, guest: Sandbox) -> None:
    guest.inject(replace(Fault.error(429, "too_many_requests", "Too many requests."), times=2))
    ip.user_ns["xs"] = ["a", "b", "c"]
    outputs, _ = run(ip, "%%puter --each xs\n{item}")
    assert f"2 rate limits (429) waited out ({GUEST_WORDS})" in _summary(outputs)


def test_settings_win_and_are_named_as_such(ip: InteractiveShell, guest: Sandbox) -> None:
    magics = magics_of(ip)
    magics.batch_concurrency, magics.batch_rate = 1, 15
    guest.inject(Fault.error(429, "too_many_requests", "Too many requests."))
    ip.user_ns["xs"] = ["a", "b"]
    outputs, _ = run(ip, "%%puter --each xs\n{item}")
    assert "(the limits in use: 15 requests per 10 s, 1 at once)" in _summary(outputs)
    assert guest.limits.counts.most_at_once == 1


def test_a_429_warning_names_the_guests_limits(ip: InteractiveShell, guest: Sandbox) -> None:
    magics_of(ip).max_retries = 0
    run(ip, f"%puter_login --origin {guest.origin}")  # the client takes the new setting
    guest.inject(Fault.error(429, "too_many_requests", "Too many requests."))
    outputs, _ = run(ip, "%%puter\nHello")
    warning = outputs[-1]["text/plain"]
    assert warning.startswith("Puter: rate limited (too_many_requests, HTTP 429)")
    assert GUEST_WORDS in warning and "30 requests" not in warning
