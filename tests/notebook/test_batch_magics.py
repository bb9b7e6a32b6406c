"""%%puter --each NAME: lists, Series and DataFrames from a cell, within Puter's limits."""

from __future__ import annotations

import _thread
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from puter_magic import RateLimited, UsageLimited
from puter_magic.sandbox import Fault, Sandbox

from ..htmlcheck import live_markup
from ..shell import magics_of, run


@pytest.fixture
def shell_on(ip: InteractiveShell) -> Iterator[Any]:
    """Sign *ip* in to a sandbox of the test's choosing."""
    started: list[Sandbox] = []

    def sign_in(sandbox: Sandbox | None = None, **options: Any) -> Sandbox:
        if sandbox is None:
            sandbox = Sandbox(**options).start()
            started.append(sandbox)
        os.environ["PUTER_AUTH_TOKEN"] = sandbox.token
        _, result = run(ip, f"%puter_login --origin {sandbox.origin}")
        assert result.success, result.error_in_exec
        magics = magics_of(ip)
        magics.default_model = "sandbox-echo"
        # The account's own limits are the default (tests/notebook/test_batch_tiers.py); tests
        # that are not about them go faster.
        assert (magics.batch_concurrency, magics.batch_rate, magics.batch_window) == (None, None, 10.0)
        magics.batch_rate = 10_000
        sandbox.clear()
        return sandbox

    yield sign_in
    for sandbox in started:
        sandbox.stop()


def summary_of(outputs: list[dict[str, Any]]) -> dict[str, Any]:
    views = [o for o in outputs if "text/html" in o and "puter-batch" in o["text/html"]]
    assert len(views) == 1, outputs
    return views[0]


def asked(sandbox: Sandbox) -> list[str]:
    return [call.args["messages"][-1]["content"] for call in sandbox.calls("complete")]


# -- lists, Series, DataFrames ------------------------------------------------------------


def test_a_list_from_a_cell(ip: InteractiveShell, shell_on: Any, sandbox: Sandbox) -> None:
    shell_on(sandbox)
    ip.user_ns["words"] = ["apple", "banana", "cherry"]
    outputs, result = run(ip, "%%puter --each words --out said\nSay {item} in French.", cell_id="c1")
    assert result.success, result.error_in_exec
    assert ip.user_ns["said"] == [f"Say {w} in French." for w in ("apple", "banana", "cherry")]
    assert ip.user_ns["said"].errors == {}
    assert sorted(asked(sandbox)) == sorted(ip.user_ns["said"])
    plain = summary_of(outputs)["text/plain"]
    assert "3 prompts to sandbox-echo: 3 answered" in plain and "Results in said" in plain
    assert magics_of(ip).session.conversations.get().exchanges == []  # one-shot: nothing recorded


def test_the_preview_reads_as_text_and_the_results_keep_the_markdown(
    ip: InteractiveShell, shell_on: Any, sandbox: Sandbox
) -> None:
    """sandbox-tutor-lite answers ``**Sandbox Tutor Lite**, turn 1: you asked`` then a quote: the
    preview column shows it without the marks, on one line; the results hold the reply as sent."""
    shell_on(sandbox)
    ip.user_ns["reviews"] = ["Loved it", "Broke after a day"]
    outputs, result = run(ip, "%%puter --each reviews --out labels -m sandbox-tutor-lite\nLabel: {item}")
    assert result.success, result.error_in_exec
    assert all(reply.startswith("**Sandbox Tutor Lite**, turn 1") for reply in ip.user_ns["labels"])
    view = summary_of(outputs)
    previews = [line for line in view["text/plain"].splitlines() if "→" in line]
    assert len(previews) == 2 and all("→ Sandbox Tutor Lite, turn 1: you asked Label:" in p for p in previews)
    assert "**" not in view["text/plain"] and "**" not in view["text/html"]
    assert (
        '<td style="text-align: left">Sandbox Tutor Lite, turn 1: you asked Label: Loved it'
        in view["text/html"]
    )


def test_a_series_keeps_its_index(ip: InteractiveShell, shell_on: Any, sandbox: Sandbox) -> None:
    shell_on(sandbox)
    ip.user_ns["reviews"] = pd.Series(["great", "awful", None], index=["r1", "r7", "r9"])
    _, result = run(ip, "%%puter --each reviews --out labels\nLabel: {item}")
    assert result.success, result.error_in_exec
    labels = ip.user_ns["labels"]
    assert isinstance(labels, pd.Series)
    assert list(labels.index) == ["r1", "r7", "r9"]
    assert labels.tolist() == ["Label: great", "Label: awful", "Label: "]  # a missing value is empty
    assert labels.attrs["errors"] == {}


