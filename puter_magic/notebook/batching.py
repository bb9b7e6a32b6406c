"""``%%puter --each NAME``: the cell is a template asked once per item of ``NAME`` (the
prompts: :mod:`.batch_prompts`).

Items are one-shot (no history is sent or recorded). The answers are remembered per cell:
running the same cell again asks only the prompts (same text, model and options) that
failed or were not reached; ``--fresh`` asks them all. pandas is used only when the input
is pandas (it is then imported already).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from ..api.chat import ChatReply
from ..api.errors import BudgetExceeded, PuterError
from .batch_prompts import Prompts, build_prompts, results_for
from .flow import Flow

if TYPE_CHECKING:
    from .classroom import Ticket

__all__ = ["BatchFlow", "BatchMemory", "each_cell", "prompt_key"]

REMEMBERED_CELLS = 32


def prompt_key(messages: list[dict[str, Any]], model: str, options: Mapping[str, Any]) -> str:
    """What makes two asks the same: the messages, the model and the options."""
    return json.dumps([model, sorted(options.items()), messages], sort_keys=True, default=str)


class BatchMemory:
    """The answers of each cell's last batch, by prompt key (the last few cells only)."""

    def __init__(self, cells: int = REMEMBERED_CELLS) -> None:
        self._cells: OrderedDict[str, dict[str, ChatReply]] = OrderedDict()
        self._limit = cells

    def answers(self, cell: str) -> dict[str, ChatReply]:
        return dict(self._cells.get(cell, {}))

    def keep(self, cell: str, answers: dict[str, ChatReply]) -> None:
        self._cells.pop(cell, None)
        self._cells[cell] = answers
        while len(self._cells) > self._limit:
            self._cells.popitem(last=False)


@dataclass
class BatchFlow(Flow):
    """Run one ``%%puter --each`` cell: build the prompts, ask what is left, show and store."""

    memory: BatchMemory = field(default_factory=BatchMemory)

    def run(
        self,
        prompts: Prompts,
        *,
        model: str | None,
        system: str | None,
        options: dict[str, Any],
        cell: str,
        fresh: bool,
        out: str | None,
        namespace: dict[str, Any],
    ) -> None:
        from ..api.batch import one_shot
        from .batch_display import BatchView, batch_summary, error_title, progress_for

        settings = self.settings
        with self.failures.guard():
            client = self.session.require_client()
            model = self.session.prepare("", model=model, history=False).model
            asked = _with_images(prompts)
            keys = [
                prompt_key(one_shot(text, system) + _image_key(prompts, i), model, options)
                for i, text in enumerate(prompts.texts)
            ]
            known = {} if fresh else self.memory.answers(cell)
            replies: list[ChatReply | None] = [known.get(key) for key in keys]
            todo = [i for i, reply in enumerate(replies) if reply is None]
            errors: dict[int, PuterError] = {}
            result = None
            classroom = self.session.classroom
            tickets, refused = classroom.admit_items(model, [prompts.texts[i] for i in todo])
            if refused is not None and not tickets and todo:
                self.display(refused)  # nothing may be asked: nothing is sent
                return
            held = len(todo) - len(tickets)  # past the request limit: not asked
            wanted, todo = todo, todo[: len(tickets)]
            if todo:
                self._allowance_note(model, len(todo))
                progress = progress_for(settings.rich, self.display, len(todo))
                check, tally = self._budget()
                result = client.chat_many(
                    [asked[i] for i in todo],
                    model,
                    system=classroom.system_prompt(system),
                    concurrency="account"
                    if settings.batch_concurrency is None
                    else settings.batch_concurrency,
                    rate="account"
                    if settings.batch_rate is None
                    else (settings.batch_rate, settings.batch_window),
                    on_progress=progress.update,
                    before_send=check,
                    on_answer=tally,
                    **options,
                )
                for position, item, ticket in zip(todo, result, tickets):  # noqa: B905 (one each)
                    ticket.extra["item"] = position
                    if item.reply is not None:
                        replies[position] = item.reply
                        self.session.meter.add(item.reply.model or model, item.reply.usage)
                        ticket.answered(
                            item.reply.text, model=item.reply.model or model, usage=item.reply.usage
                        )
                    elif item.error is not None:
                        errors[position] = item.error
                        ticket.failed(item.error)
                    elif item.attempts == 0:
                        ticket.unsent()  # the batch stopped before it: not a request
                    else:
                        ticket.interrupted()
            self.memory.keep(cell, {k: r for k, r in zip(keys, replies) if r is not None})  # noqa: B905
            texts = [r.text if r is not None else None for r in replies]
            if out:
                namespace[out] = results_for(prompts, texts, errors)
            summary, notes = batch_summary(prompts, model, wanted, result, errors, out, held=held)
            notes = [*(prompts.notes or []), *notes]

            def shown(i: int) -> tuple[str, str, bool]:
                text = texts[i]
                if text is not None:
                    return prompts.items[i], text, False
                if i in errors:
                    return prompts.items[i], f"(failed: {error_title(errors[i])})", True
                return prompts.items[i], "(not asked)", True

            preview = [shown(i) for i in range(min(len(prompts), 5))]
            view = BatchView(summary, notes, preview, len(prompts))
            if tickets:
                view.notes = [*view.notes, *(f"{b} mode" for b in tickets[0].badges())]
                view.metadata = batch_stamp(tickets, [replies[i] for i in todo], model)
            if todo:
                progress.finish(view)
            else:
                self.display(view)
            if refused is not None:
                self.display(refused)  # the items past the request limit
            if result is not None and result.stop_error is not None and not result.interrupted:
                self.failures.report(result.stop_error)

    def _allowance_note(self, model: str, count: int) -> None:
        """Say so before sending when the batch would likely spend more than the allowance left."""
        from .allowance import batch_note

        try:
            allowance = self.session.allowance(max_age=60.0)  # at most one read a minute
        except PuterError:
            return  # an unread allowance is no reason not to send
        note = batch_note(allowance, self.session.meter, model, count)
        if note is not None:
            self.display(note)

    def _budget(self) -> tuple[Callable[[], None] | None, Callable[[Any], None] | None]:
        """Refuse to send once the notebook's budget is spent, counting this batch's replies."""
        budget = self.settings.budget_usd_cents
        if budget is None:
            return None, None
        import threading

        lock = threading.Lock()
        spent = [self.session.meter.spent_cents]

        def tally(item: Any) -> None:
            cents = item.reply.usage.get("usd_cents") if item.reply is not None else None
            if isinstance(cents, (int, float)) and not isinstance(cents, bool):
                with lock:
                    spent[0] += float(cents)

        def check() -> None:
            with lock:
                now = spent[0]
            if now >= budget:
                raise BudgetExceeded(
                    f"this notebook has spent {now:.4g}¢ of its {budget:g}¢ budget, so nothing more was sent"
                )

        return check, tally


