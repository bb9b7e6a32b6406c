"""THE cell pipeline: one step (a request, streamed or asked whole) → show → record.

Every way a chat cell asks goes through the same pieces:

- a plain ``%%puter`` (and ``%puter``, ``%puter_explain``) question is one step;
- ``--tools`` is a loop of steps through the same step function: between two steps the
  calls the model asked for run here, in the main thread, each shown as a line above the
  answer (:mod:`.tools`); a step that may ask for calls is asked whole (a stream can lose
  calls, see :class:`~puter_magic.api.toolloop.ToolLoop`);
- ``--compare`` is one step per column (:mod:`.compare` reads them side by side);
- ``--each`` is one step per item (the api's ``chat_many`` paces them; :mod:`.each` settles
  each item with the same :meth:`AskFlow.settle`).

The classroom is in the pipeline once: each step is admitted (a ticket, or a refusal that
sends nothing), each step's ticket is settled with how it ended (the teacher's log line),
and the end of the cell stamps the reply's output metadata. The cell's one output
(:func:`~.live.cell_output`) is chosen once; every step talks to it.

:class:`AskFlow` is a plain object the magics own: it gets the session, a snapshot of the
settings, a display function and the notebook's :class:`~.failures.Failures`, and knows
nothing of the magics class.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..api.errors import PuterError
from ..api.humanize import plural
from ..api.toolloop import ToolCall, calls_in
from .classroom.gate import Refusal
from .live import cell_output, stream_live
from .options import asked_for
from .state import Flow
from .views import Note, PartialReply, ReplyView

if TYPE_CHECKING:
    from ..api.chat import ChatReply
    from ..api.toolloop import ToolLoop
    from ..api.tools import Tool
    from .classroom.gate import Ticket
    from .compare import Column
    from .live import CellOutput, LiveResult
    from .session import Ask, ReplayMark
    from .tools import CallLines

__all__ = ["AskFlow", "Step", "code_blocks", "offer_code"]


@dataclass
class Step:
    """What one request brought back, streamed or whole."""

    model: str
    text: str = ""
    usage: dict[str, Any] = field(default_factory=dict)
    reasoning: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    sources: list[Any] = field(default_factory=list)
    interrupted: bool = False
    error: PuterError | None = None
    streamed: bool = False
    sent: bool = True  # False: stopped before it was sent (a --compare column still waiting)

    @classmethod
    def of_live(cls, live: LiveResult, model: str) -> Step:
        return cls(
            model,
            live.text,
            live.usage,
            live.reasoning,
            images=live.images,
            sources=live.sources,
            interrupted=live.interrupted,
            error=live.error,
            streamed=True,
        )

    @classmethod
    def of_reply(cls, reply: ChatReply, model: str) -> Step:
        return cls(
            reply.model or model,
            reply.text,
            dict(reply.usage),
            reply.reasoning,
            images=list(reply.images),
            sources=list(reply.sources),
        )

    @classmethod
    def of_column(cls, col: Column) -> Step:
        """A --compare column once its request ended."""
        return cls(
            col.model,
            col.text,
            col.usage,
            interrupted=col.state not in ("done", "failed"),
            error=col.error if col.state == "failed" else None,
            sent=col.started is not None,
        )

    @property
    def ended_well(self) -> bool:
        return not self.interrupted and self.error is None


class AskFlow(Flow):
    """Ask in a cell: one question (with tools, a loop of steps), or several models at once."""

    # -- the pieces every flow of asking uses ------------------------------------------------

    def settle(self, ticket: Ticket, step: Step, *, metered: bool = True) -> None:
        """How one request ended, told once: the classroom's ticket (the teacher's log line)
        and, for a request not replayed from a recording, the usage meter: an answer, or a
        reply stopped midway (it was sent, and Puter may have charged for it; the sandbox
        charges a reply once it starts it). A refused request spent nothing: not metered."""
        if step.interrupted:
            ticket.interrupted(reply=step.text, usage=step.usage)
            if metered and step.sent:
                self.session.meter.add(step.model, step.usage, interrupted=True)
        elif step.error is not None:
            ticket.failed(step.error, reply=step.text, usage=step.usage)
        else:
            ticket.answered(step.text, model=step.model, usage=step.usage)
            if metered:
                self.session.meter.add(step.model, step.usage)

    def step(
        self, ask: Ask, ticket: Ticket, output: CellOutput, *, stream: bool, loop: ToolLoop | None = None
    ) -> Step:
        """One request of *ask* (with *loop*: its next step, tools offered), streamed into
        *output* or asked whole, and settled."""
        session = self.session
        if loop is not None:
            ticket.extra["step"] = loop.steps + 1
        streamed = stream and (loop is None or loop.stream_next())  # may ask for calls: asked whole
        messages = loop.messages() if loop is not None else ask.messages
        options = ask.options if loop is None else {**ask.options, "tools": loop.definitions()}
        replays = session.replays()
        with ticket.watch():
            session.check_budget(self.settings.budget_usd_cents)  # every request spends
            client = session.require_client()
            output.new_step()
            if streamed:
                chat = client.chat_stream(messages, model=ask.model, **options)
                rate = self.settings.max_updates_per_second
                live = stream_live(chat, output, close=chat.close, max_rate=rate)
                step, asked_for_calls = Step.of_live(live, ask.model), live.tool_calls
            else:
                reply = client.chat(messages, model=ask.model, **options)
                step, asked_for_calls = Step.of_reply(reply, ask.model), reply
        if loop is not None and step.ended_well:  # what it asks for (only a tools cell offers any)
            step.calls = calls_in(asked_for_calls)
            ticket.extra["calls"] = [call.name for call in step.calls]
        self.settle(ticket, step, metered=not replays.happened())
        return step

    # -- one question: one step, or a loop of steps ------------------------------------------

    def ask(
        self,
        ask: Ask,
        *,
        stream: bool,
        raw: bool,
        notes: list[str],
        out: str | None = None,
        tools: dict[str, Tool] | None = None,
        approve: bool = False,
    ) -> str | None:
        """Send, show and record one question; with *tools*, until the model asks for no more
        calls. The reply text, or None if it failed, was interrupted or is not kept.

        *out* names the variable the caller stores the reply in (``--out``), so that a
        display cut short can say where the whole text is.
        """
        session, settings = self.session, self.settings
        ticket = session.classroom.admit(model=ask.model, prompt=ask.user)
        if isinstance(ticket, Refusal):
            self.display(ticket)
            return None
        output = cell_output(settings, self.display)
        output.start()
        loop, calls = self._tool_loop(ask, tools, output, approve) if tools else (None, None)
        started, replays = time.monotonic(), session.replays()
        step, refused = Step(ask.model), None
        with self.failures.guard(output):
            try:
                while True:
                    step = self.step(ask, ticket, output, stream=stream, loop=loop)
                    if loop is None or not self._more(loop, step, output):
                        break
                    admitted = session.classroom.admit(model=ask.model, prompt=ask.user)  # another request
                    if isinstance(admitted, Refusal):
                        refused = admitted  # the request limit, reached between two steps
                        break
                    ticket = admitted
            except KeyboardInterrupt:
                if loop is None:
                    raise  # a reply asked whole was stopped: IPython's interrupt, as ever
                step.interrupted = True  # the stop button between two steps, or in a call
            if step.error is not None and not step.text and not step.images:
                raise step.error
            if calls is not None:
                calls.end()
            return self._end(ask, output, step, loop, refused, notes, raw, out, ticket, started, replays)
        return None

    def _tool_loop(
        self, ask: Ask, tools: dict[str, Tool], output: CellOutput, approve: bool
    ) -> tuple[ToolLoop, CallLines]:
        from ..api.toolloop import ToolLoop
        from .tools import CallLines

        calls = CallLines(output)
        loop = ToolLoop(
            ask.messages,
            tools,
            max_steps=self.settings.max_tool_steps,
            approve=calls.approve if approve else None,
            before_call=calls.before,
            after_call=calls.after,
        )
        return loop, calls

    def _more(self, loop: ToolLoop, step: Step, output: CellOutput) -> bool:
        """After a step of the tools loop: run the calls it asked for; True when their results
        must be sent in another step. A streamed step's calls may be incomplete: not run, the
        step is asked again whole."""
        if not step.ended_well:
            return False
        if step.calls and step.streamed:
            return loop.discard(step.calls, step.usage)
        if step.calls and step.text:
            output.update(PartialReply(step.text))  # the words beside the calls
        return loop.take(step.text, step.calls, step.usage, step.reasoning)

    def _end(
        self,
        ask: Ask,
        output: CellOutput,
        step: Step,
        loop: ToolLoop | None,
        refused: Refusal | None,
        notes: list[str],
        raw: bool,
        out: str | None,
        ticket: Ticket,
        started: float,
        replays: ReplayMark,
    ) -> str | None:
        """The cell's end: the final view (stamped with the output metadata), the exchange
        recorded when it is whole, the notes that say what happened."""
        notes = [ask.automatic, *notes] if ask.automatic else list(notes)
        after: list[Any] = []
        usage = loop.usage if loop is not None else step.usage
        limit_reached = loop is not None and loop.step_limit_reached
        if loop is not None:
            from .tools import step_limit_warning, tool_notes

            answered = step.ended_well and refused is None
            notes += tool_notes(loop, self.session.models, step.model, answered)
        kept = step.ended_well and refused is None and not limit_reached
        if step.interrupted:
            what = "this partial reply is not" if loop is None else "nothing of this cell is"
            notes.append(f"interrupted: {what} kept in the conversation")
        elif refused is not None:
            notes.append("stopped: nothing of this cell is kept in the conversation")
            after.append(refused)
        elif loop is not None and limit_reached:
            after.append(step_limit_warning(loop))
        elif step.error is None:
            notes = [*ask.placement_notes(), *notes]
            ask.record(step.text, model=step.model, usage=usage, turns=loop.turns if loop else None)
            notes += replays.notes()
        elapsed = time.monotonic() - started
        settings = self.settings
        view = ReplyView(
            step.text,
            model=step.model,
            usage=usage,
            elapsed=elapsed,
            notes=notes,
            reasoning=(loop.reasoning if loop is not None else step.reasoning)
            if settings.show_reasoning
            else "",
            interrupted=not step.ended_well,
            raw=raw,
            show_footer=settings.show_footer,
            images=step.images,
            where=ask.where_whole(out, kept=kept),
            sources=step.sources,
            asked=asked_for(ask.options),
            badges=ticket.badges(),
            metadata=ticket.stamp(step.model, usage, elapsed),
        )
        output.finish(view, *after)
        if step.error is not None:
            self.failures.report(step.error)
            return None
        return step.text if kept else None

    # -- several models at once: one step per column -----------------------------------------

    def compare(
        self, ask: Ask, models: list[str], keep: str | None, notes: list[str], *, stream: bool
    ) -> None:
        """Send *ask* to several models at once and show the replies in columns (each one
        streamed, or asked whole when not *stream*); *keep*'s reply is recorded."""
        from .compare import CompareView, run_compare

        settings, session = self.settings, self.session
        tickets = session.classroom.admit_all(models, ask.user)
        if isinstance(tickets, Refusal):
            self.display(tickets)
            return
        output = cell_output(settings, self.display)
        output.start(CompareView.starting(models, settings.compare_concurrency))  # never an empty grid
        replays = session.replays()
        with self.failures.guard(output), contextlib.ExitStack() as watching:
            for ticket in tickets:
                watching.enter_context(ticket.watch())
            session.check_budget(settings.budget_usd_cents)
            client = session.require_client()
            ask_one = client.chat_stream if stream else client.chat
            columns = run_compare(
                lambda model: ask_one(ask.messages, model=model, **ask.options),
                models,
                output.update,
                concurrency=settings.compare_concurrency,
                max_rate=min(settings.max_updates_per_second, 10.0),
            )
            metered = not replays.happened()
            for col, ticket in zip(columns, tickets):  # noqa: B905 (one ticket per model)
                self.settle(ticket, Step.of_column(col), metered=metered)
            kept = next((c for c in columns if c.model == keep and c.state == "done"), None)
            if kept is not None:
                ask.record(kept.text, model=kept.model, usage=kept.usage)
                notes = [*notes, f"kept {kept.model}'s reply in the conversation"]
            elif keep is not None:
                notes = [*notes, f"{keep} gave no complete reply: nothing was kept"]
            else:
                notes = [*notes, "compared: no reply was kept in the conversation (--keep MODEL keeps one)"]
            output.finish(
                CompareView(
                    columns,
                    final=True,
                    notes=notes,
                    badges=tickets[0].badges(),
                    metadata=compared_stamp(tickets, columns),
                )
            )


