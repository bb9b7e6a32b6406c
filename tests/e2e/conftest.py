"""A Jupyter server (JupyterLab 4 and Notebook 7 in one), a sandbox that plays Puter's GUI and
API, and Debian's Chromium with its popup blocker ON, driven by Playwright; and a second, plain
JupyterLab (``lab``, with ``page``) for the tests that need no GUI sandbox.

Browsers come from the run's one Playwright (tests/conftest.py). Playwright starts Chromium
with ``--disable-popup-blocking``; the ``chromium`` fixture takes that flag away, so a popup
opens only from a real click, as in a user's browser. Skipped, with the install command, when
Chromium or Playwright is missing (never silently). Terminal IPython in tmux
(test_frontends.py's ``terminal``) is shared here too.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from puter_magic.sandbox import Sandbox

from ..conftest import launch_chromium
from .test_frontends import terminal  # noqa: F401  (terminal IPython in tmux, shared here)

SERVER_TOKEN = "e2e-signin-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def chromium(playwright: Any) -> Iterator[Any]:
    """Chromium with its popup blocker on."""
    browser = launch_chromium(playwright, popup_blocker=True)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def puter() -> Iterator[Sandbox]:
    """Puter's GUI at http://puter.localhost:PORT and its API at http://api.puter.localhost:PORT."""
    with Sandbox(gui_host="puter.localhost", pace=0.0) as sandbox:
        yield sandbox


@pytest.fixture
def gui(puter: Sandbox) -> Iterator[Any]:
    """The GUI's switches, back to Puter's defaults for each test (a short guest spinner), no GUI
    session alive, no requests recorded."""
    switches = puter.gui
    switches.reset_switches()
    switches.temp_user_delay = 0.3
    switches.sign_out()
    puter.clear()  # the requests a test looks at are its own
    yield switches
    switches.reset_switches()
    switches.sign_out()


class Jupyter:
    """The server: its base URL, its folder of notebooks, its log (to search for tokens)."""

    def __init__(self, base: str, root: pathlib.Path, home: pathlib.Path, log: pathlib.Path) -> None:
        self.base = base
        self.root = root
        self.home = home
        self.log = log

    def url(self, frontend: str, name: str) -> str:
        path = f"lab/tree/{name}?reset&" if frontend == "lab" else f"notebooks/{name}?"
        return f"{self.base}/{path}token={SERVER_TOKEN}"

    def settings(self, plugin: str, raw: str) -> None:
        """Change a frontend setting, as the Settings editor does."""
        reply = requests.put(
            f"{self.base}/lab/api/settings/{plugin}",
            params={"token": SERVER_TOKEN},
            json={"raw": raw},
            timeout=10,
        )
        assert reply.status_code == 204, reply.text


@pytest.fixture(scope="session")
def jupyter(chromium: Any, puter: Sandbox) -> Iterator[Jupyter]:
    """One Jupyter server for both frontends (Notebook 7 is a server extension of the same
    server): private config, settings and workspaces; kernels with no Puter settings of the
    developer's and a private config dir for saved logins."""
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="puter-e2e-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUTER_", "VSCODE_"))}
    env.update(
        PUTER_MAGIC_CONFIG_DIR=str(tmp / "puter-config"),
        E2E_SANDBOX_TOKEN=puter.token,  # for a cell that signs in "earlier", the old way
    )
    try:
        with private_lab(tmp, SERVER_TOKEN, env) as base:
            yield Jupyter(base, tmp / "root", tmp, tmp / "server.log")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def private_lab(home: pathlib.Path, token: str, env: dict[str, str]) -> Iterator[str]:
    """JupyterLab on a free loopback port, serving *home*/root, with its config, settings,
    workspaces and runtime dirs under *home* and its log in *home*/server.log; its base URL
    while it runs, stopped (with its kernels) after."""
    root = home / "root"
    root.mkdir()
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}'
    )
    port = free_port()
    env = dict(
        env,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
    )
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    log_path = home / "server.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        while True:
            try:
                if requests.get(f"{base}/api/status", params={"token": token}, timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() - started > 90:
                raise RuntimeError(log_path.read_text())
            time.sleep(0.2)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture
def context(chromium: Any) -> Iterator[Any]:
    """A fresh browser profile: Puter's GUI has never been visited from it (a first visit)."""
    ctx = chromium.new_context(viewport={"width": 1280, "height": 1000})
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()


# -- a private JupyterLab and a page in the run's Chromium (popup blocker as Playwright sets it) --

LAB_TOKEN = "browser-test-token"


@pytest.fixture(scope="session")
def lab_root() -> Iterator[pathlib.Path]:
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="puter-lab-"))
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def lab(lab_root: pathlib.Path, playwright_browser: Any) -> Iterator[str]:
    """A private JupyterLab (own config, settings and workspace dirs) on a free loopback port."""
    with private_lab(lab_root, LAB_TOKEN, dict(os.environ)) as base:
        yield base


@pytest.fixture
def page(playwright_browser: Any) -> Iterator[Any]:
    context = playwright_browser.new_context(viewport={"width": 1280, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()
