"""PuterClient against the sandbox and against deliberately broken servers on loopback."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from puter_magic import (
    AuthError,
    BadRequest,
    BinaryResult,
    MalformedResponse,
    ModelNotFound,
    NotFound,
    NotSignedIn,
    PermissionDenied,
    PuterClient,
    PuterConnectionError,
    PuterError,
    PuterTimeout,
    RateLimited,
    RedirectRefused,
    ServerError,
    StreamError,
    UsageLimited,
)
from puter_magic.api.chunks import ErrorChunk, TextChunk, UnknownChunk, UsageChunk
from puter_magic.sandbox import Fault, Sandbox

from ..conftest import RawServer, load_transcript


def test_chat_claude_shape(client: PuterClient, sandbox: Sandbox) -> None:
    reply = client.chat(
        [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"}],
        model="sandbox-tutor",
        temperature=0.2,
    )
    assert reply.model == "sandbox-tutor"
    assert "| system prompt | Be kind. |" in reply.text
    assert reply.usage["output_tokens"] > 0 and reply.total_tokens
    call = sandbox.calls("complete")[-1]
    assert call.body["driver"] == "ai-chat" and call.body["interface"] == "puter-chat-completion"
    assert call.args["model"] == "sandbox-tutor" and call.args["temperature"] == 0.2
    assert "stream" not in call.args
    assert call.headers["Content-Type"] == "application/json"
    assert call.token == sandbox.token  # sent as a Bearer token


def test_chat_openai_shape_and_string_message(client: PuterClient) -> None:
    reply = client.chat("say <b>this</b>", model="sandbox-echo")
    assert reply.text == "say <b>this</b>"
    assert reply.usage["prompt_tokens"] == 2


def test_model_is_required(client: PuterClient) -> None:
    with pytest.raises(ValueError):
        client.chat("hi", model="")


def test_chat_stream_matches_non_streamed_reply(client: PuterClient, sandbox: Sandbox) -> None:
    whole = client.chat("Explain streams", model="sandbox-tutor")
    stream = client.chat_stream("Explain streams", model="sandbox-tutor")
    chunks = list(stream)
    texts = [c for c in chunks if isinstance(c, TextChunk)]
    assert len(texts) > 50  # many chunks, not one
    assert isinstance(chunks[-1], UsageChunk)
    assert stream.text == whole.text and stream.usage == whole.usage and stream.done
    assert sandbox.calls("complete")[-1].args["stream"] is True


def test_chat_stream_reply_and_reasoning(client: PuterClient) -> None:
    stream = client.chat_stream("think", model="sandbox-thinker")
    reply = stream.reply()
    assert reply.reasoning.startswith("The learner sent 1 message.")
    assert reply.text.startswith("### Turn 1")


def test_generic_stream_and_early_close_frees_the_connection(client: PuterClient, sandbox: Sandbox) -> None:
    sandbox.pace = 0.02
    chunks = client.stream(
        "puter-chat-completion",
        "complete",
        {"model": "sandbox-tutor", "messages": [{"content": "hi"}]},
        "ai-chat",
    )
    first = [next(chunks), next(chunks)]
    assert all(isinstance(c, TextChunk) for c in first)
    chunks.close()
    record = sandbox.calls("complete")[-1]
    deadline = time.monotonic() + 5
    while not record.client_gone and time.monotonic() < deadline:
        time.sleep(0.02)
    assert record.client_gone, "the server kept streaming to a consumer that stopped"
    assert record.status is None


def test_stream_error_line_keeps_partial_text(client: PuterClient, sandbox: Sandbox) -> None:
    sandbox.inject(
        Fault.stream(
            [
                {"type": "text", "text": "Hello "},
                {"type": "text", "text": "wor"},
                {"type": "error", "message": "upstream overloaded"},
            ]
        )
    )
    stream = client.chat_stream("hi", model="sandbox-tutor")
    with pytest.raises(StreamError) as info:
        list(stream)
    assert stream.text == "Hello wor"
    assert info.value.message == "upstream overloaded"


def test_raw_stream_yields_error_and_unknown_chunks(client: PuterClient, sandbox: Sandbox) -> None:
    sandbox.inject(
        Fault.stream(
            [
                {"type": "extra_content", "extra_content": {"a": 1}},
                "",
                {"type": "error", "message": "x"},
            ]
        )
    )
    chunks = list(client.stream("puter-chat-completion", "complete", {"model": "fake", "messages": []}))
    assert isinstance(chunks[0], UnknownChunk) and chunks[0].type == "extra_content"
    assert isinstance(chunks[1], ErrorChunk)


def test_stream_answered_with_plain_json_still_works(client: PuterClient, sandbox: Sandbox) -> None:
    sandbox.inject(
        Fault.raw({"success": True, "result": {"message": {"content": "whole"}, "usage": {"x": 1}}})
    )
    stream = client.chat_stream("hi", model="fake")
    assert stream.reply().text == "whole" and stream.usage == {"x": 1}


def test_stream_answered_with_legacy_error(client: PuterClient, sandbox: Sandbox) -> None:
    sandbox.inject(Fault.legacy_error("insufficient_funds", "No usage left", 402))
    with pytest.raises(UsageLimited):
        list(client.chat_stream("hi", model="fake"))


def test_errors_before_a_stream_starts_raise_at_the_call(client: PuterClient) -> None:
    with pytest.raises(ModelNotFound):
        client.chat_stream("hi", model="no-such-model")


def test_models_and_fallback_to_list(client: PuterClient, sandbox: Sandbox) -> None:
    models = client.models()
    tutor = next(m for m in models if m.id == "sandbox-tutor")
    assert tutor.provider == "sandbox" and tutor.context == 32000 and tutor.costs["prompt_tokens"] == 30
    fake = next(m for m in models if m.id == "fake")
    assert fake.context is None and fake.provider == "fake-chat"  # self-hosted's fewer fields
    sandbox.inject(
        Fault.error(404, "not_found", "Method 'models' not found on driver 'puter-chat-completion'")
    )
    listed = client.models()
    assert [m.id for m in listed] == sorted(m.id for m in models)
    assert [c.body["method"] for c in sandbox.calls()][-2:] == ["models", "list"]


def test_whoami(client: PuterClient) -> None:
    assert client.whoami()["username"] == "learner"


def test_binary_reply(client: PuterClient) -> None:
    result = client.call("puter-tts", "synthesize", {"text": "hello"})
    assert isinstance(result, BinaryResult)
    assert result.content_type == "audio/wav" and result.content.startswith(b"RIFF")
    assert "RIFF" not in repr(result)


# -- errors, both generations -------------------------------------------------------------

ERROR_CASES = [
    (
        {"model": "no-such-model", "messages": [{"content": "x"}]},
        "complete",
        "ai-chat",
        ModelNotFound,
    ),
    ({"messages": [{"content": "x"}]}, "complete", "ai-chat", ModelNotFound),
    # An unknown driver name (old provider names such as "claude" were aliases on v1 servers).
    ({"model": "fake", "messages": [{"content": "x"}]}, "complete", "not-a-driver", NotFound),
    ({}, "frobnicate", "ai-chat", NotFound),
    ({"model": "fake", "messages": "hi"}, "complete", "ai-chat", ServerError),
    ({"model": "fake", "messages": [{"role": "user"}]}, "complete", "ai-chat", BadRequest),
]


@pytest.mark.parametrize(("args", "method", "driver", "cls"), ERROR_CASES)
@pytest.mark.parametrize("generation", ["current", "legacy"])
def test_driver_errors_of_both_generations(
    generation: str,
    args: dict,
    method: str,
    driver: str,
    cls: type,
    sandbox: Sandbox,
    legacy_sandbox: Sandbox,
) -> None:
    sb = sandbox if generation == "current" else legacy_sandbox
    with PuterClient(sb.origin, sb.token) as client, pytest.raises(cls) as info:
        client.call("puter-chat-completion", method, args, driver)
    assert info.value.status is not None and info.value.status >= 400
    assert info.value.message
    raw = sb.requests[-1]
    assert raw.status == (200 if generation == "legacy" else info.value.status)


@pytest.mark.parametrize("generation", ["current", "legacy"])
def test_bad_and_missing_tokens(generation: str, sandbox: Sandbox, legacy_sandbox: Sandbox) -> None:
    sb = sandbox if generation == "current" else legacy_sandbox
    with PuterClient(sb.origin, "not-a-real-token") as client, pytest.raises(AuthError) as info:
        client.chat("hi", model="fake")
    assert info.value.status == 401
    with PuterClient(sb.origin, None) as client, pytest.raises(NotSignedIn):
        client.chat("hi", model="fake")


@pytest.mark.parametrize(
    ("fault", "cls", "code"),
    [
        (
            Fault.error(402, "insufficient_funds", "No usage left for request."),
            UsageLimited,
            "insufficient_funds",
        ),
        (Fault.error(403, "forbidden", "Account suspended"), PermissionDenied, "forbidden"),
        (
            Fault.error(403, "permission_denied", "subscriber only"),
            PermissionDenied,
            "permission_denied",
        ),
        (
            Fault.error(429, "too_many_requests", "Too many requests.", retry_after=60),
            RateLimited,
            "too_many_requests",
        ),
        (Fault.error(500, "upstream_auth_failed", "x"), ServerError, "upstream_auth_failed"),
        (Fault.error(413, "client_bad_request", "too big"), BadRequest, "client_bad_request"),
        (
            Fault.legacy_error("insufficient_funds", "No usage left", 402),
            UsageLimited,
            "insufficient_funds",
        ),
        (
            Fault.legacy_error("no_implementation_available", "none", 502),
            ServerError,
            "no_implementation_available",
        ),
        (Fault.html_page(502), ServerError, None),
        (Fault.html_page(504, "504 Gateway Time-out"), ServerError, None),
        (Fault.empty(502, None), ServerError, None),
        (Fault.html_page(401, "401 Authorization Required"), AuthError, None),
    ],
)
def test_scripted_error_replies(
    fault: Fault, cls: type, code: str | None, client: PuterClient, sandbox: Sandbox
) -> None:
    sandbox.inject(fault)
    with pytest.raises(cls) as info:
        client.chat("hi", model="fake")
    assert info.value.code == code


@pytest.mark.parametrize(
    ("fault", "error", "says"),
    [
        (Fault.empty(), MalformedResponse, "with an empty reply"),
        (Fault.raw(b"{not json"), MalformedResponse, "not valid JSON"),
        (Fault.raw({"success": True}), MalformedResponse, "has no result"),
        (Fault.truncated(), PuterConnectionError, "broke off mid-reply"),  # fewer bytes than announced
        (Fault.raw(b"\xff\xfe\x00"), MalformedResponse, "not valid JSON"),
        (Fault.raw({"success": True, "result": 42}), MalformedResponse, "unexpected type int"),
    ],
    ids=["empty", "not-json", "no-result", "truncated", "not-utf8", "not-a-chat-result"],
)
def test_malformed_success_replies(
    fault: Fault, error: type[Exception], says: str, client: PuterClient, sandbox: Sandbox
) -> None:
    sandbox.inject(fault)
    with pytest.raises(error, match=says) as caught:
        client.chat("hi", model="fake")
    assert type(caught.value) is error
    assert client.chat("hi", model="fake").text  # the client is still usable


# -- retries -----------------------------------------------------------------------------


def test_429_is_retried_honouring_retry_after(sandbox: Sandbox) -> None:
    sandbox.inject(Fault.error(429, "too_many_requests", "Too many requests.", retry_after=0.3))
    sleeps: list[float] = []
    client = PuterClient(sandbox.origin, sandbox.token)
    client._transport._sleep = sleeps.append  # count the waits instead of sleeping
    assert client.chat("hi", model="fake").text
    assert sleeps == [0.3]
    assert len(sandbox.calls()) == 2


def test_503_is_retried_with_backoff(client: PuterClient, sandbox: Sandbox) -> None:
    sandbox.inject(Fault.html_page(503, "503 Service Unavailable"), Fault.empty(503, None))
    started = time.monotonic()
    assert client.chat("hi", model="fake").text
    assert len(sandbox.calls()) == 3
    assert time.monotonic() - started >= 0.7  # 0.25 s then 0.5 s


def test_retry_budget_is_bounded(sandbox: Sandbox) -> None:
    sandbox.inject(
        Fault(
            status=429,
            body={"message": "no", "code": "too_many_requests"},
            headers={"Retry-After": "0.1"},
            times=100,
        )
    )
    client = PuterClient(sandbox.origin, sandbox.token, max_retries=3)
    with pytest.raises(RateLimited):
        client.chat("hi", model="fake")
    assert len(sandbox.calls()) == 4


def test_long_retry_after_is_not_waited_for(client: PuterClient, sandbox: Sandbox) -> None:
    sandbox.inject(Fault.error(429, "too_many_requests", "Slow down", retry_after=3600))
    started = time.monotonic()
    with pytest.raises(RateLimited) as info:
        client.chat("hi", model="fake")
    assert time.monotonic() - started < 2 and info.value.retry_after == 3600
    assert len(sandbox.calls()) == 1


@pytest.mark.parametrize("status", [500, 502, 504, 400])
def test_other_statuses_are_not_retried(status: int, client: PuterClient, sandbox: Sandbox) -> None:
    sandbox.inject(Fault.error(status, "x", "no"))
    with pytest.raises(PuterError):
        client.chat("hi", model="fake")
    assert len(sandbox.calls()) == 1


def test_a_started_stream_is_never_replayed(client: PuterClient, sandbox: Sandbox) -> None:
    sandbox.inject(Fault.stream([{"type": "text", "text": "partial"}], reset=5))
    with pytest.raises(PuterConnectionError):
        list(client.chat_stream("hi", model="fake"))
    assert len(sandbox.calls()) == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connection_refused_is_retried_then_reported() -> None:
    client = PuterClient(f"http://127.0.0.1:{_closed_port()}", "t")
    started = time.monotonic()
    with pytest.raises(PuterConnectionError) as info:
        client.chat("hi", model="fake")
    assert "could not connect" in info.value.message
    assert time.monotonic() - started < 5


def test_connect_failure_before_sending_is_retried(sandbox: Sandbox) -> None:
    """The server comes up while the client is still retrying its connection."""
    port = _closed_port()
    late = Sandbox(port=port, token=sandbox.token)
    timer = threading.Timer(0.15, late.start)
    timer.start()
    try:
        client = PuterClient(f"http://127.0.0.1:{port}", sandbox.token)
        assert client.chat("hi", model="fake").text
    finally:
        timer.join()
        late.stop()


# -- timeouts ------------------------------------------------------------------------------


def test_reply_that_never_starts_times_out(sandbox: Sandbox) -> None:
    sandbox.inject(Fault.never_starts(30))
    client = PuterClient(sandbox.origin, sandbox.token, timeout=(2, 0.5))
    started = time.monotonic()
    with pytest.raises(PuterTimeout):
        client.chat("hi", model="fake")
    assert time.monotonic() - started < 3


def test_stream_that_stalls_times_out(sandbox: Sandbox) -> None:
    sandbox.inject(Fault.stream([{"type": "text", "text": "a"}], stall=30))
    client = PuterClient(sandbox.origin, sandbox.token, timeout=(2, 0.5))
    stream = client.chat_stream("hi", model="fake")
    with pytest.raises(PuterTimeout):
        list(stream)
    assert stream.text == "a"


def test_slow_drip_hits_the_total_timeout(sandbox: Sandbox) -> None:
    body = b'{"success":true,"result":{"message":{"content":"' + b"x" * 200 + b'"}}}'
    sandbox.inject(Fault(body=body, drip=1, pace=0.05))
    client = PuterClient(sandbox.origin, sandbox.token, timeout=(2, 1), total_timeout=0.5)
    with pytest.raises(PuterTimeout):
        client.chat("hi", model="fake")


# -- origins, hosts and redirects ---------------------------------------------------------------


def test_dot_localhost_origin_reaches_127_0_0_1_with_its_host_header() -> None:
    with Sandbox(api_host="api.puter.localhost") as sb:
        assert sb.origin.startswith("http://api.puter.localhost:")
        client = PuterClient(sb.origin, sb.token)
        assert client.chat("hi", model="fake").text
        assert sb.requests[-1].host == f"api.puter.localhost:{sb.port}"
        # the same server refuses the API on another host name, as self-hosted Puter does
        with pytest.raises(NotFound):
            PuterClient(f"http://127.0.0.1:{sb.port}", sb.token).chat("hi", model="fake")


def test_plain_http_only_to_loopback() -> None:
    with pytest.raises(ValueError, match="unencrypted"):
        PuterClient("http://api.example.com", "t")
    PuterClient("http://api.example.com", "t", allow_insecure_http=True)
    PuterClient("http://localhost:4100", "t")
    PuterClient("http://[::1]:4100", "t")
    PuterClient("https://api.puter.com", "t")
    for bad in ("api.puter.com", "ftp://x", "https://u:p@x.com", "https://x.com/?a=1"):
        with pytest.raises(ValueError):
            PuterClient(bad, "t")


def test_redirect_to_another_host_is_refused_and_token_not_sent(sandbox: Sandbox) -> None:
    with Sandbox() as other:
        sandbox.inject(Fault(status=307, headers={"Location": f"{other.origin}/drivers/call"}, body=b""))
        client = PuterClient(sandbox.origin, sandbox.token)
        with pytest.raises(RedirectRefused):
            client.chat("hi", model="fake")
        assert other.requests == []


def test_same_origin_redirect_is_followed(client: PuterClient, sandbox: Sandbox) -> None:
    sandbox.inject(Fault(status=308, headers={"Location": "/drivers/call"}, body=b""))
    assert client.chat("hi", model="fake").text
    assert sandbox.calls()[-1].token == sandbox.token


# -- the token stays secret -----------------------------------------------------------------


def test_token_never_in_repr_errors_or_debug_logs(sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    secret = sandbox.token
    caplog.set_level(logging.DEBUG)
    client = PuterClient(sandbox.origin, secret)
    assert secret not in repr(client) and secret not in repr(sandbox)
    seen: list[str] = [repr(client), str(client)]
    sandbox.inject(
        Fault.error(401, "token_auth_failed", f"token {secret} rejected", echo=secret),
        Fault.html_page(502, f"bad {secret}"),
        Fault.stream([{"type": "error", "message": secret}]),
        Fault(status=307, headers={"Location": f"http://127.0.0.2:1/?t={secret}"}, body=b""),
    )
    for _ in range(3):
        try:
            list(client.chat_stream("hi", model="fake"))
        except Exception as exc:
            seen += [str(exc), repr(exc), str(getattr(exc, "detail", ""))]
    try:
        client.chat("hi", model="fake")
    except RedirectRefused as exc:
        seen += [str(exc), repr(exc)]
    client.chat("fine", model="sandbox-tutor")
    list(client.chat_stream("fine", model="sandbox-tutor"))
    seen += [r.getMessage() for r in caplog.records]
    assert len(seen) > 10
    assert not [s for s in seen if secret in s]


def test_non_http_garbage_and_a_silent_close(raw_server: RawServer) -> None:
    client = PuterClient(raw_server.origin, "t", timeout=(1, 1))
    raw_server.replies.append(b"SSH-2.0-OpenSSH_9.0\r\n")
    with pytest.raises(PuterConnectionError):
        client.chat("hi", model="fake")
    raw_server.replies.append(b"")
    with pytest.raises(PuterConnectionError):
        client.chat("hi", model="fake")
    with pytest.raises(PuterConnectionError):
        client.chat("hi", model="fake")


def test_stream_of_a_method_that_does_not_stream_gives_its_result(client: PuterClient) -> None:
    from puter_magic.api.chunks import ResultChunk

    chunks = list(client.stream("puter-chat-completion", "list"))
    assert len(chunks) == 1 and isinstance(chunks[0], ResultChunk)
    assert "sandbox-tutor" in chunks[0].result and chunks[0].type == "result"
    assert repr(chunks[0]).startswith("ResultChunk(result=['abuse', 'costly', ")  # a preview,
    assert len(repr(chunks[0])) < 200  # bounded


def test_chat_stream_of_something_that_is_not_a_chat_reply_still_raises(
    client: PuterClient, sandbox: Sandbox
) -> None:
    from puter_magic.sandbox import Fault

    sandbox.inject(Fault.raw({"success": True, "result": ["not", "a", "chat"]}))
    with pytest.raises(MalformedResponse, match="not a chat reply"):
        client.chat_stream("hi", model="sandbox-tutor").reply()


MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]


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
