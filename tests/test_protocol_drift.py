"""What the protocol became since the first docs: `service`, `normalize` and the shapes it gives,
reasoning details and images. Each test goes through what a user calls."""

from __future__ import annotations

import json
from typing import Any

import pytest

from puter_magic import PuterClient
from puter_magic.sandbox import Sandbox

from .conftest import load_transcript

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]


# -- service= (older docs) ----------------------------------------------------------------


def test_service_from_older_docs_works_on_a_current_server(client: PuterClient, sandbox: Sandbox) -> None:
    """Code written against the older docs names an old provider as `service`: a current server
    ignores that field, so the call must work as the same raw request does."""
    result = client.call(
        "puter-chat-completion", "complete", service="fake-chat", args={"model": "fake", "messages": MESSAGES}
    )
    assert result["message"]["content"][0]["text"]
    body = sandbox.calls("complete")[-1].body
    assert body["service"] == "fake-chat" and "driver" not in body


def test_service_is_sent_as_the_recorded_request_sent_it(client: PuterClient, sandbox: Sandbox) -> None:
    recorded = load_transcript("complete-service-key-only.json")
    client.call(
        "puter-chat-completion", "complete", {"model": "fake", "messages": MESSAGES}, service="ai-chat"
    )
    assert sandbox.calls("complete")[-1].body == recorded["request"]["body"]
    reply = client.chat(MESSAGES, model="fake", service="ai-chat")
    assert reply.text
    body = sandbox.calls("complete")[-1].body
    assert body["service"] == "ai-chat" and "driver" not in body


def test_chat_without_service_still_names_the_driver(client: PuterClient, sandbox: Sandbox) -> None:
    client.chat("hi", model="fake")
    body = sandbox.calls("complete")[-1].body
    assert body["driver"] == "ai-chat" and "service" not in body


@pytest.mark.parametrize("name", ["fake-chat", "ai-chat", "claude", "openai-completion"])
def test_an_old_server_reads_service_and_its_provider_aliases(name: str, legacy_sandbox: Sandbox) -> None:
    """v1 read `driver ?? service` and took every chat provider name as an alias of ai-chat."""
    with PuterClient(legacy_sandbox.origin, legacy_sandbox.token, timeout=(2, 5)) as client:
        reply = client.chat(MESSAGES, model="fake", service=name)
    assert reply.text
    assert legacy_sandbox.calls("complete")[-1].body["service"] == name


def test_an_old_server_still_refuses_an_unknown_service(legacy_sandbox: Sandbox) -> None:
    from puter_magic import NotFound

    with (
        PuterClient(legacy_sandbox.origin, legacy_sandbox.token, timeout=(2, 5)) as client,
        pytest.raises(NotFound, match="Driver not found"),
    ):
        client.chat(MESSAGES, model="fake", service="no-such-driver")


def test_recording_keys_tell_service_apart() -> None:
    import hashlib

    from puter_magic.api.recording import request_key

    plain = {"interface": "i", "method": "m", "args": {}}
    assert request_key(plain) != request_key({**plain, "service": "fake-chat"})
    # A request without `service` keeps the key it had, so older recordings still replay.
    old = json.dumps(
        {"interface": "i", "driver": None, "method": "m", "args": {}}, sort_keys=True, separators=(",", ":")
    )
    assert request_key(plain) == hashlib.sha256(old.encode()).hexdigest()


# -- every reply shape, whatever was asked ----------------------------------------------------


