"""A chat reply of every shape Puter gives, whatever was asked (``normalize`` or not): text,
reasoning and its details, tool calls, images, in a whole reply and in a stream."""

from __future__ import annotations

from puter_magic import PuterClient
from puter_magic.sandbox import Sandbox


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


def test_the_client_reads_a_normalized_reply_with_reasoning(client: PuterClient) -> None:
    normalized = client.chat("think", model="sandbox-thinker")
    native = client.chat("think", model="sandbox-thinker", normalize=False)
    assert normalized.normalized and not native.normalized
    assert normalized.text == native.text and normalized.text.startswith("### Turn 1")
    assert normalized.reasoning == native.reasoning and normalized.reasoning.startswith("The learner sent")
    assert normalized.reasoning_details and normalized.usage == native.usage
