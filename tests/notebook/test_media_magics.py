"""The media cells in a real IPython shell, against the sandbox."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from IPython.core.interactiveshell import InteractiveShell

from puter_magic.api.media_results import AudioResult, ImageResult, OCRResult, Transcript
from puter_magic.api.protocol import BinaryResult
from puter_magic.sandbox import Fault, Sandbox

from ..api.test_media_api import FakeFigure, _tiny_png
from ..shell import magics_of, run


def ok(ip: InteractiveShell, source: str) -> list[dict[str, Any]]:
    outputs, result = run(ip, source)
    assert result.success, result.error_in_exec or result.error_before_exec
    return outputs


def warned(outputs: list[dict[str, Any]]) -> str:
    (box,) = [o for o in outputs if "puter-warning" in o.get("text/html", "")]
    text: str = box["text/plain"]
    return text


def test_puter_image_shows_the_image_saves_it_and_keeps_it(
    signed_in: InteractiveShell, sandbox: Sandbox, tmp_path: Path
) -> None:
    target = tmp_path / "kite.png"
    signed_in.user_ns["topic"] = "kites"
    image, footer = ok(signed_in, f"%%puter_image --out pic --save {target}\nA picture about {{topic}}")
    assert sandbox.calls("generate")[0].args == {"prompt": "A picture about kites"}
    data = base64.b64decode(image["image/png"])
    assert data.startswith(b"\x89PNG") and target.read_bytes() == data
    assert set(image) == {"image/png", "text/plain"}  # a native image output: scaled to the cell, never up
    assert image["text/plain"].startswith("image/png 512×512, ")
    assert (
        footer["text/plain"].startswith("image/png 512×512, ")
        and f"saved to {target}" in footer["text/plain"]
    )
    assert 'class="puter-footer mathjax_ignore tex2jax_ignore"' in footer["text/html"]
    pic = signed_in.user_ns["pic"]
    assert isinstance(pic, ImageResult) and pic.data == data


def test_puter_image_line_form_options_and_test_mode(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    ok(signed_in, "%puter_image -m sandbox-image-url --quality low --ratio 16:9 A kite, seen from below?")
    assert sandbox.calls("generate")[0].args == {
        "prompt": "A kite, seen from below?",
        "model": "sandbox-image-url",
        "quality": "low",
        "ratio": {"w": 16, "h": 9},
    }
    image, footer = ok(signed_in, "%puter_image --test a cat")
    assert sandbox.calls("generate")[1].args == {"prompt": "a cat", "test_mode": True}
    assert base64.b64decode(image["image/png"]).startswith(b"\x89PNG")
    assert "test mode" in footer["text/plain"] and "from http://127.0.0.1" in footer["text/plain"]


def test_puter_speak_is_an_audio_player(
    signed_in: InteractiveShell, sandbox: Sandbox, tmp_path: Path
) -> None:
    player, footer = ok(
        signed_in,
        f"%%puter_speak --voice alto --provider sandbox --out hello --save {tmp_path / 'hi.wav'}\n"
        "Hello, class!",
    )
    assert sandbox.calls("synthesize")[0].args == {
        "text": "Hello, class!",
        "voice": "alto",
        "provider": "sandbox",
    }
    assert (
        player["text/html"].startswith("<audio controls") and "data:audio/wav;base64," in player["text/html"]
    )
    assert player["text/plain"].startswith("audio/wav 0.") and " s, " in player["text/plain"]
    hello = signed_in.user_ns["hello"]
    assert isinstance(hello, AudioResult) and (tmp_path / "hi.wav").read_bytes() == hello.data
    assert "sandbox · alto" in footer["text/plain"]
    ok(signed_in, "%puter_speak Is this a question?")
    assert sandbox.calls("synthesize")[1].args == {"text": "Is this a question?"}


def test_puter_transcribe_and_ocr_read_back_what_the_sandbox_made(
    signed_in: InteractiveShell, sandbox: Sandbox, tmp_path: Path
) -> None:
    ok(signed_in, "%%puter_speak --out hello\nHello from the sandbox")
    (heard,) = ok(signed_in, "%puter_transcribe hello --language en --out words")
    assert heard["text/plain"].startswith("Hello from the sandbox\n\ntranscribed from hello · ")
    shown = '<div class="puter-text" style="white-space: pre-wrap">Hello from the sandbox</div>'
    assert shown in heard["text/html"]
    words = signed_in.user_ns["words"]
    assert isinstance(words, Transcript) and [w["text"] for w in words.words] == [
        "Hello",
        "from",
        "the",
        "sandbox",
    ]
    wav = tmp_path / "hello.wav"
    wav.write_bytes(signed_in.user_ns["hello"].data)
    (translated,) = ok(signed_in, f"%puter_transcribe {wav} --translate")
    assert translated["text/plain"].startswith(f"Hello from the sandbox\n\ntranslated from {wav} · whisper-1")
    ok(signed_in, "%%puter_image --out pic\nPhotosynthesis needs light")
    (read,) = ok(signed_in, "%puter_ocr pic --provider mistral --out scan")
    assert read["text/plain"].startswith("Photosynthesis needs light\n\nread from pic · mistral")
    assert isinstance(signed_in.user_ns["scan"], OCRResult)
    assert sandbox.calls("recognize")[0].args["provider"] == "mistral"


def test_puter_with_images_attaches_them_and_says_so(
    signed_in: InteractiveShell, sandbox: Sandbox, tmp_path: Path
) -> None:
    ok(signed_in, "%%puter_image --out pic\nA kite")
    small = tmp_path / "small.png"
    small.write_bytes(_tiny_png())
    signed_in.user_ns["fig"] = FakeFigure()
    signed_in.user_ns["raw"] = _tiny_png(7, 5)
    (reply,) = ok(
        signed_in,
        f"%%puter --image pic --image {small} --image fig --image raw --no-history\nWhat do you see?",
    )
    parts = sandbox.calls("complete")[0].args["messages"][-1]["content"]
    assert parts[0] == {"type": "text", "text": "What do you see?"} and len(parts) == 5
    assert "I see 4 images" in reply["text/plain"] and "| 4 | PNG | 7×5 |" in reply["text/plain"]
    assert "with 4 images: pic (image/png, 3.82 KB), " in reply["text/plain"]
    named = f"{small} (image/png, 73 bytes), fig (image/png, 98 bytes), raw (image/png, 75 bytes)"
    assert named in reply["text/plain"]
    assert "--image" in signed_in.magics_manager.magics["cell"]["puter"].__doc__


def test_puter_call_shows_json_media_and_failures(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    voices, footer = ok(signed_in, "%puter_call puter-tts list_voices --out voices")
    assert voices["application/json"] == signed_in.user_ns["voices"] and voices["application/json"][0]["id"]
    assert voices["text/plain"].startswith("[\n  {\n") and footer["text/plain"].startswith(
        "puter-tts list_voices"
    )
    signed_in.user_ns["say"] = {"text": "hi there"}
    player, _ = ok(signed_in, "%puter_call --driver ai-tts puter-tts synthesize {say} --out raw")
    assert sandbox.calls("synthesize")[0].body["driver"] == "ai-tts"
    assert sandbox.calls("synthesize")[0].args == {"text": "hi there"}
    assert player["text/html"].startswith("<audio controls")
    assert isinstance(signed_in.user_ns["raw"], BinaryResult)
    ok(signed_in, '%puter_call puter-image-generation generate {"prompt": "json args"} --driver ai-image')
    assert sandbox.calls("generate")[0].args == {"prompt": "json args"}
    assert sandbox.calls("generate")[0].body["driver"] == "ai-image"
    sandbox.inject(Fault.raw(_tiny_png(6, 6), content_type="image/png"))
    image, _ = ok(signed_in, '%puter_call puter-image-generation generate {"prompt": "raw"}')
    assert (
        base64.b64decode(image["image/png"]) == _tiny_png(6, 6)
        and image["text/plain"] == "image/png 6×6, 75 bytes"
    )
    outputs = ok(signed_in, "%puter_call puter-nothing do")
    assert "Driver not found" in warned(outputs)


def test_media_cells_read_well_in_a_terminal(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    magics_of(signed_in).rich_output = False
    image, footer = ok(signed_in, "%puter_image -m sandbox-image-url A kite")
    assert (
        image["text/plain"].startswith("image/png 512×512, ") and "\nhttp://127.0.0.1:" in image["text/plain"]
    )
    assert footer["text/plain"].startswith("sandbox-image-url · ")  # the URL is printed once, above
    assert "http" not in footer["text/plain"]
