"""Streaming display: throttling, the thinking line, interrupts and errors."""

from __future__ import annotations

import _thread
import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from puter_magic.api.chat import ChatStream
from puter_magic.api.chunks import (
    Chunk,
    ChunkStream,
    ErrorChunk,
    ReasoningChunk,
    TextChunk,
    UnknownChunk,
    UsageChunk,
)
from puter_magic.api.errors import PuterTimeout, StreamError
from puter_magic.notebook.live import stream_live
from puter_magic.notebook.views import PartialReply
from puter_magic.sandbox import Sandbox

from ..shell import magics_of, run, signed_in_to


class Recorder:
    def __init__(self, fail_at: int | None = None, exc: BaseException | None = None) -> None:
        self.updates: list[tuple[float, PartialReply]] = []
        self.fail_at = fail_at
        self.exc = exc

    def update(self, obj: Any) -> None:
        self.updates.append((time.monotonic(), obj))
        obj._repr_mimebundle_()
        if self.fail_at is not None and len(self.updates) >= self.fail_at and self.exc is not None:
            raise self.exc


def _gen(chunks: list[Chunk], delay: float, first_delay: float) -> Iterator[Chunk]:
    time.sleep(first_delay)
    for chunk in chunks:
        if delay:
            time.sleep(delay)
        yield chunk


def source(chunks: list[Chunk], delay: float = 0.0, first_delay: float = 0.0) -> ChatStream:
    """A chat stream whose chunks come from a list, at a pace."""
    return as_chat(_gen(chunks, delay, first_delay))


def as_chat(chunks: Iterator[Chunk]) -> ChatStream:
    return ChatStream(ChunkStream(chunks, "application/x-ndjson"), "m", ())  # type: ignore[arg-type]


def test_updates_are_throttled_and_text_accumulates() -> None:
    chunks: list[Chunk] = [TextChunk(f"w{i} ") for i in range(400)]
    handle = Recorder()
    started = time.monotonic()
    result = stream_live(source(chunks, delay=0.002), handle, close=lambda: None, max_rate=20)
    elapsed = time.monotonic() - started
    assert result.text == "".join(c.text for c in chunks)  # type: ignore[attr-defined]
    texts = [u for u in handle.updates if u[1].text]
    assert len(texts) <= 20 * elapsed + 2
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(texts)]
    assert all(g >= 0.045 for g in gaps), gaps
    assert len(texts) >= 3  # it did stream


def test_thinking_line_counts_up_until_text_arrives() -> None:
    handle = Recorder()
    stream_live(source([TextChunk("hi"), UsageChunk({"x": 1})], first_delay=0.45), handle, close=lambda: None)
    thinking = [u for _, u in handle.updates if not u.text]
    assert len(thinking) >= 3
    assert thinking[-1].elapsed > thinking[0].elapsed
    assert thinking[0]._repr_mimebundle_()["text/plain"].startswith("thinking… ")


def test_first_text_shows_at_once() -> None:
    handle = Recorder()
    result = stream_live(
        source([TextChunk("a")] + [TextChunk("b")] * 3, delay=0.3), handle, close=lambda: None
    )
    assert result.first_text_at is not None and result.first_chunk_at is not None
    assert result.first_text_at - result.first_chunk_at < 0.05


def test_reasoning_usage_and_unknown_chunks() -> None:
    chunks: list[Chunk] = [
        ReasoningChunk("think "),
        ReasoningChunk("more"),
        UnknownChunk("compaction", {}),
        TextChunk("answer"),
        UsageChunk({"output_tokens": 2}),
    ]
    result = stream_live(source(chunks), Recorder(), close=lambda: None)
    assert (result.reasoning, result.text, result.usage) == ("think more", "answer", {"output_tokens": 2})


def test_interrupt_closes_the_stream_and_keeps_what_arrived() -> None:
    closed = threading.Event()
    result = stream_live(
        source([TextChunk(f"{i} ") for i in range(1000)], delay=0.005),
        Recorder(fail_at=3, exc=KeyboardInterrupt()),
        close=closed.set,
    )
    assert result.interrupted and closed.is_set()
    assert result.text.startswith("0 1 ") and result.error is None


def test_error_chunk_ends_the_stream_with_partial_text() -> None:
    closed = threading.Event()
    result = stream_live(
        source([TextChunk("part"), ErrorChunk("overloaded"), TextChunk("never")]),
        Recorder(),
        close=closed.set,
    )
    assert isinstance(result.error, StreamError) and result.error.message == "overloaded"
    assert result.text == "part" and closed.is_set()


def test_puter_errors_from_the_reader_are_reported_and_bugs_propagate() -> None:
    def timing_out() -> Iterator[Chunk]:
        yield TextChunk("x")
        raise PuterTimeout("silence")

    assert isinstance(stream_live(as_chat(timing_out()), Recorder(), close=lambda: None).error, PuterTimeout)

    def buggy() -> Iterator[Chunk]:
        yield TextChunk("x")
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        stream_live(as_chat(buggy()), Recorder(), close=lambda: None)


