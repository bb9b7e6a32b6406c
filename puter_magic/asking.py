"""What a %%puter cell does, step by step: send, show while it arrives, record.

Plain functions over the magics' settings and session, so the magic methods stay thin.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from .rendering import show
from .words import plural

if TYPE_CHECKING:
    from .magics import PuterMagics
    from .session import Ask

__all__ = ["ask_in_cell", "compare_in_cell", "placement_notes", "rich", "with_context"]


def with_context(magics: PuterMagics, prompt: str, names_text: str) -> str:
    from .context import describe_values

    names = [n.strip() for n in names_text.split(",") if n.strip()]
    namespace = magics.shell.user_ns if magics.shell is not None else {}
    missing = [n for n in names if n not in namespace]
    if missing:
        raise UsageError(f"--context: no variable named {', '.join(missing)}")
    described = describe_values(names, namespace)
    return f"{prompt.rstrip()}\n\nContext from my notebook:\n\n```text\n{described}\n```"


def rich(magics: PuterMagics) -> bool:
    if magics.rich_output is not None:
        return bool(magics.rich_output)
    return getattr(magics.shell, "kernel", None) is not None


def ask_in_cell(
    magics: PuterMagics, ask: Ask, *, stream: bool, raw: bool, notes: list[str], out: str | None = None
) -> str | None:
    """Send, show and record one question; the reply text, or None if it failed.

    *out* names the variable the caller stores the reply in (``--out``), so that a
    display cut short can say where the whole text is.
    """
    import sys

    from .live import TerminalSink
    from .rendering import PartialReply, ReplyView

    limit = magics.max_display_chars
    handle: Any = (
        show(PartialReply(limit=limit), display_id=True)
        if rich(magics)
        else TerminalSink(sys.stdout.write, sys.stdout.flush, limit)
    )
    started = time.monotonic()
    with magics._guard(handle):
        magics.session.check_budget(magics.budget_usd_cents)
        client = magics.session.require_client()
        if stream:
            from .live import stream_live

            chat = client.chat_stream(ask.messages, model=ask.model, **ask.options)
            live = stream_live(
                chat, handle, close=chat.close, max_rate=magics.max_updates_per_second, limit=limit
            )
            text, usage, reasoning = live.text, live.usage, live.reasoning
            interrupted, error, model = live.interrupted, live.error, ask.model
        else:
            reply = client.chat(ask.messages, model=ask.model, **ask.options)
            text, usage, reasoning = reply.text, reply.usage, reply.reasoning
            interrupted, error, model = False, None, reply.model or ask.model
        if error is not None and not text:
            raise error
        elapsed = time.monotonic() - started
        if interrupted:
            notes = [*notes, "interrupted: this partial reply is not kept in the conversation"]
        elif error is None:
            notes = [*placement_notes(ask), *notes]
            ask.record(text, model=model, usage=usage)
        if not interrupted and error is None:
            magics.session.meter.add(model, usage)
        view = ReplyView(
            text,
            model,
            usage,
            elapsed,
            notes,
            reasoning if magics.show_reasoning else "",
            interrupted or error is not None,
            raw,
            magics.show_footer,
            limit,
            _where_whole(ask, out, kept=not interrupted and error is None),
        )
        if isinstance(handle, TerminalSink):
            handle.finish(text, "\n".join(view.tail_lines()))
        else:
            handle.update(view)
        if error is not None:
            if magics.raise_errors:
                raise error
            show(magics._warning(error))
            return None
        return None if interrupted else text
    return None


def _where_whole(ask: Ask, out: str | None, *, kept: bool) -> str:
    """Where the whole reply is, for the note under a display that was cut short."""
    if not kept:
        return "the rest is not kept (an interrupted or failed reply is not recorded)"
    places = [f"{out} (--out)"] if out else []
    if ask.thread is not None:
        places.append("%puter_history --json")
    if not places:
        return "the rest is not kept (--out VAR keeps a whole reply)"
    return "the whole text is in " + " and ".join(places)


def compare_in_cell(
    magics: PuterMagics, ask: Ask, models_text: str, keep: str | None, notes: list[str]
) -> None:
    """Send *ask* to several models at once and show the replies in columns."""
    from .compare import CompareView, run_compare

    models = list(dict.fromkeys(m.strip() for m in models_text.split(",") if m.strip()))
    if len(models) < 2:
        raise UsageError("--compare needs at least two models, e.g. --compare gpt-4o-mini,claude-haiku-4-5")
    if keep is not None and keep not in models:
        raise UsageError(f"--keep {keep}: not one of the compared models ({', '.join(models)})")
    handle = show(CompareView([]), display_id=True) if rich(magics) else None
    with magics._guard(handle):
        magics.session.check_budget(magics.budget_usd_cents)
        client = magics.session.require_client()
        columns = run_compare(
            lambda model: client.chat_stream(ask.messages, model=model, **ask.options),
            models,
            handle.update if handle is not None else None,
            concurrency=magics.compare_concurrency,
            max_rate=min(magics.max_updates_per_second, 10.0),
            limit=magics.max_display_chars,
        )
        for col in columns:
            if col.state == "done":
                magics.session.meter.add(col.model, col.usage)
        kept = next((c for c in columns if c.model == keep and c.state == "done"), None)
        if kept is not None:
            ask.record(kept.text, model=kept.model, usage=kept.usage)
            notes = [*notes, f"kept {kept.model}'s reply in the conversation"]
        elif keep is not None:
            notes = [*notes, f"{keep} gave no complete reply: nothing was kept"]
        else:
            notes = [*notes, "compared: no reply was kept in the conversation (--keep MODEL keeps one)"]
        view = CompareView(columns, final=True, notes=notes, limit=magics.max_display_chars)
        if handle is not None:
            handle.update(view)
        else:
            show(view)


def placement_notes(ask: Ask) -> list[str]:
    placement = ask.placement
    if ask.thread is None:
        return ["one-shot: not kept in the conversation"]
    if placement is None or placement.index is None:
        return []
    total = len(ask.thread.exchanges)
    note = f"re-run: replaced this cell's earlier exchange ({placement.index + 1} of {total})"
    if placement.later:
        later = plural(placement.later, "later exchange")
        kept = "is kept as it was" if placement.later == 1 else "are kept as they were"
        note += f"; the {later} {kept}"
    return [note + "; the old reply: %puter_history --replaced"]
