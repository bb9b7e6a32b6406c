"""The model selector: an ipywidgets row bound to the notebook's default model.

One compact row: a searchable field of model ids, a refresh button, and a line that says the
current default with its provider, context size and cost where the server gives them.
Typing a model's id (or an alias, or a part that names exactly one model) and pressing Enter,
or picking an id from the field's list, sets the notebook's default
(``PuterMagics.default_model``). With none set, the line names the automatic choice.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..api.errors import PuterError
from ..api.humanize import plural
from ..api.models import automatic_model
from .views import MUTED, NOT_MATH, text_table

if TYPE_CHECKING:
    from ..api.models import ModelInfo
    from .session import PuterSession

__all__ = ["ModelSelector", "describe_model", "match_models", "model_label"]


def model_label(model: ModelInfo) -> str:
    return f"{model.id} · {model.provider}" if model.provider else model.id


def match_models(text: str, models: Sequence[ModelInfo]) -> list[ModelInfo]:
    """The models *text* names: one for an exact id, alias or name (any case); otherwise
    every model whose id or an alias contains it (one means it is unambiguous)."""
    key = text.strip().lower()
    if not key:
        return []
    for model in models:
        names = [model.id, *model.aliases, model.name or ""]
        if any(key == n.strip().lower() for n in names if isinstance(n, str)):
            return [model]
    return [m for m in models if any(key in n.lower() for n in [m.id, *m.aliases] if isinstance(n, str))]


WARN_TONE = "color: var(--jp-warn-color0, #b45309)"


def _money(cents: float) -> str:
    return f"${cents / 100:,.2f}" if cents >= 1 else f"{cents:g}¢"


def describe_model(model: ModelInfo) -> str:
    """``sandbox · 32k context · in $0.30 / out $1.20 per 1M tokens`` (what the server says)."""
    parts = [model.provider] if model.provider else []
    if model.context:
        parts.append(
            f"{model.context // 1000}k context" if model.context >= 1000 else f"{model.context} context"
        )
    costs = model.costs
    per = costs.get("tokens")
    cin = costs.get(model.raw.get("input_cost_key") or "prompt_tokens", costs.get("input-tokens"))
    cout = costs.get(model.raw.get("output_cost_key") or "completion_tokens", costs.get("output-tokens"))
    if isinstance(cin, (int, float)) and isinstance(cout, (int, float)) and (cin or cout):
        if isinstance(per, (int, float)) and per:
            scale = 1_000_000 / per
            parts.append(f"in {_money(cin * scale)} / out {_money(cout * scale)} per 1M tokens")
        else:
            parts.append(f"cost in {cin:g} / out {cout:g} ({model.costs_currency or 'server units'})")
    if model.tool_call is not None:
        parts.append("calls tools" if model.tool_call else "no tools")
    return " · ".join(parts)


class ModelSelector:
    """A searchable model picker. ``widget`` is the ipywidgets box to display.

    Args:
        load: returns the catalogue (``refresh=True`` bypasses the cache).
        get_current / set_current: read and set the notebook's default model.
    """

    def __init__(
        self,
        load: Callable[[bool], list[ModelInfo]],
        get_current: Callable[[], str],
        set_current: Callable[[str], None],
    ) -> None:
        import ipywidgets as w

        self._load = load
        self._get = get_current
        self._set = set_current
        self._syncing = False
        self.models: list[ModelInfo] = []
        self._server_order: list[ModelInfo] | None = None  # None: not read (yet)
        # A datalist offers values only, so the options are the ids (details are in the row).
        # continuous_update=False: the text arrives on Enter or on leaving the field, not per key.
        self.search = w.Combobox(
            placeholder="type a model id or part of one, then Enter",
            ensure_option=False,
            continuous_update=False,
            description="Model",
            layout=w.Layout(flex="1 1 auto", min_width="12em", max_width="32em"),
            style={"description_width": "initial"},
        )
        self.refresh_button = w.Button(
            icon="refresh",
            tooltip="Reload the model list from the server",
            layout=w.Layout(width="2.6em"),
        )
        self.status = w.HTML(layout=w.Layout(flex="2 1 auto", margin="0 0 0 0.6em"))
        self.widget = w.HBox(
            [self.search, self.refresh_button, self.status],
            layout=w.Layout(width="100%", flex_flow="row wrap", align_items="center"),
        )
        self.widget.add_class("puter-model-selector")
        self.search.observe(self._typed, names="value")
        self.refresh_button.on_click(lambda _button: self.refresh(force=True))
        self.refresh(force=False)

    # -- state --------------------------------------------------------------------

    def refresh(self, force: bool = True) -> None:
        """Reload the catalogue (from the server when *force*, else from the cache)."""
        try:
            loaded = list(self._load(force))
        except PuterError as err:
            from .failures import describe_error

            title, hint = describe_error(err)
            self.status.value = (
                f'<span class="puter-selector-error {NOT_MATH}" style="{WARN_TONE}">'
                f"⚠ {html.escape(title)}: {html.escape(err.message)}. Next: {html.escape(hint)}</span>"
            )
            return
        self._server_order = loaded  # the automatic choice depends on the server's order
        self.models = sorted(loaded, key=listing_order)
        self.search.options = tuple(m.id for m in self.models)
        self.show_current()

    def current(self) -> ModelInfo | None:
        name = self.default_name()
        return next((m for m in self.models if m.id == name or name in m.aliases), None)

    def default_name(self) -> str:
        """The model %%puter uses now: the chosen default, else the automatic choice."""
        return self._get() or automatic_model(self._server_order).model

    def show_current(self, changed: bool = False, problem: str = "") -> None:
        """Say what the default is now (after *problem*, a complaint about what was typed)."""
        chosen = self._get()
        name = self.default_name() or "(none)"
        self.search.placeholder = f"{name} · type a model id or part of one, then Enter"
        info = self.current()
        details = []
        if not chosen:
            details.append(f"automatic: {automatic_model(self._server_order).why}")
        if info:
            details.append(describe_model(info))
        elif chosen:
            details.append("not in this server's list")
        detail = "; ".join(d for d in details if d)
        lead = "Default model is now" if changed else "Default model:"
        extra = (
            f' <span style="color: var(--jp-ui-font-color2, #6b7280)">({html.escape(detail)})</span>'
            if detail
            else ""
        )
        complaint = (
            f'<span class="puter-selector-problem {NOT_MATH}" style="{WARN_TONE}">'
            f"{html.escape(problem)}</span> "
            if problem
            else ""
        )
        self.status.value = (
            f'{complaint}<span class="puter-selector-current {NOT_MATH}">'
            f"{lead} <b>{html.escape(name)}</b>{extra}; %%puter cells use it unless they say -m.</span>"
        )

    def select(self, model_id: str) -> None:
        """Choose a model as if its id were typed in the field and Enter pressed."""
        if not any(m.id == model_id for m in self.models):
            raise ValueError(f"{model_id!r} is not in the model list")
        self.choose(model_id)

    def choose(self, text: str) -> ModelInfo | None:
        """Set the default to the one model *text* names; else say why not and change nothing."""
        found = match_models(text, self.models)
        if len(found) != 1:
            shown = f"‘{text.strip()}’"
            if not found:
                problem = f"{shown} matches no model on this server."
            else:
                names = ", ".join(m.id for m in found[:5]) + (", …" if len(found) > 5 else "")
                problem = f"{shown} matches {len(found)} models: {names}; type more."
            self.show_current(problem=problem)
            return None
        info = found[0]
        changed = info.id != self._get()
        if changed:
            self._set(info.id)
        self._syncing = True
        try:
            self.search.value = info.id  # the field shows what was picked
        finally:
            self._syncing = False
        self.show_current(changed=changed)
        return info

    def _typed(self, change: dict[str, Any]) -> None:
        if self._syncing or not str(change["new"]).strip():
            return
        self.choose(str(change["new"]))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = self.widget._repr_mimebundle_(include=include, exclude=exclude)
        bundle["text/plain"] = model_table_text(self._server_order, self._get())
        return bundle


def _default_line(models: Sequence[ModelInfo] | None, current: str) -> tuple[str, str]:
    """The model in use (the chosen one, else the automatic one) and how to say it."""
    if current:
        return current, current
    auto = automatic_model(models)
    return auto.model, f"{auto.model} (automatic: {auto.why})"


def listing_order(model: ModelInfo) -> tuple[bool, str]:
    """By id, Puter's test models (``fake``, ``costly``, ``abuse``) last: nobody's first choice."""
    from ..api.models import TEST_MODELS

    return model.id.lower() in TEST_MODELS, model.id


def model_table_text(models: Sequence[ModelInfo] | None, current: str, limit: int | None = None) -> str:
    """The catalogue as a plain-text table (terminal IPython); *models* in the server's order
    (None: it could not be read); at most *limit* rows (None: all)."""
    current, said = _default_line(models, current)
    rows = [("", "model", "provider", "context", "tools", "cost")]
    listed = sorted(models or [], key=listing_order)
    for m in listed[:limit]:
        context = f"{m.context:,}" if m.context else ""
        details = describe_model(m).split(" · ")
        cost = next((part for part in details if "per 1M" in part or part.startswith("cost")), "")
        tools = {True: "yes", False: "no", None: ""}[m.tool_call]
        rows.append(("*" if m.id == current else "", m.id, m.provider or "", context, tools, cost))
    lines = text_table(rows[0], rows[1:])
    if limit is not None and len(listed) > limit:
        lines.append(f"… and {len(listed) - limit:,} more ({_MORE})")
    lines.append(f"\n* default model: {said}; change it with %config PuterMagics.default_model = 'ID'")
    return "\n".join(lines)


_LEFT = ' style="text-align: left"'  # notebook CSS right-aligns table cells; ids read from the left
_MORE = "the model field above searches them all; %puter_models in terminal IPython lists them"


def _when(stamp: float) -> str:
    """``14:02:10`` today, ``2025-01-31 14:02`` another day (local time)."""
    import time

    then = time.localtime(stamp)
    if time.strftime("%Y-%m-%d", then) == time.strftime("%Y-%m-%d"):
        return time.strftime("%H:%M:%S", then)
    return time.strftime("%Y-%m-%d %H:%M", then)


class ModelTable:
    """The catalogue as a table: text for terminals, HTML for notebooks (under the model field,
    and alone where no widget shows: an exported page, a frontend without widgets), with one
    line that says where and when the list was read, and whether that was just now.

    Args:
        read_at: when the list was read (``time.time()``; None: not known).
        fresh: it was read from the server for this output (False: the session's earlier copy).
        problem: reading it again failed: the failure and its next step, in words; the table
            is the earlier copy.
        limit: at most this many rows (None: all).
    """

    NOTEBOOK_ROWS = 100  # a saved notebook holds the table: Puter lists hundreds of models
    OPEN_ROWS = 30  # a table this short is shown open; a longer one folded under its line

    def __init__(
        self,
        models: list[ModelInfo],
        current: str,
        *,
        origin: str = "",
        read_at: float | None = None,
        fresh: bool = True,
        problem: str = "",
        limit: int | None = None,
    ) -> None:
        self.models = models
        self.current = current
        self.origin = origin
        self.read_at = read_at
        self.fresh = fresh
        self.problem = problem
        self.limit = limit

    @classmethod
    def read(cls, session: PuterSession, current: str, *, refresh: bool, raising: bool = False) -> ModelTable:
        """The session's catalogue (read from the server when *refresh* or never read). When
        reading fails and an earlier copy exists, that copy, saying so; else the PuterError.
        *raising* (``raise_errors``: failures raise, for notebooks run as pipelines) raises the
        PuterError even then: a table read earlier must not pass for a read that worked."""
        from ..api.errors import PuterError

        before = session.models_read()
        origin = session.origin or ""
        try:
            models = session.models(refresh=refresh)
        except PuterError as err:
            if before is None or raising:
                raise
            from .failures import describe_error

            title, hint = describe_error(err, origin)
            said = f"{title}: {err.message}".rstrip(".")
            return cls(before[0], current, origin=origin, read_at=before[1], fresh=False,
                       problem=f"{said}. Next: {hint}")  # fmt: skip
        after = session.models_read()
        return cls(models, current, origin=origin, read_at=after[1] if after else None,
                   fresh=before is None or refresh)  # fmt: skip

    def source(self) -> str:
        """Where and when the list was read, in one line."""
        when = f" at {_when(self.read_at)}" if self.read_at else ""
        if self.problem:
            source = f" from {self.origin}" if self.origin else ""
            return (
                f"This list is the one read{source}{when}; reading it again just now failed: " + self.problem
            )
        where = f" by {self.origin}" if self.origin else ""
        count = plural(len(self.models), "model")
        if self.fresh:
            return f"{count} listed{where}{when}."
        again = "read earlier in this session: %puter_models --refresh reads it again"
        return f"{count} listed{where}{when} ({again})."

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        current, _said = _default_line(self.models, self.current)
        listed = sorted(self.models, key=listing_order)
        rows = "".join(
            f"<tr><td>{'★' if m.id == current else ''}</td><td{_LEFT}><code>{html.escape(m.id)}</code></td>"
            f"<td{_LEFT}>{html.escape(describe_model(m))}</td></tr>"
            for m in listed[: self.limit]
        )
        more = ""
        if self.limit is not None and len(listed) > self.limit:
            more = f"<div>… and {len(listed) - self.limit:,} more ({html.escape(_MORE)})</div>"
        head = f"<tr><th></th><th{_LEFT}>model</th><th{_LEFT}>details</th></tr>"
        table = f'<table class="puter-models">{head}{rows}</table>'
        line = html.escape(self.source())
        tone = WARN_TONE if self.problem else MUTED
        line = f'<span style="{tone}">{"⚠ " if self.problem else ""}{line}</span>'
        legend = f" ★ {html.escape(current)}: the default model when this cell ran." if current else ""
        folded = "" if len(listed) > self.OPEN_ROWS else " open"
        return {
            "text/plain": f"{model_table_text(self.models, self.current, self.limit)}\n{self.source()}",
            "text/html": (
                f'<details class="puter-model-table {NOT_MATH}"{folded}><summary>{line}'
                f'<span style="{MUTED}">{legend}</span></summary>{table}{more}</details>'
            ),
        }

    def __repr__(self) -> str:
        return self._repr_mimebundle_()["text/plain"]
