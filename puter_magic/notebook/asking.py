"""What a %%puter cell does, step by step: send, show while it arrives, record.

:class:`AskFlow` is a plain object the magics own: it gets the session, a snapshot of
the settings, a display function and the notebook's :class:`Failures`, and knows
nothing of the magics class.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from .classroom import Refusal
from .flow import Flow
from .outputs import cell_output
from .puter_options import asked_for
from .rendering import PartialReply, ReplyView

if TYPE_CHECKING:
    from .classroom import Ticket
    from .compare import Column
    from .session import Ask

__all__ = ["AskFlow", "with_context"]


def with_context(prompt: str, names_text: str, namespace: Mapping[str, Any]) -> str:
    """*prompt* followed by a short description of the variables named in *names_text*."""
    from .context import describe_values

    names = [n.strip() for n in names_text.split(",") if n.strip()]
    missing = [n for n in names if n not in namespace]
    if missing:
        raise UsageError(f"--context: no variable named {', '.join(missing)}")
    described = describe_values(names, namespace)
    return f"{prompt.rstrip()}\n\nContext from my notebook:\n\n```text\n{described}\n```"


def compared_stamp(tickets: list[Ticket], columns: list[Column]) -> dict[str, Any]:
    """The output metadata of a --compare cell: each model's, in order (``replies``)."""
    from .provenance import KEY

    replies = [
        t.stamp(c.model, c.usage, c.elapsed)[KEY]
        for t, c in zip(tickets, columns)  # noqa: B905
    ]
    return {KEY: {"replies": replies}}


class AskFlow(Flow):
    """Ask one question in a cell (or several models at once) and show the answer."""

    def ask(
        self,
        ask: Ask,
        *,
        stream: bool,
        raw: bool,
        notes: list[str],
        out: str | None = None,
    ) -> str | None:
        """Send, show and record one question; the reply text, or None if it failed.

        *out* names the variable the caller stores the reply in (``--out``), so that a
        display cut short can say where the whole text is.
        """
        settings = self.settings
        limit = settings.max_display_chars
        ticket = self.session.classroom.admit(model=ask.model, prompt=ask.user)
        if isinstance(ticket, Refusal):
            self.display(ticket)
            return None
        output = cell_output(settings.rich, self.display, PartialReply(limit=limit), limit)
        started = time.monotonic()
        tape = self.session.tape
        replays_before = tape.replayed if tape is not None else 0
        if ask.automatic:
            notes = [ask.automatic, *notes]
        with self.failures.guard(output), ticket.watch():
            self.session.check_budget(settings.budget_usd_cents)
            client = self.session.require_client()
            if stream:
                from .live import stream_live

                chat = client.chat_stream(ask.messages, model=ask.model, **ask.options)
                live = stream_live(
                    chat, output, close=chat.close, max_rate=settings.max_updates_per_second, limit=limit
                )
                text, usage, reasoning = live.text, live.usage, live.reasoning
                interrupted, error, model = live.interrupted, live.error, ask.model
                images, sources = live.images, live.sources
            else:
                reply = client.chat(ask.messages, model=ask.model, **ask.options)
                text, usage, reasoning = reply.text, reply.usage, reply.reasoning
                interrupted, error, model = False, None, reply.model or ask.model
                images, sources = reply.images, reply.sources
            if error is not None and not text and not images:
                raise error
            if interrupted:
                notes = [*notes, "interrupted: this partial reply is not kept in the conversation"]
                ticket.interrupted(reply=text, usage=usage)
            elif error is not None:
                ticket.failed(error, reply=text, usage=usage)
            else:
                ticket.answered(text, model=model, usage=usage)
                notes = [*ask.placement_notes(), *notes]
                ask.record(text, model=model, usage=usage)
                if tape is not None and tape.replaying and tape.replayed > replays_before:
                    notes = [*notes, f"replayed from {tape.path.name}: nothing was spent"]
                else:
                    self.session.meter.add(model, usage)
            output.finish(
                ReplyView(
                    text,
                    model=model,
                    usage=usage,
                    elapsed=time.monotonic() - started,
                    notes=notes,
                    reasoning=reasoning if settings.show_reasoning else "",
                    interrupted=interrupted or error is not None,
                    raw=raw,
                    show_footer=settings.show_footer,
                    images=images,
                    limit=limit,
                    where=ask.where_whole(out, kept=not interrupted and error is None),
                    sources=sources,
                    asked=asked_for(ask.options),
                    badges=ticket.badges(),
                    metadata=ticket.stamp(model, usage, time.monotonic() - started),
                )
            )
            if error is not None:
                self.failures.report(error)
                return None
            return None if interrupted else text
        return None

    def compare(
        self, ask: Ask, models_text: str, keep: str | None, notes: list[str], *, stream: bool = True
    ) -> None:
        """Send *ask* to several models at once and show the replies in columns (each one
        streamed, or asked whole when not *stream*)."""
        from .compare import CompareView, run_compare

        models = list(dict.fromkeys(m.strip() for m in models_text.split(",") if m.strip()))
        if len(models) < 2:
            raise UsageError(
                "--compare needs at least two models, e.g. --compare gpt-4o-mini,claude-haiku-4-5"
            )
        if keep is not None and keep not in models:
            raise UsageError(f"--keep {keep}: not one of the compared models ({', '.join(models)})")
        settings = self.settings
        tickets = self.session.classroom.admit_all(models, ask.user)
        if isinstance(tickets, Refusal):
            self.display(tickets)
            return
        by_model = dict(zip(models, tickets))  # noqa: B905 (one ticket per model)
        first = CompareView.starting(models, settings.compare_concurrency)  # never an empty grid
        output = cell_output(settings.rich, self.display, first)
        with self.failures.guard(output), contextlib.ExitStack() as watching:
            for ticket in tickets:
                watching.enter_context(ticket.watch())
            self.session.check_budget(settings.budget_usd_cents)
            client = self.session.require_client()
            ask_one = client.chat_stream if stream else client.chat
            columns = run_compare(
                lambda model: ask_one(ask.messages, model=model, **ask.options),
                models,
                output.update if settings.rich else None,
                concurrency=settings.compare_concurrency,
                max_rate=min(settings.max_updates_per_second, 10.0),
                limit=settings.max_display_chars,
            )
            for col in columns:
                ticket = by_model[col.model]
                if col.state == "done":
                    self.session.meter.add(col.model, col.usage)
                    ticket.answered(col.text, model=col.model, usage=col.usage)
                elif col.error is not None:
                    ticket.failed(col.error, reply=col.text, usage=col.usage)
                else:
                    ticket.interrupted(reply=col.text, usage=col.usage)
            kept = next((c for c in columns if c.model == keep and c.state == "done"), None)
            if kept is not None:
                ask.record(kept.text, model=kept.model, usage=kept.usage)
                notes = [*notes, f"kept {kept.model}'s reply in the conversation"]
            elif keep is not None:
                notes = [*notes, f"{keep} gave no complete reply: nothing was kept"]
            else:
                notes = [*notes, "compared: no reply was kept in the conversation (--keep MODEL keeps one)"]
            view = CompareView(
                columns,
                final=True,
                notes=notes,
                limit=settings.max_display_chars,
                badges=tickets[0].badges(),
                metadata=compared_stamp(tickets, columns),
            )
            if settings.rich:
                output.update(view)
            else:
                self.display(view)
