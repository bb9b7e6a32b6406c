"""The sandbox's Puter limits: requests per window, requests at once, and credit (§9)."""

from __future__ import annotations

import time

import pytest
import requests

from puter_magic import PuterClient, UsageLimited
from puter_magic.sandbox import Sandbox

TOO_MANY = {"error": "Too many requests.", "message": "Too many requests.", "code": "too_many_requests"}
AT_ONCE = {
    "error": "Too many concurrent requests.",
    "message": "Too many concurrent requests.",
    "code": "too_many_requests",
}


def post(
    sandbox: Sandbox, method: str = "complete", model: str = "sandbox-echo", **args: object
) -> requests.Response:
    body = {
        "interface": "puter-chat-completion",
        "driver": "ai-chat",
        "method": method,
        "args": {"model": model, "messages": [{"role": "user", "content": "hi"}], **args},
    }
    return requests.post(
        sandbox.origin + "/drivers/call",
        json=body,
        headers={"Authorization": f"Bearer {sandbox.token}"},
        timeout=10,
        stream=bool(args.get("stream")),
    )


def test_sandbox_window_refuses_with_puters_body_and_no_headers() -> None:
    with Sandbox(rate_limit=(3, 0.6)) as sandbox:
        statuses = [post(sandbox).status_code for _ in range(3)]
        refused = post(sandbox)
        assert statuses == [200, 200, 200]
        assert refused.status_code == 429 and refused.json() == TOO_MANY
        assert "Retry-After" not in refused.headers
        assert not [h for h in refused.headers if h.lower().startswith("x-ratelimit")]
        assert post(sandbox, "models").status_code == 200  # (interface, method) has its own bucket
        time.sleep(0.65)
        assert post(sandbox).status_code == 200  # the window slid on; the refusal was not counted
        assert sandbox.limits.counts.too_many == 1


def test_sandbox_slot_is_held_until_the_stream_drains() -> None:
    with Sandbox(concurrency_limit=1, rate_limit=(3, 30.0), slow_pace=0.02) as sandbox:
        stream = post(sandbox, model="sandbox-slow", stream=True)
        assert stream.status_code == 200
        refused = post(sandbox)
        assert refused.status_code == 429 and refused.json() == AT_ONCE
        for _ in stream.iter_content(None):  # drain: the slot is freed once it is all written
            pass
        deadline = time.monotonic() + 2
        while sandbox.limits.in_flight() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert post(sandbox).status_code == 200
        # Puter checks the window before the slot: the refused request was counted.
        last = post(sandbox)
        assert last.status_code == 429 and last.json() == TOO_MANY


def test_sandbox_credit_runs_out_with_puters_402() -> None:
    with Sandbox(credit_calls=2) as sandbox:
        assert [post(sandbox).status_code for _ in range(2)] == [200, 200]
        refused = post(sandbox)
        assert refused.status_code == 402
        assert refused.headers["X-Needs-Upgrade"] == "true"
        assert refused.json() == {
            "error": "No usage left for request.",
            "message": "No usage left for request.",
            "code": "insufficient_funds",
        }
        assert post(sandbox, "models").status_code == 200  # listing models costs nothing
        with PuterClient(sandbox.origin, sandbox.token) as client, pytest.raises(UsageLimited):
            client.chat("hi", model="sandbox-echo")
