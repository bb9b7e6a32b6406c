"""Huge replies stay out of the notebook: every output is bounded, the whole text is kept.

A model can answer with megabytes. What is displayed (the final reply in text/plain,
text/markdown and text/html, the live display while it streams, the terminal's printout,
the transcript of %puter_history) is bounded and says how much was left out and where the
whole text is; ``--out``, the conversation and ``%puter_history --json`` keep all of it.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from nbclient import NotebookClient

from puter_magic.notebook import markup
from puter_magic.sandbox import Fault, Sandbox

from ..htmlcheck import live_markup
from ..shell import magics_of, run

TEN_MB = 10_000_000
BOUND = 100_000  # the default PuterMagics.max_display_chars
# What a bounded output may weigh: the shown part rendered (HTML is wordier than the
# Markdown it comes from), the footer and the note. Far below the 10 MB of the reply.
OUTPUT_CAP = 6 * BOUND

UNIT = (
    "## Step {n}\n\n"
    "Some *emphasis*, `inline code`, math $x_{n} + y$ and a [link](https://example.com/{n}); "
    "héllo wörld ✓ 你好.\n\n"
    "- one **bold**\n- two\n\n"
    "| a | b |\n|---|---|\n| {n} | 2 |\n\n"
    "```python\n" + "print('line')\n" * 40 + "```\n\n"
)


def big_markdown(size: int = TEN_MB) -> str:
    """About *size* characters of Markdown rich enough to keep the converter busy."""
    parts: list[str] = []
    total = 0
    n = 0
    while total < size:
        piece = UNIT.replace("{n}", str(n))
        parts.append(piece)
        total += len(piece)
        n += 1
    return "".join(parts)[:size]


def stream_lines(text: str, piece: int = 65_536) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = [
        {"type": "text", "text": text[i : i + piece]} for i in range(0, len(text), piece)
    ]
    lines.append({"type": "usage", "usage": {"input_tokens": 3, "output_tokens": 2_500_000}})
    return lines


def envelope(text: str) -> dict[str, Any]:
    return {
        "success": True,
        "result": {
            "message": {"role": "assistant", "content": text},
            "usage": {"prompt_tokens": 3, "completion_tokens": 2_500_000},
            "finish_reason": "stop",
        },
        "service": {"name": "ai-chat"},
    }


@pytest.fixture(scope="module")
def huge() -> str:
    return big_markdown()


@pytest.fixture
def markup_inputs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of every text the Markdown pipeline is asked to convert."""
    sizes: list[int] = []
    real_html, real_md = markup.to_html, markup.safe_markdown

    def to_html(text: str, **kwargs: Any) -> str:
        sizes.append(len(text))
        return real_html(text, **kwargs)

    def safe_markdown(text: str) -> str:
        sizes.append(len(text))
        return real_md(text)

    monkeypatch.setattr(markup, "to_html", to_html)
    monkeypatch.setattr(markup, "safe_markdown", safe_markdown)
    return sizes


def every_output(source: str, shell: InteractiveShell) -> tuple[list[dict[str, Any]], str, float]:
    """Every display message of a cell (updates included, as a kernel sends them), its
    stdout, and how long it took."""
    started = time.monotonic()
    with capture_output() as captured:
        result = shell.run_cell(source)
    elapsed = time.monotonic() - started
    assert result.success, result.error_in_exec
    return [dict(out["data"]) for out in captured._outputs], captured.stdout, elapsed


def fences_closed(markdown_text: str) -> bool:
    return len(re.findall(r"^[ \t]*```", markdown_text, re.MULTILINE)) % 2 == 0


def assert_bounded_reply(data: dict[str, Any], whole: int) -> None:
    assert {"text/plain", "text/markdown", "text/html"} <= set(data)
    for mime, value in data.items():
        assert len(value) < OUTPUT_CAP, (mime, len(value))
    for mime in ("text/plain", "text/markdown", "text/html"):
        # The note says how much was left out, of how much in all.
        found = re.search(r"([\d,]+) more characters not shown \(([\d,]+) in all\)", data[mime])
        assert found, mime
        left, total = (int(g.replace(",", "")) for g in found.groups())
        assert total == whole and whole - BOUND <= left <= whole - 0.8 * BOUND, (mime, left)
    assert fences_closed(data["text/markdown"])
    assert live_markup(data["text/html"]) == []


