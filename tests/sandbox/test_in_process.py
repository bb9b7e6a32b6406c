"""The sandbox answering in-process (no socket, no thread): the same replies as over loopback,
read by the client as any server's, streams included."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from puter_magic import PuterClient
from puter_magic.api.chunks import TextChunk
from puter_magic.api.errors import AuthError, ModelNotFound, PuterError
from puter_magic.sandbox import Fault, Sandbox
from puter_magic.sandbox.in_process import IN_PROCESS_ORIGIN, InProcessAdapter, request_bytes


@pytest.fixture
def quiet() -> Iterator[Sandbox]:
    """A sandbox that never listens, answering through its adapter only."""
    yield Sandbox()


def in_process_client(sandbox: Sandbox, token: str | None = None) -> PuterClient:
    return PuterClient(sandbox.origin, token or sandbox.token, adapter=sandbox.in_process(), timeout=(2, 5))


def test_a_sandbox_that_never_listened_has_a_loopback_name(quiet: Sandbox) -> None:
    assert quiet.origin == IN_PROCESS_ORIGIN
    assert not quiet.running
    assert "not listening" in repr(quiet)
    assert isinstance(quiet.in_process(), InProcessAdapter)


def test_same_replies_as_over_loopback(quiet: Sandbox, sandbox: Sandbox) -> None:
    """Status, content type and body of each route match what the listening sandbox sends."""
    quiet.token = sandbox.token
    quiet.add_token(sandbox.token)
    over_http = requests.Session()
    in_page = requests.Session()
    in_page.mount("http://", quiet.in_process())
    call = {"interface": "puter-chat-completion", "method": "complete", "driver": "ai-chat"}
    call["args"] = {"messages": [{"role": "user", "content": "What is a tuple?"}], "model": "sandbox-tutor"}
    asks = [
        ("GET", "/whoami", None, sandbox.token),
        ("GET", "/whoami", None, "wrong-token"),
        ("GET", "/puterai/chat/models", None, None),
        ("GET", "/no/such/route", None, None),
        ("POST", "/drivers/call", call, sandbox.token),
        ("POST", "/drivers/call", {**call, "args": {**call["args"], "model": "nope"}}, sandbox.token),
    ]
    for method, path, body, token in asks:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        a = over_http.request(method, sandbox.origin + path, json=body, headers=headers, timeout=5)
        b = in_page.request(method, quiet.origin + path, json=body, headers=headers, timeout=5)
        assert b.status_code == a.status_code and b.headers["Content-Type"] == a.headers["Content-Type"]
        assert b.content == a.content, path
    assert [r.path for r in quiet.requests] == [a[1] for a in asks]  # it recorded them as a server does


def test_a_streamed_reply_is_read_as_a_stream(quiet: Sandbox) -> None:
    """All of it arrives at once, but it is chunked NDJSON, parsed chunk by chunk."""
    with in_process_client(quiet) as client:
        stream = client.stream(
            "puter-chat-completion",
            "complete",
            {"messages": [{"role": "user", "content": "Tell me about loops"}], "model": "sandbox-slow"},
            "ai-chat",
        )
        assert stream.response is not None
        assert stream.response.headers["Transfer-Encoding"] == "chunked"
        texts = [c for c in stream if isinstance(c, TextChunk)]
    assert len(texts) > 10
    assert "Tell me about loops" in "".join(t.text for t in texts)


def test_client_calls_and_errors_in_process(quiet: Sandbox) -> None:
    with in_process_client(quiet) as client:
        assert client.whoami()["username"] == "learner"
        assert "sandbox-tutor" in [m.id for m in client.models()]
        reply = client.chat("What is a list comprehension?", model="sandbox-tutor")
        assert "list comprehension" in reply.text and reply.usage
        with pytest.raises(ModelNotFound):
            client.chat("Hi", model="no-such-model")
    with in_process_client(quiet, token="not-a-token") as client, pytest.raises(AuthError):
        client.whoami()


NDJSON: dict[str, Any] = {"content_type": "application/x-ndjson"}
TEXT = {"type": "text", "text": "Hi"}
FAULTS = {  # each builds its faults afresh (a fault counts down as it is used)
    "503-html": lambda: [Fault(status=503, body="<html>busy</html>", content_type="text/html", times=10)],
    "reset": lambda: [Fault(body=b'{"success":true,"result":{"message":"' + b"d" * 500, reset=100)],
    "truncated": lambda: [Fault(body=b'{"success":true', declared_length=500)],
    "bad-gzip": lambda: [Fault(body=b"not gzip at all", headers={"Content-Encoding": "gzip"})],
    "stream-cut": lambda: [Fault(lines=[TEXT, {"type": "text", "text": "x" * 40}], reset=30, **NDJSON)],
    "stream-error": lambda: [Fault(lines=[TEXT, {"type": "error", "message": "overloaded"}], **NDJSON)],
    "stream-ok": lambda: [Fault(lines=[TEXT, {"type": "usage", "usage": {}}], **NDJSON)],
}


def outcome(client: PuterClient) -> tuple[str, str]:
    try:
        stream = client.chat_stream("Hi", model="sandbox-tutor")
        text = "".join(c.text for c in stream if isinstance(c, TextChunk))
    except PuterError as err:
        return type(err).__name__, str(err.status)
    return "ok", text


@pytest.mark.parametrize("name", FAULTS)
def test_faults_reach_the_client_as_over_a_socket(quiet: Sandbox, sandbox: Sandbox, name: str) -> None:
    """A scripted failure raises the same kind of error in-process as over loopback."""
    with PuterClient(sandbox.origin, sandbox.token, timeout=(2, 5), max_retry_wait=0) as over_http:
        sandbox.inject(*FAULTS[name]())
        expected = outcome(over_http)
    with PuterClient(quiet.origin, quiet.token, adapter=quiet.in_process(), max_retry_wait=0) as in_page:
        quiet.inject(*FAULTS[name]())
        assert outcome(in_page) == expected
    assert (expected == ("ok", "Hi")) == (name == "stream-ok")


def test_no_thread_and_no_socket_is_used(
    quiet: Sandbox, browser_python: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What this thread starts or connects is counted (a count of live threads would also see
    # an earlier test's threads ending meanwhile).
    here = threading.current_thread()
    started: list[str] = []
    connected: list[Any] = []
    thread_start, socket_connect = threading.Thread.start, socket.socket.connect

    def start(thread: threading.Thread) -> None:
        if threading.current_thread() is here:
            started.append(thread.name)
        thread_start(thread)

    def connect(sock: socket.socket, address: Any) -> None:
        if threading.current_thread() is here:
            connected.append(address)
        socket_connect(sock, address)

    monkeypatch.setattr(threading.Thread, "start", start)
    monkeypatch.setattr(socket.socket, "connect", connect)
    with in_process_client(quiet) as client:
        assert client.chat("Hi", model="sandbox-echo").text == "Hi"
        image = client.txt2img("A red kite", model="sandbox-image-url")  # a URL on its own origin
        assert image.data.startswith(b"\x89PNG")
    assert started == [] and connected == []
    fetched = [r for r in quiet.requests if r.path.startswith("/puter-generated/")]
    assert len(fetched) == 1 and fetched[0].token is None  # the media URL was fetched without the token


def test_request_bytes_are_http() -> None:
    req = requests.Request("POST", "http://sandbox.localhost/drivers/call?x=1", json={"a": 1}).prepare()
    raw = request_bytes(req)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /drivers/call?x=1 HTTP/1.1"
    assert "Host: sandbox.localhost" in lines and "Connection: close" in lines
    assert f"Content-Length: {len(body)}" in lines and body == b'{"a": 1}'
