"""``%%puter --each NAME``: the cell is a template asked once per item of ``NAME``.

- a list or tuple: ``{item}`` is the item; ``--out`` gets a list (:class:`Replies`);
- a pandas Series: ``{item}`` is the value; ``--out`` gets a Series with the same index;
- a pandas DataFrame: one prompt per row, ``{column}`` by name; ``--out`` gets a Series
  with the DataFrame's index;
- a glob of files (``--each "notes/*.md"``: a quoted argument that is not a variable's name):
  ``{item}`` is a file's text (at most :data:`MAX_FILE_CHARS`, and the prompt says when it was
  cut), ``{path}`` its path; an image file is attached to its question instead; ``--out`` gets
  a dict from path to reply (:class:`FileReplies`), or a Series indexed by path with pandas.

Filling in: first ``{name}`` of notebook variables (:mod:`.prompt`; a name that is also an
item field is left for the second pass), then the item's fields, in one pass. A value is never
scanned again, so data cannot pull in a notebook variable. Items are one-shot. The answers are
remembered per cell: running the same cell again asks only the prompts that failed or were not
reached; ``--fresh`` asks them all. While it runs, a progress bar (a notebook) or one line
rewritten with ``\\r`` (a terminal); at the end one summary and a short preview, bounded
whatever the batch's size, every text escaped. pandas is used only when the input is pandas.
"""

from __future__ import annotations

import html
import importlib.util
import json
import math
import re
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from ..api.chat import ChatReply
from ..api.errors import PuterError
from ..api.humanize import plural
from .asking import AskFlow, Step
from .live import cell_output
from .views import MUTED, NOT_MATH, NOTE_STYLE

if TYPE_CHECKING:
    from ..api.batch import BatchResult
    from ..api.errors import PuterError
    from .classroom.gate import Ticket
    from .options import AskOptions

__all__ = [
    "MAX_FILE_CHARS",
    "BatchFlow",
    "BatchMemory",
    "BatchView",
    "FileReplies",
    "Prompts",
    "Replies",
    "batch_summary",
    "build_prompts",
    "error_title",
    "file_prompts",
    "prompt_key",
    "results_for",
    "why_failed",
]

