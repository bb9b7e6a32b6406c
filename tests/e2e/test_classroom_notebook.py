"""classroom.ipynb, run top to bottom in a real kernel (as Run All or nbconvert would), then
saved and read back with nbformat, as a teacher reads a notebook handed in."""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from ..conftest import ROOT

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def handed_in(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A copy of classroom.ipynb, executed and saved in its folder."""
    folder = tmp_path_factory.mktemp("classroom")
    path = folder / "classroom.ipynb"
    shutil.copy(ROOT / "classroom.ipynb", path)
    nb = nbformat.read(path, as_version=4)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUTER_")}
    env.update(JPY_SESSION_NAME=str(path), PUTER_MAGIC_CONFIG_DIR=str(folder / "config"))
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute(env=env)
    nbformat.write(nb, path)
    return path


def cell_with(nb: Any, needle: str, nth: int = 0) -> Any:
    return [c for c in nb.cells if c.cell_type == "code" and needle in c.source][nth]


def plain(cell: Any) -> str:
    return "\n".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.outputs)


def test_the_committed_notebook_carries_rules_and_no_outputs() -> None:
    nb = nbformat.read(ROOT / "classroom.ipynb", as_version=4)
    assert nb.metadata["puter_magic"] == {
        "ai": "tutor",
        "models": ["sandbox-tutor", "sandbox-tutor-lite"],
        "max_requests": 6,
        "log": True,
    }
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_run_all_goes_on_past_every_refusal(handed_in: pathlib.Path) -> None:
    nb = nbformat.read(handed_in, as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", cell.source
            assert out.get("name") != "stderr", out
    assert "not one of this notebook's models" in plain(cell_with(nb, "-m sandbox-echo"))
    assert "--code is not available in tutor mode" in plain(cell_with(nb, "--code"))
    each = plain(cell_with(nb, "--each words"))
    assert "asked 3" not in each  # nothing was kept from an earlier run
    assert "3 answered, 1 not asked (the request limit)" in each and "tutor mode" in each
    assert "Request limit: 1 of 4 items were not asked." in each
    assert "6; 0 left (6 sent in this kernel session)" in plain(cell_with(nb, "%puter_policy", 1))
    assert "· tutor" in plain(cell_with(nb, "exercise 1"))


def test_each_reply_is_saved_with_where_it_came_from(handed_in: pathlib.Path) -> None:
    nb = nbformat.read(handed_in, as_version=4)
    [reply] = cell_with(nb, "exercise 1").outputs
    about = reply["metadata"]["puter_magic"]
    assert about["model"] == "sandbox-tutor" and about["ai"] == "tutor"
    assert about["options"] == {"system": "Answer in one short paragraph."}
    assert about["usage"]["output_tokens"] > 0 and re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", about["time"]
    )
    assert about["version"]
    [compared] = cell_with(nb, "--compare").outputs
    models = [r["model"] for r in compared["metadata"]["puter_magic"]["replies"]]
    assert models == ["sandbox-tutor", "sandbox-tutor-lite"]
    raw = handed_in.read_text()
    assert not re.search(r"sandbox-[A-Za-z0-9_-]{20,}", raw)  # no token saved


def test_the_teacher_reads_the_log_beside_the_notebook(handed_in: pathlib.Path) -> None:
    lines = [json.loads(x) for x in handed_in.with_name("classroom.puter-log.jsonl").read_text().splitlines()]
    outcomes = [(e["magic"], e["model"], e["outcome"]) for e in lines]
    assert outcomes[:5] == [
        ("%%puter", "sandbox-tutor", "answered"),
        ("%%puter", "sandbox-tutor", "answered"),
        ("%%puter", "sandbox-tutor-lite", "answered"),
        ("%%puter", "sandbox-echo", "refused"),
        ("%%puter", None, "refused"),
    ]
    assert sorted(e["outcome"] for e in lines[5:]) == ["answered"] * 3 + ["refused"]
    assert {e["prompt"] for e in lines[5:] if e["outcome"] == "answered"} == {
        f"In one sentence: what is a Python {w}?" for w in ("loop", "list", "dict")
    }
    assert all("cell" in e and e["time"] for e in lines)  # nbclient sends no cell ids; JupyterLab does
    shown = plain(cell_with(nb=nbformat.read(handed_in, as_version=4), needle="import json"))
    assert len(shown.splitlines()) == 9 and "refused" in shown