def test_stop_button_in_a_cell_keeps_partial_and_records_nothing(ip: InteractiveShell) -> None:
    with Sandbox(slow_pace=0.03) as sandbox:
        magics = signed_in_to(ip, sandbox)
        timer = threading.Timer(0.6, _thread.interrupt_main)  # what the kernel does on "stop"
        timer.start()
        outputs, result = run(ip, "%%puter -m sandbox-slow\nTell me a long story")
        timer.join()
        assert result.success
        plain = outputs[0]["text/plain"]
        assert "### Turn 1" in plain and "(interrupted)" in plain
        assert "not kept in the conversation" in plain
        assert "(interrupted)" in outputs[0]["text/html"]
        assert magics.session.conversations.get().exchanges == []
        record = sandbox.calls("complete")[-1]
        deadline = time.monotonic() + 3
        while not record.client_gone and time.monotonic() < deadline:
            time.sleep(0.02)
        assert record.client_gone and record.status is None  # the stream was closed at once


def test_reasoning_is_folded_or_hidden(ip: InteractiveShell) -> None:
    run(ip, "%puter_login --sandbox")
    outputs, _ = run(ip, "%%puter -m sandbox-thinker\nThink first")
    html = outputs[0]["text/html"]
    assert "<details" in html and "Reasoning" in html and "The learner sent" in html
    ip.run_line_magic("config", "PuterMagics.show_reasoning = False")
    outputs, _ = run(ip, "%%puter -m sandbox-thinker\nThink again")
    assert "Reasoning" not in outputs[0]["text/html"]


def test_stream_trait_turns_streaming_off(ip: InteractiveShell) -> None:
    run(ip, "%puter_login --sandbox")
    ip.run_line_magic("config", "PuterMagics.stream = False")
    run(ip, "%%puter\nNo stream")
    assert "stream" not in magics_of(ip).session.sandbox.calls("complete")[-1].args


def test_bench_measures_updates_a_second_over_seconds(
    ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    from ..conftest import ROOT
    from ..shell import magics_of

    spec = importlib.util.spec_from_file_location("bench_stream", ROOT / "bench" / "bench_stream.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    ip.run_line_magic("puter_login", "--sandbox")
    publisher = bench.KernelLikePublisher(shell=ip)
    monkeypatch.setattr(ip, "display_pub", publisher)
    rate, duration, messages = bench.measure_update_rate(ip, publisher, magics_of(ip).session.sandbox, 2.0)
    assert duration >= 2.0  # long enough for a rate to mean something
    assert 10 <= rate <= 20.5 and messages >= 20  # throttled to about 20 a second, and live


def _stopped_midway(ip: InteractiveShell, sandbox: Sandbox) -> tuple[list[dict[str, Any]], Any]:
    """Ask sandbox-slow in *ip*, signed in to *sandbox*, and press stop while it streams."""
    signed_in_to(ip, sandbox)
    timer = threading.Timer(0.6, _thread.interrupt_main)  # Ctrl-C, the kernel's "stop"
    timer.start()
    outputs, result = run(ip, "%%puter -m sandbox-slow\nTell me a long story")
    timer.join()
    return outputs, result


def test_ctrl_c_in_a_terminal_ends_the_partial_line_marked(ip: InteractiveShell) -> None:
    """As the notebook marks a reply cut short "(interrupted)", the terminal ends the partial
    line with the same mark before the footer (not the footer glued under a half line)."""
    magics_of(ip).rich_output = False
    with Sandbox(slow_pace=0.03) as sandbox:
        outputs, result = _stopped_midway(ip, sandbox)
    assert result.success
    printed = next(o["stdout"] for o in outputs if "stdout" in o)
    before, footer = printed.split("sandbox-slow · ", 1)
    partial = before.rstrip("\n").splitlines()[-1]
    assert partial.endswith(" … (interrupted)") and len(partial) > len(" … (interrupted)"), printed
    assert "interrupted: this partial reply is not kept" in footer


def test_an_interrupted_reply_is_a_request_on_the_meter(ip: InteractiveShell) -> None:
    """docs/account.md: the meter counts every request made; a reply stopped midway was sent,
    and the sandbox (like Puter) charged it, so it is counted, marked interrupted."""
    with Sandbox(slow_pace=0.03) as sandbox:
        _stopped_midway(ip, sandbox)
        assert len(sandbox.calls("complete")) == 1
    outputs, _ = run(ip, "%puter_usage")
    table = outputs[0]["text/plain"]
    row = next(line for line in table.splitlines() if line.lstrip().startswith("sandbox-slow"))
    assert "1 (1 interrupted)" in row, table
    assert "1 interrupted (counted as a request; its token counts never arrived)" in table
