"""demo.ipynb in a real JupyterLab, in headless Chromium: what a student actually sees."""

from __future__ import annotations

import pathlib
import re
import time
from typing import Any

import nbformat
import pytest

from ..conftest import ROOT
from .conftest import LAB_TOKEN

pytestmark = pytest.mark.browser

SHOTS = ROOT / "tests" / "artifacts"

# Cells the test adds after the demo's own, run by the test when it needs them.
PICKED = "%%puter\nWhich model answers now?"
RECORD = (
    "_pm = get_ipython().magics_manager.registry['PuterMagics']\n"
    "print('MODEL-USED:', _pm.session.sandbox.calls('complete')[-1].args['model'])"
)
SLOW = "%%puter -m sandbox-slow --no-history\nStream this slowly, please."
PAYLOADS = [
    "<script>window.__pwned = 'script'</script>",
    "<img src=x onerror=\"window.__pwned = 'img'\">",
    "[click me](javascript:window.__pwned='link')",
    "<svg onload=\"window.__pwned = 'svg'\"></svg>",
    "<iframe srcdoc=\"<script>parent.__pwned = 'iframe'</script>\"></iframe>",
    "$<img src=x onerror=\"window.__pwned = 'math'\">$",
    "<details open ontoggle=\"window.__pwned = 'details'\">x</details>",
]
XSS = "%%puter -m sandbox-echo --no-interpolate --no-history\n" + "\n\n".join(PAYLOADS)
BATCH = (
    "%config PuterMagics.batch_rate = 4\n%config PuterMagics.batch_window = 1.0\n"
    "_items = [f'item {i}' for i in range(14)]"
)
EACH = "%%puter --each _items --out _replies -m sandbox-echo --fresh\nEcho {item}"


@pytest.fixture(scope="module")
def notebook(lab: str, lab_root: pathlib.Path) -> str:
    nb = nbformat.read(ROOT / "demo.ipynb", as_version=4)
    # JupyterLab's Run All stops at an error: leave out the demo's deliberate one.
    nb.cells = [c for c in nb.cells if "raises-exception" not in c.metadata.get("tags", [])]
    for source in (PICKED, RECORD, SLOW, XSS, BATCH, EACH):
        nb.cells.append(nbformat.v4.new_code_cell(source))
    nbformat.write(nb, lab_root / "root" / "demo.ipynb")
    return f"{lab}/lab/tree/demo.ipynb?reset&token={LAB_TOKEN}"


def _cell(page: Any, needle: str) -> Any:
    return (
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell")
        .filter(has=page.locator(".jp-InputArea", has_text=needle.splitlines()[-1][:30]))
        .first
    )


def _run_cell(page: Any, cell: Any) -> None:
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+Enter")


def test_demo_in_jupyterlab(page: Any, notebook: str) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)
    page.goto(notebook)
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(panel.locator(".jp-Cell").first).to_be_visible(timeout=90_000)
    expect(page.locator("#jp-main-statusbar")).to_contain_text("| Idle", timeout=90_000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

    # The last cell's output appears only when every cell ran.
    xss_cell = _cell(page, XSS)
    try:
        expect(xss_cell.locator(".puter-footer").first).to_be_visible(timeout=120_000)
    except AssertionError:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "jupyterlab-run-all-failed.png"))
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        raise AssertionError(
            "Run All did not finish: " + " | ".join(errors.all_inner_texts())[:2000]
        ) from None

    # (a) The first reply rendered as Markdown: a heading, a table, a code block.
    first = _cell(page, "What is a list comprehension in Python?").locator(".jp-OutputArea")
    expect(first.locator("h3")).to_contain_text("Turn 1")
    expect(first.locator("table")).to_be_visible()
    expect(first.locator("pre code")).to_contain_text("questions = 1")
    expect(first.locator(".puter-footer").first).to_contain_text("sandbox-tutor")

    # (b) The warning box is visible and styled (a coloured left border), with its next step.
    warning = _cell(page, "Hello?").locator(".puter-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("Model not found")
    expect(warning.locator("code")).to_contain_text("%puter_models")
    border = warning.evaluate(
        "el => getComputedStyle(el).borderLeftWidth + ' ' + getComputedStyle(el).borderLeftStyle"
    )
    assert border == "4px solid"

    # (c) Nothing from the hostile reply ran.
    assert page.evaluate("() => window.__pwned === undefined"), page.evaluate("() => window.__pwned")
    xss_out = xss_cell.locator(".jp-OutputArea")
    live = xss_out.locator(".puter-reply").locator("script, iframe, svg:not(mjx-container svg)")
    assert live.count() == 0, [live.nth(i).evaluate("e => e.outerHTML") for i in range(live.count())]
    expect(xss_out).to_contain_text("window.__pwned = 'script'")  # shown as text instead

    # (d) The model selector rendered; picking a model changes what the next cell uses.
    selector = _cell(page, "%puter_models").locator(".puter-model-selector")
    expect(selector).to_be_visible()
    field = selector.locator("input")
    field.fill("sandbox-tutor-lite · sandbox-openai")
    field.press("Enter")
    expect(selector).to_contain_text("Default model is now sandbox-tutor-lite")
    _run_cell(page, _cell(page, PICKED))
    record = _cell(page, RECORD)
    expect(_cell(page, PICKED).locator(".puter-footer").first).to_contain_text("sandbox-tutor-lite")
    _run_cell(page, record)
    expect(record.locator(".jp-OutputArea")).to_contain_text("MODEL-USED: sandbox-tutor-lite")

    # (e) Streamed text is visible before the reply completes.
    slow = _cell(page, SLOW)
    _run_cell(page, slow)
    out = slow.locator(".jp-OutputArea")
    deadline = time.monotonic() + 30
    seen_partial = False
    while time.monotonic() < deadline:
        text = out.inner_text()
        if "Turn" in text and out.locator(".puter-footer").count() == 0:
            seen_partial = True
            break
        time.sleep(0.05)
    assert seen_partial, "no partial text was shown before the reply completed"
    expect(out.locator(".puter-footer").first).to_contain_text("sandbox-slow")
    expect(out.locator("table")).to_be_visible()

    # (f) --each: a live progress bar (an ipywidget) while the batch runs, then the summary.
    each = _cell(page, EACH)
    expect(each.locator(".puter-batch")).to_be_visible()  # Run All ran it once
    _run_cell(page, _cell(page, BATCH))
    _run_cell(page, each)
    bar = each.locator(".widget-hprogress")
    expect(bar).to_be_visible(timeout=10_000)
    expect(each.locator(".jp-OutputArea")).to_contain_text("/14 done")
    SHOTS.mkdir(parents=True, exist_ok=True)
    each.screenshot(path=str(SHOTS / "jupyterlab-batch-progress.png"))
    summary = each.locator(".puter-batch")
    expect(summary).to_contain_text("14 prompts to sandbox-echo: 14 answered", timeout=20_000)
    assert bar.count() == 0
    each.screenshot(path=str(SHOTS / "jupyterlab-batch-summary.png"))

    page.screenshot(path=str(SHOTS / "jupyterlab-demo.png"), full_page=True)
    assert re.search(r"sandbox-[A-Za-z0-9_-]{20,}", page.content()) is None  # no token on the page
