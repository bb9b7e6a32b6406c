"""--tools as a user meets it: every call the model asks for runs (Puter's stream passes on
only the last of several, so the step is asked whole); a model that cannot call tools says
so and names models that can; %puter_models shows which models call tools."""

from __future__ import annotations

import os
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from puter_magic.sandbox import Sandbox

from ..recorded_puter import STUB, RecordedPuter
from ..shell import magics_of, run

WEATHER = '''
ran = []

def get_weather(city: str) -> dict:
    """Weather for a city."""
    ran.append(city)
    return {"city": city, "temp_c": {"Paris": 18, "Oslo": 7}[city]}
'''


def _plain(outputs: list[dict[str, Any]]) -> str:
    return "\n".join(o.get("text/plain", "") + o.get("stdout", "") for o in outputs)


@pytest.mark.parametrize("rich", [True, False])
def test_two_calls_asked_at_once_both_run_in_a_cell(
    ip: InteractiveShell, recorded_puter: RecordedPuter, rich: bool
) -> None:
    os.environ["PUTER_AUTH_TOKEN"] = "recorded-token"
    run(ip, f"%puter_login --origin {recorded_puter.origin}")
    magics_of(ip).rich_output = rich
    run(ip, WEATHER)
    outputs, result = run(ip, f"%%puter -m {STUB} --tools get_weather\ntwo calls please")
    assert result.success, result.error_in_exec
    assert ip.user_ns["ran"] == ["Paris", "Oslo"]  # Paris was asked too, not only Oslo
    shown = _plain(outputs)
    assert 'get_weather(city="Paris")' in shown and 'get_weather(city="Oslo")' in shown
    assert "Tool result seen" in shown and "tools: 2 calls in 2 requests" in shown


def test_a_model_that_cannot_call_tools_says_so(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    run(signed_in, WEATHER)
    outputs, _ = run(signed_in, "%%puter -m sandbox-tutor --tools get_weather\nWeather in Paris?")
    note = outputs[-1]["text/plain"]
    assert "sandbox-tutor cannot call tools (tool_call: false in %puter_models)" in note
    assert "models that can: sandbox-agent, sandbox-agent-claude" in note
    assert signed_in.user_ns["ran"] == []
    outputs, _ = run(signed_in, "%%puter -m sandbox-agent --tools get_weather\nget_weather city=Paris")
    assert "cannot call tools" not in outputs[-1]["text/plain"] and signed_in.user_ns["ran"] == ["Paris"]


def test_a_catalogue_that_says_nothing_gets_no_note(
    ip: InteractiveShell, recorded_puter: RecordedPuter
) -> None:
    os.environ["PUTER_AUTH_TOKEN"] = "recorded-token"
    run(ip, f"%puter_login --origin {recorded_puter.origin}")
    run(ip, WEATHER)
    outputs, _ = run(ip, "%%puter -m fake --tools get_weather --no-stream\nWhat is the weather in Paris?")
    assert "cannot call tools" not in _plain(outputs)  # the recorded entries have no tool_call


def test_puter_models_shows_tool_call(signed_in: InteractiveShell) -> None:
    magics_of(signed_in).rich_output = False
    outputs, _ = run(signed_in, "%puter_models")
    table = outputs[0]["text/plain"].splitlines()
    head = table[0].split()
    assert head[:5] == ["model", "provider", "context", "tools", "cost"]
    agent = next(line for line in table if line.split()[:1] == ["sandbox-agent"])
    tutor = next(line for line in table if "sandbox-tutor " in line and "lite" not in line)
    assert " yes " in agent and " no " in tutor
    fake = next(line for line in table if line.split()[:1] == ["fake"])
    assert " yes " not in fake and " no " not in fake  # its catalogue entry does not say


def test_the_model_selector_row_says_it_calls_tools(signed_in: InteractiveShell) -> None:
    magics_of(signed_in).default_model = "sandbox-agent"
    run(signed_in, "%puter_models")
    row = magics_of(signed_in).model_selector().status.value
    assert "<b>sandbox-agent</b>" in row and "calls tools" in row
    magics_of(signed_in).default_model = "sandbox-tutor"
    assert "no tools" in magics_of(signed_in).model_selector().status.value