def test_a_dataframe_one_prompt_per_row(ip: InteractiveShell, shell_on: Any, sandbox: Sandbox) -> None:
    shell_on(sandbox)
    ip.user_ns["df"] = pd.DataFrame(
        {"title": ["Dune", "Emma"], "year": [1965, 1815]}, index=pd.Index([10, 20], name="id")
    )
    ip.user_ns["tone"] = "cheerful"
    ip.user_ns["title"] = "NOT THE COLUMN"
    cell = "%%puter --each df --out blurbs -t 0.2\nA {tone} blurb for {title} ({year}); code: `{title}`"
    _, result = run(ip, cell)
    assert result.success, result.error_in_exec
    blurbs = ip.user_ns["blurbs"]
    assert list(blurbs.index) == [10, 20] and blurbs.index.name == "id"
    # notebook variables first, then the row's columns, which win over variables of the same name
    assert blurbs[10] == "A cheerful blurb for Dune (1965); code: `Dune`"
    assert blurbs[20] == "A cheerful blurb for Emma (1815); code: `Emma`"
    assert all(call.args.get("temperature") == 0.2 for call in sandbox.calls("complete"))


def test_data_never_pulls_in_a_notebook_variable(
    ip: InteractiveShell, shell_on: Any, sandbox: Sandbox
) -> None:
    shell_on(sandbox)
    ip.user_ns["secret"] = "s3cr3t"
    ip.user_ns["notes"] = ["mentions {secret} in its text"]
    _, result = run(ip, "%%puter --each notes --out echoed\nRepeat: {item}")
    assert result.success, result.error_in_exec
    assert ip.user_ns["echoed"] == ["Repeat: mentions {secret} in its text"]
    assert all("s3cr3t" not in text for text in asked(sandbox))


def test_system_prompt_and_model_options(ip: InteractiveShell, shell_on: Any, sandbox: Sandbox) -> None:
    shell_on(sandbox)
    ip.user_ns["xs"] = ("one", "two")
    cell = '%%puter --each xs -m sandbox-tutor-lite -s "Be terse." --max-tokens 50\nAbout {item}'
    _, result = run(ip, cell)
    assert result.success, result.error_in_exec
    for call in sandbox.calls("complete"):
        assert call.args["model"] == "sandbox-tutor-lite" and call.args["max_tokens"] == 50
        assert [m["role"] for m in call.args["messages"]] == ["system", "user"]
    assert magics_of(ip).session.conversations.get().system is None  # -s did not stick to a thread


# -- failures, limits, credit ---------------------------------------------------------------


def test_a_failed_item_is_none_with_its_error(ip: InteractiveShell, shell_on: Any, sandbox: Sandbox) -> None:
    shell_on(sandbox)
    sandbox.inject(Fault.error(500, "internal_error", "Internal Server Error"))
    ip.user_ns["xs"] = pd.Series([f"x{i}" for i in range(6)])
    outputs, result = run(ip, "%%puter --each xs --out ys\n{item}")
    assert result.success, result.error_in_exec
    ys = ip.user_ns["ys"]
    failed = [label for label, value in ys.items() if value is None]
    assert len(failed) == 1 and list(ys.attrs["errors"]) == failed
    plain = summary_of(outputs)["text/plain"]
    assert "5 answered, 1 failed (1 × Puter error (internal_error))" in plain
    assert "Run the cell again to ask only the 1 left" in plain
    assert not [o for o in outputs if "puter-warning" in o.get("text/html", "")]  # no stop, no warning


def test_a_429_storm_from_a_cell_loses_nothing(ip: InteractiveShell, shell_on: Any, sandbox: Sandbox) -> None:
    shell_on(sandbox)
    magics_of(ip).batch_window = 0.4
    sandbox.inject(replace(Fault.error(429, "too_many_requests", "Too many requests."), times=5))
    ip.user_ns["xs"] = [f"x{i}" for i in range(12)]
    outputs, result = run(ip, "%%puter --each xs --out ys\n{item}")
    assert result.success, result.error_in_exec
    assert ip.user_ns["ys"] == [f"x{i}" for i in range(12)]
    assert "5 rate limits (429) waited out" in summary_of(outputs)["text/plain"]


