"""Models side by side: bounded concurrency, live columns, one failing model, --keep."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from puter_magic.sandbox import Sandbox

from ..shell import magics_of, run


@pytest.fixture
def slow_sandbox(ip: InteractiveShell) -> Sandbox:
    run(ip, "%puter_login --sandbox")
    sandbox = magics_of(ip).session.sandbox
    sandbox.think_time = 0.4  # every reply starts after 0.4 s, so overlaps are measurable
    sandbox.pace = 0.0
    return sandbox


def max_in_flight(sandbox: Sandbox) -> int:
    calls = sandbox.calls("complete")
    events = sorted([(c.started, 1) for c in calls] + [(c.finished or c.started, -1) for c in calls])
    level = peak = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    return peak


def test_columns_and_default_concurrency(ip: InteractiveShell, slow_sandbox: Sandbox) -> None:
    models = "sandbox-tutor,sandbox-tutor-lite,fake,costly,sandbox-echo"
    outputs, _ = run(ip, f"%%puter --compare {models}\nCompare yourselves")
    view = outputs[0]
    assert view["text/html"].count('class="puter-compare-column"') == 5
    assert "grid-template-columns: repeat(5, minmax(0, 1fr))" in view["text/html"]
    plain = view["text/plain"]
    for model in models.split(","):
        assert f"=== {model} ===" in plain
    assert plain.index("=== sandbox-tutor ===") < plain.index(
        "=== sandbox-tutor-lite ==="
    )  # stacked in order
    assert "### Turn 1 · Sandbox Tutor" in plain and "Compare yourselves" in plain
    assert "no reply was kept" in plain
    assert max_in_flight(slow_sandbox) == 3  # the default bound, and really concurrent
    assert magics_of(ip).session.conversations.get().exchanges == []
    assert {c.args["model"] for c in slow_sandbox.calls("complete")} == set(models.split(","))


def test_concurrency_trait(ip: InteractiveShell, slow_sandbox: Sandbox) -> None:
    ip.run_line_magic("config", "PuterMagics.compare_concurrency = 2")
    run(ip, "%%puter --compare sandbox-tutor,sandbox-tutor-lite,fake,costly\nHi")
    assert max_in_flight(slow_sandbox) == 2


def test_one_model_failing_shows_its_own_warning(ip: InteractiveShell, slow_sandbox: Sandbox) -> None:
    outputs, _ = run(ip, "%%puter --compare sandbox-tutor,no-such-model --keep sandbox-tutor\nHi")
    html = outputs[0]["text/html"]
    assert html.count("puter-warning") == 1 and "Model not found" in html
    assert "### Turn 1" in outputs[0]["text/plain"] and "Turn 1 · Sandbox Tutor</h" in html  # its reply
    exchanges = magics_of(ip).session.conversations.get().exchanges
    assert [(e.user, e.model) for e in exchanges] == [("Hi", "sandbox-tutor")]
    assert "kept sandbox-tutor's reply" in outputs[0]["text/plain"]


def test_compare_streams_live(ip: InteractiveShell, slow_sandbox: Sandbox) -> None:
    from IPython.utils.capture import capture_output

    slow_sandbox.think_time = 0.0
    slow_sandbox.pace = 0.01
    with capture_output() as captured:
        ip.run_cell("%%puter --compare sandbox-tutor,sandbox-tutor-lite\nStream please")
    updates = [o for o in captured._outputs if o.get("update")]
    assert len(updates) >= 3
    partial = [u for u in updates if "▍" in u["data"]["text/html"]]
    assert partial, "no column was shown while it streamed"


def test_compare_usage_errors(ip: InteractiveShell, slow_sandbox: Sandbox) -> None:
    with pytest.raises(UsageError, match="at least two"):
        ip.run_cell_magic("puter", "--compare sandbox-tutor", "x")
    with pytest.raises(UsageError, match="not one of"):
        ip.run_cell_magic("puter", "--compare sandbox-tutor,fake --keep costly", "x")
    with pytest.raises(UsageError, match="goes with --compare"):
        ip.run_cell_magic("puter", "--keep fake", "x")


def test_compare_first_output_shows_every_column_waiting(ip: InteractiveShell) -> None:
    from IPython.utils.capture import capture_output

    from ..shell import magics_of

    ip.run_line_magic("puter_login", "--sandbox")
    magics_of(ip).session.sandbox.think_time = 0.3
    ip.run_line_magic("config", "PuterMagics.compare_concurrency = 2")
    with capture_output() as captured:
        ip.run_cell("%%puter --compare sandbox-tutor,sandbox-tutor-lite,fake\nHi")
    first = captured._outputs[0]
    assert not first.get("update")
    html, plain = first["data"]["text/html"], first["data"]["text/plain"]
    assert html.count('class="puter-compare-column"') == 3
    for model in ("sandbox-tutor", "sandbox-tutor-lite", "fake"):
        assert f"=== {model} ===" in plain
    assert plain.count("(thinking…)") == 2 and plain.count("(waiting…)") == 1  # two slots, one waits
    assert html.count("thinking… 0.0 s") == 2 and "waiting for a free slot…" in html
