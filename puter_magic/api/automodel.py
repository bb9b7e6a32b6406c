"""Which model to use when nobody chose one: one the server actually lists.

A fixed fallback name is wrong somewhere: a self-hosted Puter without provider keys lists only
its test models and answers anything else with "Model not found". So, in order:

1. Puter's documented default, when the server lists it (by id or alias, any case):
   ``gpt-5-nano`` (what puter.js's ``puter.ai.chat`` uses with no model), then ``gpt-5.4-nano``
   (what the server itself picks when a request names no model).
2. Else the first model the server lists that is not one of Puter's test models.
3. Else Puter's test model ``fake`` (free), then ``costly``, then ``abuse`` (an advert).
4. With no catalogue at all (it could not be read, or it is empty): ``gpt-5-nano``.

Pure: no I/O. :meth:`PuterSession.prepare` feeds it the cached catalogue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .catalogue import ModelInfo

__all__ = ["PUTER_DEFAULT", "PUTER_DEFAULTS", "TEST_MODELS", "AutomaticModel", "automatic_model"]

PUTER_DEFAULTS = ("gpt-5-nano", "gpt-5.4-nano")
PUTER_DEFAULT = PUTER_DEFAULTS[0]
TEST_MODELS = ("fake", "costly", "abuse")  # Puter's fake-chat provider, in order of preference


@dataclass(frozen=True)
class AutomaticModel:
    """The model used when none was chosen, and why it was picked."""

    model: str
    why: str

    def note(self) -> str:
        """The footer line under a reply that used it."""
        return f"no model chosen: using {self.model}, {self.why}; %puter_models to pick"


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
