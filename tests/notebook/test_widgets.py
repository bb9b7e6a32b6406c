"""The model selector: built without a kernel, its synced state checked like ipywidgets' own tests."""

from __future__ import annotations

import json
import re

import pytest
from IPython.core.interactiveshell import InteractiveShell

import puter_magic
from puter_magic.api.errors import ServerError
from puter_magic.api.models import ModelInfo
from puter_magic.notebook.widgets import ModelSelector, describe_model, match_models
from puter_magic.sandbox import Fault, Sandbox

from ..shell import magics_of, run


@pytest.fixture
def on_sandbox(ip: InteractiveShell, sandbox: Sandbox) -> InteractiveShell:
    run(ip, "%puter_login --sandbox")
    return ip


def test_selector_lists_models_with_providers_and_binds_the_default(on_sandbox: InteractiveShell) -> None:
    magics = magics_of(on_sandbox)
    selector = magics.model_selector()
    options = selector.search.get_state("options")["options"]
    assert "sandbox-tutor" in options and "fake" in options  # ids: a datalist offers values only
    assert "Default model:" in selector.status.value and "32k context" in selector.status.value
    selector.search.value = "sandbox-tutor-lite"  # what Enter after typing or picking the id sends
    assert magics.default_model == "sandbox-tutor-lite"
    assert "Default model is now" in selector.status.value
    sandbox = magics.session.sandbox
    run(on_sandbox, "%%puter\nWhich model answers?")
    assert sandbox.calls("complete")[-1].args["model"] == "sandbox-tutor-lite"
    run(on_sandbox, "%%puter -m sandbox-echo\nstill -m wins")
    assert sandbox.calls("complete")[-1].args["model"] == "sandbox-echo"
    on_sandbox.run_line_magic("config", "PuterMagics.default_model = 'fake'")
    assert "<b>fake</b>" in selector.status.value  # bound both ways


def test_refresh_reloads_and_failures_show_in_the_row(on_sandbox: InteractiveShell) -> None:
    magics = magics_of(on_sandbox)
    selector = magics.model_selector()
    sandbox = magics.session.sandbox
    before = len(sandbox.calls("models"))
    selector.refresh_button.click()
    assert len(sandbox.calls("models")) == before + 1
    sandbox.inject(Fault.html_page(502))
    selector.refresh_button.click()
    assert "Puter error" in selector.status.value and "puter-selector-error" in selector.status.value


def test_catalogue_is_cached_per_origin(on_sandbox: InteractiveShell) -> None:
    magics = magics_of(on_sandbox)
    sandbox = magics.session.sandbox
    run(on_sandbox, "%puter_models")
    run(on_sandbox, "%puter_models")
    assert len(sandbox.calls("models")) == 1
    run(on_sandbox, "%puter_models --refresh")
    assert len(sandbox.calls("models")) == 2


def test_magic_shows_widget_in_notebooks_and_table_in_terminals(on_sandbox: InteractiveShell) -> None:
    outputs, _ = run(on_sandbox, "%puter_models")
    assert "application/vnd.jupyter.widget-view+json" in outputs[0]
    magics_of(on_sandbox).rich_output = False
    outputs, _ = run(on_sandbox, "%puter_models")
    table = outputs[0]["text/plain"]
    # Columns are as wide as their longest entry (the catalogue's longest id sets the first).
    row = next(line for line in table.splitlines() if "sandbox-tutor-lite " in line)
    header = table.splitlines()[0]
    assert row.split() == ["sandbox-tutor-lite", "sandbox-openai", "16,000", *row.split()[3:]]
    assert (
        row.index("sandbox-openai") == header.index("provider") and "* default model: sandbox-tutor" in table
    )


def test_a_notebook_gets_the_table_beside_the_picker(on_sandbox: InteractiveShell) -> None:
    """An exported page (nbconvert prefers the widget view, whose script needs the network) or a
    frontend without widgets still shows something: the table, a normal HTML and text output."""
    outputs, _ = run(on_sandbox, "%puter_models")
    picker, table = outputs
    assert "application/vnd.jupyter.widget-view+json" in picker
    assert "application/vnd.jupyter.widget-view+json" not in table
    assert (
        '<table class="puter-models">' in table["text/html"]
        and "<code>sandbox-tutor</code>" in table["text/html"]
    )
    assert "<details" in table["text/html"] and " open>" in table["text/html"]  # 12 models: shown open
    assert "★ sandbox-tutor: the default model when this cell ran." in table["text/html"]
    assert "* default model: sandbox-tutor" in table["text/plain"]
    assert re.search(r"12 models listed by http://127\.0\.0\.1:\d+ at \d\d:\d\d:\d\d\.", table["text/plain"])


def test_an_earlier_copy_says_so_and_a_failed_reread_says_why(on_sandbox: InteractiveShell) -> None:
    magics = magics_of(on_sandbox)
    magics.rich_output = False
    first = run(on_sandbox, "%puter_models")[0][0]["text/plain"]
    assert first.splitlines()[-1].startswith("12 models listed by") and "earlier" not in first
    again = run(on_sandbox, "%puter_models")[0][0]["text/plain"]
    assert again.splitlines()[-1].endswith(
        "(read earlier in this session: %puter_models --refresh reads it again)."
    )
    assert magics.session.sandbox is not None
    magics.session.sandbox.stop()  # the server went away
    outputs, result = run(on_sandbox, "%puter_models --refresh")
    assert result.success and len(outputs) == 1
    [table] = outputs
    last = table["text/plain"].splitlines()[-1]
    assert re.match(r"This list is the one read from http://127\.0\.0\.1:\d+ at \d\d:\d\d:\d\d; "
                    r"reading it again just now failed: Network error: ", last), last  # fmt: skip
    assert "Next: check your connection" in last and "sandbox-tutor-lite" in table["text/plain"]
    assert "⚠ This list is the one read from" in table["text/html"]