def png_bytes(width: int, height: int) -> bytes:
    """A real PNG of *width* × *height* grey pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def png_url(width: int = 1, height: int = 1) -> str:
    import base64

    return "data:image/png;base64," + base64.b64encode(png_bytes(width, height)).decode()


PNG_1x1 = png_url()
DETAILS = [{"type": "reasoning.text", "text": "Count first.", "signature": "sig-123", "format": "anthropic"}]


def _envelope(result: dict) -> dict:
    return {"success": True, "result": result, "service": {"name": "ai-chat"}}


def test_openai_normalized_reply_keeps_reasoning_details_and_images(
    client: PuterClient, sandbox: Sandbox
) -> None:
    from puter_magic.sandbox import Fault

    sandbox.inject(
        Fault.raw(
            _envelope(
                {
                    "message": {
                        "role": "assistant",
                        "content": "Here is a dot.",
                        "refusal": None,
                        "reasoning": "The user wants a dot.",
                        "reasoning_details": DETAILS,
                        "images": [{"type": "image_url", "image_url": {"url": PNG_1x1}}],
                    },
                    "finish_reason": "stop",
                    "usage": {"prompt_tokens": 3, "completion_tokens": 4},
                    "normalized": True,
                }
            )
        )
    )
    reply = client.chat("draw a dot", model="sandbox-tutor")
    assert reply.text == "Here is a dot." and reply.finish_reason == "stop"
    assert reply.reasoning == "The user wants a dot."
    assert reply.reasoning_details == DETAILS  # opaque: kept as sent, to send back
    assert reply.images == [{"type": "image_url", "image_url": {"url": PNG_1x1}}]
    assert reply.normalized is True


def test_native_claude_reply_with_thinking_and_tool_use(client: PuterClient, sandbox: Sandbox) -> None:
    from puter_magic.sandbox import Fault

    sandbox.inject(
        Fault.raw(
            _envelope(
                {
                    "message": {
                        "role": "assistant",
                        "content": [
                            {"type": "thinking", "thinking": "Weather needs a tool.", "signature": "s"},
                            {"type": "text", "text": "Let me check."},
                            {
                                "type": "tool_use",
                                "id": "toolu_1",
                                "name": "get_weather",
                                "input": {"city": "Paris"},
                            },
                        ],
                        "stop_reason": "tool_use",
                    },
                    "finish_reason": "stop",
                    "usage": {"input_tokens": 5, "output_tokens": 6},
                    "via_ai_chat_service": True,
                }
            )
        )
    )
    reply = client.chat("weather?", model="sandbox-tutor")
    assert reply.text == "Let me check." and reply.reasoning == "Weather needs a tool."
    assert [c["name"] for c in reply.tool_calls] == ["get_weather"] and reply.normalized is False


def test_puters_internal_normalized_shape(client: PuterClient, sandbox: Sandbox) -> None:
    """`response: {normalize: true}` on a HEAD server: a part list, tool_use inputs as JSON strings."""
    from puter_magic.sandbox import Fault

    sandbox.inject(
        Fault.raw(
            _envelope(
                {
                    "message": {
                        "role": "assistant",
                        "content": [
                            {"type": "text", "text": "Checking."},
                            {
                                "type": "tool_use",
                                "id": "call_1",
                                "name": "get_weather",
                                "input": '{"city":"Paris"}',
                            },
                        ],
                    },
                    "finish_reason": "tool_calls",
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1},
                    "normalized": True,
                }
            )
        )
    )
    reply = client.chat("weather?", model="sandbox-tutor", response={"normalize": True})
    assert reply.text == "Checking." and reply.finish_reason == "tool_calls" and reply.normalized
    assert reply.tool_calls[0]["id"] == "call_1"
    assert sandbox.calls("complete")[-1].args["response"] == {"normalize": True}


def test_stream_image_chunks_are_kept(client: PuterClient, sandbox: Sandbox) -> None:
    from puter_magic.api.chunks import ImageChunk
    from puter_magic.sandbox import Fault

    image = {"type": "image_url", "image_url": {"url": PNG_1x1}}
    sandbox.inject(
        Fault.stream(
            [
                {"type": "text", "text": "A dot: "},
                {"type": "image", "image": image},
                {"type": "usage", "usage": {"usd_cents": None}},
            ]
        )
    )
    stream = client.chat_stream("draw", model="sandbox-tutor")
    chunks = list(stream)
    assert [type(c).__name__ for c in chunks] == ["TextChunk", "ImageChunk", "UsageChunk"]
    assert isinstance(chunks[1], ImageChunk) and chunks[1].image == image
    assert stream.images == [image] and stream.reply().images == [image]


# -- the sandbox normalizes as newer servers do -------------------------------------------------


def _complete(sb: Sandbox, **args: Any) -> dict[str, Any]:
    import requests

    body = {
        "interface": "puter-chat-completion",
        "driver": "ai-chat",
        "method": "complete",
        "args": {"messages": [{"role": "user", "content": "Hello"}], **args},
    }
    resp = requests.post(
        sb.origin + "/drivers/call", json=body, headers={"Authorization": f"Bearer {sb.token}"}, timeout=5
    )
    assert resp.status_code == 200
    data: dict[str, Any] = resp.json()
    return data


def test_normalize_true_gives_openais_shape(sandbox: Sandbox) -> None:
    result = _complete(sandbox, model="sandbox-tutor", normalize=True)["result"]
    assert result["normalized"] is True and result["finish_reason"] == "stop"
    assert isinstance(result["message"]["content"], str) and "### Turn 1" in result["message"]["content"]
    native = _complete(sandbox, model="sandbox-tutor")["result"]
    assert "normalized" not in native and isinstance(native["message"]["content"], list)
    assert native["message"]["content"][0]["text"] == result["message"]["content"]


def test_normalize_false_gives_the_native_shape_of_a_new_model(sandbox: Sandbox) -> None:
    native = _complete(sandbox, model="sandbox-thinker", normalize=False)["result"]
    assert [p["type"] for p in native["message"]["content"]] == ["thinking", "text"]
    assert "normalized" not in native


def test_the_release_date_decides_when_nothing_is_asked(sandbox: Sandbox) -> None:
    """Models released on or after 2026-09-01 are normalized; older ones and Puter's test models not."""
    from puter_magic.sandbox import MODELS

    catalogue = {m["id"]: m for m in _models(sandbox)}
    for model in MODELS.values():
        result = _complete(sandbox, model=model.id)["result"]
        date = catalogue[model.id].get("release_date")
        if model.provider == "fake-chat":
            assert date is None and isinstance(result["message"]["content"], list)
            continue
        assert isinstance(date, str)
        assert result.get("normalized", False) is (date >= "2026-09-01"), model.id
    thinker = _complete(sandbox, model="sandbox-thinker")["result"]
    assert thinker["normalized"] is True and isinstance(thinker["message"]["content"], str)
    assert thinker["message"]["reasoning"].startswith("The learner sent")
    assert isinstance(thinker["message"]["reasoning_details"], list)


