"""The sandbox answers the metering routes, reasoning options, web search, the voice changer,
video and voice lists as a real Puter does (shapes from puter-transcripts/)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from puter_magic.sandbox import Sandbox
from puter_magic.sandbox.sound import speech


@pytest.fixture
def own() -> Iterator[Sandbox]:
    """A sandbox of the test's own: what it spends does not touch the shared one."""
    with Sandbox() as sandbox:
        yield sandbox


def _get(sandbox: Sandbox, path: str, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or sandbox.token}"} if token != "" else {}
    return requests.get(sandbox.origin + path, headers=headers, timeout=10)


def _call(sandbox: Sandbox, iface: str, method: str, args: dict[str, Any]) -> requests.Response:
    return requests.post(
        sandbox.origin + "/drivers/call",
        headers={"Authorization": f"Bearer {sandbox.token}"},
        json={"interface": iface, "method": method, "args": args},
        timeout=10,
    )


def _chat(sandbox: Sandbox, model: str, prompt: str, **args: Any) -> requests.Response:
    messages = [{"role": "user", "content": prompt}]
    return _call(sandbox, "puter-chat-completion", "complete", {"model": model, "messages": messages, **args})


def test_metering_usage_has_puters_shape_for_a_new_account(own: Sandbox) -> None:
    body = _get(own, "/metering/usage").json()
    # as recorded for a new account (turn3/temp-metering-usage-before.json), $0.50 for a free one
    assert body["usage"]["total"] == 0
    assert body["appTotals"] == {}
    info = body["allowanceInfo"]
    assert info["monthUsageAllowance"] == 50_000_000 and info["remaining"] == 50_000_000
    assert "unit" not in info and info["addons"] == {}
    refused = _get(own, "/metering/usage", token="")
    assert refused.status_code == 401 and refused.json()["code"] == "token_missing"
    unknown = _get(own, "/metering/usage/no-such-app")
    assert unknown.status_code == 404 and unknown.json() == {
        "error": "App not found",
        "message": "App not found",
    }
    costs = _get(own, "/metering/allCosts").json()["costs"]
    assert all({"usageType", "ucentsPerUnit", "source"} <= set(c) for c in costs)
    assert any(c["usageType"].endswith("sandbox-tutor:output-tokens") for c in costs)


def test_a_guest_has_the_smaller_allowance_and_a_multiplier_answers_in_credits() -> None:
    with Sandbox(guest=True) as guest:
        assert _get(guest, "/whoami").json()["is_temp"] is True
        assert _get(guest, "/metering/usage").json()["allowanceInfo"]["remaining"] == 25_000_000
    with Sandbox(credit_multiplier=1000) as credits:
        _chat(credits, "sandbox-tutor", "hello")
        info = _get(credits, "/metering/usage").json()["allowanceInfo"]
        assert info["unit"] == "credits"
        assert info["monthUsageAllowance"] == 500  # $0.50 × 1000
        assert 0 < info["remaining"] < 500


def test_replies_spend_the_allowance_then_402_and_the_last_one_says_usage_limited(own: Sandbox) -> None:
    first = _chat(own, "sandbox-tutor", "hello").json()
    cost = first["result"]["usage"]["usd_cents"] * 1_000_000
    usage = _get(own, "/metering/usage").json()
    assert usage["usage"]["total"] == pytest.approx(cost)
    assert usage["allowanceInfo"]["remaining"] == pytest.approx(50_000_000 - cost)
    assert usage["appTotals"]["os-global"]["count"] == 1
    assert "usage_limited" not in first.get("metadata", {})
    own.metering.set_allowance(own.token, cost * 1.5)  # half a reply left
    last = _chat(own, "sandbox-tutor", "hello").json()
    assert last["metadata"]["usage_limited"] is True
    refused = _chat(own, "sandbox-tutor", "hello")
    assert refused.status_code == 402
    assert refused.json()["code"] == "insufficient_funds"
    assert refused.headers["X-Needs-Upgrade"] == "true"
    assert _chat(own, "fake", "hello").status_code == 402  # the gate runs for every model


def test_a_stream_that_spends_the_last_says_so_on_its_usage_line(own: Sandbox) -> None:
    own.metering.set_allowance(own.token, 1)
    resp = _chat(own, "sandbox-tutor", "hello", stream=True)
    lines = [json.loads(line) for line in resp.text.splitlines() if line.strip()]
    assert lines[-1]["type"] == "usage" and lines[-1]["metadata"] == {"usage_limited": True}


def test_an_app_token_sees_its_own_app_and_others(own: Sandbox) -> None:
    own.add_token("popup-token", app_uid="app-1234")
    _chat(own, "sandbox-tutor", "from the notebook")
    body = _get(own, "/metering/usage", token="popup-token").json()
    assert set(body["appTotals"]) == {"others"}  # this app spent nothing yet; the rest is "others"
    assert body["appTotals"]["others"]["count"] == 1
    assert body["allowanceInfo"]["remaining"] < 50_000_000  # the allowance is the account's
    assert "others" not in _get(own, "/metering/usage").json()["appTotals"]


