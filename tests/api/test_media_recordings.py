"""The media interfaces against recordings of a real self-hosted Puter: the sandbox answers
the recorded requests alike, and the client reads every recorded reply form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from puter_magic import PuterClient
from puter_magic.api.errors import BadRequest, ServerError
from puter_magic.api.media_results import audio_result
from puter_magic.sandbox import Fault, Sandbox
from puter_magic.sandbox.sound import silent_mp3

from ..conftest import TRANSCRIPTS
from ..media_server import MediaServer, Route, other_host_fixture  # noqa: F401  (a fixture)

BEYOND = TRANSCRIPTS / "beyond-chat"
KEYLESS = sorted(
    p.name for p in BEYOND.glob("*.json") if not p.name.startswith(("placeholder-", "speech2speech"))
)


def recording(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((BEYOND / name).read_text())
    return data


def replay_fault(name: str) -> Fault:
    response = recording(name)["response"]
    return Fault.raw(response["body_first_500_bytes"], response["status"], response["content_type"])


@pytest.fixture(scope="module")
def keyless() -> Any:
    with Sandbox(media_providers=False) as sandbox:
        yield sandbox


def _post(sandbox: Sandbox, body: dict[str, Any]) -> requests.Response:
    return requests.post(
        sandbox.origin + "/drivers/call",
        json=body,
        headers={"Authorization": f"Bearer {sandbox.token}"},
        timeout=5,
    )


@pytest.mark.parametrize("name", KEYLESS)
def test_the_keyless_sandbox_answers_as_a_keyless_puter(name: str, keyless: Sandbox) -> None:
    recorded = recording(name)
    resp = _post(keyless, recorded["request"]["body"])
    want = recorded["response"]
    assert resp.status_code == want["status"]
    assert resp.headers["Content-Type"] == want["content_type"]
    body = resp.content.decode()
    if want.get("body_truncated"):
        assert body[: len(want["body_first_500_bytes"])] == want["body_first_500_bytes"]
    else:
        assert json.loads(body) == json.loads(want["body_first_500_bytes"])


def test_with_providers_the_test_mode_replies_have_the_recorded_forms(sandbox: Sandbox) -> None:
    for name, check in (
        ("placeholder-key-image-generate-test-mode.json", lambda r: r.endswith("/image_example.png")),
        (
            "placeholder-key-tts-synthesize-test-mode.json",
            lambda r: r["content_type"] == "audio" and r["url"].endswith("/tts_example.mp3"),
        ),
        (
            "placeholder-key-tts-list.json",
            lambda r: isinstance(r, list) and all(isinstance(x, str) for x in r),
        ),
    ):
        recorded = recording(name)
        resp = _post(sandbox, recorded["request"]["body"])
        assert (
            resp.status_code == 200 and resp.headers["Content-Type"] == recorded["response"]["content_type"]
        )
        real = json.loads(recorded["response"]["body_first_500_bytes"])
        ours = resp.json()
        assert set(ours) == set(real) and ours["service"] == real["service"]
        assert check(real["result"]) and check(ours["result"]), name


def test_the_client_reads_every_recorded_test_mode_reply(client: PuterClient, sandbox: Sandbox) -> None:
    sent: list[tuple[str, Any]] = []

    def ask(name: str, call: Any) -> Any:
        sandbox.inject(replay_fault(name))
        result = call()
        sent.append((name, sandbox.calls()[-1].body))
        return result

    image = ask(
        "placeholder-key-image-generate-test-mode.json", lambda: client.txt2img("a cat", test_mode=True)
    )
    assert image.url == "https://puter-sample-data.puter.site/image_example.png"
    assert image.content_type == "image/png"  # from the URL until the bytes say otherwise
    audio = ask(
        "placeholder-key-tts-synthesize-test-mode.json", lambda: client.txt2speech("hello", test_mode=True)
    )
    assert audio.url == "https://puter-sample-data.puter.site/tts_example.mp3"
    assert audio.content_type == "audio/mpeg"  # the reply said only "audio"
    heard = ask("speech2txt-transcribe-test-mode.json", lambda: client.speech2txt(None, test_mode=True))
    assert heard.text == "Hello! This is a sample transcription returned while test mode is enabled."
    assert heard.model == "gpt-4o-mini-transcribe" and heard.duration == 2 and len(heard.words) == 2
    translated = ask(
        "speech2txt-translate-test-mode.json", lambda: client.speech2txt(None, translate=True, test_mode=True)
    )
    assert translated.model == "whisper-1"
    read = ask("ocr-recognize-test-mode.json", lambda: client.img2txt(None, test_mode=True))
    assert read.text == "test_mode is enabled; this is a sample OCR response."
    assert read.blocks[0]["type"] == "text/puter:sample-output"
    converted = ask(
        "speech2speech-convert-test-mode.json",
        lambda: client.call("puter-speech2speech", "convert", {"test_mode": True}),
    )
    voice = audio_result(converted, client.media_fetcher())
    assert voice.url is not None and voice.content_type == "audio/mpeg"
    for name, body in sent:  # the client asks exactly what puter.js asked of the real server
        assert body == recording(name)["request"]["body"], name


def test_the_client_reads_the_recorded_keyless_errors(client: PuterClient, sandbox: Sandbox) -> None:
    sandbox.inject(replay_fault("tts-synthesize-test-mode-no-provider.json"))
    with pytest.raises(BadRequest, match="TTS provider not configured: aws-polly") as tts:
        client.txt2speech("hello", test_mode=True)
    assert tts.value.code == "bad_request" and tts.value.status == 400
    sandbox.inject(replay_fault("speech2txt-transcribe-no-key.json"))
    with pytest.raises(ServerError, match="OpenAI API key not configured") as stt:
        client.speech2txt("data:audio/wav;base64,UklGRiQAAABXQVZF")
    assert stt.value.code == "internal_error"
    sandbox.inject(replay_fault("ocr-recognize-no-provider.json"))
    with pytest.raises(ServerError, match="No OCR provider configured"):
        client.img2txt("data:image/png;base64,iVBORw0KGgo=")


def test_a_recorded_sample_url_is_fetched_from_the_other_host_without_the_token(
    client: PuterClient, sandbox: Sandbox, other_host: MediaServer
) -> None:
    other_host.routes["/tts_example.mp3"] = Route(
        body=silent_mp3(0.5), content_type="application/octet-stream"
    )
    body = recording("placeholder-key-tts-synthesize-test-mode.json")["response"]["body_first_500_bytes"]
    body = body.replace("https://puter-sample-data.puter.site", other_host.url(""))
    sandbox.inject(Fault.raw(body))
    audio = client.txt2speech("hello", test_mode=True)
    assert audio.data == silent_mp3(0.5) and audio.content_type == "audio/mpeg"  # sniffed from the bytes
    (seen,) = other_host.seen
    assert "authorization" not in seen and "cookie" not in seen
    assert sandbox.token not in json.dumps(seen)


def test_media_calls_record_and_replay_through_the_one_wire(sandbox: Sandbox, tmp_path: Path) -> None:
    tape = tmp_path / "media.jsonl"
    with PuterClient(sandbox.origin, sandbox.token, record=tape) as live:
        audio = live.txt2speech("Recorded words")
        image = live.txt2img("A recorded picture")
        heard = live.speech2txt(audio)
    lines = [json.loads(line) for line in tape.read_text().splitlines()]
    assert [entry["response"]["kind"] for entry in lines] == ["binary", "json", "json"]
    calls = len(sandbox.calls())
    with PuterClient("http://replay.localhost", None, replay=tape) as offline:
        assert offline.txt2speech("Recorded words").data == audio.data
        assert offline.txt2img("A recorded picture").data == image.data
        assert offline.speech2txt(audio).text == heard.text == "Recorded words"
    assert len(sandbox.calls()) == calls
