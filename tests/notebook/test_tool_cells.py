"""%%puter --tools in a real IPython shell, against the sandbox's tool-calling models."""

from __future__ import annotations

import _thread
import builtins
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import StdinNotImplementedError, UsageError
from IPython.core.interactiveshell import InteractiveShell

from puter_magic.sandbox import Fault, Sandbox

from ..htmlcheck import live_markup
from ..shell import magics_of, run, signed_in_to

AGENTS = ["sandbox-agent", "sandbox-agent-claude"]

SETUP = '''
CITIES = [
    {"city": "Paris", "temp": 18},
    {"city": "Oslo", "temp": 7},
    {"city": "Rome", "temp": 24},
]
CALLED = []

def describe(n: int = 5) -> list:
    """The first n rows of the cities table."""
    CALLED.append(("describe", n))
    return CITIES[:n]

def warmest() -> str:
    """The warmest city."""
    CALLED.append(("warmest",))
    return max(CITIES, key=lambda r: r["temp"])["city"]

def explode(n: int) -> int:
    """Always fails."""
    CALLED.append(("explode", n))
    raise ValueError(f"no good: {n}")

def stop() -> None:
    """The stop button is pressed while this runs."""
    CALLED.append(("stop",))
    raise KeyboardInterrupt
'''


@pytest.fixture
def shell(ip: InteractiveShell, sandbox: Sandbox) -> InteractiveShell:
    os.environ["PUTER_AUTH_TOKEN"] = sandbox.token
    _, result = run(ip, f"%puter_login --origin {sandbox.origin}")
    assert result.success, result.error_in_exec
    ip.run_cell(SETUP)
    sandbox.clear()
    return ip


def called(ip: InteractiveShell) -> list[Any]:
    return list(ip.user_ns["CALLED"])


def thread_of(ip: InteractiveShell) -> Any:
    return magics_of(ip).session.conversations.get()


def tool_messages(sandbox: Sandbox, index: int = -1) -> list[dict[str, Any]]:
    return [m for m in sandbox.calls("complete")[index].args["messages"] if m.get("role") == "tool"]


@pytest.mark.parametrize("model", AGENTS)
@pytest.mark.parametrize("stream", ["", " --no-stream"])
def test_a_call_shows_as_one_folded_line_above_the_answer(
    shell: InteractiveShell, sandbox: Sandbox, model: str, stream: str
) -> None:
    outputs, result = run(shell, f"%%puter -m {model} --tools describe,warmest{stream}\nPlease describe n=2")
    assert result.success, result.error_in_exec
    [out] = outputs  # one output: the call lines and the answer together
    assert called(shell) == [("describe", 2)]
    html = out["text/html"]
    summary = "<summary>called <code>describe(n=2)</code> → 2 rows</summary>"
    assert html.count('<details class="puter-tool-call"') == 1 and summary in html
    assert html.index(summary) < html.index('class="puter-reply"')
    assert "&quot;city&quot;: &quot;Oslo&quot;" in html.split("</details>")[0]  # the result, unfolded
    assert live_markup(html) == []
    assert out["text/plain"].splitlines()[0] == "called describe(n=2) → 2 rows"
    assert "tools: 1 call in 2 requests" in out["text/plain"]
    assert '"city": "Oslo"' in out["text/markdown"] and "<details" in out["text/markdown"]
    requests = sandbox.calls("complete")
    assert len(requests) == 2 and [t["function"]["name"] for t in requests[0].args["tools"]] == [
        "describe",
        "warmest",
    ]
    assert ("stream" in requests[1].args) == (stream == "")


def test_several_calls_in_one_reply_run_in_order_and_failures_say_so(
    shell: InteractiveShell, sandbox: Sandbox
) -> None:
    outputs, _ = run(
        shell,
        "%%puter -m sandbox-agent --tools explode,describe,warmest\nexplode n=3, describe n=five, warmest",
    )
    assert called(shell) == [("explode", 3), ("warmest",)]  # describe's bad argument: never called
    lines = outputs[0]["text/plain"].splitlines()[:3]
    assert lines[0] == "called explode(n=3) → failed: ValueError: no good: 3"
    assert lines[1].startswith(
        "did not call describe(n=\"five\") (bad arguments: argument 'n': expected an integer"
    )
    assert lines[2] == 'called warmest() → "Rome"'
    contents = [m["content"] for m in tool_messages(sandbox)]
    assert contents[0] == "Error: ValueError: no good: 3" and contents[2] == "Rome"
    assert "Traceback" not in json.dumps(contents)
    assert "no good: 3" in outputs[0]["text/markdown"]  # the model answered with the error it was sent


