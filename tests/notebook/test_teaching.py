"""Explain the last error, describe variables, the usage meter and the budget."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from puter_magic.notebook.prompt import describe_value

from ..shell import magics_of, run


@pytest.fixture
def tutor(ip: InteractiveShell) -> InteractiveShell:
    run(ip, "%puter_login --sandbox")
    return ip


def sent(ip: InteractiveShell) -> str:
    return str(magics_of(ip).session.sandbox.calls("complete")[-1].args["messages"][-1]["content"])


def test_explain_without_an_error_says_so(tutor: InteractiveShell) -> None:
    import sys

    for name in ("last_exc", "last_value", "last_type", "last_traceback"):
        if hasattr(sys, name):
            delattr(sys, name)
    outputs, _ = run(tutor, "%puter_explain")
    assert "No error to explain yet" in outputs[0]["text/plain"]
    assert magics_of(tutor).session.sandbox.calls("complete") == []


def test_explain_sends_the_error_and_its_cell_only(tutor: InteractiveShell) -> None:
    tutor.user_ns["secret_data"] = "DO-NOT-SEND"
    tutor.run_cell("numbers = [1, 2, 3]\ntotal = sum(numbers)\nprint(numbers[10])", store_history=True)
    outputs, _ = run(tutor, "%puter_explain")
    prompt = sent(tutor)
    assert "IndexError: list index out of range" in prompt
    assert "print(numbers[10])" in prompt and "numbers = [1, 2, 3]" in prompt  # the cell's code
    assert "Traceback" in prompt and "suggest a fix" in prompt
    assert "DO-NOT-SEND" not in prompt and "interactiveshell.py" not in prompt
    assert "explained: IndexError" in outputs[0]["text/plain"]
    assert len(magics_of(tutor).session.conversations.get().exchanges) == 1  # in the conversation


def test_context_describes_only_the_named_variables(tutor: InteractiveShell) -> None:
    tutor.run_cell("scores = list(range(1000))\ndef area(r):\n    return 3.14 * r * r\nhidden = 'NOPE'")
    run(tutor, "%%puter -m sandbox-echo --context scores,area\nWhat do these do?")
    prompt = sent(tutor)
    assert prompt.startswith("What do these do?") and "scores: list" in prompt and "length: 1,000" in prompt
    assert "first items: 0, 1, 2, 3, 4, …" in prompt and "def area(r):" in prompt
    assert "NOPE" not in prompt and "999" not in prompt
    with pytest.raises(UsageError, match="no variable named nope"):
        tutor.run_cell_magic("puter", "--context scores,nope", "x")


def test_describe_value_caps_size_and_reads_tables() -> None:
    class Frame:  # a DataFrame-like object, without needing pandas
        shape = (10_000, 2)

        @property
        def dtypes(self) -> dict[str, str]:
            return {"name": "object", "age": "int64"}

        def head(self, n: int) -> Frame:
            return self

        def to_string(self) -> str:
            return "   name  age\n0  Ada   36"

    text = describe_value("df", Frame())
    assert "shape: (10000, 2)" in text and "dtypes: name=object, age=int64" in text and "Ada" in text
    assert len(describe_value("big", "x" * 100_000)) <= 1500
    assert "length: 3" in describe_value("d", {"a": 1, "b": 2, "c": 3})


def test_usage_meter_and_budget(tutor: InteractiveShell) -> None:
    magics = magics_of(tutor)
    run(tutor, "%%puter\nOne")
    run(tutor, "%%puter -m sandbox-tutor-lite\nTwo")
    run(tutor, "%%puter -m fake\nThree")
    outputs, _ = run(tutor, "%puter_usage")
    table = outputs[0]["text/plain"]
    assert "sandbox-tutor " in table and "sandbox-tutor-lite" in table and "fake" in table
    assert "not reported" in table  # fake reports no cost: none is shown
    spent = magics.session.meter.spent_cents
    assert spent > 0
    tutor.run_line_magic("config", f"PuterMagics.budget_usd_cents = {spent / 2}")
    before = len(magics.session.sandbox.calls("complete"))
    outputs, _ = run(tutor, "%%puter\nFour")
    assert "Budget reached" in outputs[0]["text/html"] and "budget_usd_cents" in outputs[0]["text/plain"]
    assert len(magics.session.sandbox.calls("complete")) == before  # nothing was sent
    tutor.run_line_magic("config", f"PuterMagics.budget_usd_cents = {spent * 10}")
    outputs, _ = run(tutor, "%%puter\nFour")
    assert "### Turn" in outputs[0]["text/markdown"]
    outputs, _ = run(tutor, "%puter_usage")
    assert "Budget:" in outputs[1]["text/plain"]
    run(tutor, "%puter_usage --reset")
    outputs, _ = run(tutor, "%puter_usage")
    assert "No Puter usage yet" in outputs[0]["text/plain"]


def _explained(ip: InteractiveShell) -> str:
    from ..shell import magics_of

    return str(magics_of(ip).session.sandbox.calls("complete")[-1].args["messages"][-1]["content"])


def test_explain_names_cells_as_the_notebook_does(ip: InteractiveShell) -> None:
    import sys

    ip.run_line_magic("puter_login", "--sandbox")
    ip.run_cell("def helper(xs):\n    return xs[10]\n", store_history=True)
    first = ip.execution_count - 1
    ip.run_cell("numbers = [1, 2, 3]\nhelper(numbers)", store_history=True)
    ip.run_line_magic("puter_explain", "-m sandbox-echo")
    prompt = _explained(ip)
    assert f"Cell In[{first + 1}], line 2, in <module>\n    helper(numbers)" in prompt
    assert f"Cell In[{first}], line 2, in helper\n    return xs[10]" in prompt
    assert "ipython-input" not in prompt and "File " not in prompt
    ip.run_cell('import json\njson.loads("{")', store_history=True)
    ip.run_line_magic("puter_explain", "-m sandbox-echo")
    prompt = _explained(ip)
    assert 'File "json/decoder.py", line' in prompt  # a library frame, by its module path
    assert sys.base_prefix not in prompt and sys.prefix not in prompt


def test_explain_a_syntax_error_names_the_cell(ip: InteractiveShell) -> None:
    ip.run_line_magic("puter_login", "--sandbox")
    ip.run_cell("x = (1,\nprint(x", store_history=True)
    cell = ip.execution_count - 1
    ip.run_line_magic("puter_explain", "-m sandbox-echo")
    prompt = _explained(ip)
    assert "SyntaxError" in prompt and f"Cell In[{cell}]" in prompt
    assert "ipython-input" not in prompt and "interactiveshell.py" not in prompt