# -- the batch --------------------------------------------------------------------------------------

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
class BatchFlow(AskFlow):
    """Run one ``%%puter --each`` cell: build the prompts, ask what is left, show and store."""

    memory: BatchMemory = field(default_factory=BatchMemory)

    def each_cell(
        self, options: AskOptions, template: str, *, namespace: dict[str, Any], cell: str | None
    ) -> None:
        """``%%puter --each NAME``: build the prompts (the options were checked when read), run
        the batch."""
        name = options.each
        assert name is not None  # AskOptions.batch
        if name in namespace:
            prompts = build_prompts(
                template.strip("\n"), namespace[name], name, namespace, interpolate_vars=options.interpolate
            )
        elif name.isidentifier():
            raise UsageError(
                f'--each: no variable named {name} (a glob of files goes in quotes: "notes/*.md")'
            )
        else:  # not a variable's name: a glob of files
            prompts = file_prompts(
                template.strip("\n"), name, namespace, interpolate_vars=options.interpolate
            )
        self.run(
            prompts,
            model=options.model,
            system=options.system or None,
            options=options.model_options(),
            cell=cell or f"--each {name}",
            fresh=options.fresh,
            out=options.out,
            namespace=namespace,
        )

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

        settings = self.settings
        with self.failures.guard():
            client = self.session.require_client()
            model = self.session.prepare("", model=model, history=False).model
            classroom = self.session.classroom
            refused = classroom.refuse_cell(model, prompts.texts)  # AI off, a model not allowed
            if refused is not None:
                self.display(refused)  # the whole cell, remembered answers too: nothing is shown
                return
            system = classroom.system_prompt(system)  # as sent: the tutor's, in tutor mode
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
            tickets, refused = classroom.admit_items(model, [prompts.texts[i] for i in todo])
            if refused is not None and not tickets and todo:
                self.display(refused)  # nothing may be asked: nothing is sent
                return
            held = len(todo) - len(tickets)  # past the request limit: not asked
            wanted, todo = todo, todo[: len(tickets)]
            if todo:
                self._allowance_note(model, len(todo))
                progress = cell_output(settings, self.display).progress(len(todo))
                replays = self.session.replays()
                check, tally = self._budget()
                result = client.chat_many(
                    [asked[i] for i in todo],
                    model,
                    system=system,
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
                metered = not replays.happened()
                for position, item, ticket in zip(todo, result, tickets):  # noqa: B905 (one each)
                    ticket.extra["item"] = position
                    if item.reply is not None:
                        replies[position] = item.reply
                        self.settle(ticket, Step.of_reply(item.reply, model), metered=metered)
                    elif item.error is not None:
                        errors[position] = item.error
                        self.settle(ticket, Step(model, error=item.error))
                    elif item.attempts == 0:
                        ticket.unsent()  # the batch stopped before it: not a request
                    else:
                        self.settle(ticket, Step(model, interrupted=True), metered=metered)
            self.memory.keep(cell, {k: r for k, r in zip(keys, replies) if r is not None})  # noqa: B905
            texts = [r.text if r is not None else None for r in replies]
            if out:
                namespace[out] = results_for(prompts, texts, errors)
            summary, notes = batch_summary(prompts, model, wanted, result, out, held=held)
            notes = [*(prompts.notes or []), *notes]

            from .markup import plain_text

            def shown(i: int) -> tuple[str, str, bool]:
                text = texts[i]
                if text is not None:  # a preview reads as text; the whole reply is in the results
                    return prompts.items[i], plain_text(text), False
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
        from .account import batch_note

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
            self.session.check_budget(budget, now)

        return check, tally


def batch_stamp(tickets: list[Ticket], replies: list[ChatReply | None], model: str) -> dict[str, Any]:
    """The output metadata of a --each cell: the model, the usage of its answers added up,
    and how many items were answered."""
    from ..api.usage import UsageMeter
    from .classroom.log import KEY

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


# -- the prompts ------------------------------------------------------------------------------------

MAX_FILE_CHARS = 20_000  # of a file's text put in its prompt
MAX_FILES = 5_000


class FileReplies(dict[str, str | None]):
    """The replies of a batch over files: path to reply text (None where it failed or was not
    asked); ``errors`` maps a path to its :class:`~puter_magic.api.errors.PuterError`."""

    errors: dict[str, PuterError]

    def __init__(self, texts: dict[str, str | None], errors: dict[str, PuterError]) -> None:
        super().__init__(texts)
        self.errors = errors


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

    kind: str  # "list", "series", "frame" or "files"
    texts: list[str]
    items: list[str]  # a short form of each item, for the preview
    index: Any = None  # the pandas index for "series" and "frame"; the paths of "files" (a Series)
    images: list[str | None] | None = None  # "files": the image file attached to each prompt
    notes: list[str] | None = None  # said under the batch (files cut short...)

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
        from .prompt import interpolate

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


def _read_file(path: str) -> tuple[str, str | None, bool]:
    """(the text for ``{item}``, the path if it is an image to attach, whether it was cut)."""
    from ..api.media import sniff_image

    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
            if sniff_image(head[:32]):
                return "", path, False
            data = head + handle.read(MAX_FILE_CHARS * 4 + 4)
    except OSError as exc:
        raise UsageError(f"--each: could not read {path}: {exc.strerror or exc}") from None
    if b"\x00" in data[:8192]:
        raise UsageError(f"--each: {path} is neither text nor an image Puter's models can see")
    text = data.decode("utf-8", errors="replace")
    if len(text) <= MAX_FILE_CHARS:
        return text, None, False
    import os

    size = os.path.getsize(path)
    return (
        text[:MAX_FILE_CHARS] + f"\n[… the file goes on: it is {size:,} bytes; only its first "
        f"{MAX_FILE_CHARS:,} characters are here]",
        None,
        True,
    )


def file_prompts(
    template: str, pattern: str, namespace: Mapping[str, Any], *, interpolate_vars: bool = True
) -> Prompts:
    """One prompt per file matching the glob *pattern* (sorted): ``{item}`` its text (an image
    is attached instead), ``{path}`` its path. No match is a UsageError."""
    import glob
    import os

    paths = sorted(p for p in glob.glob(os.path.expanduser(pattern), recursive=True) if os.path.isfile(p))
    if not paths:
        raise UsageError(f"--each {pattern}: no variable of that name and no file matches it")
    if len(paths) > MAX_FILES:
        raise UsageError(f"--each {pattern}: {len(paths):,} files match; at most {MAX_FILES:,} in one cell")
    if interpolate_vars:
        from .prompt import interpolate

        template, _ = interpolate(template, _Without(namespace, {"item", "path"}))
    fields = re.compile(r"(?<!\{)\{(item|path)\}(?!\})")
    if not fields.search(template):
        raise UsageError(
            f"--each {pattern}: the cell never uses a file; write {{item}} (its text) or {{path}}"
        )
    texts, images, cut = [], [], []
    for path in paths:
        text, image, was_cut = _read_file(path)
        values = {
            "item": text if image is None else f"(the attached image {os.path.basename(path)})",
            "path": path,
        }
        texts.append(fields.sub(lambda m, v=values: v[m.group(1)], template))  # type: ignore[misc]
        images.append(image)
        if was_cut:
            cut.append(path)
    notes = []
    if cut:
        shown = ", ".join(cut[:3]) + (f" and {len(cut) - 3} more" if len(cut) > 3 else "")
        files = f"{len(cut)} file{'s' if len(cut) != 1 else ''}"
        its = "its" if len(cut) == 1 else "their"
        notes.append(f"{files} cut to {its} first {MAX_FILE_CHARS:,} characters: {shown}.")
    attached = sum(1 for i in images if i)
    if attached:
        one = attached == 1
        notes.append(
            f"{attached} image file{'' if one else 's'} attached to {'its' if one else 'their'} "
            "question (for models that see)."
        )
    index = paths if importlib.util.find_spec("pandas") is not None else None
    return Prompts("files", texts, paths, index, images=images, notes=notes)


def results_for(prompts: Prompts, texts: list[str | None], errors: dict[int, PuterError]) -> Any:
    """What ``--out`` stores: a :class:`Replies` list, a :class:`FileReplies` dict, or a pandas
    Series on the input's index (``attrs["errors"]`` maps an index label to its error)."""
    if prompts.kind == "list":
        return Replies(texts, errors)
    if prompts.kind == "files" and prompts.index is None:
        return FileReplies(dict(zip(prompts.items, texts)), {prompts.items[i]: e for i, e in errors.items()})  # noqa: B905
    pd = _pandas()
    if pd is None:  # a glob's Series: pandas is installed, imported only now
        pd = importlib.import_module("pandas")
    series = pd.Series(texts, index=prompts.index, dtype=object, name="reply")
    series.attrs["errors"] = {prompts.index[i]: err for i, err in errors.items()}
    return series


# -- the summary ------------------------------------------------------------------------------------

PREVIEW_ROWS = 5
PREVIEW_CHARS = 100


def _clip(text: str, limit: int = PREVIEW_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class BatchView:
    """The end of a batch: a summary line, notes, and the first few results."""

    summary: str
    notes: list[str] = field(default_factory=list)
    preview: list[tuple[str, str, bool]] = field(default_factory=list)  # (item, shown, muted)
    total: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)  # the output's metadata (provenance)

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> dict[str, str] | tuple[dict[str, str], dict[str, Any]]:
        """The bundle, with the output metadata when there is some (it is saved in the .ipynb)."""
        return (self.bundle(), self.metadata) if self.metadata else self.bundle()

    def bundle(self) -> dict[str, str]:
        rows = self.preview[:PREVIEW_ROWS]
        plain = [self.summary, *self.notes]
        for item, shown, _ in rows:
            plain.append(f"  {_clip(item, 40)!r} → {_clip(shown, 70)}")
        if rows and self.total > len(rows):
            plain.append(f"  (the first {len(rows)} of {self.total:,})")
        notes = "".join(f'<div style="{MUTED}">{html.escape(n)}</div>' for n in self.notes)
        table = ""
        if rows:
            cells = "".join(
                f'<tr><td style="text-align: left">{html.escape(_clip(item, 60))}</td>'
                f'<td style="text-align: left{"; " + MUTED if muted else ""}">'
                f"{html.escape(_clip(shown))}</td></tr>"
                for item, shown, muted in rows
            )
            more = (
                f'<div style="{MUTED}">the first {len(rows)} of {self.total:,}</div>'
                if self.total > len(rows)
                else ""
            )
            table = (
                '<table class="puter-batch-preview" style="margin-top: 6px; font-size: 0.9em">'
                "<thead><tr><th style='text-align: left'>item</th><th style='text-align: left'>reply</th>"
                f"</tr></thead><tbody>{cells}</tbody></table>{more}"
            )
        body = f"<div><strong>{html.escape(self.summary)}</strong></div>{notes}{table}"
        return {
            "text/plain": "\n".join(plain),
            "text/html": f'<div class="puter-batch {NOT_MATH}" style="{NOTE_STYLE}">{body}</div>',
        }

    def __repr__(self) -> str:
        return self.bundle()["text/plain"]


def error_title(err: PuterError) -> str:
    """``Model not found (bad_request)``: a failure's kind, as its warning would title it."""
    from .failures import describe_error

    title = describe_error(err)[0]
    return f"{title} ({err.code})" if err.code else title


def why_failed(result: BatchResult) -> str:
    """``2 × Model not found (bad_request), 1 × Timeout``: the batch's failures by kind, as the
    batch counted them, each kind titled as its warning would be."""
    return ", ".join(f"{n:,} × {error_title(first)}" for _, n, first in result.failure_groups())


def batch_summary(
    prompts: Prompts,
    model: str,
    todo: list[int],
    result: BatchResult | None,
    out: str | None,
    held: int = 0,
) -> tuple[str, list[str]]:
    """The summary line of a batch, and notes saying where the results are. *held*: items of
    *todo* not asked because the classroom's request limit was reached. The counts are the
    batch's own (:class:`~puter_magic.api.batch.BatchResult`); this words them for a notebook."""
    total = len(prompts)
    kept = total - len(todo)
    head = f"{plural(total, 'prompt')} to {model}: "
    if result is None:
        return head + f"all {total:,} answered in an earlier run; nothing asked", _where(prompts, out, 0)
    parts = [f"{result.answered:,} answered"]
    if result.failed:
        parts.append(f"{result.failed:,} failed ({why_failed(result)})")
    if result.not_asked:
        parts.append(f"{result.not_asked:,} not asked")
    if held:
        parts.append(f"{held:,} not asked (the request limit)")
    line = head + (f"{kept:,} kept from the last run; asked {len(todo) - held:,}: " if kept else "")
    line += ", ".join(parts) + f" in {result.elapsed:.1f} s"
    if result.rate_limited:
        line += f" · {plural(result.rate_limited, 'rate limit')} (429) waited out"
        if result.limits is not None:
            from .failures import limits_words

            line += f" ({limits_words(result.limits)})"
    if result.interrupted:
        line += " · interrupted"
    elif result.stop_error is not None:
        from .failures import describe_error

        line += f" · stopped: {describe_error(result.stop_error)[0].lower()}"
    return line, _where(prompts, out, result.failed + result.not_asked + held)


def _where(prompts: Prompts, out: str | None, left: int) -> list[str]:
    notes = []
    if out:
        listed = prompts.kind == "list" or (prompts.kind == "files" and prompts.index is None)
        errs = f"{out}.errors" if listed else f"{out}.attrs['errors']"
        notes.append(f"Results in {out}: failed items are None, their errors in {errs}.")
    else:
        notes.append(
            "Add --out VAR to keep the results in a variable (running the cell again asks nothing new)."
        )
    if left:
        notes.append(f"Run the cell again to ask only the {left:,} left (--fresh asks all again).")
    return notes
