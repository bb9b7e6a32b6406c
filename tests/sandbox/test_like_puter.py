"""The sandbox answers like a real self-hosted Puter: same requests, same replies."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import time
from typing import Any

import pytest
import requests

from puter_magic.sandbox import MODELS, Fault, Sandbox

from ..conftest import load_transcript, transcript_names


def _replay(sb: Sandbox, name: str, host_override: str | None = None) -> requests.Response:
    """Send a recorded request to the sandbox (its token for <TOKEN>)."""
    req = load_transcript(name)["request"]
    headers = {k: v for k, v in req["headers"].items() if k != "Host"}
    if "Authorization" in headers:
        headers["Authorization"] = (
            headers["Authorization"]
            .replace("<TOKEN>", sb.token)
            .replace("<a well-formed JWT whose signature is wrong>", "aaa.bbb.ccc")
        )
    if host_override:
        headers["Host"] = host_override
    body = req["body"]
    data = (
        body.encode() if isinstance(body, str) else (json.dumps(body).encode() if body is not None else None)
    )
    return requests.request(
        req["method"],
        f"http://127.0.0.1:{sb.port}" + req["path"],
        data=data,
        headers=headers,
        timeout=5,
    )


@pytest.mark.parametrize(
    "name",
    [n for n in transcript_names("error-") if n != "error-wrong-host.json"] + ["whoami-no-token.json"],
)
def test_errors_match_the_real_server(name: str, sandbox: Sandbox) -> None:
    recorded = load_transcript(name)["response"]
    resp = _replay(sandbox, name)
    assert resp.status_code == recorded["status"]
    assert resp.headers["Content-Type"] == recorded["content_type"]
    assert resp.json() == json.loads(recorded["body"])


def test_wrong_host_matches_the_real_server() -> None:
    recorded = load_transcript("error-wrong-host.json")["response"]
    with Sandbox(api_host="api.puter.localhost") as sb:
        resp = _replay(sb, "error-wrong-host.json", host_override=f"puter.localhost:{sb.port}")
        assert (resp.status_code, resp.json()) == (recorded["status"], json.loads(recorded["body"]))
        ok = _replay(sb, "complete-fake.json", host_override=f"api.puter.localhost:{sb.port}")
        assert ok.status_code == 200


def _shape(value: Any) -> Any:
    """Keys and types, not values."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items() if k != "id"}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


@pytest.mark.parametrize(
    "name",
    [
        "complete-fake.json",
        "complete-costly.json",
        "complete-service-key-only.json",
        "list.json",
        "whoami.json",
    ],
)
def test_successes_have_the_real_shape(name: str, sandbox: Sandbox) -> None:
    recorded = load_transcript(name)["response"]
    resp = _replay(sandbox, name)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == recorded["content_type"]
    mine, real = resp.json(), json.loads(recorded["body"])
    if name == "whoami.json":
        assert {"username", "uuid", "email", "email_confirmed", "is_temp"} <= set(mine)
    elif name == "list.json":
        assert set(real["result"]) <= set(mine["result"]) and mine["result"] == sorted(mine["result"])
    else:
        assert _shape(mine) == _shape(real)


def test_models_carry_the_self_hosted_fields_for_test_models(sandbox: Sandbox) -> None:
    real = {m["id"]: m for m in json.loads(load_transcript("models.json")["response"]["body"])["result"]}
    resp = _replay(sandbox, "models.json")
    mine = {m["id"]: m for m in resp.json()["result"]}
    for model_id, entry in real.items():
        assert mine[model_id] == entry


@pytest.mark.parametrize("name", ["complete-stream-fake.json", "complete-stream-costly.json"])
def test_streams_match_the_real_framing(name: str, sandbox: Sandbox) -> None:
    recorded = load_transcript(name)["response"]
    resp = _replay(sandbox, name)
    assert resp.headers["Content-Type"] == recorded["content_type"]
    assert resp.headers["Transfer-Encoding"] == "chunked"
    lines = [json.loads(line) for line in resp.text.splitlines()]
    real = [json.loads(line) for line in recorded["body"].splitlines()]
    assert [line["type"] for line in lines] == [line["type"] for line in real] == ["text", "usage"]
    assert lines[-1] == real[-1]
    assert resp.text.endswith("\n")


def test_public_catalogue_hides_test_models(sandbox: Sandbox) -> None:
    ids = requests.get(sandbox.origin + "/puterai/chat/models", timeout=5).json()["models"]
    assert "fake" not in ids and "sandbox-tutor" in ids
    details = requests.get(sandbox.origin + "/puterai/chat/models/details", timeout=5).json()["models"]
    assert {d["id"] for d in details} == set(ids)


