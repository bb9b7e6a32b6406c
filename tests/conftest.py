"""Shared fixtures: sandboxes on 127.0.0.1 that the tests start themselves."""

from __future__ import annotations

import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from puter_magic import PuterClient
from puter_magic.sandbox import Sandbox

ROOT = pathlib.Path(__file__).resolve().parent.parent
TRANSCRIPTS = pathlib.Path(__file__).resolve().parent / "transcripts"


SLOW_KINDS = ("browser", "notebook", "load")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Real browsers, real kernels and load runs are slow: ``pytest -m "not slow"`` skips
    them for a quick loop while working (the README's test command runs everything)."""
    for item in items:
        if any(item.get_closest_marker(kind) for kind in SLOW_KINDS):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's Puter token, origin or saved login."""
    for name in list(os.environ):
        if name.startswith("PUTER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PUTER_MAGIC_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture(scope="session")
def _session_sandbox() -> Iterator[Sandbox]:
    # Shared by the whole run, so its monthly allowance must not run out halfway: the tests of
    # the allowance itself use sandboxes of their own.
    with Sandbox(allowance=10**15) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(_session_sandbox: Sandbox) -> Iterator[Sandbox]:
    """The shared sandbox, with its record and fault queue emptied for each test."""
    _session_sandbox.clear()
    _session_sandbox.pace = 0.0
    _session_sandbox.think_time = 0.0
    yield _session_sandbox
    _session_sandbox.clear()


@pytest.fixture(scope="session")
def _legacy_sandbox() -> Iterator[Sandbox]:
    with Sandbox(error_style="legacy") as sandbox:
        yield sandbox


@pytest.fixture
def legacy_sandbox(_legacy_sandbox: Sandbox) -> Iterator[Sandbox]:
    _legacy_sandbox.clear()
    yield _legacy_sandbox


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[PuterClient]:
    c = PuterClient(sandbox.origin, sandbox.token, timeout=(2, 5), max_retry_wait=2.0)
    yield c
    c.close()


def load_transcript(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((TRANSCRIPTS / name).read_text())
    return data


def transcript_names(prefix: str = "") -> list[str]:
    return sorted(p.name for p in TRANSCRIPTS.glob(f"{prefix}*.json"))


class RawServer:
    """A socket server that answers each connection with the next canned byte string."""

    def __init__(self) -> None:
        self.replies: list[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.origin = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    _read_request(conn)
                    if self.replies:
                        conn.sendall(self.replies.pop(0))
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def _read_request(conn: socket.socket) -> None:
    """Read a whole request (headers, and the body its Content-Length gives) before answering:
    a peer that closes on unread bytes resets the connection, which would turn whatever the
    canned reply is into a network error."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    while length and len(body) < int(length.group(1)):
        chunk = conn.recv(65536)
        if not chunk:
            return
        body += chunk


def run_without_notebook_libraries(code: str) -> list[str]:
    """Run *code* in a fresh Python where IPython, ipywidgets, markdown and nh3 cannot be
    imported (as the api wing must never need them), then print the notebook modules it
    loaded; its lines of output (the last: that list, which must be ``[]``)."""
    blocked = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('IPython', 'ipywidgets', 'markdown', 'nh3'):\n"
        "            raise ImportError(f'blocked: {name}')\n"
        "        return None\n"
        "sys.meta_path.insert(0, Block())\n"
    )
    loaded = "print(sorted(m for m in sys.modules if m.startswith('puter_magic.notebook')))\n"
    out = subprocess.run(
        [sys.executable, "-c", blocked + code + loaded], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


@pytest.fixture
def raw_server() -> Iterator[RawServer]:
    server = RawServer()
    yield server
    server.close()


from .recorded_puter import recorded_puter  # noqa: E402, F401  (a Puter as recorded, turn 3)
from .shell import ip, signed_in  # noqa: E402, F401  (fixtures shared by the magics tests)

# -- the one Playwright of a test session (the browser tests and tests/e2e share it: Playwright's
# sync API allows one running instance per process) ----------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """The run's one Playwright: every browser of every test folder is launched from it
    (:func:`launch_chromium`). Skipped, with the install command, when Chromium or Playwright
    is missing: never silently."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium` "
            "(bash .ci/setup --browser does it when run as root)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as p:
        yield p


def launch_chromium(playwright: Any, *, popup_blocker: bool = False) -> Any:
    """Debian's Chromium, headless. Playwright turns the popup blocker off; *popup_blocker*
    keeps it on, as in a user's browser (a popup then opens only from a user's click)."""
    extra = {"ignore_default_args": ["--disable-popup-blocking"]} if popup_blocker else {}
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, **extra)


@pytest.fixture(scope="session")
def playwright_browser(playwright: Any) -> Iterator[Any]:
    """The session's Chromium for the browser tests (its popup blocker off, Playwright's default)."""
    browser = launch_chromium(playwright)
    yield browser
    browser.close()


@pytest.fixture
def browser_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """CPython taking the paths of Python in a web page (Pyodide, as in JupyterLite): the
    platform fact says so, and, as there, starting a thread or opening a connection fails,
    so a path that still needs either is caught."""
    from puter_magic.api import runtime

    def no_thread(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    def no_socket(self: socket.socket, *args: Any) -> None:
        raise OSError("no sockets in this Python")

    monkeypatch.setattr(runtime, "PLATFORM", runtime.BROWSER_PLATFORM)
    monkeypatch.setattr(threading.Thread, "start", no_thread)
    monkeypatch.setattr(socket.socket, "connect", no_socket)
    monkeypatch.setattr(socket.socket, "bind", no_socket)
