"""PuterClient from plain Python: the allowance, usage_limited, reasoning options, web search,
the voice changer, video and voice lists, against the sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from puter_magic import PuterClient
from puter_magic.api.account import Allowance, allowance_from
from puter_magic.api.chat import Source, cannot_search
from puter_magic.api.errors import BadRequest, MalformedResponse, PuterTimeout, UsageLimited
from puter_magic.api.media import MediaInputError
from puter_magic.api.media_results import VideoResult, audio_result
from puter_magic.api.protocol import VIDEO_INTERFACE
from puter_magic.sandbox import Fault, Sandbox


@pytest.fixture
def own() -> Iterator[tuple[Sandbox, PuterClient]]:
    with Sandbox() as sandbox, PuterClient(sandbox.origin, sandbox.token, timeout=(2, 5)) as client:
        yield sandbox, client


def _metering_reads(sandbox: Sandbox) -> int:
    return sum(1 for r in sandbox.requests if r.path == "/metering/usage")


def test_allowance_reads_what_puter_says_and_reuses_a_young_reading(own: tuple[Sandbox, PuterClient]) -> None:
    sandbox, client = own
    fresh = client.allowance()
    assert (fresh.allowance, fresh.remaining, fresh.used, fresh.unit) == (
        50_000_000,
        50_000_000,
        0,
        "microcents",
    )
    assert fresh.summary() == "$0.50 of $0.50 left this month ($0.00 used)"
    reply = client.chat("hello", "sandbox-tutor")
    assert client.allowance(max_age=60) is fresh  # young enough: not read again
    assert _metering_reads(sandbox) == 1
    spent = client.allowance()
    assert _metering_reads(sandbox) == 2
    assert spent.used == pytest.approx(reply.usage["usd_cents"] * 1_000_000)
    assert spent.remaining == pytest.approx(50_000_000 - spent.used)
    assert client.last_allowance is spent and not spent.app_only


def test_allowance_in_credits_for_an_app_token_and_a_malformed_reply() -> None:
    with Sandbox(credit_multiplier=100) as sandbox:
        sandbox.add_token("app-token", app_uid="app-1")
        with PuterClient(sandbox.origin, "app-token") as client:
            found = client.allowance()
            assert found.in_credits and found.amount(found.remaining) == "50 credits"
            assert found.dollars(found.remaining) is None and found.covers(1) is None
            assert found.app_only  # the popup's token: its usage-by-app view is this app's only
            sandbox.inject(Fault(body={"usage": {}}, path="/metering/usage"))
            with pytest.raises(MalformedResponse):
                client.allowance()
    recorded = {
        "usage": {"total": 0},
        "appTotals": {},
        "allowanceInfo": {"remaining": 25000000, "monthUsageAllowance": 25000000, "addons": {}},
    }
    assert allowance_from(recorded) == Allowance(allowance=25_000_000, remaining=25_000_000, used=0)


def test_usage_limited_is_read_from_a_reply_and_a_stream_line(own: tuple[Sandbox, PuterClient]) -> None:
    sandbox, client = own
    client.chat("hello", "sandbox-tutor")
    assert client.usage_limited() is False
    sandbox.metering.set_allowance(
        sandbox.token, client.allowance().used + 1
    )  # the next reply spends the last
    reply = client.chat("hello", "sandbox-tutor")
    assert reply.text  # the reply itself stands
    assert client.usage_limited() is True
    assert client.usage_limited() is False  # told once
    sandbox.metering.set_allowance(sandbox.token, client.allowance().used + 1)
    stream = client.chat_stream("hello", "sandbox-tutor")
    assert stream.reply().text
    assert client.usage_limited(clear=False) is True
    with pytest.raises(UsageLimited) as refused:
        client.chat("hello", "sandbox-tutor")
    assert refused.value.code == "insufficient_funds"


def test_reasoning_effort_and_verbosity_go_into_args_as_puter_takes_them(
    sandbox: Sandbox, client: PuterClient
) -> None:
    reply = client.chat("hi", "sandbox-tutor", reasoning_effort="xhigh", verbosity="low")
    (call,) = sandbox.calls("complete")
    assert call.args["reasoning_effort"] == "xhigh" and call.args["verbosity"] == "low"
    assert "| reasoning effort | xhigh |" in reply.text


def test_web_search_sends_the_tool_and_reads_the_sources(sandbox: Sandbox, client: PuterClient) -> None:
    reply = client.chat("list comprehensions", "sandbox-searcher", web_search=True)
    assert sandbox.calls("complete")[0].args["tools"] == [{"type": "web_search"}]
    assert reply.sources[0] == Source(
        "https://docs.python.org/3/tutorial/datastructures.html", "5. Data Structures — Python documentation"
    )
    streamed = client.chat_stream("list comprehensions", "sandbox-searcher", web_search=True).reply()
    assert streamed.sources == reply.sources
    with pytest.raises(BadRequest) as refused:
        client.chat("x", "sandbox-tutor", web_search=True)
    assert cannot_search(refused.value)
    with pytest.raises(ValueError):
        client.chat("x", "sandbox-agent", web_search=True, tools=[len])


def test_speech_to_speech_sends_the_audio_and_the_voice(sandbox: Sandbox, client: PuterClient) -> None:
    spoken = client.txt2speech("good morning class")
    changed = client.speech2speech(spoken, voice="alto")
    (call,) = sandbox.calls("convert")
    assert call.args["voice"] == "alto" and call.args["audio"].startswith("data:audio/wav;base64,")
    assert changed.content_type == "audio/wav" and changed.data != spoken.data
    assert client.speech2txt(changed).text == "good morning class"
    sample = client.speech2speech(None, test_mode=True)
    assert sample.content_type == "audio/mpeg" and sample.url and sample.url.endswith("tts_example.mp3")
    with pytest.raises(MediaInputError, match="not a URL"):
        client.speech2speech("https://example.org/talk.mp3")
    with pytest.raises(MediaInputError):
        client.speech2speech(b"not audio at all")


def test_video_waits_as_long_as_generation_takes(sandbox: Sandbox) -> None:
    sandbox.video_seconds = 1.5
    try:
        with PuterClient(sandbox.origin, sandbox.token, timeout=(2, 0.5), total_timeout=1.0) as client:
            # An ordinary call with these timeouts gives up while the video renders...
            with pytest.raises(PuterTimeout):
                client.call(VIDEO_INTERFACE, "generate", {"prompt": "a kite"})
            # ...txt2vid waits as long as video generation takes.
            video = client.txt2vid("a kite", seconds=5, size="1280x720", timeout=30)
        assert isinstance(video, VideoResult) and video.content_type == "video/mp4"
        assert video.data[4:8] == b"ftyp" and video.duration == 4.0
        sent = sandbox.calls("generate")[-1].args
        assert (sent["seconds"], sent["size"]) == (5, "1280x720")
    finally:
        sandbox.video_seconds = 0.3


def test_video_test_mode_and_its_display(client: PuterClient) -> None:
    video = client.txt2vid("a kite", test_mode=True)
    bundle = video._repr_mimebundle_()
    assert bundle["text/html"].startswith('<video controls preload="metadata"')
    assert "data:video/mp4;base64," in bundle["text/html"]
    assert bundle["text/plain"].startswith("video/mp4 4.0 s")


def test_voices_and_engines(client: PuterClient) -> None:
    assert [v["id"] for v in client.voices()] == ["alto", "bass"]
    assert client.voices(provider="openai") == []
    assert client.tts_engines()[0]["id"] == "sandbox-tts"


def test_media_replies_name_their_file_under_asset_url_url_or_href(
    client: PuterClient, sandbox: Sandbox
) -> None:
    sample = sandbox.origin + "/puter-sample-data/tts_example.mp3"
    fetcher = client.media_fetcher()
    for key in ("asset_url", "url", "href"):
        found = audio_result({key: sample, "content_type": "audio/mpeg"}, fetcher)
        assert found.url == sample and found.data[:2] == b"\xff\xfb"
    both = audio_result({"asset_url": sample, "url": "https://elsewhere.example/x.mp3"}, fetcher)
    assert both.url == sample  # puter.js reads asset_url first
