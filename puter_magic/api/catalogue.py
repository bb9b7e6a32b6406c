"""The model catalogue: what a server says about its chat models (pure; no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import MalformedResponse
from .protocol import opt_int, opt_str

__all__ = ["ModelInfo", "find_model", "tool_callers"]


@dataclass
class ModelInfo:
    """One entry of the model catalogue; fields the server did not give are None."""

    id: str
    provider: str | None = None
    name: str | None = None
    aliases: list[str] = field(default_factory=list)
    context: int | None = None
    max_tokens: int | None = None
    costs: dict[str, Any] = field(default_factory=dict)
    costs_currency: str | None = None
    tool_call: bool | None = None  # the catalogue's ``tool_call``: it calls tools (None: not said)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_any(cls, item: Any) -> ModelInfo:
        if isinstance(item, str):
            return cls(id=item, raw={"id": item})
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise MalformedResponse("a model entry has no id")

        aliases = item.get("aliases")
        costs = item.get("costs")
        return cls(
            id=item["id"],
            provider=opt_str(item.get("provider")),
            name=opt_str(item.get("name")),
            aliases=[a for a in aliases if isinstance(a, str)] if isinstance(aliases, list) else [],
            context=opt_int(item.get("context")) or opt_int(item.get("context_window")),
            max_tokens=opt_int(item.get("max_tokens")),
            costs=dict(costs) if isinstance(costs, dict) else {},
            costs_currency=opt_str(item.get("costs_currency")),
            tool_call=item["tool_call"] if isinstance(item.get("tool_call"), bool) else None,
            raw=dict(item),
        )


def find_model(models: Sequence[ModelInfo], name: str) -> ModelInfo | None:
    """The entry a request for *name* reaches: its id or an alias, trimmed and in any case
    (as Puter routes a model name)."""
    key = name.strip().lower()
    for model in models:
        if key == model.id.lower() or key in (a.lower() for a in model.aliases):
            return model
    return None


def tool_callers(models: Sequence[ModelInfo]) -> list[ModelInfo]:
    """The models whose catalogue entry says they call tools (``tool_call: true``)."""
    return [m for m in models if m.tool_call is True]
