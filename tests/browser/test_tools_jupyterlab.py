"""%%puter --tools in a real JupyterLab, in headless Chromium: the folded call line."""

from __future__ import annotations

import pathlib
from typing import Any

import nbformat
import pytest

from ..conftest import ROOT
from .conftest import LAB_TOKEN

pytestmark = pytest.mark.browser

SHOTS = ROOT / "tests" / "artifacts"

CELLS = [
    "%load_ext puter_magic",
    "%puter_login --sandbox",
    'ROWS = [{"city": "Paris", "temp": 18}, {"city": "Oslo", "temp": 7}, {"city": "Rome", "temp": 24}]\n\n'
    "def describe(n: int = 5) -> list:\n"
    '    """The first n rows of the table."""\n'
    "    return ROWS[:n]",
    "%%puter -m sandbox-agent-claude --tools describe\nPlease describe n=2",
    "%%puter -m sandbox-agent --tools describe --approve --no-history\nNow describe n=3",
]


@pytest.fixture
def tools_notebook(lab: str, lab_root: pathlib.Path) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, lab_root / "root" / "tools.ipynb")
    return f"{lab}/lab/tree/tools.ipynb?reset&token={LAB_TOKEN}"


def test_a_tool_call_is_one_folded_line_that_opens(page: Any, tools_notebook: str) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)
    page.goto(tools_notebook)
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(panel.locator(".jp-Cell").first).to_be_visible(timeout=90_000)
    expect(page.locator("#jp-main-statusbar")).to_contain_text("| Idle", timeout=90_000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

    cell = panel.locator(".jp-CodeCell").filter(
        has=page.locator(".jp-InputArea", has_text="Please describe n=2")
    )
    out = cell.locator(".jp-OutputArea")
    expect(out.locator(".puter-footer").first).to_contain_text("sandbox-agent-claude", timeout=120_000)
    line = out.locator("details.puter-tool-call")
    expect(line).to_have_count(1)
    summary = line.locator("summary")
    expect(summary).to_have_text("called describe(n=2) → 2 rows")
    expect(summary.locator("code")).to_have_text("describe(n=2)")
    # Folded: one line, above the answer; the arguments and the result are hidden until opened.
    assert line.evaluate("e => e.open") is False
    sent = line.get_by_text("Sent back to the model")
    expect(sent).to_be_hidden()
    reply_top = out.locator(".puter-reply").evaluate("e => e.getBoundingClientRect().top")
    assert line.evaluate("e => e.getBoundingClientRect().bottom") <= reply_top
    assert line.evaluate("e => e.getBoundingClientRect().height") < 40

    summary.click()
    assert line.evaluate("e => e.open") is True
    expect(sent).to_be_visible()
    expect(line.locator("pre").first).to_contain_text('"n": 2')
    expect(line.locator("pre").nth(1)).to_contain_text('{"city": "Oslo", "temp": 7}')
    expect(out.locator(".puter-reply")).to_contain_text("called 1 tool for your question")

    SHOTS.mkdir(parents=True, exist_ok=True)
    cell.screenshot(path=str(SHOTS / "jupyterlab-tools.png"))

    # --approve: the call waits on its line while JupyterLab's input box asks; "y" runs it.
    asking = panel.locator(".jp-CodeCell").filter(
        has=page.locator(".jp-InputArea", has_text="Now describe n=3")
    )
    box = asking.locator(".jp-Stdin-input")
    expect(box).to_be_visible(timeout=60_000)
    expect(asking.locator(".jp-OutputArea")).to_contain_text("Run describe(n=3)? [y/N]")
    waiting = asking.locator(".puter-tool-call")
    expect(waiting).to_have_text("asks to call describe(n=3) (approve or refuse below)")
    asking.screenshot(path=str(SHOTS / "jupyterlab-tools-approve.png"))
    box.fill("y")
    box.press("Enter")
    expect(asking.locator("details.puter-tool-call summary")).to_have_text("called describe(n=3) → 3 rows")
    expect(asking.locator(".puter-reply")).to_contain_text('"Rome"')