def test_the_limits_hold_in_a_cell(ip: InteractiveShell, shell_on: Any) -> None:
    sandbox = shell_on(rate_limit=(8, 0.4), concurrency_limit=2, think_time=0.01)
    magics = magics_of(ip)
    magics.batch_concurrency, magics.batch_rate, magics.batch_window = 2, 8, 0.4
    assert magics.settings().batch_rate == 8
    ip.user_ns["xs"] = [f"x{i}" for i in range(20)]
    _, result = run(ip, "%%puter --each xs --out ys\n{item}")
    assert result.success, result.error_in_exec
    counts = sandbox.limits.counts
    assert counts.too_many == counts.too_many_at_once == 0 and counts.most_at_once <= 2
    assert ip.user_ns["ys"] == [f"x{i}" for i in range(20)]


def test_out_of_credit_halfway_then_a_rerun_finishes(ip: InteractiveShell, shell_on: Any) -> None:
    sandbox = shell_on(credit_calls=7)
    ip.user_ns["xs"] = [f"x{i}" for i in range(20)]
    cell = "%%puter --each xs --out ys\nEcho {item}"
    outputs, result = run(ip, cell, cell_id="batch-cell")
    assert result.success, result.error_in_exec
    ys = ip.user_ns["ys"]
    assert sum(y is not None for y in ys) == 7
    assert all(isinstance(e, UsageLimited) for e in ys.errors.values())
    plain = summary_of(outputs)["text/plain"]
    assert "7 answered" in plain and "stopped: out of allowance" in plain
    warnings = [o for o in outputs if "puter-warning" in o.get("text/html", "")]
    assert len(warnings) == 1 and "insufficient_funds" in warnings[0]["text/plain"]
    # Credit again: the same cell asks only what failed or was not reached.
    sandbox.limits.credit_calls = None
    sandbox.clear()
    outputs, result = run(ip, cell, cell_id="batch-cell")
    assert result.success, result.error_in_exec
    assert ip.user_ns["ys"] == [f"Echo x{i}" for i in range(20)]
    left = [f"Echo {x}" for x, y in zip(ip.user_ns["xs"], ys) if y is None]  # noqa: B905
    assert sorted(asked(sandbox)) == sorted(left) and len(left) == 13
    assert "7 kept from the last run; asked 13: 13 answered" in summary_of(outputs)["text/plain"]
    # Everything answered: running it again asks nothing; --fresh asks all.
    sandbox.clear()
    outputs, _ = run(ip, cell, cell_id="batch-cell")
    assert sandbox.calls("complete") == [] and "nothing asked" in summary_of(outputs)["text/plain"]
    run(ip, "%%puter --each xs --out ys --fresh\nEcho {item}", cell_id="batch-cell")
    assert len(sandbox.calls("complete")) == 20


def test_a_changed_template_or_model_asks_again(
    ip: InteractiveShell, shell_on: Any, sandbox: Sandbox
) -> None:
    shell_on(sandbox)
    ip.user_ns["xs"] = ["a", "b"]
    run(ip, "%%puter --each xs\nOne {item}", cell_id="c")
    run(ip, "%%puter --each xs\nTwo {item}", cell_id="c")
    run(ip, "%%puter --each xs -m sandbox-tutor-lite\nTwo {item}", cell_id="c")
    assert len(sandbox.calls("complete")) == 6


def test_the_stop_button_stops_at_once_and_keeps_what_is_done(ip: InteractiveShell, shell_on: Any) -> None:
    sandbox = shell_on(think_time=0.25)
    ip.user_ns["xs"] = [f"x{i}" for i in range(30)]
    cell = "%%puter --each xs --out ys\n{item}"
    timer = threading.Timer(0.6, _thread.interrupt_main)  # what the kernel does on "stop"
    timer.start()
    started = time.monotonic()
    outputs, result = run(ip, cell, cell_id="stop-cell")
    took = time.monotonic() - started
    timer.join()
    assert result.success, result.error_in_exec  # no traceback
    assert took < 0.6 + 0.35  # at once: not after the replies in flight, nor the other 20-odd
    done = [y for y in ip.user_ns["ys"] if y is not None]
    assert 0 < len(done) < 30
    assert "interrupted" in summary_of(outputs)["text/plain"]
    sent_before = len(sandbox.calls("complete"))
    time.sleep(0.4)
    sandbox.clear()
    run(ip, cell, cell_id="stop-cell")
    assert ip.user_ns["ys"] == [f"x{i}" for i in range(30)]
    assert len(sandbox.calls("complete")) == 30 - len(done) <= 30 - sent_before + 3


