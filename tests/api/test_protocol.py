"""The pure wire-format layer, on real recorded replies and on both error generations."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puter_magic.api import errors
from puter_magic.api.chat import chat_reply
from puter_magic.api.chunks import (
    ErrorChunk,
    ReasoningChunk,
    TextChunk,
    ToolUseChunk,
    UnknownChunk,
    UsageChunk,
    iter_lines,
    parse_chunk,
    parse_ndjson,
)
from puter_magic.api.errors import (
    APIError,
    AuthError,
    BadRequest,
    MalformedResponse,
    ModelNotFound,
    NotFound,
    PermissionDenied,
    PuterError,
    RateLimited,
    ServerError,
    UsageLimited,
)
from puter_magic.api.protocol import build_call, error_from_reply, parse_retry_after, result_from_json
from puter_magic.api.usage import total_tokens

from ..conftest import ROOT, load_transcript, transcript_names

# -- recorded replies from a real self-hosted Puter -------------------------------------

EXPECTED_ERRORS = {
    "error-bad-json.json": (BadRequest, 400, "client_bad_json"),
    "error-bad-signature-jwt.json": (AuthError, 401, "reauth_required"),
    "error-garbage-token.json": (AuthError, 401, "reauth_required"),
    "error-messages-not-a-list.json": (ServerError, 500, "internal_error"),
    "error-missing-interface.json": (BadRequest, 400, "bad_request"),
    "error-no-model.json": (ModelNotFound, 400, "bad_request"),
    "error-no-token.json": (AuthError, 401, "token_missing"),
    "error-old-driver-name.json": (NotFound, 404, "not_found"),
    "error-unknown-interface.json": (NotFound, 404, "not_found"),
    "error-unknown-method.json": (NotFound, 404, "not_found"),
    "error-unknown-model.json": (ModelNotFound, 400, "bad_request"),
    "error-wrong-host.json": (NotFound, 404, "not_found"),
    "whoami-no-token.json": (AuthError, 401, "token_missing"),
}


def test_every_error_transcript_is_classified() -> None:
    assert set(EXPECTED_ERRORS) | {"whoami-no-token.json"} >= set(transcript_names("error-"))


@pytest.mark.parametrize("name", sorted(EXPECTED_ERRORS))
def test_recorded_errors_become_the_right_exception(name: str) -> None:
    cls, status, code = EXPECTED_ERRORS[name]
    reply = load_transcript(name)["response"]
    err = error_from_reply(reply["status"], reply["content_type"], reply["body"].encode())
    assert type(err) is cls
    assert (err.status, err.code) == (status, code)
    assert err.message == json.loads(reply["body"])["message"]
    assert err.code in str(err) and str(status) in str(err)


def test_reauth_reason_is_kept_as_detail() -> None:
    reply = load_transcript("error-garbage-token.json")["response"]
    err = error_from_reply(401, reply["content_type"], reply["body"].encode())
    assert err.detail == {"reason": "token_v1"}


@pytest.mark.parametrize("name", transcript_names("complete-"))
def test_recorded_completions_parse(name: str) -> None:
    reply = load_transcript(name)["response"]
    body = reply["body"].encode()
    if reply["content_type"].startswith("application/x-ndjson"):
        chunks = list(parse_ndjson(iter_lines([body])))
        assert isinstance(chunks[0], TextChunk) and chunks[0].text
        assert isinstance(chunks[-1], UsageChunk)
        assert chunks[-1].usage == {"usd_cents": None}
        return
    result = result_from_json(body)
    parsed = chat_reply(result)
    raw_parts = json.loads(reply["body"])["result"]["message"]["content"]
    assert parsed.text == "".join(p["text"] for p in raw_parts)
    assert parsed.model == json.loads(reply["body"])["result"]["message"]["model"]
    assert parsed.usage["usd_cents"] is None
    assert parsed.finish_reason == "stop"


def test_recorded_catalogue_and_whoami_parse() -> None:
    models = result_from_json(load_transcript("models.json")["response"]["body"].encode())
    assert [m["id"] for m in models] == ["abuse", "costly", "fake"]
    ids = result_from_json(load_transcript("list.json")["response"]["body"].encode())
    assert ids == ["abuse", "costly", "fake"]
    who = result_from_json(load_transcript("whoami.json")["response"]["body"].encode(), envelope=False)
    assert who["username"] == "admin"


# -- the older generation: HTTP 200 with success: false ------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        ("insufficient_funds", 402, UsageLimited),
        ("forbidden", 403, PermissionDenied),
        ("no_implementation_available", 502, ServerError),
        ("interface_not_found", 404, NotFound),
        ("method_not_found", 404, NotFound),
        ("too_many_requests", 429, RateLimited),
        ("token_auth_failed", 401, AuthError),
    ],
)
def test_legacy_success_false_errors(code: str, status: int, cls: type[APIError]) -> None:
    body = json.dumps(
        {
            "success": False,
            "service": {"name": "ai-chat"},
            "error": {
                "$": "heyputer:api/APIError",
                "code": code,
                "message": "nope",
                "status": status,
            },
        }
    ).encode()
    with pytest.raises(cls) as info:
        result_from_json(body)
    assert (info.value.status, info.value.code, info.value.message) == (status, code, "nope")


def test_legacy_error_without_inner_status_is_classified_by_code() -> None:
    body = b'{"success": false, "error": {"code": "insufficient_funds", "message": "No usage left"}}'
    with pytest.raises(UsageLimited) as info:
        result_from_json(body)
    assert info.value.code == "insufficient_funds"


def test_legacy_model_not_found_message() -> None:
    body = b'{"success": false, "error": {"code": "bad_request", "message": "Model not found: x"}}'
    with pytest.raises(ModelNotFound):
        result_from_json(body)


def test_legacy_middleware_error_shape() -> None:
    err = error_from_reply(401, "application/json", b'{"message": "Missing auth", "code": "token_missing"}')
    assert isinstance(err, AuthError) and err.code == "token_missing"


# -- proxies and broken replies -----------------------------------------------------------


def test_html_error_page_uses_its_title() -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>"
    err = error_from_reply(502, "text/html", page)
    assert isinstance(err, ServerError)
    assert err.status == 502 and err.code is None
    assert "502 Bad Gateway" in err.message and "<" not in err.message


@pytest.mark.parametrize("status", [502, 503, 504, 401, 429])
def test_empty_error_reply(status: int) -> None:
    err = error_from_reply(status, None, b"")
    assert err.status == status
    assert "empty" in err.message


def test_status_class_wins_for_unknown_codes() -> None:
    err = error_from_reply(402, "application/json", b'{"error":"x","message":"x","code":"new_code"}')
    assert isinstance(err, UsageLimited)


def test_retry_after_is_carried() -> None:
    err = error_from_reply(
        429, "application/json", b'{"message":"slow","code":"too_many_requests"}', retry_after=3
    )
    assert isinstance(err, RateLimited) and err.retry_after == 3


@pytest.mark.parametrize(
    "body",
    [b"", b"   ", b"{", b"[1,2]", b'"text"', b'{"success": true}', b'{"result": 1}', b"\xff\xfe"],
)
def test_malformed_success_replies(body: bytes) -> None:
    with pytest.raises(MalformedResponse):
        result_from_json(body)


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412475.0) == 5.0


def test_secrets_are_redacted_from_messages_and_detail() -> None:
    secret = "sk-very-secret-token-123"
    body = json.dumps(
        {
            "error": f"bad token {secret}",
            "message": f"bad token {secret}",
            "code": "token_auth_failed",
            "echo": secret,
        }
    ).encode()
    err = error_from_reply(401, "application/json", body, secrets=[secret])
    assert secret not in str(err) and secret not in repr(err) and secret not in str(err.detail)


def test_error_tree_is_documented() -> None:
    doc = errors.__doc__ or ""
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert name in doc, name
            assert issubclass(obj, PuterError) is (obj is not errors.Hint)  # Hint: the next step, as data


# -- request bodies ----------------------------------------------------------------------


def test_build_call_puts_options_in_args_and_service_as_service() -> None:
    body = build_call("puter-chat-completion", "complete", {"model": "m", "stream": True}, service="ai-chat")
    assert body == {
        "interface": "puter-chat-completion",
        "method": "complete",
        "args": {"model": "m", "stream": True},
        "service": "ai-chat",
    }
    assert "driver" not in build_call("i", "m")
    with pytest.raises(ValueError):
        build_call("i", "m", driver="a", service="b")


# -- chat results of both shapes ------------------------------------------------------------


def test_openai_shape() -> None:
    reply = chat_reply(
        {
            "message": {"role": "assistant", "content": "hi"},
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "usd_cents": 0.1},
            "finish_reason": "stop",
        }
    )
    assert reply.text == "hi" and reply.total_tokens == 7


def test_claude_shape_with_thinking_and_tools() -> None:
    reply = chat_reply(
        {
            "message": {
                "model": "claude-x",
                "content": [
                    {"type": "thinking", "thinking": "hmm"},
                    {"type": "text", "text": "a"},
                    {"type": "tool_use", "id": "t1", "name": "f", "input": {}},
                    {"type": "text", "text": "b"},
                ],
            },
            "usage": {"input_tokens": 1, "output_tokens": 2},
        }
    )
    assert (reply.text, reply.reasoning, reply.model, reply.total_tokens) == (
        "ab",
        "hmm",
        "claude-x",
        3,
    )
    assert reply.tool_calls[0]["name"] == "f"


def test_choices_shape_and_null_content() -> None:
    reply = chat_reply({"choices": [{"message": {"content": None, "tool_calls": [{"id": "x"}]}}]})
    assert reply.text == "" and reply.tool_calls == [{"id": "x"}]


@pytest.mark.parametrize("result", [None, 3, [], {"message": 3}, {"message": {"content": 5}}])
def test_bad_chat_results(result: object) -> None:
    with pytest.raises(MalformedResponse):
        chat_reply(result)


def test_total_tokens_ignores_junk() -> None:
    assert total_tokens({"usd_cents": None}) is None
    assert total_tokens({"input_tokens": True}) is None
    assert total_tokens({"total_tokens": 9, "input_tokens": 1}) == 9


# -- stream chunks ------------------------------------------------------------------------


def test_chunk_types() -> None:
    assert parse_chunk({"type": "text", "text": "a"}) == TextChunk("a")
    assert parse_chunk({"type": "reasoning", "reasoning": "r"}) == ReasoningChunk("r")
    assert parse_chunk(
        {"type": "tool_use", "id": "1", "name": "f", "input": {"a": 1}, "text": ""}
    ) == ToolUseChunk("1", "f", {"a": 1})
    assert parse_chunk({"type": "usage"}) == UsageChunk({})
    assert parse_chunk({"type": "error", "message": "boom"}) == ErrorChunk("boom")
    unknown = parse_chunk({"type": "compaction", "id": "c"})
    assert isinstance(unknown, UnknownChunk) and unknown.type == "compaction"
    assert TextChunk.type == "text" and UsageChunk("x").type == "usage"  # type: ignore[arg-type]


def test_garbage_lines_raise_or_are_skipped() -> None:
    lines = [b'{"type":"text","text":"a"}', b"<html>", b'{"type":"text","text":"b"}']
    with pytest.raises(MalformedResponse):
        list(parse_ndjson(lines))
    assert [c.text for c in parse_ndjson(lines, strict=False)] == ["a", "b"]  # type: ignore[attr-defined]
    with pytest.raises(MalformedResponse):
        list(parse_ndjson([b"[1]"]))


@given(
    st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), min_size=1
        ),
        max_size=20,
    ),
    st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=30),
    st.booleans(),
)
def test_iter_lines_is_independent_of_piece_boundaries(lines: list[str], cuts: list[int], crlf: bool) -> None:
    lines = [line for line in lines if line.encode().strip()]
    data = "".join(line + ("\r\n" if crlf else "\n") for line in lines).encode()
    pieces, pos = [], 0
    for cut in cuts * 20:
        if pos >= len(data):
            break
        pieces.append(data[pos : pos + cut])
        pos += cut
    pieces.append(data[pos:])
    got = [line.rstrip(b"\r") for line in iter_lines(pieces)]
    assert got == [line.encode() for line in lines]


@given(
    st.binary(max_size=300),
    st.sampled_from([200, 400, 401, 429, 500, 502]),
    st.sampled_from([None, "application/json", "text/html", "text/plain"]),
)
def test_error_parser_never_crashes(body: bytes, status: int, content_type: str | None) -> None:
    err = error_from_reply(status, content_type, body)
    assert isinstance(err, APIError)
    assert len(err.message) <= 500


@given(st.binary(max_size=300))
def test_result_parser_raises_only_puter_errors(body: bytes) -> None:
    try:
        result_from_json(body)
    except PuterError:
        pass


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
        max_leaves=12,
    )
)
def test_json_values_as_results_or_chunks_never_crash(value: object) -> None:
    body = json.dumps(value).encode()
    try:
        chat_reply(result_from_json(body))
    except PuterError:
        pass
    try:
        parse_chunk(value)
    except MalformedResponse:
        pass


def test_a_hint_is_data_and_the_api_names_no_magic() -> None:
    import ssl

    from puter_magic.api.errors import Hint
    from puter_magic.api.protocol import website_error
    from puter_magic.api.transport import translate

    err = website_error("https://puter.example.org", "https://api.puter.example.org")
    assert (err.hint, err.hint_origin) == (Hint.API_ORIGIN, "https://api.puter.example.org")
    assert website_error("http://localhost:4100", None).hint_origin is None
    wrong = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    tls = translate(wrong, "https://127.0.0.1:4100", ())
    assert (tls.hint, tls.hint_origin) == (Hint.PLAIN_HTTP, "http://127.0.0.1:4100")
    assert "%" not in tls.message  # the words are the notebook's
    for path in (ROOT / "puter_magic" / "api").glob("*.py"):
        assert "%puter" not in path.read_text(), f"{path.name} words a magic"
