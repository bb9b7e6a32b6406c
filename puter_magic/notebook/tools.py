"""``%%puter --tools f,g``: the notebook's functions as tools, ``--approve``'s question, and the
call lines a cell shows.

The loop itself runs in :mod:`.asking` (each request is one step of the cell pipeline); this
module resolves the functions the line names, asks before each call with ``--approve``, and
draws each call as one folded line above the answer: ``called describe(n=5) → 5 rows`` is a
``<details>`` whose body holds the arguments and what was sent back to the model, both bounded.
Everything here is escaped: a call's name, arguments and result are the model's and the
function's, never markup.
"""

from __future__ import annotations

import builtins
import html
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from IPython.core.error import StdinNotImplementedError, UsageError

from ..api.errors import PuterError
from ..api.humanize import plural
from ..api.toolloop import BAD_ARGUMENTS, FAILED, OK, REFUSED, SKIPPED, UNKNOWN, ToolCall, ToolRun
from ..api.tools import Tool, tool
from .failures import WarningBox
from .views import MUTED

if TYPE_CHECKING:
    from ..api.models import ModelInfo
    from ..api.toolloop import ToolLoop

__all__ = [
    "CallLine",
    "CallLines",
    "ToolsView",
    "cannot_call_tools",
    "check_can_approve",
    "resolve_tools",
    "step_limit_warning",
    "tool_notes",
    "tools_for",
]

# -- the notebook's functions as tools --------------------------------------------------------------


def resolve_tools(names_text: str, namespace: Mapping[str, Any]) -> dict[str, Tool]:
    """The notebook's functions named in *names_text* (comma-separated) as tools."""
    names = list(dict.fromkeys(n.strip() for n in names_text.split(",") if n.strip()))
    if not names:
        raise UsageError("--tools needs function names, e.g. --tools describe,fetch_rows")
    missing = [n for n in names if n not in namespace]
    if missing:
        raise UsageError(f"--tools: no function named {', '.join(missing)} in the notebook")
    out: dict[str, Tool] = {}
    for name in names:
        value = namespace[name]
        if not callable(value) or isinstance(value, type):
            raise UsageError(f"--tools: {name} is a {type(value).__name__}, not a function")
        try:
            out[name] = tool(value, name=name)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"--tools: {name}: {exc}") from None
    return out


def tools_for(names_text: str, approve: bool, namespace: Mapping[str, Any], shell: Any) -> dict[str, Tool]:
    """The functions ``--tools`` names, checked (with ``--approve``'s frontend) before anything
    is sent."""
    tools = resolve_tools(names_text, namespace)
    if approve:
        check_can_approve(shell)
    return tools


def check_can_approve(shell: Any) -> None:
    """--approve asks with input(); a kernel whose frontend takes no input (nbconvert,
    papermill) could never say yes, so the cell is refused before anything is sent."""
    from .state import frontend_takes_input

    if not frontend_takes_input(shell):
        raise UsageError(
            "--approve needs a frontend that can ask you (this one takes no input); "
            "run the cell in Jupyter, or leave out --approve"
        )


class Lines(Protocol):
    """Where call lines show: the cell's output (:class:`~.live.CellOutput`)."""

    def line(self, line: CallLine) -> None: ...


class CallLines:
    """The call lines of one ``--tools`` cell: each call shows the moment it starts and again
    when it ends; with ``--approve`` the user is asked before it runs."""

    def __init__(self, output: Lines) -> None:
        self.output = output
        self.lines: dict[str, CallLine] = {}

    def before(self, call: ToolCall) -> None:
        self.lines[call.id] = CallLine(call)
        self.output.line(self.lines[call.id])

    def after(self, run: ToolRun) -> None:
        line = self.lines.setdefault(run.call.id, CallLine(run.call))
        line.run = run
        self.output.line(line)

    def approve(self, call: ToolCall) -> bool:
        """Ask before *call* runs (``input()``: the frontend's own prompt); no is the default."""
        line = self.lines[call.id]
        line.waiting = True
        self.output.line(line)
        try:
            answer = builtins.input(f"Run {call.label()}? [y/N] ")
        except (StdinNotImplementedError, EOFError):
            line.note = "no one could be asked"
            return False
        finally:
            line.waiting = False
        if answer.strip().lower() in ("y", "yes"):
            return True
        line.note = "you said no"
        return False

    def end(self) -> None:
        """The cell ends: a call that never finished says it was interrupted."""
        for line in self.lines.values():
            line.interrupted = line.run is None


def tool_notes(
    loop: ToolLoop, models: Callable[[], list[ModelInfo]], model: str, answered: bool
) -> list[str]:
    """What the footer says of the tools: how many calls in how many requests; or, when a
    model *answered* without calling any, whether the catalogue says it cannot call tools."""
    if loop.runs:
        return [f"tools: {plural(len(loop.runs), 'call')} in {plural(loop.steps, 'request')}"]
    return cannot_call_tools(models, model) if answered else []


def cannot_call_tools(models: Callable[[], list[ModelInfo]], model: str) -> list[str]:
    """A note when the catalogue says *model* cannot call tools (``tool_call: false``): it
    answers without them (Puter drops them), so name models that can."""
    from ..api.models import find_model, tool_callers

    try:
        listed = models()  # cached per origin
    except PuterError:
        return []
    entry = find_model(listed, model)
    if entry is None or entry.tool_call is not False:
        return []
    able = [m.id for m in tool_callers(listed)]
    names = ", ".join(able[:5]) + (f" and {len(able) - 5} more" if len(able) > 5 else "")
    can = f"; models that can: {names} (-m MODEL)" if able else "; no model of this server can"
    return [
        f"{model} cannot call tools (tool_call: false in %puter_models), so it answered without them{can}"
    ]