def test_streams_are_not_normalized(sandbox: Sandbox) -> None:
    import requests

    lines = []
    for normalize in (True, False):
        body = {
            "interface": "puter-chat-completion",
            "method": "complete",
            "args": {"model": "sandbox-thinker", "messages": ["hi"], "stream": True, "normalize": normalize},
        }
        resp = requests.post(
            sandbox.origin + "/drivers/call",
            json=body,
            headers={"Authorization": f"Bearer {sandbox.token}"},
            timeout=5,
        )
        assert resp.headers["Content-Type"] == "application/x-ndjson"
        lines.append(resp.text)
    assert lines[0] == lines[1]


def test_the_client_reads_a_normalized_reply_with_reasoning(client: PuterClient) -> None:
    normalized = client.chat("think", model="sandbox-thinker")
    native = client.chat("think", model="sandbox-thinker", normalize=False)
    assert normalized.normalized and not native.normalized
    assert normalized.text == native.text and normalized.text.startswith("### Turn 1")
    assert normalized.reasoning == native.reasoning and normalized.reasoning.startswith("The learner sent")
    assert normalized.reasoning_details and normalized.usage == native.usage


def _models(sb: Sandbox) -> list[dict[str, Any]]:
    with PuterClient(sb.origin, sb.token) as client:
        return [m.raw for m in client.models()]
