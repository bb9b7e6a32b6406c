"""The classroom in a real JupyterLab, in headless Chromium: the kernel that jupyter_server
starts finds its notebook by itself (``JPY_SESSION_NAME``), ``--code`` opens a new cell below,
the log names JupyterLab's cell ids, and the output metadata survives JupyterLab's own save.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import time
from typing import Any

import nbformat
import pytest

from puter_magic.notebook.classroom.handout import write_rules

from ..conftest import ROOT
from .conftest import LAB_TOKEN
from .test_jupyterlab import _cell, _open_and_run_all, _panel, _run_cell, _shot, _wait_or_explain

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CELLS = [
    "%load_ext puter_magic\n%puter_login --sandbox",
    "%%puter --code\nShow me a loop.",
    "%puter_policy",
]


def test_classroom_notebook_with_run_all(page: Any, lab: str, lab_root: pathlib.Path) -> None:
    from playwright.sync_api import expect

    course = lab_root / "root" / "course"
    (course / "week1").mkdir(parents=True)
    (course / "TUTOR.md").write_text("First-year course. Never reveal exercise 1.")
    shutil.copyfile(ROOT / "classroom.ipynb", course / "week1" / "classroom.ipynb")
    _open_and_run_all(page, f"{lab}/lab/tree/course/week1/classroom.ipynb?reset&token={LAB_TOKEN}")
    last = _cell(page, "entry['prompt'][:44]")
    _wait_or_explain(
        page, last.locator(".jp-OutputArea-output"), "the log cell never ran", "classroom-fail.png"
    )
    reply = _cell(page, "exercise 1 for me")
    expect(reply.locator(".puter-footer").first).to_contain_text("· tutor")
    expect(_cell(page, "Just echo this.").locator(".puter-note")).to_contain_text(
        "sandbox-echo is not one of this notebook's models"
    )
    expect(_cell(page, "Put the solution").locator(".puter-note")).to_contain_text(
        "not available in tutor mode"
    )
    expect(_cell(page, "what is a Python {item}").locator(".jp-OutputArea")).to_contain_text(
        "Request limit: 1 of 4 items were not asked."
    )
    expect(last.locator(".jp-OutputArea")).to_contain_text("refused")
    _shot(page, "classroom.png")
    _cell(page, "Just echo this.").scroll_into_view_if_needed()
    _shot(page, "classroom-refusals.png")
    reply.scroll_into_view_if_needed()
    _shot(page, "classroom-tutor.png")
    _cell(page, "%puter_policy").scroll_into_view_if_needed()
    _shot(page, "classroom-policy.png")
    log = [json.loads(x) for x in (course / "week1" / "classroom.puter-log.jsonl").read_text().splitlines()]
    assert len(log) == 9 and all(e["cell"] for e in log)  # JupyterLab sends each cell's id
    ids = {c.id for c in nbformat.read(course / "week1" / "classroom.ipynb", as_version=4).cells}
    assert {e["cell"].split("#")[0] for e in log} <= ids


def test_the_kernel_finds_its_notebook_and_code_opens_a_cell(
    page: Any, lab: str, lab_root: pathlib.Path
) -> None:
    from playwright.sync_api import expect

    path = lab_root / "root" / "scratch.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nbformat.write(nb, path)
    write_rules(path, {"max_requests": 5, "log": True})
    _open_and_run_all(page, f"{lab}/lab/tree/scratch.ipynb?reset&token={LAB_TOKEN}")
    policy = _cell(page, "%puter_policy")
    _wait_or_explain(page, policy.locator(".puter-note"), "%puter_policy never ran", "scratch-fail.png")
    expect(policy.locator(".puter-note")).to_contain_text(f"notebook {path}")  # from JPY_SESSION_NAME
    expect(policy.locator(".puter-note")).to_contain_text("5; 4 left (1 sent in this kernel session)")
    code = _cell(page, "Show me a loop.")
    expect(code.locator(".jp-OutputArea")).to_contain_text("put into a new cell below, not run.")
    cells = _panel(page).locator(".jp-CodeCell")
    expect(cells).to_have_count(4)
    added = cells.nth(2)
    expect(added.locator(".jp-InputArea-editor")).to_contain_text("# The sandbox answers deterministically")
    expect(added.locator(".jp-OutputArea-output")).to_have_count(0)  # not run
    _shot(page, "classroom-code.png")

    _run_cell(page, policy)  # the output of --code's cell is what JupyterLab saves next
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 30
    about = None
    while time.monotonic() < deadline and about is None:
        saved = nbformat.read(path, as_version=4)
        outputs = [o for c in saved.cells if "Show me a loop." in c.source for o in c.get("outputs", [])]
        about = next(
            (o["metadata"]["puter_magic"] for o in outputs if "puter_magic" in o.get("metadata", {})), None
        )
        time.sleep(0.5)
    assert about is not None, "JupyterLab saved no output metadata"
    assert about["model"] == "sandbox-tutor" and about["options"] == {"code": True}
    assert about["usage"]["output_tokens"] > 0
