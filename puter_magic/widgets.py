"""The model selector: an ipywidgets row bound to the notebook's default model.

One compact row: a searchable field of model ids with their provider, a refresh button,
and a line that says the current choice with its context size and cost where the server
gives them. Picking a model sets the notebook's default (``PuterMagics.default_model``).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import PuterError
from .words import plural

if TYPE_CHECKING:
    from .client import ModelInfo

__all__ = ["ModelSelector", "describe_model", "model_label"]


def model_label(model: ModelInfo) -> str:
    return f"{model.id} · {model.provider}" if model.provider else model.id


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
        self._by_label: dict[str, ModelInfo] = {}
        self.models: list[ModelInfo] = []
        self.search = w.Combobox(
            placeholder="type to search models",
            ensure_option=True,
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
        self.search.observe(self._picked, names="value")
        self.refresh_button.on_click(lambda _button: self.refresh(force=True))
        self.refresh(force=False)

    # -- state --------------------------------------------------------------------

    def refresh(self, force: bool = True) -> None:
        """Reload the catalogue (from the server when *force*, else from the cache)."""
        try:
            self.models = sorted(self._load(force), key=lambda m: m.id)
        except PuterError as err:
            from .rendering import describe_error

            title, hint = describe_error(err)
            self.status.value = (
                f'<span class="puter-selector-error" style="color: var(--jp-warn-color0, #b45309)">'
                f"⚠ {html.escape(title)}: {html.escape(err.message)}. Next: {html.escape(hint)}</span>"
            )
            return
        self._by_label = {model_label(m): m for m in self.models}
        self.search.options = tuple(self._by_label)
        self.show_current()

    def current(self) -> ModelInfo | None:
        name = self._get()
        return next((m for m in self.models if m.id == name or name in m.aliases), None)

    def show_current(self, changed: bool = False) -> None:
        name = self._get() or "(none)"
        self.search.placeholder = f"{name}: type to search {plural(len(self.models), 'model')}"
        info = self.current()
        detail = describe_model(info) if info else ("not in this server's list" if self._get() else "")
        lead = "Default model is now" if changed else "Default model:"
        extra = (
            f' <span style="color: var(--jp-ui-font-color2, #6b7280)">({html.escape(detail)})</span>'
            if detail
            else ""
        )
        self.status.value = (
            f'<span class="puter-selector-current">{lead} <b>{html.escape(name)}</b>{extra}; '
            f"%%puter cells use it unless they say -m.</span>"
        )

    def select(self, model_id: str) -> None:
        """Choose a model as if picked in the field."""
        info = next((m for m in self.models if m.id == model_id), None)
        if info is None:
            raise ValueError(f"{model_id!r} is not in the model list")
        self.search.value = model_label(info)

    def _picked(self, change: dict[str, Any]) -> None:
        info = self._by_label.get(change["new"])
        if info is None:
            return
        if info.id != self._get():
            self._set(info.id)
            self.show_current(changed=True)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = self.widget._repr_mimebundle_(include=include, exclude=exclude)
        bundle["text/plain"] = model_table_text(self.models, self._get())
        return bundle


def model_table_text(models: list[ModelInfo], current: str) -> str:
    """The catalogue as a plain-text table (terminal IPython)."""
    rows = [("", "model", "provider", "context", "cost")]
    for m in sorted(models, key=lambda m: m.id):
        context = f"{m.context:,}" if m.context else ""
        cost = (
            describe_model(m).split(" · ")[-1]
            if ("per 1M" in describe_model(m) or "cost" in describe_model(m))
            else ""
        )
        rows.append(("*" if m.id == current else "", m.id, m.provider or "", context, cost))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(
        f"\n* default model: {current or '(none)'}; change it with %config PuterMagics.default_model = 'ID'"
    )
    return "\n".join(lines)


class ModelTable:
    """The catalogue as a table: text for terminals, HTML for notebooks."""

    def __init__(self, models: list[ModelInfo], current: str) -> None:
        self.models = models
        self.current = current

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        rows = "".join(
            f"<tr><td>{'★' if m.id == self.current else ''}</td><td><code>{html.escape(m.id)}</code></td>"
            f"<td>{html.escape(describe_model(m))}</td></tr>"
            for m in sorted(self.models, key=lambda m: m.id)
        )
        table = f'<table class="puter-models"><tr><th></th><th>model</th><th>details</th></tr>{rows}</table>'
        return {"text/plain": model_table_text(self.models, self.current), "text/html": table}

    def __repr__(self) -> str:
        return model_table_text(self.models, self.current)