# -- what it shows ---------------------------------------------------------------------------


def test_the_output_is_bounded_and_safe(ip: InteractiveShell, shell_on: Any, sandbox: Sandbox) -> None:
    shell_on(sandbox)
    ip.user_ns["xs"] = [f"<img src=x onerror=alert({i})> " + "long text " * 200 for i in range(300)]
    outputs, result = run(ip, "%%puter --each xs --out ys\n{item}")
    assert result.success, result.error_in_exec
    assert len(ip.user_ns["ys"]) == 300
    view = summary_of(outputs)
    assert len(view["text/plain"]) < 2_000 and len(view["text/html"]) < 5_000
    assert "the first 5 of 300" in view["text/plain"]
    assert live_markup(view["text/html"]) == []
    assert len(outputs) == 1  # the progress bar became the summary


def test_progress_bar_updates_a_few_times_a_second(ip: InteractiveShell, shell_on: Any) -> None:
    from puter_magic.notebook import live

    shell_on(rate_limit=(6, 0.3), concurrency_limit=3, think_time=0.01)
    magics = magics_of(ip)
    magics.batch_rate, magics.batch_window = 6, 0.3
    updates: list[float] = []
    original = live.ProgressBar.update

    def counted(self: Any, p: Any) -> None:
        updates.append(time.monotonic())
        original(self, p)

    live.ProgressBar.update = counted  # type: ignore[method-assign]
    try:
        ip.user_ns["xs"] = [f"x{i}" for i in range(30)]
        started = time.monotonic()
        run(ip, "%%puter --each xs\n{item}")
        took = time.monotonic() - started
    finally:
        live.ProgressBar.update = original  # type: ignore[method-assign]
    assert took > 1.0
    assert 3 <= len(updates) <= took * 4 + 2


def test_a_terminal_gets_one_rewritten_line_then_the_summary(
    ip: InteractiveShell, shell_on: Any, sandbox: Sandbox
) -> None:
    shell_on(sandbox)
    magics_of(ip).rich_output = False
    magics_of(ip).batch_window = 0.5
    magics_of(ip).batch_rate = 5
    ip.user_ns["xs"] = [f"x{i}" for i in range(12)]
    outputs, result = run(ip, "%%puter --each xs --out ys\n{item}")
    assert result.success, result.error_in_exec
    stdout = outputs[-1]["stdout"]
    assert stdout.count("\r") >= 3 and "\n" not in stdout and "/12 done" in stdout
    assert stdout.endswith("\r")  # the line is wiped before the summary prints
    assert "12 prompts to sandbox-echo: 12 answered" in summary_of(outputs)["text/plain"]


# -- bad arguments --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("%%puter --each nowhere\n{item}", "no variable named nowhere"),
        ("%%puter --each mapping\n{item}", "a pandas Series or a DataFrame, not a dict"),
        ("%%puter --each xs\nNo placeholder here", "never uses an item; write {item}"),
        ("%%puter --each df\nNo column here {nope}", "write {a}, {b} where"),
        ("%%puter --fresh\n{item}", "--fresh goes with --each NAME"),
        ("%%puter --each xs --compare a,b\n{item}", "does not go with --compare"),
        ("%puter --each xs What about {item}?", "--each works in a %%puter cell"),
    ],
)
def test_usage_errors_send_nothing(
    ip: InteractiveShell, shell_on: Any, sandbox: Sandbox, cell: str, message: str
) -> None:
    shell_on(sandbox)
    ip.user_ns.update(mapping={"a": 1}, xs=["x"], df=pd.DataFrame({"a": [1], "b": [2]}))
    _, result = run(ip, cell)
    assert isinstance(result.error_in_exec, UsageError) and message in str(result.error_in_exec)
    assert sandbox.calls("complete") == []


def test_not_signed_in_is_one_warning(ip: InteractiveShell) -> None:
    ip.user_ns["xs"] = ["a"]
    outputs, result = run(ip, "%%puter --each xs --out ys\n{item}")
    assert result.success
    assert len(outputs) == 1 and "Not signed in" in outputs[0]["text/html"]
    assert "ys" not in ip.user_ns


