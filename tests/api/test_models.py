"""The model catalogue and the model used when none is chosen: one the server lists, in plain
Python (:mod:`puter_magic.api.models`)."""

from __future__ import annotations

import pytest

from puter_magic.api.models import PUTER_DEFAULT, ModelInfo, automatic_model
from puter_magic.api.protocol import result_from_json

from ..conftest import load_transcript


def _recorded(name: str) -> list[ModelInfo]:
    body = load_transcript(name)["response"]["body"].encode()
    return [ModelInfo.from_any(m) for m in result_from_json(body)]


def _models(*ids: str, aliases: dict[str, list[str]] | None = None) -> list[ModelInfo]:
    return [ModelInfo(id=i, aliases=(aliases or {}).get(i, [])) for i in ids]


@pytest.mark.parametrize("name", ["models.json", "list.json"])
def test_recorded_self_hosted_catalogue_gets_fake(name: str) -> None:
    choice = automatic_model(_recorded(name))  # abuse, costly, fake: the server's order
    assert choice.model == "fake"
    assert choice.why == "the server lists only Puter's test models"


def test_puters_documented_default_when_listed() -> None:
    # puter.js's default comes before the server's, whatever order the server lists them in
    assert automatic_model(_models("gpt-5.4-nano", "gpt-5-nano")).model == "gpt-5-nano"
    listed = _models("claude-haiku-4-5", "gpt-4o-mini", "gpt-5-nano", "fake")
    choice = automatic_model(listed)
    assert (choice.model, choice.why) == ("gpt-5-nano", "Puter's default")
    # the server's own default (with no model at all) when puter.js's is not listed
    assert automatic_model(_models("zeta", "gpt-5.4-nano")).model == "gpt-5.4-nano"
    # listed under an alias: the id the server lists is what is sent
    aliased = _models("openai/gpt-5-nano-2025", aliases={"openai/gpt-5-nano-2025": ["GPT-5-Nano"]})
    assert automatic_model(aliased).model == "openai/gpt-5-nano-2025"


def test_otherwise_the_first_model_the_server_lists_that_is_not_a_test_model() -> None:
    choice = automatic_model(_models("abuse", "costly", "tutor-b", "alpha", "fake"))
    assert (choice.model, choice.why) == ("tutor-b", "the first the server lists")
    assert automatic_model(_models("abuse", "costly")).model == "costly"
    assert automatic_model(_models("abuse")).model == "abuse"


def test_unreadable_or_empty_catalogue_falls_back_to_the_documented_default() -> None:
    assert automatic_model(None).model == PUTER_DEFAULT
    assert "could not be read" in automatic_model(None).why
    assert automatic_model([]).model == PUTER_DEFAULT


def test_close_models_offers_listed_spellings_as_data() -> None:
    from puter_magic.api.errors import Hint, ModelNotFound
    from puter_magic.api.models import close_models, suggest_models

    models = [ModelInfo.from_any(m) for m in ("gpt-5-nano", "gpt-5-mini", "claude-sonnet-4")]
    models.append(ModelInfo.from_any({"id": "openrouter:x/long-name", "aliases": ["sonnet"]}))
    assert close_models("gpt-5-nan", models) == ["gpt-5-nano"]
    assert close_models("sonet", models) == ["openrouter:x/long-name"]  # an alias names its model
    assert close_models("GPT-5-NANO", models) == []  # listed: nothing to suggest
    assert close_models("llama", models) == []
    err = suggest_models(ModelNotFound("Model not found: claude-sonet-4", status=400), models)
    assert (err.hint, err.hint_names) == (Hint.CLOSE_MODELS, ("claude-sonnet-4",))
    untouched = suggest_models(ModelNotFound("Model not found: undefined", status=400), models)
    assert (untouched.hint, untouched.hint_names) == (None, ())