def batch_stamp(tickets: list[Ticket], replies: list[ChatReply | None], model: str) -> dict[str, Any]:
    """The output metadata of a --each cell: the model, the usage of its answers added up,
    and how many items were answered."""
    from ..api.usage import UsageMeter
    from .provenance import KEY

    meter = UsageMeter()
    answered = [r for r in replies if r is not None]
    for reply in answered:
        meter.add(model, reply.usage)
    used = meter.models.get(model)
    usage: dict[str, Any] = {}
    if used is not None:
        usage = {"input_tokens": used.input_tokens, "output_tokens": used.output_tokens}
        if used.priced:
            usage["usd_cents"] = used.cents
    metadata = tickets[0].stamp(model, usage, None)
    metadata[KEY]["items"] = {"asked": len(tickets), "answered": len(answered)}
    return metadata


def _with_images(prompts: Prompts) -> list[Any]:
    """The prompts as sent: a glob's image files attached to their questions."""
    if not prompts.images or not any(prompts.images):
        return list(prompts.texts)
    from ..api.errors import PuterError as _Error
    from ..api.media import IMAGE_LIMIT, MediaInputError, load_input, with_images

    out: list[Any] = []
    for text, image in zip(prompts.texts, prompts.images):  # noqa: B905 (one image slot per prompt)
        if image is None:
            out.append(text)
            continue
        try:
            load_input(image, accept="image", limit=IMAGE_LIMIT)  # refused here, before anything is sent
        except (MediaInputError, _Error) as err:
            raise UsageError(f"--each: {image}: {err}") from None
        out.append(with_images(text, [image]))
    return out


def _image_key(prompts: Prompts, i: int) -> list[dict[str, Any]]:
    """What makes an attached image part of a prompt's identity: its path, size and time."""
    image = prompts.images[i] if prompts.images else None
    if image is None:
        return []
    import os

    stat = os.stat(image)
    return [{"role": "image", "path": image, "size": stat.st_size, "mtime": stat.st_mtime_ns}]


def each_cell(
    flow: BatchFlow,
    args: Any,
    template: str,
    *,
    in_cell: bool,
    namespace: dict[str, Any],
    cell: str | None,
) -> None:
    """``%%puter --each NAME``: check the options, build the prompts, run the batch."""
    if args.each is None:
        raise UsageError("--fresh goes with --each NAME")
    if not in_cell:
        raise UsageError("--each works in a %%puter cell: the cell is the template asked per item")
    clashes = [o for o in ("compare", "keep", "chat", "new", "context", "tools") if getattr(args, o)]
    if clashes:
        raise UsageError(f"--each asks each item on its own: it does not go with --{clashes[0]}")
    if args.each in namespace:
        prompts = build_prompts(
            template.strip("\n"),
            namespace[args.each],
            args.each,
            namespace,
            interpolate_vars=not args.no_interpolate,
        )
    elif args.each.isidentifier():
        raise UsageError(
            f'--each: no variable named {args.each} (a glob of files goes in quotes: "notes/*.md")'
        )
    else:  # not a variable's name: a glob of files
        from .batch_prompts import file_prompts

        prompts = file_prompts(
            template.strip("\n"), args.each, namespace, interpolate_vars=not args.no_interpolate
        )
    from .puter_options import model_options

    flow.run(
        prompts,
        model=args.model,
        system=args.system or None,
        options=model_options(args),
        cell=cell or f"--each {args.each}",
        fresh=args.fresh,
        out=args.out,
        namespace=namespace,
    )
