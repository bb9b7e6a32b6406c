"""Smaller things a first user saw: each through the interface they used."""

from __future__ import annotations

import re

import pytest
from IPython.core.interactiveshell import InteractiveShell

# -- --compare: the first output already shows the columns -------------------------------------


def test_compare_first_output_shows_every_column_waiting(ip: InteractiveShell) -> None:
    from IPython.utils.capture import capture_output

    from .shell import magics_of

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


# -- %puter_explain names cells as the notebook does, and sends no local paths ------------------


def _explained(ip: InteractiveShell) -> str:
    from .shell import magics_of

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


@pytest.mark.notebook
def test_explain_in_a_real_kernel_sends_no_temp_file_paths(tmp_path: object) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext puter_magic\n%puter_login --sandbox"),
        nbformat.v4.new_code_cell("def helper(xs):\n    return xs[10]"),
        nbformat.v4.new_code_cell("helper([1, 2, 3])"),
        nbformat.v4.new_code_cell("%puter_explain -m sandbox-echo"),
    ]
    client = NotebookClient(
        nb,
        timeout=60,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = [o for o in nb.cells[3].outputs if o["output_type"] in ("display_data", "execute_result")]
    text = outputs[0]["data"]["text/plain"]
    assert "Cell In[3], line 1, in <module>\n    helper([1, 2, 3])" in text
    assert "Cell In[2], line 2, in helper" in text
    assert "ipykernel_" not in text and "/tmp" not in text and str(tmp_path) not in text


# -- the sandbox tutor quotes a prompt with code fences without breaking its Markdown ------------

FENCED = "Why does this fail?\n\n```python\ndef f(x):\n    return x +\n```\n\nThanks!"


@pytest.mark.parametrize(
    "prompt",
    [
        FENCED,
        "Look:\n\n```\n" + "x = 1\n" * 120 + "```\n\nThe end.",  # cut at 400 characters, fence open
        "Nested:\n\n````markdown\n```python\nprint(1)\n```\n````",
        "Tildes:\n\n~~~\nfor i in range(3):\n    print(i)\n~~~",
    ],
)
def test_tutor_quotes_fenced_prompts_and_keeps_its_table(ip: InteractiveShell, prompt: str) -> None:
    from puter_magic.notebook.markup import segments

    from .shell import run

    run(ip, "%puter_login --sandbox")
    outputs, _ = run(ip, "%%puter --no-interpolate\n" + prompt)
    html, markdown = outputs[0]["text/html"], outputs[0]["text/markdown"]
    table = html.index("<table>")
    assert "<td>your questions so far</td>" in html[table:]
    quoted = html[:table]
    code = re.sub(r"<[^>]+>", "", quoted[quoted.index("<pre") :])  # a code block above the table
    first_code_line = next(line for line in prompt.splitlines()[2:] if line.strip() and "`" not in line)
    assert first_code_line in code  # indentation and all
    assert "<p>```" not in html and "<p>~~~" not in html  # no fence left as text
    # The Markdown twin: the table's rows are text, not swallowed by a fence from the quote.
    pieces = list(segments(markdown))
    assert any(kind == "text" and "| messages | 1 |" in src for kind, src in pieces)


def test_tutor_lite_quotes_fenced_prompts_too(ip: InteractiveShell) -> None:
    from .shell import run

    run(ip, "%puter_login --sandbox")
    outputs, _ = run(ip, "%%puter -m sandbox-tutor-lite --no-interpolate\n" + FENCED)
    html = outputs[0]["text/html"]
    code = re.sub(r"<[^>]+>", "", html[html.index("<pre") :])
    assert "def f(x):\n    return x +" in code and "<p>```" not in html
    assert "I was sent 1 message " in html


# -- packaging: the license is an SPDX string, so setuptools does not warn ----------------------


def test_the_package_metadata_builds_without_a_license_warning(tmp_path: object) -> None:
    import subprocess
    import sys
    from pathlib import Path

    from .conftest import ROOT

    code = (
        "import sys, warnings\n"
        "warnings.simplefilter('always')\n"
        "from setuptools import build_meta\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    name = build_meta.prepare_metadata_for_build_wheel(sys.argv[1])\n"
        "print('NAME', name)\n"
        "for w in caught:\n"
        "    print('WARNING', w.category.__name__, str(w.message).splitlines()[0])\n"
    )
    out = Path(str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-c", code, str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert not [w for w in lines if w.startswith("WARNING") and "license" in w.lower()], proc.stdout
    assert "licen" not in proc.stderr.lower(), proc.stderr
    name = next(line.split(" ", 1)[1] for line in lines if line.startswith("NAME "))
    metadata = (out / name / "METADATA").read_text()
    assert "License-Expression: MIT" in metadata


# -- bench/bench_stream.py measures the update rate on a stream long enough to mean it -----------


def test_bench_measures_updates_a_second_over_seconds(
    ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    from .conftest import ROOT
    from .shell import magics_of

    spec = importlib.util.spec_from_file_location("bench_stream", ROOT / "bench" / "bench_stream.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    ip.run_line_magic("puter_login", "--sandbox")
    publisher = bench.KernelLikePublisher(shell=ip)
    monkeypatch.setattr(ip, "display_pub", publisher)
    rate, duration, messages = bench.measure_update_rate(ip, publisher, magics_of(ip).session.sandbox, 2.0)
    assert duration >= 2.0  # long enough for a rate to mean something
    assert 10 <= rate <= 20.5 and messages >= 20  # throttled to about 20 a second, and live
