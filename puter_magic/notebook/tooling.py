"""``%%puter --tools f,g``: the model calls the notebook's functions, in plain sight.

The loop is :class:`~puter_magic.api.toolloop.ToolLoop`, driven here step by step so that
the functions (and ``--approve``'s question) run in the main thread, each call shows as a
line the moment it starts and ends, and each step's reply streams as usual. The stop
button ends the loop at once and records nothing; the step limit ends it with a warning.
A finished loop is recorded as one exchange that carries the calls and their results.

One thing, read best whole (about 300 lines): the loop as a cell drives it, and its output.
"""

from __future__ import annotations

import builtins
import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from IPython.core.error import StdinNotImplementedError, UsageError

from ..api.errors import PuterError
from ..api.humanize import plural
from ..api.toolloop import ToolCall, ToolLoop, ToolRun, calls_in
from ..api.tools import Tool, tool
from .advice import WarningBox
from .classroom import Refusal
from .flow import Flow
from .outputs import TerminalOutput
from .rendering import PartialReply, ReplyView
from .toolview import CallLine, ToolsView

if TYPE_CHECKING:
    from .classroom import Ticket
    from .session import Ask

__all__ = ["ToolFlow", "ToolOutput", "check_can_approve", "resolve_tools", "tools_for"]


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


def tools_for(args: Any, namespace: Mapping[str, Any], shell: Any) -> dict[str, Tool]:
    """The functions ``--tools`` names, checked (with ``--approve``'s frontend) before anything
    is sent."""
    if args.approve and not args.tools:
        raise UsageError("--approve goes with --tools NAMES")
    if args.compare:
        raise UsageError("--tools and --compare do not go together: ask one model at a time")
    tools = resolve_tools(args.tools, namespace)
    if args.approve:
        check_can_approve(shell)
    return tools


def check_can_approve(shell: Any) -> None:
    """--approve asks with input(); a kernel whose frontend takes no input (nbconvert,
    papermill) could never say yes, so the cell is refused before anything is sent."""
    kernel = getattr(shell, "kernel", None)
    if kernel is not None and getattr(kernel, "_allow_stdin", True) is False:
        raise UsageError(
            "--approve needs a frontend that can ask you (this one takes no input); "
            "run the cell in Jupyter, or leave out --approve"
        )


class ToolOutput:
    """The cell's one output: call lines above the reply (rich), or printed lines (terminal)."""

    def __init__(self, rich: bool, display: Callable[..., Any], limit: int) -> None:
        self.rich = rich
        self.display = display
        self.limit = limit
        self.lines: list[CallLine] = []
        self.parts: list[Any] = [PartialReply(limit=limit)]
        self._handle = display(self._view(), display_id=True) if rich else None
        self._term = TerminalOutput(sys.stdout.write, sys.stdout.flush, display, limit)

    def _view(self) -> ToolsView:
        return ToolsView(list(self.lines), list(self.parts))

    def _show(self) -> None:
        if self._handle is not None:
            self._handle.update(self._view())

    def update(self, obj: Any) -> None:
        """A step's reply while it streams (stream_live calls this)."""
        self.parts = [obj]
        if self.rich:
            self._show()
        else:
            self._term.update(obj)

    def new_step(self) -> None:
        """The next request's text starts afresh (in a terminal: on a new line)."""
        if not self.rich and self._term.printed:
            sys.stdout.write("\n")
            sys.stdout.flush()
            self._term = TerminalOutput(sys.stdout.write, sys.stdout.flush, self.display, self.limit)

    def line(self, line: CallLine) -> None:
        """A call started or changed."""
        if line not in self.lines:
            self.lines.append(line)
        self.parts = [p for p in self.parts if not isinstance(p, PartialReply)]  # no "thinking" now
        if self.rich:
            self._show()
            return
        self.new_step()  # a call line (or --approve's question) starts on its own line
        if line.run is not None or line.interrupted:
            print(line.plain(), flush=True)

    def replace(self, obj: Any) -> None:
        """A warning instead of the reply; the call lines stay."""
        self.parts = [obj]
        if self.rich:
            self._show()
        else:
            self._term.replace(obj)

    def finish(self, view: ReplyView, *after: Any) -> None:
        self.parts = [view, *after]
        if self.rich:
            self._show()
            return
        self._term.finish(view)
        for obj in after:
            self.display(obj)


def _approver(output: ToolOutput, lines: dict[str, CallLine]) -> Callable[[ToolCall], bool]:
    def approve(call: ToolCall) -> bool:
        line = lines[call.id]
        line.waiting = True
        output.line(line)
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

    return approve