def step_limit_warning(loop: ToolLoop) -> WarningBox:
    """The warning of a cell whose model was still calling tools at the step limit."""
    return WarningBox(
        "Tool step limit reached",
        f"The model was still calling tools after {loop.max_steps} requests, so its "
        "answer is incomplete; nothing of this cell is kept in the conversation.",
        f"allow more with %config PuterMagics.max_tool_steps = {loop.max_steps * 2}, then run the cell again",
    )


# -- the call lines ---------------------------------------------------------------------------------

DETAIL_CHARS = 2000  # of the arguments and of the result, in the unfolded part

LINE_STYLE = f"{MUTED}; margin: 2px 0"
PRE_STYLE = "white-space: pre-wrap; margin: 2px 0 6px 0; max-height: none"


def _esc(text: str) -> str:
    # Newlines as character references, so the block stays one line inside Markdown too
    # (a blank line would end an HTML block there).
    return html.escape(text, quote=True).replace("\n", "&#10;")


def _bounded(text: str, limit: int = DETAIL_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text):,} characters in all)"


@dataclass
class CallLine:
    """One call as the cell shows it: running, waiting for approval, or done."""

    call: ToolCall
    run: ToolRun | None = None
    waiting: bool = False  # asking the user
    interrupted: bool = False
    note: str = ""  # e.g. why a refusal happened

    def parts(self) -> tuple[str, str, str]:
        """(before, the call as code, after): ``called``, ``describe(n=5)``, ``→ 5 rows``."""
        label = self.call.label()
        run = self.run
        if run is None:
            if self.interrupted:
                return "interrupted while calling", label, ""
            if self.waiting:
                return "asks to call", label, "(approve or refuse below)"
            return "calling", label, "…"
        if run.status == OK:
            return "called", label, f"→ {run.summary()}"
        if run.status == FAILED:
            return "called", label, f"→ failed: {run.error or ''}"
        if run.status == REFUSED:
            return "did not call", label, f"(refused{': ' + self.note if self.note else ''})"
        if run.status == UNKNOWN:
            return "did not call", label, "(unknown tool: not one of --tools)"
        if run.status == BAD_ARGUMENTS:
            return "did not call", label, f"(bad arguments: {run.error or ''})"
        if run.status == SKIPPED:
            return "did not call", label, "(the step limit was reached)"
        return "called", label, run.status

    def plain(self) -> str:
        before, label, after = self.parts()
        line = f"{before} {label} {after}".rstrip()
        return line if len(line) <= 200 else line[:199] + "…"

    def html(self) -> str:
        before, label, after = self.parts()
        if len(after) > 160:
            after = after[:159] + "…"
        summary = f"{_esc(before)} <code>{_esc(label)}</code> {_esc(after)}".rstrip()
        if self.run is None:
            return f'<div class="puter-tool-call" style="{LINE_STYLE}">{summary}</div>'
        arguments = json.dumps(self.call.arguments, indent=2, ensure_ascii=False, default=str)
        body = f"<div>Arguments</div><pre style='{PRE_STYLE}'>{_esc(_bounded(arguments))}</pre>"
        if self.run.content:
            body += (
                f"<div>Sent back to the model</div><pre style='{PRE_STYLE}'>"
                f"{_esc(_bounded(self.run.content))}</pre>"
            )
        return (
            f'<details class="puter-tool-call" style="{LINE_STYLE}"><summary>{summary}</summary>'
            f'<div style="margin-left: 1.2em">{body}</div></details>'
        )


@dataclass
class ToolsView:
    """Call lines above other display objects (a reply while it streams, the final reply,
    a warning). ``text/html`` when every part has it; ``text/markdown`` when every part has
    Markdown or HTML (our lines are HTML blocks in it); ``text/plain`` always."""

    lines: list[CallLine] = field(default_factory=list)
    parts: list[Any] = field(default_factory=list)

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> dict[str, str] | tuple[dict[str, str], dict[str, Any]]:
        """The bundle, with the reply's output metadata when it carries some."""
        from .views import split_bundle

        split = [split_bundle(p) for p in self.parts]
        metadata = {k: v for _, md in split for k, v in md.items()}
        out = self.bundle([b for b, _ in split])
        return (out, metadata) if metadata else out

    def bundle(self, bundles: list[dict[str, str]] | None = None) -> dict[str, str]:
        if bundles is None:
            from .views import split_bundle

            bundles = [split_bundle(p)[0] for p in self.parts]
        plain = [line.plain() for line in self.lines] + [b.get("text/plain", "") for b in bundles]
        out = {"text/plain": "\n".join(t for t in plain if t)}
        calls = "".join(line.html() for line in self.lines)
        if all("text/html" in b for b in bundles):
            inner = "".join(b["text/html"] for b in bundles)
            out["text/html"] = f'<div class="puter-tools">{calls}{inner}</div>'
        if all("text/markdown" in b or "text/html" in b for b in bundles):
            pieces = [f'<div class="puter-tools">{calls}</div>'] if calls else []
            pieces += [b.get("text/markdown", b.get("text/html", "")) for b in bundles]
            out["text/markdown"] = "\n\n".join(pieces)
        return out

    def __repr__(self) -> str:
        return self.bundle()["text/plain"]
