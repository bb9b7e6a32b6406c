"""The README's commands as a newcomer runs them (issue 17, item 7).

- `bash .ci/setup` (the demo command's setup) installs what the demo needs and nothing of the
  test toolchain: no `test` extra, no npm, no Debian packages. `bash .ci/setup --browser` (the
  test command's) installs everything. Checked by running the real script with pip, npm,
  apt-get and sudo replaced by stubs that write down how they were called.
- `.venv/bin/jupyter lab demo.ipynb`, exactly as documented, starts as root in the .venv the
  setup left, and serves the demo to a browser.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from ..conftest import ROOT

pytestmark = pytest.mark.slow

STUB = """#!/bin/sh
echo "{name} $*" >> "{log}"
"""


def run_setup(tmp_path: pathlib.Path, *args: str) -> list[str]:
    """Run a copy of .ci/setup with stubs; the calls the stubs saw, one line each."""
    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci" / "setup", repo / ".ci" / "setup")
    (repo / ".venv" / "bin").mkdir(parents=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    log.touch()
    for name, where in [
        ("python", repo / ".venv" / "bin"),
        ("npm", bin_dir),
        ("apt-get", bin_dir),
        ("sudo", bin_dir),
        ("tmux", bin_dir),
    ]:
        path = where / name
        path.write_text(STUB.format(name=name, log=log))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    env = dict(os.environ, PATH=f"{bin_dir}:/usr/bin:/bin")
    proc = subprocess.run(
        ["bash", str(repo / ".ci" / "setup"), *args], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return log.read_text().splitlines()


def test_the_demo_setup_installs_only_what_the_demo_needs(tmp_path: pathlib.Path) -> None:
    calls = run_setup(tmp_path)
    assert "python -m pip install -q --disable-pip-version-check -e .[demo]" in calls
    assert not [c for c in calls if "[test]" in c or c.startswith(("npm", "apt-get", "sudo"))], calls


def test_the_test_setup_installs_everything(tmp_path: pathlib.Path) -> None:
    calls = run_setup(tmp_path, "--browser")
    assert "python -m pip install -q --disable-pip-version-check -e .[test]" in calls
    assert "python -m venv .venv-ipykernel6" in calls  # the waiting tests' ipykernel 6 kernel
    assert any(c.startswith("npm ci --prefix tests/js") for c in calls), calls


def test_ci_runs_the_readmes_test_command_exactly() -> None:
    readme = (ROOT / "README.md").read_text()
    command = "bash .ci/setup --browser && .venv/bin/python -m pytest"
    assert command in readme
    assert command in (ROOT / ".ci" / "run").read_text().splitlines()
    assert "bash .ci/setup && .venv/bin/jupyter nbconvert --to html --execute demo.ipynb" in readme
    assert "`.venv/bin/jupyter lab demo.ipynb`" in readme


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def lab_as_documented(tmp_path: pathlib.Path) -> Iterator[str]:
    """`.venv/bin/jupyter lab demo.ipynb`, as written, in a folder holding the demo; the port,
    the token and a browser that opens nothing come from the environment, as a user's would."""
    if os.geteuid() != 0:
        pytest.skip("this checks the documented command as root (a container's usual user)")
    jupyter = pathlib.Path(sys.prefix) / "bin" / "jupyter"
    folder = tmp_path / "work"
    folder.mkdir()
    shutil.copy(ROOT / "demo.ipynb", folder / "demo.ipynb")
    port = _free_port()
    env = dict(
        os.environ,
        JUPYTER_PORT=str(port),
        JUPYTER_TOKEN="as-documented",
        BROWSER="true",  # the browser it opens does nothing: this test is the browser
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
    )
    log = open(tmp_path / "lab.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(jupyter), "lab", "demo.ipynb"],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        while True:
            try:
                if requests.get(f"{base}/api/status", params={"token": "as-documented"}, timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() - started > 90:
                log.flush()
                pytest.fail(
                    "`.venv/bin/jupyter lab demo.ipynb` did not start (run bash .ci/setup first):\n"
                    + (tmp_path / "lab.log").read_text()[-3000:]
                )
            time.sleep(0.2)
        yield f"{base}/lab/tree/demo.ipynb?token=as-documented"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def test_jupyter_lab_demo_works_as_root_as_documented(
    lab_as_documented: str, playwright_browser: Any
) -> None:
    from playwright.sync_api import expect

    page = requests.get(lab_as_documented, timeout=30)
    assert page.status_code == 200 and "JupyterLab" in page.text
    context = playwright_browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        tab = context.new_page()
        tab.goto(lab_as_documented)
        panel = tab.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        expect(panel.locator(".jp-Cell").first).to_be_visible(timeout=90_000)
        expect(panel).to_contain_text("%load_ext puter_magic")
    finally:
        context.close()
