"""What a newcomer sees (issue 17, item 6), through the magics (the look in a real browser
is tests/e2e/test_jupyterlab.py's)."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from puter_magic import PuterClient
from puter_magic.api.batch import BatchProgress
from puter_magic.sandbox import Fault, Sandbox

from ..shell import magics_of, run


def every_output(ip: InteractiveShell, source: str) -> list[dict[str, Any]]:
    """Every display and update a cell made, in order (not only the final ones)."""
    with capture_output() as captured:
        ip.run_cell(source)
    return [o["data"] for o in captured._outputs]


def test_code_blocks_come_in_a_box(signed_in: InteractiveShell) -> None:
    outputs, _ = run(signed_in, "%%puter\nShow me code")
    html = outputs[0]["text/html"]
    box = re.search(
        r'<pre class="puter-code" style="([^"]+)"><code class="language-python" style="white-space: pre', html
    )
    assert box is not None
    style = box.group(1)
    for rule in ("background: var(--jp-cell-editor-background, ", "padding: 8px 12px", "margin: 8px 0"):
        assert rule in style
    assert "overflow-x: auto" in style and "white-space: pre" in style  # scrolls, never wraps mid-word
    # highlighted in the theme's own editor colours, with a fallback where there are none
    assert "color: var(--jp-mirror-editor-comment-color, #" in html
    assert "color: var(--jp-mirror-editor-builtin-color, #" in html  # print


def test_compare_columns_render_markdown_while_they_stream(
    signed_in: InteractiveShell, sandbox: Sandbox
) -> None:
    sandbox.pace = 0.01
    frames = every_output(signed_in, "%%puter --compare sandbox-tutor,sandbox-tutor-lite\nHi")
    streaming = [f["text/html"] for f in frames[1:-1] if "▍" in f.get("text/html", "")]
    assert streaming, "no frame while streaming"
    late = streaming[-1]
    assert "<h3>" in late and "### " not in late  # the heading is rendered, not shown as ###
    assert "overflow-wrap: anywhere" not in late  # code is not broken mid-word
    assert "overflow-wrap: anywhere" not in frames[-1]["text/html"]


def test_each_time_left_counts_the_wait_on_the_rate_window(sandbox: Sandbox) -> None:
    seen: list[BatchProgress] = []
    with PuterClient(sandbox.origin, sandbox.token) as client:
        result = client.chat_many(
            [f"Item {i}" for i in range(8)],
            model="sandbox-tutor-lite",
            concurrency=4,
            rate=(4, 2.0),
            on_progress=seen.append,
        )
    assert result.summary().startswith("8 of 8 answered")
    waiting = [p for p in seen if p.done == 4 and p.in_flight == 0]
    assert len(waiting) >= 5
    lefts = [p.seconds_left for p in waiting]
    assert all(a is not None and b is not None and b < a for a, b in itertools.pairwise(lefts))
    for p in waiting:  # the last four cannot go before the window lets them, 2 s in
        assert p.seconds_left is not None and p.elapsed + p.seconds_left >= 2.0


def test_media_cells_say_they_are_working_and_name_the_model(
    signed_in: InteractiveShell, sandbox: Sandbox
) -> None:
    sandbox.think_time = 0.6
    frames = every_output(signed_in, "%puter_image A kite")
    assert frames[0]["text/plain"].startswith("drawing… ")
    assert 'class="puter-thinking"' in frames[0]["text/html"]
    assert any(k.startswith("image/") for k in frames[-2])  # the picture took the line's place
    assert "the server's default model" in frames[-1]["text/plain"]  # the footer
    frames = every_output(signed_in, "%puter_speak --voice alto Hello")
    assert frames[0]["text/plain"].startswith("speaking… ")
    outputs, _ = run(signed_in, "%puter_image -m sandbox-image A kite")
    assert outputs[-1]["text/plain"].split(" · ")[1] == "sandbox-image"


def test_a_name_that_names_nothing_is_said_in_the_footer(signed_in: InteractiveShell) -> None:
    signed_in.user_ns["topic"] = "loops"
    outputs, _ = run(signed_in, "%%puter\nTell me about {topic} and {nobody}")
    plain = outputs[0]["text/plain"]
    assert "filled in: {topic}" in plain
    assert "sent as written: {nobody} (no variable of that name)" in plain


def test_test_models_are_listed_last(signed_in: InteractiveShell) -> None:
    magics_of(signed_in).rich_output = False
    outputs, _ = run(signed_in, "%puter_models")
    table = outputs[-1].get("text/plain") or outputs[-1]["stdout"]
    rows = table.split("\n\n")[0].splitlines()[2:]  # under the head and its rule
    ids = [row.lstrip("* ").split()[0] for row in rows]
    assert ids[-3:] == ["abuse", "costly", "fake"] and ids[0].startswith("sandbox-")
    magics_of(signed_in).rich_output = True
    selector = magics_of(signed_in).model_selector()
    selector.refresh(force=False)
    options = list(selector.search.options)
    assert options[-3:] == ["abuse", "costly", "fake"] and options[0].startswith("sandbox-")


def test_help_for_tools_is_whole(ip: InteractiveShell) -> None:
    with capture_output() as captured:
        ip.run_cell("%%puter?\n")
    text = " ".join(captured.stdout.split())
    assert "each call shows as a line above the answer" in text


def test_signing_out_of_the_sandbox_is_punctuated(ip: InteractiveShell) -> None:
    run(ip, "%puter_login --sandbox")
    outputs, _ = run(ip, "%puter_logout")
    said = outputs[0]["text/plain"]
    assert re.fullmatch(r"Signed out of http://127\.0\.0\.1:\d+\. Sandbox stopped\.", said), said


def test_history_labels_outrank_the_replies_headings(signed_in: InteractiveShell) -> None:
    run(signed_in, "%%puter\nHi")
    outputs, _ = run(signed_in, "%puter_history")
    html = outputs[0]["text/html"]
    you = re.search(r"<h(\d)>1\. You</h\1>", html)
    said = re.search(r"<h(\d)>Assistant · sandbox-tutor</h\1>", html)
    turn = re.search(r"<h(\d)>Turn 1 · Sandbox Tutor</h\1>", html)
    assert you and said and turn
    assert int(you.group(1)) == int(said.group(1)) < int(turn.group(1))
    assert "### 1. You" in outputs[0]["text/plain"]  # the transcript's Markdown, as it is kept


def test_a_media_cell_that_fails_leaves_one_warning_or_nothing_behind(
    signed_in: InteractiveShell, sandbox: Sandbox
) -> None:
    sandbox.inject(Fault.error(500, "internal_error", "The image provider failed"))
    outputs, _ = run(signed_in, "%puter_image A kite")
    assert len(outputs) == 1 and "The image provider failed" in outputs[0]["text/plain"]
    signed_in.run_line_magic("config", "PuterMagics.raise_errors = True")
    sandbox.inject(Fault.error(500, "internal_error", "The image provider failed"))
    outputs, result = run(signed_in, "%puter_image A kite")
    assert result.error_in_exec is not None
    assert [o for o in outputs if o.get("text/plain")] == []  # no frozen "drawing…" line


FENCED = "Why does this fail?\n\n```python\ndef f(x):\n    return x +\n```\n\nThanks!"


@pytest.mark.parametrize(
    "prompt",
    [
        FENCED,
        "Look:\n\n```\n" + "x = 1\n" * 120 + "```\n\nThe end.",  # cut at 400 characters, fence open
        "Nested:\n\n````markdown\n```python\nprint(1)\n```\n````",
        "Tildes:\n\n~~~\nfor i in range(3):\n    print(i)\n~~~",
    ],
)
def test_tutor_quotes_fenced_prompts_and_keeps_its_table(ip: InteractiveShell, prompt: str) -> None:
    from puter_magic.notebook.markup import segments

    from ..shell import run

    run(ip, "%puter_login --sandbox")
    outputs, _ = run(ip, "%%puter --no-interpolate\n" + prompt)
    html, markdown = outputs[0]["text/html"], outputs[0]["text/markdown"]
    table = html.index("<table>")
    assert "<td>your questions so far</td>" in html[table:]
    quoted = html[:table]
    code = re.sub(r"<[^>]+>", "", quoted[quoted.index("<pre") :])  # a code block above the table
    first_code_line = next(line for line in prompt.splitlines()[2:] if line.strip() and "`" not in line)
    assert first_code_line in code  # indentation and all
    assert "<p>```" not in html and "<p>~~~" not in html  # no fence left as text
    # The Markdown twin: the table's rows are text, not swallowed by a fence from the quote.
    pieces = list(segments(markdown))
    assert any(kind == "text" and "| messages | 1 |" in src for kind, src in pieces)


def test_tutor_lite_quotes_fenced_prompts_too(ip: InteractiveShell) -> None:
    from ..shell import run

    run(ip, "%puter_login --sandbox")
    outputs, _ = run(ip, "%%puter -m sandbox-tutor-lite --no-interpolate\n" + FENCED)
    html = outputs[0]["text/html"]
    code = re.sub(r"<[^>]+>", "", html[html.index("<pre") :])
    assert "def f(x):\n    return x +" in code and "<p>```" not in html
    assert "I was sent 1 message " in html
