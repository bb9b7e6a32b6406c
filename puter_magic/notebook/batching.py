"""``%%puter --each NAME``: the cell is a template asked once per item of ``NAME``.

- a list or tuple: ``{item}`` is the item; ``--out`` gets a list (:class:`Replies`);
- a pandas Series: ``{item}`` is the value; ``--out`` gets a Series with the same index;
- a pandas DataFrame: one prompt per row, ``{column}`` by name; ``--out`` gets a Series
  with the DataFrame's index.

Filling in, in this order: first ``{name}`` of notebook variables, with the usual rules
(:mod:`.interpolate`; a name that is also an item field is left for the second pass),
then the item's fields, in one pass and everywhere in the template, code blocks included
(a template over items means them). A value is never scanned again, so data cannot pull
in a notebook variable. Missing values (None, NaN) become empty text.

Items are one-shot (no history is sent or recorded). The answers are remembered per cell:
running the same cell again asks only the prompts (same text, model and options) that
failed or were not reached; ``--fresh`` asks them all. pandas is used only when the input
is pandas (it is then imported already).
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from ..api.chat import ChatReply
from ..api.errors import BudgetExceeded, PuterError

if TYPE_CHECKING:
    from .failures import Failures
    from .session import PuterSession
    from .settings import Settings

__all__ = ["BatchFlow", "BatchMemory", "Prompts", "Replies", "build_prompts", "prompt_key", "results_for"]

REMEMBERED_CELLS = 32


class Replies(list[str | None]):
    """The replies of a batch over a list: one text per item, None where it failed or was
    not asked. ``errors`` maps an item's position to its
    :class:`~puter_magic.api.errors.PuterError`."""

    errors: dict[int, PuterError]

    def __init__(self, texts: list[str | None], errors: dict[int, PuterError]) -> None:
        super().__init__(texts)
        self.errors = errors


@dataclass
class Prompts:
    """The prompts built from a template and an input, and how to shape the results."""

    kind: str  # "list", "series" or "frame"
    texts: list[str]
    items: list[str]  # a short form of each item, for the preview
    index: Any = None  # the pandas index for "series" and "frame"

    def __len__(self) -> int:
        return len(self.texts)


class _Without(Mapping[str, Any]):
    """A namespace without some names (the item fields, filled in the second pass)."""

    def __init__(self, namespace: Mapping[str, Any], hidden: set[str]) -> None:
        self._namespace = namespace
        self._hidden = hidden

    def __getitem__(self, key: str) -> Any:
        if key in self._hidden:
            raise KeyError(key)
        return self._namespace[key]

    def __contains__(self, key: object) -> bool:
        return key not in self._hidden and key in self._namespace

    def __iter__(self) -> Iterator[str]:
        return (k for k in self._namespace if k not in self._hidden)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _pandas() -> Any:
    return sys.modules.get("pandas")


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    pd = _pandas()
    if pd is not None and (value is pd.NA or value is pd.NaT):
        return ""
    return str(value)


def _rows(value: Any, name: str) -> tuple[str, list[str], list[dict[str, str]], Any]:
    """(kind, field names, one dict of fields per item, index) of the input."""
    pd = _pandas()
    if isinstance(value, (list, tuple)):
        return "list", ["item"], [{"item": _text(v)} for v in value], None
    if pd is not None and isinstance(value, pd.Series):
        return "series", ["item"], [{"item": _text(v)} for v in value.tolist()], value.index
    if pd is not None and isinstance(value, pd.DataFrame):
        columns = [str(c) for c in value.columns]
        if len(set(columns)) != len(columns):
            raise UsageError(f"--each {name}: the DataFrame has columns with the same name")
        rows = [
            {c: _text(v) for c, v in zip(columns, row)}  # noqa: B905 (a row has one value per column)
            for row in value.itertuples(index=False, name=None)
        ]
        return "frame", columns, rows, value.index
    kind = type(value).__name__
    raise UsageError(f"--each {name}: needs a list, a tuple, a pandas Series or a DataFrame, not a {kind}")


def build_prompts(
    template: str, value: Any, name: str, namespace: Mapping[str, Any], *, interpolate_vars: bool = True
) -> Prompts:
    """One prompt per item of *value* from *template* (see the module's doc)."""
    kind, fields, rows, index = _rows(value, name)
    if interpolate_vars:
        from .interpolate import interpolate

        template, _ = interpolate(template, _Without(namespace, set(fields)))
    pattern = re.compile(
        r"(?<!\{)\{(" + "|".join(re.escape(f) for f in sorted(fields, key=len, reverse=True)) + r")\}(?!\})"
    )
    if not pattern.search(template):
        shown = ", ".join("{" + f + "}" for f in fields[:6]) + (", …" if len(fields) > 6 else "")
        raise UsageError(
            f"--each {name}: the cell never uses an item; write {shown} where each item's value goes"
        )
    texts = [pattern.sub(lambda m, row=row: row[m.group(1)], template) for row in rows]  # type: ignore[misc]
    items = [
        row["item"] if kind != "frame" else ", ".join(f"{k}={v}" for k, v in row.items()) for row in rows
    ]
    return Prompts(kind, texts, items, index)


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


def results_for(prompts: Prompts, texts: list[str | None], errors: dict[int, PuterError]) -> Any:
    """What ``--out`` stores: a :class:`Replies` list, or a pandas Series on the input's index
    (``attrs["errors"]`` maps an index label to its error)."""
    if prompts.kind == "list":
        return Replies(texts, errors)
    pd = _pandas()
    series = pd.Series(texts, index=prompts.index, dtype=object, name="reply")
    series.attrs["errors"] = {prompts.index[i]: err for i, err in errors.items()}
    return series


class BatchFlow:
    """Run one ``%%puter --each`` cell: build the prompts, ask what is left, show and store."""

    def __init__(
        self,
        session: PuterSession,
        settings: Settings,
        display: Callable[..., Any],
        failures: Failures,
        memory: BatchMemory,
    ) -> None:
        self.session = session
        self.settings = settings
        self.display = display
        self.failures = failures
        self.memory = memory

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
            keys = [prompt_key(one_shot(text, system), model, options) for text in prompts.texts]
            known = {} if fresh else self.memory.answers(cell)
            replies: list[ChatReply | None] = [known.get(key) for key in keys]
            todo = [i for i, reply in enumerate(replies) if reply is None]
            errors: dict[int, PuterError] = {}
            result = None
            if todo:
                progress = progress_for(settings.rich, self.display, len(todo))
                check, tally = self._budget()
                result = client.chat_many(
                    [prompts.texts[i] for i in todo],
                    model,
                    system=system,
                    concurrency=settings.batch_concurrency,
                    rate=(settings.batch_rate, settings.batch_window),
                    on_progress=progress.update,
                    before_send=check,
                    on_answer=tally,
                    **options,
                )
                for position, item in zip(todo, result):  # noqa: B905 (one item per prompt asked)
                    if item.reply is not None:
                        replies[position] = item.reply
                        self.session.meter.add(item.reply.model or model, item.reply.usage)
                    elif item.error is not None:
                        errors[position] = item.error
            self.memory.keep(cell, {k: r for k, r in zip(keys, replies) if r is not None})  # noqa: B905
            texts = [r.text if r is not None else None for r in replies]
            if out:
                namespace[out] = results_for(prompts, texts, errors)
            summary, notes = batch_summary(prompts, model, todo, result, errors, out)

            def shown(i: int) -> tuple[str, str, bool]:
                text = texts[i]
                if text is not None:
                    return prompts.items[i], text, False
                if i in errors:
                    return prompts.items[i], f"(failed: {error_title(errors[i])})", True
                return prompts.items[i], "(not asked)", True

            preview = [shown(i) for i in range(min(len(prompts), 5))]
            view = BatchView(summary, notes, preview, len(prompts))
            if todo:
                progress.finish(view)
            else:
                self.display(view)
            if result is not None and result.stop_error is not None and not result.interrupted:
                self.failures.report(result.stop_error)

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
