"""Images, speech, OCR and vision from plain Python, against the sandbox."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
import requests

from puter_magic import PuterClient
from puter_magic.api.errors import BadRequest, NotFound
from puter_magic.api.media import MediaInputError, PuterPath
from puter_magic.api.media_results import AudioResult, ImageResult
from puter_magic.sandbox import Sandbox

from ..conftest import run_without_notebook_libraries

MB = 1024 * 1024


def _without_text_chunks(png: bytes) -> bytes:
    """The same PNG without its iTXt/tEXt chunks, as an image editor might save it."""
    out, pos = [png[:8]], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        if kind not in (b"iTXt", b"tEXt"):
            out.append(png[pos : pos + 12 + length])
        pos += 12 + length
    return b"".join(out)


def _tiny_png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


# -- txt2img --------------------------------------------------------------------------------------


def test_txt2img_returns_the_image_of_a_data_url_reply(client: PuterClient, sandbox: Sandbox) -> None:
    image = client.txt2img("A red kite over a green hill")
    assert isinstance(image, ImageResult)
    assert image.content_type == "image/png" and image.url is None
    assert image.data.startswith(b"\x89PNG") and image.dimensions == (512, 512)
    assert sandbox.calls("generate")[0].body == {
        "interface": "puter-image-generation",
        "method": "generate",
        "args": {"prompt": "A red kite over a green hill"},
    }
    bundle = image._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]) == image.data
    assert bundle["text/plain"].startswith("image/png 512×512, ") and "KB" in bundle["text/plain"]
    assert len(bundle["text/plain"]) < 80  # a name and a size, never a base64 dump


def test_txt2img_options_and_the_url_reply_form(
    client: PuterClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    image = client.txt2img("wide", model="sandbox-image-url", quality="low", ratio="16:9", seed=7)
    assert sandbox.calls("generate")[0].args == {
        "prompt": "wide",
        "model": "sandbox-image-url",
        "quality": "low",
        "ratio": {"w": 16, "h": 9},
        "seed": 7,
    }
    assert image.url is not None and image.url.startswith(sandbox.origin + "/puter-generated/")
    assert image.data.startswith(b"\x89PNG") and image.dimensions == (256, 144)
    saved = image.save(tmp_path / "wide.png")
    assert saved.read_bytes() == image.data and [p.name for p in tmp_path.iterdir()] == ["wide.png"]
    assert client.txt2img("t", test_mode=True).url == sandbox.origin + "/puter-sample-data/image_example.png"
    with pytest.raises(MediaInputError, match="ratio"):
        client.txt2img("x", ratio="wide")
    assert len(sandbox.calls("generate")) == 2


# -- OCR --------------------------------------------------------------------------------------------


def test_ocr_reads_the_prompt_back_in_both_reply_shapes(client: PuterClient, sandbox: Sandbox) -> None:
    image = client.txt2img("Photosynthesis needs light")
    textract = client.img2txt(image)
    assert textract.text == "Photosynthesis needs light"
    assert textract.blocks[0]["type"] == "text/textract:LINE" and textract.pages == []
    mistral = client.img2txt(image.data, provider="mistral")
    assert mistral.text == "Photosynthesis needs light" and mistral.model == "mistral-ocr-latest"
    assert mistral.pages[0]["markdown"] == "Photosynthesis needs light"
    sent = sandbox.calls("recognize")[1].args
    assert sent["provider"] == "mistral" and sent["source"].startswith("data:image/png;base64,")


def test_sandbox_ocr_reads_the_pixels_when_the_text_chunk_is_gone(client: PuterClient) -> None:
    image = client.txt2img("Two cats, 3 dogs!", quality="high")
    stripped = _without_text_chunks(image.data)
    assert b"iTXt" not in stripped
    assert client.img2txt(stripped).text == "TWO CATS, 3 DOGS!"


# -- speech ------------------------------------------------------------------------------------------


def test_txt2speech_is_raw_audio_bytes_with_the_servers_type(client: PuterClient, sandbox: Sandbox) -> None:
    raw = requests.post(
        sandbox.origin + "/drivers/call",
        json={"interface": "puter-tts", "method": "synthesize", "args": {"text": "Hello there"}},
        headers={"Authorization": f"Bearer {sandbox.token}"},
        timeout=5,
    )
    assert raw.headers["Content-Type"] == "audio/wav" and raw.headers["Transfer-Encoding"] == "chunked"
    assert raw.content[:4] == b"RIFF"  # no envelope
    audio = client.txt2speech("Hello there", voice="alto", provider="sandbox", language="en")
    assert isinstance(audio, AudioResult)
    assert audio.content_type == "audio/wav" and audio.url is None and audio.data == raw.content
    assert audio.duration is not None and 0.2 < audio.duration < 1.0
    assert sandbox.calls("synthesize")[-1].args == {
        "text": "Hello there",
        "voice": "alto",
        "provider": "sandbox",
        "language": "en",
    }
    bundle = audio._repr_mimebundle_()
    assert bundle["text/html"].startswith('<audio controls preload="metadata" src="data:audio/wav;base64,')
    assert bundle["text/plain"].startswith("audio/wav 0.") and "KB" in bundle["text/plain"]


def test_speech2txt_hears_the_sandboxs_speech_from_every_input_form(
    client: PuterClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    sentence = "Hello from the sandbox"
    audio = client.txt2speech(sentence)
    path = tmp_path / "hello.wav"
    path.write_bytes(audio.data)
    data_url = "data:audio/wav;base64," + base64.b64encode(audio.data).decode()
    for source in (audio, audio.data, path, str(path), path.open("rb"), io.BytesIO(audio.data), data_url):
        heard = client.speech2txt(source)
        assert heard.text == sentence, source
    assert heard.model == "gpt-4o-mini-transcribe" and heard.language == "en"
    assert [w["text"] for w in heard.words] == sentence.split()
    assert heard.duration == pytest.approx(audio.duration, abs=0.01)
    assert sandbox.calls("transcribe")[-1].args["file"] == data_url  # a data URL passes through as it is
    assert client.speech2txt(audio, response_format="text").text == sentence  # a bare string reply
    verbose = client.speech2txt(audio, model="whisper-1", response_format="verbose_json")
    assert verbose.segments and verbose.segments[0]["text"] == sentence
    translated = client.speech2txt(audio, translate=True, language="en")
    assert translated.model == "whisper-1" and sandbox.calls("translate")[0].args["language"] == "en"


# -- inputs ------------------------------------------------------------------------------------------------


def test_https_urls_and_puter_paths_are_sent_for_puter_to_read(client: PuterClient, sandbox: Sandbox) -> None:
    with pytest.raises(BadRequest, match="fetches nothing"):
        client.img2txt("https://example.org/scan.png")
    assert sandbox.calls("recognize")[0].args == {"source": "https://example.org/scan.png"}
    for source in (PuterPath("~/Desktop/talk.wav"), "puter:~/Desktop/talk.wav"):
        with pytest.raises(NotFound):
            client.speech2txt(source)
    assert [c.args["file"] for c in sandbox.calls("transcribe")] == ["~/Desktop/talk.wav"] * 2


def test_inputs_over_puters_limits_are_refused_before_sending(
    client: PuterClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    big = tmp_path / "lecture.wav"
    with big.open("wb") as handle:  # sparse: 26 MB on paper, nothing on disk
        handle.truncate(26 * MB)
    with pytest.raises(MediaInputError, match=r"lecture.wav is 27.3 MB, over Puter's 25 MB limit for speech"):
        client.speech2txt(big)
    with pytest.raises(MediaInputError, match=r"25 MB limit for the voice changer \("):
        client.speech2speech(big, voice="bass")  # its own limit, named as its own
    scan = b"\x89PNG\r\n\x1a\n" + bytes(10 * MB)
    with pytest.raises(MediaInputError, match="over Puter's 10 MB limit for OCR"):
        client.img2txt(scan)
    with pytest.raises(MediaInputError, match="10 MB limit for OCR"):
        client.img2txt("data:image/png;base64," + base64.b64encode(scan).decode())
    with pytest.raises(MediaInputError, match="3,000-character limit"):
        client.txt2speech("word " * 700)
    with pytest.raises(MediaInputError, match="over Puter's 10 MB limit"):
        client.img2txt(io.BytesIO(scan))
    assert sandbox.calls() == []


def test_inputs_of_the_wrong_kind_are_refused_before_sending(
    client: PuterClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    page = tmp_path / "photo.png"
    page.write_bytes(b"<!doctype html><title>Sign in</title>")
    with pytest.raises(MediaInputError, match=r"photo.png is not an image or a PDF .* HTML"):
        client.img2txt(page)
    with pytest.raises(MediaInputError, match="is not audio"):
        client.speech2txt(_tiny_png())
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    with notes.open() as handle, pytest.raises(MediaInputError, match="opened as text"):
        client.img2txt(handle)
    with pytest.raises(MediaInputError, match="cannot send an int"):
        client.img2txt(42)
    with pytest.raises(MediaInputError, match="must be https"):
        client.img2txt("http://example.org/scan.png")
    assert sandbox.calls() == []


# -- vision --------------------------------------------------------------------------------------------------


class FakeFigure:
    """Behaves like a matplotlib Figure: savefig(buffer, format="png")."""

    def savefig(self, buffer: Any, format: str, **_: Any) -> None:
        assert format == "png"
        buffer.write(_tiny_png(40, 30))


class FakePILImage:
    """Behaves like a PIL Image: mode, size, save(buffer, format="PNG")."""

    mode, size = "RGB", (20, 10)

    def save(self, buffer: Any, format: str) -> None:
        assert format == "PNG"
        buffer.write(_tiny_png(20, 10))


def test_chat_with_images_sends_content_parts_and_the_tutor_describes_them(
    client: PuterClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    kite = client.txt2img("A kite")
    path = tmp_path / "small.png"
    path.write_bytes(_tiny_png())
    reply = client.chat(
        "What do you see?", model="sandbox-tutor", images=[kite, path, FakeFigure(), FakePILImage()]
    )
    content = sandbox.calls("complete")[0].args["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "What do you see?"}
    assert [p["type"] for p in content[1:]] == ["image_url"] * 4
    assert all(p["image_url"]["url"].startswith("data:image/png;base64,") for p in content[1:])
    assert "I see 4 images" in reply.text
    rows = ("| 1 | PNG · its caption reads “A kite” | 512×512 |", "| 2 | PNG | 3×2 |", "| 3 | PNG | 40×30 |")
    for row in rows:
        assert row in reply.text
    streamed = client.chat_stream(
        [{"role": "user", "content": "And this?"}],
        model="sandbox-tutor",
        images=["https://example.org/x.png"],
    ).reply()
    assert "I see 1 image:" in streamed.text and "an image at example.org" in streamed.text
    parts = sandbox.calls("complete")[1].args["messages"][-1]["content"]
    assert parts[1] == {"type": "image_url", "image_url": {"url": "https://example.org/x.png"}}


def test_media_work_with_the_notebook_libraries_unimportable() -> None:
    """The media half of the api wing needs no IPython, ipywidgets, markdown or nh3 either."""
    code = (
        "from puter_magic.api.client import PuterClient\n"
        "from puter_magic.sandbox import Sandbox\n"
        "with Sandbox() as sandbox, PuterClient(sandbox.origin, sandbox.token) as client:\n"
        "    image = client.txt2img('A kite', model='sandbox-image-url')\n"
        "    print(sorted(image._repr_mimebundle_()), client.img2txt(image).text)\n"
        "    audio = client.txt2speech('Hello there')\n"
        "    print(sorted(audio._repr_mimebundle_()), client.speech2txt(audio).text)\n"
        "    print('I see 1 image' in client.chat('What?', model='sandbox-tutor', images=[image]).text)\n"
    )
    assert run_without_notebook_libraries(code) == [
        "['image/png', 'text/plain'] A kite",
        "['text/html', 'text/plain'] Hello there",
        "True",
        "[]",
    ]


def test_txt2img_reads_a_raw_bytes_reply_too(client: PuterClient, sandbox: Sandbox) -> None:
    from puter_magic.sandbox import Fault

    png = _tiny_png(9, 4)
    sandbox.inject(Fault.raw(png, content_type="application/octet-stream"))
    image = client.txt2img("raw")
    assert image.data == png and image.url is None
    assert image.content_type == "image/png" and image.dimensions == (9, 4)  # from the bytes, not the label


def test_a_reply_urls_text_is_bounded() -> None:
    from puter_magic.api.media_results import VideoResult

    url = "https://cdn.example/" + "a" * 100_000 + ".png"
    for result in (ImageResult(url=url), AudioResult(url=url), VideoResult(url=url)):
        summary = result.summary()
        assert len(summary) < 400 and summary.splitlines()[1].startswith("https://cdn.example/aaa")
        assert result.url == url  # the whole URL stays on the result
