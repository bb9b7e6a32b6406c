"""The model catalogue, what a server says of its chat models, and which model to use when
nobody chose one: one the server actually lists (pure; no I/O).

A fixed fallback name is wrong somewhere: a self-hosted Puter without provider keys lists only
its test models and answers anything else with "Model not found". So, in order:

1. Puter's documented default, when the server lists it (by id or alias, any case):
   ``gpt-5-nano`` (what puter.js's ``puter.ai.chat`` uses with no model), then ``gpt-5.4-nano``
   (what the server itself picks when a request names no model).
2. Else the first model the server lists that is not one of Puter's test models.
3. Else Puter's test model ``fake`` (free), then ``costly``, then ``abuse`` (an advert).
4. With no catalogue at all (it could not be read, or it is empty): ``gpt-5-nano``.

The notebook's session feeds :func:`automatic_model` its cached catalogue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import Hint, MalformedResponse, ModelNotFound
from .protocol import opt_int, opt_str

__all__ = [
    "PUTER_DEFAULT",
    "PUTER_DEFAULTS",
    "TEST_MODELS",
    "AutomaticModel",
    "ModelInfo",
    "automatic_model",
    "close_models",
    "find_model",
    "suggest_models",
    "tool_callers",
]


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


# -- the model used when none was chosen --------------------------------------------------------

PUTER_DEFAULTS = ("gpt-5-nano", "gpt-5.4-nano")
PUTER_DEFAULT = PUTER_DEFAULTS[0]
TEST_MODELS = ("fake", "costly", "abuse")  # Puter's fake-chat provider, in order of preference


@dataclass(frozen=True)
class AutomaticModel:
    """The model used when none was chosen, and why it was picked."""

    model: str
    why: str  # how it was picked, e.g. "Puter's default" or "the first the server lists"


def _names(model: ModelInfo) -> set[str]:
    return {model.id.strip().lower(), *(a.strip().lower() for a in model.aliases if isinstance(a, str))}


def automatic_model(models: Sequence[ModelInfo] | None) -> AutomaticModel:
    """Choose from *models* (the server's order); None: the catalogue could not be read."""
    if models is None:
        return AutomaticModel(PUTER_DEFAULT, "Puter's default (the server's model list could not be read)")
    for wanted in PUTER_DEFAULTS:
        listed = next((m for m in models if wanted in _names(m)), None)
        if listed is not None:
            return AutomaticModel(listed.id, "Puter's default")
    for model in models:
        if model.id.lower() not in TEST_MODELS:
            return AutomaticModel(model.id, "the first the server lists")
    for test in TEST_MODELS:
        listed = next((m for m in models if m.id.lower() == test), None)
        if listed is not None:
            return AutomaticModel(listed.id, "the server lists only Puter's test models")
    return AutomaticModel(PUTER_DEFAULT, "Puter's default (the server lists no models)")


def close_models(name: str, models: Sequence[ModelInfo], n: int = 3) -> list[str]:
    """The ids of *models* spelled most like *name* (an id or an alias within difflib's 0.75
    similarity, any case), closest first, at most *n*; none for a name that is listed."""
    import difflib

    key = name.strip().lower()
    spelled: dict[str, str] = {}  # a spelling (id or alias, lower case) -> the model's id
    for model in models:
        for spelling in (model.id, *model.aliases):
            if isinstance(spelling, str) and spelling:
                spelled.setdefault(spelling.lower(), model.id)
    if not key or key in spelled:
        return []
    found: list[str] = []
    for spelling in difflib.get_close_matches(key, list(spelled), n=n * 3, cutoff=0.75):
        if spelled[spelling] not in found:
            found.append(spelled[spelling])
    return found[:n]


def suggest_models(err: ModelNotFound, models: Sequence[ModelInfo]) -> ModelNotFound:
    """*err* with :attr:`~.errors.Hint.CLOSE_MODELS` and the ids spelled like the one it did not
    find, when *models* (the server's catalogue) has some; else *err* as it was."""
    name = err.requested
    if err.hint is None and name:
        names = close_models(name, models)
        if names:
            err.hint, err.hint_names = Hint.CLOSE_MODELS, tuple(names)
    return err
