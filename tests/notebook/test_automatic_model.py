"""With no model chosen, a notebook uses one the server lists and says which: the session's
choice, what a cell and the model selector show, and a recorded self-hosted Puter."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from IPython.core.interactiveshell import InteractiveShell

from puter_magic.api.models import PUTER_DEFAULT
from puter_magic.notebook.session import PuterSession
from puter_magic.sandbox import Fault, Sandbox

from ..conftest import load_transcript
from ..shell import magics_of, run


def test_session_resolves_from_its_cached_catalogue(sandbox: Sandbox) -> None:
    session = PuterSession()
    assert session.prepare("hi").model == PUTER_DEFAULT  # not signed in: nothing to ask
    session.sign_in(sandbox.origin, sandbox.token)
    ask = session.prepare("hi")
    assert ask.model == "sandbox-tutor" and ask.automatic is not None
    assert session.prepare("hi", model="fake").automatic is None
    session.prepare("again")
    assert len(sandbox.calls("models")) == 1  # the catalogue is read once per origin
    session.close()


def test_session_falls_back_when_the_catalogue_fails(sandbox: Sandbox) -> None:
    session = PuterSession()
    session.sign_in(sandbox.origin, sandbox.token)
    sandbox.inject(Fault.html_page(502))
    ask = session.prepare("hi")
    assert ask.model == PUTER_DEFAULT and ask.automatic is not None and "could not be read" in ask.automatic
    session.close()


@pytest.fixture
def plain_sign_in(
    ip: InteractiveShell, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> InteractiveShell:
    """Signed in to a sandbox the way a self-hosting user signs in: no default model set."""
    monkeypatch.setenv("MY_SANDBOX_TOKEN", sandbox.token)
    run(ip, f"%puter_login --origin {sandbox.origin} --token-env MY_SANDBOX_TOKEN")
    assert magics_of(ip).default_model == "" and magics_of(ip).session.username
    return ip


def test_puter_cell_with_no_model_uses_one_the_sandbox_lists(
    plain_sign_in: InteractiveShell, sandbox: Sandbox
) -> None:
    outputs, _ = run(plain_sign_in, "%%puter\nHello?")
    assert sandbox.calls("complete")[-1].args["model"] == "sandbox-tutor"  # gpt-4o-mini is not listed
    html = outputs[-1]["text/html"]
    assert "Model not found" not in html
    assert "no model chosen: using sandbox-tutor, the first the server lists; %puter_models to pick" in html
    assert "no model chosen: using sandbox-tutor" in outputs[-1]["text/plain"]


def test_puter_models_shows_the_same_automatic_choice(plain_sign_in: InteractiveShell) -> None:
    magics = magics_of(plain_sign_in)
    selector = magics.model_selector()
    row = re.sub(r"<[^>]+>", "", selector.status.value)
    assert "Default model: sandbox-tutor (automatic: the first the server lists; sandbox · 32k" in row
    magics.rich_output = False
    outputs, _ = run(plain_sign_in, "%puter_models")
    assert "* default model: sandbox-tutor (automatic" in outputs[0]["text/plain"]
    star = [line for line in outputs[0]["text/plain"].splitlines() if line.startswith("*  ")]
    assert star and "sandbox-tutor " in star[0]


class _RecordedPuter(BaseHTTPRequestHandler):
    """A self-hosted Puter as recorded: only fake, costly and abuse; anything else is not found."""

    calls: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, name: str) -> None:
        response = load_transcript(name)["response"]
        body = response["body"].encode()
        self.send_response(response["status"])
        self.send_header("Content-Type", response["content_type"])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._reply("whoami.json")

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append(request)
        args = request.get("args", {})
        if request["method"] in ("models", "list"):
            self._reply(f"{request['method']}.json")
        elif args.get("model") in ("fake", "costly", "abuse"):
            self._reply("complete-stream-fake.json" if args.get("stream") else "complete-fake.json")
        else:
            self._reply("error-unknown-model.json")


@pytest.fixture
def recorded_puter() -> Iterator[str]:
    _RecordedPuter.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RecordedPuter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_against_the_recorded_self_hosted_server(
    ip: InteractiveShell, recorded_puter: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_PUTER_TOKEN", "recorded-token")
    run(ip, f"%puter_login --origin {recorded_puter} --token-env MY_PUTER_TOKEN")
    assert magics_of(ip).session.username == "admin"
    outputs, _ = run(ip, "%%puter\nHello")
    complete = [c for c in _RecordedPuter.calls if c["method"] == "complete"]
    assert [c["args"]["model"] for c in complete] == ["fake"]
    assert "no model chosen: using fake" in outputs[-1]["text/html"]
    assert "Model not found" not in outputs[-1]["text/html"]
    magics_of(ip).rich_output = False
    outputs, _ = run(ip, "%puter_models")
    assert "* default model: fake (automatic" in outputs[0]["text/plain"]