def test_the_settings_declared_bound_is_the_views_bound() -> None:
    """``max_display_chars`` declares the number itself (so ``ipython --help-all`` and
    ``%config PuterMagics`` print it: a default of 0 would read as "no bound"), and it is the
    views' bound; the settings still load without the views (tests/test_package.py)."""
    from puter_magic.notebook import views
    from puter_magic.notebook.magics import PuterMagics

    trait = PuterMagics.class_traits()["max_display_chars"]
    assert trait.default_value == views.MAX_DISPLAY_CHARS
    assert f"Default: {views.MAX_DISPLAY_CHARS}" in PuterMagics.class_get_trait_help(trait).splitlines()[-1]


def test_huge_streamed_reply_is_bounded_everywhere_and_kept_whole(
    signed_in: InteractiveShell, sandbox: Sandbox, huge: str, markup_inputs: list[int]
) -> None:
    sandbox.inject(Fault.stream(stream_lines(huge), pace=0.004))
    outputs, stdout, elapsed = every_output("%%puter --out reply\nWrite me a very long tutorial.", signed_in)
    assert stdout == ""
    # Every message the kernel would send, live updates included, is bounded.
    assert len(outputs) >= 3  # thinking, at least one live update, the final reply
    for data in outputs:
        for mime, value in data.items():
            assert len(value) < OUTPUT_CAP, (mime, len(value))
    total = sum(len(v) for data in outputs for v in data.values())
    assert total < 40 * OUTPUT_CAP
    final = outputs[-1]
    assert_bounded_reply(final, len(huge))
    for mime in ("text/plain", "text/markdown", "text/html"):
        assert "reply (--out)" in final[mime] and "%puter_history --json" in final[mime], mime
    assert "Step 0" in final["text/plain"] and "Step 0" in final["text/html"]
    # The whole reply is kept: --out, the conversation, the JSON history.
    assert signed_in.user_ns["reply"] == huge
    thread = magics_of(signed_in).session.conversations.get()
    assert thread.exchanges[-1].assistant == huge
    data = signed_in.run_line_magic("puter_history", "--json")
    assert data["exchanges"][-1]["assistant"] == huge
    # The Markdown pipeline never saw the 10 MB, and the cell stayed quick.
    assert markup_inputs and max(markup_inputs) <= BOUND + 1000
    assert elapsed < 15, elapsed


def test_huge_reply_without_streaming_is_bounded(
    signed_in: InteractiveShell, sandbox: Sandbox, huge: str, markup_inputs: list[int]
) -> None:
    sandbox.inject(Fault.raw(envelope(huge)))
    outputs, result = run(signed_in, "%%puter --no-stream --out reply\nAgain, very long.")
    assert result.success
    assert len(outputs) == 1
    assert_bounded_reply(outputs[0], len(huge))
    assert signed_in.user_ns["reply"] == huge
    assert max(markup_inputs) <= BOUND + 1000


def test_the_cut_falls_between_paragraphs_and_closes_an_open_fence(
    signed_in: InteractiveShell, sandbox: Sandbox
) -> None:
    # A code block runs across the bound: the shown part must close it, so the note and
    # the footer are not swallowed into the code block.
    text = "Intro paragraph.\n\n```python\n" + "x = 1  # ü\n" * 20_000 + "```\n\nThe end.\n"
    sandbox.inject(Fault.stream(stream_lines(text)))
    outputs, _ = run(signed_in, "%%puter --raw --out r\nCode please")
    raw_view = outputs[0]
    assert len(raw_view["text/html"]) < OUTPUT_CAP and "more characters not shown" in raw_view["text/plain"]
    sandbox.inject(Fault.stream(stream_lines(text)))
    outputs, _ = run(signed_in, "%%puter --out r\nCode please")
    md = outputs[0]["text/markdown"]
    assert fences_closed(md)
    shown = md.split("```python\n", 1)[1].split("```", 1)[0]
    assert shown.endswith("x = 1  # ü\n")  # cut at a line end, never inside a line
    assert "more characters not shown" in md.split("```python\n", 1)[1].split("```", 1)[1]
    assert signed_in.user_ns["r"] == text