def test_list_interfaces(sandbox: Sandbox) -> None:
    resp = requests.get(
        sandbox.origin + "/drivers/list-interfaces",
        headers={"Authorization": f"Bearer {sandbox.token}"},
        timeout=5,
    )
    assert resp.json()["puter-chat-completion"] == {"drivers": ["ai-chat"], "default": "ai-chat"}


def _call(sb: Sandbox, body: Any, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or sb.token}"}
    return requests.post(sb.origin + "/drivers/call", json=body, headers=headers, timeout=30)


def test_token_sources_match_puter(sandbox: Sandbox) -> None:
    body = {"interface": "puter-chat-completion", "method": "list"}
    for kwargs in (
        {"headers": {"Authorization": sandbox.token}},
        {"headers": {"x-api-key": sandbox.token}},
        {"params": {"auth_token": sandbox.token}},
    ):
        assert requests.post(sandbox.origin + "/drivers/call", json=body, timeout=5, **kwargs).ok
    assert requests.post(
        sandbox.origin + "/drivers/call", json={**body, "auth_token": sandbox.token}, timeout=5
    ).ok
    basic = requests.post(
        sandbox.origin + "/drivers/call",
        json=body,
        timeout=5,
        headers={"Authorization": "Basic eDp5"},
    )
    assert basic.json()["code"] == "token_missing"


