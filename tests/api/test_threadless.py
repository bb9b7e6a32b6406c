"""The api where Python has no threads (Pyodide), taken in CPython with ``browser_python``:
``chat_many`` asks one prompt at a time in the calling thread, within the same limits, and a
client can carry its requests through a transport adapter (a server in this process)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from puter_magic import PuterClient
from puter_magic.api.batch import BatchProgress, run_batch
from puter_magic.api.chat import ChatReply
from puter_magic.api.errors import UsageLimited
from puter_magic.sandbox import Fault, Sandbox


@pytest.fixture
def in_page(browser_python: None) -> PuterClient:
    sandbox = Sandbox(rate_limit=(10, 0.5), concurrency_limit=3)
    return PuterClient(sandbox.origin, sandbox.token, adapter=sandbox.in_process())


def sandbox_of(client: PuterClient) -> Sandbox:
    adapter = client._transport.adapter
    assert adapter is not None
    sandbox: Sandbox = adapter.sandbox  # type: ignore[attr-defined]
    return sandbox


def test_chat_many_one_at_a_time_within_the_limits(in_page: PuterClient) -> None:
    seen: list[BatchProgress] = []
    result = in_page.chat_many(
        [f"p{i}" for i in range(25)], model="sandbox-echo", rate=(10, 0.5), on_progress=seen.append
    )
    assert result.texts == [f"p{i}" for i in range(25)]
    counts = sandbox_of(in_page).limits.counts
    assert counts.most_at_once == 1 and counts.too_many == 0  # paced: 10 per 0.5 s, never refused
    assert result.elapsed >= 1.0  # 25 at 10 per half second: two windows waited
    assert seen[-1].finished and seen[-1].answered == 25
    assert len(seen) >= 3 and 0 < seen[len(seen) // 2].done < 25  # progress between the items


def test_out_of_credit_stops_before_the_next_item(browser_python: None) -> None:
    sandbox = Sandbox(credit_calls=4)
    client = PuterClient(sandbox.origin, sandbox.token, adapter=sandbox.in_process())
    result = client.chat_many([f"p{i}" for i in range(10)], model="sandbox-echo", rate=None)
    assert isinstance(result.stop_error, UsageLimited)
    assert (result.answered, result.failed, result.not_asked) == (4, 1, 5)  # one at a time: one failed


def test_a_429_is_waited_out_inline(in_page: PuterClient) -> None:
    sandbox_of(in_page).inject(Fault.error(429, "too_many_requests", "Too many requests."))
    result = in_page.chat_many(["a", "b"], model="sandbox-echo", rate=(10, 0.5))
    assert result.texts == ["a", "b"] and result.rate_limited == 1


def test_stop_and_ctrl_c_end_it_between_items(browser_python: None) -> None:
    stop = threading.Event()
    sent: list[str] = []

    def send(prompt: Any) -> ChatReply:
        sent.append(prompt)
        if len(sent) == 3:
            stop.set()
        return ChatReply(text=str(prompt))

    result = run_batch(send, [f"p{i}" for i in range(10)], rate=None, stop=stop)
    assert result.interrupted and result.answered == 3 and sent == ["p0", "p1", "p2"]

    def interrupted(prompt: Any) -> ChatReply:
        if prompt == "p2":
            raise KeyboardInterrupt
        return ChatReply(text=str(prompt))

    result = run_batch(interrupted, [f"p{i}" for i in range(10)], rate=None)
    assert result.interrupted and result.texts[:3] == ["p0", "p1", None] and result.not_asked == 8


class Counting(BaseAdapter):
    """An adapter that answers every request with one JSON body, and keeps the requests."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "application/json"
        response.raw = _Body(b'{"username": "someone"}')
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        return None


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data, self.chunked = data, False

    def read1(self, size: int = -1, decode_content: bool = True) -> bytes:
        data, self.data = self.data, b""
        return data

    def stream(self, size: int, decode_content: bool = True) -> Any:
        yield self.read1()

    def close(self) -> None:
        return None

    def release_conn(self) -> None:
        return None


def test_an_adapter_carries_every_request_of_the_client() -> None:
    adapter = Counting()
    with PuterClient("https://api.example.test", "secret-token", adapter=adapter) as client:
        assert client.whoami() == {"username": "someone"}
        fetcher = client.media_fetcher()
        fetcher.fetch("https://api.example.test/some/picture.png")  # a URL on the client's own origin
    assert [r.url for r in adapter.sent] == [
        "https://api.example.test/whoami",
        "https://api.example.test/some/picture.png",
    ]
    assert adapter.sent[0].headers["Authorization"] == "Bearer secret-token"
    assert "Authorization" not in adapter.sent[1].headers  # a media URL never gets the token
    assert fetcher.adapters == {"https://api.example.test/": adapter}  # other hosts: the network


def test_runs_in_the_calling_thread(in_page: PuterClient) -> None:
    names: set[str] = set()
    in_page.chat_many(
        ["a", "b"], model="sandbox-echo", on_answer=lambda item: names.add(threading.current_thread().name)
    )
    assert names == {threading.current_thread().name}


def test_a_localhost_name_is_used_as_it_is_in_a_browser(browser_python: None) -> None:
    """The browser resolves ``*.localhost`` itself and does not let a page set Host."""
    from puter_magic.api.origin import parse_origin

    origin = parse_origin("http://api.puter.localhost:4100")
    assert origin.connect_url == "http://api.puter.localhost:4100" and origin.host_header is None
