"""The README as a newcomer follows it (issue 17, item 7): every ```python block of README.md
and docs/*.md runs as written, in order, in one fresh IPython per page (magics included), in
an empty folder, with nothing but loopback reachable.

A block that is not meant to run says so on its first line, visibly:
``# Not run by tests/e2e/test_readme.py: <why>``.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

from ..conftest import ROOT

pytestmark = pytest.mark.slow

NOT_RUN = "# Not run by tests/e2e/test_readme.py:"
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S
)

# Runs the blocks of one page in order in one IPython shell. An audit hook refuses every
# connection that is not to loopback, so a snippet that needs the internet fails here.
RUNNER = r"""
import ipaddress, json, socket, sys

def loopback_only(event, args):
    if event != "socket.connect":
        return
    address = args[1]
    if isinstance(address, tuple):
        host = str(address[0])
        if host == "localhost" or host.endswith(".localhost"):
            return
        try:
            if ipaddress.ip_address(host.split("%")[0]).is_loopback:
                return
        except ValueError:
            pass
        raise ConnectionRefusedError(f"the README test reaches only loopback, not {host}")

sys.addaudithook(loopback_only)

from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
for number, (line, source) in enumerate(json.load(sys.stdin), 1):
    print(f"--- block {number} (line {line})", flush=True)
    result = shell.run_cell(source)
    if not result.success:
        print(f"!!! block at line {line} failed: {result.error_before_exec or result.error_in_exec!r}")
        sys.exit(1)
print("--- all blocks ran")
"""


def python_blocks(page: pathlib.Path) -> list[tuple[int, str]]:
    """The ```python blocks of *page* that are meant to run: (line, source), dedented."""
    text = page.read_text()
    blocks = []
    for match in FENCE.finditer(text):
        if match.group("info").strip().split(" ")[0] != "python":
            continue
        indent = match.group("indent")
        body = "".join(line[len(indent) :] for line in match.group("body").splitlines(keepends=True))
        if body.lstrip().startswith(NOT_RUN):
            continue
        blocks.append((text.count("\n", 0, match.start()) + 1, body))
    return blocks


# The pages that show Python to run (the others show only shell commands, tables and prose).
PAGES = [p for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))] if python_blocks(p)]


def test_pages_hold_python_blocks_and_mark_few_as_not_run() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(python_blocks(ROOT / "README.md")) >= 5
    assert readme.count(NOT_RUN) <= 2  # sparingly


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_python_block_runs_as_written(page: pathlib.Path, tmp_path: pathlib.Path) -> None:
    blocks = python_blocks(page)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUTER_")}
    env["PUTER_MAGIC_CONFIG_DIR"] = str(tmp_path / "config")
    env["MPLBACKEND"] = "Agg"
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER],
        input=json.dumps(blocks),
        capture_output=True,
        text=True,
        cwd=tmp_path,  # an empty folder: files a snippet needs, it makes itself
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0 and "--- all blocks ran" in proc.stdout, (
        f"{page.name}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    )
