"""The sandbox's account tiers answer as Puter does for them: a guest's /whoami says is_temp,
and its two 429s come at a guest's limits with Puter's recorded bodies."""

from __future__ import annotations

import time

import requests

from puter_magic.sandbox import Sandbox

from ..recorded_puter import recorded


def _call(sandbox: Sandbox, *, stream: bool, model: str = "fake") -> requests.Response:
    body = {
        "interface": "puter-chat-completion",
        "method": "complete",
        "args": {"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]},
    }
    return requests.post(
        sandbox.origin + "/drivers/call",
        json=body,
        headers={"Authorization": f"Bearer {sandbox.token}"},
        stream=stream,
        timeout=10,
    )


def test_a_guest_is_temp_and_refused_as_recorded() -> None:
    with Sandbox(tier="temp", slow_pace=0.5) as sandbox:
        who = requests.get(
            sandbox.origin + "/whoami", headers={"Authorization": f"Bearer {sandbox.token}"}, timeout=5
        )
        assert who.json()["is_temp"] is recorded("temp-whoami.json")["body"]["is_temp"] is True
        held = [_call(sandbox, stream=True, model="sandbox-slow") for _ in range(2)]  # 2 slots in use
        third = _call(sandbox, stream=True)
        want = recorded("temp-429-too-many-concurrent.json")
        assert (third.status_code, third.json()) == (want["status"], want["body"])
        for response in held:
            response.close()
        deadline = time.monotonic() + 10
        while sandbox.limits.in_flight() and time.monotonic() < deadline:  # the slots are let go
            time.sleep(0.05)
        sandbox.limits.reset()
        answers = [_call(sandbox, stream=False) for _ in range(21)]
        assert [a.status_code for a in answers[:20]] == [200] * 20
        want = recorded("temp-429-too-many-requests.json")
        assert (answers[20].status_code, answers[20].json()) == (want["status"], want["body"])
        assert "Retry-After" not in answers[20].headers


def test_a_free_account_is_not_temp_and_has_three_slots() -> None:
    with Sandbox(tier="free") as sandbox:
        assert sandbox.account()["is_temp"] is False
        assert (sandbox.limits.rate_limit, sandbox.limits.concurrency_limit) == ((30, 10.0), 3)