def compared_stamp(tickets: list[Ticket], columns: list[Column]) -> dict[str, Any]:
    """The output metadata of a --compare cell: each model's, in order (``replies``)."""
    from .classroom.log import KEY

    replies = [
        t.stamp(c.model, c.usage, c.elapsed)[KEY]
        for t, c in zip(tickets, columns)  # noqa: B905
    ]
    return {KEY: {"replies": replies}}


# -- the cell's end: --code ------------------------------------------------------------------

FENCE = re.compile(
    r"^(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S
)
NOT_CODE = {"text", "txt", "output", "console", "markdown", "md", "plain"}


def code_blocks(text: str) -> list[str]:
    """The fenced code blocks of *text*, in order (blocks marked as text or output are left out)."""
    blocks = []
    for match in FENCE.finditer(text):
        lang = match.group("info").strip().split(" ")[0].lower()
        body = match.group("body").rstrip("\n")
        if body.strip() and lang not in NOT_CODE:
            blocks.append(body)
    return blocks


def offer_code(shell: Any, reply: str) -> Note:
    """``--code``: put the code blocks of *reply* into the next cell, not run (IPython's
    ``set_next_input``: a new cell below in JupyterLab, Notebook 7 and VS Code; the next prompt
    in a terminal). Nothing a model writes is run. A note says what happened."""
    blocks = code_blocks(reply)
    if not blocks:
        return Note("--code: the reply has no code block,", "so no cell was added.")
    code = "\n\n".join(blocks)
    shell.set_next_input(code, replace=False)
    where = "a new cell below" if getattr(shell, "kernel", None) is not None else "the next prompt"
    lines = plural(code.count("\n") + 1, "line")
    return Note(f"--code: {plural(len(blocks), 'code block')} ({lines}) put into {where},", "not run.")
