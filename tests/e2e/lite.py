"""A JupyterLite site built from this checkout, served on 127.0.0.1, driven in Chromium; and a
fake Puter on loopback that answers a web page (CORS), as Puter's API does.

The site is built once per test run by ``lite/build.py --offline`` from ``lite/.cache`` (filled
by ``bash .ci/setup --browser``, the only step that downloads). Without that cache the tests
are skipped with the command to run, except under ``CI=true``, where they fail. The test site
differs from a real one in three ways, all made here: its nh3 is a strict stand-in
(tests/e2e/nh3_standin: Pyodide's own nh3 is only on its CDN), it holds the test notebooks,
and every cell is rendered (``windowingMode: none``) so the driver can read all outputs.
"""

from __future__ import annotations

import functools
import http.client
import http.server
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import nbformat
import pytest

from puter_magic.sandbox import Sandbox

from .nh3_standin import build_wheel

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
PYODIDE_KERNEL = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
OVERRIDES = {"@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"}}


def notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = PYODIDE_KERNEL
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return nb


# -- a fake Puter a web page can call --------------------------------------------------------


@dataclass
class FakePuter:
    origin: str  # what the page calls: the CORS front
    sandbox: Sandbox  # what answers behind it


class _CorsFront(http.server.BaseHTTPRequestHandler):
    """Puter's API as a browser meets it: preflights answered, ``Access-Control-Allow-Origin`` on
    every reply, streams passed on chunk by chunk as they arrive. The sandbox behind it answers;
    its own origin in a reply (a media URL) is rewritten to this one, as a reverse proxy does."""

    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _cors(self) -> None:
        self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")
        self.send_header("Vary", "Origin")

    def do_OPTIONS(self) -> None:
        self.send_response(204)
        self._cors()
        self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept")
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self._relay()

    def do_POST(self) -> None:
        self._relay()

    def _relay(self) -> None:
        sandbox: Sandbox = self.server.sandbox
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {
            k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type", "accept")
        }
        upstream = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=30)
        upstream.request(self.command, self.path, body=body, headers=headers)
        reply = upstream.getresponse()
        self.send_response(reply.status)
        self._cors()
        for key, value in reply.getheaders():
            if key.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(key, value)
        if reply.getheader("Transfer-Encoding", "").lower() == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while piece := reply.read1(65536):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        else:
            data = reply.read().replace(sandbox.origin.encode(), self.server.origin.encode())
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        upstream.close()


@pytest.fixture(scope="session")
def fake_puter() -> Iterator[FakePuter]:
    with Sandbox(slow_pace=0.03) as sandbox:
        front = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CorsFront)
        front.daemon_threads = True
        front.sandbox = sandbox  # type: ignore[attr-defined]
        front.origin = f"http://127.0.0.1:{front.server_address[1]}"  # type: ignore[attr-defined]
        thread = threading.Thread(target=front.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield FakePuter(front.origin, sandbox)  # type: ignore[attr-defined]
        finally:
            front.shutdown()
            front.server_close()
            thread.join(5)


# -- the site --------------------------------------------------------------------------------


def build_site(out: pathlib.Path, notebooks: dict[str, nbformat.NotebookNode]) -> pathlib.Path:
    """The test site (see the module's docstring); skipped or failed when the cache is missing."""
    work = pathlib.Path(tempfile.mkdtemp(prefix="puter-lite-test-"))
    contents = work / "contents"
    contents.mkdir()
    for name, nb in notebooks.items():
        nbformat.write(nb, contents / name)
    overrides = work / "overrides.json"
    overrides.write_text(json.dumps(OVERRIDES))
    nh3 = build_wheel(work / "wheels")
    cmd = [sys.executable, str(ROOT / "lite" / "build.py"), "--offline", "--out", str(out)]
    cmd += ["--contents", str(contents), "--nh3-wheel", str(nh3), "--settings-overrides", str(overrides)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode == 3:  # the cache is missing: a setup step was not run
        message = f"{done.stdout.strip()} (bash .ci/setup --browser does it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture(scope="session")
def serve() -> Iterator[Any]:
    """``serve(folder)``: the folder on a free loopback port (as ``python -m http.server``)."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(folder: pathlib.Path) -> str:
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder))
        )
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# -- driving a notebook ----------------------------------------------------------------------


@dataclass
class Cell:
    text: str  # what the output area shows (innerText)
    html: str  # its HTML


def run_all(
    page: Any, base: str, name: str, *, answer: str | None = None, resumes: int = 0, timeout: float = 300
) -> list[Cell]:
    """Open notebook *name*, run all its cells, and return each code cell's outputs once all have
    run. *answer* is typed into the first input prompt (a masked one for a token) and sent.
    JupyterLite's Run All stops at a cell that ends in an error: *resumes* times, the run goes on
    from the first cell not run (Run Selected Cell and All Below), as the demo tells its reader."""
    page.goto(f"{base}/notebooks/index.html?path={name}")
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60_000)
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    started = time.monotonic()
    idle_since: float | None = None
    while True:
        if answer is not None and page.query_selector(".jp-Stdin-input"):
            page.fill(".jp-Stdin-input", answer)
            page.press(".jp-Stdin-input", "Enter")
            answer = None
        prompts = page.eval_on_selector_all(
            ".jp-CodeCell .jp-InputPrompt", "els => els.map(e => e.textContent.trim())"
        )
        if prompts and all(p not in ("[*]:", "[ ]:", "") for p in prompts):
            break
        ran_some = any(p not in ("[*]:", "[ ]:", "") for p in prompts)
        if resumes and ran_some and "[*]:" not in prompts:  # stopped short: wait a moment, then go on
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > 2:
                first = next(i for i, p in enumerate(prompts) if p in ("[ ]:", ""))
                page.locator(".jp-CodeCell").nth(first).locator(".jp-InputPrompt").click()
                page.click(".lm-MenuBar-itemLabel:text-is('Run')")
                page.click(".lm-Menu-itemLabel:text-is('Run Selected Cell and All Below')")
                resumes -= 1
                idle_since = None
        else:
            idle_since = None
        if time.monotonic() - started > timeout:
            page.screenshot(path=str(ARTIFACTS / f"lite-timeout-{name}.png"), full_page=True)
            raise AssertionError(f"{name}: not all cells ran in {timeout} s: {prompts}")
        time.sleep(0.25)
    cells = page.eval_on_selector_all(
        ".jp-CodeCell",
        """els => els.map(e => {
            const out = e.querySelector('.jp-OutputArea');
            return out ? [out.innerText, out.innerHTML] : ['', ''];
        })""",
    )
    return [Cell(text, html) for text, html in cells]


def screenshot(page: Any, name: str) -> pathlib.Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