def test_reasoning_effort_and_verbosity_are_echoed_in_both_forms(sandbox: Sandbox) -> None:
    flat = _chat(sandbox, "sandbox-tutor", "hi", reasoning_effort="high", verbosity="low").json()
    text = flat["result"]["message"]["content"][0]["text"]
    assert "| reasoning effort | high |" in text and "| verbosity | low |" in text
    nested = _chat(
        sandbox, "sandbox-tutor-lite", "hi", reasoning={"effort": "minimal"}, text={"verbosity": "high"}
    )
    said = nested.json()["result"]["message"]["content"]
    assert "Reasoning effort: minimal." in said and "Verbosity: high." in said
    plain = _chat(sandbox, "sandbox-tutor", "hi").json()["result"]["message"]["content"][0]["text"]
    assert "reasoning effort" not in plain


def test_web_search_cites_sources_and_other_models_refuse_it(sandbox: Sandbox) -> None:
    tools = [{"type": "web_search"}]
    body = _chat(sandbox, "sandbox-searcher", "list comprehensions", tools=tools).json()
    message = body["result"]["message"]
    cited = [a["url_citation"]["url"] for a in message["annotations"] if a["type"] == "url_citation"]
    assert cited and all(u.startswith("https://") for u in cited)
    assert "[1]" in message["content"]
    unsearched = _chat(sandbox, "sandbox-searcher", "list comprehensions").json()["result"]["message"]
    assert "annotations" not in unsearched and "without searching" in unsearched["content"]
    streamed = _chat(sandbox, "sandbox-searcher", "x", tools=tools, stream=True).text.splitlines()
    assert any("annotations" in json.loads(line) for line in streamed)
    refused = _chat(sandbox, "sandbox-tutor", "x", tools=tools)
    assert refused.status_code == 400
    assert refused.json()["message"] == "web_search tool requires the OpenAI Responses provider"


def test_speech_to_speech_test_mode_and_a_real_conversion(sandbox: Sandbox) -> None:
    sample = _call(sandbox, "puter-speech2speech", "convert", {"test_mode": True}).json()
    assert sample["result"] == {
        "url": sandbox.origin + "/puter-sample-data/tts_example.mp3",
        "content_type": "audio/mpeg",
    }
    assert sample["service"] == {"name": "ai-speech2speech"}
    audio = "data:audio/wav;base64," + base64.b64encode(speech("good morning")).decode()
    changed = _call(sandbox, "puter-speech2speech", "convert", {"audio": audio, "voice": "bass"})
    assert changed.headers["Content-Type"] == "audio/wav" and changed.content[:4] == b"RIFF"
    assert b"good morning" in changed.content and changed.content != speech("good morning")
    bad_voice = _call(sandbox, "puter-speech2speech", "convert", {"audio": audio, "voice": "a b"})
    assert bad_voice.status_code == 400
    by_url = _call(sandbox, "puter-speech2speech", "convert", {"audio": "https://example.org/a.mp3"})
    assert by_url.status_code == 404  # Puter reads it as a path in your storage


def test_video_test_mode_generation_and_no_provider() -> None:
    with Sandbox() as sandbox:
        sample = _call(sandbox, "puter-video-generation", "generate", {"prompt": "a cat", "test_mode": True})
        assert sample.json() == {
            "success": True,
            "result": sandbox.origin + "/puter-sample-data/txt2vid.mp4",
            "service": {"name": "ai-video"},
        }
        video = requests.get(sample.json()["result"], timeout=10)
        assert video.headers["Content-Type"] == "video/mp4" and video.content[4:8] == b"ftyp"
        sandbox.video_seconds = 0.5
        started = time.monotonic()
        made = _call(sandbox, "puter-video-generation", "generate", {"prompt": "a dog", "seconds": 7})
        assert time.monotonic() - started >= 0.5  # the request stays open while it renders
        assert made.json()["result"].endswith(".mp4")
        assert _call(sandbox, "puter-video-generation", "list", {}).json()["result"] == [
            "sandbox:sandbox/sandbox-video"
        ]
    with Sandbox(media_providers=False) as bare:
        failed = _call(bare, "puter-video-generation", "generate", {"prompt": "x", "test_mode": True})
        assert failed.status_code == 500 and failed.json()["code"] == "internal_error"
        assert _call(bare, "puter-video-generation", "list", {}).json()["result"] == []


def test_voice_lists_by_provider(sandbox: Sandbox) -> None:
    voices = _call(sandbox, "puter-tts", "list_voices", {}).json()["result"]
    assert {v["id"] for v in voices} == {"alto", "bass"}
    assert all({"id", "name", "language", "provider"} <= set(v) for v in voices)
    assert _call(sandbox, "puter-tts", "list_voices", {"provider": "openai"}).json()["result"] == []
    engines = _call(sandbox, "puter-tts", "list_engines", {"provider": "all"}).json()["result"]
    assert engines and engines[0]["provider"] == "sandbox"
