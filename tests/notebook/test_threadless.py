"""The notebook where Python has no threads and no sockets (Pyodide, as in JupyterLite),
taken in CPython with the ``browser_python`` fixture: every cell of the demo's kinds works
against the sandbox answering in-process, and what cannot work says so in one line."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from puter_magic.api.chat import ChatStream
from puter_magic.api.chunks import Chunk, ChunkStream, ReasoningChunk, TextChunk, UsageChunk
from puter_magic.api.errors import PuterTimeout
from puter_magic.notebook.compare import CompareView, run_compare
from puter_magic.notebook.live import stream_live

from ..shell import magics_of, run


class Recorder:
    def __init__(self) -> None:
        self.updates: list[Any] = []

    def update(self, obj: Any) -> None:
        obj._repr_mimebundle_()
        self.updates.append(obj)


def chat_of(chunks: list[Chunk], delay: float = 0.0, fail: BaseException | None = None) -> ChatStream:
    def gen() -> Iterator[Chunk]:
        for chunk in chunks:
            time.sleep(delay)
            yield chunk
        if fail is not None:
            raise fail

    return ChatStream(ChunkStream(gen(), "application/x-ndjson"), "m", ())  # type: ignore[arg-type]


def test_a_stream_is_read_inline_with_throttled_updates(browser_python: None) -> None:
    chunks: list[Chunk] = [ReasoningChunk("hmm "), *[TextChunk(f"w{i} ") for i in range(200)], UsageChunk({})]
    handle = Recorder()
    started = time.monotonic()
    result = stream_live(chat_of(chunks, delay=0.002), handle, close=lambda: None, max_rate=20)
    elapsed = time.monotonic() - started
    assert result.text == "".join(f"w{i} " for i in range(200))
    assert result.reasoning == "hmm " and not result.interrupted and result.error is None
    texts = [u for u in handle.updates if u.text]
    assert 3 <= len(texts) <= 20 * elapsed + 2  # it showed the text arriving, at most 20 a second
    assert result.first_text_at is not None and result.first_chunk_at is not None


def test_inline_read_ends_with_the_streams_error(browser_python: None) -> None:
    closed: list[bool] = []
    chat = chat_of([TextChunk("partial")], fail=PuterTimeout("too slow"))
    result = stream_live(chat, Recorder(), close=lambda: closed.append(True))
    assert result.text == "partial" and isinstance(result.error, PuterTimeout) and closed


def test_inline_read_is_interrupted_by_ctrl_c(browser_python: None) -> None:
    closed: list[bool] = []
    chat = chat_of([TextChunk("so far")], fail=KeyboardInterrupt())
    result = stream_live(chat, Recorder(), close=lambda: closed.append(True))
    assert result.interrupted and result.text == "so far" and closed


def test_compare_asks_one_model_at_a_time(browser_python: None) -> None:
    order: list[str] = []
    states: list[list[str]] = []

    def start(model: str) -> ChatStream:
        order.append(model)
        return chat_of([TextChunk(f"{model} says hi"), UsageChunk({})], delay=0.01)

    def update(view: CompareView) -> None:
        states.append([c.state for c in view.columns])  # the columns change after

    columns = run_compare(start, ["a", "b", "c"], update, concurrency=3, max_rate=1000)
    assert order == ["a", "b", "c"]
    assert [(c.model, c.state, c.text) for c in columns] == [(m, "done", f"{m} says hi") for m in "abc"]
    # Each column was shown streaming while the later ones still waited.
    assert ["streaming", "waiting", "waiting"] in states
    assert ["done", "streaming", "waiting"] in states
    assert CompareView.starting(["a", "b", "c"], 3).columns[1].state == "waiting"


@pytest.fixture
def in_page(ip: InteractiveShell, browser_python: None) -> InteractiveShell:
    outputs, result = run(ip, "%puter_login --sandbox")
    assert result.success, result.error_in_exec
    text = outputs[0]["text/plain"]
    assert text.startswith("Signed in to the sandbox in this page as learner"), text
    session = magics_of(ip).session
    assert session.sandbox is not None and not session.sandbox.running  # nothing listens
    return ip


def test_a_question_streams_and_renders(in_page: InteractiveShell) -> None:
    outputs, result = run(in_page, "%%puter\nWhat is a list comprehension?")
    assert result.success
    html = outputs[-1]["text/html"]
    assert "Sandbox Tutor" in html and "<table>" in html  # rendered Markdown
    assert "sandbox-tutor" in outputs[-1]["text/plain"]
    session = magics_of(in_page).session
    assert session.sandbox.calls("complete")[0].args["stream"] is True


def test_compare_each_tools_and_media_without_threads(in_page: InteractiveShell) -> None:
    models = "sandbox-tutor,sandbox-tutor-lite,no-such-model"
    outputs, _ = run(in_page, f"%%puter --compare {models}\nWhat is a dict?")
    plain = outputs[-1]["text/plain"]
    assert "=== sandbox-tutor ===" in plain and "=== sandbox-tutor-lite ===" in plain
    assert "no-such-model" in plain and plain.count("sandbox-tutor-lite ·") == 1

    run(in_page, 'words = ["loop", "function", "dictionary"]')
    _, result = run(in_page, "%%puter --each words --out meanings -m sandbox-echo\nWhat is a {item}?")
    assert result.success
    assert in_page.user_ns["meanings"] == [f"What is a {w}?" for w in ["loop", "function", "dictionary"]]

    run(in_page, "def describe(n: int = 5) -> list:\n    'The first n rows.'\n    return list(range(n))")
    outputs, _ = run(in_page, "%%puter -m sandbox-agent --tools describe\nPlease describe n=3")
    assert outputs[-1]["text/plain"].splitlines()[0] == "called describe(n=3) → [0, 1, 2]"

    outputs, result = run(in_page, "%%puter_image --out picture -m sandbox-image-url\nA red kite")
    assert result.success and in_page.user_ns["picture"].data.startswith(b"\x89PNG")  # fetched in-process
    run(in_page, "raw = picture.data")
    outputs, result = run(in_page, "%%puter --image raw --no-history\nWhat do you see?")
    assert result.success and "image" in outputs[-1]["text/plain"].lower()


def test_browser_sign_in_says_to_use_the_button(ip: InteractiveShell, browser_python: None) -> None:
    _, result = run(ip, "%puter_login --browser")
    assert not result.success
    message = str(result.error_in_exec)
    assert "Sign in with Puter button" in message and "\n" not in message


def test_prompt_takes_a_pasted_token_instead_of_the_button(
    ip: InteractiveShell, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a notebook frontend (as JupyterLite's is), --prompt shows the token page and takes
    the pasted token: no button, whose click the page's kernel could not wait for."""
    import getpass

    from puter_magic.notebook import account

    monkeypatch.setattr(account, "frontend_of", lambda shell: "jupyter")
    monkeypatch.setattr(account, "_can_prompt", lambda: True)
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": sandbox.token)
    outputs, result = run(ip, f"%puter_login --origin {sandbox.origin} --prompt")
    assert result.success, result.error_in_exec
    texts = [o.get("text/plain", "") for o in outputs]
    assert any("?action=copyauth" in t for t in texts)  # the token page's link
    assert any(t.startswith(f"Signed in to {sandbox.origin} as learner (token from prompt)") for t in texts)
    assert not any("puter-signin-button" in str(o) or "anywidget" in str(o) for o in outputs)
    _, result = run(ip, "%puter_login --prompt --no-wait")
    assert "not with --browser" in str(result.error_in_exec)