def test_history_transcript_is_bounded_and_json_keeps_all(
    signed_in: InteractiveShell, sandbox: Sandbox, huge: str
) -> None:
    sandbox.inject(Fault.stream(stream_lines(huge)))
    run(signed_in, "%%puter\nLong one")
    run(signed_in, "%%puter\nShort one")
    outputs, result = run(signed_in, "%puter_history")
    assert result.success and len(outputs) == 1
    for mime, value in outputs[0].items():
        assert len(value) < OUTPUT_CAP, (mime, len(value))
    assert "more characters not shown" in outputs[0]["text/plain"]
    assert "%puter_history --json" in outputs[0]["text/plain"]
    # --json returns everything, and showing it as a cell's result stays bounded too.
    outputs, result = run(signed_in, "%puter_history --json")
    assert result.result["exchanges"][0]["assistant"] == huge
    shown = outputs[0]["stdout"]  # the cell's result, as the shell's display hook prints it
    assert len(shown) < OUTPUT_CAP and "more characters" in shown
    assert json.loads(json.dumps(result.result))["exchanges"][0]["assistant"] == huge


def test_terminal_printout_is_bounded(signed_in: InteractiveShell, sandbox: Sandbox, huge: str) -> None:
    magics_of(signed_in).rich_output = False
    sandbox.inject(Fault.stream(stream_lines(huge), pace=0.002))
    outputs, stdout, _ = every_output("%%puter --out reply\nLong, in a terminal", signed_in)
    assert outputs == []
    assert len(stdout) < OUTPUT_CAP
    assert "Step 0" in stdout and "more characters not shown" in stdout and "reply (--out)" in stdout
    assert signed_in.user_ns["reply"] == huge


def test_compare_columns_are_bounded(signed_in: InteractiveShell, sandbox: Sandbox, huge: str) -> None:
    sandbox.inject(Fault.stream(stream_lines(huge)), Fault.stream(stream_lines("A short answer.")))
    outputs, _ = run(signed_in, "%%puter --compare sandbox-tutor,sandbox-echo\nCompare")
    assert len(outputs) == 1
    for mime, value in outputs[0].items():
        assert len(value) < 2 * OUTPUT_CAP, (mime, len(value))
    assert "more characters not shown" in outputs[0]["text/plain"]
    assert "A short answer." in outputs[0]["text/plain"]


def test_a_reply_under_the_bound_is_shown_whole(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    text = big_markdown(BOUND - 10)
    sandbox.inject(Fault.stream(stream_lines(text)))
    outputs, _ = run(signed_in, "%%puter\nJust under")
    assert "not shown" not in outputs[0]["text/plain"]
    assert outputs[0]["text/plain"].startswith(text.rstrip())


@pytest.mark.notebook
def test_saved_notebook_stays_small(
    tmp_path: Path, sandbox: Sandbox, huge: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real kernel (nbclient) answers a 10 MB reply; the saved .ipynb stays small."""
    sandbox.inject(Fault.stream(stream_lines(huge), pace=0.002))
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext puter_magic\n%puter_login"),
        nbformat.v4.new_code_cell("%%puter -m sandbox-echo --out reply\nThe longest answer you can give."),
        nbformat.v4.new_code_cell("len(reply)"),
    ]
    monkeypatch.setenv("PUTER_AUTH_TOKEN", sandbox.token)  # the kernel inherits these
    monkeypatch.setenv("PUTER_API_ORIGIN", sandbox.origin)
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    started = time.monotonic()
    client.execute()
    elapsed = time.monotonic() - started
    path = tmp_path / "huge.ipynb"
    nbformat.write(nb, path)
    assert path.stat().st_size < 2_000_000, path.stat().st_size
    assert nb.cells[2].outputs[0]["data"]["text/plain"] == str(len(huge))
    reply = [o for o in nb.cells[1].outputs if o["output_type"] == "display_data"]
    assert len(reply) == 1 and "more characters not shown" in reply[0]["data"]["text/plain"]
    assert elapsed < 60, elapsed