def test_legacy_generation_and_service_key(legacy_sandbox: Sandbox) -> None:
    resp = _call(
        legacy_sandbox,
        {
            "interface": "puter-chat-completion",
            "method": "complete",
            "service": "no-such-driver",
            "args": {"model": "fake", "messages": [{"content": "x"}]},
        },
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["success"] is False and body["error"]["code"] == "no_implementation_available"
    assert body["error"]["status"] == 404
    ok = _call(
        legacy_sandbox,
        {
            "interface": "puter-chat-completion",
            "method": "complete",
            "service": "ai-chat",
            "args": {"model": "fake", "messages": [{"content": "x"}]},
        },
    )
    assert ok.json()["success"] is True
    unauth = _call(legacy_sandbox, {"interface": "x", "method": "y"}, token="nope")
    assert unauth.status_code == 401 and "error" not in unauth.json()


def test_teaching_model_makes_the_conversation_visible(sandbox: Sandbox) -> None:
    messages = [
        {"role": "system", "content": "Answer like a pirate"},
        {"role": "user", "content": "First?"},
        {"role": "assistant", "content": "..."},
        {"role": "user", "content": "Second?"},
    ]
    resp = _call(
        sandbox,
        {
            "interface": "puter-chat-completion",
            "driver": "ai-chat",
            "method": "complete",
            "args": {"model": "sandbox-tutor", "messages": messages, "temperature": 0.5},
        },
    )
    text = resp.json()["result"]["message"]["content"][0]["text"]
    assert text.startswith("### Turn 2 · Sandbox Tutor")
    for needle in (
        "> Second?",
        "| messages | 4 |",
        "| your questions so far | 2 |",
        "| my earlier answers | 1 |",
        "| system prompt | Answer like a pirate |",
        "| temperature | 0.5 |",
        "1. `First?`",
        "```python",
        "$x_1 + x_2",
    ):
        assert needle in text, needle
    again = _call(
        sandbox,
        {
            "interface": "puter-chat-completion",
            "driver": "ai-chat",
            "method": "complete",
            "args": {"model": "sandbox-tutor", "messages": messages, "temperature": 0.5},
        },
    )
    assert again.json()["result"]["message"]["content"][0]["text"] == text  # deterministic


def test_stream_pace_and_many_chunks(sandbox: Sandbox) -> None:
    sandbox.pace = 0.01
    started = time.monotonic()
    resp = requests.post(
        sandbox.origin + "/drivers/call",
        stream=True,
        timeout=5,
        headers={"Authorization": f"Bearer {sandbox.token}"},
        json={
            "interface": "puter-chat-completion",
            "driver": "ai-chat",
            "method": "complete",
            "args": {"model": "sandbox-tutor", "messages": [{"content": "hi"}], "stream": True},
        },
    )
    arrivals = [
        (time.monotonic() - started, json.loads(line)) for line in resp.iter_lines(chunk_size=1) if line
    ]
    assert len(arrivals) > 50
    assert arrivals[-1][1]["type"] == "usage" and arrivals[-1][1]["usage"]["output_tokens"] > 0
    assert arrivals[-1][0] - arrivals[0][0] >= 0.01 * (len(arrivals) - 1) * 0.9


def test_faults_are_one_shot_and_recorded(sandbox: Sandbox) -> None:
    sandbox.inject(Fault.error(503, "db_unavailable", "Database degraded", retry_after=5))
    first = _call(sandbox, {"interface": "puter-chat-completion", "method": "list"})
    assert first.status_code == 503 and first.headers["Retry-After"] == "5"
    assert _call(sandbox, {"interface": "puter-chat-completion", "method": "list"}).ok
    assert [r.status for r in sandbox.calls()] == [503, 200]
    assert all(r.token == sandbox.token for r in sandbox.calls())
    assert sandbox.token not in repr(sandbox.calls())


def test_only_loopback() -> None:
    with pytest.raises(ValueError):
        Sandbox(host="0.0.0.0")


def test_binary_tts(sandbox: Sandbox) -> None:
    resp = _call(sandbox, {"interface": "puter-tts", "method": "synthesize", "args": {"text": "hi"}})
    assert resp.headers["Content-Type"] == "audio/wav" and resp.content[:4] == b"RIFF"


def test_every_model_answers_both_ways(sandbox: Sandbox) -> None:
    for model_id in MODELS:
        if model_id == "sandbox-slow":
            continue
        args = {"model": model_id, "messages": [{"content": "hello there"}]}
        plain = _call(sandbox, {"interface": "puter-chat-completion", "method": "complete", "args": args})
        assert plain.json()["success"] is True, model_id
        streamed = _call(
            sandbox,
            {
                "interface": "puter-chat-completion",
                "method": "complete",
                "args": {**args, "stream": True},
            },
        )
        assert streamed.headers["Content-Type"] == "application/x-ndjson"


def test_command_line_prints_origin_and_token() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "puter_magic.sandbox"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        origin = lines[1].strip().split("=", 1)[1]
        token = lines[2].strip().split("=", 1)[1]
        assert origin.startswith("http://127.0.0.1:") and token.startswith("sandbox-")
        who = requests.get(origin + "/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert who.json()["username"] == "learner"
    finally:
        proc.terminate()
        proc.wait(10)


def test_authme_page_asks_then_redirects_with_the_token(sandbox: Sandbox) -> None:
    redirect = "http://127.0.0.1:9/cb/"
    page = requests.get(sandbox.origin + "/", params={"action": "authme", "redirectURL": redirect}, timeout=5)
    assert page.status_code == 200 and "Sign in to the Puter sandbox" in page.text
    assert sandbox.token not in page.text  # only the redirect after "Allow" carries it
    allow = re.search(r'id="allow" href="([^"]+)"', page.text)
    assert allow is not None
    approved = requests.get(sandbox.origin + html.unescape(allow.group(1)), allow_redirects=False, timeout=5)
    assert approved.status_code == 302
    assert approved.headers["Location"] == f"{redirect}?token={sandbox.token}"
    refused = requests.get(
        sandbox.origin + "/", timeout=5, params={"action": "authme", "redirectURL": "https://evil.example/"}
    )
    assert refused.status_code == 400


def test_earlier_questions_are_listed_as_written(sandbox: Sandbox) -> None:
    """An earlier question with math, braces or backticks is listed verbatim in a code span:
    no doubled backslash, no half a math span, no unpaired backtick (as the demo once showed)."""
    from puter_magic.notebook.markup import to_html

    first = "Keep $\\frac{a}{b}$ and `{'key': 1}` as they are, please, in a longer question than that"
    messages = [first, {"role": "assistant", "content": "ok"}, "And now?"]
    resp = _call(
        sandbox,
        {
            "interface": "puter-chat-completion",
            "method": "complete",
            "args": {"model": "sandbox-tutor", "messages": messages},
        },
    )
    text = resp.json()["result"]["message"]["content"][0]["text"]
    line = next(x for x in text.splitlines() if x.startswith("1. "))
    assert line.startswith("1. ``Keep $\\frac{a}{b}$ and `{'key': 1}`") and line.endswith("…``"), line
    assert "\\\\frac" not in text
    assert "<code>Keep $\\frac{a}{b}$ and `{'key': 1}`" in to_html(line)


def test_a_long_prompt_is_quoted_with_its_end(sandbox: Sandbox) -> None:
    """%puter_explain's prompt ends with the error itself: the tutor's quote keeps the end."""
    prompt = "Explain this, please. " * 60 + "\nNameError: name 'score' is not defined"
    args = {"model": "sandbox-tutor", "messages": [prompt]}
    resp = _call(sandbox, {"interface": "puter-chat-completion", "method": "complete", "args": args})
    text = resp.json()["result"]["message"]["content"][0]["text"]
    assert "NameError: name 'score' is not defined" in text and "…" in text


def test_a_huge_streamed_reply_does_not_crawl(sandbox: Sandbox) -> None:
    """At the in-kernel sandbox's pace a 300,000-character echo would take minutes word by
    word; it is sped up to finish within a few seconds (sandbox-slow stays slow on purpose)."""
    sandbox.pace = 0.015
    big = "word " * 60_000
    args = {"model": "sandbox-echo", "messages": [big], "stream": True}
    started = time.monotonic()
    resp = _call(sandbox, {"interface": "puter-chat-completion", "method": "complete", "args": args})
    assert resp.ok and len(resp.content) > 300_000
    assert time.monotonic() - started < 10