def test_a_failed_reread_raises_under_raise_errors_even_with_an_earlier_copy(
    on_sandbox: InteractiveShell,
) -> None:
    """raise_errors makes Puter failures raise (a notebook run as a pipeline): an earlier copy
    of the list must not turn a failed --refresh into a table that reads as success."""
    from puter_magic.api.errors import PuterError

    magics = magics_of(on_sandbox)
    magics.rich_output = False
    run(on_sandbox, "%puter_models")
    assert magics.session.sandbox is not None
    magics.session.sandbox.stop()
    magics.raise_errors = True
    outputs, result = run(on_sandbox, "%puter_models --refresh")
    assert isinstance(result.error_in_exec, PuterError), result.error_in_exec
    assert [o for o in outputs if o.get("text/plain")] == []  # no table passing for a good read
    outputs, result = run(on_sandbox, "%puter_models")  # not asked to read again: the copy, no error
    assert result.success and "read earlier in this session" in outputs[0]["text/plain"]


def test_models_failure_is_a_warning(ip: InteractiveShell) -> None:
    outputs, _ = run(ip, "%puter_models")
    assert "Not signed in" in outputs[0]["text/html"]


def test_model_selector_from_python(on_sandbox: InteractiveShell) -> None:
    selector = puter_magic.model_selector()
    assert "sandbox-tutor" in selector.search.options


def test_self_hosted_catalogue_with_fewer_fields() -> None:
    entries = json.loads(
        '[{"id":"costly","aliases":[],"costs_currency":"usd-cents","costs":{"input-tokens":1000,'
        '"output-tokens":2000},"max_tokens":8192,"provider":"fake-chat"}]'
    )
    models = [ModelInfo.from_any(e) for e in entries] + [ModelInfo.from_any("bare-id")]
    current = ["bare-id"]
    selector = ModelSelector(lambda refresh: models, lambda: current[0], lambda v: current.__setitem__(0, v))
    assert selector.search.options == ("bare-id", "costly")
    assert describe_model(models[0]) == "fake-chat · cost in 1000 / out 2000 (usd-cents)"
    selector.select("costly")
    assert current == ["costly"]
    with pytest.raises(ValueError):
        selector.select("nope")


def test_error_before_any_catalogue() -> None:
    def fail(refresh: bool) -> list[ModelInfo]:
        raise ServerError("down", status=503)

    selector = ModelSelector(fail, lambda: "x", lambda v: None)
    assert "down" in selector.status.value and selector.search.options == ()


def _row(selector: ModelSelector) -> str:
    return re.sub(r"<[^>]+>", "", selector.status.value)


def test_typed_text_picks_one_model_or_says_why_not(on_sandbox: InteractiveShell) -> None:
    magics = magics_of(on_sandbox)
    selector = magics.model_selector()
    assert selector.search.continuous_update is False and selector.search.ensure_option is False
    selector.search.value = "TUTOR-LITE"  # an alias, any case
    assert magics.default_model == "sandbox-tutor-lite" and selector.search.value == "sandbox-tutor-lite"
    assert "Default model is now sandbox-tutor-lite" in _row(selector)
    selector.search.value = "ech"  # a part that names one model
    assert magics.default_model == "sandbox-echo" and selector.search.value == "sandbox-echo"
    selector.search.value = "sandbox-t"
    assert magics.default_model == "sandbox-echo" and selector.search.value == "sandbox-t"
    assert (
        "‘sandbox-t’ matches 3 models: sandbox-thinker, sandbox-tutor, sandbox-tutor-lite; type more."
        in _row(selector)
    )
    assert "Default model: sandbox-echo" in _row(selector)
    selector.search.value = "gpt-4o-mini"
    assert "‘gpt-4o-mini’ matches no model on this server." in _row(selector)
    assert magics.default_model == "sandbox-echo" and "Default model: sandbox-echo" in _row(selector)
    selector.search.value = "  "
    assert magics.default_model == "sandbox-echo"
    selector.search.value = "sandbox-echo"  # the current one again: the complaint goes
    assert _row(selector).startswith("Default model: sandbox-echo")


def test_match_models() -> None:
    models = [ModelInfo("alpha-1", aliases=["a1"], name="Alpha One"), ModelInfo("alpha-12")]
    models.append(ModelInfo("beta"))
    assert [m.id for m in match_models("ALPHA-1", models)] == ["alpha-1"]  # exact beats a part
    assert [m.id for m in match_models("alpha one", models)] == ["alpha-1"]
    assert [m.id for m in match_models("12", models)] == ["alpha-12"]
    assert [m.id for m in match_models("alpha", models)] == ["alpha-1", "alpha-12"]
    assert match_models("", models) == [] and match_models("zeta", models) == []