def test_an_endless_429_storm_is_reported_not_raised(
    ip: InteractiveShell, shell_on: Any, sandbox: Sandbox
) -> None:
    shell_on(sandbox)
    magics_of(ip).batch_window = 0.1
    sandbox.inject(replace(Fault.error(429, "too_many_requests", "Too many requests."), times=1000))
    ip.user_ns["xs"] = ["a"]
    outputs, result = run(ip, "%%puter --each xs --out ys\n{item}")
    assert result.success, result.error_in_exec
    assert ip.user_ns["ys"] == [None] and isinstance(ip.user_ns["ys"].errors[0], RateLimited)
    assert "1 failed (1 × Rate limited (too_many_requests))" in summary_of(outputs)["text/plain"]


def test_the_notebook_budget_stops_a_batch(ip: InteractiveShell, shell_on: Any, sandbox: Sandbox) -> None:
    shell_on(sandbox)
    magics = magics_of(ip)
    magics.batch_concurrency = 1  # one at a time, so the count is exact
    magics.budget_usd_cents = 0.05  # sandbox-tutor costs about 0.013¢ a reply
    ip.user_ns["xs"] = [f"x{i}" for i in range(20)]
    outputs, result = run(ip, "%%puter --each xs --out ys -m sandbox-tutor\n{item}")
    assert result.success, result.error_in_exec
    answered = sum(y is not None for y in ip.user_ns["ys"])
    assert 3 <= answered <= 5 and len(sandbox.calls("complete")) == answered
    assert magics.session.meter.spent_cents >= 0.05
    warnings = [o for o in outputs if "puter-warning" in o.get("text/html", "")]
    assert len(warnings) == 1 and "Budget reached" in warnings[0]["text/html"]
    assert "stopped: budget reached" in summary_of(outputs)["text/plain"]


def test_the_preview_tells_failed_from_not_asked(
    ip: InteractiveShell, shell_on: Any, sandbox: Sandbox
) -> None:
    shell_on(sandbox)
    magics_of(ip).batch_concurrency = 1
    ip.user_ns["xs"] = ["a", "b", "c"]
    outputs, result = run(ip, "%%puter --each xs -m no-such-model\n{item}")
    assert result.success, result.error_in_exec
    plain = summary_of(outputs)["text/plain"].splitlines()
    assert plain[0].startswith("3 prompts to no-such-model: 0 answered, 1 failed (1 × Model not found")
    assert plain[0].endswith("2 not asked in 0.0 s · stopped: model not found")
    assert "  'a' → (failed: Model not found (bad_request))" in plain
    assert "  'b' → (not asked)" in plain and "  'c' → (not asked)" in plain


def test_the_summary_words_the_batchs_own_counts() -> None:
    """One count of a batch (BatchResult's); the notebook only words it: the same numbers and
    groups as result.summary(), each kind titled as its warning would be."""
    from puter_magic.api.batch import BatchItem, BatchResult
    from puter_magic.api.chat import ChatReply
    from puter_magic.api.errors import BadRequest, ModelNotFound
    from puter_magic.notebook.each import Prompts, batch_summary

    result = BatchResult(
        [
            BatchItem(0, "a", error=ModelNotFound("no model x", code="bad_request")),
            BatchItem(1, "b", reply=ChatReply(text="B")),
            BatchItem(2, "c", error=BadRequest("bad args", code="bad_request")),
            BatchItem(3, "d", error=ModelNotFound("no model x", code="bad_request")),
            BatchItem(4, "e"),
        ],
        elapsed=2.0,
        rate_limited=1,
    )
    prompts = Prompts("list", list("abcde"), list("abcde"))
    line, notes = batch_summary(prompts, "m", [0, 1, 2, 3, 4], result, "ys")
    assert result.summary().startswith("1 of 5 answered, 3 failed (2 × bad_request: no model x, 1 × ")
    assert line == (
        "5 prompts to m: 1 answered, 3 failed (2 × Model not found (bad_request), "
        "1 × Puter error (bad_request)), 1 not asked in 2.0 s · 1 rate limit (429) waited out"
    )
    assert notes[-1] == "Run the cell again to ask only the 4 left (--fresh asks all again)."