class ToolFlow(Flow):
    """A %%puter --tools cell, step by step. A plain object the magics own, like
    :class:`~.asking.AskFlow`: the session, a settings snapshot, a display function and the
    notebook's :class:`~.failures.Failures`."""

    def _cannot_call_tools(self, model: str) -> list[str]:
        """A note when the catalogue says *model* cannot call tools (``tool_call: false``): it
        answers without them (Puter drops them), so name models that can."""
        from ..api.errors import PuterError
        from ..api.models import find_model, tool_callers

        try:
            models = self.session.models()  # cached per origin
        except PuterError:
            return []
        entry = find_model(models, model)
        if entry is None or entry.tool_call is not False:
            return []
        able = [m.id for m in tool_callers(models)]
        names = ", ".join(able[:5]) + (f" and {len(able) - 5} more" if len(able) > 5 else "")
        can = f"; models that can: {names} (-m MODEL)" if able else "; no model of this server can"
        return [
            f"{model} cannot call tools (tool_call: false in %puter_models), so it answered without them{can}"
        ]

    def ask(
        self,
        ask: Ask,
        tools: dict[str, Tool],
        *,
        stream: bool,
        raw: bool,
        notes: list[str],
        approve: bool,
        out: str | None = None,
    ) -> str | None:
        """Ask with *tools* offered; show each call and the answer; record the whole exchange."""
        settings, session = self.settings, self.session
        limit = settings.max_display_chars
        admitted = session.classroom.admit(model=ask.model, prompt=ask.user)  # each step is a request
        if isinstance(admitted, Refusal):
            self.display(admitted)
            return None
        admitted_first = admitted
        output = ToolOutput(settings.rich, self.display, limit)
        if ask.automatic:
            notes = [ask.automatic, *notes]
        lines: dict[str, CallLine] = {}

        def before(call: ToolCall) -> None:
            lines[call.id] = CallLine(call)
            output.line(lines[call.id])

        def after(run: ToolRun) -> None:
            line = lines.setdefault(run.call.id, CallLine(run.call))
            line.run = run
            output.line(line)

        loop = ToolLoop(
            ask.messages,
            tools,
            max_steps=settings.max_tool_steps,
            approve=_approver(output, lines) if approve else None,
            before_call=before,
            after_call=after,
        )
        started = time.monotonic()
        text, model, interrupted, error = "", ask.model, False, None
        refused: Refusal | None = None
        last: Ticket | None = None
        with self.failures.guard(output):
            try:
                while True:
                    if isinstance(admitted, Refusal):
                        refused = admitted  # the request limit, reached between two steps
                        break
                    ticket = last = admitted
                    ticket.extra["step"] = loop.steps + 1
                    with ticket.watch():
                        session.check_budget(settings.budget_usd_cents)  # every request spends
                        client = session.require_client()
                        output.new_step()
                        # a step that may ask for calls is asked whole (not streamed)
                        streamed = stream and loop.stream_next()
                        text, usage, reasoning, calls, interrupted, error, model = self._step(
                            client, loop, ask, output, streamed
                        )
                    if interrupted:
                        ticket.interrupted(reply=text, usage=usage)
                        break
                    if error is not None:
                        ticket.failed(error, reply=text, usage=usage)
                        break
                    ticket.extra["calls"] = [call.name for call in calls]
                    ticket.answered(text, model=model, usage=usage)
                    session.meter.add(model, usage)
                    if calls and streamed:  # its stream may have lost some: ask again whole
                        if not loop.discard(calls, usage):
                            break
                    else:
                        if calls and text:
                            output.update(PartialReply(text, limit=limit))  # the words beside the calls
                        if not loop.take(text, calls, usage, reasoning):
                            break
                    admitted = session.classroom.admit(model=ask.model, prompt=ask.user)
            except KeyboardInterrupt:
                interrupted = True
            if error is not None and not text:
                raise error
            for line in lines.values():
                line.interrupted = line.run is None
            after_reply: list[Any] = []
            if loop.runs:
                made = plural(len(loop.runs), "call")
                notes = [*notes, f"tools: {made} in {plural(loop.steps, 'request')}"]
            elif not interrupted and error is None:  # no call: was it able to make one?
                notes = [*notes, *self._cannot_call_tools(model)]
            if interrupted:
                notes = [*notes, "interrupted: nothing of this cell is kept in the conversation"]
            elif refused is not None:
                notes = [*notes, "stopped: nothing of this cell is kept in the conversation"]
                after_reply.append(refused)
            elif loop.step_limit_reached:
                after_reply.append(
                    WarningBox(
                        "Tool step limit reached",
                        f"The model was still calling tools after {loop.max_steps} requests, so its "
                        "answer is incomplete; nothing of this cell is kept in the conversation.",
                        f"allow more with %config PuterMagics.max_tool_steps = {loop.max_steps * 2}, "
                        "then run the cell again",
                    )
                )
            elif error is None:
                notes = [*ask.placement_notes(), *notes]
                ask.record(text, model=model, usage=loop.usage, turns=loop.turns)
            kept = not interrupted and error is None and not loop.step_limit_reached and refused is None
            view = ReplyView(
                text,
                model=model,
                usage=loop.usage,
                elapsed=time.monotonic() - started,
                notes=notes,
                reasoning=loop.reasoning if settings.show_reasoning else "",
                interrupted=interrupted or error is not None,
                raw=raw,
                show_footer=settings.show_footer,
                limit=limit,
                where=ask.where_whole(out, kept=kept),
                badges=admitted_first.badges(),
                metadata=last.stamp(model, loop.usage, time.monotonic() - started) if last else {},
            )
            output.finish(view, *after_reply)
            if error is not None:
                self.failures.report(error)
                return None
            return text if kept else None
        return None

    def _step(
        self, client: Any, loop: ToolLoop, ask: Ask, output: ToolOutput, stream: bool
    ) -> tuple[str, dict[str, Any], str, list[ToolCall], bool, PuterError | None, str]:
        """One request of the loop: its text, usage, reasoning, calls, whether it was
        interrupted, a stream's failure, and the model that answered."""
        settings = self.settings
        if stream:
            from .live import stream_live

            chat = client.chat_stream(
                loop.messages(), model=ask.model, **ask.options, tools=loop.definitions()
            )
            live = stream_live(
                chat,
                output,
                close=chat.close,
                max_rate=settings.max_updates_per_second,
                limit=settings.max_display_chars,
            )
            return (
                live.text,
                live.usage,
                live.reasoning,
                calls_in(live.tool_calls),
                live.interrupted,
                live.error,
                ask.model,
            )
        reply = client.chat(loop.messages(), model=ask.model, **ask.options, tools=loop.definitions())
        return (
            reply.text,
            reply.usage,
            reply.reasoning,
            calls_in(reply),
            False,
            None,
            reply.model or ask.model,
        )