def test_a_call_to_a_function_not_offered_never_runs(shell: InteractiveShell, sandbox: Sandbox) -> None:
    calls = [
        {"id": "c1", "type": "function", "function": {"name": "explode", "arguments": '{"n": 1}'}},
        {"id": "c2", "type": "function", "function": {"name": "describe", "arguments": '{"n": 1}'}},
    ]
    reply = {
        "message": {"role": "assistant", "content": None, "tool_calls": calls},
        "finish_reason": "tool_calls",
    }
    sandbox.inject(
        Fault.raw({"success": True, "result": reply}),
        Fault.raw({"success": True, "result": {"message": {"content": "fine"}}}),
    )
    outputs, _ = run(shell, "%%puter -m sandbox-agent --tools describe --no-stream\ngo")
    assert called(shell) == [("describe", 1)]  # explode exists in the notebook, but was not named
    assert (
        outputs[0]["text/plain"].splitlines()[0]
        == "did not call explode(n=1) (unknown tool: not one of --tools)"
    )
    assert tool_messages(sandbox)[0]["content"].startswith("Error: there is no tool named 'explode'")


def test_follow_up_resends_the_calls_and_rerun_replaces_them(
    shell: InteractiveShell, sandbox: Sandbox
) -> None:
    run(shell, "%%puter -m sandbox-agent-claude --tools describe\ndescribe n=1", cell_id="cell-a")
    [exchange] = thread_of(shell).exchanges
    assert [t["role"] for t in exchange.turns] == ["assistant", "tool"]
    run(shell, "%%puter -m sandbox-agent-claude --tools describe\nWhat did you find?", cell_id="cell-b")
    sent = sandbox.calls("complete")[-1].args["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "assistant", "user"]
    assert sent[1]["content"][-1] == {
        "type": "tool_use",
        "id": "toolu_sandbox_1",
        "name": "describe",
        "input": {"n": 1},
    }
    assert sent[2]["content"] == '[{"city": "Paris", "temp": 18}]'

    outputs, _ = run(shell, "%%puter -m sandbox-agent --tools describe\ndescribe n=3", cell_id="cell-a")
    thread = thread_of(shell)
    assert len(thread.exchanges) == 2 and len(thread.replaced) == 1
    assert (
        thread.exchanges[0].user == "describe n=3"
        and thread.exchanges[0].turns[1]["content"].count("city") == 3
    )
    assert thread.replaced[0].turns[0]["content"][-1]["input"] == {"n": 1}
    assert "re-run: replaced" in outputs[0]["text/plain"]
    first_request = sandbox.calls("complete")[-2].args["messages"]
    assert [m["role"] for m in first_request] == ["user"]  # the re-run sends what came before it: nothing


def test_follow_up_without_tools_gets_the_calls_as_text(shell: InteractiveShell, sandbox: Sandbox) -> None:
    run(shell, "%%puter -m sandbox-agent-claude --tools describe\ndescribe n=1")
    outputs, result = run(shell, "%%puter -m sandbox-agent-claude\nWhat did you find?")
    assert result.success and "Puter" not in outputs[0]["text/plain"].splitlines()[0]  # no warning: a reply
    sent = sandbox.calls("complete")[-1].args["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"] and "tools" not in sandbox.calls(
        "complete"
    )[-1].args
    assert sent[1]["content"].startswith(
        '[I called describe(n=1); it returned: [{"city": "Paris", "temp": 18}]]\n\n'
    )
    assert "called 1 tool for" in sent[1]["content"]
    assert [t["role"] for t in thread_of(shell).exchanges[0].turns] == [
        "assistant",
        "tool",
    ]  # kept as they were


def test_history_keeps_the_calls(shell: InteractiveShell, sandbox: Sandbox, tmp_path: Path) -> None:
    run(shell, "%%puter -m sandbox-agent --tools warmest\nwarmest please")
    outputs, _ = run(shell, "%puter_history")
    assert "- called ` warmest() ` → ` Rome `" in outputs[0]["text/plain"]
    data = shell.run_line_magic("puter_history", "--json")
    assert data["exchanges"][0]["turns"][1] == {"role": "tool", "tool_call_id": "call_1", "content": "Rome"}
    path = tmp_path / "t.json"
    run(shell, f"%puter_history --save {path}")
    run(shell, "%puter_reset")
    run(shell, f"%puter_history --load {path}")
    assert thread_of(shell).exchanges[0].turns == data["exchanges"][0]["turns"]
    bad = json.loads(path.read_text())
    bad["exchanges"][0]["turns"] = [{"role": "user", "content": "sneaky"}]
    path.write_text(json.dumps(bad))
    with pytest.raises(UsageError, match="turns"):
        shell.run_line_magic("puter_history", f"--load {path}")


@pytest.mark.parametrize(("answer", "ran"), [("y", True), ("no", False), ("", False)])
def test_approve_asks_before_each_call(
    shell: InteractiveShell, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, answer: str, ran: bool
) -> None:
    asked: list[str] = []

    def fake_input(prompt: str = "") -> str:
        asked.append(prompt)
        return answer

    monkeypatch.setattr(builtins, "input", fake_input)
    outputs, _ = run(shell, "%%puter -m sandbox-agent --tools describe --approve\ndescribe n=2")
    assert asked == ["Run describe(n=2)? [y/N] "]
    assert called(shell) == ([("describe", 2)] if ran else [])
    first = outputs[0]["text/plain"].splitlines()[0]
    if ran:
        assert first == "called describe(n=2) → 2 rows"
    else:
        assert first == "did not call describe(n=2) (refused: you said no)"
        assert tool_messages(sandbox)[0]["content"] == "The user refused this call: it did not run."


def test_approve_without_a_way_to_ask(
    shell: InteractiveShell, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_stdin(prompt: str = "") -> str:
        raise StdinNotImplementedError(
            "raw_input was called, but this frontend does not support input requests."
        )

    monkeypatch.setattr(builtins, "input", no_stdin)
    outputs, _ = run(shell, "%%puter -m sandbox-agent --tools describe --approve\ndescribe n=2")
    assert called(shell) == []
    assert (
        outputs[0]["text/plain"].splitlines()[0]
        == "did not call describe(n=2) (refused: no one could be asked)"
    )

    class Kernel:  # what ipykernel has when the frontend sends allow_stdin=False (nbconvert)
        _allow_stdin = False

    sandbox.clear()
    monkeypatch.setattr(shell, "kernel", Kernel(), raising=False)
    with pytest.raises(UsageError, match="--approve needs a frontend that can ask you"):
        shell.run_cell_magic("puter", "-m sandbox-agent --tools describe --approve", "describe n=2")
    assert sandbox.calls("complete") == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--tools nothere", "no function named nothere"),
        ("--tools CITIES", "CITIES is a list, not a function"),
        ("--approve", "--approve goes with --tools"),
        ("--tools describe --compare sandbox-agent,sandbox-agent-claude", "do not go together"),
        ("--tools ,", "needs function names"),
    ],
)
def test_bad_tool_options_are_one_line_usage_errors(
    shell: InteractiveShell, sandbox: Sandbox, line: str, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        shell.run_cell_magic("puter", f"-m sandbox-agent {line}", "describe n=1")
    assert sandbox.calls("complete") == []


@pytest.mark.parametrize("stream", ["", " --no-stream"])
def test_interrupt_during_a_call_stops_at_once_and_records_nothing(
    shell: InteractiveShell, sandbox: Sandbox, stream: str
) -> None:
    outputs, result = run(
        shell, f"%%puter -m sandbox-agent-claude --tools stop,warmest{stream}\nstop, then warmest"
    )
    assert result.success
    assert called(shell) == [("stop",)]  # warmest, the next call, never ran
    assert len(sandbox.calls("complete")) == 1  # and no request followed
    plain = outputs[0]["text/plain"]
    assert plain.splitlines()[0] == "interrupted while calling stop()"
    assert "(interrupted)" in plain and "nothing of this cell is kept" in plain
    assert thread_of(shell).exchanges == []


def test_stop_button_while_the_answer_streams(ip: InteractiveShell) -> None:
    with Sandbox(pace=0.05) as sandbox:
        magics = signed_in_to(ip, sandbox)
        ip.run_cell(SETUP)
        timer = threading.Timer(1.0, _thread.interrupt_main)  # what the kernel does on "stop"
        timer.start()
        outputs, result = run(ip, "%%puter -m sandbox-agent-claude --tools describe\ndescribe n=3")
        timer.join()
        assert result.success
        assert ip.user_ns["CALLED"] == [("describe", 3)]
        plain = outputs[0]["text/plain"]
        assert plain.startswith("called describe(n=3) → 3 rows") and "(interrupted)" in plain
        assert magics.session.conversations.get().exchanges == []
        record = sandbox.calls("complete")[-1]
        deadline = time.monotonic() + 3
        while not record.client_gone and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(sandbox.calls("complete")) == 2 and record.client_gone  # the stream was closed


@pytest.mark.parametrize("stream", ["", " --no-stream"])
def test_step_limit_ends_with_a_warning_that_says_so(
    shell: InteractiveShell, sandbox: Sandbox, stream: str
) -> None:
    shell.run_line_magic("config", "PuterMagics.max_tool_steps = 2")
    assert magics_of(shell).settings().max_tool_steps == 2
    outputs, result = run(shell, f"%%puter -m sandbox-agent --tools warmest{stream}\nkeep calling warmest")
    assert result.success
    assert len(sandbox.calls("complete")) == 2 and called(shell) == [("warmest",)]
    [out] = outputs
    assert 'class="puter-warning mathjax_ignore tex2jax_ignore"' in out["text/html"]
    assert "Tool step limit reached" in out["text/html"]
    assert "<code>%config PuterMagics.max_tool_steps = 4</code>" in out["text/html"]
    assert (
        "after 2 requests" in out["text/plain"]
        and "did not call warmest() (the step limit was reached)" in out["text/plain"]
    )
    assert thread_of(shell).exchanges == []


def test_terminal_prints_plain_call_lines(shell: InteractiveShell, sandbox: Sandbox) -> None:
    magics_of(shell).rich_output = False
    outputs, _ = run(
        shell, "%%puter -m sandbox-agent-claude --tools describe,warmest\ndescribe n=1 and warmest"
    )
    printed = outputs[-1]["stdout"]
    assert (
        'I will call `describe`, `warmest`.\ncalled describe(n=1) → 1 row\ncalled warmest() → "Rome"\n'
        in printed
    )
    assert printed.index("called warmest()") < printed.index("Sandbox Agent (Claude)** called 2 tools")
    assert "sandbox-agent-claude · " in printed


def test_hostile_result_and_arguments_stay_text(shell: InteractiveShell, sandbox: Sandbox) -> None:
    shell.run_cell(
        'def html_tool(x: str) -> str:\n    """Markup."""\n    return "<img src=x onerror=alert(1)>" + x\n'
    )
    cell = (
        '%%puter -m sandbox-agent --tools html_tool --no-interpolate\nhtml_tool x="<script>alert(2)</script>"'
    )
    outputs, _ = run(shell, cell)
    html = outputs[0]["text/html"]
    assert live_markup(html) == [] and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_call_lines_are_safe_in_every_representation() -> None:
    import markdown

    from puter_magic.api.toolloop import ToolCall, ToolRun
    from puter_magic.notebook.tools import CallLine, ToolsView
    from puter_magic.notebook.views import PartialReply

    evil = "<img src=x onerror=alert(1)>\n\n<script>alert(2)</script>"
    call = ToolCall("c1", "f", {"x": evil})
    lines = [CallLine(call, ToolRun(call, "ok", value=evil, content=evil)), CallLine(ToolCall("c2", "g", {}))]
    for part in (PartialReply(evil), PartialReply()):
        bundle = ToolsView(lines, [part])._repr_mimebundle_()
        if "text/html" in bundle:
            assert live_markup(bundle["text/html"]) == []
        if "text/markdown" in bundle:  # rendered with raw HTML passed through, as a frontend does
            assert live_markup(markdown.markdown(bundle["text/markdown"])) == []
            assert bundle["text/markdown"].count("<details") == 1  # one line, not broken up
