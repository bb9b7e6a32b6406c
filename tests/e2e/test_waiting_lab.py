"""Run All in a real JupyterLab waits on a Button, and a click lets the rest of the notebook run."""

from __future__ import annotations

import pathlib
from typing import Any

import nbformat
import pytest

from .conftest import LAB_TOKEN

pytestmark = pytest.mark.browser

SHOTS = pathlib.Path(__file__).resolve().parents[1] / "artifacts"

CELLS = [
    "import ipywidgets\n"
    "from IPython.display import display\n"
    "from puter_magic.notebook.waiting import wait_until\n"
    "clicks = []\n"
    'button = ipywidgets.Button(description="Let the notebook go on")\n'
    "button.on_click(lambda b: clicks.append(1))\n"
    "display(button)\n"
    'print("wait:", wait_until(lambda: bool(clicks), 120))',
    'print("second cell ran after", len(clicks), "click")',
    "21 * 2",
]


def test_run_all_waits_on_a_button_and_the_later_cells_run_after_the_click(
    page: Any,
    lab: str,
    lab_root: pathlib.Path,
) -> None:
    from playwright.sync_api import expect

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nbformat.write(nb, lab_root / "root" / "waiting.ipynb")

    page.goto(f"{lab}/lab/tree/waiting.ipynb?reset&token={LAB_TOKEN}")
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    cells = panel.locator(".jp-CodeCell")
    expect(cells.first).to_be_visible(timeout=90_000)
    expect(page.locator("#jp-main-statusbar")).to_contain_text("| Idle", timeout=90_000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

    button = cells.nth(0).get_by_role("button", name="Let the notebook go on")
    expect(button).to_be_visible(timeout=60_000)
    page.wait_for_timeout(1500)  # long enough for the later cells to run, were they not held
    for i in (1, 2):
        expect(cells.nth(i).locator(".jp-InputPrompt")).to_have_text("[*]:")
        expect(cells.nth(i).locator(".jp-OutputArea-output")).to_have_count(0)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "waiting-before-click.png"), full_page=True)

    button.click()
    expect(cells.nth(0).locator(".jp-OutputArea")).to_contain_text("wait: done")
    expect(cells.nth(1).locator(".jp-OutputArea")).to_contain_text("second cell ran after 1 click")
    expect(cells.nth(2).locator(".jp-OutputArea")).to_contain_text("42")
    for i in range(3):
        expect(cells.nth(i).locator(".jp-InputPrompt")).to_have_text(f"[{i + 1}]:")
    page.screenshot(path=str(SHOTS / "waiting-after-click.png"), full_page=True)
